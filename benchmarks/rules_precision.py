"""How precise the rules engine is on the real-paper corpus, against hand-written labels.

The labels (``tests/data/corpus_labels.json``) are one reading of every corpus paper and field
per the product contract: status, value, and the page and quote where it is stated, with a
note where the reading is a judgement. Each paper-field is scored with the project's own
matcher (:func:`extraction.gold.scoring.outcome`), so the table means what ``goldsmith score``
would print after importing the labels as gold.

Run: ``python -m benchmarks.rules_precision`` (``--errors`` lists every paper-field that is not
correct, ``--json`` prints the figures as JSON).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.common import CORPUS, REPO
from extraction.engines import rules
from extraction.evidence.normalize import format_value, normalize_value
from extraction.fields import FIELDS, Status
from extraction.gold.scoring import DEFAULT_TOLERANCE, OUTCOMES, outcome
from extraction.pdf.text import read_pdf

LABELS = REPO / "tests" / "data" / "corpus_labels.json"


@dataclass(frozen=True, slots=True)
class Scored:
    """One paper-field: the label, what the engine proposed, and the outcome."""

    file: str
    field: str
    outcome: str
    gold_status: str
    gold_value: Any
    run_status: str
    run_value: Any
    quote: str | None


def load_labels(path: Path = LABELS) -> dict[str, dict[str, dict[str, Any]]]:
    """The labels: file name → field → ``{"status", "value"?, "page"?, "quote"?, "note"?}``."""
    return json.loads(path.read_text())["papers"]


def score_rules(
    corpus: Path = CORPUS, labels: dict[str, dict[str, dict[str, Any]]] | None = None
) -> list[Scored]:
    """Run the rules engine on every labelled corpus paper and score each field."""
    labels = labels if labels is not None else load_labels()
    scored = []
    for file, fields in sorted(labels.items()):
        texts = read_pdf(corpus / file).texts
        proposals = {p.field: p for p in rules.extract(texts)}
        for spec in FIELDS:
            label = fields[spec.name]
            gold_value = label.get("value")
            if label["status"] == Status.REPORTED:
                gold_value = normalize_value(spec, gold_value)
            proposal = proposals[spec.name]
            result = outcome(
                spec,
                label["status"],
                gold_value,
                proposal.status,
                proposal.value,
                DEFAULT_TOLERANCE,
            )
            scored.append(
                Scored(
                    file,
                    spec.name,
                    result,
                    label["status"],
                    gold_value,
                    proposal.status,
                    proposal.value,
                    proposal.quote,
                )
            )
    return scored


def table(scored: list[Scored]) -> dict[str, Counter[str]]:
    """Outcome counts per field, and ``overall``."""
    counts: dict[str, Counter[str]] = {spec.name: Counter() for spec in FIELDS}
    for item in scored:
        counts[item.field][item.outcome] += 1
    counts["overall"] = sum(counts.values(), Counter())
    return counts


def _print_table(counts: dict[str, Counter[str]]) -> None:
    headers = ["field", *OUTCOMES, "accuracy"]
    rows = []
    for name, tally in counts.items():
        n = sum(tally.values())
        accuracy = f"{tally['correct'] / n:.3f}" if n else "-"
        rows.append([name, *(str(tally[o]) for o in OUTCOMES), accuracy])
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    print("  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)))
    for row in rows:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)))


def _shown(field: str, value: Any) -> str:
    spec = next(s for s in FIELDS if s.name == field)
    return format_value(spec, value) if value is not None else "-"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--errors", action="store_true", help="list every non-correct field")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    if not CORPUS.is_dir():
        print(f"no corpus at {CORPUS}; set GOLDSMITH_CORPUS", file=sys.stderr)
        return 1
    scored = score_rules()
    counts = table(scored)
    if args.json:
        print(json.dumps({name: dict(tally) for name, tally in counts.items()}, indent=2))
        return 0
    print(f"rules engine vs {LABELS.relative_to(REPO)} ({len(scored)} paper-fields)\n")
    _print_table(counts)
    if args.errors:
        print()
        for item in scored:
            if item.outcome == "correct":
                continue
            gold = (
                _shown(item.field, item.gold_value)
                if item.gold_status == Status.REPORTED
                else item.gold_status
            )
            print(
                f"{item.outcome:12} {item.field:22} {item.file:32} "
                f"gold={gold}  run={_shown(item.field, item.run_value)}"
            )
            if item.quote and item.outcome == "hallucinated":
                print(f"{'':14}quote: {item.quote[:150]!r}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
