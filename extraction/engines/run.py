"""Running an extraction with any engine: which papers, how many at once, grounding every
quote, and storing each paper as soon as it is done (so a run can always be resumed)."""

from __future__ import annotations

import asyncio
import dataclasses
import importlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from sqlite_utils import Database

from extraction.engines.base import BackendUnavailable, Engine, EngineOptions, PaperAnswer
from extraction.engines.prompt import copied_example
from extraction.evidence.proposals import ground_proposals
from extraction.evidence.textnorm import normalize
from extraction.fields import SCHEMA_VERSION
from storage import papers as paper_store
from storage import runs as run_store
from storage.errors import GoldsmithError
from storage.models import Paper
from storage.runs import NewProposal, PaperOutcome, Run

COPIED_NOTE = "copied from the prompt"
"""Noted on an ungrounded proposal whose value or quote is one of the prompt's examples."""


@dataclass(frozen=True, slots=True)
class PaperDone:
    """Progress report: one paper finished (or failed)."""

    paper: Paper
    outcome: PaperOutcome
    proposals: int
    ungrounded: int


class UnknownPaper(GoldsmithError, LookupError):
    """A ``--paper`` reference matches no paper."""


def load_engine(name: str, options: EngineOptions) -> Engine:
    """The engine called ``name``: ``make_engine(options)`` of the module of that name in
    :mod:`extraction.engines`, imported only when asked for (a client library is slow to load).
    """
    module = importlib.import_module(f"extraction.engines.{name}")
    engine: Engine = module.make_engine(options)
    return engine


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


def open_engine_run(db: Database, name: str | None, engine: Engine) -> Run:
    """Start the run ``name`` (default: the engine's) for ``engine``, or reuse it to resume.

    Raises:
        storage.runs.RunConflict: The run exists with other settings.
    """
    plan = engine.plan()
    return run_store.open_run(
        db,
        name=name or plan.default_name,
        engine=plan.engine,
        model=plan.model,
        host=plan.host,
        schema_version=SCHEMA_VERSION,
        options=plan.options,
        compare=plan.compare,
    )


def mark_prompt_copies(
    proposals: list[NewProposal], pages: Sequence[str], examples: Sequence[str]
) -> list[NewProposal]:
    """Note each ungrounded proposal that repeats one of the prompt's own examples (and the
    paper does not say it): the model copied the prompt, not the paper."""
    if not examples:
        return proposals
    paper_text = normalize("\n".join(pages))
    marked = []
    for proposal in proposals:
        if proposal.grounding == "ungrounded" or (
            proposal.status != "not_reported" and proposal.quote is None
        ):
            example = copied_example(proposal.value, proposal.quote, paper_text, examples)
            if example is not None:
                note = f"{COPIED_NOTE} ({example!r})"
                proposal = dataclasses.replace(
                    proposal, note=f"{note}; {proposal.note}" if proposal.note else note
                )
        marked.append(proposal)
    return marked


def _outcome(answer: PaperAnswer) -> PaperOutcome:
    error = answer.error
    if error is None and answer.problems:
        error = "fields left out: " + "; ".join(
            f"{field}: {reason}" for field, reason in answer.problems.items()
        )
    return PaperOutcome(
        status="failed" if answer.error else "done",
        error=error[:1000] if error else None,
        attempts=answer.attempts,
        prompt_tokens=answer.prompt_tokens or None,
        prompt_eval_count=answer.prompt_eval_count,
        answer_tokens=answer.answer_tokens,
        truncated=answer.truncated,
        seconds=answer.seconds,
    )


async def run_engine(
    db: Database,
    run: Run,
    engine: Engine,
    papers: Sequence[Paper],
    on_done: Callable[[PaperDone], None],
) -> list[str]:
    """Propose fields for ``papers`` with ``engine``, one paper in progress per lane.

    Each paper is stored (grounded, with how it went) as soon as it is answered, so an
    interrupted run loses at most the papers in flight. Returns warnings for the user.

    Raises:
        BackendUnavailable: The engine cannot be used, or stops being usable mid-run.
    """
    warnings = await engine.start()
    queue: asyncio.Queue[Paper] = asyncio.Queue()
    for paper in papers:
        queue.put_nowait(paper)

    def store(paper: Paper, proposals: list[NewProposal], answer: PaperAnswer) -> None:
        outcome = _outcome(answer)
        run_store.save_paper(db, run.id, paper.id, proposals, outcome, answer.fields)
        ungrounded = sum(1 for p in proposals if p.grounding == "ungrounded")
        on_done(PaperDone(paper, outcome, len(proposals), ungrounded))

    async def worker(lane: str) -> None:
        while True:
            try:
                paper = queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            pages = paper_store.page_texts(db, paper.id)
            try:
                answer = await engine.propose(paper, pages, lane)
                proposals = ground_proposals(answer.answers, pages)
                proposals = mark_prompt_copies(proposals, pages, engine.prompt_examples)
            except BackendUnavailable:
                raise
            except Exception as exc:  # one paper's surprise must not end the run
                failed = PaperAnswer(error=f"internal error: {type(exc).__name__}: {exc}")
                store(paper, [], failed)
                continue
            store(paper, proposals, answer)

    tasks = [asyncio.create_task(worker(lane)) for lane in engine.lanes()]
    try:
        await asyncio.gather(*tasks)
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise
    finally:
        await engine.close()
    return warnings


def extract(
    db: Database,
    run: Run,
    engine: Engine,
    papers: Sequence[Paper],
    on_done: Callable[[PaperDone], None] = lambda done: None,
) -> list[str]:
    """:func:`run_engine`, from code that is not async. Returns warnings."""
    return asyncio.run(run_engine(db, run, engine, papers, on_done))


def open_rules_run(db: Database, name: str | None) -> Run:
    """The run of the rules engine called ``name`` (default ``rules``)."""
    return open_engine_run(db, name, load_engine("rules", EngineOptions()))


def extract_with_rules(db: Database, run: Run, papers: Sequence[Paper]) -> Iterator[PaperDone]:
    """Run the rules engine over ``papers``, storing each paper as it finishes."""
    finished: list[PaperDone] = []
    extract(db, run, load_engine("rules", EngineOptions()), papers, finished.append)
    yield from finished
