"""The gold rule (docs/data.md), and its fast twin used by scoring, agree on any decisions."""

from __future__ import annotations

import uuid
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from storage import open_database
from storage import papers as paper_store
from storage.decisions import NewDecision, record, undo_last
from storage.gold import iter_final, iter_gold

FIELDS = ("accelerator_count", "gpu_hours", "research_setting")
PEOPLE = [("ann", "annotator"), ("bob", "annotator"), ("cyd", "annotator"), ("jud", "adjudicator")]

decision = st.tuples(
    st.integers(0, 2),  # paper
    st.sampled_from(FIELDS),
    st.sampled_from(PEOPLE),
    st.sampled_from(["8", "16", "not", "ambiguous", "undo"]),
)


def apply(db_path: Path, steps: list[tuple[int, str, tuple[str, str], str]]) -> None:
    db = open_database(db_path)
    ids = []
    for number in range(3):
        sha = f"{number:02x}" * 32  # the id is the first 16 hex digits
        paper_store.add_paper(
            db,
            sha256=sha,
            file=f"{number}.pdf",
            path=None,
            title=None,
            pages=[paper_store.NewPage("t", "t")],
        )
        ids.append(sha[:16])
    for paper, field, (who, role), what in steps:
        if what == "undo":
            undo_last(db, annotator=who, role=role)
            continue
        if what == "not":
            new = NewDecision(ids[paper], field, "not_reported", "not_reported")
        elif what == "ambiguous":
            new = NewDecision(ids[paper], field, "ambiguous", "ambiguous", comment="?")
        else:
            new = NewDecision(ids[paper], field, "corrected", "reported", value=int(what))
        record(db, [new], annotator=who, role=role)
    db.close()


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(decision, max_size=25))
def test_fast_rule_agrees_with_settle(tmp_path: Path, steps: list) -> None:
    path = tmp_path / f"{uuid.uuid4().hex}.db"
    apply(path, steps)
    db = open_database(path)
    slow = {}
    for gold in iter_gold(db, FIELDS, only_decided=True):
        finals = {
            name: (f.status, f.chosen.raw_value)  # type: ignore[union-attr]
            for name, f in gold.fields.items()
            if f.final
        }
        slow[gold.paper.id] = (finals, gold.complete)
    fast = {paper: (finals, complete) for paper, finals, complete in iter_final(db, FIELDS)}
    db.close()
    assert fast == slow
