"""Ingest speed over the corpus: goldsmith's ingest against a bare PyMuPDF loop.

    python benchmarks/bench_ingest.py [--repeats 3]

The anchor is the least any ingest must do: open each PDF and call ``get_text()`` on every
page, in one process. goldsmith also hashes each file, finds the title, normalises each page
for search, and writes pages plus the full-text index to SQLite in one transaction per paper.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import pymupdf  # noqa: E402

from benchmarks.common import corpus_pdfs, median_seconds, print_rows  # noqa: E402
from extraction.pdf.ingest import ingest  # noqa: E402
from storage import open_database  # noqa: E402


def bare_loop(pdfs: list[Path]) -> int:
    pages = 0
    for pdf in pdfs:
        with pymupdf.open(pdf) as doc:
            for page in doc:
                page.get_text()
                pages += 1
    return pages


def goldsmith_ingest(pdfs: list[Path], db_file: Path, processes: int) -> None:
    db = open_database(db_file)
    results = list(ingest(db, pdfs, processes=processes))
    db.close()
    assert all(r.outcome.value == "ingested" for r in results), "benchmark input must be clean"


def measure(repeats: int) -> list[dict[str, object]]:
    pdfs = corpus_pdfs()
    pages = bare_loop(pdfs)  # also warms the page cache
    workdir = Path(tempfile.mkdtemp(prefix="goldsmith-bench-"))
    db_file = workdir / "bench.db"

    def fresh() -> None:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{db_file}{suffix}").unlink(missing_ok=True)

    bare = median_seconds(lambda: bare_loop(pdfs), repeats)
    one = median_seconds(lambda: goldsmith_ingest(pdfs, db_file, 1), repeats, setup=fresh)
    cores = os.cpu_count() or 1
    many = median_seconds(lambda: goldsmith_ingest(pdfs, db_file, cores), repeats, setup=fresh)
    shutil.rmtree(workdir)
    return [
        {
            "figure": f"bare PyMuPDF get_text loop ({len(pdfs)} PDFs, {pages} pages)",
            "value": f"{bare:.2f} s ({pages / bare:.0f} pages/s)",
        },
        {
            "figure": "goldsmith ingest, 1 process",
            "value": f"{one:.2f} s ({pages / one:.0f} pages/s)",
            "anchor": "bare loop",
            "ratio": f"{one / bare:.2f}",
            "goal": "<= 1.3",
            "pass": "yes" if one / bare <= 1.3 else "NO",
        },
        {
            "figure": f"goldsmith ingest, {cores} processes",
            "value": f"{many:.2f} s ({pages / many:.0f} pages/s)",
            "anchor": "ingest, 1 process",
            "ratio": f"{one / many:.2f}x faster",
            "goal": ">= 1.7x on 2 cores",
            "pass": "yes" if one / many >= 1.7 else "NO",
        },
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    print_rows("Ingest (medians)", measure(args.repeats))


if __name__ == "__main__":
    main()
