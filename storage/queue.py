"""The review queue: papers in order, with one annotator's progress, read a page at a time.

Every query is keyset-paged on ``papers.rowid`` (``WHERE rowid > ? LIMIT n``), so the first
screen costs the same on 100,000 papers as on 10. A queue over a gold sample (``review
--sample``) holds only the sample's papers (or one annotator's share of them) and is paged
on their position in the sample instead, so they come in sample order. Counts over the whole
queue (how many papers, how many done) scan everything and are meant for a background thread.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

from sqlite_utils import Database

from storage.db import now, write


class QueueFilter(StrEnum):
    """Which papers the queue shows (``f`` cycles through them)."""

    ALL = "all"
    UNDECIDED = "undecided"
    FLAGGED = "flagged"
    UNGROUNDED = "ungrounded"

    def next(self) -> QueueFilter:
        members = list(QueueFilter)
        return members[(members.index(self) + 1) % len(members)]


@dataclass(frozen=True, slots=True)
class QueueScope:
    """Whose progress, over which fields, against which run, filtered how."""

    annotator: str
    fields: tuple[str, ...]
    run_id: int | None = None
    role: str = "annotator"
    filter: QueueFilter = QueueFilter.ALL
    sparse_ungrounded: bool = False
    """Few papers have ungrounded evidence: find them through the index, not by scanning."""
    sample_id: int | None = None
    """Only the papers of this gold sample, in sample order."""
    share: str | None = None
    """With ``sample_id``: only the papers the sample assigns to this annotator."""

    def with_filter(self, queue_filter: QueueFilter) -> QueueScope:
        return replace(self, filter=queue_filter)


@dataclass(frozen=True, slots=True)
class QueueRow:
    """One line of the queue."""

    rowid: int
    """The paper's place in the queue: its rowid, or its position in the sample."""
    paper_id: str
    title: str
    pages: int
    decided: int
    """Fields of the scope this annotator has decided."""
    flagged: int
    """Fields this annotator marked ambiguous or commented on."""
    ungrounded: int
    """Proposals of the run whose evidence was not found in the paper."""
    total_fields: int

    @property
    def status(self) -> str:
        if self.flagged:
            return "flagged"
        if self.decided >= self.total_fields:
            return "done"
        return "partial" if self.decided else "new"


def _marks(values: Sequence[Any]) -> str:
    return ", ".join("?" for _ in values)


def _source(scope: QueueScope) -> tuple[str, str, list[Any]]:
    """The FROM clause of the queue's papers (``p``), the column that orders them, and its
    parameters."""
    if scope.sample_id is None:
        return "papers p", "p.rowid", []
    if scope.share is not None:
        return (
            "sample_assignments q JOIN papers p ON p.id = q.paper_id",
            "q.position",
            [scope.sample_id, scope.share],
        )
    return "sample_papers q JOIN papers p ON p.id = q.paper_id", "q.position", [scope.sample_id]


def _source_filter(scope: QueueScope) -> str:
    """The condition that keeps a sample queue's rows (goes first in every WHERE clause)."""
    if scope.sample_id is None:
        return "1"
    if scope.share is not None:
        return "q.sample_id = ? AND q.annotator = ?"
    return "q.sample_id = ?"


def _parts(scope: QueueScope) -> tuple[str, str, list[Any], list[Any]]:
    """SELECT columns and WHERE clause for ``scope``, with their parameters."""
    fields = list(scope.fields)
    if scope.role == "adjudicator":
        # For an adjudicator a field is settled unless annotators disagree on it (or one
        # marked it ambiguous) and no adjudicator has decided it yet.
        decided = (
            f"({len(fields)} - (SELECT COUNT(*) FROM (SELECT s.field FROM decision_state s "
            f"WHERE s.paper_id = p.id AND s.field IN ({_marks(fields)}) GROUP BY s.field "
            "HAVING SUM(s.role = 'adjudicator') = 0 AND (COUNT(DISTINCT CASE WHEN "
            "s.role = 'annotator' THEN coalesce(s.status, '') || '|' || coalesce(s.value, '') "
            "END) > 1 OR MAX(s.role = 'annotator' AND s.verdict = 'ambiguous') = 1))))"
        )
        decided_params: list[Any] = [*fields]
    else:
        decided = (
            "(SELECT COUNT(*) FROM decision_state s WHERE s.paper_id = p.id AND s.annotator = ? "
            f"AND s.role = ? AND s.field IN ({_marks(fields)}))"
        )
        decided_params = [scope.annotator, scope.role, *fields]
    flagged = (
        "((SELECT COUNT(*) FROM decision_state s WHERE s.paper_id = p.id AND s.annotator = ? "
        f"AND s.role = ? AND s.verdict = 'ambiguous' AND s.field IN ({_marks(fields)})) + "
        "(SELECT COUNT(*) FROM comments c WHERE c.paper_id = p.id AND c.annotator = ? "
        f"AND c.field IN ({_marks(fields)})))"
    )
    flagged_params: list[Any] = [scope.annotator, scope.role, *fields, scope.annotator, *fields]
    ungrounded = (
        "(SELECT COUNT(*) FROM proposals r WHERE r.paper_id = p.id AND r.run_id = ? "
        f"AND r.grounding = 'ungrounded' AND r.field IN ({_marks(fields)}))"
    )
    ungrounded_params: list[Any] = [scope.run_id if scope.run_id is not None else -1, *fields]
    _, key, _ = _source(scope)
    columns = (
        f"{key} AS rowid, p.id AS id, coalesce(p.title, p.file) AS title, p.pages AS pages, "
        f"{decided} AS decided, {flagged} AS flagged, {ungrounded} AS ungrounded"
    )
    column_params = decided_params + flagged_params + ungrounded_params
    if scope.filter is QueueFilter.UNDECIDED:
        where, where_params = f"{decided} < ?", [*decided_params, len(fields)]
    elif scope.filter is QueueFilter.FLAGGED:
        # Sparse: ask the indexes for the few flagged papers (evaluated once per query)
        # rather than checking every paper in turn.
        where = (
            "p.id IN (SELECT paper_id FROM decision_state WHERE annotator = ? AND role = ? "
            f"AND verdict = 'ambiguous' AND field IN ({_marks(fields)}) "
            "UNION SELECT paper_id FROM comments WHERE annotator = ? "
            f"AND field IN ({_marks(fields)}))"
        )
        where_params = [scope.annotator, scope.role, *fields, scope.annotator, *fields]
    elif scope.filter is QueueFilter.UNGROUNDED:
        run_id = scope.run_id if scope.run_id is not None else -1
        if scope.sparse_ungrounded:
            # Few matches: take them from the index (building this set for tens of thousands
            # of papers would cost ~50 ms a query).
            where = (
                "p.id IN (SELECT paper_id FROM proposals WHERE run_id = ? "
                f"AND grounding = 'ungrounded' AND field IN ({_marks(fields)}))"
            )
        else:
            # Many matches: walk papers in order; a window fills after a few rows.
            where = (
                "EXISTS (SELECT 1 FROM proposals r WHERE r.paper_id = p.id AND r.run_id = ? "
                f"AND r.grounding = 'ungrounded' AND r.field IN ({_marks(fields)}))"
            )
        where_params = [run_id, *fields]
    else:
        where, where_params = "1", []
    return columns, where, column_params, where_params


def _rows(db: Database, scope: QueueScope, sql_tail: str, params: list[Any]) -> list[QueueRow]:
    """Queue rows matching ``sql_tail`` (in which ``{key}`` is the ordering column)."""
    columns, where, column_params, where_params = _parts(scope)
    source, key, source_params = _source(scope)
    sql = (
        f"SELECT {columns} FROM {source} WHERE {_source_filter(scope)} AND ({where}) "
        + sql_tail.format(key=key)
    )
    return [
        QueueRow(
            rowid=row[0],
            paper_id=row[1],
            title=row[2],
            pages=row[3],
            decided=row[4],
            flagged=row[5],
            ungrounded=row[6],
            total_fields=len(scope.fields),
        )
        for row in db.execute(
            sql, [*column_params, *source_params, *where_params, *params]
        ).fetchall()
    ]


def page_after(db: Database, scope: QueueScope, after: int | None, limit: int) -> list[QueueRow]:
    """Up to ``limit`` rows after rowid ``after`` (from the start when ``None``)."""
    return _rows(db, scope, "AND {key} > ? ORDER BY {key} LIMIT ?", [after or 0, limit])


def page_before(
    db: Database, scope: QueueScope, before: int, limit: int, *, look_back: int | None = None
) -> list[QueueRow]:
    """Up to ``limit`` rows before rowid ``before``, in queue order.

    Args:
        look_back: Search at most this many papers back. A filtered queue may have no match
            for a long way back (an annotator who finished the last 20,000 papers); context
            rows above the current paper are not worth scanning them all for.
    """
    bound = (
        before - look_back if look_back is not None and scope.filter is not QueueFilter.ALL else 0
    )
    rows = _rows(
        db,
        scope,
        "AND {key} < ? AND {key} >= ? ORDER BY {key} DESC LIMIT ?",
        [before, bound, limit],
    )
    return rows[::-1]


def page_at(db: Database, scope: QueueScope, offset: int, limit: int) -> list[QueueRow]:
    """Rows at a position (for a scrollbar jump; costs O(offset), so used rarely)."""
    return _rows(db, scope, "ORDER BY {key} LIMIT ? OFFSET ?", [limit, offset])


def row_of(db: Database, scope: QueueScope, paper_id: str) -> QueueRow | None:
    """The queue row of one paper (whatever the filter)."""
    everything = scope.with_filter(QueueFilter.ALL)
    rows = _rows(db, everything, "AND p.id = ?", [paper_id])
    return rows[0] if rows else None


SPARSE_SHARE = 0.01
"""Below this share of papers a filter's matches are looked up, not scanned for."""


def ungrounded_is_sparse(db: Database, run_id: int | None, fields: Sequence[str]) -> bool:
    """Whether few papers (under 1%, or under a thousand) have ungrounded evidence in the run.

    Counting stops at the threshold, so this reads at most that many index entries.
    """
    if run_id is None:
        return True
    papers = int(db.execute("SELECT MAX(rowid) FROM papers").fetchone()[0] or 0)
    threshold = max(1000, int(SPARSE_SHARE * papers))
    found = db.execute(
        "SELECT COUNT(*) FROM (SELECT 1 FROM proposals WHERE run_id = ? AND "
        f"grounding = 'ungrounded' AND field IN ({_marks(fields)}) LIMIT ?)",
        [run_id, *fields, threshold],
    ).fetchone()[0]
    return found < threshold


def count(db: Database, scope: QueueScope) -> int:
    """Rows in the queue. Scans every paper for a filter: call it off the UI thread."""
    source, _, source_params = _source(scope)
    if scope.filter is QueueFilter.ALL and scope.sample_id is None:
        return int(db.execute("SELECT COUNT(*) FROM papers").fetchone()[0])
    _, where, _, where_params = _parts(scope)
    sql = f"SELECT COUNT(*) FROM {source} WHERE {_source_filter(scope)} AND ({where})"
    return int(db.execute(sql, [*source_params, *where_params]).fetchone()[0])


def position(db: Database, scope: QueueScope, rowid: int) -> int:
    """How many queue rows come before ``rowid`` (its index in the queue)."""
    _, where, _, where_params = _parts(scope)
    source, key, source_params = _source(scope)
    sql = f"SELECT COUNT(*) FROM {source} WHERE {_source_filter(scope)} AND {key} < ? AND ({where})"
    return int(db.execute(sql, [*source_params, rowid, *where_params]).fetchone()[0])


def papers_done(db: Database, scope: QueueScope) -> int:
    """Papers on which the annotator has decided every field of the scope, none of them
    ambiguous (for an adjudicator: papers with nothing left to adjudicate)."""
    if scope.role == "adjudicator":
        return count(db, scope.with_filter(QueueFilter.ALL)) - count(
            db, scope.with_filter(QueueFilter.UNDECIDED)
        )
    within, within_params = "", []  # type: tuple[str, list[Any]]
    if scope.sample_id is not None:
        source, _, within_params = _source(scope)
        within = f"AND paper_id IN (SELECT p.id FROM {source} WHERE {_source_filter(scope)}) "
    sql = (
        "SELECT COUNT(*) FROM (SELECT paper_id FROM decision_state WHERE annotator = ? AND "
        f"role = ? AND field IN ({_marks(scope.fields)}) {within}GROUP BY paper_id "
        # A field marked ambiguous waits for adjudication: its paper is not done.
        "HAVING COUNT(*) >= ? AND SUM(verdict = 'ambiguous') = 0)"
    )
    params = [scope.annotator, scope.role, *scope.fields, *within_params, len(scope.fields)]
    return int(db.execute(sql, params).fetchone()[0])


def next_row(
    db: Database, scope: QueueScope, after: int | None, *, wrap: bool = True
) -> QueueRow | None:
    """The next row after rowid ``after``, wrapping to the start of the queue."""
    rows = page_after(db, scope, after, 1)
    if not rows and wrap and after is not None:
        rows = page_after(db, scope, None, 1)
    return rows[0] if rows else None


def previous_row(db: Database, scope: QueueScope, before: int) -> QueueRow | None:
    rows = page_before(db, scope, before, 1)
    return rows[0] if rows else None


def start_row(db: Database, scope: QueueScope) -> QueueRow | None:
    """Where review opens: the paper of the annotator's last decision if it still has
    undecided fields, else the next paper with undecided fields, else the first paper."""
    last = db.execute(
        "SELECT paper_id FROM decisions WHERE annotator = ? AND role = ? "
        "ORDER BY decided_at DESC, rowid DESC LIMIT 1",
        [scope.annotator, scope.role],
    ).fetchone()
    undecided = scope.with_filter(QueueFilter.UNDECIDED)
    if last is not None:
        row = row_of(db, scope, last[0])
        if row is not None:
            if row.decided < row.total_fields:
                return row
            following = next_row(db, undecided, row.rowid)
            if following is not None:
                return following
            return row
    first = next_row(db, undecided, None)
    return first or next_row(db, scope.with_filter(QueueFilter.ALL), None)


def add_comment(db: Database, paper_id: str, field: str, annotator: str, comment: str) -> None:
    """Append a comment on one field."""
    with write(db):
        db.execute(
            "INSERT INTO comments (paper_id, field, annotator, comment, at) VALUES (?, ?, ?, ?, ?)",
            [paper_id, field, annotator, comment, now()],
        )


@dataclass(frozen=True, slots=True)
class Comment:
    """A comment on a field: made with ``c``, or the one an ambiguous mark (``m``) asked for."""

    annotator: str
    text: str
    at: str
    kind: str = "comment"
    """``comment`` (``c``) or ``ambiguous`` (the reason given with ``m``)."""


def comments_for(
    db: Database, paper_id: str, annotator: str | None = None
) -> dict[str, list[Comment]]:
    """Comments on a paper's fields, by field, oldest first: the ``c`` comments of
    ``annotator`` (everyone's when ``None``)."""
    sql = "SELECT field, annotator, comment, at FROM comments WHERE paper_id = ?"
    params: list[Any] = [paper_id]
    if annotator is not None:
        sql += " AND annotator = ?"
        params.append(annotator)
    found: dict[str, list[Comment]] = {}
    for field, who, text, at in db.execute(sql + " ORDER BY id", params):
        found.setdefault(field, []).append(Comment(who, text, at))
    return found


def all_comments(db: Database, paper_id: str) -> dict[str, list[Comment]]:
    """Every comment on a paper's fields, by field, oldest first: everyone's ``c`` comments
    and the comment of every decision in effect (an ambiguous mark's reason), for
    adjudication and the long export."""
    found = comments_for(db, paper_id)
    rows = db.execute(
        "SELECT d.field, d.annotator, d.comment, d.decided_at, d.verdict FROM decision_state s "
        "JOIN decisions d ON d.uuid = s.decision_uuid WHERE s.paper_id = ? AND "
        "d.comment IS NOT NULL AND d.comment != '' AND d.on_behalf_of IS NULL "
        "AND s.role = 'annotator'",
        [paper_id],
    )
    for field, who, text, at, verdict in rows:
        found.setdefault(field, []).append(Comment(who, text, at, verdict))
    for comments in found.values():
        comments.sort(key=lambda c: c.at)
    return found
