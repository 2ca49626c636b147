"""The review queue: keyset pages, filters (both query forms agree), the look-back bound."""

from __future__ import annotations

from sqlite_utils import Database

from extraction.fields import FIELD_NAMES
from storage import papers as paper_store
from storage import queue
from storage import runs as run_store
from storage.decisions import NewDecision, record
from storage.queue import QueueFilter, QueueScope
from storage.runs import NewProposal, PaperOutcome


def build(db: Database, count: int = 40) -> tuple[list[str], int]:
    ids = []
    run = run_store.open_run(
        db, name="r", engine="import", model=None, host=None, schema_version=1, options={}
    )
    for number in range(count):
        paper = paper_store.add_paper(
            db,
            sha256=f"{number:03x}".ljust(64, "a"),
            file=f"{number}.pdf",
            path=None,
            title=f"P{number}",
            pages=[paper_store.NewPage("t", "t")],
        )
        ids.append(paper.id)
        grounding = "ungrounded" if number % 7 == 0 else "exact"
        run_store.save_paper(
            db,
            run.id,
            paper.id,
            [
                NewProposal(
                    f, "reported", 1, 1, "q", grounding if f == "accelerator_count" else "exact"
                )
                for f in FIELD_NAMES
            ],
            PaperOutcome("done"),
        )
    return ids, run.id


def scope(run_id: int, queue_filter: QueueFilter, annotator: str = "ann", **kw: bool) -> QueueScope:
    return QueueScope(annotator, tuple(FIELD_NAMES), run_id, filter=queue_filter, **kw)


def test_both_forms_of_the_ungrounded_filter_agree(db: Database) -> None:
    ids, run_id = build(db)
    dense = scope(run_id, QueueFilter.UNGROUNDED)
    sparse = scope(run_id, QueueFilter.UNGROUNDED, sparse_ungrounded=True)
    expected = [ids[n] for n in range(40) if n % 7 == 0]
    for form in (dense, sparse):
        assert [r.paper_id for r in queue.page_after(db, form, None, 100)] == expected
        assert queue.count(db, form) == len(expected)
    middle = queue.row_of(db, dense, ids[20])
    assert middle is not None
    assert [r.paper_id for r in queue.page_before(db, dense, middle.rowid, 2)] == [ids[7], ids[14]]
    assert [r.paper_id for r in queue.page_before(db, sparse, middle.rowid, 2)] == [ids[7], ids[14]]
    assert queue.ungrounded_is_sparse(db, run_id, FIELD_NAMES), "6 of 40 papers, under 1,000"


def test_flagged_and_undecided_filters(db: Database) -> None:
    ids, run_id = build(db)
    record(
        db,
        [NewDecision(ids[3], "gpu_hours", "ambiguous", "ambiguous", comment="?")],
        annotator="ann",
    )
    queue.add_comment(db, ids[9], "accelerator_type", "ann", "look again")
    queue.add_comment(db, ids[11], "accelerator_type", "someone else", "not ann's")
    flagged = scope(run_id, QueueFilter.FLAGGED)
    assert [r.paper_id for r in queue.page_after(db, flagged, None, 10)] == [ids[3], ids[9]]
    record(
        db,
        [NewDecision(ids[0], f, "not_reported", "not_reported") for f in FIELD_NAMES],
        annotator="ann",
    )
    undecided = scope(run_id, QueueFilter.UNDECIDED)
    first = queue.next_row(db, undecided, None)
    assert first is not None and first.paper_id == ids[1]
    assert queue.papers_done(db, undecided) == 1
    row = queue.row_of(db, undecided, ids[3])
    assert row is not None and (row.decided, row.flagged, row.status) == (1, 1, "flagged")


def test_look_back_bounds_only_the_context_window(db: Database) -> None:
    ids, run_id = build(db)
    for paper_id in ids[:30]:
        record(
            db,
            [NewDecision(paper_id, f, "not_reported", "not_reported") for f in FIELD_NAMES],
            annotator="ann",
        )
    undecided = scope(run_id, QueueFilter.UNDECIDED)
    current = queue.row_of(db, undecided, ids[35])
    assert current is not None
    assert [r.paper_id for r in queue.page_before(db, undecided, current.rowid, 3)] == ids[32:35]
    assert [
        r.paper_id for r in queue.page_before(db, undecided, current.rowid, 10, look_back=3)
    ] == ids[32:35]
    far = queue.row_of(db, undecided, ids[30])  # ids[20:30], just before it, are decided
    assert far is not None
    assert queue.page_before(db, undecided, far.rowid, 5, look_back=10) == []
    assert queue.previous_row(db, undecided, current.rowid).paper_id == ids[34]  # type: ignore[union-attr]
