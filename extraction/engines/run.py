"""Running an extraction: which papers, which engine, and storing what it proposes."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from sqlite_utils import Database

from extraction.engines import rules
from extraction.engines.ollama import (
    BackendUnavailable,
    OllamaSettings,
    ask_paper,
    check_backend,
    make_client,
)
from extraction.evidence.proposals import ground_proposals
from extraction.fields import SCHEMA_VERSION
from storage import papers as paper_store
from storage import runs as run_store
from storage.models import Paper
from storage.runs import PaperOutcome, Run

RUN_COMPARED_OPTIONS = ("temperature", "seed", "num_ctx", "num_predict", "token_budget", "fields")


@dataclass(frozen=True, slots=True)
class PaperDone:
    """Progress report: one paper finished (or failed)."""

    paper: Paper
    outcome: PaperOutcome
    proposals: int
    ungrounded: int


class UnknownPaper(LookupError):
    """A ``--paper`` reference matches no paper."""


def choose_papers(
    db: Database, run: Run, references: Sequence[str] = (), limit: int | None = None
) -> tuple[list[Paper], int]:
    """The papers to extract in this run, and how many were skipped as already done.

    Args:
        references: Paper ids, sha256s or file names; all papers when empty.
        limit: At most this many papers (after skipping those already done).

    Raises:
        UnknownPaper: A reference matches no paper.
    """
    if references:
        chosen = []
        for reference in references:
            paper = paper_store.resolve_paper(db, reference)
            if paper is None:
                raise UnknownPaper(f"no paper {reference!r} (give an id, sha256 or file name)")
            chosen.append(paper)
    else:
        chosen = list(paper_store.iter_papers(db))
    done = run_store.done_papers(db, run.id)
    todo = [p for p in chosen if p.id not in done]
    skipped = len(chosen) - len(todo)
    if limit is not None:
        todo = todo[:limit]
    return todo, skipped


def open_rules_run(db: Database, name: str | None) -> Run:
    return run_store.open_run(
        db,
        name=name or "rules",
        engine="rules",
        model=None,
        host=None,
        schema_version=SCHEMA_VERSION,
        options={"engine_version": rules.ENGINE_VERSION},
        compare=("engine_version",),
    )


def open_ollama_run(db: Database, name: str | None, settings: OllamaSettings) -> Run:
    return run_store.open_run(
        db,
        name=name or f"ollama-{settings.model}",
        engine="ollama",
        model=settings.model,
        host=",".join(settings.hosts),
        schema_version=SCHEMA_VERSION,
        options=settings.recorded(),
        compare=RUN_COMPARED_OPTIONS,
    )


def _store(
    db: Database, run: Run, paper: Paper, proposals: list, outcome: PaperOutcome
) -> PaperDone:
    run_store.save_paper(db, run.id, paper.id, proposals, outcome)
    ungrounded = sum(1 for p in proposals if p.grounding == "ungrounded")
    return PaperDone(paper, outcome, len(proposals), ungrounded)


def extract_with_rules(db: Database, run: Run, papers: Sequence[Paper]) -> Iterator[PaperDone]:
    """Run the rules engine over ``papers``, storing each paper as it finishes."""
    for paper in papers:
        started = time.perf_counter()
        pages = paper_store.page_texts(db, paper.id)
        proposals = ground_proposals(rules.extract(pages), pages)
        outcome = PaperOutcome("done", seconds=time.perf_counter() - started)
        yield _store(db, run, paper, proposals, outcome)


async def extract_with_ollama(
    db: Database,
    run: Run,
    settings: OllamaSettings,
    papers: Sequence[Paper],
    on_done: Callable[[PaperDone], None],
) -> list[str]:
    """Ask Ollama about ``papers``, ``settings.concurrency`` requests per host at once.

    Each paper is stored as soon as it is answered, so an interrupted run loses at most the
    papers in flight. Returns warnings (e.g. a host that could not be used).

    Raises:
        BackendUnavailable: No host can be used, or the model disappears mid-run.
    """
    clients = {host: make_client(host, settings.timeout) for host in settings.hosts}
    warnings: list[str] = []
    usable: list[str] = []
    failures: list[str] = []
    for host, client in clients.items():
        try:
            trained = await check_backend(client, host, settings.model)
        except BackendUnavailable as exc:
            failures.append(str(exc))
            continue
        usable.append(host)
        if trained is not None and settings.context_size() > trained:
            warnings.append(
                f"num_ctx {settings.context_size()} is beyond what {settings.model} was trained "
                f"on ({trained}) at {host}: answers may degrade; lower --token-budget"
            )
    if not usable:
        raise BackendUnavailable(failures[0] if len(failures) == 1 else "; ".join(failures))
    warnings.extend(f"not using {message}" for message in failures)

    queue: asyncio.Queue[Paper] = asyncio.Queue()
    for paper in papers:
        queue.put_nowait(paper)

    async def worker(host: str) -> None:
        client = clients[host]
        while True:
            try:
                paper = queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            pages = paper_store.page_texts(db, paper.id)
            try:
                answer = await ask_paper(client, settings, pages)
            except BackendUnavailable:
                raise
            except Exception as exc:  # one paper's surprise must not end the run
                outcome = PaperOutcome(
                    "failed", error=f"internal error: {type(exc).__name__}: {exc}"
                )
                on_done(_store(db, run, paper, [], outcome))
                continue
            proposals = ground_proposals(answer.answers, pages)
            error = answer.error
            if error is None and answer.problems:
                error = "fields left out: " + "; ".join(
                    f"{field}: {reason}" for field, reason in answer.problems.items()
                )
            outcome = PaperOutcome(
                status="failed" if answer.error else "done",
                error=error[:1000] if error else None,
                attempts=answer.attempts,
                prompt_tokens=answer.prompt_tokens,
                prompt_eval_count=answer.prompt_eval_count,
                truncated=answer.truncated,
                seconds=answer.seconds,
            )
            on_done(_store(db, run, paper, proposals, outcome))

    tasks = [
        asyncio.create_task(worker(host))
        for host in usable
        for _ in range(max(1, settings.concurrency))
    ]
    try:
        await asyncio.gather(*tasks)
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise
    return warnings
