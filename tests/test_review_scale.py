"""The review app opens on 100,000 papers doing the same work as on 10."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

from storage import open_database
from tui.app import make_app


def bulk_papers(path: Path, count: int) -> None:
    """``count`` papers with one page each, inserted straight through SQL (fast)."""
    db = open_database(path)
    rows = []
    for number in range(count):
        sha = hashlib.sha256(f"paper {number}".encode()).hexdigest()
        rows.append((sha[:16], sha, f"p{number}.pdf", None, f"Paper number {number}", 1, "2025"))
    with db.conn:
        db.conn.executemany(
            "INSERT INTO papers (id, sha256, file, path, title, pages, added_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
        db.conn.executemany(
            "INSERT INTO pages (paper_id, page, text) VALUES (?, 1, 'We trained on 8 GPUs.')",
            [(r[0],) for r in rows],
        )
    db.close()


async def steps_to_open(path: Path) -> int:
    """SQLite virtual-machine steps the app's own connection takes to open."""
    app = make_app(path, "alice")
    steps = 0

    def count() -> int:
        nonlocal steps
        steps += 1
        return 0

    conn: sqlite3.Connection = app.session.db.conn
    conn.set_progress_handler(count, 1)
    async with app.run_test(size=(160, 45)) as pilot:
        await pilot.pause()
        assert app.screen.view is not None  # type: ignore[attr-defined]
        conn.set_progress_handler(None, 0)
        await app.workers.wait_for_complete()
    return steps


async def test_the_queue_opens_on_100k_papers_without_reading_them_all(tmp_path: Path) -> None:
    small, large = tmp_path / "small.db", tmp_path / "large.db"
    bulk_papers(small, 100)  # enough to fill the queue's window, as the large one does
    bulk_papers(large, 100_000)
    small_steps = await steps_to_open(small)
    large_steps = await steps_to_open(large)
    # Reading 100,000 rows takes millions of steps; a window of rows a few thousand, however
    # many papers there are.
    assert small_steps > 0
    assert large_steps <= 1.5 * small_steps, (small_steps, large_steps)
