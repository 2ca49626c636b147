"""Opening a database made before the openai engine (migrations up to m007) upgrades it:
``runs`` is made again with the wider engine check, keeping every row, id and reference."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from sqlite_utils import Database

from storage import open_database
from storage import runs as run_store
from storage.migrations import MIGRATIONS


def m007_era_database(path: Path) -> None:
    """A database at m007 holding a run, its proposals, its papers and a decision on one."""
    names = [migration.name for migration in MIGRATIONS._migrations]
    old = Database(sqlite3.connect(str(path)))
    old.execute("PRAGMA foreign_keys=ON")
    MIGRATIONS.apply(old, stop_before=names[names.index("m007_decision_state_evidence") + 1])
    assert "field_attempts" not in old.table_names()
    old.execute(
        "INSERT INTO papers (id, sha256, file, path, title, pages, added_at) "
        "VALUES ('abababababababab', ?, 'a.pdf', '/a.pdf', 't', 1, '2025-01-01')",
        ["ab" * 32],
    )
    for run_id, name, engine in ((3, "ollama-llama3.1:8b", "ollama"), (7, "rules", "rules")):
        old.execute(
            "INSERT INTO runs (id, name, engine, model, host, schema_version, options, "
            "started_at, finished_at, notes) VALUES (?, ?, ?, 'm', 'h', 1, '{\"seed\": 42}', "
            "'2025-01-01', '2025-01-02', 'a note')",
            [run_id, name, engine],
        )
        old.execute(
            "INSERT INTO run_papers (run_id, paper_id, status, attempts, finished_at) "
            "VALUES (?, 'abababababababab', 'done', 2, '2025-01-02')",
            [run_id],
        )
        old.execute(
            "INSERT INTO proposals (id, run_id, paper_id, field, status, value) "
            "VALUES (?, ?, 'abababababababab', 'accelerator_count', 'reported', '8')",
            [run_id * 10, run_id],
        )
    old.execute(
        "INSERT INTO decisions (uuid, paper_id, field, annotator, role, verdict, status, value, "
        "proposal_id, decided_at) VALUES ('u1', 'abababababababab', 'accelerator_count', 'ann', "
        "'annotator', 'accepted', 'reported', '8', 30, '2025-01-03')"
    )
    old.conn.commit()
    old.close()


def test_an_m007_database_is_upgraded_keeping_every_run(db_path: Path) -> None:
    m007_era_database(db_path)
    db = open_database(db_path)
    rows = db.execute(
        "SELECT id, name, engine, model, host, schema_version, options, started_at, "
        "finished_at, notes FROM runs ORDER BY id"
    ).fetchall()
    assert rows == [
        (
            3,
            "ollama-llama3.1:8b",
            "ollama",
            "m",
            "h",
            1,
            '{"seed": 42}',
            "2025-01-01",
            "2025-01-02",
            "a note",
        ),
        (7, "rules", "rules", "m", "h", 1, '{"seed": 42}', "2025-01-01", "2025-01-02", "a note"),
    ]
    assert db.execute("PRAGMA foreign_key_check").fetchall() == []
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    # References still name runs (nothing was renamed under them) and still hold.
    tables = [row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    for table in tables:
        targets = {row[2] for row in db.execute(f"PRAGMA foreign_key_list({table})")}
        assert targets <= set(tables), f"{table} refers to a table that is gone"
    for table in ("proposals", "run_papers", "field_attempts"):
        assert "runs" in {row[2] for row in db.execute(f"PRAGMA foreign_key_list({table})")}
    assert run_store.done_papers(db, 3) == {"abababababababab"}
    assert run_store.proposals_for(db, "abababababababab", 7)["accelerator_count"].value == 8
    indexes = {row[1] for row in db.execute("PRAGMA index_list(runs)")}
    assert any(name.startswith("sqlite_autoindex_runs") for name in indexes), "name is unique"
    # The check is wider, and still a check.
    run = run_store.open_run(
        db, name="openai-x", engine="openai", model="x", host="h", schema_version=1, options={}
    )
    assert run.id == 8
    with pytest.raises(sqlite3.IntegrityError):
        db.execute(
            "INSERT INTO runs (name, engine, schema_version, started_at) "
            "VALUES ('b', 'bogus', 1, 'now')"
        )
    with pytest.raises(sqlite3.IntegrityError):
        db.execute(
            "INSERT INTO runs (name, engine, schema_version, started_at) "
            "VALUES ('ollama-llama3.1:8b', 'ollama', 1, 'now')"
        )
    with pytest.raises(sqlite3.IntegrityError):
        db.execute("DELETE FROM runs WHERE id = 3")  # proposals still refer to it
    db.close()


def test_field_attempts_are_stored_with_the_paper(db_path: Path) -> None:
    m007_era_database(db_path)
    db = open_database(db_path)
    run = run_store.open_run(
        db, name="o", engine="ollama", model="m", host="h", schema_version=1, options={}
    )
    attempts = [
        run_store.FieldAttempts("gpu_hours", 2, ("the answer was cut off before this field", None)),
        run_store.FieldAttempts("accelerator_count", 2, ("value: -5", "value: -5"), "value: -5"),
    ]
    outcome = run_store.PaperOutcome("done", attempts=3, answer_tokens=900)
    run_store.save_paper(db, run.id, "abababababababab", [], outcome, attempts)
    assert run_store.field_attempts(db, run.id, "abababababababab") == {
        a.field: a for a in attempts
    }
    assert (
        db.execute("SELECT answer_tokens FROM run_papers WHERE run_id = ?", [run.id]).fetchone()[0]
        == 900
    )
    run_store.save_paper(db, run.id, "abababababababab", [], outcome, attempts[:1])
    assert list(run_store.field_attempts(db, run.id, "abababababababab")) == ["gpu_hours"]
    db.close()
