"""The score screen (``s``): the run under review against the gold set so far, per field, and
the paper-fields it got wrong, each of which opens in review at that field."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.text import Text
from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import DataTable, Static
from textual.worker import Worker, WorkerState

from extraction.evidence.normalize import format_value
from extraction.fields import FIELD_NAMES, field_spec
from extraction.gold.scoring import score_runs
from storage import Access, open_database
from tui.console import printable
from tui.widgets.list_table import ListTable

Target = tuple[str, str]
"""A paper id and a field: where review should open."""
OVERALL = "overall"


class ScoreScreen(ModalScreen[Target | None]):
    """Accuracy with a 95% interval and the four outcome counts, per field and overall.

    ``enter`` on a field lists that field's errors (on ``overall``, every error); choosing
    one dismisses this screen with the paper and field to open.
    """

    BINDINGS = [
        Binding(
            "escape,s,q", "close", "Close", id="goldsmith.score.close", tooltip="Close the scores"
        ),
    ]

    @dataclass
    class Scored(Message):
        """The background scoring finished."""

        report: dict[str, Any]

    def __init__(self, db_path: Path, run_name: str) -> None:
        super().__init__()
        self.db_path = db_path
        self.run_name = run_name
        self.report: dict[str, Any] | None = None

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="score"):
            yield Static(Text(f"Run {self.run_name} against the gold set so far", style="bold"))
            yield Static(Text("scoring…", style="dim"), id="score-summary")
            yield ListTable(id="score-table", cursor_type="row", zebra_stripes=True)
            yield Static(
                Text(
                    "enter: errors · escape: close · c/w/h/m: correct/wrong/halluc./missed",
                    style="dim",
                )
            )

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        for column in ("field", "n", "accuracy", "95% interval", "c / w / h / m"):
            table.add_column(column)
        table.focus()
        self.compute()

    @work(thread=True, exclusive=True, group="score", exit_on_error=False)
    def compute(self) -> None:
        """Score in a thread, on its own connection (scoring reads every gold decision)."""
        db = open_database(self.db_path, access=Access.READ, migrate=False)
        try:
            report = score_runs(db, [self.run_name], include_partial=True, errors=True)
        finally:
            db.close()
        self.post_message(self.Scored(report))

    def on_score_screen_scored(self, message: Scored) -> None:
        self.report = message.report
        figures = message.report["runs"][self.run_name]
        table = self.query_one(DataTable)
        for name in [*FIELD_NAMES, OVERALL]:
            row = figures["overall"] if name == OVERALL else figures["fields"][name]
            accuracy = "—" if row["accuracy"] is None else f"{100 * row['accuracy']:.1f}%"
            interval = (
                "—"
                if row["ci95"] is None
                else f"{100 * row['ci95'][0]:.0f}–{100 * row['ci95'][1]:.0f}%"
            )
            counts = (
                f"{row['correct']} / {row['wrong_value']} / {row['hallucinated']} / {row['missed']}"
            )
            label = Text(name, style="bold") if name == OVERALL else Text(name)
            table.add_row(label, str(row["n"]), accuracy, interval, counts, key=name)
        papers = message.report["gold_papers"]
        wrong = len(figures["errors"])
        self.query_one("#score-summary", Static).update(
            Text(f"{papers} paper(s) with gold values so far · {wrong} error(s)", style="dim")
        )

    @on(DataTable.RowSelected, "#score-table")
    def _field_chosen(self, event: DataTable.RowSelected) -> None:
        if self.report is None or event.row_key.value is None:
            return
        field = event.row_key.value
        errors = [
            error
            for error in self.report["runs"][self.run_name]["errors"]
            if field == OVERALL or error["field"] == field
        ]
        if not errors:
            self.notify(f"No errors on {field}.", timeout=2)
            return

        def chosen(target: Target | None) -> None:
            if target is not None:
                self.dismiss(target)

        self.app.push_screen(ErrorsScreen(self.run_name, field, errors), chosen)

    @on(Worker.StateChanged)
    def _failed(self, event: Worker.StateChanged) -> None:
        if event.state is WorkerState.ERROR:
            self.query_one("#score-summary", Static).update(
                Text(f"could not score: {event.worker.error}", style="red")
            )

    def action_close(self) -> None:
        self.dismiss(None)


def _answer(field: str, given: dict[str, Any]) -> str:
    """A run's or the gold answer in a few words: the value, else the status."""
    if given["status"] is None:
        return "no answer"
    if given["status"] == "reported":
        return format_value(field_spec(field), given["value"])
    return str(given["status"]).replace("_", " ")  # "not reported", as everywhere on screen


def _evidence(given: dict[str, Any]) -> str:
    page = f"p. {given['page']}" if given["page"] is not None else ""
    quote = " ".join((given["quote"] or "").split())
    if quote:
        return f'{page + " " if page else ""}"{quote}"'
    return page or "no evidence"


class ErrorsScreen(ModalScreen[Target | None]):
    """The paper-fields a run got wrong (one field's, or all), by field then file; the
    highlighted one's answers and evidence in full below; ``enter`` opens it in review."""

    BINDINGS = [
        Binding(
            "escape,q",
            "close",
            "Back",
            id="goldsmith.score.errors.close",
            tooltip="Back to the scores",
        ),
    ]

    def __init__(self, run_name: str, field: str, errors: list[dict[str, Any]]) -> None:
        super().__init__()
        self.run_name = run_name
        self.field = field
        self.errors = errors

    def compose(self) -> ComposeResult:
        which = "every field" if self.field == OVERALL else self.field
        with Vertical(classes="dialog", id="score-errors"):
            yield Static(
                Text(f"Run {self.run_name}: {len(self.errors)} error(s) on {which}", style="bold")
            )
            yield ListTable(id="errors-table", cursor_type="row", zebra_stripes=True)
            yield Static(id="error-detail")
            yield Static(
                Text(
                    "j/k or ↑/↓: move · enter: open the paper at this field · escape: back",
                    style="dim",
                )
            )

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        every_field = self.field == OVERALL  # else the title names the one field
        for column in ("field", "file", "outcome", "run", "gold")[0 if every_field else 1 :]:
            table.add_column(column)
        for index, error in enumerate(self.errors):
            cells = [
                Text(printable(error["file"])),
                Text(error["outcome"]),
                Text(printable(_answer(error["field"], error["run"]))),
                Text(printable(_answer(error["field"], error["gold"]))),
            ]
            if every_field:
                cells.insert(0, Text(error["field"]))
            table.add_row(*cells, key=str(index))
        table.focus()
        self._show(0)

    def on_resize(self, event: events.Resize) -> None:
        # The dialog may fill 90% of the screen; the rest of it (border, title, the detail of
        # the highlighted error, help) takes about 14 lines, so the table gets what is left.
        self.query_one(DataTable).styles.max_height = max(3, int(event.size.height * 0.9) - 14)

    def _show(self, index: int) -> None:
        if not self.errors:
            return
        error = self.errors[index]
        run, gold = error["run"], error["gold"]
        who = f" · {', '.join(gold['annotators'])}" if gold["annotators"] else ""
        title = error["title"] or error["file"]
        detail = Text()
        detail.append(printable(title), style="bold")
        detail.append(f"\n{error['field']} · {error['outcome']}\n")
        detail.append("run   ", style="bold")
        detail.append(printable(f"{_answer(error['field'], run)} — {_evidence(run)}"))
        if run["grounding"]:
            detail.append(f" ({run['grounding']})", style="dim")
        detail.append("\ngold  ", style="bold")
        detail.append(printable(f"{_answer(error['field'], gold)} — {_evidence(gold)}{who}"))
        self.query_one("#error-detail", Static).update(detail)

    @on(DataTable.RowHighlighted, "#errors-table")
    def _moved(self, event: DataTable.RowHighlighted) -> None:
        self._show(event.cursor_row)

    @on(DataTable.RowSelected, "#errors-table")
    def _chosen(self, event: DataTable.RowSelected) -> None:
        error = self.errors[event.cursor_row]
        self.dismiss((error["paper_id"], error["field"]))

    def action_close(self) -> None:
        self.dismiss(None)
