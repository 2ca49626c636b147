"""The gold-set commands: ``export``, ``import-gold``, ``score`` and ``agreement``."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, TextIO

import click

from extraction.fields import FIELD_NAMES, FieldSpec, field_spec
from storage.db import Access
from tui import console
from tui.cli.base import (
    EXIT_USAGE,
    Context,
    OutputPath,
    annotator_name,
    cli,
    fail,
    pass_context,
    percent,
    rejected,
)


@cli.command("export")
@click.argument("out", type=OutputPath(allow_dash=True))
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
@click.option(
    "--force",
    is_flag=True,
    help="Replace OUT even when there is no paper to export (it would keep only a header).",
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
    force: bool,
) -> None:
    """Write the gold set: wide CSV (one row per paper), long CSV (one per paper and field) or
    JSON Lines (the proposals format). Only papers whose every field is final, unless
    --include-partial. OUT may be - for stdout.

    OUT is replaced only once the whole file is written (it keeps its permissions); an
    existing OUT is not replaced by an export of no papers unless --force."""
    from extraction.gold import files as gold_io
    from extraction.outfile import OutputFile

    if run_name is not None and fmt != "jsonl":
        fail("--run: only with --format jsonl")
    db = ctx.db(Access.READ)

    def write(handle: TextIO) -> gold_io.ExportSummary:
        try:
            if run_name is not None:
                return gold_io.export_run_jsonl(db, handle, run_name)
            if fmt == "jsonl":
                return gold_io.export_jsonl(db, handle, include_partial=include_partial)
            if layout == "long":
                return gold_io.export_long(db, handle, include_partial=include_partial)
            return gold_io.export_wide(
                db, handle, include_partial=include_partial, utilization=utilization
            )
        except LookupError as exc:
            fail(f"--run: {exc.args[0]}")

    if str(out) == "-":
        summary = write(sys.stdout)
    else:
        with OutputFile(out) as output:
            summary = write(output.handle)
            if summary.exported == 0 and not force and not output.in_place and out.exists():
                fail(
                    f"{out}: not replaced: there is no paper to export, so it would keep only "
                    "a header (use --force to replace it anyway)"
                )
            output.commit()
    what = "papers" if run_name is None else f"papers of run {run_name}"
    left = f", {summary.left_out} left out (not every field final)" if summary.left_out else ""
    click.echo(f"exported {summary.exported} {what}{left}", err=str(out) == "-")


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

    annotator = annotator_name(annotator)
    db = ctx.db(Access.CREATE)
    try:
        result = import_gold(db, file, annotator)
    except GoldRejected as exc:
        rejected(file, exc.problems)
    click.echo(f"imported {result.decisions} decisions for {result.papers} papers as {annotator}")
    if result.metadata:
        carried = result.metadata
        click.echo(
            f"metadata: {carried.values} values for {carried.papers} papers "
            f"({', '.join(carried.columns)})"
        )


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
@click.option(
    "--errors",
    is_flag=True,
    help="Also list every paper-field a run got wrong, with its answer and the gold value.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the figures as one JSON object.")
@pass_context
def score_command(
    ctx: Context,
    run_names: tuple[str, ...],
    tolerance: float,
    include_partial: bool,
    errors: bool,
    as_json: bool,
) -> None:
    """Accuracy of extraction runs against the gold set, per field, with 95% Wilson intervals.

    Each (run, gold) pair is correct, wrong_value, hallucinated (reported, gold says not) or
    missed (not reported, gold has a value). Several runs are shown side by side. --errors
    lists every pair that is not correct, by field then file: the outcome, the run's value
    and quote, the gold value and its evidence (with --json: an "errors" list per run).
    """
    from rich.table import Table

    from extraction.gold.scoring import score_runs

    db = ctx.db(Access.READ)
    try:
        report = score_runs(
            db, run_names, tolerance=tolerance, include_partial=include_partial, errors=errors
        )
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
            accuracy = percent(figures["accuracy"])
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
    if errors:
        for name in run_names:
            _print_errors(name, report["runs"][name]["errors"])


def answer_text(spec: FieldSpec, given: dict[str, Any]) -> str:
    """One side of a scoring error as one line: the value (or status), page and quote."""
    from extraction.evidence.normalize import format_value

    if given["status"] is None:
        return "no answer"
    shown = format_value(spec, given["value"]) if given["status"] == "reported" else given["status"]
    if given["status"] == "ambiguous" and given["value"] is not None:
        shown += f" ({format_value(spec, given['value'])})"
    page = f"p. {given['page']}" if given["page"] is not None else ""
    if given["quote"]:
        # One line: the quote's own line breaks are the PDF's layout, not its meaning.
        shown += f' — {page + " " if page else ""}"{" ".join(given["quote"].split())}"'
    elif page:
        shown += f" — {page}"
    return shown


def _print_errors(run_name: str, errors: list[dict[str, Any]]) -> None:
    """A run's errors, three lines each: field, file and outcome; the run's answer; the gold."""
    click.echo(f"\nrun {console.printable(run_name)}: {len(errors)} paper-field(s) not correct")
    for error in errors:
        spec = field_spec(error["field"])
        run, gold = error["run"], error["gold"]
        grounding = f" ({run['grounding']})" if run["quote"] and run["grounding"] else ""
        who = f" · {', '.join(gold['annotators'])}" if gold["annotators"] else ""
        click.echo(
            f"{error['field']}  {console.printable(error['file'])}  {error['outcome']}  "
            f"[{error['paper_id']}]"
        )
        click.echo(f"    run   {console.printable(answer_text(spec, run) + grounding)}")
        click.echo(f"    gold  {console.printable(answer_text(spec, gold) + who)}")


@cli.command("agreement")
@click.option(
    "--tolerance",
    type=click.FloatRange(min=0, max=1),
    default=0.05,
    show_default=True,
    help="Relative tolerance for numbers that are not counts (as in score).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the figures as one JSON object.")
@pass_context
def agreement_command(ctx: Context, tolerance: float, as_json: bool) -> None:
    """Inter-annotator agreement per field (papers decided by two or more annotators):
    percent agreement, Cohen's kappa and Krippendorff's alpha (nominal; ratio for numbers),
    answers matched as score matches them; then every disagreement."""
    from rich.table import Table

    from extraction.gold.agreement import agreement

    db = ctx.db(Access.READ)
    report = agreement(db, tolerance=tolerance)
    if as_json:
        click.echo(console.json_text(report, indent=2))
        return
    if len(report["annotators"]) < 2:
        click.echo("no paper has been decided by two annotators yet")
        return

    def number(value: float | None) -> str:
        return "—" if value is None else f"{value:.2f}"

    table = Table(title="annotators: " + ", ".join(report["annotators"]), header_style="bold")
    for column in ("field", "n", "agreement", "Cohen's κ", "α nominal", "α ratio"):
        table.add_column(column, justify="left" if column == "field" else "right")
    for field, figures in report["fields"].items():
        percent = figures["percent_agreement"]
        table.add_row(
            field,
            str(figures["n"]),
            "—" if percent is None else f"{percent:.1f}%",
            number(figures["cohen_kappa"]),
            number(figures["alpha_nominal"]),
            number(figures["alpha_ratio"]) if "alpha_ratio" in figures else "",
        )
    console.stdout.print(table)
    if report["disagreements"]:
        click.echo(f"\n{len(report['disagreements'])} disagreement(s):")
        for item in report["disagreements"]:
            answers = "; ".join(f"{who}: {value}" for who, value in item["answers"].items())
            click.echo(f"  {item['paper']}  {item['field']}: {console.printable(answers)}")
