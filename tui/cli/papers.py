"""``goldsmith ingest`` and ``goldsmith papers``: adding PDFs and listing their progress."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import click

from extraction import defaults
from extraction.fields import FIELD_NAMES
from storage.papers import PROGRESS_STATUSES
from tui import console
from tui.cli.base import EXIT_SOME_FAILED, Context, cli, pass_context, progress_bar

# Each command imports what it needs when it runs: loading the Ollama client, PyMuPDF and
# Rich's progress bars for every command cost a third of a second per invocation.
if TYPE_CHECKING:
    from rich.progress import Progress

    from extraction.pdf.ingest import IngestResult


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

    progress = progress_bar(threaded=False) if console.stderr_is_terminal() and paths else None
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
