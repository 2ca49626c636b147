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


class Terminal:
    """``goldsmith ARGS...`` on a pseudo-terminal of its own, as a user at a keyboard runs it:
    keys are typed into it and what it draws is read back (escape sequences removed)."""

    def __init__(
        self,
        *args: str | Path,
        env: dict[str, str] | None = None,
        size: tuple[int, int] = (120, 40),
    ) -> None:
        import fcntl
        import pty
        import struct
        import termios

        self.master, slave = pty.openpty()
        columns, lines = size
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", lines, columns, 0, 0))
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tui", *map(str, args)],
            cwd=REPO,
            env={**ENV, "TERM": "xterm-256color", **(env or {})},
            stdin=slave,
            stdout=slave,
            stderr=slave,
            start_new_session=True,
        )
        os.close(slave)
        self.output = b""

    def read(self, seconds: float) -> None:
        import select
        import time

        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            ready, _, _ = select.select([self.master], [], [], left)
            if not ready:
                continue
            try:
                chunk = os.read(self.master, 65536)
            except OSError:  # the process ended
                return
            if not chunk:
                return
            self.output += chunk

    @property
    def text(self) -> str:
        """Everything drawn so far, escape sequences removed, line breaks kept."""
        import re

        raw = self.output.decode("utf-8", "replace")
        raw = re.sub(r"\x1b\[[0-9;?]*[ -/]*[@-~]", " ", raw)
        raw = re.sub(r"\x1b\][^\x07\x1b]*(\x07|\x1b\\\\)", "", raw)
        return re.sub(r"\x1b.", "", raw)

    def wait_for(self, text: str, seconds: float = 30) -> bool:
        import time

        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.shows(text):
                return True
            if self.process.poll() is not None:
                self.read(0.2)
                return self.shows(text)
            self.read(0.2)
        return False

    def shows(self, text: str) -> bool:
        """Whether ``text`` was drawn (compared without spaces and borders: a notification
        wraps inside its frame)."""
        import re

        def squeeze(drawn: str) -> str:
            return re.sub(r"[\s\u2500-\u259f]", "", drawn)

        return squeeze(text) in squeeze(self.text)

    def type(self, keys: str) -> None:
        os.write(self.master, keys.encode())

    def close(self, timeout: float = 20) -> int:
        """Wait for the process to end (killing it after ``timeout``); its exit code."""
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait()
        finally:
            os.close(self.master)
