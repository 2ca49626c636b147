"""Gold-set samples: each sample's design, its frame, and its papers in review order.

``samples`` holds the design (seed, size, stratification, annotators, overlap);
``sample_frame`` every paper of the corpus when the sample was drawn, with its stratum (the
population the sample's estimates are about); ``sample_strata`` papers and sample size per
stratum; ``sample_papers`` the sample in review order with each paper's stratum, inclusion
probability and assigned annotators; ``sample_assignments`` one row per annotator and paper.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlite_utils import Database

from storage.db import now, write

NO_VALUE = "(none)"
"""The stratum value of a paper that has no value for a stratifying column."""


@dataclass(frozen=True, slots=True)
class Sample:
    """A sample's design."""

    id: int
    name: str
    seed: int
    size: int
    strata: tuple[str, ...]
    """What it is stratified by: metadata columns and ``run:FIELD``; empty for a simple sample."""
    run_id: int | None
    """The run whose proposals ``run:FIELD`` strata were read from."""
    annotators: tuple[str, ...]
    overlap: float
    frame_papers: int
    created_at: str
    updated_at: str

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Sample:
        return cls(
            id=row["id"],
            name=row["name"],
            seed=row["seed"],
            size=row["size"],
            strata=tuple(json.loads(row["strata"])),
            run_id=row["run_id"],
            annotators=tuple(json.loads(row["annotators"])),
            overlap=row["overlap"],
            frame_papers=row["frame_papers"],
            created_at=row["created_at"],
            updated_at=row["updated_at"],
        )

    @property
    def stratified(self) -> bool:
        return bool(self.strata)


@dataclass(frozen=True, slots=True)
class StratumSize:
    """One stratum: papers of the frame in it, and how many of them are in the sample."""

    stratum: str
    population: int
    size: int

    @property
    def inclusion_probability(self) -> float:
        return self.size / self.population if self.population else 0.0


@dataclass(frozen=True, slots=True)
class SampledPaper:
    """One paper of a sample."""

    paper_id: str
    position: int
    """1-based place in review order."""
    stratum: str
    inclusion_probability: float
    annotators: tuple[str, ...] = ()


def get_sample(db: Database, name: str) -> Sample | None:
    rows = list(db.query("SELECT * FROM samples WHERE name = ?", [name]))
    return Sample.from_row(rows[0]) if rows else None


def list_samples(db: Database) -> list[Sample]:
    """Every sample, the most recently changed first."""
    return [
        Sample.from_row(row)
        for row in db.query("SELECT * FROM samples ORDER BY updated_at DESC, id DESC")
    ]


def _write_strata(db: Database, sample_id: int, strata: Sequence[StratumSize]) -> None:
    db.execute("DELETE FROM sample_strata WHERE sample_id = ?", [sample_id])
    db.conn.executemany(
        "INSERT INTO sample_strata (sample_id, stratum, population, size) VALUES (?, ?, ?, ?)",
        [(sample_id, s.stratum, s.population, s.size) for s in strata],
    )
    for s in strata:
        db.execute(
            "UPDATE sample_papers SET inclusion_probability = ? "
            "WHERE sample_id = ? AND stratum = ?",
            [s.inclusion_probability, sample_id, s.stratum],
        )


def _write_papers(db: Database, sample_id: int, papers: Sequence[SampledPaper], at: str) -> None:
    db.conn.executemany(
        "INSERT INTO sample_papers (sample_id, paper_id, position, stratum, "
        "inclusion_probability, annotators, added_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        [
            (
                sample_id,
                p.paper_id,
                p.position,
                p.stratum,
                p.inclusion_probability,
                "; ".join(p.annotators),
                at,
            )
            for p in papers
        ],
    )
    db.conn.executemany(
        "INSERT INTO sample_assignments (sample_id, annotator, position, paper_id) "
        "VALUES (?, ?, ?, ?)",
        [(sample_id, name, p.position, p.paper_id) for p in papers for name in p.annotators],
    )


def create_sample(
    db: Database,
    *,
    name: str,
    seed: int,
    strata: Sequence[str],
    run_id: int | None,
    annotators: Sequence[str],
    overlap: float,
    frame: Sequence[tuple[str, str]],
    sizes: Sequence[StratumSize],
    papers: Sequence[SampledPaper],
) -> Sample:
    """Store a new sample, its frame ``(paper_id, stratum)`` and its papers, in one transaction."""
    at = now()
    with write(db):
        cursor = db.execute(
            "INSERT INTO samples (name, seed, size, strata, run_id, annotators, overlap, "
            "frame_papers, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                name,
                seed,
                len(papers),
                json.dumps(list(strata)),
                run_id,
                json.dumps(list(annotators)),
                overlap,
                len(frame),
                at,
                at,
            ],
        )
        sample_id = int(cursor.lastrowid or 0)
        db.conn.executemany(
            "INSERT INTO sample_frame (sample_id, paper_id, stratum) VALUES (?, ?, ?)",
            [(sample_id, paper_id, stratum) for paper_id, stratum in frame],
        )
        _write_papers(db, sample_id, papers, at)
        _write_strata(db, sample_id, sizes)
    found = get_sample(db, name)
    assert found is not None
    return found


def grow_sample(
    db: Database,
    sample: Sample,
    *,
    annotators: Sequence[str],
    overlap: float,
    sizes: Sequence[StratumSize],
    papers: Sequence[SampledPaper],
) -> Sample:
    """Add papers after a sample's last one (one transaction); the earlier ones keep their
    places and assignments, and every paper's inclusion probability follows its stratum's
    new size."""
    at = now()
    with write(db):
        _write_papers(db, sample.id, papers, at)
        _write_strata(db, sample.id, sizes)
        db.execute(
            "UPDATE samples SET size = ?, annotators = ?, overlap = ?, updated_at = ? WHERE id = ?",
            [sample.size + len(papers), json.dumps(list(annotators)), overlap, at, sample.id],
        )
    found = get_sample(db, sample.name)
    assert found is not None
    return found


def frame(db: Database, sample_id: int) -> list[tuple[str, str]]:
    """The sample's frame, ``(paper_id, stratum)`` in paper id order."""
    return [
        (str(paper), str(stratum))
        for paper, stratum in db.execute(
            "SELECT paper_id, stratum FROM sample_frame WHERE sample_id = ? ORDER BY paper_id",
            [sample_id],
        )
    ]


def strata_sizes(db: Database, sample_id: int) -> list[StratumSize]:
    """Papers and sample size per stratum, largest stratum first."""
    return [
        StratumSize(str(stratum), int(population), int(size))
        for stratum, population, size in db.execute(
            "SELECT stratum, population, size FROM sample_strata WHERE sample_id = ? "
            "ORDER BY population DESC, stratum",
            [sample_id],
        )
    ]


def sampled_papers(db: Database, sample_id: int) -> list[SampledPaper]:
    """The sample in review order."""
    return [
        SampledPaper(
            str(paper),
            int(position),
            str(stratum),
            float(probability),
            tuple(name for name in str(annotators).split("; ") if name),
        )
        for paper, position, stratum, probability, annotators in db.execute(
            "SELECT paper_id, position, stratum, inclusion_probability, annotators "
            "FROM sample_papers WHERE sample_id = ? ORDER BY position",
            [sample_id],
        )
    ]


def assignment_counts(db: Database, sample_id: int) -> dict[str, int]:
    """Papers assigned to each annotator of the sample."""
    return {
        str(name): int(count)
        for name, count in db.execute(
            "SELECT annotator, COUNT(*) FROM sample_assignments WHERE sample_id = ? "
            "GROUP BY annotator ORDER BY annotator",
            [sample_id],
        )
    }


def double_annotated(db: Database, sample_id: int) -> int:
    """Papers of the sample assigned to two or more annotators."""
    row = db.execute(
        "SELECT COUNT(*) FROM (SELECT position FROM sample_assignments WHERE sample_id = ? "
        "GROUP BY position HAVING COUNT(*) > 1)",
        [sample_id],
    ).fetchone()
    return int(row[0])


def sample_paper_ids(db: Database, sample_id: int) -> list[str]:
    """The sample's paper ids in review order."""
    return [
        str(row[0])
        for row in db.execute(
            "SELECT paper_id FROM sample_papers WHERE sample_id = ? ORDER BY position",
            [sample_id],
        )
    ]


def run_statuses(
    db: Database, run_id: int, with_values: Sequence[str] = ()
) -> Iterator[tuple[str, str, str, str | None]]:
    """Every proposal of a run as ``(paper_id, field, status, value JSON)``, the value read
    only for the fields in ``with_values`` (reading all of them for a large corpus costs more
    than everything else an estimate does)."""
    marks = ", ".join("?" for _ in with_values) or "NULL"
    yield from db.execute(
        f"SELECT paper_id, field, status, CASE WHEN field IN ({marks}) THEN value END "
        "FROM proposals WHERE run_id = ?",
        [*with_values, run_id],
    )


def proposals_of(
    db: Database, run_id: int, paper_ids: Sequence[str]
) -> dict[tuple[str, str], tuple[str, str | None]]:
    """A run's proposals for some papers: ``(paper_id, field) -> (status, value JSON)``."""
    found: dict[tuple[str, str], tuple[str, str | None]] = {}
    for start in range(0, len(paper_ids), 500):
        chunk = list(paper_ids[start : start + 500])
        marks = ", ".join("?" for _ in chunk)
        for paper, name, status, value in db.execute(
            f"SELECT paper_id, field, status, value FROM proposals WHERE run_id = ? "
            f"AND paper_id IN ({marks})",
            [run_id, *chunk],
        ):
            found[(str(paper), str(name))] = (str(status), value)
    return found
