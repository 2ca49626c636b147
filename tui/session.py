"""A review session: who reviews what, and the database calls the review screens make.

Screens and widgets talk to this object, never to SQL; it hands them dataclasses. Every
decision is committed before the call returns, so the screen only ever shows what is stored.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from extraction.evidence.normalize import format_value
from extraction.fields import FIELDS, FieldSpec, Status, field_spec
from storage import decisions as decision_store
from storage import papers as paper_store
from storage import queue
from storage import runs as run_store
from storage.decisions import Decision, NewDecision
from storage.models import Paper
from storage.queue import QueueFilter, QueueRow, QueueScope
from storage.runs import Proposal, Run
from storage.samples import Sample

WINDOW_LOOK_BACK = 500
"""Papers searched back for the queue rows shown above the current one."""


@dataclass(frozen=True, slots=True)
class FieldRow:
    """One field of the paper under review, as the review screen shows it."""

    spec: FieldSpec
    proposal: Proposal | None
    decision: Decision | None
    comparison: Proposal | None = None
    comments: tuple[str, ...] = ()
    others: tuple[Decision, ...] = ()
    """The annotators' decisions (shown when adjudicating)."""
    hidden: bool = False
    """Blind review: the proposal stays hidden until the annotator has answered."""
    disputed: bool = False
    """Adjudicating: annotators disagree (or one marked it ambiguous)."""

    @property
    def decided(self) -> bool:
        return self.decision is not None

    @property
    def needs_decision(self) -> bool:
        """Still waiting for this person: undecided, or (adjudicating) disputed and open."""
        if self.decision is not None:
            return False
        return self.disputed if self.others or self.disputed else True

    @property
    def proposal_text(self) -> str:
        if self.proposal is None:
            return "—"
        if self.proposal.status != Status.REPORTED:
            return self.proposal.status.replace("_", " ")
        return format_value(self.spec, self.proposal.value)

    @property
    def decision_text(self) -> str:
        d = self.decision
        if d is None:
            return ""
        if d.status == Status.NOT_REPORTED:
            return "not reported"
        if d.status == Status.AMBIGUOUS:
            return "ambiguous"
        return format_value(self.spec, d.value)


@dataclass(frozen=True, slots=True)
class PaperView:
    """Everything the review screen shows about one paper."""

    paper: Paper
    row: QueueRow
    pages: tuple[str, ...]
    fields: tuple[FieldRow, ...]

    @property
    def decided(self) -> int:
        """Fields needing nothing more from this person."""
        return sum(1 for f in self.fields if not f.needs_decision)

    def field_index(self, name: str) -> int:
        return next(i for i, f in enumerate(self.fields) if f.spec.name == name)


@dataclass
class ReviewSession:
    """The state of one annotator's review of one database."""

    db: Database
    db_path: Path
    annotator: str
    run: Run | None
    fields: tuple[FieldSpec, ...] = FIELDS
    role: str = "annotator"
    queue_filter: QueueFilter = QueueFilter.ALL
    compare_run: Run | None = None
    blind: bool = False
    """Hide each proposal until the annotator has answered (to measure anchoring)."""
    sample: Sample | None = None
    """Review only this gold sample's papers (this annotator's share), in sample order."""
    _sparse_ungrounded: bool | None = None
    _runs: list[Run] = field(default_factory=list)

    @property
    def field_mode(self) -> bool:
        """Reviewing one field across all papers (``review --field``)."""
        return len(self.fields) == 1

    @property
    def adjudicating(self) -> bool:
        return self.role == "adjudicator"

    @property
    def scope(self) -> QueueScope:
        fields = tuple(spec.name for spec in self.fields)
        run_id = self.run.id if self.run else None
        if self.queue_filter is QueueFilter.UNGROUNDED and self._sparse_ungrounded is None:
            self._sparse_ungrounded = queue.ungrounded_is_sparse(self.db, run_id, fields)
        return QueueScope(
            annotator=self.annotator,
            fields=fields,
            run_id=run_id,
            role=self.role,
            filter=self.queue_filter,
            sparse_ungrounded=bool(self._sparse_ungrounded),
            **self._sample_scope(),
        )

    def _sample_scope(self) -> dict[str, Any]:
        """The queue's sample restriction: an annotator reviews their share of an assigned
        sample; an adjudicator, or anyone on a sample without assignments, all of it."""
        if self.sample is None:
            return {}
        share = None
        if self.sample.annotators and not self.adjudicating:
            share = self.annotator
        return {"sample_id": self.sample.id, "share": share}

    # --- the queue ----------------------------------------------------------------------

    def start(self) -> QueueRow | None:
        return queue.start_row(self.db, self.scope)

    def window(self, around: QueueRow | None, before: int, after: int) -> list[QueueRow]:
        """Queue rows around ``around``: up to ``before`` rows before it and ``after`` after."""
        if around is None:
            return queue.page_after(self.db, self.scope, None, before + after + 1)
        earlier = queue.page_before(
            self.db, self.scope, around.rowid, before, look_back=WINDOW_LOOK_BACK
        )
        later = queue.page_after(self.db, self.scope, around.rowid, after)
        current = queue.row_of(self.db, self.scope, around.paper_id)
        return [*earlier, *([current] if current else []), *later]

    def next_row(self, after: QueueRow | None) -> QueueRow | None:
        return queue.next_row(self.db, self.scope, after.rowid if after else None)

    def previous_row(self, before: QueueRow) -> QueueRow | None:
        return queue.previous_row(self.db, self.scope, before.rowid)

    def next_undecided(self, after: QueueRow | None) -> QueueRow | None:
        scope = self.scope.with_filter(QueueFilter.UNDECIDED)
        row = queue.next_row(self.db, scope, after.rowid if after else None)
        if row is not None and after is not None and row.paper_id == after.paper_id:
            return None  # only the current paper is left
        return row

    def row_of(self, paper_id: str) -> QueueRow | None:
        return queue.row_of(self.db, self.scope, paper_id)

    # --- one paper ----------------------------------------------------------------------

    def load(self, row: QueueRow) -> PaperView:
        """Read one paper with its proposals, this annotator's decisions and comments."""
        paper = paper_store.get_paper(self.db, row.paper_id)
        assert paper is not None
        pages = tuple(paper_store.page_texts(self.db, paper.id))
        proposals = run_store.proposals_for(self.db, paper.id, self.run.id) if self.run else {}
        compared = (
            run_store.proposals_for(self.db, paper.id, self.compare_run.id)
            if self.compare_run
            else {}
        )
        decided = decision_store.current(
            self.db, paper.id, annotator=self.annotator, role=self.role
        )
        comments = queue.comments_for(self.db, paper.id, self.annotator)
        others: dict[str, list[Decision]] = {}
        if self.adjudicating:
            for d in decision_store.in_effect(self.db, paper.id, role="annotator"):
                others.setdefault(d.field, []).append(d)
        rows = tuple(
            FieldRow(
                spec=spec,
                proposal=proposals.get(spec.name),
                decision=decided.get(spec.name),
                comparison=compared.get(spec.name),
                comments=tuple(comments.get(spec.name, ())),
                others=tuple(others.get(spec.name, ())),
                hidden=self.blind and spec.name not in decided,
                disputed=_disputed(others.get(spec.name, [])),
            )
            for spec in self.fields
        )
        fresh = queue.row_of(self.db, self.scope, paper.id) or row
        return PaperView(paper=paper, row=fresh, pages=pages, fields=rows)

    # --- decisions ----------------------------------------------------------------------

    def accept(self, view: PaperView, names: list[str]) -> list[Decision]:
        """Accept the run's proposals for ``names`` (one transaction, one undo step)."""
        new = []
        for name in names:
            row = view.fields[view.field_index(name)]
            p = row.proposal
            if p is None:
                continue
            new.append(
                NewDecision(
                    paper_id=view.paper.id,
                    field=name,
                    verdict="accepted",
                    status=p.status,
                    value=p.value if p.status == Status.REPORTED else None,
                    page=p.page,
                    quote=p.quote,
                    proposal_id=p.id,
                    blind=self.blind,
                )
            )
        return decision_store.record(self.db, new, annotator=self.annotator, role=self.role)

    def _record_one(self, decision: NewDecision) -> Decision:
        """Store one decision of this annotator (committed before this returns)."""
        stored = decision_store.record(
            self.db, [decision], annotator=self.annotator, role=self.role
        )
        return stored[0]

    def correct(
        self, view: PaperView, name: str, value: Any, page: int | None, quote: str | None = None
    ) -> Decision:
        """Record the annotator's own value for a field (``accepted`` if it equals the proposal)."""
        row = view.fields[view.field_index(name)]
        p = row.proposal
        same = p is not None and p.status == Status.REPORTED and p.value == value
        decision = NewDecision(
            paper_id=view.paper.id,
            field=name,
            verdict="accepted" if same else "corrected",
            status=Status.REPORTED,
            value=value,
            page=p.page if same and p else page,
            quote=p.quote if same and p else quote,
            proposal_id=p.id if p else None,
            blind=self.blind,
        )
        return self._record_one(decision)

    def not_reported(self, view: PaperView, name: str) -> Decision:
        p = view.fields[view.field_index(name)].proposal
        decision = NewDecision(
            view.paper.id,
            name,
            "not_reported",
            Status.NOT_REPORTED,
            proposal_id=p.id if p else None,
            blind=self.blind,
        )
        return self._record_one(decision)

    def ambiguous(self, view: PaperView, name: str, comment: str, page: int | None) -> Decision:
        p = view.fields[view.field_index(name)].proposal
        decision = NewDecision(
            view.paper.id,
            name,
            "ambiguous",
            Status.AMBIGUOUS,
            page=page,
            proposal_id=p.id if p else None,
            comment=comment,
            blind=self.blind,
        )
        return self._record_one(decision)

    def adopt(self, view: PaperView, name: str, index: int) -> Decision | None:
        """Adjudicate a field by taking annotator number ``index`` (1-based)'s answer."""
        row = view.fields[view.field_index(name)]
        if not 1 <= index <= len(row.others):
            return None
        chosen = row.others[index - 1]
        p = row.proposal
        if chosen.status == Status.NOT_REPORTED:
            verdict = "not_reported"
        elif chosen.status == Status.AMBIGUOUS:
            verdict = "ambiguous"
        elif p is not None and p.status == Status.REPORTED and p.value == chosen.value:
            verdict = "accepted"
        else:
            verdict = "corrected"
        decision = NewDecision(
            paper_id=view.paper.id,
            field=name,
            verdict=verdict,
            status=chosen.status or Status.NOT_REPORTED,
            value=chosen.value,
            page=chosen.page,
            quote=chosen.quote,
            proposal_id=chosen.proposal_id,
            comment=f"adopted {chosen.annotator}'s answer",
        )
        return self._record_one(decision)

    def comment(self, view: PaperView, name: str, text: str) -> bool:
        queue.add_comment(self.db, view.paper.id, name, self.annotator, text)
        return True

    def undo(self) -> list[Decision]:
        """Take back this annotator's latest decision (or batch); the decisions taken back."""
        return decision_store.undo_last(self.db, annotator=self.annotator, role=self.role)

    # --- runs ---------------------------------------------------------------------------

    def runs(self) -> list[Run]:
        if not self._runs:
            self._runs = run_store.list_runs(self.db)
        return self._runs

    def cycle_comparison(self) -> Run | None:
        """Show the next other run's values beside this run's (then none again)."""
        others = [r for r in self.runs() if self.run is None or r.id != self.run.id]
        if not others:
            self.compare_run = None
            return None
        if self.compare_run is None:
            self.compare_run = others[0]
        else:
            ids = [r.id for r in others]
            index = ids.index(self.compare_run.id) if self.compare_run.id in ids else -1
            self.compare_run = others[index + 1] if index + 1 < len(others) else None
        return self.compare_run


def _disputed(decisions: list[Decision]) -> bool:
    """Annotators disagree on the field, or one of them marked it ambiguous."""
    if any(d.verdict == "ambiguous" for d in decisions):
        return True
    return len({(d.status, repr(d.value)) for d in decisions}) > 1


def fields_for(name: str | None) -> tuple[FieldSpec, ...]:
    """All fields, or just ``name`` (field-first review)."""
    return FIELDS if name is None else (field_spec(name),)
