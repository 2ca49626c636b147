"""The ``goldsmith`` command line."""

from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import click

from extraction import defaults
from extraction.fields import FIELD_NAMES
from storage import DatabaseError, open_database
from storage.papers import PROGRESS_STATUSES
from tui import console

# Each command imports what it needs when it runs: loading the Ollama client, PyMuPDF and
# Rich's progress bars for every command cost a third of a second per invocation.
if TYPE_CHECKING:
    from rich.progress import Progress
    from sqlite_utils import Database

    from extraction.engines.run import PaperDone
    from extraction.pdf.ingest import IngestResult

EXIT_OK = 0
EXIT_SOME_FAILED = 1
EXIT_USAGE = 2
EXIT_BACKEND = 3


@dataclass
class Context:
    """What every command shares: the database path the user chose."""

    db_path: Path
    _db: Database | None = None

    def db(self) -> Database:
        """Open the database once, exiting with a one-line error if it cannot be."""
        if self._db is None:
            try:
                self._db = open_database(self.db_path)
            except DatabaseError as exc:
                click.echo(f"error: {console.printable(exc)}", err=True)
                raise SystemExit(EXIT_USAGE) from None
        return self._db


pass_context = click.make_pass_decorator(Context)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option(
    "--db",
    "db_path",
    type=click.Path(dir_okay=False, path_type=Path),
    envvar="GOLDSMITH_DB",
    default="goldsmith.db",
    show_default=True,
    show_envvar=True,
    help="The goldsmith database (SQLite).",
)
@click.version_option(package_name="goldsmith")
@click.pass_context
def cli(ctx: click.Context, db_path: Path) -> None:
    """goldsmith: verify LLM-extracted compute disclosures from ML papers into a gold set."""
    ctx.obj = Context(db_path=db_path)


@cli.command("ingest")
@click.argument("inputs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--jobs",
    "-j",
    type=click.IntRange(min=1),
    default=None,
    help="Worker processes reading PDFs [default: all cores].",
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=0.01),
    default=defaults.PDF_TIMEOUT_S,
    show_default=True,
    help="Seconds allowed to read one PDF.",
)
@click.option(
    "--max-memory",
    type=click.IntRange(min=64),
    default=defaults.PDF_MEMORY_MB,
    show_default=True,
    help="Megabytes of memory allowed to read one PDF.",
)
@pass_context
def ingest_command(
    ctx: Context, inputs: tuple[Path, ...], jobs: int | None, timeout: float, max_memory: int
) -> None:
    """Add PDFs (files, or folders searched recursively for *.pdf) to the database.

    Idempotent: a PDF already stored (same sha256) is not added again. Each file that cannot
    be read is reported as 'error: FILE: reason' and recorded in the ingest_errors table.
    Exit code 1 when any file failed.
    """
    from extraction.pdf.ingest import Outcome, find_pdfs, ingest

    db = ctx.db()
    started = time.perf_counter()
    paths, missing = find_pdfs(inputs)
    counts = {outcome: 0 for outcome in Outcome}
    pages = 0

    def report(result: IngestResult, progress: Progress | None) -> None:
        nonlocal pages
        counts[result.outcome] += 1
        if result.outcome is Outcome.FAILED:
            line = f"error: {console.printable(result.path)}: {console.printable(result.reason)}"
        elif result.warnings:
            line = f"warning: {console.printable(result.path)}: " + "; ".join(
                console.printable(w) for w in result.warnings
            )
        else:
            line = ""
        if result.outcome is Outcome.INGESTED and result.paper:
            pages += result.paper.pages
        if line:
            if progress is not None:
                progress.console.print(line, markup=False, highlight=False)
            else:
                click.echo(line, err=True)

    for result in missing:
        report(result, None)
    for folder in (p for p in inputs if p.is_dir()):
        if not any(p.is_relative_to(folder) for p in paths):
            console.warning(folder, "no PDF files found here")

    progress = _progress(threaded=False) if console.stderr_is_terminal() and paths else None
    results = ingest(db, paths, processes=jobs, timeout=timeout, memory_mb=max_memory)
    if progress is None:
        for result in results:
            report(result, None)
    else:
        with progress:
            task = progress.add_task("ingesting", total=len(paths), file="")
            for result in results:
                report(result, progress)
                progress.update(
                    task, advance=1, file=console.printable(result.path.name)[:40], refresh=True
                )
    seconds = time.perf_counter() - started
    click.echo(
        f"ingested {counts[Outcome.INGESTED]}, already present {counts[Outcome.PRESENT]}, "
        f"failed {counts[Outcome.FAILED]}, {pages} pages, {seconds:.1f} s"
    )
    if counts[Outcome.FAILED]:
        raise SystemExit(EXIT_SOME_FAILED)


def _progress(*, threaded: bool = True) -> Progress:
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        TextColumn("{task.fields[file]}"),
        console=console.stderr,
        transient=True,
        # Ingest refreshes as results arrive rather than from a background thread: with no
        # thread running it can fork its PDF workers (milliseconds) instead of spawning them.
        auto_refresh=threaded,
    )


@cli.command("papers")
@click.option(
    "--status",
    type=click.Choice(PROGRESS_STATUSES),
    default=None,
    help="Only papers whose review is in this state.",
)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per paper (JSON Lines).")
@pass_context
def papers_command(ctx: Context, status: str | None, as_json: bool) -> None:
    """List papers with their review progress (fields with a final gold value)."""
    from storage.papers import iter_progress

    db = ctx.db()
    rows = iter_progress(db, FIELD_NAMES, status=status)
    out = sys.stdout
    if as_json:
        for row in rows:
            record = {
                "id": row.paper.id,
                "file": row.paper.file,
                "title": row.paper.title,
                "pages": row.paper.pages,
                "status": row.status,
                "fields_final": row.fields_final,
                "fields_total": row.fields_total,
                "annotators": list(row.decided_by),
                "added_at": row.paper.added_at,
            }
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
        return
    if not sys.stdout.isatty():
        out.write("id\tstatus\tfinal\tpages\ttitle\n")
        for row in rows:
            title = console.printable(row.paper.display_title).replace("\t", " ")
            out.write(
                f"{row.paper.id}\t{row.status}\t{row.fields_final}/{row.fields_total}\t"
                f"{row.paper.pages}\t{title}\n"
            )
        return
    from rich.table import Table

    table = Table(box=None, header_style="bold")
    for column, justify in (
        ("id", "left"),
        ("status", "left"),
        ("final", "right"),
        ("pages", "right"),
        ("title", "left"),
    ):
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    count = 0
    for row in rows:
        count += 1
        table.add_row(
            row.paper.id,
            row.status,
            f"{row.fields_final}/{row.fields_total}",
            str(row.paper.pages),
            console.safe_text(row.paper.display_title),
        )
    if count:
        console.stdout.print(table)
    else:
        which = f" with status {status}" if status else ""
        click.echo(f"no papers{which}; add some with 'goldsmith ingest PATH'")


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

    progress = _progress() if console.stderr_is_terminal() and papers else None
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
        _rejected(file, exc.problems)
    click.echo(
        f"imported {result.proposals} proposals for {result.papers} papers as run "
        f"{result.run.name} ({result.ungrounded} with evidence not found in the paper)"
    )


@cli.command("export")
@click.argument("out", type=click.Path(path_type=Path, dir_okay=False, allow_dash=True))
@click.option(
    "--format", "fmt", type=click.Choice(["csv", "jsonl"]), default="csv", show_default=True
)
@click.option("--layout", type=click.Choice(["wide", "long"]), default="wide", show_default=True)
@click.option(
    "--include-partial", is_flag=True, help="Also papers not every field of which is final."
)
@click.option(
    "--run",
    "run_name",
    default=None,
    help="With --format jsonl: that run's proposals instead of the gold set.",
)
@click.option(
    "--utilization",
    type=click.FloatRange(min=0.01, max=1.0),
    default=0.3,
    show_default=True,
    help="Hardware utilisation assumed for derived_training_flop (exported with it).",
)
@pass_context
def export_command(
    ctx: Context,
    out: Path,
    fmt: str,
    layout: str,
    include_partial: bool,
    run_name: str | None,
    utilization: float,
) -> None:
    """Write the gold set: wide CSV (one row per paper), long CSV (one per paper and field) or
    JSON Lines (the proposals format). Only papers whose every field is final, unless
    --include-partial. OUT may be - for stdout."""
    import os
    import tempfile

    from extraction.gold import files as gold_io

    db = ctx.db()
    if run_name is not None and fmt != "jsonl":
        click.echo("error: --run: only with --format jsonl", err=True)
        raise SystemExit(EXIT_USAGE)
    target = None if str(out) == "-" else out
    handle = sys.stdout
    temp_name = None
    if target is not None:
        # Write beside the target and rename, so an interrupted export never leaves half a file.
        fd, temp_name = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent or ".")
        handle = os.fdopen(fd, "w", encoding="utf-8", newline="")
    try:
        if run_name is not None:
            summary = gold_io.export_run_jsonl(db, handle, run_name)
        elif fmt == "jsonl":
            summary = gold_io.export_jsonl(db, handle, include_partial=include_partial)
        elif layout == "long":
            summary = gold_io.export_long(db, handle, include_partial=include_partial)
        else:
            summary = gold_io.export_wide(
                db, handle, include_partial=include_partial, utilization=utilization
            )
    except LookupError as exc:
        if temp_name:
            handle.close()
            os.unlink(temp_name)
        click.echo(f"error: --run: {exc.args[0]}", err=True)
        raise SystemExit(EXIT_USAGE) from None
    if target is not None and temp_name is not None:
        handle.close()
        os.replace(temp_name, target)
    what = "papers" if run_name is None else f"papers of run {run_name}"
    left = f", {summary.left_out} left out (not every field final)" if summary.left_out else ""
    click.echo(f"exported {summary.exported} {what}{left}", err=target is None)


@cli.command("import-gold")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--annotator", required=True, help="Whose decisions they become.")
@pass_context
def import_gold_command(ctx: Context, file: Path, annotator: str) -> None:
    """Load a gold set in the wide export layout (e.g. another team's).

    Every cell is checked first; each bad one is reported as 'row N, column C: reason' and
    nothing is imported unless the whole file is valid. The values become final decisions.
    """
    from extraction.gold.files import GoldRejected, import_gold

    db = ctx.db()
    try:
        result = import_gold(db, file, annotator)
    except GoldRejected as exc:
        _rejected(file, exc.problems)
    click.echo(f"imported {result.decisions} decisions for {result.papers} papers as {annotator}")


def _rejected(file: Path, problems: list[str]) -> NoReturn:
    """Report every problem of a file that was not imported, and exit 1."""
    for problem in problems:
        console.error(file, problem)
    shown = console.printable(file)
    click.echo(f"nothing imported: {len(problems)} problem(s) in {shown}", err=True)
    raise SystemExit(EXIT_SOME_FAILED)


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.1f}%"


@cli.command("score")
@click.option(
    "--run", "run_names", multiple=True, required=True, help="Run to score; repeat to compare."
)
@click.option(
    "--tolerance",
    type=click.FloatRange(min=0, max=1),
    default=0.05,
    show_default=True,
    help="Relative tolerance for numbers that are not counts.",
)
@click.option("--include-partial", is_flag=True, help="Also final fields of unfinished papers.")
@click.option("--json", "as_json", is_flag=True, help="Print the figures as one JSON object.")
@pass_context
def score_command(
    ctx: Context, run_names: tuple[str, ...], tolerance: float, include_partial: bool, as_json: bool
) -> None:
    """Accuracy of extraction runs against the gold set, per field, with 95% Wilson intervals.

    Each (run, gold) pair is correct, wrong_value, hallucinated (reported, gold says not) or
    missed (not reported, gold has a value). Several runs are shown side by side.
    """
    from rich.table import Table

    from extraction.gold.scoring import score_runs

    db = ctx.db()
    try:
        report = score_runs(db, run_names, tolerance=tolerance, include_partial=include_partial)
    except LookupError as exc:
        click.echo(f"error: --run: {exc.args[0]}", err=True)
        raise SystemExit(EXIT_USAGE) from None
    if as_json:
        click.echo(json.dumps(report, indent=2))
        return
    table = Table(
        title=f"{report['gold_papers']} gold papers · tolerance {tolerance:g}", header_style="bold"
    )
    table.add_column("field")
    for name in run_names:
        table.add_column(console.printable(name), justify="right")
        table.add_column("n · correct/wrong/halluc./missed", justify="right", style="dim")
    rows = [*FIELD_NAMES, "overall"]
    for field in rows:
        cells = [field if field != "overall" else "[overall]"]
        for name in run_names:
            figures = (
                report["runs"][name]["fields"].get(field)
                if field != "overall"
                else report["runs"][name]["overall"]
            )
            interval = figures["ci95"]
            accuracy = _percent(figures["accuracy"])
            if interval:
                accuracy += f" [{100 * interval[0]:.0f}–{100 * interval[1]:.0f}]"
            counts = f"{figures['n']} · " + "/".join(
                str(figures[k]) for k in ("correct", "wrong_value", "hallucinated", "missed")
            )
            if "items" in figures and figures["items"]["f1"] is not None:
                counts += f" · items F1 {figures['items']['f1']:.2f}"
            cells += [accuracy, counts]
        table.add_row(*cells, end_section=field == FIELD_NAMES[-1])
    console.stdout.print(table)


@cli.command("agreement")
@click.option("--json", "as_json", is_flag=True, help="Print the figures as one JSON object.")
@pass_context
def agreement_command(ctx: Context, as_json: bool) -> None:
    """Inter-annotator agreement per field (papers decided by two or more annotators):
    percent agreement, Cohen's kappa, Krippendorff's alpha; then every disagreement."""
    from rich.table import Table

    from extraction.gold.agreement import agreement

    db = ctx.db()
    report = agreement(db)
    if as_json:
        click.echo(json.dumps(report, indent=2, ensure_ascii=False))
        return
    if len(report["annotators"]) < 2:
        click.echo("no paper has been decided by two annotators yet")
        return

    def number(value: float | None) -> str:
        return "—" if value is None else f"{value:.2f}"

    table = Table(title="annotators: " + ", ".join(report["annotators"]), header_style="bold")
    for column in ("field", "n", "agreement", "Cohen's κ", "α nominal", "α interval"):
        table.add_column(column, justify="left" if column == "field" else "right")
    for field, figures in report["fields"].items():
        percent = figures["percent_agreement"]
        table.add_row(
            field,
            str(figures["n"]),
            "—" if percent is None else f"{percent:.1f}%",
            number(figures["cohen_kappa"]),
            number(figures["alpha_nominal"]),
            number(figures.get("alpha_interval")) if "alpha_interval" in figures else "",
        )
    console.stdout.print(table)
    if report["disagreements"]:
        click.echo(f"\n{len(report['disagreements'])} disagreement(s):")
        for item in report["disagreements"]:
            answers = "; ".join(f"{who}: {value}" for who, value in item["answers"].items())
            click.echo(f"  {item['paper']}  {item['field']}: {console.printable(answers)}")


def default_annotator() -> str:
    """``$GOLDSMITH_ANNOTATOR``, else the login name."""
    import getpass
    import os

    name = os.environ.get("GOLDSMITH_ANNOTATOR", "").strip()
    if name:
        return name
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return "annotator"


def _run_app(
    db_path: Path,
    annotator: str,
    run: str | None,
    field: str | None,
    *,
    adjudicate: bool = False,
    blind: bool = False,
) -> None:
    from tui.app import SetupError, make_app
    from tui.keymap import KeymapError, load_keymap

    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        click.echo("error: review needs a terminal (stdin and stdout must be a TTY)", err=True)
        raise SystemExit(EXIT_USAGE)
    try:
        keymap = load_keymap()
        app = make_app(
            db_path,
            annotator,
            run=run,
            field=field,
            keymap=keymap,
            adjudicate=adjudicate,
            blind=blind,
        )
    except (SetupError, KeymapError) as exc:
        click.echo(f"error: {console.printable(exc)}", err=True)
        raise SystemExit(EXIT_USAGE) from None
    except DatabaseError as exc:
        click.echo(f"error: {console.printable(exc)}", err=True)
        raise SystemExit(EXIT_USAGE) from None
    app.run()


@cli.command("review")
@click.option(
    "--annotator", default=None, help="Your name [default: $GOLDSMITH_ANNOTATOR or login]."
)
@click.option(
    "--run", "run_name", default=None, help="Whose proposals to show [default: latest run]."
)
@click.option(
    "--field",
    type=click.Choice(FIELD_NAMES),
    default=None,
    help="Review this one field across all papers.",
)
@click.option(
    "--adjudicate",
    is_flag=True,
    help="Decide the fields annotators disagree on or marked ambiguous, seeing every answer.",
)
@click.option(
    "--blind", is_flag=True, help="Hide each proposal until you have answered (measures anchoring)."
)
@click.option(
    "--list-keys",
    is_flag=True,
    help="Print every key and its binding id (for a keymap), then exit.",
)
@pass_context
def review_command(
    ctx: Context,
    annotator: str | None,
    run_name: str | None,
    field: str | None,
    adjudicate: bool,
    blind: bool,
    list_keys: bool,
) -> None:
    """Open the review app: accept, correct or mark each proposed field beside the paper.

    Opens on the next paper to decide (where you left off). Every decision is saved the
    moment it is made. Press ? in the app for every key; remap keys in
    ~/.config/goldsmith/keymap.toml (see --list-keys).
    """
    if list_keys:
        from tui.app import GoldsmithApp
        from tui.screens.review import ReviewScreen

        for binding in [*ReviewScreen.BINDINGS, *GoldsmithApp.BINDINGS]:
            click.echo(f"{binding.id:32} {binding.key:28} {binding.tooltip}")  # type: ignore[union-attr]
        return
    ctx.db()  # fail early, with the usual message, on a bad database
    _run_app(
        ctx.db_path,
        annotator or default_annotator(),
        run_name,
        field,
        adjudicate=adjudicate,
        blind=blind,
    )


def _sample_data() -> Path:
    """The demo's sample papers: installed with the package, or beside it in a checkout."""
    from importlib import resources

    installed = Path(str(resources.files("tui"))) / "sample_data"
    if installed.is_dir():
        return installed
    return Path(__file__).resolve().parent.parent / "sample_data"


@cli.command("demo")
@click.option(
    "--annotator", default=None, help="Your name [default: $GOLDSMITH_ANNOTATOR or login]."
)
def demo_command(annotator: str | None) -> None:
    """Try goldsmith on sample papers: copies them into a new database and opens review.

    No Ollama needed: the demo holds a run of the offline rules engine and a sample model
    run. The database is kept afterwards (its path is printed) so you can export or score it.
    """
    import shutil
    import tempfile

    from extraction.engines.imported import import_proposals
    from extraction.engines.run import choose_papers, extract_with_rules, open_rules_run
    from extraction.pdf.ingest import Outcome, find_pdfs, ingest
    from storage import runs as run_store

    source = _sample_data()
    pdfs = sorted(source.glob("*.pdf"))
    if not pdfs:
        click.echo(f"error: {source}: no sample papers found", err=True)
        raise SystemExit(EXIT_USAGE)
    workdir = Path(tempfile.mkdtemp(prefix="goldsmith-demo-"))
    papers_dir = workdir / "papers"
    papers_dir.mkdir()
    for pdf in pdfs:
        shutil.copy2(pdf, papers_dir / pdf.name)
    db_path = workdir / "demo.db"
    db = open_database(db_path)
    paths, _ = find_pdfs([papers_dir])
    failed = [r for r in ingest(db, paths, processes=2) if r.outcome is Outcome.FAILED]
    if failed:
        click.echo(f"error: {failed[0].path}: {failed[0].reason}", err=True)
        raise SystemExit(EXIT_SOME_FAILED)
    run = open_rules_run(db, "rules")
    papers, _ = choose_papers(db, run)
    for _ in extract_with_rules(db, run, papers):
        pass
    run_store.finish_run(db, run.id)
    proposals = source / "proposals.jsonl"
    if proposals.is_file():
        import_proposals(db, proposals, "sample-llm")
    db.close()
    _run_app(db_path, annotator or default_annotator(), None, None)
    click.echo(f"demo database: {db_path} (kept; try 'goldsmith --db {db_path} papers')")


def main() -> None:
    """Entry point of the ``goldsmith`` command."""
    cli(prog_name="goldsmith")
