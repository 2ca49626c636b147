"""``sample``, ``estimate`` and ``report`` at scale, each against ``score`` on the same database.

    python benchmarks/bench_corpus.py [--papers 100000] [--work DIR] [--repeats 3] [--json PATH]

Builds (or reuses, in --work) the benchmark database of build_large_db.py, gives every paper
a venue and a year, then times the real commands (one process each, as a user runs them),
median of --repeats runs:

- ``score --run bench-run`` (the anchor: it reads every gold decision);
- ``sample NAME --size 1000 --strata venue --strata run:accelerator_count`` (a new sample
  each time: it reads every paper's stratum and writes the frame);
- ``estimate --run bench-run --sample NAME --json``, and with ``--by year``;
- ``report OUT.html`` (broken down by venue and year).

The sampled papers without decisions are first decided (as the builder's annotators decide),
so the sample is fully reviewed. Goal: each ≤ 5× score.
"""

from __future__ import annotations

import argparse
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from benchmarks.build_large_db import build, decisions_for  # noqa: E402
from benchmarks.common import print_rows, write_json  # noqa: E402
from storage import metadata as metadata_store  # noqa: E402
from storage import open_database, write  # noqa: E402
from storage import runs as run_store  # noqa: E402
from storage import samples as sample_store  # noqa: E402
from storage.decisions import record  # noqa: E402
from storage.runs import NewProposal  # noqa: E402

VENUES = ("NeurIPS", "ICML", "ICLR", "ACL", "CVPR", "arXiv")
YEARS = ("2019", "2020", "2021", "2022", "2023", "2024")
GOAL = 5.0


def goldsmith(db: Path, *args: str) -> float:
    """Seconds one goldsmith command takes, as its own process."""
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "tui", "--db", str(db), *args],
        check=True,
        capture_output=True,
        cwd=HERE.parent,
    )
    return time.perf_counter() - started


def prepare(work: Path, papers: int, rebuild: bool) -> Path:
    path = work / f"papers-{papers}.db"
    if rebuild or not path.exists():
        build(path, papers)
    db = open_database(path)
    if "venue" not in metadata_store.columns(db):
        rng = random.Random(3)
        rows = [
            (paper, {"venue": rng.choice(VENUES), "year": rng.choice(YEARS)})
            for (paper,) in db.execute("SELECT id FROM papers")
        ]
        metadata_store.set_values(db, rows, source="benchmark")
    db.close()
    return path


def review_sample(path: Path, name: str) -> int:
    """Decide every sampled paper nobody has decided yet; how many were decided now."""
    db = open_database(path)
    sample = sample_store.get_sample(db, name)
    assert sample is not None
    run = run_store.get_run(db, "bench-run")
    assert run is not None
    decided = {row[0] for row in db.execute("SELECT DISTINCT paper_id FROM decision_state")}
    rng = random.Random(5)
    count = 0
    with write(db):
        for paper in sample_store.sample_paper_ids(db, sample.id):
            if paper in decided:
                continue
            found = run_store.proposals_for(db, paper, run.id)
            proposals = [
                NewProposal(p.field, p.status, p.value, p.page, p.quote) for p in found.values()
            ]
            record(db, decisions_for(rng, paper, proposals, False), annotator="carol")
            count += 1
    db.close()
    return count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--papers", type=int, default=100_000)
    parser.add_argument("--work", type=Path, default=None)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--size", type=int, default=1000)
    parser.add_argument("--rebuild", action="store_true")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    temp = None
    if args.work is None:
        temp = tempfile.TemporaryDirectory(prefix="goldsmith-bench-")
        work = Path(temp.name)
    else:
        work = args.work
        work.mkdir(parents=True, exist_ok=True)
    path = prepare(work, args.papers, args.rebuild)
    strata = ["--strata", "venue", "--strata", "run:accelerator_count"]
    score = statistics.median(
        goldsmith(path, "score", "--run", "bench-run") for _ in range(args.repeats)
    )
    stamp = time.monotonic_ns()
    sample_times = [
        goldsmith(
            path,
            "sample",
            f"bench-{stamp}-{i}",
            "--size",
            str(args.size),
            "--seed",
            str(i),
            *strata,
        )
        for i in range(args.repeats)
    ]
    name = f"bench-{stamp}-0"
    reviewed_now = review_sample(path, name)
    estimate = statistics.median(
        goldsmith(path, "estimate", "--run", "bench-run", "--sample", name, "--json")
        for _ in range(args.repeats)
    )
    estimate_by = statistics.median(
        goldsmith(
            path, "estimate", "--run", "bench-run", "--sample", name, "--json", "--by", "year"
        )
        for _ in range(args.repeats)
    )
    out = work / "report.html"
    report = statistics.median(
        goldsmith(path, "report", str(out), "--run", "bench-run", "--sample", name)
        for _ in range(args.repeats)
    )
    figures: dict[str, Any] = {
        "papers": args.papers,
        "sample_size": args.size,
        "reviewed_for_the_benchmark": reviewed_now,
        "score_s": score,
        "sample_s": statistics.median(sample_times),
        "estimate_s": estimate,
        "estimate_by_year_s": estimate_by,
        "report_s": report,
        "report_bytes": out.stat().st_size,
    }
    rows = [{"figure": f"score, {args.papers:,} papers", "value": f"{score:.2f} s"}]
    for label, key in (
        (f"sample --size {args.size} --strata venue --strata run:accelerator_count", "sample_s"),
        ("estimate --json", "estimate_s"),
        ("estimate --json --by year", "estimate_by_year_s"),
        ("report (by venue, year)", "report_s"),
    ):
        ratio = figures[key] / score
        rows.append(
            {
                "figure": label,
                "value": f"{figures[key]:.2f} s",
                "anchor": f"score {score:.2f} s",
                "ratio": f"{ratio:.2f}",
                "goal": f"≤ {GOAL:g}",
                "pass": "yes" if ratio <= GOAL else "NO",
            }
        )
    print_rows(f"corpus estimates on {args.papers:,} papers (median of {args.repeats})", rows)
    if args.json:
        write_json(args.json, figures)
    if temp is not None:
        temp.cleanup()


if __name__ == "__main__":
    main()
