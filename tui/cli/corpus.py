"""From a gold sample to the corpus: ``import-metadata``, ``export-metadata`` and ``sample``."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from tui import console
from tui.cli.base import EXIT_USAGE, Context, cli, pass_context, rejected

if TYPE_CHECKING:
    from extraction.gold.sampling import Drawn


def load_metadata(ctx: Context, file: Path) -> None:
    """Import a metadata CSV and print what changed (exit 1, nothing imported, on a problem)."""
    from extraction.metadata import MetadataRejected, import_metadata

    try:
        result, ignored = import_metadata(ctx.db(), file)
    except MetadataRejected as exc:
        rejected(file, exc.problems)
    cleared = f", {result.cleared} cleared" if result.cleared else ""
    click.echo(
        f"metadata: {result.values} values{cleared} for {result.papers} papers "
        f"({', '.join(result.columns)})"
    )
    if ignored:
        console.warning(file, f"left out the papers' own column(s): {', '.join(ignored)}")


@cli.command("import-metadata")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@pass_context
def import_metadata_command(ctx: Context, file: Path) -> None:
    """Attach metadata columns (venue, year, arxiv_id, domain, any other) to papers.

    FILE is a CSV with a column naming each paper (paper_id, id, sha256, file or paper: its id,
    sha256 or file name) and one column per metadata field. Every cell is checked first; each
    bad one is reported as 'row N, column C: reason' and nothing is imported unless the whole
    file is good. A value replaces the paper's earlier one; an empty cell removes it.
    """
    load_metadata(ctx, file)


def _cell(value: str) -> str:
    """A metadata value as a CSV cell: numbers as they are, other text formula-safe."""
    from extraction.gold.files import neutralize

    try:
        float(value)
    except ValueError:
        return neutralize(value)
    return value


@cli.command("export-metadata")
@click.argument("out", type=click.Path(path_type=Path, dir_okay=False, allow_dash=True))
@pass_context
def export_metadata_command(ctx: Context, out: Path) -> None:
    """Write every paper's metadata as CSV (paper_id, file, then one column per field); it
    loads back with import-metadata. OUT may be - for stdout."""
    import csv
    import os
    import tempfile

    from extraction.gold.files import neutralize
    from storage import metadata as metadata_store

    db = ctx.db()
    names = metadata_store.columns(db)
    values = metadata_store.all_values(db)
    target = None if str(out) == "-" else out
    if target is None:
        handle = sys.stdout
        temp_name = None
    else:
        fd, temp_name = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent or ".")
        handle = os.fdopen(fd, "w", encoding="utf-8", newline="")
    writer = csv.writer(handle, lineterminator="\r\n")
    writer.writerow(["paper_id", "file", *names])
    count = 0
    for paper_id, file in db.execute("SELECT id, file FROM papers ORDER BY rowid"):
        cells = values.get(paper_id, {})
        writer.writerow([paper_id, neutralize(file), *(_cell(cells.get(n, "")) for n in names)])
        count += 1
    if target is not None and temp_name is not None:
        handle.close()
        os.replace(temp_name, target)
    click.echo(f"exported metadata of {count} papers ({len(names)} columns)", err=target is None)


@cli.command("sample")
@click.argument("name")
@click.option("--size", type=click.IntRange(min=1), required=True, help="Papers in the sample.")
@click.option(
    "--strata",
    multiple=True,
    metavar="COL|run:FIELD",
    help="Stratify by a metadata column, or by what a run proposed for a field; repeat to "
    "cross them.",
)
@click.option(
    "--seed", type=click.IntRange(min=0), default=None, help="Random seed [default: new]."
)
@click.option(
    "--run",
    "run_name",
    default=None,
    help="The run whose proposals run:FIELD strata read [default: latest run].",
)
@click.option("--annotators", default=None, metavar="a,b,c", help="Who reviews the sample.")
@click.option(
    "--overlap",
    type=click.FloatRange(min=0, max=1),
    default=None,
    help="Share of papers given to two annotators (for agreement) [default: 0].",
)
@click.option("--json", "as_json", is_flag=True, help="Print the design as one JSON object.")
@pass_context
def sample_command(
    ctx: Context,
    name: str,
    size: int,
    strata: tuple[str, ...],
    seed: int | None,
    run_name: str | None,
    annotators: str | None,
    overlap: float | None,
    as_json: bool,
) -> None:
    """Draw a random (stratified) sample of papers for the gold set, or grow one.

    Same seed and database, same papers in the same order. Each paper is stored with its
    stratum, inclusion probability and annotators; review it with 'review --sample NAME'.
    Drawing again with a larger --size keeps the earlier papers first.
    """
    from extraction.gold.sampling import SampleError, draw, parse_annotators

    db = ctx.db()
    try:
        drawn = draw(
            db,
            name,
            size,
            strata=strata,
            seed=seed,
            run_name=run_name,
            annotators=parse_annotators(annotators),
            overlap=overlap,
        )
    except SampleError as exc:
        click.echo(f"error: {console.printable(exc)}", err=True)
        raise SystemExit(EXIT_USAGE) from None
    if as_json:
        click.echo(json.dumps(design_json(drawn), indent=2, ensure_ascii=False))
        return
    print_design(drawn)


def design_json(drawn: Drawn) -> dict[str, Any]:
    sample = drawn.sample
    return {
        "name": sample.name,
        "size": sample.size,
        "added": drawn.added,
        "seed": sample.seed,
        "frame_papers": sample.frame_papers,
        "strata_by": list(sample.strata),
        "run": drawn.run.name if drawn.run else None,
        "strata": [
            {
                "stratum": s.stratum,
                "papers": s.population,
                "sample": s.size,
                "inclusion_probability": s.inclusion_probability,
            }
            for s in drawn.strata
        ],
        "annotators": drawn.assignments,
        "double_annotated": drawn.double,
        "overlap": sample.overlap,
    }


def print_design(drawn: Drawn) -> None:
    from rich.table import Table

    sample = drawn.sample
    if drawn.created:
        what = f"drew {sample.size}"
    elif drawn.added:
        what = f"grew by {drawn.added} to {sample.size}"
    else:
        what = f"unchanged, {sample.size}"
    design = (
        "stratified by " + " × ".join(sample.strata)
        if sample.stratified
        else "simple random sample"
    )
    if drawn.run is not None:
        design += f" (run {drawn.run.name})"
    click.echo(
        f"sample {console.printable(sample.name)}: {what} of {sample.frame_papers:,} papers "
        f"(seed {sample.seed}); {console.printable(design)}"
    )
    if sample.stratified:
        table = Table(box=None, header_style="bold", pad_edge=False)
        for column in ("stratum", "papers", "sample", "inclusion p."):
            table.add_column(column, justify="left" if column == "stratum" else "right")
        for s in drawn.strata:
            table.add_row(
                console.safe_text(s.stratum),
                f"{s.population:,}",
                f"{s.size:,}",
                f"{s.inclusion_probability:.4f}",
            )
        console.stdout.print(table)
    else:
        probability = sample.size / sample.frame_papers if sample.frame_papers else 0
        click.echo(f"inclusion probability {probability:.4f} for every paper")
    if drawn.assignments:
        shares = ", ".join(f"{console.printable(n)} {c}" for n, c in drawn.assignments.items())
        click.echo(
            f"annotators: {shares}; {drawn.double} papers double-annotated "
            f"(overlap {sample.overlap:g})"
        )
    click.echo(
        f"review it in this order: goldsmith review --sample {console.printable(sample.name)}"
    )
