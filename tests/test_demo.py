"""`goldsmith demo` on a terminal of its own, as a new user runs it."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from storage import open_database
from tests.cli_process import Terminal


def test_the_demo_says_where_its_database_is_and_keeps_it() -> None:
    terminal = Terminal("demo", "--annotator", "newcomer", size=(100, 30))
    try:
        assert terminal.wait_for("Demo database:"), terminal.text[-2000:]
        assert terminal.wait_for("papers 0/6 done"), terminal.text[-2000:]
        terminal.type("a")  # one decision, then quit
        terminal.read(1.0)
        terminal.type("q")
        assert terminal.wait_for("(kept; try"), terminal.text[-2000:]
    finally:
        code = terminal.close()
    assert code == 0, terminal.text[-2000:]
    found = re.search(r"demo database: (\S+demo\.db) \(kept", terminal.text)
    assert found, terminal.text[-2000:]
    path = Path(found.group(1))
    try:
        db = open_database(path)
        assert db.execute("SELECT COUNT(*) FROM papers").fetchone()[0] == 6
        assert db.execute("SELECT annotator FROM decisions").fetchall() == [("newcomer",)]
        db.close()
    finally:
        shutil.rmtree(path.parent, ignore_errors=True)
