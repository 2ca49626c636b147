"""Messages say what happened: a read-only database is read, and writes to it say
"read-only"; ingest names what is not a regular file and counts what it skipped in folders;
the keymap's unknown ids and stolen keys are said at start, one line each."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.cli_process import goldsmith, table_counts
from tests.test_gold import decide_all
from tui.app import make_app
from tui.keymap import KeymapError, keymap_problems, load_keymap


def read_only_wrapper(folder: Path) -> list[str]:
    """A wrapper running a command with ``folder`` mounted read-only (a user and mount
    namespace of its own: even root cannot write there)."""
    wrapper = ["unshare", "--user", "--map-root-user", "--mount", "sh", "-c"]
    script = f'mount --bind "{folder}" "{folder}" && mount -o remount,bind,ro "{folder}" && "$@"'
    if (
        shutil.which("unshare") is None
        or subprocess.run([*wrapper, script, "sh", "true"], capture_output=True).returncode
    ):
        pytest.skip("cannot mount a folder read-only here (unshare -rm not allowed)")
    return [*wrapper, script, "sh"]


def test_a_read_only_database_is_read_and_writes_say_read_only(
    sample_db: Path, tmp_path: Path
) -> None:
    decide_all(sample_db, "alice")
    folder = tmp_path / "shelf"
    folder.mkdir()
    db = folder / "gold.db"
    shutil.move(sample_db, db)
    before = table_counts(db)
    wrapper = read_only_wrapper(folder)
    papers = goldsmith("--db", db, "papers", wrapper=wrapper)
    assert papers.code == 0 and papers.out.count("\n") == 7, papers.err
    out = tmp_path / "gold.csv"
    exported = goldsmith("--db", db, "export", out, wrapper=wrapper)
    assert (exported.code, exported.out.strip()) == (0, "exported 6 papers")
    assert goldsmith("--db", db, "score", "--run", "sample-llm", wrapper=wrapper).code == 0

    refused = goldsmith("--db", db, "import-gold", out, "--annotator", "x", wrapper=wrapper)
    assert (refused.code, refused.out) == (2, "")
    assert refused.error_lines == [
        f"error: {db}: the database is read-only (it is on a read-only file system); "
        "this command writes to it"
    ]
    assert table_counts(db) == before


def test_ingest_names_what_is_not_a_regular_file_and_counts_what_it_skipped(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "papers"
    folder.mkdir()
    shutil.copy(Path(__file__).parent.parent / "sample_data" / "api_costs.pdf", folder)
    os.mkfifo(folder / "pipe.pdf")
    (folder / "dangling.pdf").symlink_to(tmp_path / "gone.pdf")
    os.mkfifo(tmp_path / "named.fifo")
    (tmp_path / "zero.pdf").symlink_to("/dev/zero")
    finished = goldsmith(
        "--db", "new.db", "ingest", "papers", "named.fifo", "zero.pdf", cwd=tmp_path, timeout=60
    )
    assert finished.code == 1
    assert finished.error_lines == [
        f"warning: papers/dangling.pdf: skipped: a symbolic link to {tmp_path / 'gone.pdf'}, "
        "which does not exist",
        "warning: papers/pipe.pdf: skipped: not a regular file (a FIFO)",
        "error: named.fifo: not a regular file (a FIFO)",
        "error: zero.pdf: not a regular file (a character device)",
    ]
    assert finished.out.startswith(
        "ingested 1, already present 0, failed 2, skipped 2 (not regular files), 2 pages, "
    )
    assert table_counts(tmp_path / "new.db")["papers"] == 1


def test_the_keymap_reports_unknown_ids_and_stolen_keys() -> None:
    problems = keymap_problems(
        {
            "goldsmith.acept": "y",
            "goldsmith.accept": "n",
            "goldsmith.undo": "x",
            "goldsmith.comment": "x",
            "goldsmith.quit": "Q",
        }
    )
    assert problems == [
        "keymap: unknown binding id 'goldsmith.acept', ignored (did you mean goldsmith.accept? "
        "goldsmith review --list-keys lists them)",
        "keymap: 'n' for goldsmith.accept takes it from goldsmith.not_reported, which is left "
        "without that key",
        "keymap: 'x' is given to goldsmith.comment and goldsmith.undo at once",
    ]
    assert keymap_problems({"goldsmith.accept": "y", "goldsmith.quit": "Q"}) == []
    swapped = {"goldsmith.accept": "n", "goldsmith.not_reported": "a"}
    assert keymap_problems(swapped) == [], "swapping two keys steals nothing"


def test_a_keymap_that_is_not_a_file_is_said_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A FIFO or /dev/zero would never end; it is refused before a byte is read."""
    fifo = tmp_path / "keymap.toml"
    os.mkfifo(fifo)
    for keymap, what in ((fifo, "a FIFO"), (Path("/dev/zero"), "a character device")):
        monkeypatch.setenv("GOLDSMITH_KEYMAP", str(keymap))
        with pytest.raises(KeymapError) as raised:
            load_keymap()
        assert str(raised.value) == f"{keymap}: not a regular file ({what})"
    monkeypatch.setenv("GOLDSMITH_KEYMAP", str(tmp_path / "none.toml"))
    with pytest.raises(KeymapError, match="none.toml: no such keymap file"):
        load_keymap()


async def test_the_app_says_keymap_problems_at_start(sample_db: Path) -> None:
    app = make_app(sample_db, "alice", keymap={"goldsmith.acept": "y", "goldsmith.accept": "n"})
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        shown = [n.message for n in app._notifications]
        assert any("unknown binding id 'goldsmith.acept'" in m for m in shown), shown
        assert any("takes it from goldsmith.not_reported" in m for m in shown), shown
        await pilot.press("n")  # the keymap's binding has the key: accept
        await pilot.pause()
        assert table_counts(sample_db)["decisions"] == 1
