"""``goldsmith ingest`` and ``goldsmith papers``: adding PDFs and listing their progress."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from extraction import defaults
from extraction.fields import FIELD_NAMES
from storage.db import Access
from storage.papers import PROGRESS_STATUSES
from tui import console
from tui.cli.base import (
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
@click.option(
    "--metadata",
    "metadata_file",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="A CSV of paper metadata (venue, year, ...) to attach once the PDFs are in; "
    "see import-metadata.",
)
@pass_context
def ingest_command(
    ctx: Context,
    inputs: tuple[Path, ...],
    jobs: int | None,
    timeout: float,
    max_memory: int,
    metadata_file: Path | None,
) -> None:
    """Add PDFs (files, or folders searched recursively for *.pdf) to the database.

    Idempotent: a PDF already stored (same sha256) is not added again. Each file that cannot
    be read is reported as 'error: FILE: reason' and recorded in the ingest_errors table.
    With --metadata, the CSV is checked before any PDF is read and imported after (all or
    nothing). Exit code 1 when any file failed.
    """
    from extraction.pdf.ingest import Outcome, find_pdfs, ingest

    db = ctx.db(Access.CREATE)
    if metadata_file is not None:
        from extraction.metadata import MetadataRejected, read_file

        try:
            checked = read_file(metadata_file)
        except MetadataRejected as exc:
            rejected(metadata_file, exc.problems)
        if checked.problems:
            rejected(metadata_file, checked.problems)
    started = time.perf_counter()
    paths, others = find_pdfs(inputs)
    counts = {outcome: 0 for outcome in Outcome}
    pages = 0

    def report(result: IngestResult, progress: Progress | None) -> None:
        nonlocal pages
        counts[result.outcome] += 1
        if result.outcome is Outcome.FAILED:
            line = f"error: {console.printable(result.path)}: {console.printable(result.reason)}"
        elif result.outcome is Outcome.SKIPPED:
            line = (
                f"warning: {console.printable(result.path)}: skipped: "
                f"{console.printable(result.reason)}"
            )
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

    for result in others:
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
    skipped = (
        f", skipped {counts[Outcome.SKIPPED]} (not regular files)"
        if counts[Outcome.SKIPPED]
        else ""
    )
    click.echo(
        f"ingested {counts[Outcome.INGESTED]}, already present {counts[Outcome.PRESENT]}, "
        f"failed {counts[Outcome.FAILED]}{skipped}, {pages} pages, {seconds:.1f} s"
    )
    if metadata_file is not None:
        from tui.cli.corpus import load_metadata

        load_metadata(ctx, metadata_file)
    if counts[Outcome.FAILED]:
        raise SystemExit(EXIT_SOME_FAILED)


@cli.command("papers")
@click.option(
    "--status",
    type=click.Choice(PROGRESS_STATUSES),
    default=None,
    help="Only papers whose review is in this state.",
)
@click.option(
    "--sample",
    "sample_name",
    default=None,
    help="Only this gold sample's papers, in sample order, with its stratum and annotators.",
)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per paper (JSON Lines).")
@pass_context
def papers_command(
    ctx: Context, status: str | None, sample_name: str | None, as_json: bool
) -> None:
    """List papers with their review progress (fields with a final gold value) and metadata."""
    from storage import metadata as metadata_store
    from storage import samples as sample_store
    from storage.models import PaperProgress
    from storage.papers import iter_progress

    db = ctx.db(Access.READ)
    columns = metadata_store.columns(db)
    metadata = metadata_store.all_values(db) if columns else {}
    sampled: dict[str, sample_store.SampledPaper] = {}
    sample = None
    if sample_name is not None:
        sample = sample_store.get_sample(db, sample_name)
        if sample is None:
            names = ", ".join(s.name for s in sample_store.list_samples(db)) or "none yet"
            click.echo(
                f"error: --sample: no sample named {console.printable(sample_name)!r} "
                f"(samples: {console.printable(names)})",
                err=True,
            )
            raise SystemExit(EXIT_USAGE)
        sampled = {p.paper_id: p for p in sample_store.sampled_papers(db, sample.id)}
    rows: Iterable[PaperProgress] = iter_progress(db, FIELD_NAMES, status=status)
    if sample is not None:
        # In sample order; the whole sample's progress is counted for the summary.
        everything = [r for r in iter_progress(db, FIELD_NAMES) if r.paper.id in sampled]
        everything.sort(key=lambda r: sampled[r.paper.id].position)
        counts = {name: 0 for name in PROGRESS_STATUSES}
        for row in everything:
            counts[row.status] += 1
        rows = [r for r in everything if status is None or r.status == status]
    out = sys.stdout

    def sample_cells(paper_id: str) -> list[str]:
        if sample is None:
            return []
        place = sampled[paper_id]
        return [
            str(place.position),
            place.stratum,
            f"{place.inclusion_probability:.4f}",
            "; ".join(place.annotators),
        ]

    sample_columns = ["position", "stratum", "inclusion", "annotators"] if sample else []
    if as_json:
        for row in rows:
            record: dict[str, Any] = {
                "id": row.paper.id,
                "file": row.paper.file,
                "title": row.paper.title,
                "pages": row.paper.pages,
                "status": row.status,
                "fields_final": row.fields_final,
                "fields_total": row.fields_total,
                "annotators": list(row.decided_by),
                "added_at": row.paper.added_at,
                "metadata": metadata.get(row.paper.id, {}),
            }
            if sample is not None:
                place = sampled[row.paper.id]
                record["sample"] = {
                    "name": sample.name,
                    "position": place.position,
                    "stratum": place.stratum,
                    "inclusion_probability": place.inclusion_probability,
                    "assigned": list(place.annotators),
                }
            out.write(console.json_text(record) + "\n")
        return
    if not sys.stdout.isatty():
        out.write("\t".join([*sample_columns, "id", "status", "final", "pages", "title", *columns]))
        out.write("\n")
        for row in rows:
            title = console.printable(row.paper.display_title).replace("\t", " ")
            extra = [metadata.get(row.paper.id, {}).get(name, "") for name in columns]
            cells = [
                *sample_cells(row.paper.id),
                row.paper.id,
                row.status,
                f"{row.fields_final}/{row.fields_total}",
                str(row.paper.pages),
                title,
                *(console.printable(cell).replace("\t", " ") for cell in extra),
            ]
            out.write("\t".join(cells) + "\n")
        if sample is not None:
            _sample_summary(sample.name, len(sampled), counts, err=True)
        return
    from rich.table import Table

    shown = columns[:MAX_SHOWN_COLUMNS]
    table = Table(box=None, header_style="bold")
    for column in [*sample_columns, "id", "status", "final", "pages", *shown, "title"]:
        numeric = column in ("final", "pages", "position", "inclusion")
        table.add_column(column, justify="right" if numeric else "left")
    count = 0
    for row in rows:
        count += 1
        values = metadata.get(row.paper.id, {})
        table.add_row(
            *(console.safe_text(cell) for cell in sample_cells(row.paper.id)),
            row.paper.id,
            row.status,
            f"{row.fields_final}/{row.fields_total}",
            str(row.paper.pages),
            *(console.safe_text(values.get(name, "")) for name in shown),
            console.safe_text(row.paper.display_title),
        )
    if count:
        console.stdout.print(table)
    if sample is not None:
        _sample_summary(sample.name, len(sampled), counts, err=False)
    elif not count:
        which = f" with status {status}" if status else ""
        click.echo(f"no papers{which}; add some with 'goldsmith ingest PATH'")


MAX_SHOWN_COLUMNS = 4
"""Metadata columns shown in the terminal table (all of them in --json and when piped)."""


def _sample_summary(name: str, size: int, counts: dict[str, int], *, err: bool) -> None:
    parts = ", ".join(f"{counts[s]} {s.replace('_', ' ')}" for s in PROGRESS_STATUSES)
    click.echo(f"sample {console.printable(name)}: {size} papers; {parts}", err=err)
