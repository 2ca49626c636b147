"""The gold value of each (paper, field), from the decisions in effect (SPEC §2).

The gold value is the latest adjudicator decision if there is one; else the annotators'
decisions, when every annotator who decided the field agrees (same status and value) and
none marked it ambiguous. Otherwise the field is not final: undecided, or waiting for
adjudication because annotators disagree or someone marked it ambiguous.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlite_utils import Database

from storage.models import Paper, decode_json

UNDECIDED = "undecided"
DISAGREEMENT = "disagreement"
AMBIGUOUS = "ambiguous"


@dataclass(frozen=True, slots=True)
class Judgement:
    """One person's decision in effect on a field."""

    annotator: str
    role: str
    verdict: str
    status: str | None
    value: Any
    page: int | None
    quote: str | None
    proposal_id: int | None
    decided_at: str
    raw_value: str | None
    """The value's JSON text, for comparing answers exactly."""
    on_behalf_of: str | None = None
    """For an imported gold value: whose judgement it is."""

    @property
    def authors(self) -> tuple[str, ...]:
        """Whose judgement this is: the imported authors, else the annotator."""
        if self.on_behalf_of:
            return tuple(name.strip() for name in self.on_behalf_of.split(";") if name.strip())
        return (self.annotator,)


@dataclass(frozen=True, slots=True)
class GoldField:
    """A field's gold value, or why it has none yet."""

    field: str
    final: bool
    reason: str | None
    """Why not final: ``undecided``, ``disagreement`` or ``ambiguous``."""
    judgements: tuple[Judgement, ...] = ()
    chosen: Judgement | None = None
    """The decision that gives the gold value (when final)."""

    @property
    def status(self) -> str | None:
        return self.chosen.status if self.chosen else None

    @property
    def value(self) -> Any:
        return self.chosen.value if self.chosen else None

    @property
    def decided_by(self) -> tuple[str, ...]:
        """Everyone whose judgement is in effect on this field."""
        return tuple(sorted({name for j in self.judgements for name in j.authors}))


@dataclass(frozen=True, slots=True)
class GoldPaper:
    """A paper with the gold state of each field."""

    paper: Paper
    fields: dict[str, GoldField] = field(default_factory=dict)

    @property
    def complete(self) -> bool:
        return all(f.final for f in self.fields.values())

    @property
    def decided_by(self) -> tuple[str, ...]:
        people: set[str] = set()
        for gold in self.fields.values():
            people.update(gold.decided_by)
        return tuple(sorted(people))


def settle(name: str, judgements: Sequence[Judgement]) -> GoldField:
    """Apply the gold rule to one field's judgements."""
    if not judgements:
        return GoldField(name, False, UNDECIDED)
    adjudicated = [j for j in judgements if j.role == "adjudicator"]
    if adjudicated:
        latest = max(adjudicated, key=lambda j: j.decided_at)
        return GoldField(name, True, None, tuple(judgements), latest)
    if any(j.verdict == "ambiguous" for j in judgements):
        return GoldField(name, False, AMBIGUOUS, tuple(judgements))
    answers = {(j.status, j.raw_value) for j in judgements}
    if len(answers) > 1:
        return GoldField(name, False, DISAGREEMENT, tuple(judgements))
    latest = max(judgements, key=lambda j: j.decided_at)
    return GoldField(name, True, None, tuple(judgements), latest)


def iter_gold(
    db: Database, fields: Sequence[str], *, only_decided: bool = False
) -> Iterator[GoldPaper]:
    """Every paper (in the order added) with the gold state of each of ``fields``.

    One query, streamed: papers are read in rowid order with their decisions in effect, so
    memory stays flat however many papers there are.
    """
    marks = ", ".join("?" for _ in fields)
    join = "JOIN" if only_decided else "LEFT JOIN"
    sql = f"""
        SELECT p.*, s.field AS s_field, s.annotator AS s_annotator, s.role AS s_role,
            s.verdict AS s_verdict, s.status AS s_status, s.value AS s_value,
            s.decided_at AS s_decided_at, d.page AS d_page, d.quote AS d_quote,
            d.proposal_id AS d_proposal_id, d.on_behalf_of AS d_on_behalf_of
        FROM papers p
        {join} decision_state s ON s.paper_id = p.id AND s.field IN ({marks})
        LEFT JOIN decisions d ON d.uuid = s.decision_uuid
        ORDER BY p.rowid
    """
    current: Paper | None = None
    collected: dict[str, list[Judgement]] = {}

    def finish(paper: Paper) -> GoldPaper:
        return GoldPaper(paper, {name: settle(name, collected.get(name, [])) for name in fields})

    for row in db.query(sql, list(fields)):
        if current is None or row["id"] != current.id:
            if current is not None:
                yield finish(current)
            current = Paper.from_row(row)
            collected = {}
        if row["s_field"] is None:
            continue
        collected.setdefault(row["s_field"], []).append(
            Judgement(
                annotator=row["s_annotator"],
                role=row["s_role"],
                verdict=row["s_verdict"],
                status=row["s_status"],
                value=decode_json(row["s_value"]),
                page=row["d_page"],
                quote=row["d_quote"],
                proposal_id=row["d_proposal_id"],
                decided_at=row["s_decided_at"],
                raw_value=row["s_value"],
                on_behalf_of=row["d_on_behalf_of"],
            )
        )
    if current is not None:
        yield finish(current)
