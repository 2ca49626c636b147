"""Crash safety: SIGKILL the review app, ingest and extract mid-work; nothing committed is
lost, the database stays consistent, and running again finishes without duplicates."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from storage import open_database
from storage import papers as paper_store
from tests.conftest import REPO, write_pdf, write_slow_pdf
from tests.fake_ollama import FakeOllama, Reply, answer, paper_text, reported
from tui.app import make_app
from tui.screens.review import ReviewScreen
from tui.widgets.status import StatusLine

ENV = {**os.environ, "PYTHONPATH": str(REPO)}


def start(*args: str, log: Path | None = None) -> subprocess.Popen[bytes]:
    """A goldsmith process (or the review driver) of its own, as a user would start it."""
    return subprocess.Popen(
        [sys.executable, "-m", *args],
        cwd=REPO,
        env=ENV,
        stdout=subprocess.DEVNULL,
        stderr=log.open("wb") if log else subprocess.DEVNULL,
    )


def wait_until(
    condition: Callable[[], bool],
    process: subprocess.Popen[bytes] | None,
    what: str,
    timeout: float = 120,
) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert process is None or process.poll() is None, f"the process ended before {what}"
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def kill(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGKILL)
    assert process.wait(timeout=30) == -signal.SIGKILL


def processes_mentioning(text: str) -> list[int]:
    """Live processes whose command line mentions ``text`` (PDF workers left behind)."""
    found = []
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            cmdline = (entry / "cmdline").read_bytes()
            state = (entry / "stat").read_text().split(") ")[1][0]
        except OSError:
            continue
        if text.encode() in cmdline and state != "Z":
            found.append(int(entry.name))
    return found


def log_entries(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.endswith("}")]


def count(db_path: Path, sql: str, params: list[object] | None = None) -> int:
    db = Database(db_path)
    try:
        return int(db.execute(sql, params or []).fetchone()[0])
    finally:
        db.close()


def integrity_ok(db_path: Path) -> bool:
    db = Database(db_path)
    try:
        return [tuple(r) for r in db.execute("PRAGMA integrity_check")] == [("ok",)]
    finally:
        db.close()


async def test_killing_the_review_app_keeps_every_decision(sample_db: Path, tmp_path: Path) -> None:
    log = tmp_path / "alice.log"
    driver = start("tests.review_driver", str(sample_db), "alice", str(log), "script")
    try:
        wait_until(
            lambda: any(e["op"] == "ready" for e in log_entries(log)), driver, "the keys ran"
        )
        kill(driver)  # right after the last key: no chance to flush or close anything
    finally:
        driver.kill()
    entries = log_entries(log)
    recorded = [u for e in entries if e["op"] == "recorded" for u in e["uuids"]]
    undone = {u for e in entries if e["op"] == "undone" for u in e["uuids"]}
    assert len(recorded) == 16 and len(undone) == 1
    assert not [e for e in entries if e.get("severity") == "error"]

    assert integrity_ok(sample_db)
    db = open_database(sample_db)
    stored = {row["uuid"]: row for row in db.query("SELECT * FROM decisions")}
    assert set(recorded) <= set(stored), "every decision the app was told is stored survives"
    assert {r["undoes"] for r in stored.values() if r["verdict"] == "undone"} == undone
    assert len(stored) == len(recorded) + len(undone)
    in_effect = {r["decision_uuid"] for r in db.query("SELECT decision_uuid FROM decision_state")}
    assert in_effect == set(recorded) - undone
    assert [r["comment"] for r in stored.values() if r["verdict"] == "ambiguous"] == ["unclear"]
    db.close()

    # Restarting: the same decisions are shown, and review resumes where it stopped.
    app = make_app(sample_db, "alice")
    async with app.run_test(size=(160, 45)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, ReviewScreen) and screen.view is not None
        status = str(screen.query_one(StatusLine).render())
        assert "papers 1/6 done" in status and "this paper 3/12 decided" in status
        decided = {row.spec.name: row.decision for row in screen.view.fields if row.decision}
        assert {d.uuid for d in decided.values()} <= in_effect
        assert decided["accelerator_memory_gb"].verdict == "ambiguous"
        assert screen.current is not None and screen.current.decision is None


def test_killing_ingest_mid_run_leaves_a_consistent_database(tmp_path: Path) -> None:
    folder = tmp_path / "pdfs"
    names = []
    for number in range(16):
        path = folder / f"paper_{number:02}.pdf"
        if number % 2:
            folder.mkdir(exist_ok=True)
            write_slow_pdf(path, operations=1_500_000)
        else:
            write_pdf(path, [f"Paper number {number} uniqueword{number}", "Second page."])
        names.append(path.name)
    db_path = tmp_path / "ingest.db"
    open_database(db_path).close()
    ingest = start("tui", "--db", str(db_path), "ingest", "--jobs", "1", str(folder))
    try:
        wait_until(
            lambda: count(db_path, "SELECT COUNT(*) FROM papers") >= 4, ingest, "4 papers landed"
        )
        kill(ingest)
        wait_until(lambda: not processes_mentioning(str(db_path)), None, "workers to exit", 20)
    finally:
        ingest.kill()
    landed = count(db_path, "SELECT COUNT(*) FROM papers")
    assert 4 <= landed < 16, "killed mid-run"

    def consistent() -> None:
        assert integrity_ok(db_path)
        assert not count(
            db_path,
            "SELECT COUNT(*) FROM papers"
            " WHERE pages != (SELECT COUNT(*) FROM pages WHERE paper_id = papers.id)",
        ), "every paper has all its pages"
        assert count(db_path, "SELECT COUNT(*) FROM pages_fts_docsize") == count(
            db_path, "SELECT COUNT(*) FROM pages"
        ), "every page is in the search index"
        db = open_database(db_path)
        for row in db.query("SELECT file FROM papers WHERE file LIKE 'paper_%'"):
            number = int(row["file"][6:8])
            if number % 2 == 0:
                hits = paper_store.search(db, f"uniqueword{number}")
                assert len(hits) == 1, row["file"]
        db.close()

    consistent()
    finished = subprocess.run(
        [sys.executable, "-m", "tui", "--db", str(db_path), "ingest", "--jobs", "1", str(folder)],
        cwd=REPO,
        env=ENV,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert finished.returncode == 0, finished.stderr
    consistent()
    assert count(db_path, "SELECT COUNT(*) FROM papers") == 16
    assert count(db_path, "SELECT COUNT(DISTINCT sha256) FROM papers") == 16
    assert count(db_path, "SELECT COUNT(*) FROM pages") == 8 * 2 + 8 * 1
    assert f"ingested {16 - landed}, already present {landed}, failed 0" in finished.stdout


def test_killing_extract_mid_run_then_resuming_adds_no_duplicates(
    tmp_path: Path, fake_ollama: FakeOllama
) -> None:
    folder = tmp_path / "pdfs"
    for number in range(12):
        write_pdf(
            folder / f"paper_{number:02}.pdf",
            [f"Paper {number}. All models were trained on {number + 1} NVIDIA A100 GPUs."],
        )
    db_path = tmp_path / "extract.db"
    from extraction.pdf.ingest import find_pdfs
    from extraction.pdf.ingest import ingest as ingest_pdfs

    db = open_database(db_path)
    found, _ = find_pdfs([folder])
    assert len(list(ingest_pdfs(db, found, processes=1))) == 12
    db.close()

    def reply(body: dict[str, Any], n: int) -> Reply:
        text = paper_text(body)
        count = int(text.split("trained on ")[1].split()[0])
        quote = f"trained on {count} NVIDIA A100 GPUs"
        return Reply.json(
            answer(
                accelerator_type=reported("NVIDIA A100", 1, quote),
                accelerator_count=reported(count, 1, quote),
            ),
            delay=0.4,
        )

    fake_ollama.reply = reply
    extract = ["tui", "--db", str(db_path), "extract", "--host", fake_ollama.url]
    first = start(*extract, "--concurrency", "2")
    try:
        wait_until(
            lambda: count(db_path, "SELECT COUNT(*) FROM run_papers") >= 3, first, "3 papers"
        )
        kill(first)
    finally:
        first.kill()
    done = count(db_path, "SELECT COUNT(*) FROM run_papers")
    assert 3 <= done < 12
    assert integrity_ok(db_path)
    per_paper = "SELECT COUNT(*) FROM (SELECT paper_id FROM proposals GROUP BY paper_id HAVING {})"
    assert count(db_path, per_paper.format("COUNT(*) != 12")) == 0, "papers are whole or absent"
    assert count(db_path, "SELECT COUNT(DISTINCT paper_id) FROM proposals") == done
    db = Database(db_path)
    sql = "SELECT value FROM proposals WHERE field = 'accelerator_count'"
    finished = {int(value) for (value,) in db.execute(sql).fetchall()}
    db.close()
    assert len(finished) == done
    asked_before = len(fake_ollama.chats)

    second = subprocess.run(
        [sys.executable, "-m", *extract],
        cwd=REPO,
        env=ENV,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert second.returncode == 0, second.stderr
    # Which papers the second run asked for (each paper states its own GPU count). A request
    # of the killed run can still reach the server late (it was in the listen queue), so
    # requests are matched to papers rather than counted.
    asked = {
        int(paper_text(body).split("trained on ")[1].split()[0])
        for body in fake_ollama.chats[asked_before:]
    }
    assert not asked & finished, "finished papers are not asked again"
    assert len(asked) == 12 - done and len(fake_ollama.chats) - asked_before <= 12 - done + 2
    assert count(db_path, "SELECT COUNT(*) FROM runs") == 1
    assert count(db_path, "SELECT COUNT(*) FROM run_papers") == 12
    assert count(db_path, "SELECT COUNT(*) FROM proposals") == 12 * 12
    assert count(db_path, per_paper.format("COUNT(*) != 12")) == 0
    assert (
        count(
            db_path,
            "SELECT COUNT(*) FROM proposals"
            " WHERE field = 'accelerator_count' AND grounding = 'exact'",
        )
        == 12
    )
    assert integrity_ok(db_path)
