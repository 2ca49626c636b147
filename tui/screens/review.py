"""The review screen: fields and their evidence beside the paper's text."""

from __future__ import annotations

import sqlite3
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.reactive import Reactive, reactive
from textual.screen import Screen
from textual.widgets import DataTable, Footer
from textual.worker import Worker, WorkerState

from extraction.evidence.proposals import needs_hand_check
from extraction.fields import Status
from storage import DatabaseError, open_database
from storage import queue as queue_store
from storage.queue import QueueRow
from tui import viewer
from tui.console import printable
from tui.messages import ProgressCounted
from tui.screens.editor import ValueEditor
from tui.screens.help import HelpScreen
from tui.screens.prompt import TextPrompt
from tui.screens.search import SearchScreen
from tui.session import FieldRow, PaperView, ReviewSession
from tui.widgets.evidence import EvidencePanel
from tui.widgets.fields import FieldTable
from tui.widgets.paper_text import PaperText
from tui.widgets.queue import PaperQueue
from tui.widgets.status import StatusLine

QUEUE_MIN_WIDTH = 140
"""Terminal width from which the queue is shown beside the review by default."""


def _binding(
    key: str, action: str, description: str, tooltip: str, name: str, show: bool = True
) -> Binding:
    return Binding(key, action, description, show=show, tooltip=tooltip, id=f"goldsmith.{name}")


class ReviewScreen(Screen[None]):
    """Review one paper at a time: accept, correct or mark each field; every decision is
    committed before the screen changes."""

    BINDINGS = [
        _binding(
            "j,down", "next_field", "Next field", "Move to the next field", "next_field", False
        ),
        _binding(
            "k,up",
            "previous_field",
            "Previous field",
            "Move to the previous field",
            "previous_field",
            False,
        ),
        _binding("a", "accept", "Accept", "Accept the proposed value for this field", "accept"),
        _binding(
            "A",
            "accept_all",
            "Accept grounded",
            "Accept every grounded, undecided proposal of this paper",
            "accept_all",
        ),
        _binding(
            "e,enter", "correct", "Correct", "Enter the right value for this field", "correct"
        ),
        _binding(
            "n",
            "not_reported",
            "Not reported",
            "Mark this field as not reported by the paper",
            "not_reported",
        ),
        _binding(
            "m",
            "ambiguous",
            "Ambiguous",
            "Mark this field ambiguous (asks for a comment; goes to adjudication)",
            "ambiguous",
        ),
        _binding("c", "comment", "Comment", "Add a comment on this field", "comment"),
        _binding("u", "undo", "Undo", "Undo your last decision (repeatable)", "undo"),
        _binding(
            "right_square_bracket",
            "next_paper",
            "Next paper",
            "Go to the next paper in the queue",
            "next_paper",
        ),
        _binding(
            "left_square_bracket",
            "previous_paper",
            "Prev paper",
            "Go to the previous paper in the queue",
            "previous_paper",
        ),
        _binding(
            "space",
            "next_undecided",
            "Next undecided",
            "Go to the next paper with undecided fields",
            "next_undecided",
        ),
        _binding("slash", "search", "Search", "Search titles and full text", "search"),
        _binding(
            "f",
            "cycle_filter",
            "Filter",
            "Cycle the queue filter: all, undecided, flagged, ungrounded",
            "filter",
        ),
        _binding(
            "o",
            "open_pdf",
            "Open PDF",
            "Open the PDF at the evidence page in the system viewer",
            "open_pdf",
        ),
        _binding(
            "r",
            "compare_run",
            "Compare run",
            "Show another run's values beside this run's",
            "compare_run",
            False,
        ),
        _binding(
            "s", "score", "Score", "Show the run's accuracy against the gold set so far", "score"
        ),
        *(
            _binding(
                str(n),
                f"adopt({n})",
                f"Take answer {n}",
                f"Adjudicating: take annotator {n}'s answer",
                f"adopt_{n}",
                False,
            )
            for n in range(1, 10)
        ),
        _binding(
            "tab",
            "toggle_queue",
            "Queue",
            "Show or hide the paper queue (and move focus to it)",
            "toggle_queue",
        ),
        _binding(
            "pagedown,J",
            "scroll_text(1)",
            "Text down",
            "Scroll the paper text down",
            "text_down",
            False,
        ),
        _binding(
            "pageup,K", "scroll_text(-1)", "Text up", "Scroll the paper text up", "text_up", False
        ),
    ]

    view: Reactive[PaperView | None] = reactive(None, init=False, always_update=True)
    """The paper under review."""
    papers_done: Reactive[int | None] = reactive(None, init=False)
    """The annotator's finished papers (counted in the background)."""
    papers_total: Reactive[int | None] = reactive(None, init=False)
    """Papers in the database (counted in the background)."""

    def __init__(self, session: ReviewSession) -> None:
        super().__init__()
        self.session = session
        self._binding_signature: tuple[bool, ...] = ()

    # --- layout -------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        with Horizontal(id="main"):
            yield PaperQueue(self.session.window, id="queue")
            with Vertical(id="review"):
                yield FieldTable(id="fields", adjudicating=self.session.adjudicating)
                yield EvidencePanel(id="evidence")
            yield PaperText(id="text")
        yield StatusLine(id="status")
        yield Footer()

    def on_mount(self) -> None:
        queue = self.query_one(PaperQueue)
        queue.display = self.app.size.width >= QUEUE_MIN_WIDTH
        queue.border_title = "papers"
        self.query_one("#text", PaperText).border_title = "paper"
        self.query_one(FieldTable).focus()
        row = self.session.start()
        if row is None:
            self.say("No papers yet: add some with 'goldsmith ingest PATH'", severity="warning")
        else:
            self.show_row(row)
        self.count_progress()

    # --- showing a paper ----------------------------------------------------------------

    def show_row(self, row: QueueRow, field: str | None = None) -> None:
        """Load and show a paper, the cursor on ``field`` or its first undecided field."""
        view = self.session.load(row)
        self.view = view
        table = self.query_one(FieldTable)
        table.show(view, self.session.compare_run is not None)
        index = view.field_index(field) if field else self._first_undecided(view, 0)
        table.move_cursor(row=index, animate=False)
        queue = self.query_one(PaperQueue)
        if queue.display:
            queue.show_around(view.row)
        self.query_one("#text", PaperText).show_pages(view.paper.id, view.pages)
        title = view.paper.display_title
        shown = printable(title if len(title) < 90 else title[:89] + "…")
        # A Text, not a str: a str border title is read as markup, and a paper's title is
        # data ("[@click=app.quit]" must show, not act).
        self.query_one("#review").border_title = Text(shown)
        self._show_field(index)

    def _first_undecided(self, view: PaperView, start: int) -> int:
        count = len(view.fields)
        for step in range(count):
            index = (start + step) % count
            if view.fields[index].needs_decision:
                return index
        return min(start, count - 1)

    @property
    def current_index(self) -> int:
        return self.query_one(FieldTable).cursor_row

    @property
    def current(self) -> FieldRow | None:
        if self.view is None or not self.view.fields:
            return None
        return self.view.fields[min(self.current_index, len(self.view.fields) - 1)]

    def _show_field(self, index: int) -> None:
        if self.view is None:
            return
        row = self.view.fields[index]
        comparing = self.session.compare_run.name if self.session.compare_run else None
        self.query_one(EvidencePanel).show(row, comparing)
        text = self.query_one("#text", PaperText)
        p = row.proposal
        if row.hidden:
            pass  # blind review: the evidence would give the proposal away
        elif p is not None and p.status != Status.NOT_REPORTED:
            text.highlight(p.page, p.char_start, p.char_end)
        self._update_status()
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
            for action in ("accept", "accept_all", "correct", "open_pdf")
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

    # --- progress, counted off the UI thread --------------------------------------------

    @work(thread=True, exclusive=True, group="progress", exit_on_error=False)
    def count_progress(self) -> None:
        """Count finished papers in the background (a scan of every decision)."""
        db = open_database(self.session.db_path, migrate=False)
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

    @on(Worker.StateChanged)
    def _worker_failed(self, event: Worker.StateChanged) -> None:
        if event.state is WorkerState.ERROR and event.worker.group == "progress":
            self.say(f"could not count progress: {event.worker.error}", severity="warning")

    # --- decisions ----------------------------------------------------------------------

    def _save(self, action: Any, *args: Any) -> Any:
        """Run one storage call, turning a database failure into a message, never a crash."""
        try:
            return action(*args)
        except (DatabaseError, sqlite3.Error) as exc:
            self.say(f"Not saved: {exc}", severity="error", timeout=10)
            return None

    def _after_decision(self, field: str | None) -> None:
        """Reload from the database (so the screen shows what is stored), then move on."""
        assert self.view is not None
        was_complete = self.view.decided == len(self.view.fields)
        view = self.session.load(self.view.row)
        complete = view.decided == len(view.fields)
        if complete and not was_complete and self.papers_done is not None:
            self.papers_done += 1
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
        if action == "accept":
            return row is not None and row.proposal is not None and not row.hidden
        if action == "accept_all":
            return self.view is not None and bool(self._acceptable(self.view))
        if action in ("correct", "not_reported", "ambiguous", "comment"):
            return row is not None
        if action == "adopt":
            index = int(str(parameters[0])) if parameters else 0
            return self.session.adjudicating and row is not None and index <= len(row.others)
        if action == "open_pdf":
            return self.view is not None and bool(self.view.paper.path)
        return True

    def _acceptable(self, view: PaperView) -> list[str]:
        """Fields with a proposal that is grounded (or says not reported) and undecided."""
        names = []
        for row in view.fields:
            p = row.proposal
            if not row.needs_decision or p is None or row.hidden:
                continue
            if needs_hand_check(p.note):
                continue  # the paper talks to the model: every value is checked by hand
            if p.status == Status.NOT_REPORTED or p.grounding in ("exact", "normalized", "fuzzy"):
                names.append(row.spec.name)
        return names

    def action_accept(self) -> None:
        row, view = self.current, self.view
        if row is None or view is None:
            return
        if row.proposal is None:
            self.say("No proposal to accept: press e to enter a value, or n.", severity="warning")
            return
        if self._save(self.session.accept, view, [row.spec.name]) is not None:
            self._after_decision(row.spec.name)

    def action_accept_all(self) -> None:
        view = self.view
        if view is None:
            return
        names = self._acceptable(view)
        if not names:
            self.say("Nothing to accept: every grounded proposal is decided.", severity="warning")
            return
        skipped = sum(
            1
            for r in view.fields
            if not r.decided and r.proposal and r.proposal.grounding == "ungrounded"
        )
        if self._save(self.session.accept, view, names) is not None:
            message = f"Accepted {len(names)} field(s)"
            if skipped:
                message += f"; {skipped} ungrounded left for you to check"
            self.say(message, timeout=3)
            self._after_decision(None)

    def action_correct(self) -> None:
        row, view = self.current, self.view
        if row is None or view is None:
            return
        initial = None
        if row.decision is not None and row.decision.value is not None:
            initial = row.decision.value
        elif row.proposal is not None and row.proposal.value is not None:
            initial = row.proposal.value
        name = row.spec.name

        def done(value: Any) -> None:
            if value is None or self.view is None:
                return
            page = self.query_one("#text", PaperText).page_at_cursor()
            if self._save(self.session.correct, self.view, name, value, page) is not None:
                self._after_decision(name)

        self.app.push_screen(ValueEditor(row.spec, initial), done)

    def action_not_reported(self) -> None:
        row, view = self.current, self.view
        if row is None or view is None:
            return
        if self._save(self.session.not_reported, view, row.spec.name) is not None:
            self._after_decision(row.spec.name)

    def action_ambiguous(self) -> None:
        row = self.current
        if row is None:
            return
        name = row.spec.name

        def done(comment: str | None) -> None:
            if comment is None or self.view is None:
                return
            page = self.query_one("#text", PaperText).page_at_cursor()
            if self._save(self.session.ambiguous, self.view, name, comment, page) is not None:
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
            else f"{first.verdict.replace('_', ' ')} of {first.field}"
        )
        self.say(f"Undid {what}.", timeout=3)

    # --- moving between papers ----------------------------------------------------------

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
        def done(paper_id: str | None) -> None:
            if paper_id:
                row = self.session.row_of(paper_id)
                if row is not None:
                    self.show_row(row)

        self.app.push_screen(SearchScreen(self.session), done)

    def action_toggle_queue(self) -> None:
        queue = self.query_one(PaperQueue)
        if queue.display and queue.has_focus:
            queue.display = False
            self.query_one(FieldTable).focus()
            return
        queue.display = True
        if self.view is not None:
            queue.show_around(self.view.row)
        queue.focus()

    @on(PaperQueue.Chosen)
    def _queue_chosen(self, event: PaperQueue.Chosen) -> None:
        self.show_row(event.row)
        self.query_one(FieldTable).focus()

    def action_open_pdf(self) -> None:
        if self.view is None:
            return
        row = self.current
        page = row.proposal.page if row and row.proposal and row.proposal.page else None
        if page is None:
            page = self.query_one("#text", PaperText).page_at_cursor() or 1
        message, ok = viewer.open_pdf(self.view.paper.path, page)
        self.say(message, severity="information" if ok else "error", timeout=6)

    def action_compare_run(self) -> None:
        other = self.session.cycle_comparison()
        if self.view is not None:
            self.show_row(self.view.row, self.current.spec.name if self.current else None)
        self.say(f"Comparing with run {other.name}" if other else "Comparison off", timeout=2)

    def action_scroll_text(self, direction: int) -> None:
        text = self.query_one("#text", PaperText)
        if direction > 0:
            text.scroll_page_down()
        else:
            text.scroll_page_up()

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
