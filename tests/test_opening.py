"""Opening a database: reading never creates one, a newer goldsmith's database is refused,
and an export of nothing never replaces a gold file."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.cli_process import goldsmith, table_counts
from tests.test_gold import decide_all
from tui.cli import cli

NO_DATABASE = "error: no goldsmith database at {} (create one with goldsmith ingest)"


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_mistyped_db_is_refused_and_the_gold_file_kept(sample_db: Path, tmp_path: Path) -> None:
    decide_all(sample_db, "alice")
    keep = tmp_path / "keep.csv"
    assert goldsmith("--db", sample_db, "export", keep).code == 0
    kept = keep.read_bytes()
    assert kept.count(b"\r\n") == 7, "six papers and a header"

    typo = tmp_path / "typo.db"
    for finished in (
        goldsmith("--db", typo, "export", keep),
        goldsmith("export", keep, env={"GOLDSMITH_DB": str(typo)}),
    ):
        assert (finished.code, finished.out) == (2, "")
        assert finished.error_lines == [NO_DATABASE.format(typo)]
    assert keep.read_bytes() == kept
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.csv", "sample.db"]


@pytest.mark.parametrize(
    "command",
    [
        ["papers"],
        ["papers", "--json"],
        ["export", "-"],
        ["score", "--run", "rules"],
        ["agreement"],
        ["extract", "--engine", "rules"],
        ["review", "--annotator", "a"],
    ],
)
def test_every_command_but_ingest_and_imports_refuses_a_missing_database(
    command: list[str], tmp_path: Path
) -> None:
    typo = tmp_path / "typo.db"
    result = CliRunner().invoke(cli, ["--db", str(typo), *command], catch_exceptions=False)
    assert result.exit_code == 2
    assert result.stderr.strip() == NO_DATABASE.format(typo)
    assert list(tmp_path.iterdir()) == []


def test_an_empty_file_is_no_database_and_is_left_empty(tmp_path: Path) -> None:
    empty = tmp_path / "empty.db"
    empty.touch()
    for command in (["papers"], ["export", "-"]):
        result = CliRunner().invoke(cli, ["--db", str(empty), *command])
        assert result.exit_code == 2
        assert result.stderr.strip() == (
            f"error: no goldsmith database at {empty} (the file is empty; "
            "create one with goldsmith ingest)"
        )
    assert [(p.name, p.stat().st_size) for p in tmp_path.iterdir()] == [("empty.db", 0)]


def test_a_failed_import_into_a_new_database_leaves_no_database(tmp_path: Path) -> None:
    """import-* may create the database, but not when nothing could be imported."""
    file = tmp_path / "gold.csv"
    file.write_text("paper_id,gpu_hours,gpu_hours_status\r\nabc,1,reported\r\n")
    finished = goldsmith("--db", tmp_path / "new.db", "import-gold", file, "--annotator", "x")
    assert finished.code == 1
    assert "no paper 'abc' in this database" in finished.err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["gold.csv"]


def test_an_empty_export_does_not_replace_a_gold_file_unless_forced(
    sample_db: Path, tmp_path: Path
) -> None:
    keep = tmp_path / "keep.csv"
    keep.write_bytes(b"paper_id,title\r\nabc,A paper decided elsewhere\r\n")
    kept = keep.read_bytes()
    finished = goldsmith("--db", sample_db, "export", keep)
    assert (finished.code, finished.out) == (2, "")
    assert finished.error_lines == [
        f"error: {keep}: not replaced: there is no paper to export, so it would keep only a "
        "header (use --force to replace it anyway)"
    ]
    assert keep.read_bytes() == kept
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []

    forced = goldsmith("--db", sample_db, "export", keep, "--force")
    assert forced.code == 0
    assert forced.out.strip() == "exported 0 papers, 6 left out (not every field final)"
    assert keep.read_bytes().count(b"\r\n") == 1, "only the header"
    fresh = tmp_path / "fresh.csv"
    assert goldsmith("--db", sample_db, "export", fresh).code == 0, "a new file is no loss"


def test_a_database_from_a_newer_goldsmith_is_refused_for_reading_and_writing(
    sample_db: Path, gold_csv: Path
) -> None:
    conn = sqlite3.connect(sample_db)
    with conn:
        conn.execute(
            "INSERT INTO _sqlite_migrations (migration_set, name, applied_at) "
            "VALUES ('goldsmith', 'm099_from_the_future', '2030-01-01')"
        )
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    before, counts = digest(sample_db), table_counts(sample_db)
    expected = (
        f"error: {sample_db} was written by a newer goldsmith (migration m099_from_the_future); "
        "upgrade goldsmith"
    )
    for command in (["papers"], ["import-gold", str(gold_csv), "--annotator", "x"]):
        finished = goldsmith("--db", sample_db, *command)
        assert (finished.code, finished.out, finished.error_lines) == (2, "", [expected])
    assert digest(sample_db) == before and table_counts(sample_db) == counts


@pytest.fixture
def gold_csv(sample_db_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A valid gold file for the sample papers."""
    folder = tmp_path_factory.mktemp("gold")
    db = folder / "gold.db"
    db.write_bytes(sample_db_template.read_bytes())
    decide_all(db, "alice")
    out = folder / "gold.csv"
    assert goldsmith("--db", db, "export", out).code == 0
    return out
