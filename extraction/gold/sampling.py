"""Drawing a gold sample: which papers to verify, in which order, by whom.

**Frame.** Every paper in the database when the sample is first drawn, with its stratum: the
value of each stratifying column (a metadata column such as ``venue``, or ``run:FIELD``, the
status the run proposed for that field) joined by `` | ``. The frame is stored with the
sample: it is the corpus the sample's estimates describe.

**Draw.** Each paper gets a key from a hash of the seed and its id (BLAKE2b), the same on
every machine and in every database holding that paper. Within each stratum the sample is the
papers with the smallest keys — a simple random sample without replacement. Sample sizes
follow the strata's sizes (proportional allocation, largest remainder first), with at least
two papers in every stratum that has two, so every stratum's variance can be estimated. The
inclusion probability of a paper is its stratum's sample size over its stratum's size.

**Order.** Strata are interleaved so that any first part of the sample is itself close to a
proportional stratified sample (a stratum's k-th paper comes at about k / n_h of the way);
within a stratum, papers come in key order, so the papers reviewed first in a stratum are a
simple random sample of it.

**Growing.** Drawing again under the same name with a larger ``--size`` keeps every earlier
paper where it was and appends the next papers by key in each stratum, giving each new unit to
the stratum furthest below its proportional share.

**Annotators.** Paper ``i`` (0-based, in sample order) goes to annotator ``i mod k``; a share
``overlap`` of the papers, spread evenly through the sample, also goes to a second annotator,
rotating through the others, so every pair of annotators shares papers for agreement figures.
"""

from __future__ import annotations

import hashlib
import heapq
import math
import secrets
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

from sqlite_utils import Database

from extraction.fields import FIELD_NAMES
from extraction.safe_text import name_problem
from storage import metadata as metadata_store
from storage import runs as run_store
from storage import samples as sample_store
from storage.errors import GoldsmithError
from storage.runs import Run
from storage.samples import NO_VALUE, Sample, SampledPaper, StratumSize

RUN_PREFIX = "run:"
NOT_EXTRACTED = "(not extracted)"
"""The ``run:FIELD`` stratum of a paper the run has not done."""
MIN_PER_STRATUM = 2
SEPARATOR = " | "


class SampleError(GoldsmithError, ValueError):
    """The sample cannot be drawn as asked; the message says why, for the user."""


@dataclass(frozen=True)
class Drawn:
    """The outcome of :func:`draw`: the sample's design and what this call added."""

    sample: Sample
    strata: list[StratumSize]
    added: int
    created: bool
    assignments: dict[str, int]
    double: int
    run: Run | None


def key(seed: int, paper_id: str) -> int:
    """A paper's place in the random order of a seed (64 bits of BLAKE2b)."""
    digest = hashlib.blake2b(f"{seed}:{paper_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def parse_annotators(text: str | None) -> tuple[str, ...]:
    """``a,b,c`` as names (stripped, in order, no repeats)."""
    if not text:
        return ()
    names = tuple(name.strip() for name in text.split(","))
    if any(not name for name in names):
        raise SampleError("--annotators: an empty name (write them as a,b,c)")
    for name in names:
        if problem := name_problem(name, "an annotator name"):
            raise SampleError(f"--annotators: {problem}")
    if len(set(names)) != len(names):
        raise SampleError("--annotators: a name is given twice")
    return names


def frame_strata(db: Database, strata: Sequence[str], run: Run | None) -> list[tuple[str, str]]:
    """Every paper with its stratum label, in paper id order."""
    columns: list[dict[str, str]] = []
    known = set(metadata_store.columns(db))
    for spec in strata:
        if spec.startswith(RUN_PREFIX):
            field = spec.removeprefix(RUN_PREFIX)
            if field not in FIELD_NAMES:
                raise SampleError(
                    f"--strata {spec}: no field {field!r}; fields are: {', '.join(FIELD_NAMES)}"
                )
            if run is None:
                raise SampleError(f"--strata {spec}: no run to read proposals from (--run NAME)")
            done = run_store.done_papers(db, run.id)
            statuses = {
                str(paper): str(status)
                for paper, status in db.execute(
                    "SELECT paper_id, status FROM proposals WHERE run_id = ? AND field = ?",
                    [run.id, field],
                )
            }
            # A field the run left out of a paper it did counts as not reported (as in score).
            column: dict[str, str] = defaultdict(lambda: NOT_EXTRACTED)
            for paper in done:
                column[paper] = statuses.get(paper, "not_reported")
            columns.append(column)
        else:
            if spec not in known:
                listed = ", ".join(sorted(known)) or "none yet: load some with import-metadata"
                raise SampleError(
                    f"--strata {spec}: no metadata column {spec!r} (columns: {listed})"
                )
            columns.append(defaultdict(lambda: NO_VALUE, metadata_store.values_of(db, spec)))
    papers = [str(row[0]) for row in db.execute("SELECT id FROM papers ORDER BY id")]
    if not columns:
        return [(paper, "all") for paper in papers]
    return [(paper, SEPARATOR.join(column[paper] for column in columns)) for paper in papers]


def allocate(population: dict[str, int], size: int, current: dict[str, int]) -> dict[str, int]:
    """Sample sizes per stratum: at least ``current`` (a sample only grows) and at least two
    where a stratum has two, then each further paper to the stratum furthest below its
    proportional share ``size · N_h / N`` (ties: by stratum name)."""
    total = sum(population.values())
    sizes = {h: max(current.get(h, 0), min(MIN_PER_STRATUM, n)) for h, n in population.items()}
    if sum(sizes.values()) > size:
        needed = sum(sizes.values())
        raise SampleError(
            f"--size {size} is too small for {len(population)} strata: each needs at least "
            f"{MIN_PER_STRATUM} papers ({needed} in all); use fewer strata or a larger size"
        )
    heap = [(-(size * n / total - sizes[h]), h) for h, n in population.items() if sizes[h] < n]
    heapq.heapify(heap)
    for _ in range(size - sum(sizes.values())):
        deficit, h = heapq.heappop(heap)
        sizes[h] += 1
        if sizes[h] < population[h]:
            heapq.heappush(heap, (deficit + 1, h))
    return sizes


def assignees(index: int, annotators: Sequence[str], overlap: Fraction) -> tuple[str, ...]:
    """Who reviews the paper at ``index`` (0-based) of the sample."""
    k = len(annotators)
    if k == 0:
        return ()
    first = annotators[index % k]
    if k == 1 or math.floor((index + 1) * overlap) == math.floor(index * overlap):
        return (first,)
    doubles_before = math.floor(index * overlap)
    second = annotators[(index + 1 + doubles_before % (k - 1)) % k]
    return (first, second)


def _interleaved(
    new: dict[str, list[str]], seed: int, keys: dict[str, int]
) -> list[tuple[str, str]]:
    """New papers of each stratum (in key order) merged so each stratum is spread evenly."""
    timed = []
    for stratum, papers in new.items():
        offset = key(seed, f"stratum:{stratum}") / 2**64
        for rank, paper in enumerate(papers):
            timed.append(((rank + offset) / len(papers), keys[paper], paper, stratum))
    timed.sort()
    return [(paper, stratum) for _, _, paper, stratum in timed]


def draw(
    db: Database,
    name: str,
    size: int,
    *,
    strata: Sequence[str] | None = None,
    seed: int | None = None,
    run_name: str | None = None,
    annotators: Sequence[str] | None = None,
    overlap: float | None = None,
) -> Drawn:
    """Draw the sample ``name`` of ``size`` papers, or grow it to that size.

    Args:
        strata: Stratify by these (metadata columns, ``run:FIELD``); none for a simple sample.
            Growing keeps the sample's own; giving different ones is an error.
        seed: The random seed (a new sample gets a random one when none is given; growing
            keeps the sample's).
        run_name: The run ``run:FIELD`` strata read (default: the latest run).
        annotators: Who reviews; ``overlap`` the share of papers given to two of them.

    Raises:
        SampleError: The sample cannot be drawn as asked (message for the user).
    """
    if not name.strip() or not name.isprintable():
        raise SampleError("a sample's name must be printable text")
    if size < 1:
        raise SampleError("--size must be at least 1")
    existing = sample_store.get_sample(db, name)
    wanted_overlap = Fraction(overlap if overlap is not None else 0).limit_denominator(10_000)
    if existing is not None:
        return _grow(db, existing, size, strata, seed, run_name, annotators, overlap)
    names = tuple(annotators or ())
    if wanted_overlap and len(names) < 2:
        raise SampleError("--overlap needs at least two --annotators")
    if not 0 <= wanted_overlap <= 1:
        raise SampleError("--overlap is a share of the papers, from 0 to 1")
    specs = tuple(strata or ())
    if len(set(specs)) != len(specs):
        raise SampleError("--strata: a column is given twice")
    run = None
    if any(spec.startswith(RUN_PREFIX) for spec in specs):
        run = run_store.get_run(db, run_name) if run_name else run_store.latest_run(db)
        if run is None:
            raise SampleError(
                f"--run: no run named {run_name!r}"
                if run_name
                else "--strata run:FIELD: no run yet"
            )
    chosen_seed = seed if seed is not None else secrets.randbelow(2**31)
    frame = frame_strata(db, specs, run)
    if size > len(frame):
        raise SampleError(f"--size {size} is more than the {len(frame)} papers in the database")
    population: dict[str, int] = defaultdict(int)
    for _, stratum in frame:
        population[stratum] += 1
    sizes = allocate(dict(population), size, {})
    keys = {paper: key(chosen_seed, paper) for paper, _ in frame}
    members: dict[str, list[str]] = defaultdict(list)
    for paper, stratum in frame:
        members[stratum].append(paper)
    new = {h: sorted(papers, key=keys.__getitem__)[: sizes[h]] for h, papers in members.items()}
    ordered = _interleaved({h: p for h, p in new.items() if p}, chosen_seed, keys)
    table = _sizes(population, sizes)
    probability = {s.stratum: s.inclusion_probability for s in table}
    papers = [
        SampledPaper(
            paper,
            index + 1,
            stratum,
            probability[stratum],
            assignees(index, names, wanted_overlap),
        )
        for index, (paper, stratum) in enumerate(ordered)
    ]
    sample = sample_store.create_sample(
        db,
        name=name,
        seed=chosen_seed,
        strata=specs,
        run_id=run.id if run else None,
        annotators=names,
        overlap=float(wanted_overlap),
        frame=frame,
        sizes=table,
        papers=papers,
    )
    return _drawn(db, sample, len(papers), True, run)


def _sizes(population: dict[str, int], sizes: dict[str, int]) -> list[StratumSize]:
    return sorted(
        (StratumSize(h, n, sizes[h]) for h, n in population.items()),
        key=lambda s: (-s.population, s.stratum),
    )


def _drawn(db: Database, sample: Sample, added: int, created: bool, run: Run | None) -> Drawn:
    return Drawn(
        sample,
        sample_store.strata_sizes(db, sample.id),
        added,
        created,
        sample_store.assignment_counts(db, sample.id),
        sample_store.double_annotated(db, sample.id),
        run,
    )


def _grow(
    db: Database,
    sample: Sample,
    size: int,
    strata: Sequence[str] | None,
    seed: int | None,
    run_name: str | None,
    annotators: Sequence[str] | None,
    overlap: float | None,
) -> Drawn:
    run = run_store.run_by_id(db, sample.run_id) if sample.run_id is not None else None
    if strata and tuple(strata) != sample.strata:
        shown = ", ".join(sample.strata) or "nothing (a simple random sample)"
        raise SampleError(
            f"sample {sample.name!r} is stratified by {shown}; a grown sample keeps its design "
            "(draw a new sample under another name)"
        )
    if seed is not None and seed != sample.seed:
        raise SampleError(
            f"sample {sample.name!r} was drawn with seed {sample.seed}; a grown sample keeps it"
        )
    if run_name is not None and (run is None or run.name != run_name):
        raise SampleError(f"sample {sample.name!r} reads its strata from another run")
    if size < sample.size:
        raise SampleError(
            f"sample {sample.name!r} has {sample.size} papers; a sample only grows "
            "(draw a new one under another name)"
        )
    names = tuple(annotators) if annotators else sample.annotators
    share = Fraction(overlap if overlap is not None else sample.overlap).limit_denominator(10_000)
    if share and len(names) < 2:
        raise SampleError("--overlap needs at least two --annotators")
    if size == sample.size:
        return _drawn(db, sample, 0, False, run)
    frame = sample_store.frame(db, sample.id)
    if size > len(frame):
        raise SampleError(
            f"--size {size} is more than the {len(frame)} papers of the sample's frame "
            "(papers added since it was drawn are not in it: draw a new sample to include them)"
        )
    population: dict[str, int] = defaultdict(int)
    members: dict[str, list[str]] = defaultdict(list)
    for paper, stratum in frame:
        population[stratum] += 1
        members[stratum].append(paper)
    current = {s.stratum: s.size for s in sample_store.strata_sizes(db, sample.id)}
    sizes = allocate(dict(population), size, current)
    keys = {paper: key(sample.seed, paper) for paper, _ in frame}
    new = {
        h: sorted(papers, key=keys.__getitem__)[current.get(h, 0) : sizes[h]]
        for h, papers in members.items()
    }
    ordered = _interleaved({h: p for h, p in new.items() if p}, sample.seed, keys)
    table = _sizes(population, sizes)
    probability = {s.stratum: s.inclusion_probability for s in table}
    papers = [
        SampledPaper(
            paper,
            sample.size + index + 1,
            stratum,
            probability[stratum],
            assignees(sample.size + index, names, share),
        )
        for index, (paper, stratum) in enumerate(ordered)
    ]
    grown = sample_store.grow_sample(
        db, sample, annotators=names, overlap=float(share), sizes=table, papers=papers
    )
    return _drawn(db, grown, len(papers), False, run)
