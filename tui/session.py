"""A review session: who reviews what, and the database calls the review screens make.

Screens and widgets talk to this object, never to SQL; it hands them dataclasses. Every
decision is committed before the call returns, so the screen only ever shows what is stored.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from extraction.evidence.mentions import IndexedPaper, Mention
from extraction.evidence.normalize import format_value
from extraction.evidence.proposals import needs_hand_check
from extraction.evidence.quotes import Evidence
from extraction.fields import FIELDS, FieldSpec, Status, field_spec
from storage import decisions as decision_store
from storage import papers as paper_store
from storage import queue
from storage import runs as run_store
from storage.decisions import Decision, NewDecision, ShownMention
from storage.models import Paper
from storage.queue import Comment, QueueFilter, QueueRow, QueueScope
from storage.runs import Proposal, Run
from storage.samples import Sample

WINDOW_LOOK_BACK = 500
"""Papers searched back for the queue rows shown above the current one."""
GROUNDED = ("exact", "normalized", "fuzzy")
"""Groundings "accept grounded" (``A``) trusts."""
INDEXED_PAPERS = 4
"""Papers whose normalised text (for find and hints) is kept."""


@dataclass(frozen=True, slots=True)
class FieldRow:
    """One field of the paper under review, as the review screen shows it."""

    spec: FieldSpec
    proposal: Proposal | None
    decision: Decision | None
    comparison: Proposal | None = None
    comments: tuple[Comment, ...] = ()
    """This annotator's comments (adjudicating: every annotator's, and their reasons)."""
    others: tuple[Decision, ...] = ()
    """The annotators' decisions (shown when adjudicating)."""
    hidden: bool = False
    """Blind review: the proposal stays hidden until the annotator has answered."""
    disputed: bool = False
    """Adjudicating: annotators disagree (or one marked it ambiguous)."""
    model_problem: str | None = None
    """Why the run stored no answer for this field (its ``field_attempts`` problem), if any."""

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
            return "failed" if self.model_problem and not self.hidden else "—"
        if self.proposal.status != Status.REPORTED:
            return status_text(self.proposal.status)
        return format_value(self.spec, self.proposal.value)

    @property
    def evidence_span(self) -> tuple[int, int, int] | None:
        """Where the proposal's quote is, when it was found (never while hidden)."""
        p = self.proposal
        if self.hidden or p is None or p.status != Status.REPORTED:
            return None
        if p.page is None or p.char_start is None or p.char_end is None:
            return None
        return p.page, p.char_start, p.char_end

    @property
    def decision_span(self) -> tuple[int, int, int] | None:
        """Where the quote of this annotator's decision is."""
        d = self.decision
        if d is None or not d.page or d.char_start is None or d.char_end is None:
            return None
        return d.page, d.char_start, d.char_end

    @property
    def decision_text(self) -> str:
        d = self.decision
        if d is None:
            return ""
        if d.status != Status.REPORTED:
            return status_text(d.status)
        return format_value(self.spec, d.value)


@dataclass(frozen=True, slots=True)
class PaperView:
    """Everything the review screen shows about one paper."""

    paper: Paper
    row: QueueRow
    pages: tuple[str, ...]
    fields: tuple[FieldRow, ...]
    index: IndexedPaper
    """The pages normalised, for find and the candidate mentions (built lazily)."""

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
    _indexed: dict[str, IndexedPaper] = field(default_factory=dict)

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
        """Queue rows around ``around``: about ``before`` rows before it and ``after`` after,
        ``before + after + 1`` in all when the queue has them (near its start, more rows
        after; near its end, more before), so the window is always full."""
        if around is None:
            return queue.page_after(self.db, self.scope, None, before + after + 1)
        scope = self.scope
        earlier = queue.page_before(
            self.db, scope, around.rowid, before, look_back=WINDOW_LOOK_BACK
        )
        wanted_after = after + before - len(earlier)
        later = queue.page_after(self.db, scope, around.rowid, wanted_after)
        if len(later) < wanted_after and len(earlier) == before:
            earlier = queue.page_before(
                self.db,
                scope,
                around.rowid,
                before + wanted_after - len(later),
                look_back=WINDOW_LOOK_BACK,
            )
        current = queue.row_of(self.db, scope, around.paper_id)
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
        attempts = run_store.field_attempts(self.db, self.run.id, paper.id) if self.run else {}
        compared = (
            run_store.proposals_for(self.db, paper.id, self.compare_run.id)
            if self.compare_run
            else {}
        )
        decided = decision_store.current(
            self.db, paper.id, annotator=self.annotator, role=self.role
        )
        others: dict[str, list[Decision]] = {}
        if self.adjudicating:
            comments = queue.all_comments(self.db, paper.id)
            for d in decision_store.in_effect(self.db, paper.id, role="annotator"):
                others.setdefault(d.field, []).append(d)
        else:
            comments = queue.comments_for(self.db, paper.id, self.annotator)
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
                model_problem=(
                    attempts[spec.name].problem
                    if spec.name in attempts and spec.name not in proposals
                    else None
                ),
            )
            for spec in self.fields
        )
        fresh = queue.row_of(self.db, self.scope, paper.id) or row
        return PaperView(
            paper=paper, row=fresh, pages=pages, fields=rows, index=self._index(paper.id, pages)
        )

    def _index(self, paper_id: str, pages: tuple[str, ...]) -> IndexedPaper:
        found = self._indexed.get(paper_id)
        if found is None or found.texts != pages:
            found = IndexedPaper(pages)
            if len(self._indexed) >= INDEXED_PAPERS:
                self._indexed.pop(next(iter(self._indexed)))
            self._indexed[paper_id] = found
        return found

    def known_mentions(self, view: PaperView) -> dict[str, tuple[Mention, ...]] | None:
        """The mentions, if they were found already (without finding them)."""
        if all(view.index.has_mentions(spec.name) for spec in self.fields):
            return self.mentions(view)
        return None

    def mentions(self, view: PaperView) -> dict[str, tuple[Mention, ...]]:
        """The candidate mentions of each field under review (slow on a long paper the first
        time: call it off the UI thread)."""
        return {spec.name: view.index.mentions(spec.name) for spec in self.fields}

    # --- decisions ----------------------------------------------------------------------

    def accept(
        self,
        view: PaperView,
        names: list[str],
        shown: Mapping[str, Sequence[Mention]] | None = None,
    ) -> list[Decision]:
        """Accept the run's proposals for ``names`` (one transaction, one undo step).

        Args:
            shown: For each field, the candidate mentions the annotator was shown (stored
                with an accepted "not reported").
        """
        new = []
        for name in names:
            row = view.fields[view.field_index(name)]
            p = row.proposal
            if p is None:
                continue
            reported = p.status == Status.REPORTED
            new.append(
                NewDecision(
                    paper_id=view.paper.id,
                    field=name,
                    verdict="accepted",
                    status=p.status,
                    value=p.value if reported else None,
                    page=p.page if reported else None,
                    quote=p.quote if reported else None,
                    proposal_id=p.id,
                    blind=self.blind,
                    grounding=p.grounding if reported else None,
                    char_start=p.char_start if reported else None,
                    char_end=p.char_end if reported else None,
                    shown_mentions=None
                    if reported or shown is None
                    else shown_mentions(shown.get(name, ())),
                )
            )
        return decision_store.record(self.db, new, annotator=self.annotator, role=self.role)

    def safe_to_accept(
        self,
        view: PaperView,
        mentions: Mapping[str, Sequence[Mention]] | None,
    ) -> tuple[list[str], AcceptPlan]:
        """What ``A`` accepts: undecided grounded values, and "not reported" only where the
        paper has no candidate mention of the field. Returns the fields and what was left.

        Args:
            mentions: Each field's candidate mentions; ``None`` while they are not known,
                when no "not reported" is taken.
        """
        names: list[str] = []
        plan = AcceptPlan()
        for row in view.fields:
            p = row.proposal
            if not row.needs_decision or p is None or row.hidden:
                continue
            if needs_hand_check(p.note):
                plan.hand_check += 1  # the paper talks to the model: every value by hand
                continue
            if p.status == Status.REPORTED:
                if p.grounding in GROUNDED:
                    names.append(row.spec.name)
                    plan.values += 1
                else:
                    plan.ungrounded += 1
            elif p.status == Status.NOT_REPORTED:
                if mentions is None or mentions.get(row.spec.name):
                    plan.with_mentions += 1
                else:
                    names.append(row.spec.name)
                    plan.not_reported += 1
        return names, plan

    def _record_one(self, decision: NewDecision) -> Decision:
        """Store one decision of this annotator (committed before this returns)."""
        stored = decision_store.record(
            self.db, [decision], annotator=self.annotator, role=self.role
        )
        return stored[0]

    def correct(
        self,
        view: PaperView,
        name: str,
        value: Any,
        evidence: Evidence | None,
        *,
        no_quote: bool = False,
    ) -> Decision:
        """Record the annotator's own value for a field with the evidence they chose
        (``accepted`` when it equals the proposal).

        Raises:
            ValueError: No evidence, and the annotator did not say "no quote".
        """
        if evidence is None and not no_quote:
            raise ValueError("a value needs a quote, or to be saved without one on purpose")
        row = view.fields[view.field_index(name)]
        p = row.proposal
        same = p is not None and p.status == Status.REPORTED and p.value == value
        decision = NewDecision(
            paper_id=view.paper.id,
            field=name,
            verdict="accepted" if same else "corrected",
            status=Status.REPORTED,
            value=value,
            proposal_id=p.id if p else None,
            blind=self.blind,
            no_quote=evidence is None,
            **_evidence_columns(evidence),
        )
        return self._record_one(decision)

    def not_reported(
        self,
        view: PaperView,
        name: str,
        shown: Sequence[Mention],
        visited: Sequence[Mention] = (),
    ) -> Decision:
        """Record "not reported", with the candidate mentions the annotator was shown (and
        which of them they went to)."""
        p = view.fields[view.field_index(name)].proposal
        decision = NewDecision(
            view.paper.id,
            name,
            "not_reported",
            Status.NOT_REPORTED,
            proposal_id=p.id if p else None,
            blind=self.blind,
            shown_mentions=shown_mentions(shown, visited),
        )
        return self._record_one(decision)

    def ambiguous(
        self, view: PaperView, name: str, comment: str, evidence: Evidence | None
    ) -> Decision:
        """Mark a field ambiguous, with the passage it is about when there is one."""
        p = view.fields[view.field_index(name)].proposal
        decision = NewDecision(
            view.paper.id,
            name,
            "ambiguous",
            Status.AMBIGUOUS,
            proposal_id=p.id if p else None,
            comment=comment,
            blind=self.blind,
            **_evidence_columns(evidence),
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
            grounding=chosen.grounding,
            char_start=chosen.char_start,
            char_end=chosen.char_end,
            no_quote=chosen.no_quote,
            shown_mentions=chosen.shown_mentions,
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

    def other_runs(self) -> list[Run]:
        return [r for r in self.runs() if self.run is None or r.id != self.run.id]

    def cycle_comparison(self) -> Run | None:
        """Show the next other run's values beside this run's (then none again)."""
        others = self.other_runs()
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


@dataclass
class AcceptPlan:
    """What "accept grounded" (``A``) takes and leaves, to say so."""

    values: int = 0
    not_reported: int = 0
    with_mentions: int = 0
    """Not-reported proposals left because the paper has candidate mentions of the field."""
    ungrounded: int = 0
    hand_check: int = 0

    def summary(self) -> str:
        """``accepted 6: 4 values, 2 not reported; left 3 with mentions for you``."""
        taken = self.values + self.not_reported
        parts = [f"{self.values} value{'s' if self.values != 1 else ''}"]
        parts.append(f"{self.not_reported} not reported")
        text = f"accepted {taken}: " + ", ".join(parts)
        left = []
        if self.with_mentions:
            left.append(f"{self.with_mentions} with mentions")
        if self.ungrounded:
            left.append(f"{self.ungrounded} ungrounded")
        if self.hand_check:
            left.append(f"{self.hand_check} to check by hand")
        if left:
            text += "; left " + ", ".join(left) + " for you"
        return text


def status_text(status: str | None) -> str:
    """A status as the screen writes it: ``not reported``, never ``not_reported``."""
    return (status or "").replace("_", " ")


def shown_mentions(
    mentions: Sequence[Mention], visited: Sequence[Mention] = ()
) -> tuple[ShownMention, ...]:
    """Mentions as stored with a decision."""
    seen = {(m.page, m.start) for m in visited}
    return tuple(
        ShownMention(m.page, m.start, m.end, m.text, (m.page, m.start) in seen) for m in mentions
    )


def _evidence_columns(evidence: Evidence | None) -> dict[str, Any]:
    if evidence is None:
        return {}
    return {
        "page": evidence.page,
        "quote": evidence.quote,
        "grounding": evidence.grounding,
        "char_start": evidence.start,
        "char_end": evidence.end,
    }


def _disputed(decisions: list[Decision]) -> bool:
    """Annotators disagree on the field, or one of them marked it ambiguous."""
    if any(d.verdict == "ambiguous" for d in decisions):
        return True
    return len({(d.status, repr(d.value)) for d in decisions}) > 1


def fields_for(name: str | None) -> tuple[FieldSpec, ...]:
    """All fields, or just ``name`` (field-first review)."""
    return FIELDS if name is None else (field_spec(name),)
