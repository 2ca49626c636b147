"""Opening the goldsmith database and writing to it safely.

One SQLite file is shared by several annotators and an extraction run, so every connection
uses WAL mode and a busy timeout, and every write goes through :func:`write`, which takes
the write lock up front (``BEGIN IMMEDIATE``) and retries with backoff while another process
holds it.

**Opening** (:func:`open_database`) never creates a database unless asked to
(:attr:`Access.CREATE`: ``ingest``, ``import-*``, ``demo``), so a mistyped path is an error,
not a new empty database. A database this process may not write is opened read-only for
commands that only read (:attr:`Access.READ`), and a database that a newer goldsmith has
migrated is refused: this version does not know its schema.

**The log stays ours.** In WAL mode a committed change lives in ``NAME-wal`` until a
checkpoint copies it into ``NAME``. If another program removes or replaces that file while a
connection is open, SQLite keeps writing into the file it has open, which nobody will ever
read again. Before each write the identity (device and inode) of both files is compared
with what the connection saw, and the write is refused with :class:`LogReplaced` instead.

**Checkpoint policy.** A passive checkpoint (it never waits for anyone: readers keep
reading) copies the log into the database file soon after every commit, so a confirmed
decision is in the log alone for a fraction of a second; losing or replacing ``-wal`` after
that costs nothing. In the review app (``background_checkpoints``) a thread with its own
connection does it :data:`CHECKPOINT_DELAY_S` after the commit, so the annotator never waits
for the two ``fsync`` calls it takes, and tries again at that pace while another process's
read holds it back. Batch commands checkpoint in the committing call, at most once every
:data:`CHECKPOINT_INTERVAL_S`, and when they finish (their PDF workers start by ``fork``,
which is only safe with no other thread). The figures are in the README.
"""

from __future__ import annotations

import contextlib
import errno
import os
import random
import sqlite3
import stat
import threading
import time
import urllib.parse
from collections.abc import Iterator
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path

from sqlite_utils import Database

from storage.errors import GoldsmithError
from storage.migrations import MIGRATIONS, known_migrations

DEFAULT_DB = "goldsmith.db"
BUSY_TIMEOUT_S = 10.0
"""How long one statement waits for another writer before SQLite reports the file busy."""
WRITE_ATTEMPTS = 4
"""Attempts to take the write lock (each waiting up to the busy timeout) before giving up."""
CHECKPOINT_DELAY_S = 0.25
"""How soon after a commit the background checkpoint runs (and how often it is retried while
a reader holds it back)."""
CHECKPOINT_INTERVAL_S = 1.0
"""Without a background checkpoint (batch commands): at most one checkpoint a second."""
FULL_DISK_BYTES = 1 << 20
"""Free space below which an I/O error is reported as a full disk."""

# Primary SQLite result codes (https://www.sqlite.org/rescode.html).
_SQLITE_BUSY, _SQLITE_LOCKED, _SQLITE_READONLY, _SQLITE_IOERR = 5, 6, 8, 10
_SQLITE_CORRUPT, _SQLITE_FULL, _SQLITE_CANTOPEN, _SQLITE_NOTADB = 11, 13, 14, 26
ENVIRONMENT_CODES = frozenset(
    {_SQLITE_BUSY, _SQLITE_LOCKED, _SQLITE_READONLY, _SQLITE_IOERR, _SQLITE_FULL, _SQLITE_CANTOPEN}
)
"""Failures that come from the machine (disk, permissions, other processes), not our SQL."""


class DatabaseError(GoldsmithError):
    """A database could not be opened or written, with a message fit for the user."""


class LogReplaced(DatabaseError):
    """The database's ``-wal`` file (or the database file) was removed or replaced under an
    open connection; writing on would put changes where nobody reads them."""


class Access(StrEnum):
    """What a command does with its database."""

    CREATE = "create"
    """Writes, and creates the database when there is none (``ingest``, ``import-*``)."""
    WRITE = "write"
    """Writes to an existing database (``review``, ``extract``)."""
    READ = "read"
    """Only reads (``papers``, ``export``, ``score``): a read-only file is opened read-only."""


class GoldsmithDatabase(Database):
    """A sqlite-utils ``Database`` that remembers its file and the identity of its log."""

    path: Path
    read_only: bool = False
    files: dict[str, tuple[int, int] | None]
    """``(st_dev, st_ino)`` of the database and of its ``-wal`` as this connection saw them."""
    background_checkpoints: bool = False
    """Checkpoint from a thread after each commit (the review app), not in the committing
    call (batch commands, whose PDF workers start by ``fork`` only with no other thread)."""
    checkpointed_at: float = 0.0


def default_db_path() -> Path:
    """The database the user means when they name none: ``$GOLDSMITH_DB`` or ``./goldsmith.db``."""
    return Path(os.environ.get("GOLDSMITH_DB") or DEFAULT_DB)


def now() -> str:
    """The current time as an ISO 8601 UTC timestamp with microseconds."""
    return datetime.now(UTC).isoformat(timespec="microseconds")


def open_database(
    path: str | Path,
    *,
    access: Access | str = Access.CREATE,
    migrate: bool = True,
    busy_timeout: float = BUSY_TIMEOUT_S,
) -> GoldsmithDatabase:
    """Open a goldsmith database and bring its schema up to date.

    Args:
        path: The SQLite file.
        access: Whether the caller creates, writes or only reads (see :class:`Access`).
        migrate: Apply pending migrations (an older database is upgraded in place).
        busy_timeout: Seconds a statement waits for another writer.

    Raises:
        DatabaseError: There is no database at ``path`` (unless creating), it is not a
            goldsmith database, a newer goldsmith wrote it, it is read-only and the caller
            writes, or it cannot be opened; the message says which.
    """
    path = Path(path)
    access = Access(access)
    read_only = _check_file(path, access)
    try:
        db = _connect(path, read_only, access, busy_timeout)
    except sqlite3.Error as exc:
        raise DatabaseError(describe(exc, path)) from None
    try:
        _check_schema(db, path, access, migrate)
    except BaseException as exc:
        db.close()
        if isinstance(exc, sqlite3.Error):
            raise DatabaseError(describe(exc, path)) from None
        raise
    return db


def _check_file(path: Path, access: Access) -> bool:
    """Whether to open ``path`` read-only; refuse what cannot be opened as asked."""
    try:
        info = path.stat()
    except FileNotFoundError:
        if access is not Access.CREATE:
            raise DatabaseError(
                f"no goldsmith database at {path} (create one with goldsmith ingest)"
            ) from None
        if not path.parent.is_dir():
            raise DatabaseError(
                f"{path}: cannot create the database: no folder {path.parent}"
            ) from None
        return False
    except OSError as exc:
        raise DatabaseError(f"{path}: cannot open the database ({exc.strerror})") from None
    if stat.S_ISDIR(info.st_mode):
        raise DatabaseError(f"{path}: is a directory, not a database file")
    if not stat.S_ISREG(info.st_mode):
        raise DatabaseError(f"{path}: not a regular file, so not a goldsmith database")
    if info.st_size == 0 and access is not Access.CREATE:
        # Said before connecting: switching an empty file to WAL mode writes its header.
        raise DatabaseError(
            f"no goldsmith database at {path} (the file is empty; create one with goldsmith ingest)"
        )
    why = read_only_reason(path)
    if why is None:
        return False
    if access is Access.READ:
        return True
    raise DatabaseError(f"{path}: the database is read-only ({why}); this command writes to it")


def read_only_reason(path: Path) -> str | None:
    """Why this process cannot write ``path`` and its ``-wal``/``-shm`` beside it, or None."""
    folder = path.parent
    try:
        if os.statvfs(folder).f_flag & os.ST_RDONLY:
            return "it is on a read-only file system"
    except OSError:
        pass
    if not os.access(path, os.W_OK):
        return "no permission to write the file"
    if not os.access(folder, os.W_OK | os.X_OK) and not all(
        os.access(f"{path}{suffix}", os.W_OK) for suffix in ("-wal", "-shm")
    ):
        return f"no permission to write in {folder}, where its log goes"
    return None


def _uri(path: Path, mode: str, immutable: bool = False) -> str:
    uri = f"file:{urllib.parse.quote(str(path.absolute()))}?mode={mode}"
    return uri + "&immutable=1" if immutable else uri


def _connect(path: Path, read_only: bool, access: Access, busy_timeout: float) -> GoldsmithDatabase:
    mode = "ro" if read_only else ("rwc" if access is Access.CREATE else "rw")
    conn = sqlite3.connect(_uri(path, mode), uri=True, timeout=busy_timeout)
    if read_only:
        try:
            conn.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
        except sqlite3.OperationalError as exc:
            # A WAL database in a folder we cannot write has no -shm to share with writers;
            # with no -wal either, nobody can be writing it, so its file is all there is.
            if (
                getattr(exc, "sqlite_errorcode", 0) & 0xFF != _SQLITE_CANTOPEN
                or Path(f"{path}-wal").exists()
            ):
                conn.close()
                raise
            conn.close()
            conn = sqlite3.connect(_uri(path, "ro", immutable=True), uri=True)
    db = GoldsmithDatabase(conn)
    db.path = path
    db.read_only = read_only
    db.files = {"db": None, "wal": None}
    db.execute(f"PRAGMA busy_timeout={int(busy_timeout * 1000)}")
    db.execute("PRAGMA foreign_keys=ON")
    if read_only:
        db.execute("PRAGMA query_only=ON")
        return db
    # WAL lets readers (annotators browsing) proceed while a writer commits; FULL sync
    # makes each committed decision survive a power cut, not only a process crash.
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    db.files = {"db": _identity(path), "wal": _identity(Path(f"{path}-wal"))}
    return db


def _check_schema(db: GoldsmithDatabase, path: Path, access: Access, migrate: bool) -> None:
    """Refuse a database that is not goldsmith's or is newer than us; upgrade an older one."""
    known = known_migrations()
    applied = [m.name for m in MIGRATIONS.applied(db)]
    newer = [name for name in applied if name not in known]
    if newer:
        raise DatabaseError(
            f"{path} was written by a newer goldsmith (migration {newer[0]}); upgrade goldsmith"
        )
    if not applied:
        tables = [name for name in db.table_names() if not name.startswith("sqlite_")]
        if tables:
            raise DatabaseError(
                f"{path}: not a goldsmith database (a SQLite database with other tables: "
                f"{', '.join(tables[:3])})"
            )
        if access is not Access.CREATE:
            raise DatabaseError(
                f"no goldsmith database at {path} (the file is empty; "
                "create one with goldsmith ingest)"
            )
    pending = [name for name in known if name not in applied]
    if not (migrate and pending):
        return
    if db.read_only:
        raise DatabaseError(
            f"{path} needs upgrading to this goldsmith's schema (migration {pending[0]}), "
            "and it is read-only: open it once with write access"
        )
    with _locked(db):
        MIGRATIONS.apply(db)


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        info = os.stat(path)
    except FileNotFoundError:
        return None
    return info.st_dev, info.st_ino


def describe(exc: sqlite3.Error, path: Path | str) -> str:
    """A one-line message for the user about a failure of SQLite on ``path``."""
    code = getattr(exc, "sqlite_errorcode", None)
    primary = code & 0xFF if isinstance(code, int) else None
    if primary == _SQLITE_FULL or (primary == _SQLITE_IOERR and disk_is_full(path)):
        return f"{path}: disk full (free some space, then try again)"
    if primary == _SQLITE_READONLY:
        why = read_only_reason(Path(path)) or "SQLite was refused write access"
        return f"{path}: the database is read-only ({why})"
    if primary in (_SQLITE_NOTADB, _SQLITE_CORRUPT):
        return f"{path}: not a goldsmith database ({exc})"
    if primary in (_SQLITE_BUSY, _SQLITE_LOCKED):
        return f"{path}: the database stayed locked by another process; try again"
    if primary == _SQLITE_CANTOPEN:
        return f"{path}: cannot open the database file or its log"
    if primary == _SQLITE_IOERR:
        return f"{path}: disk I/O error ({getattr(exc, 'sqlite_errorname', exc)})"
    return f"{path}: {exc}"


def disk_is_full(path: Path | str) -> bool:
    """Whether the file system holding ``path`` has (next to) no space left."""
    try:
        info = os.statvfs(Path(path).parent)
    except OSError:
        return False
    return info.f_bavail * info.f_frsize < FULL_DISK_BYTES


def is_disk_full(exc: OSError) -> bool:
    return exc.errno in (errno.ENOSPC, errno.EDQUOT)


@contextlib.contextmanager
def _locked(db: Database) -> Iterator[None]:
    """Hold the write lock while migrating, so two processes never migrate at once."""
    if db.conn.in_transaction:
        yield
        return
    _begin_immediate(db)
    try:
        yield
    except BaseException:
        db.rollback()
        raise
    else:
        db.commit()


def _begin_immediate(db: Database) -> None:
    for attempt in range(WRITE_ATTEMPTS):
        try:
            db.execute("BEGIN IMMEDIATE")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) and "busy" not in str(exc):
                raise
            if attempt == WRITE_ATTEMPTS - 1:
                raise DatabaseError(
                    "the database stayed locked by another process; try again"
                ) from exc
            time.sleep(0.05 * 2**attempt + random.random() * 0.05)


def check_log(db: Database) -> None:
    """Refuse to write when the database or its log is no longer the file this connection
    has open (removed, or replaced by a copy), rather than write where nobody will read.

    Raises:
        LogReplaced: Either file was removed or replaced.
    """
    if not isinstance(db, GoldsmithDatabase) or db.read_only:
        return
    for name, suffix in (("db", ""), ("wal", "-wal")):
        seen = db.files.get(name)
        current = _identity(Path(f"{db.path}{suffix}"))
        if seen is None:
            # The log appears with the first write to a new database: remember it then.
            db.files[name] = current
        elif current != seen:
            what = "removed" if current is None else "replaced"
            raise LogReplaced(
                f"{db.path}{suffix} was {what} by another program while goldsmith had the "
                "database open; goldsmith stopped writing so nothing more is lost (everything "
                "saved before is in the database file). Quit and open it again."
            )


def checkpoint(db: Database) -> bool:
    """Copy the log into the database file now, as far as readers allow (never waiting).

    Returns:
        Whether the whole log is now in the database file.
    """
    if isinstance(db, GoldsmithDatabase):
        if db.read_only:
            return True
        db.checkpointed_at = time.monotonic()
    try:
        return _complete(db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone())
    except sqlite3.Error:
        # The change is committed (in the log); a full disk will stop the next write anyway.
        return False


def _complete(result: tuple[int, int, int]) -> bool:
    busy, log, done = result
    return not busy and (log == -1 or done >= log)


def _after_commit(db: Database) -> None:
    """The checkpoint policy (see the module's docstring)."""
    if not isinstance(db, GoldsmithDatabase) or db.read_only:
        return
    if db.background_checkpoints:
        _checkpointer(db.path).soon()
    elif time.monotonic() - db.checkpointed_at >= CHECKPOINT_INTERVAL_S:
        if not checkpoint(db):
            db.checkpointed_at = 0.0  # held back by a reader: try again at the next commit


class _Checkpointer:
    """A thread with its own connection that checkpoints one database shortly after each
    commit (so the committing thread never waits for it) and again while readers hold it
    back; it ends when there has been nothing to do for a while."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.wanted = threading.Event()
        self.running = False
        self.lock = threading.Lock()

    def soon(self) -> None:
        with self.lock:
            self.wanted.set()
            if not self.running:
                self.running = True
                threading.Thread(target=self._run, name="goldsmith-checkpoint", daemon=True).start()

    def _run(self) -> None:
        try:
            conn = sqlite3.connect(_uri(self.path, "rw"), uri=True, timeout=0.5)
        except sqlite3.Error:
            with self.lock:
                self.running = False
            return
        try:
            while True:
                with self.lock:
                    if not self.wanted.is_set():
                        self.running = False
                        return
                time.sleep(CHECKPOINT_DELAY_S)  # one checkpoint for a burst of commits
                self.wanted.clear()
                try:
                    complete = _complete(conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone())
                except sqlite3.Error:
                    complete = False
                if not complete:
                    self.wanted.set()
        finally:
            conn.close()


_checkpointers: dict[str, _Checkpointer] = {}
_checkpointers_lock = threading.Lock()


def _checkpointer(path: Path) -> _Checkpointer:
    key = str(path.absolute())
    with _checkpointers_lock:
        if key not in _checkpointers:
            _checkpointers[key] = _Checkpointer(path)
        return _checkpointers[key]


@contextlib.contextmanager
def write(db: Database) -> Iterator[Database]:
    """A write transaction that takes the lock up front, commits on exit, then checkpoints.

    A deferred ``BEGIN`` (what ``Database.atomic`` uses) can fail with "database is locked"
    without waiting when two connections both upgrade from reading to writing; taking the
    lock at ``BEGIN IMMEDIATE`` makes SQLite wait out the busy timeout instead, and we retry
    with backoff beyond that. Nested use joins the outer transaction.

    Raises:
        LogReplaced: The database or its log was removed or replaced (nothing is written).
        DatabaseError: The disk is full, the file is read-only, or another process kept it
            locked (the transaction is rolled back).
    """
    if db.conn.in_transaction:
        with db.atomic():
            yield db
        return
    path = db.path if isinstance(db, GoldsmithDatabase) else "the database"
    try:
        _begin_immediate(db)
    except sqlite3.OperationalError as exc:
        raise _environment(exc, path) from None
    try:
        check_log(db)
        yield db
        check_log(db)
        db.commit()
    except BaseException as exc:
        with contextlib.suppress(sqlite3.Error):
            db.rollback()
        if isinstance(exc, sqlite3.OperationalError):
            raise _environment(exc, path) from None
        raise
    _after_commit(db)


def _environment(exc: sqlite3.OperationalError, path: Path | str) -> Exception:
    """The user's error for a failure caused by the machine; other failures unchanged."""
    code = getattr(exc, "sqlite_errorcode", 0) & 0xFF
    if code in ENVIRONMENT_CODES:
        return DatabaseError(describe(exc, path))
    return exc
