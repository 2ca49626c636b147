"""``export`` is a good citizen: whole file or none, no temporary file left behind (Ctrl+C,
SIGTERM, errors, even SIGKILL by the next export), the user's umask for a new file, the old
mode for a replaced one, and data on disk before the rename."""

from __future__ import annotations

import os
import signal
import sqlite3
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from extraction.outfile import OutputError, OutputFile
from tests.cli_process import ENV, goldsmith, leftovers
from tests.conftest import REPO
from tests.test_gold import decide_all


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_new_file_gets_the_umask_and_a_replaced_file_keeps_its_mode(
    sample_db: Path, tmp_path: Path
) -> None:
    umask = ["sh", "-c", 'umask 027; exec "$@"', "sh"]
    fresh = tmp_path / "fresh.csv"
    assert goldsmith("--db", sample_db, "export", fresh, wrapper=umask).code == 0
    assert mode(fresh) == 0o640
    assert goldsmith("--db", sample_db, "export", tmp_path / "plain.csv").code == 0
    assert mode(tmp_path / "plain.csv") == 0o666 & ~_umask()

    shared = tmp_path / "shared.csv"
    shared.write_text("old\r\n")
    shared.chmod(0o664)
    finished = goldsmith("--db", sample_db, "export", shared, "--force", wrapper=umask)
    assert finished.code == 0
    assert mode(shared) == 0o664 and shared.read_text() != "old\r\n"
    assert leftovers(tmp_path) == []


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@pytest.fixture
def big_db(sample_db: Path) -> Path:
    """The sample database with 60,000 more (bare) papers: an export takes a while."""
    conn = sqlite3.connect(sample_db)
    with conn:
        conn.execute(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 60000) "
            "INSERT INTO papers (id, sha256, file, title, pages, added_at) "
            "SELECT printf('%016x', i), printf('%064x', i), printf('p%d.pdf', i), "
            "printf('Paper %d', i), 1, '2024-01-01' FROM n"
        )
    conn.close()
    return sample_db


@pytest.mark.parametrize("sent", [signal.SIGINT, signal.SIGTERM])
def test_an_interrupted_export_leaves_the_old_file_and_no_temporary_file(
    sent: signal.Signals, big_db: Path, tmp_path: Path
) -> None:
    target = tmp_path / "big.csv"
    target.write_bytes(b"the old gold set\r\n")
    process = subprocess.Popen(
        [sys.executable, "-m", "tui", "--db", str(big_db), "export", str(target)]
        + ["--include-partial"],
        cwd=REPO,
        env=ENV,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 60
    while not leftovers(tmp_path):
        assert process.poll() is None, "the export ended before it could be interrupted"
        assert time.monotonic() < deadline
        time.sleep(0.002)
    process.send_signal(sent)
    _, err = process.communicate(timeout=60)
    if sent == signal.SIGINT:
        assert (process.returncode, err.decode().strip()) == (130, "interrupted")
    else:
        assert process.returncode == 128 + signal.SIGTERM
    assert target.read_bytes() == b"the old gold set\r\n"
    assert leftovers(tmp_path) == []


def test_a_temporary_file_of_a_killed_export_is_removed_by_the_next(
    sample_db: Path, tmp_path: Path
) -> None:
    dead = subprocess.Popen(["true"])
    dead.wait()
    abandoned = tmp_path / f".gold.csv.goldsmith-{dead.pid}-x1y2z3"
    abandoned.write_bytes(b"half an export")
    alive = tmp_path / f".gold.csv.goldsmith-{os.getpid()}-a1b2c3"  # still being written
    alive.write_bytes(b"another export, running")
    assert goldsmith("--db", sample_db, "export", tmp_path / "gold.csv").code == 0
    assert leftovers(tmp_path) == [alive.name]


def test_data_is_synced_before_the_rename_and_the_folder_after(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[tuple[str, str]] = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd: int) -> None:
        kind = "folder" if stat.S_ISDIR(os.fstat(fd).st_mode) else "file"
        size = os.fstat(fd).st_size
        calls.append(("fsync", f"{kind} {size}"))
        real_fsync(fd)

    def replace(source: str, destination: str) -> None:
        calls.append(("rename", Path(destination).name))
        real_replace(source, destination)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    target = tmp_path / "out.csv"
    with OutputFile(target) as out:
        out.handle.write("a,b\r\n" * 1000)
        out.commit()
    assert [call[0] for call in calls] == ["fsync", "rename", "fsync"]
    assert calls[0][1] == "file 5000", "every byte is synced before the rename"
    assert calls[2][1].startswith("folder"), "then the folder, so the rename is durable"
    assert target.read_bytes() == b"a,b\r\n" * 1000


def test_leaving_without_commit_discards_everything(tmp_path: Path) -> None:
    target = tmp_path / "out.csv"
    with pytest.raises(RuntimeError), OutputFile(target) as out:
        out.handle.write("partial")
        raise RuntimeError("the export failed")
    assert not target.exists() and list(tmp_path.iterdir()) == []
    with pytest.raises(OutputError, match="no such folder"):
        with OutputFile(tmp_path / "nodir" / "x.csv"):
            pass


def test_a_pipe_or_device_is_written_in_place(sample_db: Path, tmp_path: Path) -> None:
    """``export >(gzip > gold.csv.gz)``, a FIFO or /dev/null: written as it is, never renamed
    over (that would replace the pipe itself), and the command ends well."""
    decide_all(sample_db, "alice")
    fifo = tmp_path / "gold.fifo"
    os.mkfifo(fifo)
    reader = subprocess.Popen(["cat", str(fifo)], stdout=subprocess.PIPE)
    finished = goldsmith("--db", sample_db, "export", fifo)
    received = reader.communicate(timeout=30)[0]
    assert (finished.code, finished.out.strip(), finished.err) == (0, "exported 6 papers", "")
    assert received.startswith(b"paper_id,file,title,") and received.count(b"\r\n") == 7
    assert stat.S_ISFIFO(fifo.stat().st_mode), "the FIFO is still a FIFO"
    devnull = goldsmith("--db", sample_db, "export", os.devnull, "--layout", "long")
    assert (devnull.code, devnull.out.strip(), devnull.err) == (0, "exported 6 papers", "")
    assert leftovers(tmp_path) == []
