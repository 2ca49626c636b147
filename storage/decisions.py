"""Annotator decisions: an append-only log, and each annotator's current state derived from it.

A decision is one row, committed before this module returns, so it is durable the moment the
annotator makes it. Undo appends an ``undone`` row naming the decision it cancels; nothing is
ever updated or deleted (triggers refuse it). ``decision_state`` holds each annotator's latest
effective decision per (paper, field), updated in the same transaction as the log.
"""

from __future__ import annotations

import json
import uuid as uuid_module
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlite_utils import Database

from storage.db import now, write
from storage.models import decode_json, encode_json

ROLES = ("annotator", "adjudicator")
VERDICTS = ("accepted", "corrected", "not_reported", "ambiguous", "undone")
STATUSES = ("reported", "not_reported", "ambiguous")
GROUNDINGS = ("exact", "normalized", "fuzzy", "ungrounded")


@dataclass(frozen=True, slots=True)
class ShownMention:
    """A candidate mention of a field that was marked in the paper's text."""

    page: int
    start: int
    end: int
    text: str
    visited: bool = False
    """The annotator jumped to it (``}``/``{``)."""


MAX_SHOWN_MENTIONS = 200
"""Mentions stored with one decision (a long paper names "GPU" hundreds of times)."""


def _encode_mentions(mentions: Sequence[ShownMention] | None) -> str | None:
    if mentions is None:
        return None
    return json.dumps(
        [
            {"page": m.page, "start": m.start, "end": m.end, "text": m.text, "visited": m.visited}
            for m in mentions[:MAX_SHOWN_MENTIONS]
        ],
        ensure_ascii=False,
    )


def _decode_mentions(text: str | None) -> tuple[ShownMention, ...] | None:
    if text is None:
        return None
    return tuple(
        ShownMention(m["page"], m["start"], m["end"], m["text"], bool(m.get("visited")))
        for m in json.loads(text)
    )


@dataclass(frozen=True, slots=True)
class Decision:
    """One row of the decision log."""

    uuid: str
    paper_id: str
    field: str
    annotator: str
    role: str
    verdict: str
    status: str | None
    value: Any
    page: int | None
    quote: str | None
    proposal_id: int | None
    comment: str | None
    decided_at: str
    undoes: str | None = None
    batch: str | None = None
    on_behalf_of: str | None = None
    blind: bool = False
    grounding: str | None = None
    """How the quote matched the page: ``exact`` or ``normalized`` (annotators), or the
    accepted proposal's grounding."""
    char_start: int | None = None
    char_end: int | None = None
    """Offsets of the quote in the stored text of ``page``."""
    no_quote: bool = False
    """The value was saved without a quote on purpose."""
    shown_mentions: tuple[ShownMention, ...] | None = None
    """For "not reported": the field's candidate mentions the annotator was shown."""

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Decision:
        return cls(
            uuid=row["uuid"],
            paper_id=row["paper_id"],
            field=row["field"],
            annotator=row["annotator"],
            role=row["role"],
            verdict=row["verdict"],
            status=row["status"],
            value=decode_json(row["value"]),
            page=row["page"],
            quote=row["quote"],
            proposal_id=row["proposal_id"],
            comment=row["comment"],
            decided_at=row["decided_at"],
            undoes=row.get("undoes"),
            batch=row.get("batch"),
            on_behalf_of=row.get("on_behalf_of"),
            blind=bool(row.get("blind")),
            grounding=row.get("grounding"),
            char_start=row.get("char_start"),
            char_end=row.get("char_end"),
            no_quote=bool(row.get("no_quote")),
            shown_mentions=_decode_mentions(row.get("shown_mentions")),
        )

    @property
    def has_evidence(self) -> bool:
        """A page and a quote that was found on it."""
        return bool(self.page and self.quote and self.grounding not in (None, "ungrounded"))


@dataclass(frozen=True, slots=True)
class NewDecision:
    """What an annotator decided about one field of one paper."""

    paper_id: str
    field: str
    verdict: str
    status: str
    value: Any = None
    page: int | None = None
    quote: str | None = None
    proposal_id: int | None = None
    comment: str | None = None
    on_behalf_of: str | None = None
    """For imported gold values: whose judgement this is (``annotator`` loaded it)."""
    blind: bool = False
    """The model's proposal was hidden when the decision was made."""
    grounding: str | None = None
    char_start: int | None = None
    char_end: int | None = None
    no_quote: bool = False
    """Saved without a quote on purpose (the annotator said so)."""
    shown_mentions: tuple[ShownMention, ...] | None = None

    def __post_init__(self) -> None:
        if self.verdict not in VERDICTS or self.verdict == "undone":
            raise ValueError(f"verdict must be one of {VERDICTS[:-1]}, not {self.verdict!r}")
        if self.status not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}, not {self.status!r}")
        if self.verdict == "not_reported" and self.status != "not_reported":
            raise ValueError("a not_reported verdict must have status not_reported")
        if self.verdict == "ambiguous" and self.status != "ambiguous":
            raise ValueError("an ambiguous verdict must have status ambiguous")
        if self.status == "not_reported" and self.value is not None:
            raise ValueError("a field that is not reported has no value")
        if self.status == "reported" and self.value is None:
            raise ValueError("a reported field needs a value")
        if self.grounding is not None and self.grounding not in GROUNDINGS:
            raise ValueError(f"grounding must be one of {GROUNDINGS}, not {self.grounding!r}")
        if self.no_quote and self.quote:
            raise ValueError("a decision saved without a quote has no quote")


_INSERT = (
    "INSERT INTO decisions (uuid, paper_id, field, annotator, role, verdict, status, value, "
    "page, quote, proposal_id, comment, decided_at, undoes, batch, on_behalf_of, blind, "
    "grounding, char_start, char_end, no_quote, shown_mentions) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


def record(
    db: Database,
    decisions: Sequence[NewDecision],
    *,
    annotator: str,
    role: str = "annotator",
) -> list[Decision]:
    """Append decisions (one transaction: all are stored or none) and return them.

    Several decisions recorded together (e.g. "accept every grounded proposal") share a
    batch, and one undo takes back the whole batch.
    """
    if role not in ROLES:
        raise ValueError(f"role must be one of {ROLES}, not {role!r}")
    if not annotator.strip():
        raise ValueError("an annotator name is needed")
    batch = uuid_module.uuid4().hex if len(decisions) > 1 else None
    stored = [
        Decision(
            uuid=uuid_module.uuid4().hex,
            paper_id=new.paper_id,
            field=new.field,
            annotator=annotator,
            role=role,
            verdict=new.verdict,
            status=new.status,
            value=new.value,
            page=new.page,
            quote=new.quote,
            proposal_id=new.proposal_id,
            comment=new.comment,
            decided_at=now(),
            batch=batch,
            on_behalf_of=new.on_behalf_of,
            blind=new.blind,
            grounding=new.grounding,
            char_start=new.char_start,
            char_end=new.char_end,
            no_quote=new.no_quote,
            shown_mentions=new.shown_mentions,
        )
        for new in decisions
    ]
    with write(db):
        db.conn.executemany(_INSERT, [_log_row(d) for d in stored])
        db.conn.executemany(_SET_STATE, [_state_row(d) for d in stored])
    return stored


def _log_row(d: Decision) -> tuple[Any, ...]:
    return (
        d.uuid,
        d.paper_id,
        d.field,
        d.annotator,
        d.role,
        d.verdict,
        d.status,
        encode_json(d.value),
        d.page,
        d.quote,
        d.proposal_id,
        d.comment,
        d.decided_at,
        d.undoes,
        d.batch,
        d.on_behalf_of,
        int(d.blind),
        d.grounding,
        d.char_start,
        d.char_end,
        int(d.no_quote),
        _encode_mentions(d.shown_mentions),
    )


_SET_STATE = (
    "INSERT OR REPLACE INTO decision_state (paper_id, field, annotator, role, decision_uuid, "
    "verdict, status, value, decided_at, page, quote, proposal_id, on_behalf_of, grounding, "
    "no_quote) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


def _state_row(d: Decision) -> tuple[Any, ...]:
    return (
        d.paper_id,
        d.field,
        d.annotator,
        d.role,
        d.uuid,
        d.verdict,
        d.status,
        encode_json(d.value),
        d.decided_at,
        d.page,
        d.quote,
        d.proposal_id,
        d.on_behalf_of,
        d.grounding,
        int(d.no_quote),
    )


def _append(db: Database, d: Decision) -> None:
    db.execute(_INSERT, list(_log_row(d)))


def _set_state(db: Database, d: Decision) -> None:
    db.execute(_SET_STATE, list(_state_row(d)))


_EFFECTIVE = """
    verdict != 'undone' AND NOT EXISTS (SELECT 1 FROM decisions u WHERE u.undoes = d.uuid)
"""


def _refresh_state(db: Database, paper_id: str, field: str, annotator: str, role: str) -> None:
    """Recompute one annotator's current decision for a field from the log (after an undo)."""
    rows = list(
        db.query(
            f"SELECT * FROM decisions d WHERE paper_id = ? AND field = ? AND annotator = ? "
            f"AND role = ? AND {_EFFECTIVE} ORDER BY decided_at DESC, rowid DESC LIMIT 1",
            [paper_id, field, annotator, role],
        )
    )
    if rows:
        _set_state(db, Decision.from_row(rows[0]))
    else:
        db.execute(
            "DELETE FROM decision_state WHERE paper_id = ? AND field = ? AND annotator = ? "
            "AND role = ?",
            [paper_id, field, annotator, role],
        )


def undo_last(db: Database, *, annotator: str, role: str = "annotator") -> list[Decision]:
    """Take back the annotator's latest decision (or batch) that is still in effect.

    Appends one ``undone`` row per decision taken back and returns the decisions taken back
    (empty when there is nothing left to undo). Repeatable: each call goes one step further.
    """
    with write(db):
        rows = list(
            db.query(
                f"SELECT * FROM decisions d WHERE annotator = ? AND role = ? AND {_EFFECTIVE} "
                "ORDER BY decided_at DESC, rowid DESC LIMIT 1",
                [annotator, role],
            )
        )
        if not rows:
            return []
        latest = Decision.from_row(rows[0])
        targets = [latest]
        if latest.batch is not None:
            targets = [
                Decision.from_row(row)
                for row in db.query(
                    f"SELECT * FROM decisions d WHERE batch = ? AND annotator = ? AND {_EFFECTIVE}"
                    " ORDER BY rowid",
                    [latest.batch, annotator],
                )
            ]
        undo_batch = uuid_module.uuid4().hex if len(targets) > 1 else None
        for target in targets:
            _append(
                db,
                Decision(
                    uuid=uuid_module.uuid4().hex,
                    paper_id=target.paper_id,
                    field=target.field,
                    annotator=annotator,
                    role=role,
                    verdict="undone",
                    status=None,
                    value=None,
                    page=None,
                    quote=None,
                    proposal_id=None,
                    comment=None,
                    decided_at=now(),
                    undoes=target.uuid,
                    batch=undo_batch,
                ),
            )
            _refresh_state(db, target.paper_id, target.field, annotator, role)
    return targets


def current(
    db: Database, paper_id: str, *, annotator: str, role: str = "annotator"
) -> dict[str, Decision]:
    """The annotator's decisions in effect on a paper, by field."""
    return {
        row["field"]: Decision.from_row(row)
        for row in db.query(
            "SELECT d.* FROM decision_state s JOIN decisions d ON d.uuid = s.decision_uuid "
            "WHERE s.paper_id = ? AND s.annotator = ? AND s.role = ?",
            [paper_id, annotator, role],
        )
    }


def history(db: Database, paper_id: str, field: str | None = None) -> list[Decision]:
    """Every decision about a paper (or one of its fields), oldest first."""
    sql = "SELECT * FROM decisions WHERE paper_id = ?"
    params: list[Any] = [paper_id]
    if field is not None:
        sql += " AND field = ?"
        params.append(field)
    return [Decision.from_row(row) for row in db.query(sql + " ORDER BY rowid", params)]


def in_effect(db: Database, paper_id: str, *, role: str = "annotator") -> list[Decision]:
    """Every person's decision in effect on a paper, for one role (ordered by field, person)."""
    return [
        Decision.from_row(row)
        for row in db.query(
            "SELECT d.* FROM decision_state s JOIN decisions d ON d.uuid = s.decision_uuid "
            "WHERE s.paper_id = ? AND s.role = ? ORDER BY s.field, s.annotator",
            [paper_id, role],
        )
    ]
