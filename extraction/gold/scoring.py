"""Scoring extraction runs against the gold set, per field.

Each (run, gold) pair of a final gold field is **correct** (same status, and values match),
**wrong_value** (both reported, values differ), **hallucinated** (run reported, gold not
reported) or **missed** (run did not report a value the gold has). A field the run left out
counts as not reported. A run is scored only on papers it covered. Matching: text casefolded
with whitespace and punctuation normalised; accelerators through the catalog; integers
exactly; other numbers within a relative tolerance; lists as sets (with item-level
precision, recall and F1).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from sqlite_utils import Database

from extraction.evidence.catalog import same_accelerator
from extraction.evidence.textnorm import normalize
from extraction.fields import FIELDS, FieldSpec, Kind, Status
from storage import runs as run_store
from storage.gold import gold_field, iter_final
from storage.models import decode_json_cached
from storage.runs import Run

DEFAULT_TOLERANCE = 0.05
Z95 = 1.959963984540054
OUTCOMES = ("correct", "wrong_value", "hallucinated", "missed")


def wilson(successes: int, n: int, z: float = Z95) -> tuple[float, float] | None:
    """The Wilson score interval for a proportion (``None`` when ``n`` is 0)."""
    if n == 0:
        return None
    p = successes / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    margin = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    # At p = 0 or 1 the interval touches 0 or 1 exactly; floats would miss it by an ulp.
    low = 0.0 if successes == 0 else max(0.0, centre - margin)
    high = 1.0 if successes == n else min(1.0, centre + margin)
    return low, high


@lru_cache(maxsize=65536)
def text_key(value: Any) -> str:
    """Text compared casefolded, punctuation dropped, whitespace collapsed."""
    return " ".join(re.sub(r"[^\w\s]", " ", normalize(str(value))).split())


def values_match(spec: FieldSpec, gold: Any, run: Any, tolerance: float) -> bool:
    """Whether a run's value matches the gold value under the field's matching rule."""
    kind = spec.kind
    if kind is Kind.ACCELERATOR:
        return same_accelerator(str(gold), str(run))
    if kind in (Kind.COUNT, Kind.INTEGER):
        return gold == run
    if kind in (Kind.HOURS, Kind.DEVICE_HOURS, Kind.FLOP, Kind.USD):
        a, b = float(gold), float(run)
        return a == b or abs(a - b) <= tolerance * max(abs(a), abs(b))
    if kind in (Kind.TEXT_LIST, Kind.CHOICE_LIST):
        return {text_key(v) for v in gold} == {text_key(v) for v in run}
    if kind is Kind.CHOICE:
        return gold == run
    return text_key(gold) == text_key(run)


def answers_agree(
    spec: FieldSpec,
    first: tuple[str | None, Any],
    second: tuple[str | None, Any],
    tolerance: float = DEFAULT_TOLERANCE,
) -> bool:
    """Whether two (status, value) answers on a field are the same answer, as scoring sees it:
    the same status and, when both report a value, values that match (:func:`values_match`:
    catalog names, the numeric tolerance, lists as sets). Symmetric, unlike :func:`outcome`."""
    if first[0] != second[0]:
        return False
    if first[0] != Status.REPORTED:
        return True
    return values_match(spec, first[1], second[1], tolerance)


def outcome(
    spec: FieldSpec,
    gold_status: str,
    gold_value: Any,
    run_status: str | None,
    run_value: Any,
    tolerance: float,
) -> str:
    """The outcome class of one (run, gold) pair. A missing run answer is "not reported"."""
    claimed = run_status == Status.REPORTED
    if gold_status == Status.REPORTED:
        if not claimed:
            return "missed"
        return "correct" if values_match(spec, gold_value, run_value, tolerance) else "wrong_value"
    if gold_status == Status.NOT_REPORTED:
        return "hallucinated" if claimed else "correct"
    # Gold says the paper is ambiguous on this field: only "ambiguous" is right.
    if run_status == Status.AMBIGUOUS:
        return "correct"
    return "wrong_value" if claimed else "missed"


@dataclass
class Tally:
    """Counts for one field (or overall) of one run."""

    correct: int = 0
    wrong_value: int = 0
    hallucinated: int = 0
    missed: int = 0
    true_items: int = 0
    false_items: int = 0
    missed_items: int = 0
    has_items: bool = False

    @property
    def n(self) -> int:
        return self.correct + self.wrong_value + self.hallucinated + self.missed

    def add(self, other: Tally) -> None:
        for name in OUTCOMES:
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def as_json(self) -> dict[str, Any]:
        interval = wilson(self.correct, self.n)
        result: dict[str, Any] = {
            "n": self.n,
            **{name: getattr(self, name) for name in OUTCOMES},
            "accuracy": self.correct / self.n if self.n else None,
            "ci95": list(interval) if interval else None,
        }
        if self.has_items:
            tp, fp, fn = self.true_items, self.false_items, self.missed_items
            precision = tp / (tp + fp) if tp + fp else None
            recall = tp / (tp + fn) if tp + fn else None
            f1 = (
                2 * precision * recall / (precision + recall)
                if precision is not None and recall is not None and precision + recall
                else None
            )
            result["items"] = {"precision": precision, "recall": recall, "f1": f1}
        return result


@dataclass
class RunScore:
    fields: dict[str, Tally] = field(default_factory=dict)

    def overall(self) -> Tally:
        total = Tally()
        for tally in self.fields.values():
            total.add(tally)
        return total


BATCH = 500
"""Gold papers whose proposals are read in one query."""


def _proposals(
    db: Database, run_id: int, paper_ids: Sequence[str]
) -> dict[tuple[str, str], tuple[str, Any]]:
    """A run's proposals for some papers: (paper, field) -> (status, value as JSON text)."""
    if not paper_ids:
        return {}
    marks = ", ".join("?" for _ in paper_ids)
    rows = db.conn.execute(
        f"SELECT paper_id, field, status, value FROM proposals WHERE run_id = ? "
        f"AND paper_id IN ({marks})",
        [run_id, *paper_ids],
    )
    # Values stay JSON text here; a value is decoded only when it is compared.
    return {(paper, field): (status, value) for paper, field, status, value in rows}


def _count(
    tally: Tally,
    spec: FieldSpec,
    is_list: bool,
    gold: tuple[str | None, str | None],
    run_status: str | None,
    run_value: Any,
    tolerance: float,
) -> str:
    """Count one (run, gold) pair in ``tally``; its outcome."""
    gold_status = gold[0] or ""
    gold_value = decode_json_cached(gold[1])
    if run_status == Status.REPORTED or is_list:
        run_value = decode_json_cached(run_value)
    result = outcome(spec, gold_status, gold_value, run_status, run_value, tolerance)
    setattr(tally, result, getattr(tally, result) + 1)
    if is_list:
        gold_items = (
            {text_key(v) for v in (gold_value or [])} if gold_status == Status.REPORTED else set()
        )
        run_items = (
            {text_key(v) for v in (run_value or [])} if run_status == Status.REPORTED else set()
        )
        tally.true_items += len(gold_items & run_items)
        tally.false_items += len(run_items - gold_items)
        tally.missed_items += len(gold_items - run_items)
    return result


def _covered(db: Database, run_id: int) -> set[str]:
    # Every engine and import records the papers a run did in run_papers.
    return {
        row[0]
        for row in db.conn.execute(
            "SELECT paper_id FROM run_papers WHERE run_id = ? AND status = 'done'", [run_id]
        )
    }


def score_runs(
    db: Database,
    run_names: Sequence[str],
    *,
    tolerance: float = DEFAULT_TOLERANCE,
    include_partial: bool = False,
    fields: Sequence[FieldSpec] = FIELDS,
    errors: bool = False,
) -> dict[str, Any]:
    """Score runs against the gold set, in the JSON shape of ``score --json`` (docs/data.md).

    Args:
        include_partial: Also use final fields of papers not yet finished (the gold set "so
            far"); by default only papers whose every field is final, as ``export`` does.
        errors: Also list, per run, every paper-field that is not correct (``errors``: see
            :func:`field_errors`).

    Raises:
        LookupError: A run name does not exist.
    """
    runs = []
    for name in run_names:
        run = run_store.get_run(db, name)
        if run is None:
            raise LookupError(f"no run named {name!r}")
        runs.append(run)
    covered = {run.id: _covered(db, run.id) for run in runs}
    scores = {
        run.name: RunScore({spec.name: Tally(has_items=spec.is_list) for spec in fields})
        for run in runs
    }
    gold_papers = 0
    names = [spec.name for spec in fields]
    batch: list[tuple[str, dict[str, tuple[str | None, str | None]]]] = []

    plan = [(spec, spec.name, spec.is_list) for spec in fields]
    wrong: dict[str, list[tuple[str, str, str]]] = {run.name: [] for run in runs}
    """Per run: (paper, field, outcome) of every pair that is not correct."""

    def tally_batch() -> None:
        for run in runs:
            done = covered[run.id]
            wanted = [paper_id for paper_id, _ in batch if paper_id in done]
            proposed = _proposals(db, run.id, wanted)
            tallies = scores[run.name].fields
            for paper_id, final in batch:
                if paper_id not in done:
                    continue
                for spec, name, is_list in plan:
                    gold = final.get(name)
                    if gold is None:
                        continue
                    run_status, run_value = proposed.get((paper_id, name), (None, None))
                    result = _count(
                        tallies[name], spec, is_list, gold, run_status, run_value, tolerance
                    )
                    if errors and result != "correct":
                        wrong[run.name].append((paper_id, name, result))
        batch.clear()

    for paper_id, final, complete in iter_final(db, names):
        if not (complete or include_partial) or not final:
            continue
        gold_papers += 1
        batch.append((paper_id, final))
        if len(batch) >= BATCH:
            tally_batch()
    tally_batch()
    report: dict[str, Any] = {
        "gold_papers": gold_papers,
        "tolerance": tolerance,
        "runs": {
            name: {
                "fields": {f: tally.as_json() for f, tally in score.fields.items()},
                "overall": {k: v for k, v in score.overall().as_json().items() if k != "items"},
            }
            for name, score in scores.items()
        },
    }
    if errors:
        for run in runs:
            report["runs"][run.name]["errors"] = field_errors(db, run, wrong[run.name], fields)
    return report


def _answer(status: str | None, value: Any, page: int | None, quote: str | None) -> dict[str, Any]:
    return {"status": status, "value": value, "page": page, "quote": quote}


def field_errors(
    db: Database,
    run: Run,
    wrong: Sequence[tuple[str, str, str]],
    fields: Sequence[FieldSpec] = FIELDS,
) -> list[dict[str, Any]]:
    """Every (paper, field, outcome) a run got wrong, with what it answered and what the gold
    set says, sorted by field (in schema order), then file name, then paper id.

    Each item: ``field``, ``paper_id``, ``file``, ``title``, ``outcome``; ``run`` — the run's
    ``status`` (``null`` when it gave no answer, which counts as not reported), ``value``,
    ``page``, ``quote`` and ``grounding``; ``gold`` — its ``status``, ``value``, and the
    evidence (``page``, ``quote``), ``verdict`` and ``annotators`` of the decision that gives
    the gold value.
    """
    order = {spec.name: index for index, spec in enumerate(fields)}
    papers: dict[str, tuple[str, str | None]] = {}
    found: list[dict[str, Any]] = []
    # One indexed lookup per error (a run may get tens of thousands wrong; reading whole
    # papers' proposals through dataclasses cost ten times more).
    for paper_id, name, result in wrong:
        if paper_id not in papers:
            row = db.conn.execute(
                "SELECT file, title FROM papers WHERE id = ?", [paper_id]
            ).fetchone()
            papers[paper_id] = (row[0], row[1]) if row else ("", None)
        file, title = papers[paper_id]
        proposal = db.conn.execute(
            "SELECT status, value, page, quote, grounding FROM proposals "
            "WHERE run_id = ? AND paper_id = ? AND field = ?",
            [run.id, paper_id, name],
        ).fetchone()
        gold = gold_field(db, paper_id, name)
        chosen = gold.chosen
        found.append(
            {
                "field": name,
                "paper_id": paper_id,
                "file": file,
                "title": title,
                "outcome": result,
                "run": {
                    **(
                        _answer(None, None, None, None)
                        if proposal is None
                        else _answer(
                            proposal[0], decode_json_cached(proposal[1]), proposal[2], proposal[3]
                        )
                    ),
                    "grounding": proposal[4] if proposal else None,
                },
                "gold": {
                    **_answer(
                        gold.status,
                        gold.value,
                        chosen.page if chosen else None,
                        chosen.quote if chosen else None,
                    ),
                    "verdict": chosen.verdict if chosen else None,
                    "annotators": list(chosen.authors) if chosen else [],
                },
            }
        )
    found.sort(key=lambda e: (order.get(e["field"], len(order)), e["file"], e["paper_id"]))
    return found
