"""A synthetic corpus with a known truth, for testing corpus estimates (and their benchmark).

Each paper has a venue and a year; it discloses its GPU count with a probability set by its
year, and a "model" reports a count with a recall and a false-alarm rate set by the venue —
wrong in a known, biased way (it misses many arXiv disclosures, so its raw rate is too low).
The same corpus can be held as arrays (fast, for many seeds) or written into a goldsmith
database through the storage API (for the real commands).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from extraction.fields import FIELD_NAMES
from storage import metadata as metadata_store
from storage import open_database, write
from storage import papers as paper_store
from storage import runs as run_store
from storage.decisions import NewDecision, record
from storage.runs import NewProposal, PaperOutcome

VENUES = ("main", "workshop", "arxiv")
VENUE_SHARE = np.array([0.5, 0.3, 0.2])
YEARS = (2019, 2020, 2021, 2022, 2023)
DISCLOSURE_BY_YEAR = np.array([0.25, 0.30, 0.40, 0.50, 0.55])
RECALL_BY_VENUE = np.array([0.92, 0.65, 0.35])
FALSE_ALARM_BY_VENUE = np.array([0.03, 0.08, 0.15])
COUNTS = np.array([1, 2, 4, 8, 16, 64])
WRONG_COUNT = 0.1
"""Share of the model's reported counts (on disclosing papers) that are doubled."""
FIELD = "accelerator_count"


def expected_bias() -> float:
    """E[model's raw rate − true rate], from the parameters (years equally likely)."""
    rate = DISCLOSURE_BY_YEAR.mean()
    per_venue = rate * (RECALL_BY_VENUE - 1) + (1 - rate) * FALSE_ALARM_BY_VENUE
    return float((VENUE_SHARE * per_venue).sum())


@dataclass(frozen=True)
class Synthetic:
    """One synthetic corpus: per paper its venue and year (indexes into VENUES, YEARS), the
    truth and what the model proposed."""

    venue: npt.NDArray[np.int64]
    year: npt.NDArray[np.int64]
    disclosed: npt.NDArray[np.float64]
    proposed: npt.NDArray[np.float64]
    count: npt.NDArray[np.float64]
    """The true GPU count where disclosed, else 0."""
    proposed_count: npt.NDArray[np.float64]
    """The model's count where it reports one, else 0."""

    @property
    def papers(self) -> int:
        return len(self.venue)

    @property
    def true_rate(self) -> float:
        return float(self.disclosed.mean())

    @property
    def raw_rate(self) -> float:
        return float(self.proposed.mean())


def make(seed: int, papers: int = 2000) -> Synthetic:
    rng = np.random.default_rng(seed)
    venue = rng.choice(len(VENUES), size=papers, p=VENUE_SHARE)
    year = rng.integers(0, len(YEARS), size=papers)
    disclosed = (rng.random(papers) < DISCLOSURE_BY_YEAR[year]).astype(np.float64)
    hit = rng.random(papers) < RECALL_BY_VENUE[venue]
    alarm = rng.random(papers) < FALSE_ALARM_BY_VENUE[venue]
    proposed = np.where(disclosed == 1, hit, alarm).astype(np.float64)
    count = rng.choice(COUNTS, size=papers).astype(np.float64) * disclosed
    doubled = rng.random(papers) < WRONG_COUNT
    invented = rng.choice(COUNTS, size=papers).astype(np.float64)
    proposed_count = np.where(disclosed == 1, np.where(doubled, 2 * count, count), invented)
    return Synthetic(venue, year, disclosed, proposed, count, proposed_count * proposed)


def paper_sha(seed: int, index: int) -> str:
    return hashlib.sha256(f"synthetic paper {seed} {index}".encode()).hexdigest()


def write_db(path: Path, corpus: Synthetic, seed: int, run: str = "model") -> list[str]:
    """Write the corpus into a new goldsmith database: papers (one short page each), their
    venue and year as metadata, and the model's run. Returns the paper ids by index."""
    db = open_database(path)
    db.execute("PRAGMA synchronous=OFF")  # a throwaway test file
    ids: list[str] = []
    model = run_store.open_run(
        db, name=run, engine="import", model=None, host=None, schema_version=1, options={}
    )
    with write(db):
        for i in range(corpus.papers):
            text = f"Synthetic paper {i}. We trained on some GPUs."
            paper = paper_store.add_paper(
                db,
                sha256=paper_sha(seed, i),
                file=f"synthetic_{i:05}.pdf",
                path=None,
                title=f"Synthetic paper {i}",
                pages=[paper_store.NewPage(text, text.lower())],
            )
            ids.append(paper.id)
            proposals = [NewProposal(name, "not_reported") for name in FIELD_NAMES if name != FIELD]
            if corpus.proposed[i]:
                value = int(corpus.proposed_count[i])
                proposals.append(
                    NewProposal(FIELD, "reported", value, 1, text, "exact", 0, len(text), False)
                )
            else:
                proposals.append(NewProposal(FIELD, "not_reported"))
            run_store.save_paper(db, model.id, paper.id, proposals, PaperOutcome("done"))
    metadata_store.set_values(
        db,
        [
            (ids[i], {"venue": VENUES[corpus.venue[i]], "year": str(YEARS[corpus.year[i]])})
            for i in range(corpus.papers)
        ],
        source="synthetic",
    )
    db.close()
    return ids


def gold_decisions(corpus: Synthetic, index: int, paper_id: str) -> list[NewDecision]:
    """The truth of one paper as an annotator's decisions on every field."""
    decisions = [
        NewDecision(paper_id, name, "not_reported", "not_reported")
        for name in FIELD_NAMES
        if name != FIELD
    ]
    if corpus.disclosed[index]:
        decisions.append(
            NewDecision(paper_id, FIELD, "corrected", "reported", value=int(corpus.count[index]))
        )
    else:
        decisions.append(NewDecision(paper_id, FIELD, "not_reported", "not_reported"))
    return decisions


def record_gold(path: Path, corpus: Synthetic, ids: list[str], papers: list[str]) -> None:
    """Decide ``papers`` (ids) by the truth, as annotator ``gold``."""
    position = {paper: i for i, paper in enumerate(ids)}
    db = open_database(path)
    db.execute("PRAGMA synchronous=OFF")
    with write(db):
        for paper in papers:
            record(db, gold_decisions(corpus, position[paper], paper), annotator="gold")
    db.close()


# --- drawing gold samples from the arrays (what `goldsmith sample` does, for many seeds) -----


def strata_of(corpus: Synthetic, how: str) -> tuple[npt.NDArray[np.int64], list[str]]:
    """Each paper's stratum code and the strata's names: ``srs`` (one stratum), ``venue``,
    ``proposed`` (what the model said) or ``venue×proposed``."""
    proposed = corpus.proposed.astype(np.int64)
    if how == "srs":
        return np.zeros(corpus.papers, dtype=np.int64), ["all"]
    if how == "venue":
        return corpus.venue, list(VENUES)
    if how == "proposed":
        return proposed, ["not_reported", "reported"]
    if how == "venue×proposed":
        labels = [f"{v} | {p}" for v in VENUES for p in ("not_reported", "reported")]
        return corpus.venue * 2 + proposed, labels
    raise ValueError(how)


def draw_gold(
    strata: npt.NDArray[np.int64], labels: list[str], size: int, rng: np.random.Generator
) -> npt.NDArray[np.int64]:
    """A stratified simple random sample's positions, allocated as ``sample`` allocates."""
    from extraction.gold.sampling import allocate

    population = np.bincount(strata, minlength=len(labels))
    sizes = allocate({str(h): int(n) for h, n in enumerate(population) if n}, size, {})
    keys = rng.random(len(strata))
    order = np.lexsort((keys, strata))
    starts = np.concatenate([[0], np.cumsum(population)[:-1]])
    rank = np.empty(len(strata), dtype=np.int64)
    rank[order] = np.arange(len(strata)) - np.repeat(starts, population)
    wanted = np.array([sizes.get(str(h), 0) for h in range(len(labels))])
    return np.flatnonzero(rank < wanted[strata])
