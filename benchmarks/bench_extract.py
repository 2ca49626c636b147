"""Extraction: goldsmith's own time per paper (model excluded), prompt size, and throughput.

    python benchmarks/bench_extract.py [--repeats 3] [--papers 24]

1. Overhead per paper over the corpus: page selection, prompt, validating an answer,
   grounding its quotes, and writing the proposals — everything but the model. The answer
   is the rules engine's (real quotes, real values), serialised as a model would send it.
2. Prompt tokens after page selection as a fraction of the paper's full text.
3. Papers per second at --concurrency 1 and 4 against a local server that takes 200 ms a
   request: the ratio shows how well requests are kept in flight (ideal 4.0).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import corpus_pdfs, print_rows  # noqa: E402
from benchmarks.slow_ollama import SlowOllama  # noqa: E402
from extraction.answers import validate_answer  # noqa: E402
from extraction.engines import rules  # noqa: E402
from extraction.engines.ollama import OllamaEngine, OllamaSettings  # noqa: E402
from extraction.engines.prompt import paper_prompt, system_prompt  # noqa: E402
from extraction.engines.run import extract, open_engine_run  # noqa: E402
from extraction.engines.selection import estimate_tokens, select_passages  # noqa: E402
from extraction.evidence.proposals import ground_proposals  # noqa: E402
from extraction.pdf.ingest import ingest  # noqa: E402
from storage import open_database  # noqa: E402
from storage import papers as paper_store  # noqa: E402
from storage import runs as run_store  # noqa: E402
from storage.runs import PaperOutcome  # noqa: E402


def model_answer(pages: list[str]) -> str:
    """What a good model would send: the rules engine's proposals as the answer JSON."""
    return json.dumps(
        {
            p.field: {"status": p.status, "value": p.value, "page": p.page, "quote": p.quote}
            for p in rules.extract(pages)
        }
    )


def overhead(db_path: Path, repeats: int) -> tuple[float, float, float, float]:
    """Median and p90 ms per paper of everything but the model, and the share of the full text
    in the selected passages and in the whole prompt (passages plus the fixed system prompt)."""
    db = open_database(db_path)
    papers = list(paper_store.iter_papers(db))
    run = run_store.open_run(
        db, name="bench", engine="ollama", model="m", host=None, schema_version=1, options={}
    )
    answers = {p.id: model_answer(paper_store.page_texts(db, p.id)) for p in papers}
    per_paper: list[float] = []
    full_tokens = prompt_tokens = passage_tokens = 0
    for round_number in range(repeats):
        for paper in papers:
            started = time.perf_counter()
            pages = paper_store.page_texts(db, paper.id)
            passages = select_passages(pages)
            prompt = system_prompt() + paper_prompt(passages)
            valid, _ = validate_answer(json.loads(answers[paper.id]))
            proposals = ground_proposals(valid.values(), pages)
            run_store.save_paper(db, run.id, paper.id, proposals, PaperOutcome("done"))
            per_paper.append(time.perf_counter() - started)
            if round_number == 0:
                full_tokens += estimate_tokens("".join(pages))
                prompt_tokens += estimate_tokens(prompt)
                passage_tokens += estimate_tokens("".join(p.text for p in passages))
    db.close()
    ordered = sorted(per_paper)
    p90 = ordered[int(len(ordered) * 0.9)]
    return (
        statistics.median(per_paper) * 1000,
        p90 * 1000,
        passage_tokens / full_tokens,
        prompt_tokens / full_tokens,
    )


def throughput(db_path: Path, concurrency: int, papers: int, server: SlowOllama) -> float:
    """Papers per second extracting ``papers`` papers at ``concurrency``."""
    db = open_database(db_path)
    chosen = list(paper_store.iter_papers(db))[:papers]
    engine = OllamaEngine(OllamaSettings(hosts=(server.url,), concurrency=concurrency))
    run = open_engine_run(db, f"throughput-{concurrency}-{time.monotonic_ns()}", engine)
    started = time.perf_counter()
    extract(db, run, engine, chosen)
    seconds = time.perf_counter() - started
    db.close()
    return len(chosen) / seconds


def synthetic_papers(folder: Path, count: int) -> list[Path]:
    """Small real PDFs, for the throughput part (the model's time dominates there)."""
    import pymupdf

    paths = []
    for number in range(count):
        doc = pymupdf.open()
        for page_number in range(3):
            doc.new_page().insert_text(
                (72, 72), f"Paper {number} page {page_number}: trained on 8 GPUs for 3 days."
            )
        path = folder / f"p{number:03}.pdf"
        doc.save(path)
        paths.append(path)
    return paths


def measure(repeats: int, papers: int) -> list[dict[str, object]]:
    workdir = Path(tempfile.mkdtemp(prefix="goldsmith-bench-"))
    corpus_db = workdir / "corpus.db"
    db = open_database(corpus_db)
    list(ingest(db, corpus_pdfs()))
    db.close()
    median_ms, p90_ms, fraction, whole = overhead(corpus_db, repeats)

    synthetic_db = workdir / "synthetic.db"
    db = open_database(synthetic_db)
    list(ingest(db, synthetic_papers(workdir, papers)))
    db.close()
    with SlowOllama(delay=0.2) as server:
        one = statistics.median(throughput(synthetic_db, 1, papers, server) for _ in range(repeats))
        four = statistics.median(
            throughput(synthetic_db, 4, papers, server) for _ in range(repeats)
        )
    return [
        {
            "figure": "overhead per paper, model excluded (median; p90)",
            "value": f"{median_ms:.1f} ms; {p90_ms:.1f} ms",
            "goal": "<= 50 ms",
            "pass": "yes" if median_ms <= 50 else "NO",
        },
        {
            "figure": "page selection: selected tokens / full text (corpus)",
            "value": f"{fraction:.3f}",
            "goal": "<= 0.2",
            "pass": "yes" if fraction <= 0.2 else "NO",
        },
        {
            "figure": "whole prompt incl. the fixed system prompt / full text",
            "value": f"{whole:.3f}",
        },
        {"figure": "throughput, --concurrency 1 (200 ms/request)", "value": f"{one:.2f} papers/s"},
        {
            "figure": "throughput, --concurrency 4 (200 ms/request)",
            "value": f"{four:.2f} papers/s",
            "anchor": "concurrency 1",
            "ratio": f"{four / one:.2f}x",
            "goal": ">= 3.5x",
            "pass": "yes" if four / one >= 3.5 else "NO",
        },
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--papers", type=int, default=24)
    args = parser.parse_args()
    print_rows("Extraction (medians)", measure(args.repeats, args.papers))


if __name__ == "__main__":
    main()
