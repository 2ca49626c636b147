"""What safety costs: the checkpoint policy per decision, and import checks on wide files.

    python benchmarks/bench_reliability.py [--decisions N] [--json PATH]

- A decision recorded through the storage API (one transaction, ``synchronous=FULL``):
  commit only (checkpoints off), commit plus a checkpoint in the same call (what every commit
  would cost without the background thread), and the review app's policy (a thread
  checkpoints 0.25 s later: the time the annotator waits), with how long the decision is in
  the log alone under that policy (commit to checkpointed).
- ``import-gold`` of a file whose header has 25,000, 50,000 and 100,000 columns (refused):
  the real command, start-up included, against a 10-column file; and the reading and checks
  alone (in process), which must at most double when the columns double (linear time).

Medians; the machine is shared, so read the ratios.
"""

from __future__ import annotations

import argparse
import csv
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from benchmarks.common import print_rows, write_json  # noqa: E402
from storage import db as store  # noqa: E402
from storage import decisions as decision_store  # noqa: E402
from storage import open_database  # noqa: E402
from storage import papers as paper_store  # noqa: E402
from storage.decisions import NewDecision  # noqa: E402


def _database(folder: Path) -> Path:
    path = folder / "decisions.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    db = open_database(path)
    with store.write(db):
        paper_store.add_paper(
            db,
            sha256="0" * 64,
            file="p.pdf",
            path=None,
            title="A paper",
            pages=[paper_store.NewPage("8 GPUs for 3 days", "8 gpus for 3 days")],
        )
    db.close()
    return path


def _in_file_alone(path: Path, uuid: str, scratch: Path) -> bool:
    shutil.copyfile(path, scratch)
    conn = sqlite3.connect(scratch)
    try:
        return conn.execute("SELECT 1 FROM decisions WHERE uuid = ?", [uuid]).fetchone() is not None
    finally:
        conn.close()
        for suffix in ("-wal", "-shm"):
            Path(f"{scratch}{suffix}").unlink(missing_ok=True)


def decision_costs(folder: Path, count: int) -> list[dict[str, object]]:
    timings: dict[str, list[float]] = {}
    exposure: list[float] = []
    for policy in ("commit only", "commit + checkpoint", "background checkpoint"):
        path = _database(folder)
        db = open_database(path)
        db.background_checkpoints = policy == "background checkpoint"
        paper = db.execute("SELECT id FROM papers").fetchone()[0]
        times = timings.setdefault(policy, [])
        for number in range(count):
            if policy == "commit only":
                db.checkpointed_at = time.monotonic() + 3600  # the inline one never comes
            elif policy == "commit + checkpoint":
                db.checkpointed_at = 0.0  # due at every commit
            new = NewDecision(paper, "gpu_hours", "corrected", "reported", value=float(number))
            started = time.perf_counter()
            stored = decision_store.record(db, [new], annotator="bench")
            times.append(time.perf_counter() - started)
            if policy == "background checkpoint" and number % 10 == 0:
                while not _in_file_alone(path, stored[0].uuid, folder / "scratch.db"):
                    time.sleep(0.01)
                exposure.append(time.perf_counter() - started)
        db.close()
    anchor = statistics.median(timings["commit only"])
    rows = []
    for policy, times in timings.items():
        median = statistics.median(times)
        p90 = sorted(times)[int(len(times) * 0.9)]
        rows.append(
            {
                "figure": f"one decision, {policy} (time the caller waits)",
                "value": f"{median * 1000:.2f} ms (p90 {p90 * 1000:.2f})",
                "anchor": f"commit only: {anchor * 1000:.2f} ms",
                "ratio": f"{median / anchor:.2f}",
            }
        )
    rows.append(
        {
            "figure": "a decision in the log alone (commit to checkpointed), review app",
            "value": f"{statistics.median(exposure) * 1000:.0f} ms (max {max(exposure) * 1e3:.0f})",
            "goal": "< a few seconds",
        }
    )
    return rows


def _goldsmith(*args: str) -> float:
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "tui", *args],
        cwd=HERE.parent,
        capture_output=True,
        check=False,
        timeout=600,
    )
    return time.perf_counter() - started


def _wide_file(folder: Path, columns: int) -> Path:
    file = folder / f"wide-{columns}.csv"
    with file.open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["paper_id", *(f"column_{i}" for i in range(columns))])
        writer.writerow(["0" * 16, *("1" for _ in range(columns))])
    return file


def wide_imports(folder: Path, repeats: int) -> list[dict[str, object]]:
    from extraction.gold.files import parse_gold

    db_path = _database(folder)
    db = open_database(db_path)
    anchor_file = _wide_file(folder, 10)
    anchor = statistics.median(
        _goldsmith("--db", str(db_path), "import-gold", str(anchor_file), "--annotator", "x")
        for _ in range(repeats)
    )
    rows = []
    previous = None
    for columns in (25_000, 50_000, 100_000):
        file = _wide_file(folder, columns)
        seconds = statistics.median(
            _goldsmith("--db", str(db_path), "import-gold", str(file), "--annotator", "x")
            for _ in range(repeats)
        )
        checks = []
        for _ in range(repeats):
            started = time.perf_counter()
            parse_gold(db, file)
            checks.append(time.perf_counter() - started)
        check = statistics.median(checks)
        growth = f"checks x{check / previous:.2f} for twice the columns" if previous else ""
        previous = check
        rows.append(
            {
                "figure": f"import-gold, header of {columns:,} columns (refused)",
                "value": f"{seconds:.2f} s (reading and checks: {check * 1000:.0f} ms)",
                "anchor": f"10 columns: {anchor:.2f} s",
                "ratio": f"{seconds / anchor:.2f}" + (f"; {growth}" if growth else ""),
                "goal": "< 2 s; x2 per doubling",
            }
        )
    db.close()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--decisions", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        folder = Path(work)
        rows = decision_costs(folder, args.decisions) + wide_imports(folder, args.repeats)
    print_rows("reliability", rows)
    if args.json:
        write_json(args.json, rows)


if __name__ == "__main__":
    main()
