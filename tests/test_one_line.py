"""One line, never a traceback: each failure an attacker found, run as the real command in a
process of its own, gives its exact message and exit code, and writes nothing (row counts
unchanged, no temporary file left)."""

from __future__ import annotations

import errno
import json
import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from extraction.engines.base import BackendUnavailable
from storage.errors import GoldsmithError
from tests.cli_process import Terminal, goldsmith, leftovers, table_counts
from tests.conftest import REPO
from tests.test_gold import decide_all
from tests.test_hostile_imports import GOOD  # a valid proposals line
from tui.cli import cli
from tui.cli.base import Context, GoldsmithGroup


def check_refused(db: Path, file: Path, content: str, problem: str) -> None:
    file.write_text(content)
    before = table_counts(db)
    finished = goldsmith("--db", db, "import-proposals", file, "--run", "hostile")
    assert (finished.code, finished.out) == (1, "")
    assert finished.error_lines == [
        f"error: {file}: {problem}",
        f"nothing imported: 1 problem(s) in {file}",
    ]
    assert table_counts(db) == before


def test_a_5000_digit_integer_is_one_problem(papers_db: Path, tmp_path: Path) -> None:
    huge = json.dumps({**GOOD, "field": "gpu_hours"}).replace(
        '"value": 8', '"value": ' + "9" * 5000
    )
    check_refused(
        papers_db,
        tmp_path / "huge.jsonl",
        json.dumps(GOOD) + "\n" + huge + "\n",
        "line 2: not usable JSON (a number with more than 4300 digits)",
    )


@pytest.mark.parametrize("key", ["value", "paper"])
def test_a_lone_surrogate_is_one_problem(key: str, papers_db: Path, tmp_path: Path) -> None:
    where = "compute_provider: value" if key == "value" else "paper"
    check_refused(
        papers_db,
        tmp_path / "surrogate.jsonl",
        json.dumps({**GOOD, "field": "compute_provider", "value": "x", key: "\ud800x"}) + "\n",
        f"line 1: {where}: contains a lone surrogate U+D800 (not a character; not valid UTF-8)",
    )


@pytest.mark.parametrize(
    ("option", "command"),
    [
        ("--run", ["score", "--run", "r\udcffs"]),
        ("--paper", ["extract", "--engine", "rules", "--paper", "\udcff.pdf"]),
        ("--sample", ["papers", "--sample", "pilot\udcff"]),
    ],
)
def test_an_argument_that_is_not_utf8_is_one_line(
    option: str, command: list[str], papers_db: Path
) -> None:
    """Bytes of the command line that are not UTF-8 ($'\\xff') reach Python as lone
    surrogates, which SQLite cannot even look up."""
    before = table_counts(papers_db)
    result = CliRunner().invoke(cli, ["--db", str(papers_db), *command])
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr.strip() == (
        f"error: {option}: contains a lone surrogate U+DCFF (not a character; not valid UTF-8)"
    )
    assert table_counts(papers_db) == before


@pytest.mark.parametrize("kind", ["device", "fifo"])
def test_import_gold_refuses_what_is_not_a_regular_file_at_once(
    kind: str, sample_db: Path, tmp_path: Path
) -> None:
    if kind == "fifo":
        source = tmp_path / "some.fifo"
        os.mkfifo(source)
        what = "a FIFO"  # opening it for reading would block until someone writes
    else:
        source = Path("/dev/zero")  # reading it would never end
        what = "a character device"
    before = table_counts(sample_db)
    finished = goldsmith("--db", sample_db, "import-gold", source, "--annotator", "x", timeout=30)
    assert (finished.code, finished.out) == (2, "")
    assert finished.error_lines == [f"error: {source}: not a regular file ({what})"]
    assert table_counts(sample_db) == before
    proposals = goldsmith("--db", sample_db, "import-proposals", source, "--run", "x", timeout=30)
    assert proposals.error_lines == [f"error: {source}: not a regular file ({what})"]


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (["export"], "error: Missing argument 'OUT' (see goldsmith export --help)"),
        (
            ["export", "x.csv", "--layout", "tall"],
            "error: Invalid value for '--layout': 'tall' is not one of 'wide', 'long' "
            "(see goldsmith export --help)",
        ),
        (["--bogus"], "error: No such option '--bogus' (see goldsmith --help)"),
    ],
)
def test_a_mistyped_command_line_is_one_line(args: list[str], line: str) -> None:
    result = CliRunner().invoke(cli, args, prog_name="goldsmith")
    assert (result.exit_code, result.stdout, result.stderr.strip()) == (2, "", line)


def test_export_into_a_missing_folder_is_one_line(sample_db: Path, tmp_path: Path) -> None:
    finished = goldsmith("--db", sample_db, "export", "nodir/x.csv", "--force", cwd=tmp_path)
    assert (finished.code, finished.out) == (2, "")
    assert finished.error_lines == ["error: nodir/x.csv: no such folder nodir"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sample.db"]


def test_an_output_path_ending_in_a_slash_writes_no_file(sample_db: Path, tmp_path: Path) -> None:
    # Path("out/") is "out": without the check, export wrote a file called out and said so.
    for command in (["export", "out/", "--force"], ["export-metadata", "out/"], ["report", "out/"]):
        finished = goldsmith("--db", sample_db, *command, cwd=tmp_path)
        assert (finished.code, finished.out) == (2, ""), command
        assert finished.error_lines == [
            "error: Invalid value for 'OUT': out/ names a folder, not a file to write "
            f"(see goldsmith {command[0]} --help)"
        ]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sample.db"]


def test_db_after_the_command_says_where_it_goes(sample_db: Path, tmp_path: Path) -> None:
    finished = goldsmith("papers", "--db", sample_db, cwd=tmp_path)
    assert finished.code == 2
    assert finished.error_lines == [
        "error: --db goes before the command: goldsmith --db PATH papers ..."
    ]


def test_a_bad_pdf_viewer_setting_is_a_notification_and_the_app_goes_on(sample_db: Path) -> None:
    terminal = Terminal(
        "--db",
        sample_db,
        "review",
        "--annotator",
        "alice",
        env={"GOLDSMITH_PDF_VIEWER": 'zathura "--page={page}'},
    )
    try:
        assert terminal.wait_for("papers 0/6 done"), terminal.text[-2000:]
        terminal.type("o")
        # (The notification wraps inside its border and is drawn in parts: wait for each.)
        assert terminal.wait_for("GOLDSMITH_PDF_VIEWER is not a"), terminal.text[-2000:]
        assert terminal.wait_for("(no closing quotation)"), terminal.text[-2000:]
        terminal.type("a")  # the app still takes decisions
        terminal.read(1.0)
        assert terminal.process.poll() is None, "the app is still running"
        assert "Traceback" not in terminal.text
        terminal.type("q")
    finally:
        code = terminal.close(timeout=20)
    assert code == 0
    assert table_counts(sample_db)["decisions"] == 1


# --- a full disk -------------------------------------------------------------------------------


def small_disk(tmp_path: Path) -> list[str]:
    """A wrapper running a command with a 1 MB tmpfs at ``tmp_path/disk`` (in a user and
    mount namespace of its own: no root needed); skipped where that is not allowed."""
    disk = tmp_path / "disk"
    disk.mkdir()
    wrapper = ["unshare", "--user", "--map-root-user", "--mount"]
    probe = subprocess.run(
        [*wrapper, "mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(disk)],
        capture_output=True,
    )
    if shutil.which("unshare") is None or probe.returncode != 0:
        pytest.skip("cannot mount a small file system here (unshare -rm not allowed)")
    return wrapper


def on_full_disk(tmp_path: Path, db: Path, free_kb: int, *command: str | Path) -> tuple:
    """Run ``goldsmith --db DISK/DB COMMAND`` with the database copied onto a 1 MB disk filled
    but for ``free_kb``; returns what it said, and the database and disk listing after it."""
    tmp_path.mkdir(exist_ok=True)
    wrapper = small_disk(tmp_path)
    disk, after = tmp_path / "disk", tmp_path / "after"
    after.mkdir()
    script = (
        f'mount -t tmpfs -o size=1m tmpfs "{disk}" && cp "{db}" "{disk}/" && '
        f'dd if=/dev/zero of="{disk}/reserve" bs=1k count={free_kb} 2>/dev/null; '
        f'dd if=/dev/zero of="{disk}/filler" bs=1k 2>/dev/null; rm -f "{disk}/reserve"; '
        '"$@"; code=$?; '
        f'cp "{disk}/{db.name}"* "{after}/"; ls -A "{disk}" > "{after}/listing"; exit $code'
    )
    finished = goldsmith(
        "--db", disk / db.name, *command, wrapper=[*wrapper, "sh", "-c", script, "sh"]
    )
    listing = (after / "listing").read_text().split()
    return finished, after / db.name, listing


def test_a_full_disk_during_import_gold_says_disk_full(
    sample_db: Path, tmp_path: Path, gold_file: Path
) -> None:
    before = table_counts(sample_db)
    reading, _, _ = on_full_disk(tmp_path / "read", sample_db, 64, "papers")
    assert reading.code == 0, "that much room opens the database: the write is what fails"
    finished, after, listing = on_full_disk(
        tmp_path, sample_db, 64, "import-gold", gold_file, "--annotator", "x"
    )
    assert (finished.code, finished.out) == (2, "")
    assert finished.error_lines == [
        f"error: {tmp_path / 'disk' / sample_db.name}: disk full (free some space, then try again)"
    ]
    assert table_counts(after) == before, "the import was rolled back whole"


def test_a_full_disk_at_open_says_disk_full(sample_db: Path, tmp_path: Path) -> None:
    finished, after, _ = on_full_disk(tmp_path, sample_db, 0, "papers")
    assert (finished.code, finished.out) == (2, "")
    assert finished.error_lines == [
        f"error: {tmp_path / 'disk' / sample_db.name}: disk full (free some space, then try again)"
    ]


def test_a_database_that_cannot_be_created_on_a_full_disk_leaves_no_file(tmp_path: Path) -> None:
    wrapper = small_disk(tmp_path)
    disk = tmp_path / "disk"
    script = (
        f'mount -t tmpfs -o size=1m tmpfs "{disk}" && dd if=/dev/zero of="{disk}/filler" '
        f'bs=1k 2>/dev/null; "$@"; code=$?; ls -A "{disk}" > "{tmp_path}/listing"; exit $code'
    )
    pdf = REPO / "sample_data" / "api_costs.pdf"
    finished = goldsmith(
        "--db", disk / "new.db", "ingest", pdf, wrapper=[*wrapper, "sh", "-c", script, "sh"]
    )
    assert (finished.code, finished.out) == (2, "")
    assert finished.error_lines == [
        f"error: {disk / 'new.db'}: disk full (free some space, then try again)"
    ]
    assert (tmp_path / "listing").read_text().split() == ["filler"], "no empty new.db left"


def test_a_full_disk_during_export_says_disk_full_and_leaves_no_temporary_file(
    sample_db: Path, tmp_path: Path
) -> None:
    decide_all(sample_db, "alice")
    wrapper = small_disk(tmp_path)
    disk = tmp_path / "disk"
    script = (
        f'mount -t tmpfs -o size=1m tmpfs "{disk}" && echo old > "{disk}/gold.csv" && '
        f'dd if=/dev/zero of="{disk}/filler" bs=1k 2>/dev/null; '
        f'"$@"; code=$?; ls -A "{disk}" > "{tmp_path}/listing"; cat "{disk}/gold.csv" '
        f'> "{tmp_path}/kept"; exit $code'
    )
    out = disk / "gold.csv"
    finished = goldsmith(
        "--db", sample_db, "export", out, wrapper=[*wrapper, "sh", "-c", script, "sh"]
    )
    assert (finished.code, finished.out) == (2, "")
    assert finished.error_lines == [f"error: {out}: disk full (free some space, then try again)"]
    assert (tmp_path / "listing").read_text().split() == ["filler", "gold.csv"]
    assert (tmp_path / "kept").read_text() == "old\n"
    assert leftovers(tmp_path) == []


@pytest.fixture
def gold_file(sample_db_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("gold")
    db = folder / "gold.db"
    shutil.copyfile(sample_db_template, db)
    decide_all(db, "alice")
    out = folder / "gold.csv"
    assert goldsmith("--db", db, "export", out).code == 0
    return out


@pytest.mark.parametrize(
    ("raised", "line", "code"),
    [
        (GoldsmithError("a message for the user"), "error: a message for the user", 2),
        (BackendUnavailable("no server at http://x"), "error: no server at http://x", 3),
        (
            OSError(errno.ENOSPC, "No space left on device", "out.csv"),
            "error: out.csv: disk full (free some space, then try again)",
            2,
        ),
        (
            sqlite3.OperationalError("database or disk is full"),
            "error: x.db: database or disk is full",
            2,
        ),
        (KeyboardInterrupt(), "interrupted", 130),
        (
            RuntimeError("oops\x1b[2J"),
            "error: unexpected RuntimeError: oops\\x1b[2J (a bug in goldsmith; "
            "GOLDSMITH_DEBUG=1 shows where)",
            70,
        ),
    ],
)
def test_the_one_handler_turns_every_failure_into_one_line(
    raised: BaseException, line: str, code: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Any failure a command lets through — a domain error, the file system, SQLite, Ctrl+C,
    or a bug — ends as one line and the exit code the README documents."""
    monkeypatch.delenv("GOLDSMITH_DEBUG", raising=False)
    group = GoldsmithGroup()

    @group.command("fails")
    def fails() -> None:
        raise raised

    result = CliRunner().invoke(group, ["fails"], obj=Context(db_path=Path("x.db")))
    assert (result.exit_code, result.stderr.strip()) == (code, line)
    assert "Traceback" not in result.output
