"""Opening the goldsmith database and writing to it safely.

One SQLite file is shared by several annotators and an extraction run, so every connection
uses WAL mode and a busy timeout, and every write goes through :func:`write`, which takes
the write lock up front (``BEGIN IMMEDIATE``) and retries with backoff while another process
holds it.
"""

from __future__ import annotations

import contextlib
import os
import random
import sqlite3
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from sqlite_utils import Database

from storage.migrations import MIGRATIONS

DEFAULT_DB = "goldsmith.db"
BUSY_TIMEOUT_S = 10.0
"""How long one statement waits for another writer before SQLite reports the file busy."""
WRITE_ATTEMPTS = 4
"""Attempts to take the write lock (each waiting up to the busy timeout) before giving up."""


class DatabaseError(Exception):
    """A database could not be opened or written, with a message fit for the user."""


def default_db_path() -> Path:
    """The database the user means when they name none: ``$GOLDSMITH_DB`` or ``./goldsmith.db``."""
    return Path(os.environ.get("GOLDSMITH_DB") or DEFAULT_DB)


def now() -> str:
    """The current time as an ISO 8601 UTC timestamp with microseconds."""
    return datetime.now(UTC).isoformat(timespec="microseconds")


def open_database(
    path: str | Path, *, migrate: bool = True, busy_timeout: float = BUSY_TIMEOUT_S
) -> Database:
    """Open (creating if needed) a goldsmith database and bring its schema up to date.

    Args:
        path: The SQLite file.
        migrate: Apply pending migrations (an older database is upgraded in place).
        busy_timeout: Seconds a statement waits for another writer.

    Raises:
        DatabaseError: The file is not a SQLite database or cannot be opened.
    """
    path = Path(path)
    if path.is_dir():
        raise DatabaseError(f"{path}: is a directory, not a database file")
    try:
        conn = sqlite3.connect(str(path), timeout=busy_timeout)
        db = Database(conn)
        # WAL lets readers (annotators browsing) proceed while a writer commits; FULL sync
        # makes each committed decision survive a power cut, not only a process crash.
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=FULL")
        db.execute("PRAGMA foreign_keys=ON")
        db.execute(f"PRAGMA busy_timeout={int(busy_timeout * 1000)}")
        if migrate:
            with _locked(db):
                MIGRATIONS.apply(db)
    except sqlite3.DatabaseError as exc:
        raise DatabaseError(f"{path}: not a goldsmith database ({exc})") from exc
    return db


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


@contextlib.contextmanager
def write(db: Database) -> Iterator[Database]:
    """A write transaction that takes the lock up front and commits on exit.

    A deferred ``BEGIN`` (what ``Database.atomic`` uses) can fail with "database is locked"
    without waiting when two connections both upgrade from reading to writing; taking the
    lock at ``BEGIN IMMEDIATE`` makes SQLite wait out the busy timeout instead, and we retry
    with backoff beyond that. Nested use joins the outer transaction.
    """
    if db.conn.in_transaction:
        with db.atomic():
            yield db
        return
    _begin_immediate(db)
    try:
        yield db
    except BaseException:
        db.rollback()
        raise
    else:
        db.commit()
