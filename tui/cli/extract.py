"""``goldsmith extract`` and ``goldsmith import-proposals``: proposals from engines and files."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

import click

from extraction import defaults
from extraction.fields import FIELD_NAMES, FIELDS
from storage.db import Access
from tui import console
from tui.cli.base import (
    EXIT_BACKEND,
    EXIT_SOME_FAILED,
    EXIT_USAGE,
    Context,
    cli,
    pass_context,
    progress_bar,
    rejected,
    run_name_checked,
)

# Each command imports what it needs when it runs: loading the Ollama client, PyMuPDF and
# Rich's progress bars for every command cost a third of a second per invocation.
if TYPE_CHECKING:
    from extraction.engines.run import PaperDone


ENGINES = ("ollama", "openai", "rules")
"""``--engine`` choices: each is a module of :mod:`extraction.engines` with ``make_engine``."""


@cli.command("extract")
@click.option(
    "--engine",
    type=click.Choice(ENGINES),
    default="ollama",
    show_default=True,
    help="Who proposes: a local Ollama model, any OpenAI-compatible server (vLLM, llama.cpp, "
    "LM Studio, SGLang, OpenAI), or the offline rules engine.",
)
@click.option(
    "--model",
    help=f"The model [default: {defaults.OLLAMA_MODEL} for ollama; required for openai].",
)
@click.option(
    "--host",
    "hosts",
    multiple=True,
    help="Ollama server URL; repeat to spread papers over several "
    f"[default: $OLLAMA_HOST or {defaults.OLLAMA_HOST}].",
)
@click.option(
    "--base-url",
    "base_urls",
    multiple=True,
    help="OpenAI-compatible server URL (e.g. http://127.0.0.1:8000/v1); repeat to spread "
    "papers over several [default: $OPENAI_BASE_URL or OpenAI's API]. The key is read from "
    "$OPENAI_API_KEY.",
)
@click.option(
    "--concurrency",
    type=click.IntRange(min=1, max=64),
    default=2,
    show_default=True,
    help="Requests in flight per host.",
)
@click.option(
    "--run",
    "run_name",
    help="Run name; an existing run is resumed [default: ENGINE-MODEL, or rules].",
)
@click.option(
    "--paper",
    "paper_refs",
    multiple=True,
    help="Only this paper (id, sha256 or file name); repeatable.",
)
@click.option("--limit", type=click.IntRange(min=1), help="At most this many papers.")
@click.option(
    "--field",
    "field_names",
    multiple=True,
    type=click.Choice(FIELD_NAMES),
    metavar="FIELD",
    help="Ask the model only for this field; repeatable [default: every field].",
)
@click.option(
    "--token-budget",
    type=click.IntRange(min=500),
    default=defaults.TOKEN_BUDGET,
    show_default=True,
    help="Tokens of paper text selected for the prompt.",
)
@click.option(
    "--num-ctx",
    type=click.IntRange(min=0),
    default=0,
    help="Ollama's context size [default: fits the prompt and the longest answer].",
)
@click.option(
    "--num-predict",
    type=click.IntRange(min=0),
    default=0,
    help="Answer tokens per call at most [default: the longest answer the schema allows].",
)
@click.option("--seed", type=int, default=defaults.SEED, show_default=True)
@click.option(
    "--timeout",
    type=click.FloatRange(min=0.1),
    default=defaults.REQUEST_TIMEOUT_S,
    show_default=True,
    help="Seconds to wait for one answer.",
)
@pass_context
def extract_command(
    ctx: Context,
    engine: str,
    model: str | None,
    hosts: tuple[str, ...],
    base_urls: tuple[str, ...],
    concurrency: int,
    run_name: str | None,
    paper_refs: tuple[str, ...],
    limit: int | None,
    field_names: tuple[str, ...],
    token_budget: int,
    num_ctx: int,
    num_predict: int,
    seed: int,
    timeout: float,
) -> None:
    """Propose every field for each paper, with evidence (a quote and its page).

    Resumable: papers a run has already done are skipped, so re-running the same command
    after an interruption finishes the job. Exit code 3 when the model server cannot be used
    (with the command that fixes it), 1 when some papers failed (the rest are stored).
    """
    import asyncio

    from extraction.engines.base import BackendUnavailable, EngineOptionError, EngineOptions
    from extraction.engines.run import (
        UnknownPaper,
        choose_papers,
        load_engine,
        open_engine_run,
        run_engine,
    )
    from storage import runs as run_store

    if hosts and engine != "ollama":
        console.error("--host", "is for --engine ollama; give --base-url for --engine openai")
        raise SystemExit(EXIT_USAGE)
    if base_urls and engine != "openai":
        console.error("--base-url", "is for --engine openai; give --host for --engine ollama")
        raise SystemExit(EXIT_USAGE)
    if field_names and engine == "rules":
        console.error("--field", "is for model engines; the rules engine proposes every field")
        raise SystemExit(EXIT_USAGE)
    fields = tuple(spec for spec in FIELDS if not field_names or spec.name in field_names)
    options = EngineOptions(
        model=model,
        hosts=hosts or base_urls,
        concurrency=concurrency,
        token_budget=token_budget,
        num_ctx=num_ctx,
        num_predict=num_predict,
        seed=seed,
        timeout=timeout,
        fields=fields,
    )
    try:
        chosen = load_engine(engine, options)
    except EngineOptionError as exc:
        console.error("--engine", exc)
        raise SystemExit(EXIT_USAGE) from None
    db = ctx.db(Access.WRITE)
    started = time.perf_counter()
    try:
        run = open_engine_run(db, run_name_checked(run_name), chosen)
    except run_store.RunConflict as exc:
        console.error("--run", exc)
        raise SystemExit(EXIT_USAGE) from None
    try:
        papers, skipped = choose_papers(db, run, paper_refs, limit)
    except UnknownPaper as exc:
        console.error("--paper", exc)
        raise SystemExit(EXIT_USAGE) from None

    progress = progress_bar() if console.stderr_is_terminal() and papers else None
    task = progress.add_task(f"{run.name}", total=len(papers), file="") if progress else None

    def report(done: PaperDone) -> None:
        if done.outcome.status == "failed":
            line = f"error: {done.paper.file}: {console.printable(done.outcome.error)}"
            if progress is not None:
                progress.console.print(line, markup=False, highlight=False)
            else:
                click.echo(line, err=True)
        if progress is not None and task is not None:
            progress.update(task, advance=1, file=console.printable(done.paper.file)[:40])

    warnings: list[str] = []
    try:
        if progress is not None:
            progress.start()
        if papers:
            warnings = asyncio.run(run_engine(db, run, chosen, papers, report))
    except BackendUnavailable as exc:
        if progress is not None:
            progress.stop()
        click.echo(f"error: {console.printable(exc)}", err=True)
        raise SystemExit(EXIT_BACKEND) from None
    except KeyboardInterrupt:
        if progress is not None:
            progress.stop()
        click.echo(
            f"interrupted: papers finished so far are stored; run the same command "
            f"(--run {run.name}) to resume",
            err=True,
        )
        raise SystemExit(130) from None
    finally:
        if progress is not None:
            progress.stop()
    for warning in warnings:
        console.warning("extract", warning)
    summary = run_store.summarize(db, run.id)
    notes = None
    if summary.truncated:
        notes = (
            f"{summary.truncated} prompt(s) were truncated by the server: "
            f"{chosen.plan().truncation_fix}"
        )
        console.warning(run.name, notes)
    run_store.finish_run(db, run.id, notes)
    grounding = ", ".join(
        f"{summary.by_grounding.get(level, 0)} {level}"
        for level in ("exact", "normalized", "fuzzy", "ungrounded")
    )
    failed_now = sum(1 for p in papers if p.id not in run_store.done_papers(db, run.id))
    click.echo(
        f"run {run.name}: {len(papers) - failed_now} papers done, {failed_now} failed, "
        f"{skipped} already done; evidence {grounding}; {time.perf_counter() - started:.1f} s"
    )
    if failed_now:
        raise SystemExit(EXIT_SOME_FAILED)


@cli.command("import-proposals")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--run", "run_name", required=True, help="Name of the new run holding them.")
@pass_context
def import_proposals_command(ctx: Context, file: Path, run_name: str) -> None:
    """Import proposals from any other extractor (JSON Lines, one per paper and field).

    Every line is checked first; nothing is imported unless all lines are good. Evidence is
    grounded in the paper's text like any other run's.
    """
    from extraction.engines.imported import ImportRejected, import_proposals

    run_name_checked(run_name)
    db = ctx.db(Access.CREATE)
    try:
        result = import_proposals(db, file, run_name)
    except ImportRejected as exc:
        rejected(file, exc.problems)
    click.echo(
        f"imported {result.proposals} proposals for {result.papers} papers as run "
        f"{result.run.name} ({result.ungrounded} with evidence not found in the paper)"
    )
