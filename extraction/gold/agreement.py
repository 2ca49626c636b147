"""Inter-annotator agreement per field: percent agreement, Cohen's kappa, Krippendorff's alpha.

Over papers where two or more annotators (role ``annotator``) have a decision in effect on a
field. Two answers agree when scoring would call them the same answer
(:func:`extraction.gold.scoring.answers_agree`: the same status and matching values — catalog
names, the numeric tolerance, lists as sets), so "NVIDIA A100" and "NVIDIA A100 80GB", or 72
and 72.5 hours, are not counted as disagreements that scoring would forgive.

Krippendorff's alpha is computed from the coincidence matrix (Krippendorff 2011, "Computing
Krippendorff's Alpha-Reliability"), with a distance of 0 between answers that agree and 1
otherwise (``alpha_nominal``) and, for the numeric fields, which are all positive quantities
(counts, memory, hours, FLOP, USD), with the ratio metric ``((a - b) / (a + b))²`` over the
values given (``alpha_ratio``): the interval metric ``(a - b)²`` is swamped by scale on values
spanning orders of magnitude (64 vs 16 GPUs beside agreement on 6,144 reads 0.99996). The
maintained library for it (``krippendorff`` on PyPI) is licensed GPL-3.0, which this MIT
project cannot take on for these few lines; the tests check this code against Krippendorff's
published worked example for the nominal, interval and ratio metrics (and the library gives
the same 0.9073 on the GPU case).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Hashable, Sequence
from itertools import combinations
from typing import Any

from sqlite_utils import Database

from extraction.evidence.normalize import format_value
from extraction.fields import FIELDS, FieldSpec, Status
from extraction.gold.scoring import DEFAULT_TOLERANCE, answers_agree
from storage.models import decode_json_cached

Answer = tuple[str, str]
"""One annotator's answer on a field: (status, value as JSON text) — hashable."""


def krippendorff_alpha(
    units: Sequence[Sequence[Hashable]], distance: Callable[[Any, Any], float]
) -> float | None:
    """Alpha over ``units`` (each the values coders gave one item); ``None`` if undefined."""
    coincidences: dict[tuple[Any, Any], float] = {}
    for values in units:
        m = len(values)
        if m < 2:
            continue
        for i, a in enumerate(values):
            for j, b in enumerate(values):
                if i != j:
                    coincidences[(a, b)] = coincidences.get((a, b), 0.0) + 1 / (m - 1)
    totals: dict[Any, float] = {}
    for (a, _), weight in coincidences.items():
        totals[a] = totals.get(a, 0.0) + weight
    n = sum(totals.values())
    if n <= 1:
        return None
    observed = sum(w * distance(a, b) for (a, b), w in coincidences.items())
    expected = sum(totals[a] * totals[b] * distance(a, b) for a in totals for b in totals) / (n - 1)
    if expected == 0:
        return 1.0 if observed == 0 else None
    return 1 - observed / expected


def nominal(a: Any, b: Any) -> float:
    return 0.0 if a == b else 1.0


def ratio(a: float, b: float) -> float:
    """Krippendorff's ratio metric: differences relative to the size of the values."""
    total = a + b
    return 0.0 if total == 0 else ((a - b) / total) ** 2


def cohen_kappa(
    pairs: Sequence[tuple[Hashable, Hashable]],
    agree: Callable[[Any, Any], bool] = lambda a, b: a == b,
) -> float | None:
    """Cohen's kappa for two coders' answers on the same items.

    Chance agreement is the chance that an answer drawn from the first coder's answers and
    one drawn from the second's agree; with ``agree`` as equality this is Cohen's own
    ``sum_k p1(k) p2(k)``.
    """
    if not pairs:
        return None
    n = len(pairs)
    observed = sum(1 for a, b in pairs if agree(a, b)) / n
    first = Counter(a for a, _ in pairs)
    second = Counter(b for _, b in pairs)
    expected = sum(first[a] * second[b] for a in first for b in second if agree(a, b)) / (n * n)
    if expected == 1:
        return 1.0 if observed == 1 else None
    return (observed - expected) / (1 - expected)


def _answers(db: Database, fields: Sequence[str]) -> dict[str, dict[str, dict[str, Answer]]]:
    """field -> paper -> annotator -> (status, value JSON)."""
    marks = ", ".join("?" for _ in fields)
    found: dict[str, dict[str, dict[str, Answer]]] = {f: {} for f in fields}
    for field, paper, annotator, status, raw in db.execute(
        f"SELECT field, paper_id, annotator, status, value FROM decision_state "
        f"WHERE role = 'annotator' AND field IN ({marks})",
        list(fields),
    ):
        found[field].setdefault(paper, {})[annotator] = (status or "", raw or "")
    return found


def _agreement_of(spec: FieldSpec, tolerance: float) -> Callable[[Answer, Answer], bool]:
    """Whether two answers agree under the scoring's matching (cached: alpha and kappa compare
    every pair of distinct answers)."""
    cache: dict[tuple[Answer, Answer], bool] = {}

    def agree(a: Answer, b: Answer) -> bool:
        if a == b:
            return True
        key = (a, b) if a <= b else (b, a)
        if key not in cache:
            cache[key] = answers_agree(
                spec,
                (a[0], decode_json_cached(a[1] or None)),
                (b[0], decode_json_cached(b[1] or None)),
                tolerance,
            )
        return cache[key]

    return agree


def _as_distance(agree: Callable[[Answer, Answer], bool]) -> Callable[[Answer, Answer], float]:
    """The nominal distance under a notion of agreement: 0 for answers that agree, else 1."""

    def distance(a: Answer, b: Answer) -> float:
        return 0.0 if agree(a, b) else 1.0

    return distance


def agreement(
    db: Database, fields: Sequence[FieldSpec] = FIELDS, *, tolerance: float = DEFAULT_TOLERANCE
) -> dict[str, Any]:
    """Agreement figures per field, and every disagreement.

    Args:
        tolerance: Relative tolerance for numbers that are not counts, as in scoring.
    """
    answers = _answers(db, [spec.name for spec in fields])
    report: dict[str, Any] = {
        "annotators": [],
        "tolerance": tolerance,
        "fields": {},
        "disagreements": [],
    }
    everyone: set[str] = set()
    for spec in fields:
        agree = _agreement_of(spec, tolerance)
        items = {p: a for p, a in answers[spec.name].items() if len(a) >= 2}
        for by_annotator in items.values():
            everyone.update(by_annotator)
        labels = [list(by_annotator.values()) for by_annotator in items.values()]
        pair_scores = []
        for values in labels:
            pairs = list(combinations(values, 2))
            pair_scores.append(sum(1 for a, b in pairs if agree(a, b)) / len(pairs))
        coders = Counter(c for by_annotator in items.values() for c in by_annotator)
        kappa, kappa_pair = None, None
        if len(coders) >= 2:
            first, second = (name for name, _ in coders.most_common(2))
            both = [(a[first], a[second]) for a in items.values() if first in a and second in a]
            kappa, kappa_pair = cohen_kappa(both, agree), sorted([first, second])
        figures: dict[str, Any] = {
            "n": len(items),
            "percent_agreement": 100 * sum(pair_scores) / len(pair_scores) if pair_scores else None,
            "cohen_kappa": kappa,
            "kappa_annotators": kappa_pair,
            "alpha_nominal": krippendorff_alpha(labels, _as_distance(agree)),
        }
        if spec.is_numeric:
            numbers = [
                [
                    float(decode_json_cached(raw))
                    for status, raw in values
                    if status == Status.REPORTED and raw
                ]
                for values in labels
            ]
            figures["alpha_ratio"] = krippendorff_alpha(numbers, ratio)
        report["fields"][spec.name] = figures
        for paper, by_annotator in items.items():
            given = list(by_annotator.values())
            if not all(agree(a, b) for a, b in combinations(given, 2)):
                report["disagreements"].append(
                    {
                        "paper": paper,
                        "field": spec.name,
                        "answers": {
                            who: (
                                format_value(spec, decode_json_cached(raw))
                                if status == Status.REPORTED
                                else status
                            )
                            for who, (status, raw) in sorted(by_annotator.items())
                        },
                    }
                )
    report["annotators"] = sorted(everyone)
    return report
