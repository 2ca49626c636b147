"""What every ``goldsmith`` command shares: the group, its context, exit codes and helpers."""

from __future__ import annotations

import contextlib
import errno
import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import click

from storage.db import Access, checkpoint, describe, is_disk_full, open_database
from storage.errors import GoldsmithError
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
EXIT_INTERRUPTED = 130
EXIT_BUG = 70
"""An unexpected failure inside goldsmith (``EX_SOFTWARE`` of sysexits.h)."""


@dataclass
class Context:
    """What every command shares: the database path the user chose, opened once."""

    db_path: Path
    _db: Database | None = None
    _created: bool = False

    def db(self, access: Access | str = Access.WRITE) -> Database:
        """Open the database once (see :class:`storage.db.Access`).

        Raises:
            DatabaseError: It cannot be opened as asked (shown by the CLI as one line).
        """
        if self._db is None:
            existed = self.db_path.exists()
            try:
                self._db = open_database(self.db_path, access=access)
            except BaseException:
                if not existed:
                    self._remove_unborn()
                raise
            self._created = not existed
        return self._db

    def _remove_unborn(self) -> None:
        """Remove what a database that failed to come into being left (a full disk leaves an
        empty file): only while the file is still empty, so nobody's data can go with it."""
        try:
            if self.db_path.stat().st_size != 0:
                return
        except OSError:
            return
        for suffix in ("", "-wal", "-shm"):
            with contextlib.suppress(OSError):
                Path(f"{self.db_path}{suffix}").unlink(missing_ok=True)

    def finish(self, failed: bool) -> None:
        """Close the database; one this command created and that failed before recording
        anything is removed again, so a failed first command leaves nothing behind."""
        if self._db is None:
            return
        db, self._db = self._db, None
        empty = False
        if failed and self._created:
            with contextlib.suppress(sqlite3.Error):
                empty = not any(
                    db.execute(f"SELECT 1 FROM {table} LIMIT 1").fetchone()
                    for table in ("papers", "ingest_errors", "runs", "decisions")
                )
        checkpoint(db)
        db.close()
        if empty:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{self.db_path}{suffix}").unlink(missing_ok=True)


pass_context = click.make_pass_decorator(Context)


class OutputPath(click.Path):
    """A file to write (``-`` for standard output where allowed).

    A path ending in a separator names a folder and is refused even when that folder does not
    exist: ``Path("out/")`` is ``out``, so the export would otherwise write a file called
    ``out`` and report success.
    """

    def __init__(self, *, allow_dash: bool = False) -> None:
        super().__init__(path_type=Path, dir_okay=False, allow_dash=allow_dash)

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, str) and value.endswith(("/", os.sep)):
            self.fail(f"{value} names a folder, not a file to write", param, ctx)
        return super().convert(value, param, ctx)


def fail(message: object, code: int = EXIT_USAGE) -> NoReturn:
    """Print ``error: MESSAGE`` (control characters escaped) and exit with ``code``."""
    click.echo(f"error: {console.printable(message)}", err=True)
    raise SystemExit(code)


def os_error_message(exc: OSError) -> str:
    """``FILE: reason`` for a failed file operation, in the words of the rest of the CLI."""
    if is_disk_full(exc):
        reason = "disk full (free some space, then try again)"
    elif exc.errno == errno.EROFS:
        reason = "read-only file system"
    else:
        reason = (exc.strerror or str(exc)).lower()
    subject = exc.filename if exc.filename is not None else "goldsmith"
    return f"{subject}: {reason}"


def exit_code(error: GoldsmithError) -> int:
    """The exit code for a domain error (the README lists them): 3 when the extraction
    backend cannot be used, 1 when an input file was refused line by line, else 2 (it cannot
    run as asked)."""
    import sys

    engines = sys.modules.get("extraction.engines.base")
    if engines is not None and isinstance(error, engines.BackendUnavailable):
        return EXIT_BACKEND
    if isinstance(getattr(error, "problems", None), list):
        return EXIT_SOME_FAILED
    return EXIT_USAGE


def usage_error(exc: click.ClickException) -> NoReturn:
    """A mistyped command line as one line, with where to look (click would print three:
    the usage, a hint and the error). ``goldsmith`` alone still shows the help."""
    if isinstance(exc, click.exceptions.NoArgsIsHelpError):
        raise exc
    message = exc.format_message().rstrip(".")
    context = getattr(exc, "ctx", None)
    command = context.command_path if isinstance(context, click.Context) else "goldsmith"
    if isinstance(exc, click.NoSuchOption) and exc.option_name == "--db" and command != "goldsmith":
        # The one option of the group: it goes before the command, as with git -C.
        name = command.removeprefix("goldsmith ")
        fail(f"--db goes before the command: goldsmith --db PATH {name} ...", exc.exit_code)
    fail(f"{message} (see {command} --help)", exc.exit_code)


class GoldsmithCommand(click.Command):
    """A command whose text arguments are checked before it runs.

    Python passes bytes of the command line that are not UTF-8 on as lone surrogates
    (``$'\\xff'`` becomes ``U+DCFF``); such a run name or paper id cannot be looked up, stored
    or printed, so it is refused in one line, naming the option. (Paths are left alone: a file
    name may be any bytes.)
    """

    def invoke(self, ctx: click.Context) -> Any:
        from extraction.safe_text import lone_surrogate

        for param in self.params:
            if not isinstance(param.type, click.types.StringParamType) or param.name is None:
                continue
            given = ctx.params.get(param.name)
            for value in given if isinstance(given, (tuple, list)) else (given,):
                if isinstance(value, str) and (problem := lone_surrogate(value)):
                    name = param.opts[0] if isinstance(param, click.Option) else param.name.upper()
                    fail(f"{name}: {problem}")
        return super().invoke(ctx)


class GoldsmithGroup(click.Group):
    """The command group, with the one handler that turns every failure into one line.

    Domain errors (:class:`storage.errors.GoldsmithError`) are printed with their message,
    SQLite and file-system failures are described for the user (a full disk says "disk
    full"), Ctrl+C says "interrupted", and anything unexpected is reported as a bug in one
    line (``GOLDSMITH_DEBUG=1`` shows the traceback). Exit codes: as the README lists them,
    130 when interrupted and 70 for a bug.
    """

    command_class = GoldsmithCommand

    def make_context(self, *args: Any, **kwargs: Any) -> click.Context:
        try:
            return super().make_context(*args, **kwargs)
        except click.ClickException as exc:
            usage_error(exc)

    def invoke(self, ctx: click.Context) -> Any:
        failed = True
        try:
            result = super().invoke(ctx)
            failed = False
            return result
        except SystemExit as exc:
            failed = exc.code not in (None, 0)
            raise
        except click.exceptions.Exit as exc:
            failed = exc.exit_code != 0
            raise
        except click.ClickException as exc:
            usage_error(exc)
        except click.exceptions.Abort:
            raise
        except GoldsmithError as exc:
            fail(exc, exit_code(exc))
        except sqlite3.Error as exc:
            where = ctx.obj.db_path if isinstance(ctx.obj, Context) else "the database"
            fail(describe(exc, where))
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            raise SystemExit(EXIT_INTERRUPTED) from None
        except OSError as exc:
            if exc.errno == errno.EPIPE:
                raise  # click quietens a closed pipe (goldsmith papers | head)
            fail(os_error_message(exc))
        except Exception as exc:
            if os.environ.get("GOLDSMITH_DEBUG"):
                raise
            fail(
                f"unexpected {type(exc).__name__}: {exc} (a bug in goldsmith; "
                "GOLDSMITH_DEBUG=1 shows where)",
                EXIT_BUG,
            )
        finally:
            if isinstance(ctx.obj, Context):
                ctx.obj.finish(failed)


@click.group(
    cls=GoldsmithGroup,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
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

    name = os.environ.get("GOLDSMITH_ANNOTATOR", "").strip()
    if name:
        return name
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return "annotator"


def annotator_name(given: str | None, option: str = "--annotator") -> str:
    """The annotator's name: ``given``, else :func:`default_annotator`; exits with one line
    when it cannot be a name (control characters, ';', too long)."""
    from extraction.safe_text import name_problem

    name = given.strip() if given is not None else default_annotator()
    where = option if given is not None else "$GOLDSMITH_ANNOTATOR (or the login name)"
    if problem := name_problem(name, "an annotator name"):
        fail(f"{where}: {problem}")
    return name


def run_name_checked(name: str | None, option: str = "--run") -> str | None:
    """A run name given on the command line, refused (one line) when it holds control or
    bidi characters or is too long: run names are shown and exported."""
    from extraction.safe_text import MAX_NAME, unsafe_character

    if name is None:
        return None
    if not name.strip():
        fail(f"{option}: a run name cannot be empty")
    if problem := unsafe_character(name):
        fail(f"{option}: {problem}")
    if len(name) > MAX_NAME:
        fail(f"{option}: longer than {MAX_NAME} characters")
    return name
