"""``goldsmith extract`` and ``goldsmith import-proposals``: proposals from engines and files."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

import click

from extraction import defaults
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
)

# Each command imports what it needs when it runs: loading the Ollama client, PyMuPDF and
# Rich's progress bars for every command cost a third of a second per invocation.
if TYPE_CHECKING:
    from extraction.engines.run import PaperDone


def _host_url(host: str) -> str:
    """``host`` as a URL with scheme and port ("localhost" -> "http://localhost:11434")."""
    host = host.strip().rstrip("/")
    if "://" not in host:
        host = "http://" + host
    scheme, rest = host.split("://", 1)
    if ":" not in rest.split("/")[0]:
        rest = rest.split("/")[0] + ":11434" + rest[len(rest.split("/")[0]) :]
    return f"{scheme}://{rest}"


@cli.command("extract")
@click.option(
    "--engine",
    type=click.Choice(["ollama", "rules"]),
    default="ollama",
    show_default=True,
    help="Who proposes: a local Ollama model, or the offline rules engine.",
)
@click.option("--model", default=defaults.OLLAMA_MODEL, show_default=True, help="Ollama model.")
@click.option(
    "--host",
    "hosts",
    multiple=True,
    help="Ollama server URL; repeat to spread papers over several "
    f"[default: $OLLAMA_HOST or {defaults.OLLAMA_HOST}].",
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
    help="Run name; an existing run is resumed [default: ollama-MODEL or rules].",
)
@click.option(
    "--paper",
    "paper_refs",
    multiple=True,
    help="Only this paper (id, sha256 or file name); repeatable.",
)
@click.option("--limit", type=click.IntRange(min=1), help="At most this many papers.")
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
    help="Model context size [default: fits the budget].",
)
@click.option(
    "--num-predict",
    type=click.IntRange(min=128),
    default=defaults.NUM_PREDICT,
    show_default=True,
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
    model: str,
    hosts: tuple[str, ...],
    concurrency: int,
    run_name: str | None,
    paper_refs: tuple[str, ...],
    limit: int | None,
    token_budget: int,
    num_ctx: int,
    num_predict: int,
    seed: int,
    timeout: float,
) -> None:
    """Propose every field for each paper, with evidence (a quote and its page).

    Resumable: papers a run has already done are skipped, so re-running the same command
    after an interruption finishes the job. Exit code 3 when Ollama cannot be used (with the
    command that fixes it), 1 when some papers failed (the rest are stored).
    """
    import asyncio
    import os

    from extraction.engines.ollama import BackendUnavailable, OllamaSettings
    from extraction.engines.run import (
        UnknownPaper,
        choose_papers,
        extract_with_ollama,
        extract_with_rules,
        open_ollama_run,
        open_rules_run,
    )
    from storage import runs as run_store

    db = ctx.db()
    started = time.perf_counter()
    if engine == "rules":
        try:
            run = open_rules_run(db, run_name)
        except run_store.RunConflict as exc:
            console.error("--run", exc)
            raise SystemExit(EXIT_USAGE) from None
        settings = None
    else:
        urls = tuple(
            dict.fromkeys(
                _host_url(h)
                for h in (hosts or (os.environ.get("OLLAMA_HOST") or defaults.OLLAMA_HOST,))
            )
        )
        settings = OllamaSettings(
            model=model,
            hosts=urls,
            concurrency=concurrency,
            token_budget=token_budget,
            num_ctx=num_ctx,
            num_predict=num_predict,
            seed=seed,
            timeout=timeout,
        )
        try:
            run = open_ollama_run(db, run_name, settings)
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
        if settings is None:
            for done in extract_with_rules(db, run, papers):
                report(done)
        else:
            warnings = asyncio.run(extract_with_ollama(db, run, settings, papers, report))
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
            f"{summary.truncated} prompt(s) were truncated by the server: raise --num-ctx "
            "or lower --token-budget"
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

    db = ctx.db()
    try:
        result = import_proposals(db, file, run_name)
    except ImportRejected as exc:
        rejected(file, exc.problems)
    click.echo(
        f"imported {result.proposals} proposals for {result.papers} papers as run "
        f"{result.run.name} ({result.ungrounded} with evidence not found in the paper)"
    )
