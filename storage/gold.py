"""The gold value of each (paper, field), from the decisions in effect.

The gold value is the latest adjudicator decision if there is one; else the annotators'
decisions, when every annotator who decided the field agrees (same status and value) and
none marked it ambiguous. Otherwise the field is not final: undecided, or waiting for
adjudication because annotators disagree or someone marked it ambiguous.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from sqlite_utils import Database

from storage.models import Paper, decode_json_cached
from storage.papers import STABLE_ORDER

UNDECIDED = "undecided"
DISAGREEMENT = "disagreement"
AMBIGUOUS = "ambiguous"


class Judgement(NamedTuple):
    """One person's decision in effect on a field (a tuple: built straight from a row)."""

    annotator: str
    role: str
    verdict: str
    status: str | None
    raw_value: str | None
    """The value's JSON text, for comparing answers exactly."""
    decided_at: str
    page: int | None = None
    quote: str | None = None
    proposal_id: int | None = None
    on_behalf_of: str | None = None
    """For an imported gold value: whose judgement it is."""
    grounding: str | None = None
    """How the decision's quote matched the page (None: no quote, or an older decision)."""
    no_quote: int = 0
    """1 when the value was saved without a quote on purpose."""

    @property
    def value(self) -> Any:
        return decode_json_cached(self.raw_value)

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
        """Everyone whose judgement is in effect on any field of the paper."""
        return tuple(
            sorted(
                {
                    name
                    for gold in self.fields.values()
                    for j in gold.judgements
                    for name in j.authors
                }
            )
        )


def settle(name: str, judgements: Sequence[Judgement]) -> GoldField:
    """Apply the gold rule to one field's judgements (one pass: it runs a million times)."""
    if not judgements:
        return GoldField(name, False, UNDECIDED)
    latest_adjudicated: Judgement | None = None
    latest: Judgement = judgements[0]
    ambiguous = False
    answers = set()
    for j in judgements:
        if j.role == "adjudicator":
            if latest_adjudicated is None or j.decided_at > latest_adjudicated.decided_at:
                latest_adjudicated = j
            continue
        if j.verdict == "ambiguous":
            ambiguous = True
        answers.add((j.status, j.raw_value))
        if j.decided_at > latest.decided_at or latest.role == "adjudicator":
            latest = j
    judged = tuple(judgements)
    if latest_adjudicated is not None:
        return GoldField(name, True, None, judged, latest_adjudicated)
    if ambiguous:
        return GoldField(name, False, AMBIGUOUS, judged)
    if len(answers) > 1:
        return GoldField(name, False, DISAGREEMENT, judged)
    return GoldField(name, True, None, judged, latest)


new_judgement = tuple.__new__
_PAPER_COLUMNS = (
    "id",
    "sha256",
    "file",
    "path",
    "title",
    "pages",
    "added_at",
    "bytes",
    "title_source",
)


def iter_gold(
    db: Database,
    fields: Sequence[str],
    *,
    only_decided: bool = False,
    evidence: bool = True,
    paper_details: bool = True,
    in_paper_order: bool = True,
) -> Iterator[GoldPaper]:
    """Every paper, in the stable order (file name, then id: the same in every database),
    with the gold state of each of ``fields``.

    Streamed, so memory stays flat however many papers there are. The decisions come from
    one query driven by papers in that order (read off the ``papers_file`` index); the
    papers' own columns from a second cursor kept in step (repeating them on every decision
    row cost more than everything else).

    Args:
        only_decided: Skip papers nobody has decided (none of their fields can be final).
        evidence: Read each decision's page, quote and proposal (not needed for the wide
            export or for scoring).
        paper_details: Read the papers' own columns; without them each ``GoldPaper.paper``
            carries only the id (all scoring needs).
        in_paper_order: Papers in the stable order. When order does not matter (scoring) and
            only decided papers are wanted, the decisions are read straight off their index,
            grouped by paper id, with no join (a quarter faster on 100,000 papers).
    """
    marks = ", ".join("?" for _ in fields)
    join = "JOIN" if only_decided else "LEFT JOIN"
    detail = "s.page, s.quote, s.proposal_id" if evidence else "NULL, NULL, NULL"
    extra = "s.grounding, s.no_quote" if evidence else "NULL, 0"
    if not in_paper_order and only_decided and not paper_details:
        decisions = db.conn.execute(
            f"""
            SELECT s.paper_id, s.field, s.annotator, s.role, s.verdict, s.status, s.value,
                s.decided_at, {detail}, s.on_behalf_of, {extra}
            FROM decision_state s WHERE s.field IN ({marks}) ORDER BY s.paper_id
            """,
            list(fields),
        )
    else:
        decisions = db.conn.execute(
            f"""
            SELECT p.id, s.field, s.annotator, s.role, s.verdict, s.status, s.value,
                s.decided_at, {detail}, s.on_behalf_of, {extra}
            FROM papers p
            {join} decision_state s ON s.paper_id = p.id AND s.field IN ({marks})
            ORDER BY p.file, p.id -- STABLE_ORDER
            """,
            list(fields),
        )
    papers = (
        db.conn.execute(f"SELECT {', '.join(_PAPER_COLUMNS)} FROM papers ORDER BY {STABLE_ORDER}")
        if paper_details
        else None
    )
    undecided = {name: GoldField(name, False, UNDECIDED) for name in fields}
    current: str | None = None
    collected: dict[str, list[Judgement]] = {}

    def finish(paper_id: str) -> GoldPaper:
        if papers is None:
            paper = Paper(paper_id, "", "", None, None, 0, "")
        else:
            row = next(papers)
            while row[0] != paper_id:  # papers nobody decided, when only_decided
                row = next(papers)
            paper = Paper(*row)
        if not collected:
            return GoldPaper(paper, dict(undecided))
        return GoldPaper(
            paper,
            {
                name: settle(name, collected[name]) if name in collected else undecided[name]
                for name in fields
            },
        )

    for row in decisions:
        if row[0] != current:
            if current is not None:
                yield finish(current)
            current = row[0]
            collected = {}
        if row[1] is None:
            continue
        # tuple.__new__ straight from the row: _make's extra call cost 0.3 s on 100k papers
        collected.setdefault(row[1], []).append(new_judgement(Judgement, row[2:]))
    if current is not None:
        yield finish(current)


def iter_final(
    db: Database, fields: Sequence[str]
) -> Iterator[tuple[str, dict[str, tuple[str | None, str | None]], bool]]:
    """For each decided paper: its final fields as ``{field: (status, value JSON)}`` and
    whether every field is final. Papers come in id order.

    The same rule as :func:`settle`, applied in one tight loop over the rows without
    building an object per decision: scoring reads every decision of a 100,000-paper gold
    set, where those objects cost a third of the time. A test checks the two agree.
    """
    marks = ", ".join("?" for _ in fields)
    rows = db.conn.execute(
        "SELECT paper_id, field, role, verdict, status, value, decided_at FROM decision_state "
        f"WHERE field IN ({marks}) ORDER BY paper_id, field",
        list(fields),
    )
    wanted = len(fields)
    paper: str | None = None
    current_field: str | None = None
    finals: dict[str, tuple[str | None, str | None]] = {}
    decided_fields = 0
    # The field being read: the latest adjudicator answer, and the annotators' answers.
    adjudicated_at = ""
    adjudicated: tuple[str | None, str | None] | None = None
    answer: tuple[str | None, str | None] | None = None
    answer_at = ""
    differ = ambiguous = False

    def close_field() -> None:
        nonlocal decided_fields
        decided_fields += 1
        if adjudicated is not None:
            finals[current_field] = adjudicated  # type: ignore[index]
        elif answer is not None and not differ and not ambiguous:
            finals[current_field] = answer  # type: ignore[index]

    for paper_id, name, role, verdict, status, value, decided_at in rows:
        if paper_id != paper or name != current_field:
            if current_field is not None:
                close_field()
            if paper_id != paper:
                if paper is not None:
                    yield paper, finals, len(finals) == wanted and decided_fields == wanted
                paper, finals, decided_fields = paper_id, {}, 0
            current_field = name
            adjudicated, adjudicated_at = None, ""
            answer, answer_at, differ, ambiguous = None, "", False, False
        if role == "adjudicator":
            if adjudicated is None or decided_at > adjudicated_at:
                adjudicated, adjudicated_at = (status, value), decided_at
            continue
        if verdict == "ambiguous":
            ambiguous = True
        if answer is None:
            answer, answer_at = (status, value), decided_at
        elif (status, value) != answer:
            differ = True
        elif decided_at > answer_at:
            answer_at = decided_at
    if current_field is not None:
        close_field()
        yield paper, finals, len(finals) == wanted and decided_fields == wanted  # type: ignore[misc]


def gold_field(db: Database, paper_id: str, field: str) -> GoldField:
    """The gold state of one paper's field: every judgement in effect and, when final, the
    one that gives the gold value (with its evidence)."""
    rows = db.conn.execute(
        "SELECT annotator, role, verdict, status, value, decided_at, page, quote, proposal_id, "
        "on_behalf_of, grounding, no_quote FROM decision_state WHERE paper_id = ? AND field = ?",
        [paper_id, field],
    )
    return settle(field, [new_judgement(Judgement, row) for row in rows])
