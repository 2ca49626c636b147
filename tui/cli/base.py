"""What every ``goldsmith`` command shares: the group, its context, exit codes and helpers."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import click

from storage import DatabaseError, open_database
from tui import console

# Each command imports what it needs when it runs: loading the Ollama client, PyMuPDF and
# Rich's progress bars for every command cost a third of a second per invocation.
if TYPE_CHECKING:
    from rich.progress import Progress
    from sqlite_utils import Database


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


def progress_bar(*, threaded: bool = True) -> Progress:
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


def rejected(file: Path, problems: list[str]) -> NoReturn:
    """Report every problem of a file that was not imported, and exit 1."""
    for problem in problems:
        console.error(file, problem)
    shown = console.printable(file)
    click.echo(f"nothing imported: {len(problems)} problem(s) in {shown}", err=True)
    raise SystemExit(EXIT_SOME_FAILED)


def percent(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.1f}%"


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
