"""The score screen (``s``): the run under review against the gold set so far, per field."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import DataTable, Static
from textual.worker import Worker, WorkerState

from extraction.fields import FIELD_NAMES
from extraction.gold.scoring import score_runs
from storage import open_database


class ScoreScreen(ModalScreen[None]):
    """Accuracy with a 95% interval and the four outcome counts, per field and overall."""

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
            yield DataTable(id="score-table", cursor_type="none", zebra_stripes=True)
            yield Static(
                Text("correct / wrong value / hallucinated / missed · escape closes", style="dim")
            )

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        for column in ("field", "n", "accuracy", "95% interval", "c / w / h / m"):
            table.add_column(column)
        self.compute()

    @work(thread=True, exclusive=True, group="score", exit_on_error=False)
    def compute(self) -> None:
        """Score in a thread, on its own connection (scoring reads every gold decision)."""
        db = open_database(self.db_path, migrate=False)
        try:
            report = score_runs(db, [self.run_name], include_partial=True)
        finally:
            db.close()
        self.post_message(self.Scored(report))

    def on_score_screen_scored(self, message: Scored) -> None:
        self.report = message.report
        figures = message.report["runs"][self.run_name]
        table = self.query_one(DataTable)
        for name in [*FIELD_NAMES, "overall"]:
            row = figures["overall"] if name == "overall" else figures["fields"][name]
            accuracy = "—" if row["accuracy"] is None else f"{100 * row['accuracy']:.1f}%"
            interval = (
                "—"
                if row["ci95"] is None
                else f"{100 * row['ci95'][0]:.0f}–{100 * row['ci95'][1]:.0f}%"
            )
            counts = (
                f"{row['correct']} / {row['wrong_value']} / {row['hallucinated']} / {row['missed']}"
            )
            label = Text(name, style="bold") if name == "overall" else Text(name)
            table.add_row(label, str(row["n"]), accuracy, interval, counts)
        papers = message.report["gold_papers"]
        self.query_one("#score-summary", Static).update(
            Text(f"{papers} paper(s) with gold values so far", style="dim")
        )

    @on(Worker.StateChanged)
    def _failed(self, event: Worker.StateChanged) -> None:
        if event.state is WorkerState.ERROR:
            self.query_one("#score-summary", Static).update(
                Text(f"could not score: {event.worker.error}", style="red")
            )

    def action_close(self) -> None:
        self.dismiss(None)
