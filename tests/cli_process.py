"""Running the real ``goldsmith`` command in a process of its own, as a user would, and
reading a database without writing to it (so a check never changes what it checks)."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from tests.conftest import REPO

ENV = {**os.environ, "PYTHONPATH": str(REPO), "GOLDSMITH_DEBUG": ""}


@dataclass(frozen=True)
class Finished:
    code: int
    out: str
    err: str

    @property
    def error_lines(self) -> list[str]:
        return self.err.strip().splitlines()


def goldsmith(
    *args: str | Path,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    stdin: int | None = subprocess.DEVNULL,
    timeout: float = 60,
    wrapper: list[str] | None = None,
) -> Finished:
    """``goldsmith ARGS...`` (``python -m tui``) in a new process; its exit code and output.

    Args:
        wrapper: A command to run it under (``unshare``, ``sh -c``...), which must end with
            the arguments it passes on.
    """
    command = [*(wrapper or []), sys.executable, "-m", "tui", *map(str, args)]
    result = subprocess.run(
        command,
        cwd=cwd or REPO,
        env={**ENV, **(env or {})},
        stdin=stdin,
        capture_output=True,
        timeout=timeout,
    )
    return Finished(
        result.returncode,
        result.stdout.decode("utf-8", "replace"),
        result.stderr.decode("utf-8", "replace"),
    )


def table_counts(db_path: Path) -> dict[str, int]:
    """Rows in every table, read without writing: a refused command must change none."""
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        names = [
            row[0]
            for row in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' "
                "AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '%_fts%'"
            )
        ]
        return {
            name: conn.execute(f'SELECT COUNT(*) FROM "{name}"').fetchone()[0] for name in names
        }
    finally:
        conn.close()


def leftovers(folder: Path) -> list[str]:
    """Hidden temporary files an export may have left in ``folder``."""
    return sorted(
        p.name for p in folder.iterdir() if p.name.startswith(".") and "goldsmith" in p.name
    )
