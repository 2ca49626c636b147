"""The gold CSV round trip, for any values: export, import into a fresh database, export
again — the same bytes, and the same values decided."""

from __future__ import annotations

import io
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from extraction.evidence import catalog
from extraction.evidence.normalize import ValueProblem, normalize_value
from extraction.fields import FIELDS, FieldSpec, Kind
from extraction.gold.files import export_wide, import_gold
from storage import open_database
from storage import papers as paper_store
from storage.decisions import NewDecision, record
from storage.gold import iter_gold

# Text a spreadsheet or a hostile file might hold: formula prefixes, quotes, separators,
# brackets, non-ASCII; control characters are refused on the way in, so not generated.
CELL_TEXT = st.text(
    alphabet=st.characters(
        blacklist_categories=("Cc", "Cs", "Co", "Cn", "Zl", "Zp"),
        blacklist_characters="\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069",
    )
    | st.sampled_from(list("=+-@'\";,|[]")),
    min_size=1,
    max_size=40,
)


def raw_value(spec: FieldSpec) -> st.SearchStrategy[Any]:
    """Values as an annotator or a model might give them, before normalising."""
    number = {
        Kind.COUNT: st.integers(0, 1_000_000),
        Kind.INTEGER: st.integers(1, 4096),
        Kind.HOURS: st.floats(0, 200_000),
        Kind.DEVICE_HOURS: st.floats(0, 1e10),
        Kind.FLOP: st.floats(0, 1e30),
        Kind.USD: st.floats(0, 1e9),
    }
    if spec.kind in number:
        return number[spec.kind]
    if spec.kind is Kind.ACCELERATOR:
        return st.sampled_from(catalog.completions("", limit=1000)) | CELL_TEXT
    if spec.kind is Kind.CHOICE:
        return st.sampled_from(spec.allowed)
    if spec.kind is Kind.CHOICE_LIST:
        return st.lists(st.sampled_from(spec.allowed), min_size=1, max_size=3)
    if spec.kind is Kind.TEXT_LIST:
        return st.lists(CELL_TEXT, min_size=1, max_size=3)
    return CELL_TEXT


@st.composite
def gold_answers(draw: st.DrawFn) -> dict[str, Any]:
    """A canonical value (or None: not reported) for every field."""
    answers = {}
    for spec in FIELDS:
        if draw(st.booleans()):
            answers[spec.name] = None
            continue
        try:
            answers[spec.name] = normalize_value(spec, draw(raw_value(spec)))
        except ValueProblem:
            answers[spec.name] = None
    return answers


def new_database(folder: Path, name: str, title: str) -> tuple[Path, str]:
    path = folder / name
    db = open_database(path)
    paper = paper_store.add_paper(
        db,
        sha256="cd" * 32,
        file=f"{title[:10]}.pdf",
        path=None,
        title=title,
        pages=[paper_store.NewPage("text", "text")],
    )
    db.close()
    return path, paper.id


def export(db_path: Path) -> str:
    db = open_database(db_path)
    out = io.StringIO(newline="")
    assert export_wide(db, out).exported == 1
    db.close()
    return out.getvalue()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(answers=gold_answers(), title=CELL_TEXT)
def test_export_import_export_gives_the_same_file_and_values(
    answers: dict[str, Any], title: str
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        source, paper_id = new_database(Path(folder), "source.db", title)
        db = open_database(source)
        record(
            db,
            [
                NewDecision(paper_id, name, "not_reported", "not_reported")
                if value is None
                else NewDecision(paper_id, name, "corrected", "reported", value=value)
                for name, value in answers.items()
            ],
            annotator="alice",
        )
        db.close()
        first = export(source)
        csv_path = Path(folder) / "gold.csv"
        csv_path.write_text(first, encoding="utf-8", newline="")

        target, _ = new_database(Path(folder), "target.db", title)
        db = open_database(target)
        assert import_gold(db, csv_path, "carol").decisions == len(FIELDS)
        (gold,) = iter_gold(db, [spec.name for spec in FIELDS])
        db.close()
        assert {name: gold.fields[name].value for name in answers} == answers
        assert export(target) == first
