"""``goldsmith review`` and ``goldsmith demo``: opening the Textual app."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from extraction.fields import FIELD_NAMES
from storage import Access, DatabaseError, open_database
from storage.db import checkpoint
from tui import console
from tui.cli.base import EXIT_SOME_FAILED, EXIT_USAGE, Context, annotator_name, cli, pass_context


def _run_app(
    db_path: Path,
    annotator: str,
    run: str | None,
    field: str | None,
    *,
    adjudicate: bool = False,
    blind: bool = False,
    sample: str | None = None,
    notice: str | None = None,
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
            sample=sample,
        )
    except (SetupError, KeymapError) as exc:
        click.echo(f"error: {console.printable(exc)}", err=True)
        raise SystemExit(EXIT_USAGE) from None
    except DatabaseError as exc:
        click.echo(f"error: {console.printable(exc)}", err=True)
        raise SystemExit(EXIT_USAGE) from None
    if notice:
        app.startup_notices.append(notice)
    from tui.keymap import keymap_problems

    for problem in keymap_problems(keymap):  # also shown in the app; kept in the scrollback
        click.echo(f"warning: {console.printable(problem)}", err=True)
    try:
        app.run()
    finally:
        checkpoint(app.session.db)
        app.session.db.close()


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
    "--sample",
    "sample_name",
    default=None,
    help="Review only this gold sample (your share of it), in sample order.",
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
    sample_name: str | None,
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
    ctx.db(Access.WRITE)  # fail early, with the usual message, on a bad database
    _run_app(
        ctx.db_path,
        annotator_name(annotator),
        run_name,
        field,
        adjudicate=adjudicate,
        blind=blind,
        sample=sample_name,
    )


def _sample_data() -> Path:
    """The demo's sample papers: installed with the package, or beside it in a checkout."""
    from importlib import resources

    installed = Path(str(resources.files("tui"))) / "sample_data"
    if installed.is_dir():
        return installed
    return Path(__file__).resolve().parents[2] / "sample_data"


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
    _run_app(
        db_path,
        annotator_name(annotator),
        None,
        None,
        notice=f"Demo database: {db_path} (kept when you quit)",
    )
    click.echo(f"demo database: {db_path} (kept; try 'goldsmith --db {db_path} papers')")
