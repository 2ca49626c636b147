"""Two annotators and an extraction run write one database at once, each in its own process.

The annotators are the real review app driven by random keys (tests/review_driver.py); the
extraction is the real ``goldsmith extract`` against a fake Ollama. Runs for
``$GOLDSMITH_STRESS_SECONDS`` (default 20, which keeps the suite short; set 600 for a soak).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from extraction.pdf.ingest import find_pdfs, ingest
from storage import open_database
from tests.conftest import REPO, write_pdf
from tests.fake_ollama import FakeOllama, Reply, answer, paper_text, reported
from tests.test_crash_safety import ENV, log_entries

SECONDS = float(os.environ.get("GOLDSMITH_STRESS_SECONDS", "20"))
EXTRA_PAPERS = 40
ANNOTATORS = ("alice", "bob")


def expected_state(db: Database, entries: list[dict[str, Any]]) -> dict[tuple[str, str], str]:
    """Replay one annotator's log: the decision in effect for each (paper, field)."""
    where = {
        row["uuid"]: (row["paper_id"], row["field"])
        for row in db.query("SELECT uuid, paper_id, field FROM decisions")
    }
    stacks: dict[tuple[str, str], list[str]] = defaultdict(list)
    for entry in entries:
        for uuid in entry.get("uuids", []):
            if entry["op"] == "recorded":
                stacks[where[uuid]].append(uuid)
            elif entry["op"] == "undone":
                stacks[where[uuid]].remove(uuid)
    return {key: stack[-1] for key, stack in stacks.items() if stack}


def test_two_annotators_and_an_extraction_share_the_database(
    sample_db: Path, tmp_path: Path, fake_ollama: FakeOllama
) -> None:
    folder = tmp_path / "more"
    for number in range(EXTRA_PAPERS):
        write_pdf(
            folder / f"extra_{number:02}.pdf",
            [f"Extra paper {number}. We trained on {number + 1} NVIDIA V100 GPUs for 2 days."],
        )
    db = open_database(sample_db)
    found, _ = find_pdfs([folder])
    assert len(list(ingest(db, found, processes=1))) == EXTRA_PAPERS
    papers = db.execute("SELECT COUNT(*) FROM papers").fetchone()[0]
    db.close()

    def reply(body: dict[str, Any], n: int) -> Reply:
        text = paper_text(body)
        quote = "NVIDIA V100 GPUs" if "V100" in text else None
        fields = {"accelerator_type": reported("NVIDIA V100", 1, quote)} if quote else {}
        return Reply.json(answer(**fields))

    fake_ollama.reply = reply
    logs = {name: tmp_path / f"{name}.log" for name in ANNOTATORS}
    drivers = {
        name: subprocess.Popen(
            [sys.executable, "-m", "tests.review_driver", str(sample_db), name, str(logs[name])]
            + ["random", "--seconds", str(SECONDS), "--seed", str(seed), "--run", "sample-llm"],
            cwd=REPO,
            env=ENV,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for seed, name in enumerate(ANNOTATORS)
    }
    # Extraction runs back to back for as long as the annotators work: a steady stream of
    # write transactions (one per paper) against theirs.
    runs = []
    while any(d.poll() is None for d in drivers.values()):
        runs.append(f"stress-{len(runs) + 1}")
        extract = subprocess.run(
            [sys.executable, "-m", "tui", "--db", str(sample_db), "extract"]
            + ["--host", fake_ollama.url, "--concurrency", "4", "--run", runs[-1]],
            cwd=REPO,
            env=ENV,
            capture_output=True,
            text=True,
            timeout=SECONDS * 3 + 120,
        )
        assert extract.returncode == 0, extract.stderr
        assert "locked" not in extract.stderr.lower() and "error" not in extract.stderr.lower()
    outputs = {name: d.communicate(timeout=SECONDS + 180) for name, d in drivers.items()}
    assert len(runs) >= 2

    for name, driver in drivers.items():
        assert driver.returncode == 0, outputs[name][1]
        assert "locked" not in outputs[name][1].lower()

    db = open_database(sample_db)
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    for run in runs:
        run_id = db.execute("SELECT id FROM runs WHERE name = ?", [run]).fetchone()[0]
        finished = "SELECT COUNT(*) FROM run_papers WHERE run_id = ? AND status = 'done'"
        assert db.execute(finished, [run_id]).fetchone()[0] == papers
        proposed = "SELECT COUNT(*) FROM proposals WHERE run_id = ?"
        assert db.execute(proposed, [run_id]).fetchone()[0] == papers * 12

    total = 0
    for name in ANNOTATORS:
        entries = log_entries(logs[name])
        assert entries[-1]["op"] == "done", f"{name}'s session did not finish"
        refused = [e for e in entries if e["op"] == "notice" and e["severity"] == "error"]
        assert not refused, f"{name} was shown {refused[:3]}"
        recorded = [u for e in entries if e["op"] == "recorded" for u in e["uuids"]]
        undone = [u for e in entries if e["op"] == "undone" for u in e["uuids"]]
        assert len(recorded) >= min(SECONDS, 60) / 2, f"{name} decided too little to test anything"
        assert undone, f"{name} never undid"
        stored = {
            row["uuid"]: row["verdict"]
            for row in db.query("SELECT uuid, verdict FROM decisions WHERE annotator = ?", [name])
        }
        assert set(recorded) <= set(stored), "no decision lost"
        assert sorted(
            row["undoes"]
            for row in db.query(
                "SELECT undoes FROM decisions WHERE annotator = ? AND verdict = 'undone'", [name]
            )
        ) == sorted(undone)
        assert len(stored) == len(recorded) + len(undone), "nothing stored the app did not say"
        state = {
            (row["paper_id"], row["field"]): row["decision_uuid"]
            for row in db.query(
                "SELECT paper_id, field, decision_uuid FROM decision_state WHERE annotator = ?",
                [name],
            )
        }
        assert state == expected_state(db, entries)
        total += len(stored)
    assert db.execute("SELECT COUNT(*) FROM decisions").fetchone()[0] == total
    db.close()
