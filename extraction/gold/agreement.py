"""Inter-annotator agreement per field: percent agreement, Cohen's kappa, Krippendorff's alpha.

Over papers where two or more annotators (role ``annotator``) have a decision in effect on a
field. Answers are compared as (status, value). Krippendorff's alpha is computed from the
coincidence matrix (Krippendorff 2011, "Computing Krippendorff's Alpha-Reliability"): nominal
for every field, and interval for numeric fields over the items where coders gave numbers.
It is written out here (about 30 lines) rather than pulling numpy in through a package.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Hashable, Sequence
from itertools import combinations
from typing import Any

from sqlite_utils import Database

from extraction.evidence.normalize import format_value
from extraction.fields import FIELDS, FieldSpec, Status
from storage.models import decode_json


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


def interval(a: float, b: float) -> float:
    return (a - b) ** 2


def cohen_kappa(pairs: Sequence[tuple[Hashable, Hashable]]) -> float | None:
    """Cohen's kappa for two coders' labels on the same items."""
    if not pairs:
        return None
    observed = sum(1 for a, b in pairs if a == b) / len(pairs)
    first = Counter(a for a, _ in pairs)
    second = Counter(b for _, b in pairs)
    expected = sum(first[k] * second[k] for k in first) / (len(pairs) ** 2)
    if expected == 1:
        return 1.0 if observed == 1 else None
    return (observed - expected) / (1 - expected)


def _answers(
    db: Database, fields: Sequence[str]
) -> dict[str, dict[str, dict[str, tuple[str, Any, str]]]]:
    """field -> paper -> annotator -> (status, value, value JSON)."""
    marks = ", ".join("?" for _ in fields)
    found: dict[str, dict[str, dict[str, tuple[str, Any, str]]]] = {f: {} for f in fields}
    for field, paper, annotator, status, raw in db.execute(
        f"SELECT field, paper_id, annotator, status, value FROM decision_state "
        f"WHERE role = 'annotator' AND field IN ({marks})",
        list(fields),
    ):
        found[field].setdefault(paper, {})[annotator] = (status or "", decode_json(raw), raw or "")
    return found


def agreement(db: Database, fields: Sequence[FieldSpec] = FIELDS) -> dict[str, Any]:
    """Agreement figures per field, and every disagreement."""
    answers = _answers(db, [spec.name for spec in fields])
    report: dict[str, Any] = {"annotators": [], "fields": {}, "disagreements": []}
    everyone: set[str] = set()
    for spec in fields:
        items = {p: a for p, a in answers[spec.name].items() if len(a) >= 2}
        for by_annotator in items.values():
            everyone.update(by_annotator)
        labels = [
            [(status, raw) for status, _, raw in by_annotator.values()]
            for by_annotator in items.values()
        ]
        pair_scores = []
        for values in labels:
            pairs = list(combinations(values, 2))
            pair_scores.append(sum(1 for a, b in pairs if a == b) / len(pairs))
        coders = Counter(c for by_annotator in items.values() for c in by_annotator)
        kappa, kappa_pair = None, None
        if len(coders) >= 2:
            first, second = (name for name, _ in coders.most_common(2))
            both = [
                ((a[first][0], a[first][2]), (a[second][0], a[second][2]))
                for a in items.values()
                if first in a and second in a
            ]
            kappa, kappa_pair = cohen_kappa(both), sorted([first, second])
        figures: dict[str, Any] = {
            "n": len(items),
            "percent_agreement": 100 * sum(pair_scores) / len(pair_scores) if pair_scores else None,
            "cohen_kappa": kappa,
            "kappa_annotators": kappa_pair,
            "alpha_nominal": krippendorff_alpha(labels, nominal),
        }
        if spec.is_numeric:
            numbers = [
                [
                    float(value)
                    for status, value, _ in a.values()
                    if status == Status.REPORTED and value is not None
                ]
                for a in items.values()
            ]
            figures["alpha_interval"] = krippendorff_alpha(numbers, interval)
        report["fields"][spec.name] = figures
        for paper, by_annotator in items.items():
            if len({(s, raw) for s, _, raw in by_annotator.values()}) > 1:
                report["disagreements"].append(
                    {
                        "paper": paper,
                        "field": spec.name,
                        "answers": {
                            who: (
                                format_value(spec, value) if status == Status.REPORTED else status
                            )
                            for who, (status, value, _) in sorted(by_annotator.items())
                        },
                    }
                )
    report["annotators"] = sorted(everyone)
    return report
