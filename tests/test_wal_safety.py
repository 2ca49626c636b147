"""The log stays ours: a decision is copied from ``-wal`` into the database file within a
fraction of a second, so removing the log loses nothing confirmed; and once the log was
removed or replaced under an open connection, goldsmith refuses to write (saying why)
instead of writing where nobody will read."""

from __future__ import annotations

import asyncio
import os
import shutil
import sqlite3
import time
from pathlib import Path

import pytest

from storage import LogReplaced, open_database
from storage import decisions as decision_store
from storage.decisions import NewDecision
from tests.test_crash_safety import kill, log_entries, start, wait_until
from tui.app import make_app
from tui.screens.review import ReviewScreen


def decisions_in_the_file_alone(db_path: Path, folder: Path) -> set[str]:
    """The decisions the database file holds without its log (a copy of the file only)."""
    copy = folder / "alone.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{copy}{suffix}").unlink(missing_ok=True)
    shutil.copyfile(db_path, copy)
    conn = sqlite3.connect(copy)
    try:
        return {row[0] for row in conn.execute("SELECT uuid FROM decisions")}
    finally:
        conn.close()


def first_paper(db_path: Path) -> str:
    conn = sqlite3.connect(db_path)
    try:
        return str(conn.execute("SELECT id FROM papers ORDER BY id LIMIT 1").fetchone()[0])
    finally:
        conn.close()


def decide(db: object, paper: str, hours: float) -> str:
    new = NewDecision(paper, "gpu_hours", "corrected", "reported", value=hours, page=1)
    return decision_store.record(db, [new], annotator="alice")[0].uuid  # type: ignore[arg-type]


@pytest.mark.parametrize("background", [True, False], ids=["review app", "batch command"])
def test_a_decision_reaches_the_database_file_within_a_second(
    background: bool, sample_db: Path, tmp_path: Path
) -> None:
    paper = first_paper(sample_db)
    db = open_database(sample_db)
    db.background_checkpoints = background
    reader = open_database(sample_db)  # another annotator, in the middle of a read
    reading = reader.conn.execute("SELECT * FROM pages")
    reading.fetchone()
    try:
        uuid = decide(db, paper, 1.0)
        assert uuid not in decisions_in_the_file_alone(sample_db, tmp_path), (
            "the reader holds the checkpoint back for now"
        )
        reading.close()
        reader.conn.commit()
        if not background:
            time.sleep(1.0)  # batch commands checkpoint at most once a second
            decide(db, paper, 2.0)
        deadline = time.monotonic() + 3
        while uuid not in decisions_in_the_file_alone(sample_db, tmp_path):
            assert time.monotonic() < deadline, "still only in the log after 3 s"
            time.sleep(0.05)
    finally:
        reader.close()
        db.close()


@pytest.mark.parametrize("how", ["removed", "replaced"])
def test_writing_stops_when_the_log_was_removed_or_replaced(
    how: str, sample_db: Path, tmp_path: Path
) -> None:
    paper = first_paper(sample_db)
    db = open_database(sample_db)
    try:
        kept = decide(db, paper, 1.0)
        wal = Path(f"{sample_db}-wal")
        if how == "removed":
            wal.unlink()
        else:
            shutil.copyfile(wal, tmp_path / "copy")
            os.replace(tmp_path / "copy", wal)  # same bytes, another file
        with pytest.raises(LogReplaced) as refused:
            decide(db, paper, 2.0)
        assert str(refused.value) == (
            f"{sample_db}-wal was {how} by another program while goldsmith had the database "
            "open; goldsmith stopped writing so nothing more is lost (everything saved before "
            "is in the database file). Quit and open it again."
        )
        with pytest.raises(LogReplaced):
            decide(db, paper, 3.0)  # and it stays stopped
    finally:
        db.close()
    again = open_database(sample_db)
    try:
        stored = [
            r["uuid"]
            for r in again.query("SELECT uuid FROM decisions WHERE annotator = ?", ["alice"])
        ]
    finally:
        again.close()
    assert stored == [kept], "what was confirmed survives; nothing after it was written"


async def test_the_app_says_why_it_stopped_saving(sample_db: Path, tmp_path: Path) -> None:
    app = make_app(sample_db, "alice")
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, ReviewScreen)
        await pilot.press("a")
        await pilot.pause()
        deadline = time.monotonic() + 3
        while not decisions_in_the_file_alone(sample_db, tmp_path):
            assert time.monotonic() < deadline, "the decision is still only in the log"
            await asyncio.sleep(0.05)
        Path(f"{sample_db}-wal").unlink()
        await pilot.press("a")
        await pilot.pause()
        shown = [n.message for n in app._notifications]
        assert any(
            m.startswith(f"Not saved: {sample_db}-wal was removed by another program")
            for m in shown
        ), shown
        assert app.is_running
    conn = sqlite3.connect(sample_db)
    assert conn.execute("SELECT COUNT(*) FROM decisions").fetchone()[0] == 1
    conn.close()


def test_removing_the_log_then_killing_the_app_loses_no_confirmed_decision(
    sample_db: Path, tmp_path: Path
) -> None:
    log = tmp_path / "alice.log"
    driver = start("tests.review_driver", str(sample_db), "alice", str(log), "script")
    try:
        wait_until(
            lambda: any(e["op"] == "ready" for e in log_entries(log)), driver, "the keys ran"
        )
        time.sleep(1.0)  # well past the checkpoint that follows each decision
        Path(f"{sample_db}-wal").unlink()
        kill(driver)
    finally:
        driver.kill()
    recorded = {u for e in log_entries(log) if e["op"] == "recorded" for u in e["uuids"]}
    assert len(recorded) == 16
    assert recorded <= decisions_in_the_file_alone(sample_db, tmp_path)
