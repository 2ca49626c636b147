"""From a gold sample to the corpus: ``import-metadata``, ``export-metadata``, ``sample``,
``estimate`` and ``report``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

import click

from extraction.gold.figures import amount_text, rate_text
from storage.db import Access
from tui import console
from tui.cli.base import EXIT_USAGE, Context, OutputPath, cli, pass_context, rejected

if TYPE_CHECKING:
    from rich.table import Table

    from extraction.gold.sampling import Drawn


def load_metadata(ctx: Context, file: Path) -> None:
    """Import a metadata CSV and print what changed (exit 1, nothing imported, on a problem)."""
    from extraction.metadata import MetadataRejected, import_metadata

    try:
        result, ignored = import_metadata(ctx.db(Access.CREATE), file)
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


@cli.command("export-metadata")
@click.argument("out", type=OutputPath(allow_dash=True))
@pass_context
def export_metadata_command(ctx: Context, out: Path) -> None:
    """Write every paper's metadata as CSV (paper_id, file, then one column per field); it
    loads back with import-metadata. OUT may be - for stdout."""
    import csv

    from extraction.gold.files import shown
    from extraction.gold.paper_metadata import PaperMetadata
    from extraction.outfile import OutputFile
    from storage.papers import STABLE_ORDER

    db = ctx.db(Access.READ)
    metadata = PaperMetadata(db)
    target = None if str(out) == "-" else out

    def write(handle: TextIO) -> int:
        writer = csv.writer(handle, lineterminator="\r\n")
        writer.writerow(["paper_id", "file", *metadata.names])
        count = 0
        # The order export uses (file name, then id): the same in every database.
        for paper_id, file in db.execute(f"SELECT id, file FROM papers ORDER BY {STABLE_ORDER}"):
            writer.writerow([paper_id, shown(file), *metadata.cells(paper_id)])
            count += 1
        return count

    if target is None:
        count = write(sys.stdout)
    else:
        with OutputFile(target) as output:
            count = write(output.handle)
            output.commit()
    click.echo(
        f"exported metadata of {count} papers ({len(metadata.names)} columns)",
        err=target is None,
    )


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
        click.echo(console.json_text(design_json(drawn), indent=2))
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


@cli.command("estimate")
@click.option("--run", "run_name", required=True, help="The extraction run to assess.")
@click.option("--sample", "sample_name", required=True, help="The gold sample (see 'sample').")
@click.option(
    "--by", default=None, metavar="COL", help="Break the figures down by a metadata column."
)
@click.option(
    "--tolerance",
    type=click.FloatRange(min=0, max=1),
    default=0.05,
    show_default=True,
    help="Relative tolerance for numbers that are not counts (as in score).",
)
@click.option(
    "--include-partial",
    is_flag=True,
    help="Also use final fields of sampled papers not every field of which is final.",
)
@click.option(
    "--interval",
    type=click.Choice(["design", "ppi-python"]),
    default="design",
    show_default=True,
    help="design: design-based, with finite population correction; ppi-python: the "
    "ppi_py package's interval (needs the ppi extra; conservative here).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the figures as one JSON object.")
@pass_context
def estimate_command(
    ctx: Context,
    run_name: str,
    sample_name: str,
    by: str | None,
    tolerance: float,
    include_partial: bool,
    interval: str,
    as_json: bool,
) -> None:
    """Corpus-wide accuracy and disclosure rates of a run, corrected by a gold sample.

    Per field: the run's accuracy (correct / wrong value / hallucinated / missed) over the
    corpus, weighted by the sample's design; the share of papers disclosing the field — the
    run's raw rate, the gold sample's own and the prediction-powered corrected rate — and for
    numeric fields the mean among disclosing papers; 95% intervals with the finite population
    correction. The intervals hold when the gold papers are the random sample 'sample' drew.
    """
    from extraction.gold.estimate import EstimateError, estimate

    db = ctx.db(Access.READ)
    try:
        report = estimate(
            db,
            sample_name,
            run_name,
            by=by,
            include_partial=include_partial,
            tolerance=tolerance,
            interval=interval,
        )
    except EstimateError as exc:
        click.echo(f"error: {console.printable(exc)}", err=True)
        raise SystemExit(EXIT_USAGE) from None
    if as_json:
        click.echo(console.json_text(report, indent=2))
        return
    print_estimate(report)


def _table(title: str, columns: list[str]) -> Table:
    from rich.table import Table

    table = Table(title=title, title_justify="left", box=None, header_style="bold", pad_edge=False)
    for column in columns:
        table.add_column(column, justify="left" if column in ("field", "group") else "right")
    return table


def print_estimate(report: dict[str, Any]) -> None:
    """The estimate as tables: disclosure and accuracy per field, means, then breakdowns."""
    sample = report["sample"]
    design = (
        "stratified by " + " × ".join(sample["strata_by"])
        if sample["strata_by"]
        else "simple random sample"
    )
    click.echo(
        f"run {console.printable(report['run']['name'])} over {report['corpus_papers']:,} papers "
        f"({report['run']['papers']:,} extracted); sample {console.printable(sample['name'])}: "
        f"{sample['gold_papers']} gold papers of {sample['size']} ({console.printable(design)})"
    )
    table = _table(
        "\ndisclosure (% of papers) and accuracy (%), 95% intervals",
        ["field", "run", "gold", "corrected", "accuracy", "wrong/halluc./missed"],
    )
    notes: list[str] = []
    for name, figures in report["fields"].items():
        notes += [f"{name}: {note}" for note in figures.get("notes", [])]
        if "disclosure" not in figures:
            continue
        d = figures["disclosure"]
        a = figures["accuracy"]
        errors = "/".join(rate_text(figures["errors"][k]["estimate"]) for k in figures["errors"])
        table.add_row(
            name,
            rate_text(d["model"]),
            rate_text(d["gold_sample"]),
            rate_text(d["corrected"], d["ci95"]),
            rate_text(a["estimate"], a["ci95"]),
            errors,
        )
    overall = report["overall"]["accuracy"]
    table.add_row("overall", "", "", "", rate_text(overall["estimate"], overall["ci95"]), "")
    console.stdout.print(table)
    means = _table(
        "\nmeans among papers reporting a value, 95% intervals",
        ["field", "run", "gold", "corrected"],
    )
    for name, figures in report["fields"].items():
        if "mean" in figures:
            m = figures["mean"]
            means.add_row(
                name,
                amount_text(m["model"]),
                amount_text(m["gold_sample"]),
                amount_text(m["corrected"], m["ci95"]),
            )
    console.stdout.print(means)
    if "by" in report:
        column = report["by"]["column"]
        for value, group in report["by"]["groups"].items():
            breakdown = _table(
                f"\n{column} = {console.printable(value)}: {group['corpus_papers']:,} papers, "
                f"{group['gold_papers']} gold",
                ["field", "run", "corrected", "accuracy"],
            )
            for name, figures in group["fields"].items():
                if "disclosure" not in figures:
                    continue
                d, a = figures["disclosure"], figures["accuracy"]
                breakdown.add_row(
                    name,
                    rate_text(d["model"]),
                    rate_text(d["corrected"], d["ci95"]),
                    rate_text(a["estimate"], a["ci95"]),
                )
            console.stdout.print(breakdown)
    for note in notes:
        click.echo(f"note: {console.printable(note)}", err=True)


@cli.command("report")
@click.argument("out", type=OutputPath())
@click.option("--run", "run_name", default=None, help="The run to report on [default: latest run].")
@click.option(
    "--sample", "sample_name", default=None, help="The gold sample [default: latest sample]."
)
@click.option(
    "--by",
    "columns",
    multiple=True,
    metavar="COL",
    help="Break down by these metadata columns [default: each with 2-12 values].",
)
@click.option("--tolerance", type=click.FloatRange(min=0, max=1), default=0.05, show_default=True)
@click.option("--include-partial", is_flag=True, help="As for estimate.")
@pass_context
def report_command(
    ctx: Context,
    out: Path,
    run_name: str | None,
    sample_name: str | None,
    columns: tuple[str, ...],
    tolerance: float,
    include_partial: bool,
) -> None:
    """Write the corpus report as one self-contained HTML file (no network needed to view
    it): per field, disclosure (the run's raw rate and the corrected rate, with intervals),
    accuracy, the error mix and breakdowns by metadata, as charts with tables beside them."""
    from datetime import UTC, datetime
    from importlib.metadata import version

    from extraction.gold.estimate import EstimateError, breakdown_columns, estimate
    from extraction.gold.report import render
    from extraction.outfile import OutputFile
    from storage import runs as run_store
    from storage import samples as sample_store

    db = ctx.db(Access.READ)
    if run_name is None:
        latest = run_store.latest_run(db)
        if latest is None:
            click.echo("error: no run yet: extract one first ('goldsmith extract')", err=True)
            raise SystemExit(EXIT_USAGE)
        run_name = latest.name
    if sample_name is None:
        samples = sample_store.list_samples(db)
        if not samples:
            click.echo(
                "error: no gold sample yet: draw one with 'goldsmith sample NAME --size N'",
                err=True,
            )
            raise SystemExit(EXIT_USAGE)
        sample_name = samples[0].name
    chosen = list(columns) if columns else breakdown_columns(db)
    try:
        figures = estimate(
            db,
            sample_name,
            run_name,
            by=chosen,
            include_partial=include_partial,
            tolerance=tolerance,
        )
    except EstimateError as exc:
        click.echo(f"error: {console.printable(exc)}", err=True)
        raise SystemExit(EXIT_USAGE) from None
    figures.setdefault("breakdowns", [])
    page = render(
        figures,
        generated_at=datetime.now(UTC).isoformat(timespec="seconds"),
        version=version("goldsmith"),
    )
    # Whole or not at all, with the umask's mode (or the replaced file's): see OutputFile.
    with OutputFile(out) as output:
        output.handle.write(page)
        output.commit()
    by = f", by {', '.join(chosen)}" if chosen else ""
    click.echo(
        f"wrote {console.printable(out)}: run {console.printable(run_name)}, sample "
        f"{console.printable(sample_name)} ({figures['sample']['gold_papers']} gold papers){by}"
    )
