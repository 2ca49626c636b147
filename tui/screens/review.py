"""The review screen: fields and their evidence beside the paper's text.

Every human answer carries its evidence: the editor starts from the sentence around the find
match or hint the annotator is on, and checks any quote against the page before saving. The
paper can be searched (``ctrl+f``), paged (``g``) and walked through the candidate mentions
of the selected field (``}``/``{``), which is what makes "not reported" checkable.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.reactive import Reactive, reactive
from textual.widgets import DataTable, Footer
from textual.worker import Worker, WorkerState

from extraction.evidence.mentions import Mention
from extraction.fields import Status
from storage import Access, DatabaseError, open_database
from storage import queue as queue_store
from storage.queue import QueueRow
from tui import viewer
from tui.console import printable
from tui.messages import ProgressCounted
from tui.screens.editor import Answer, ValueEditor
from tui.screens.help import HelpScreen
from tui.screens.paper_moves import SIDE_BY_SIDE_WIDTH, PaperMoves
from tui.screens.prompt import TextPrompt
from tui.screens.review_keys import REVIEW_BINDINGS
from tui.screens.search import SearchHit, SearchScreen
from tui.session import PaperView, ReviewSession, status_text
from tui.widgets.evidence import EvidencePanel
from tui.widgets.fields import FieldTable
from tui.widgets.paper_text import PaperPane, PaperText
from tui.widgets.queue import PaperQueue
from tui.widgets.status import StatusLine

QUEUE_MIN_WIDTH = 170
"""Terminal width from which the queue is shown beside the review by default."""


UNDONE = {
    "accepted": "the acceptance",
    "corrected": "the correction",
    "not_reported": "'not reported'",
    "ambiguous": "'ambiguous'",
}
"""How an undone decision is named: "Undid the correction of funding_sources."."""


@dataclass
class MentionsCounted(Message):
    """The candidate mentions of a paper's fields were found (off the UI thread)."""

    paper_id: str
    mentions: dict[str, tuple[Mention, ...]]


class ReviewScreen(PaperMoves):
    """Review one paper at a time: accept, correct or mark each field; every decision is
    committed, with its evidence, before the screen changes."""

    BINDINGS = REVIEW_BINDINGS

    HORIZONTAL_BREAKPOINTS = [
        (0, "-narrow"),
        (SIDE_BY_SIDE_WIDTH, "-medium"),
        (QUEUE_MIN_WIDTH, "-wide"),
    ]

    papers_done: Reactive[int | None] = reactive(None, init=False)
    """The annotator's finished papers (counted in the background)."""
    papers_total: Reactive[int | None] = reactive(None, init=False)
    """Papers in the database (counted in the background)."""

    def __init__(self, session: ReviewSession) -> None:
        super().__init__(session)
        self._binding_signature: tuple[bool, ...] = ()
        self._queue_toggled = False

    # --- layout -------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        with Horizontal(id="main"):
            yield PaperQueue(self.session.window, id="queue")
            with Vertical(id="review"):
                yield FieldTable(id="fields", adjudicating=self.session.adjudicating)
                yield EvidencePanel(id="evidence")
            yield PaperPane(id="paper")
        yield StatusLine(id="status")
        yield Footer()

    def on_mount(self) -> None:
        queue = self.query_one(PaperQueue)
        queue.display = self.app.size.width >= QUEUE_MIN_WIDTH
        queue.border_title = "papers"
        self.query_one(FieldTable).focus()
        row = self.session.start()
        if row is None:
            self.say("No papers yet: add some with 'goldsmith ingest PATH'", severity="warning")
        else:
            self.show_row(row)
        self.count_progress()

    def on_resize(self) -> None:
        queue = self.query_one(PaperQueue)
        if not self._queue_toggled:
            # Until the annotator shows or hides it, the queue follows the terminal's width.
            queue.display = self.app.size.width >= QUEUE_MIN_WIDTH
        if self.view is not None and queue.display:
            queue.show_around(self.view.row)
        self.call_after_refresh(self.query_one(FieldTable).refit)

    # --- showing a paper ----------------------------------------------------------------

    def show_row(self, row: QueueRow, field: str | None = None) -> None:
        """Load and show a paper, the cursor on ``field`` or its first undecided field."""
        view = self.session.load(row)
        changed = self.view is None or self.view.paper.id != view.paper.id
        self.view = view
        if changed:
            self._forget_paper()
            # Found before (this session): no need to wait for the background search.
            self.mentions = self.session.known_mentions(view)
            if self.mentions is None:
                self._find_mentions(view)
        table = self.query_one(FieldTable)
        table.show(view, self.session.compare_run is not None, self.mentions)
        index = view.field_index(field) if field else self._first_undecided(view, 0)
        table.move_cursor(row=index, animate=False)
        queue = self.query_one(PaperQueue)
        if queue.display:
            queue.show_around(view.row)
        self.query_one(PaperText).show_pages(view.paper.id, view.pages)
        title = view.paper.display_title
        shown = printable(title if len(title) < 90 else title[:89] + "…")
        # A Text, not a str: a str border title is read as markup, and a paper's title is
        # data ("[@click=app.quit]" must show, not act).
        self.query_one("#review").border_title = Text(shown)
        self._show_field(index)

    def _forget_paper(self) -> None:
        """A new paper: nothing found, hinted or pinned yet."""
        self.find_words, self.matches, self.match_index = "", [], -1
        self.target, self.pinned = None, False
        self._visited = {}
        self.query_one(PaperText).set_all_marks(
            {kind: () for kind in ("match", "current", "mention", "quote", "chosen")}
        )

    def _first_undecided(self, view: PaperView, start: int) -> int:
        count = len(view.fields)
        for step in range(count):
            index = (start + step) % count
            if view.fields[index].needs_decision:
                return index
        return min(start, count - 1)

    def _show_field(self, index: int) -> None:
        if self.view is None:
            return
        row = self.view.fields[index]
        comparing = self.session.compare_run.name if self.session.compare_run else None
        self.query_one(EvidencePanel).show(row, comparing, self.field_mentions(row))
        text = self.query_one(PaperText)
        found = self.field_mentions(row) or ()
        quote = row.evidence_span
        chosen = row.decision_span
        text.set_all_marks(
            {
                "mention": [(m.page, m.start, m.end) for m in found],
                "quote": [quote] if quote else [],
                "chosen": [chosen] if chosen else [],
            }
        )
        if not self.pinned:
            if chosen is not None:
                text.scroll_to_span(chosen)
            elif quote is not None:
                text.scroll_to_span(quote)
            elif row.proposal is not None and row.proposal.page and not row.hidden:
                text.go_to_page(row.proposal.page)
        self._update_status()
        self._update_field_bar()
        self._update_text_status()
        self._refresh_bindings_if_changed()

    def say(self, message: str, **kwargs: Any) -> None:
        """A notification that shows ``message`` literally: it may hold file names, run
        names or errors, which must never be read as markup."""
        self.notify(printable(message), markup=False, **kwargs)

    def _refresh_bindings_if_changed(self) -> None:
        """Refresh the footer only when an action became (un)available: rebuilding it restyles
        every key widget, which cost ~70 ms a key press when done on every cursor move."""
        signature = tuple(
            bool(self.check_action(action, ()))
            for action in ("accept", "accept_all", "correct", "open_pdf", "switch_pane")
        )
        if signature != self._binding_signature:
            self._binding_signature = signature
            self.refresh_bindings()

    @on(DataTable.RowHighlighted, "#fields")
    def _field_moved(self, event: DataTable.RowHighlighted) -> None:
        self._show_field(event.cursor_row)

    @on(DataTable.RowSelected, "#fields")
    def _field_chosen(self, event: DataTable.RowSelected) -> None:
        self.action_correct()

    def _update_status(self) -> None:
        view = self.view
        self.query_one(StatusLine).show(
            annotator=self.session.annotator,
            run=self.session.run.name if self.session.run else None,
            papers_done=self.papers_done,
            papers_total=self.papers_total,
            decided=view.decided if view else 0,
            fields=len(self.session.fields),
            queue_filter=self.session.queue_filter.value,
            field_mode=self.session.fields[0].name if self.session.field_mode else None,
            role=self.session.role,
            blind=self.session.blind,
        )

    def watch_papers_done(self) -> None:
        self._update_status()

    # --- work off the UI thread ---------------------------------------------------------

    @work(thread=True, exclusive=True, group="progress", exit_on_error=False)
    def count_progress(self) -> None:
        """Count finished papers in the background (a scan of every decision)."""
        db = open_database(self.session.db_path, access=Access.READ, migrate=False)
        try:
            scope = self.session.scope
            done = queue_store.papers_done(db, scope)
            total = queue_store.count(db, scope.with_filter(queue_store.QueueFilter.ALL))
        finally:
            db.close()
        self.post_message(ProgressCounted(done, total))

    def on_progress_counted(self, message: ProgressCounted) -> None:
        self.papers_total = message.papers_total
        self.papers_done = message.papers_done

    @work(thread=True, exclusive=True, group="mentions", exit_on_error=False)
    def _find_mentions(self, view: PaperView) -> None:
        """Find each field's candidate mentions (a fifth of a second on an 80-page paper)."""
        self.post_message(MentionsCounted(view.paper.id, self.session.mentions(view)))

    def on_mentions_counted(self, message: MentionsCounted) -> None:
        if self.view is None or self.view.paper.id != message.paper_id:
            return
        self.mentions = message.mentions
        self.query_one(FieldTable).show(
            self.view, self.session.compare_run is not None, self.mentions
        )
        self._show_field(self.current_index)

    @on(Worker.StateChanged)
    def _worker_failed(self, event: Worker.StateChanged) -> None:
        if event.state is WorkerState.ERROR and event.worker.group == "progress":
            self.say(f"could not count progress: {event.worker.error}", severity="warning")
        if event.state is WorkerState.ERROR and event.worker.group == "mentions":
            self.say(f"could not find mentions: {event.worker.error}", severity="warning")

    # --- decisions ----------------------------------------------------------------------

    def _save(self, action: Any, *args: Any, **kwargs: Any) -> Any:
        """Run one storage call, turning a database failure into a message, never a crash."""
        try:
            return action(*args, **kwargs)
        except (DatabaseError, sqlite3.Error) as exc:
            self.say(f"Not saved: {exc}", severity="error", timeout=10)
            return None

    def _after_decision(self, field: str | None) -> None:
        """Reload from the database (so the screen shows what is stored), then move on."""
        assert self.view is not None
        if self.target is None or self.target not in self.matches:
            # A hint belongs to its field: the next field's text follows that field again.
            # A find match stays the current passage: one sentence often answers several
            # fields ("16 Cloud TPUs (64 TPU chips total)": type, count, provider).
            self.target, self.pinned = None, False
            self.query_one(PaperText).set_marks("current", ())
        self.query_one(PaperText).clear_selection()
        was_complete = self.view.decided == len(self.view.fields)
        view = self.session.load(self.view.row)
        complete = view.decided == len(view.fields)
        if complete and not was_complete:
            self.count_progress()
        if complete:
            following = self.session.next_undecided(view.row)
            if following is not None:
                self.say("Paper done — on to the next undecided one.", timeout=2)
                self.show_row(following)
                return
            self.say("Every paper in the queue is decided.", timeout=4)
        start = view.field_index(field) + 1 if field else 0
        self.show_row(view.row, view.fields[self._first_undecided(view, start)].spec.name)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        row = self.current
        adjudicating = self.session.adjudicating
        if action == "accept":
            return (
                row is not None
                and row.proposal is not None
                and not row.hidden
                and (not adjudicating)
            )
        if action == "accept_all":
            if self.view is None or adjudicating or self.session.blind:
                return False
            # Until the mentions are found, no "not reported" counts as safe.
            names, _ = self.session.safe_to_accept(self.view, self.mentions)
            return bool(names)
        if action in ("correct", "not_reported", "ambiguous", "comment"):
            return row is not None
        if action == "adopt":
            index = int(str(parameters[0])) if parameters else 1
            return adjudicating and row is not None and index <= max(1, len(row.others))
        if action == "open_pdf":
            return self.view is not None and bool(self.view.paper.path)
        if action == "switch_pane":
            return self.narrow
        if action in ("compare_run", "score"):
            # Blind: another run's values, and the score's list of errors (the run's value and
            # quote beside the gold answer, paper by paper), would show proposals.
            return not self.session.blind
        return True

    def action_accept(self) -> None:
        row, view = self.current, self.view
        if row is None or view is None:
            return
        p = row.proposal
        if p is None:
            self.say("No proposal to accept: press e to enter a value, or n.", severity="warning")
            return
        if p.status == Status.REPORTED and p.grounding in (None, "ungrounded"):
            self.say(
                "The proposal's quote is not in the paper: choose the evidence for it.",
                severity="warning",
                timeout=4,
            )
            self.action_correct()
            return
        shown = {row.spec.name: self._mentions_now().get(row.spec.name, ())}
        if self._save(self.session.accept, view, [row.spec.name], shown) is not None:
            self._after_decision(row.spec.name)

    def action_accept_all(self) -> None:
        view = self.view
        if view is None:
            return
        names, plan = self.session.safe_to_accept(view, self._mentions_now())
        if not names:
            left = plan.summary().partition("; left ")[2]
            self.say(
                f"Nothing accepted: left {left}." if left else "Nothing left to accept.",
                severity="warning",
                timeout=5,
            )
            return
        shown = {name: () for name in names}  # not reported only where there is nothing
        if self._save(self.session.accept, view, names, shown) is not None:
            self.say(plan.summary()[0].upper() + plan.summary()[1:] + ".", timeout=5)
            self._after_decision(None)

    def action_correct(self) -> None:
        row, view = self.current, self.view
        if row is None or view is None:
            return
        initial = None
        if row.decision is not None and row.decision.value is not None:
            initial = row.decision.value
        elif row.proposal is not None and row.proposal.value is not None and not row.hidden:
            initial = row.proposal.value  # never in blind review: it is the model's answer
        name = row.spec.name

        def done(answer: Answer | None) -> None:
            if answer is None or self.view is None:
                return
            if (
                self._save(
                    self.session.correct,
                    self.view,
                    name,
                    answer.value,
                    answer.evidence,
                    no_quote=answer.no_quote,
                )
                is not None
            ):
                if answer.no_quote:
                    self.say(f"{name} saved without a quote.", timeout=3)
                self._after_decision(name)

        self.app.push_screen(
            ValueEditor(
                row.spec,
                initial,
                evidence=self.default_evidence(row),
                paper=view.index,
                page=self.query_one(PaperText).page_in_view(),
            ),
            done,
        )

    def action_not_reported(self) -> None:
        row, view = self.current, self.view
        if row is None or view is None:
            return
        name = row.spec.name
        shown = self._mentions_now().get(name, ())
        visited = self._visited.get(name, [])
        if self._save(self.session.not_reported, view, name, shown, visited) is not None:
            if shown and not visited:
                self.say(
                    f"Saved as not reported; the paper had {len(shown)} candidate "
                    f"mention{'s' if len(shown) != 1 else ''} "
                    "you did not open (stored with the decision).",
                    timeout=4,
                )
            self._after_decision(name)

    def action_ambiguous(self) -> None:
        row = self.current
        if row is None:
            return
        name = row.spec.name
        evidence = self._target_evidence()

        def done(comment: str | None) -> None:
            if comment is None or self.view is None:
                return
            if self._save(self.session.ambiguous, self.view, name, comment, evidence) is not None:
                self._after_decision(name)

        self.app.push_screen(
            TextPrompt(
                f"Why is {name} ambiguous? (goes to adjudication)", "e.g. two runs are described"
            ),
            done,
        )

    def action_comment(self) -> None:
        row = self.current
        if row is None:
            return
        name = row.spec.name

        def done(comment: str | None) -> None:
            if comment is None or self.view is None:
                return
            if self._save(self.session.comment, self.view, name, comment) is not None:
                self.show_row(self.view.row, name)
                self.say("Comment saved.", timeout=2)

        self.app.push_screen(TextPrompt(f"Comment on {name}"), done)

    def action_undo(self) -> None:
        undone = self._save(self.session.undo)
        if undone is None:
            return
        if not undone:
            self.say("Nothing to undo.", severity="warning")
            return
        first = undone[0]
        row = self.session.row_of(first.paper_id)
        if row is not None:
            field = first.field if any(s.name == first.field for s in self.session.fields) else None
            self.show_row(row, field)
        self.count_progress()
        what = (
            f"{len(undone)} decisions"
            if len(undone) > 1
            else f"{UNDONE.get(first.verdict, status_text(first.verdict))} of {first.field}"
        )
        self.say(f"Undid {what}.", timeout=3)

    # --- moving inside a paper -----------------------------------------------------------

    def action_next_field(self) -> None:
        table = self.query_one(FieldTable)
        if table.cursor_row < table.row_count - 1:
            table.move_cursor(row=table.cursor_row + 1)

    def action_previous_field(self) -> None:
        table = self.query_one(FieldTable)
        if table.cursor_row > 0:
            table.move_cursor(row=table.cursor_row - 1)

    def action_next_paper(self) -> None:
        if self.view is None:
            return
        row = self.session.next_row(self.view.row)
        if row is None or row.paper_id == self.view.paper.id:
            self.say("No other paper in this queue.", severity="warning")
            return
        self.show_row(row)

    def action_previous_paper(self) -> None:
        if self.view is None:
            return
        row = self.session.previous_row(self.view.row)
        if row is None:
            self.say("This is the first paper of the queue.", severity="warning")
            return
        self.show_row(row)

    def action_next_undecided(self) -> None:
        row = self.session.next_undecided(self.view.row if self.view else None)
        if row is None:
            self.say("No other paper has undecided fields.", severity="warning")
            return
        self.show_row(row)

    def action_cycle_filter(self) -> None:
        self.session.queue_filter = self.session.queue_filter.next()
        if self.view is not None:
            queue = self.query_one(PaperQueue)
            if queue.display:
                queue.show_around(self.view.row)
        self._update_status()
        self.say(f"Queue: {self.session.queue_filter.value}", timeout=2)

    def action_search(self) -> None:
        def done(hit: SearchHit | None) -> None:
            if hit is None:
                return
            row = self.session.row_of(hit.paper_id)
            if row is None:
                return
            self.show_row(row)
            if hit.page is not None:
                self.find_in_paper(hit.words, page=hit.page)
                if not self.matches:
                    self.pinned = True
                    self.query_one(PaperText).go_to_page(hit.page)

        self.app.push_screen(SearchScreen(self.session), done)

    def action_toggle_queue(self) -> None:
        self._queue_toggled = True
        queue = self.query_one(PaperQueue)
        if queue.display and queue.has_focus:
            queue.display = False
            self.query_one(FieldTable).focus()
            self.call_after_refresh(self.query_one(FieldTable).refit)
            return
        queue.display = True
        if self.view is not None:
            queue.show_around(self.view.row)
        queue.focus()
        self.call_after_refresh(self.query_one(FieldTable).refit)

    @on(PaperQueue.Chosen)
    def _queue_chosen(self, event: PaperQueue.Chosen) -> None:
        self.show_row(event.row)
        self.query_one(FieldTable).focus()

    def action_open_pdf(self) -> None:
        if self.view is None:
            return
        row = self.current
        page = None
        if self.target is not None:
            page = self.target.page
        elif row is not None and row.decision is not None and row.decision.page:
            page = row.decision.page
        elif row is not None and row.proposal and row.proposal.page and not row.hidden:
            page = row.proposal.page
        if page is None:
            page = self.query_one(PaperText).page_in_view() or 1
        message, ok = viewer.open_pdf(self.view.paper.path, page)
        self.say(message, severity="information" if ok else "error", timeout=6)

    def action_compare_run(self) -> None:
        if not self.session.other_runs():
            self.session.compare_run = None
            name = self.session.run.name if self.session.run else "none"
            self.say(f"There is no other run to compare with (only {name}).", timeout=3)
            return
        other = self.session.cycle_comparison()
        if self.view is not None:
            self.show_row(self.view.row, self.current.spec.name if self.current else None)
        self.say(f"Comparing with run {other.name}" if other else "Comparison off", timeout=2)

    def action_help(self) -> None:
        self.app.push_screen(HelpScreen(self))

    def action_adopt(self, index: int) -> None:
        row, view = self.current, self.view
        if row is None or view is None or not self.session.adjudicating:
            return
        if index > len(row.others):
            self.say(f"There is no annotator {index} on this field.", severity="warning")
            return
        if self._save(self.session.adopt, view, row.spec.name, index) is not None:
            self._after_decision(row.spec.name)

    def action_score(self) -> None:
        from tui.screens.score import ScoreScreen

        if self.session.run is None:
            self.say("No run to score.", severity="warning")
            return
        self.app.push_screen(
            ScoreScreen(self.session.db_path, self.session.run.name), self._open_scored
        )

    def _open_scored(self, target: tuple[str, str] | None) -> None:
        """Open the paper and field chosen among the score screen's errors."""
        if target is None:
            return
        paper_id, field = target
        row = self.session.row_of(paper_id)
        if row is None:
            self.say("That paper is not in this review queue.", severity="warning")
            return
        shown = any(spec.name == field for spec in self.session.fields)
        self.show_row(row, field if shown else None)
