"""The SQLite store: public schema, migrations, WAL, dataclasses, atomic paper writes."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from sqlite_utils import Database

from storage import DatabaseError, open_database
from storage import decisions as decision_store
from storage import papers as paper_store
from storage.decisions import NewDecision
from storage.migrations import MIGRATIONS
from storage.models import Paper

# The public tables and columns (docs/data.md): users query these, so they must never change.
PUBLIC_COLUMNS = {
    "papers": ["id", "sha256", "file", "path", "title", "pages", "added_at"],
    "ingest_errors": ["path", "reason", "at"],
    "pages": ["paper_id", "page", "text"],
    "runs": [
        "id",
        "name",
        "engine",
        "model",
        "host",
        "schema_version",
        "options",
        "started_at",
        "finished_at",
    ],
    "proposals": [
        "id",
        "run_id",
        "paper_id",
        "field",
        "status",
        "value",
        "page",
        "quote",
        "grounding",
        "char_start",
        "char_end",
        "value_in_quote",
    ],
    "decisions": [
        "uuid",
        "paper_id",
        "field",
        "annotator",
        "role",
        "verdict",
        "value",
        "page",
        "quote",
        "proposal_id",
        "comment",
        "decided_at",
    ],
}


def test_public_tables_and_columns_exist(db: Database) -> None:
    for table, columns in PUBLIC_COLUMNS.items():
        actual = [c.name for c in db[table].columns]
        missing = [c for c in columns if c not in actual]
        assert not missing, f"{table} lacks {missing}"
    assert "pages_fts" in db.table_names()


def test_wal_mode_and_busy_timeout(db: Database) -> None:
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA busy_timeout").fetchone()[0] >= 5000
    assert db.execute("PRAGMA foreign_keys").fetchone()[0] == 1


def test_reopening_applies_no_migration_twice(db_path: Path) -> None:
    open_database(db_path).close()
    database = open_database(db_path)
    names = [row[0] for row in database.execute("SELECT name FROM _sqlite_migrations")]
    assert len(names) == len(set(names)) == len(MIGRATIONS._migrations)
    database.close()


def _add(db: Database, sha: str = "ab" * 32, file: str = "a.pdf", pages: int = 2) -> Paper:
    return paper_store.add_paper(
        db,
        sha256=sha,
        file=file,
        path=f"/papers/{file}",
        title="A title",
        pages=[
            paper_store.NewPage(text=f"Page {n} text", search_text=f"page {n} text")
            for n in range(1, pages + 1)
        ],
    )


def test_older_database_is_upgraded_with_its_data(db_path: Path) -> None:
    """A database made before decision_state existed gains it, filled from its decisions."""
    old = Database(db_path)
    MIGRATIONS.apply(old, stop_before="m002_decision_state")
    assert "decision_state" not in old.table_names()
    old.execute(
        "INSERT INTO papers (id, sha256, file, path, title, pages, added_at) "
        "VALUES ('abababababababab', ?, 'a.pdf', '/a.pdf', 't', 1, '2025-01-01')",
        ["ab" * 32],
    )
    rows = [
        ("u1", "accelerator_count", "accepted", "reported", "8", None, "2025-01-01T00:00:01"),
        ("u2", "accelerator_count", "corrected", "reported", "16", None, "2025-01-01T00:00:02"),
        ("u3", "accelerator_count", "undone", None, None, "u2", "2025-01-01T00:00:03"),
        ("u4", "gpu_hours", "not_reported", "not_reported", None, None, "2025-01-01T00:00:04"),
    ]
    for uuid, field, verdict, status, value, undoes, at in rows:
        old.execute(
            "INSERT INTO decisions (uuid, paper_id, field, annotator, role, verdict, status, "
            "value, decided_at, undoes) VALUES (?, 'abababababababab', ?, 'ann', 'annotator', "
            "?, ?, ?, ?, ?)",
            [uuid, field, verdict, status, value, at, undoes],
        )
    old.conn.commit()
    old.close()

    upgraded = open_database(db_path)
    state = {
        row["field"]: (row["decision_uuid"], row["value"])
        for row in upgraded.query("SELECT * FROM decision_state")
    }
    # u2 was undone, so the count falls back to u1's accepted 8.
    assert state == {"accelerator_count": ("u1", "8"), "gpu_hours": ("u4", None)}
    assert upgraded.execute("SELECT COUNT(*) FROM decisions").fetchone()[0] == 4
    upgraded.close()


def test_a_file_that_is_not_sqlite_gives_a_clear_error(tmp_path: Path) -> None:
    bogus = tmp_path / "notes.db"
    bogus.write_text("these are my notes, not a database\n" * 100)
    with pytest.raises(DatabaseError, match="notes.db: not a goldsmith database"):
        open_database(bogus)
    assert bogus.read_text().startswith("these are my notes")


def test_add_paper_stores_pages_and_returns_a_dataclass(db: Database) -> None:
    paper = _add(db, pages=3)
    assert isinstance(paper, Paper)
    assert paper.id == "ab" * 8
    assert paper_store.page_texts(db, paper.id) == ["Page 1 text", "Page 2 text", "Page 3 text"]
    assert paper_store.get_paper(db, paper.id) == paper
    fts = db.execute("SELECT COUNT(*) FROM pages_fts WHERE pages_fts MATCH 'text'").fetchone()
    assert fts[0] == 3


def test_add_paper_is_all_or_nothing(db: Database) -> None:
    """A failure part-way through a paper leaves no trace of it."""
    pages = [paper_store.NewPage(text="fine", search_text="fine")] * 2
    pages.append(paper_store.NewPage(text=None, search_text="x"))  # type: ignore[arg-type]
    with pytest.raises(sqlite3.IntegrityError):
        paper_store.add_paper(
            db, sha256="cd" * 32, file="c.pdf", path="/c.pdf", title=None, pages=pages
        )
    assert db.execute("SELECT COUNT(*) FROM papers").fetchone()[0] == 0
    assert db.execute("SELECT COUNT(*) FROM pages").fetchone()[0] == 0
    assert db.execute("SELECT COUNT(*) FROM pages_fts_docsize").fetchone()[0] == 0


def test_resolve_paper_by_id_sha_and_file_name(db: Database) -> None:
    paper = _add(db)
    assert paper_store.resolve_paper(db, paper.id) == paper
    assert paper_store.resolve_paper(db, paper.sha256.upper()) == paper
    assert paper_store.resolve_paper(db, "a.pdf") == paper
    assert paper_store.resolve_paper(db, "b.pdf") is None
    _add(db, sha="ef" * 32, file="a.pdf")
    with pytest.raises(paper_store.AmbiguousPaperReference):
        paper_store.resolve_paper(db, "a.pdf")


def test_decisions_are_append_only(db: Database) -> None:
    paper = _add(db)
    decision_store.record(
        db,
        [NewDecision(paper.id, "gpu_hours", "not_reported", "not_reported")],
        annotator="ann",
    )
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        db.execute("UPDATE decisions SET verdict = 'accepted'")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        db.execute("DELETE FROM decisions")


def test_undo_appends_and_restores_the_previous_decision(db: Database) -> None:
    paper = _add(db)
    first = NewDecision(paper.id, "accelerator_count", "accepted", "reported", value=8)
    second = NewDecision(paper.id, "accelerator_count", "corrected", "reported", value=16)
    decision_store.record(db, [first], annotator="ann")
    decision_store.record(db, [second], annotator="ann")
    assert decision_store.current(db, paper.id, annotator="ann")["accelerator_count"].value == 16
    undone = decision_store.undo_last(db, annotator="ann")
    assert [d.value for d in undone] == [16]
    assert decision_store.current(db, paper.id, annotator="ann")["accelerator_count"].value == 8
    decision_store.undo_last(db, annotator="ann")
    assert decision_store.current(db, paper.id, annotator="ann") == {}
    assert decision_store.undo_last(db, annotator="ann") == []
    verdicts = [d.verdict for d in decision_store.history(db, paper.id)]
    assert verdicts == ["accepted", "corrected", "undone", "undone"]


def test_a_batch_is_undone_as_one_step(db: Database) -> None:
    paper = _add(db)
    batch = [
        NewDecision(paper.id, "accelerator_count", "accepted", "reported", value=8),
        NewDecision(paper.id, "gpu_hours", "accepted", "not_reported"),
    ]
    decision_store.record(db, [batch[0]], annotator="ann")
    decision_store.record(db, batch, annotator="ann")
    assert len(decision_store.undo_last(db, annotator="ann")) == 2
    assert set(decision_store.current(db, paper.id, annotator="ann")) == {"accelerator_count"}


def test_undo_is_per_annotator(db: Database) -> None:
    paper = _add(db)
    decision_store.record(
        db, [NewDecision(paper.id, "gpu_hours", "not_reported", "not_reported")], annotator="a"
    )
    assert decision_store.undo_last(db, annotator="b") == []
    assert "gpu_hours" in decision_store.current(db, paper.id, annotator="a")


@pytest.mark.parametrize(
    ("verdict", "status", "value"),
    [
        ("not_reported", "reported", 8),
        ("accepted", "reported", None),
        ("accepted", "not_reported", 8),
        ("undone", "reported", 8),
        ("guessed", "reported", 8),
    ],
)
def test_inconsistent_decisions_are_refused(verdict: str, status: str, value: object) -> None:
    with pytest.raises(ValueError):
        NewDecision("p", "f", verdict, status, value=value)


def test_storage_never_imports_the_tui_or_extraction() -> None:
    """The adapter API is reachable without the TUI (and without extraction)."""
    code = (
        "import sys, storage, storage.papers, storage.decisions, storage.db, storage.models;"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('textual', 'tui', 'extraction')];"
        "print(','.join(bad)); sys.exit(1 if bad else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, f"storage imported {result.stdout.strip()}"


def test_import_linter_contracts_hold() -> None:
    root = Path(__file__).resolve().parent.parent
    lint_imports = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run(
        [str(lint_imports), "--config", str(root / "pyproject.toml"), "--no-cache"],
        capture_output=True,
        text=True,
        cwd=root,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Contracts: 2 kept, 0 broken" in result.stdout
