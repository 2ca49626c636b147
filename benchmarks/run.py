"""goldsmith's speed and memory figures, each beside its anchor, as ratios.

    python benchmarks/run.py [--quick] [--work DIR] [--json PATH]

Builds (or reuses, in --work) databases of 10, 1,000, 10,000 and 100,000 papers with
build_large_db.py, then measures, taking medians of several runs:

- the review app: start to the first interactive screen, peak memory, and the time its
  handlers take per key press (next field, accept, next paper, filter change), at each size;
- export (wide CSV) and score at each size, against sqlite3's own CSV dump of the decisions
  table of the same database;
- ingest of the real-paper corpus ($GOLDSMITH_CORPUS) against a bare PyMuPDF get_text()
  loop, on one process and on all cores;
- extraction: the tool's own time per paper (model excluded), the share of the text page
  selection keeps, and throughput at --concurrency 1 and 4 against a server taking 200 ms.

The machines here are shared and noisy: read the ratios first. --quick stops at 10,000
papers and runs each measurement fewer times. Prints one table; writes the same as JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from benchmarks.build_large_db import build  # noqa: E402
from benchmarks.common import CORPUS, print_rows, write_json  # noqa: E402

FULL_SIZES = (10, 1_000, 10_000, 100_000)
QUICK_SIZES = (10, 1_000, 10_000)


def database(work: Path, papers: int, rebuild: bool) -> tuple[Path, float | None]:
    """The benchmark database of ``papers`` papers, and its build time if built now."""
    path = work / f"papers-{papers}.db"
    if path.exists() and not rebuild:
        return path, None
    figures = build(path, papers)
    return path, figures["seconds"]


def probe_app(db: Path, repeats: int, presses: int) -> dict[str, Any]:
    runs = []
    for number in range(repeats):
        result = subprocess.run(
            [
                sys.executable,
                str(HERE / "app_probe.py"),
                str(db),
                "--presses",
                str(presses),
                "--annotator",
                f"bench-{time.monotonic_ns()}-{number}",
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        runs.append(json.loads(result.stdout.strip().splitlines()[-1]))
    keys = runs[0]["handler_ms"].keys()
    return {
        "start_s": statistics.median(r["start_s"] for r in runs),
        "rss_mb": statistics.median(r["rss_mb"] for r in runs),
        "handler_ms": {k: statistics.median(r["handler_ms"][k] for r in runs) for k in keys},
        "handler_p90_ms": {
            k: statistics.median(r["handler_p90_ms"][k] for r in runs) for k in keys
        },
        "press_to_idle_ms": {
            k: statistics.median(r["press_to_idle_ms"][k] for r in runs) for k in keys
        },
    }


def timed(command: list[str], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def dump_command(db: Path, out: Path) -> list[str]:
    """sqlite3's own CSV dump of the decisions table (Python's sqlite3 if there is no CLI)."""
    if shutil.which("sqlite3"):
        return ["sh", "-c", f"sqlite3 -csv '{db}' 'SELECT * FROM decisions' > '{out}'"]
    code = (
        "import csv, sqlite3, sys; c = sqlite3.connect(sys.argv[1]); "
        "csv.writer(open(sys.argv[2], 'w')).writerows(c.execute('SELECT * FROM decisions'))"
    )
    return [sys.executable, "-c", code, str(db), str(out)]


def goldsmith(*args: str) -> list[str]:
    return [sys.executable, "-m", "tui", *args]


def row(
    figure: str,
    value: str,
    anchor: str = "",
    ratio: str = "",
    goal: str = "",
    ok: bool | None = None,
) -> dict[str, str]:
    return {
        "figure": figure,
        "value": value,
        "anchor": anchor,
        "ratio": ratio,
        "goal": goal,
        "pass": "" if ok is None else ("yes" if ok else "NO"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--work", type=Path, default=None, help="Keep the built databases here.")
    parser.add_argument("--rebuild", action="store_true", help="Build the databases again.")
    parser.add_argument("--json", type=Path, default=HERE / "results" / "latest.json")
    args = parser.parse_args()
    sizes = QUICK_SIZES if args.quick else FULL_SIZES
    repeats = 2 if args.quick else 3
    work = args.work or Path(tempfile.mkdtemp(prefix="goldsmith-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {
        "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]}
    }
    rows: list[dict[str, str]] = []

    print(f"databases in {work}", file=sys.stderr)
    dbs = {}
    for size in sizes:
        path, seconds = database(work, size, args.rebuild)
        dbs[size] = path
        if seconds is not None:
            results[f"build_{size}_s"] = seconds
    largest = sizes[-1]
    if f"build_{largest}_s" in results:
        seconds = results[f"build_{largest}_s"]
        rows.append(
            row(
                f"build {largest:,}-paper database (storage API)",
                f"{seconds:.0f} s",
                goal="< 120 s" if largest == 100_000 else "",
                ok=seconds < 120 if largest == 100_000 else None,
            )
        )

    print("review app…", file=sys.stderr)
    app = {size: probe_app(dbs[size], repeats, 12 if args.quick else 20) for size in sizes}
    results["app"] = {str(k): v for k, v in app.items()}
    small, big = app[sizes[0]], app[largest]
    ratio = big["start_s"] / small["start_s"]
    rows.append(
        row(
            f"app start, {largest:,} papers",
            f"{big['start_s']:.2f} s",
            f"{sizes[0]} papers: {small['start_s']:.2f} s",
            f"{ratio:.2f}",
            "<= 1.5 and < 1 s",
            ratio <= 1.5 and big["start_s"] < 1,
        )
    )
    rows.append(
        row(
            f"app peak memory, {largest:,} papers",
            f"{big['rss_mb']:.0f} MB",
            goal="<= 300 MB",
            ok=big["rss_mb"] <= 300,
        )
    )
    for key, value in big["handler_ms"].items():
        rows.append(
            row(
                f"handler per key '{key}', {largest:,} papers "
                f"(p90 {big['handler_p90_ms'][key]:.1f})",
                f"{value:.1f} ms",
                f"{sizes[0]} papers: {small['handler_ms'][key]:.1f} ms",
                "",
                "<= 16 ms",
                value <= 16,
            )
        )
    for size in sizes[1:]:
        figures = app[size]
        keys = " · ".join(f"{k} {v:.1f}" for k, v in figures["handler_ms"].items())
        rows.append(
            row(
                f"  flat? {size:,} papers: start · per key (ms)",
                f"{figures['start_s']:.2f} s · {keys}",
                f"1,000: {app[1_000]['start_s']:.2f} s",
                f"{figures['start_s'] / app[1_000]['start_s']:.2f}",
            )
        )

    print("export and score…", file=sys.stderr)
    results["export"] = {}
    for size in sizes[1:]:
        db = dbs[size]
        out = work / f"export-{size}.csv"
        dump = timed(dump_command(db, work / "dump.csv"), repeats)
        export = timed(goldsmith("--db", str(db), "export", str(out)), repeats)
        score = timed(goldsmith("--db", str(db), "score", "--run", "bench-run", "--json"), repeats)
        results["export"][str(size)] = {"dump_s": dump, "export_s": export, "score_s": score}
        check = size == largest
        rows.append(
            row(
                f"export wide CSV, {size:,} papers",
                f"{export:.2f} s ({1000 * export / size:.2f} ms/paper)",
                f"sqlite3 dump {dump:.2f} s",
                f"{export / dump:.1f}",
                "<= 5 and < 5 s" if check else "",
                (export / dump <= 5 and export < 5) if check else None,
            )
        )
        rows.append(
            row(
                f"score, {size:,} papers",
                f"{score:.2f} s",
                f"sqlite3 dump {dump:.2f} s",
                f"{score / dump:.1f}",
                "<= 5 and < 5 s" if check else "",
                (score / dump <= 5 and score < 5) if check else None,
            )
        )

    if CORPUS.is_dir() and any(CORPUS.glob("*.pdf")):
        from benchmarks import bench_extract, bench_ingest

        print("ingest…", file=sys.stderr)
        ingest_rows = bench_ingest.measure(3 if args.quick else 5)
        results["ingest"] = ingest_rows
        rows.extend({**row("", ""), **{k: str(v) for k, v in r.items()}} for r in ingest_rows)
        print("extraction…", file=sys.stderr)
        extract_rows = bench_extract.measure(2 if args.quick else 3, 24)
        results["extract"] = extract_rows
        rows.extend({**row("", ""), **{k: str(v) for k, v in r.items()}} for r in extract_rows)
    else:
        rows.append(row("ingest and extraction", f"skipped: no corpus at {CORPUS}"))

    results["rows"] = rows
    print_rows("goldsmith benchmarks (medians)", rows)
    write_json(args.json, results)
    print(f"\nwritten to {args.json}")
    if not args.work:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
