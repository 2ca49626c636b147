"""Coverage of goldsmith's corrected disclosure rate on synthetic corpora with a known truth.

    python benchmarks/bench_coverage.py [--seeds 500] [--fast-seeds 10000] [--json PATH]

Two parts:

- **fast**: the estimator on arrays (what tests/test_estimate.py does), over many seeds: each
  seed a new 2,000-paper corpus (tests/synthetic.py: disclosure set by year, a model whose
  recall and false alarms depend on the venue) and a gold sample of 100-300 papers, simple
  random or stratified by venue × what the model proposed. Coverage, mean interval width and
  the raw rate's bias, overall and per sample size.
- **slow**: the real commands on a real database — one corpus written through the storage
  API with every paper decided by its truth, then for each seed ``goldsmith sample`` (its own
  hash-keyed draw) and ``goldsmith estimate --json``: does the corrected interval cover the
  corpus's true rate? This is design-based coverage exactly: one finite corpus, many samples.
  Both designs; also ``--interval ppi-python`` when ppi-python is installed.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from click.testing import CliRunner  # noqa: E402

from extraction.gold.inference import Design, ratio  # noqa: E402
from storage import open_database  # noqa: E402
from storage import samples as sample_store  # noqa: E402
from tests import synthetic  # noqa: E402
from tui.cli import cli  # noqa: E402

PAPERS = 2000
DESIGNS = {"simple random": "srs", "stratified venue × run": "venue×proposed"}


def fast(seeds: int) -> dict[str, Any]:
    results: dict[str, Any] = {}
    for label, how in DESIGNS.items():
        rows: list[tuple[int, bool, float, float]] = []
        for seed in range(seeds):
            corpus = synthetic.make(seed, PAPERS)
            strata, labels = synthetic.strata_of(corpus, how)
            size = 100 + seed % 201
            gold = synthetic.draw_gold(strata, labels, size, np.random.default_rng(10_000 + seed))
            e = ratio(
                Design.build(strata, gold, labels),
                corpus.proposed,
                corpus.disclosed[gold],
                lam="tuned",
                binary=True,
            )
            assert e.ci95 is not None
            covered = e.ci95[0] <= corpus.true_rate <= e.ci95[1]
            rows.append((size, covered, e.ci95[1] - e.ci95[0], corpus.raw_rate - corpus.true_rate))
        by_size = {}
        for low, high in ((100, 150), (150, 200), (200, 250), (250, 301)):
            part = [r for r in rows if low <= r[0] < high]
            by_size[f"{low}-{high - 1}"] = {
                "seeds": len(part),
                "coverage": float(np.mean([r[1] for r in part])),
                "width": float(np.mean([r[2] for r in part])),
            }
        results[label] = {
            "seeds": seeds,
            "coverage": float(np.mean([r[1] for r in rows])),
            "width": float(np.mean([r[2] for r in rows])),
            "raw_bias": float(np.mean([r[3] for r in rows])),
            "by_size": by_size,
        }
    results["expected_bias"] = synthetic.expected_bias()
    return results


def invoke(db: Path, *args: str) -> str:
    result = CliRunner().invoke(cli, ["--db", str(db), *args], catch_exceptions=False)
    if result.exit_code != 0:
        raise SystemExit(f"goldsmith {' '.join(args)} failed: {result.stderr}")
    return result.stdout


def slow(seeds: int, work: Path) -> dict[str, Any]:
    db = work / "coverage.db"
    corpus = synthetic.make(2024, PAPERS)
    started = time.perf_counter()
    ids = synthetic.write_db(db, corpus, 2024)
    synthetic.record_gold(db, corpus, ids, ids)  # every paper's truth; a sample uses its own
    built = time.perf_counter() - started
    methods = ["design"]
    try:
        import ppi_py  # noqa: F401

        methods.append("ppi-python")
    except ImportError:
        pass
    results: dict[str, Any] = {"corpus_true_rate": corpus.true_rate, "raw_rate": corpus.raw_rate}
    results["build_s"] = built
    for label, strata in (
        ("simple random", []),
        ("stratified venue × run", ["venue", "run:accelerator_count"]),
    ):
        hits = {m: 0 for m in methods}
        widths: dict[str, list[float]] = {m: [] for m in methods}
        seconds = []
        for seed in range(seeds):
            name = f"{'s' if not strata else 't'}{seed}"
            size = 100 + seed % 201
            options = [a for s in strata for a in ("--strata", s)]
            t0 = time.perf_counter()
            invoke(db, "sample", name, "--size", str(size), "--seed", str(seed), *options)
            for method in methods:
                report = json.loads(
                    invoke(
                        db,
                        "estimate",
                        "--run",
                        "model",
                        "--sample",
                        name,
                        "--json",
                        "--interval",
                        method,
                    )
                )
                d = report["fields"][synthetic.FIELD]["disclosure"]
                low, high = d["ci95"]
                hits[method] += low <= corpus.true_rate <= high
                widths[method].append(high - low)
            seconds.append(time.perf_counter() - t0)
        results[label] = {
            m: {"seeds": seeds, "coverage": hits[m] / seeds, "width": float(np.mean(widths[m]))}
            for m in methods
        }
        results[label]["seconds_per_seed"] = statistics.median(seconds)
    check = open_database(db)
    results["samples_drawn"] = len(sample_store.list_samples(check))
    check.close()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=500, help="seeds of the slow part")
    parser.add_argument("--fast-seeds", type=int, default=10_000)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    figures: dict[str, Any] = {}
    t0 = time.perf_counter()
    figures["fast"] = fast(args.fast_seeds)
    figures["fast"]["seconds"] = time.perf_counter() - t0
    print(f"fast: {args.fast_seeds} seeds, 2,000-paper corpora, gold samples of 100-300")
    print(f"  expected raw-rate bias {figures['fast']['expected_bias']:+.4f}")
    for label in DESIGNS:
        f = figures["fast"][label]
        print(
            f"  {label:24} coverage {100 * f['coverage']:.1f}%  "
            f"mean width {100 * f['width']:.2f} pts  raw bias {f['raw_bias']:+.4f}"
        )
        for size, part in f["by_size"].items():
            print(
                f"    n {size:8} coverage {100 * part['coverage']:.1f}%  "
                f"width {100 * part['width']:.2f}"
            )
    if args.seeds:
        with tempfile.TemporaryDirectory(prefix="goldsmith-coverage-") as work:
            figures["slow"] = slow(args.seeds, Path(work))
        s = figures["slow"]
        print(
            f"slow: {args.seeds} seeds of goldsmith sample + estimate on one 2,000-paper "
            f"database (true rate {100 * s['corpus_true_rate']:.2f}%, "
            f"run's raw rate {100 * s['raw_rate']:.2f}%)"
        )
        for label in DESIGNS:
            for method, f in s[label].items():
                if method == "seconds_per_seed":
                    continue
                print(
                    f"  {label:24} {method:10} coverage {100 * f['coverage']:.1f}%  "
                    f"mean width {100 * f['width']:.2f} pts"
                )
            print(f"  {label:24} median {s[label]['seconds_per_seed']:.2f} s per seed")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
