"""Build a realistic large goldsmith database for the speed benchmarks.

    python benchmarks/build_large_db.py --papers 100000 --out /tmp/large.db

Each paper has 2-3 pages of varied text (with a compute statement on one of them), one
extraction run's 12 proposals with mixed grounding (mostly exact, some normalised, fuzzy and
ungrounded), and on about 30% of papers decisions by two annotators (who disagree now and
then). Everything is written through the storage API (``storage.papers.add_paper``,
``storage.runs.save_paper``, ``storage.decisions.record``), grouped into transactions of a
thousand papers. The file is a throwaway, so it is written without fsync.
"""

from __future__ import annotations

import argparse
import hashlib
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from extraction.evidence.textnorm import normalize  # noqa: E402
from extraction.fields import FIELDS  # noqa: E402
from storage import open_database, write  # noqa: E402
from storage import papers as paper_store  # noqa: E402
from storage import runs as run_store  # noqa: E402
from storage.decisions import NewDecision, record  # noqa: E402
from storage.runs import NewProposal, PaperOutcome  # noqa: E402

WORDS = (
    "model training data learning network representation attention layer loss gradient "
    "benchmark evaluation transformer language vision robust efficient scaling parameter "
    "token sequence encoder decoder objective baseline ablation dataset corpus fine-tuning "
    "pretraining optimizer schedule batch accuracy inference latency memory throughput"
).split()
GPUS = ("A100", "V100", "H100", "RTX 3090", "TPU v4", "A6000", "T4")
PROVIDERS = ("AWS", "Google Cloud", "Microsoft Azure", "JUWELS Booster", "a local cluster")
FUNDERS = ("the National Science Foundation", "DARPA", "the European Research Council", "Google")
CHUNK = 1000


def _sentence(rng: random.Random) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(8, 18))).capitalize() + "."


_POOL_RNG = random.Random(1)
SENTENCES = [_sentence(_POOL_RNG) for _ in range(5000)]
"""Sentences drawn for the pages: varied text without generating each word per paper."""


def paragraph(rng: random.Random, sentences: int) -> str:
    return " ".join(rng.choices(SENTENCES, k=sentences))


def paper_pages(
    rng: random.Random, number: int
) -> tuple[list[str], dict[str, tuple[int, str, object]]]:
    """Pages of text, and the facts stated in them: field -> (page, sentence, value)."""
    count, gpu, days = rng.choice((1, 2, 4, 8, 16, 64)), rng.choice(GPUS), rng.randint(1, 30)
    provider, funder = rng.choice(PROVIDERS), rng.choice(FUNDERS)
    hardware = f"We trained all models on {count} {gpu} GPUs for {days} days using {provider}."
    funding = f"This work was supported by {funder} under grant {rng.randint(1000, 99999)}."
    title = f"{paragraph(rng, 1)[:70].rstrip('.')} (study {number})"
    pages = [
        f"{title}\nAuthor {number}, University of Example\nAbstract\n{paragraph(rng, 5)}",
        f"{paragraph(rng, 4)}\n{hardware}\n{paragraph(rng, 4)}",
    ]
    if rng.random() < 0.6:
        pages.append(f"{paragraph(rng, 3)}\nAcknowledgements\n{funding}")
    facts: dict[str, tuple[int, str, object]] = {
        "accelerator_count": (2, hardware, count),
        "training_time_hours": (2, hardware, days * 24.0),
        "research_setting": (1, "University of Example", "academia"),
    }
    if len(pages) == 3:
        facts["funding_sources"] = (3, funding, [funder.removeprefix("the ")])
    return pages, facts


def proposals_for(
    rng: random.Random, pages: list[str], facts: dict[str, tuple[int, str, object]]
) -> list[NewProposal]:
    """One proposal per field, grounded as the real grounding would place it."""
    out = []
    for spec in FIELDS:
        fact = facts.get(spec.name)
        if fact is None:
            out.append(NewProposal(spec.name, "not_reported"))
            continue
        page, sentence, value = fact
        start = pages[page - 1].find(sentence)
        roll = rng.random()
        if roll < 0.75:
            grounding, quote = "exact", sentence
        elif roll < 0.85:
            grounding, quote = "normalized", sentence.upper()
        elif roll < 0.93:
            grounding, quote = "fuzzy", sentence.replace("all ", "")
        else:
            grounding, quote, start = "ungrounded", f"trained on {rng.randint(100, 999)} GPUs", -1
        found = start >= 0
        out.append(
            NewProposal(
                spec.name,
                "reported",
                value,
                page,
                quote,
                grounding,
                start if found else None,
                start + len(sentence) if found else None,
                True,
            )
        )
    return out


def decisions_for(
    rng: random.Random, paper_id: str, proposals: list[NewProposal], disagree: bool
) -> list[NewDecision]:
    out = []
    for p in proposals:
        if p.status == "reported":
            value = p.value
            if disagree and isinstance(value, int) and rng.random() < 0.3:
                value = value * 2
            out.append(
                NewDecision(
                    paper_id,
                    p.field,
                    "accepted" if value == p.value else "corrected",
                    "reported",
                    value=value,
                    page=p.page,
                    quote=p.quote,
                )
            )
        else:
            out.append(NewDecision(paper_id, p.field, "not_reported", "not_reported"))
    return out


def build(path: Path, papers: int, seed: int = 7) -> dict[str, float]:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    rng = random.Random(seed)
    db = open_database(path)
    db.execute("PRAGMA synchronous=OFF")  # a throwaway benchmark file: no fsync needed
    run = run_store.open_run(
        db,
        name="bench-run",
        engine="ollama",
        model="llama3.1:8b",
        host=None,
        schema_version=1,
        options={"temperature": 0},
    )
    started = time.perf_counter()
    for first in range(0, papers, CHUNK):
        with write(db):
            for number in range(first, min(first + CHUNK, papers)):
                pages, facts = paper_pages(rng, number)
                sha = hashlib.sha256(f"benchmark paper {seed} {number}".encode()).hexdigest()
                paper = paper_store.add_paper(
                    db,
                    sha256=sha,
                    file=f"paper_{number:06}.pdf",
                    path=None,
                    title=pages[0].split("\n", 1)[0],
                    pages=[paper_store.NewPage(text, normalize(text)) for text in pages],
                )
                proposals = proposals_for(rng, pages, facts)
                run_store.save_paper(db, run.id, paper.id, proposals, PaperOutcome("done"))
                if rng.random() < 0.3:
                    record(db, decisions_for(rng, paper.id, proposals, False), annotator="alice")
                    record(
                        db,
                        decisions_for(rng, paper.id, proposals, rng.random() < 0.1),
                        annotator="bob",
                    )
    seconds = time.perf_counter() - started
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.execute("ANALYZE")
    db.close()
    return {"papers": papers, "seconds": seconds, "bytes": path.stat().st_size}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--papers", type=int, default=100_000)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    figures = build(args.out, args.papers, args.seed)
    print(
        f"built {figures['papers']:,} papers in {figures['seconds']:.1f} s "
        f"({figures['bytes'] / 1e6:.0f} MB) at {args.out}"
    )


if __name__ == "__main__":
    main()
