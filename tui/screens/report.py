"""The report screen (``R``): the run under review over the whole corpus, corrected by a gold
sample — charts (textual-plotext) with the same figures in a table beside each."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.message import Message
from textual.reactive import Reactive, reactive
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static, TabbedContent, TabPane
from textual.worker import Worker, WorkerState
from textual_plotext import PlotextPlot

from extraction.gold.figures import rate_text
from extraction.gold.report import OUTCOME_NAMES
from storage import Access, open_database

RUN_COLOUR = "gray"
CORRECTED_COLOUR = "blue"
ERROR_COLOURS = ("green", "orange", "red", "magenta")
WIDE = 120
"""From this width the table sits beside its chart; below it, under it (and the view
scrolls, so a chart keeps a line per field however short the terminal)."""
VIEWS = ("disclosure", "accuracy", "errors", "breakdown")


def _percent(value: float | None) -> float | None:
    return None if value is None else 100 * value


class ReportScreen(Screen[None]):
    """Disclosure, accuracy, error mix and breakdowns by metadata, for one run and sample."""

    CSS_PATH = "report.tcss"
    BINDINGS = [
        Binding(
            "escape,q", "close", "Close", id="goldsmith.report.close", tooltip="Close the report"
        ),
        Binding(
            "v",
            "next_view",
            "Next chart",
            id="goldsmith.report.view",
            tooltip="Show the next chart: disclosure, accuracy, error mix, breakdown",
        ),
        Binding(
            "b",
            "next_column",
            "By column",
            id="goldsmith.report.column",
            tooltip="Break the figures down by the next metadata column",
        ),
        Binding(
            "n",
            "next_field",
            "Next field",
            id="goldsmith.report.field",
            tooltip="Show the breakdown of the next field",
        ),
    ]

    @dataclass
    class Computed(Message):
        """The background estimate finished."""

        report: dict[str, Any]

    column_index: Reactive[int] = reactive(0, init=False)
    """Which breakdown column is shown."""
    field_index: Reactive[int] = reactive(0, init=False)
    """Which field the breakdown shows."""

    def __init__(self, db_path: Path, run_name: str | None, sample_name: str | None) -> None:
        super().__init__()
        self.db_path = db_path
        self.run_name = run_name
        self.sample_name = sample_name
        self.report: dict[str, Any] | None = None
        self.fields: list[str] = []
        self._rows: dict[str, int] = {}
        """Lines each chart needs (one per field or group)."""

    def compose(self) -> ComposeResult:
        yield Static(Text("Corpus report", style="bold"), id="report-title")
        yield Static(Text("estimating…", style="dim"), id="report-summary")
        with TabbedContent(id="report-views"):
            for view, title in zip(
                VIEWS, ("Disclosure", "Accuracy", "Error mix", "Breakdown"), strict=True
            ):
                with TabPane(title, id=f"view-{view}"):
                    with VerticalScroll(classes="report-pane"), Horizontal(classes="report-pair"):
                        yield PlotextPlot(id=f"plot-{view}", classes="report-plot")
                        yield DataTable(
                            id=f"table-{view}",
                            cursor_type="row",
                            zebra_stripes=True,
                            classes="report-table",
                        )
        yield Footer()

    def on_mount(self) -> None:
        self._layout(self.app.size.width)
        if self.run_name is None or self.sample_name is None:
            missing = (
                "no extraction run yet"
                if self.run_name is None
                else "no gold sample yet: draw one with 'goldsmith sample NAME --size N'"
            )
            self._say(f"Nothing to report: {missing}.", "yellow")
            return
        self.query_one("#report-title", Static).update(
            Text(
                f"Run {self.run_name} over the corpus, corrected by sample {self.sample_name}",
                style="bold",
            )
        )
        self.compute()

    def on_resize(self) -> None:
        self._layout(self.app.size.width)

    def _layout(self, width: int) -> None:
        narrow = width < WIDE
        self.set_class(narrow, "narrow")
        for view in VIEWS:
            plot = self.query_one(f"#plot-{view}", PlotextPlot)
            # Narrow: the chart is as tall as its lines need (the view scrolls); wide: it fills.
            plot.styles.height = self._rows.get(view, 8) + 7 if narrow else "1fr"

    def _say(self, text: str, style: str = "dim") -> None:
        self.query_one("#report-summary", Static).update(Text(text, style=style))

    @work(thread=True, exclusive=True, group="report", exit_on_error=False)
    def compute(self) -> None:
        """Estimate in a thread, on its own connection (it reads every proposal of the run)."""
        from extraction.gold.estimate import breakdown_columns, estimate

        assert self.run_name is not None and self.sample_name is not None
        db = open_database(self.db_path, access=Access.READ, migrate=False)
        try:
            report = estimate(
                db, self.sample_name, self.run_name, by=breakdown_columns(db), include_partial=True
            )
        finally:
            db.close()
        self.post_message(self.Computed(report))

    @on(Worker.StateChanged)
    def _failed(self, event: Worker.StateChanged) -> None:
        if event.state is WorkerState.ERROR:
            self._say(f"could not estimate: {event.worker.error}", "red")

    def on_report_screen_computed(self, message: Computed) -> None:
        report = self.report = message.report
        report.setdefault("breakdowns", [])
        self.fields = [n for n, f in report["fields"].items() if "disclosure" in f]
        # The breakdown opens on the first field anything reports.
        reported = [
            i
            for i, n in enumerate(self.fields)
            if (report["fields"][n]["disclosure"]["model"] or 0) > 0
            or (report["fields"][n]["disclosure"]["corrected"] or 0) > 0
        ]
        self.set_reactive(ReportScreen.field_index, reported[0] if reported else 0)
        sample = report["sample"]
        design = (
            "stratified by " + " × ".join(sample["strata_by"])
            if sample["strata_by"]
            else "simple random"
        )
        self._say(
            f"{report['corpus_papers']:,} papers · {sample['gold_papers']} gold of "
            f"{sample['size']} sampled, {design} · 95% intervals"
        )
        self._disclosure()
        self._accuracy()
        self._errors()
        self._breakdown()
        self._layout(self.app.size.width)

    # --- the four views -----------------------------------------------------------------

    def _table(self, view: str, columns: list[str], rows: list[list[str]]) -> None:
        table = self.query_one(f"#table-{view}", DataTable)
        table.clear(columns=True)
        for column in columns:
            table.add_column(column)
        for row in rows:
            table.add_row(*(Text(cell) for cell in row))

    def _forest(
        self,
        view: str,
        title: str,
        labels: list[str],
        raw: list[float | None] | None,
        estimates: list[float | None],
        intervals: list[list[float] | None],
    ) -> None:
        """One line per label: the interval as a bar, the estimate as a dot, the raw rate (if
        given) as a diamond; the first label at the top."""
        plot = self.query_one(f"#plot-{view}", PlotextPlot)
        plt = plot.plt
        plt.clear_figure()
        count = len(labels)
        self._rows[view] = count
        positions = [float(count - i) for i in range(count)]
        for y, interval in zip(positions, intervals, strict=True):
            if interval:
                plt.plot(
                    [100 * interval[0], 100 * interval[1]],
                    [y, y],
                    color=CORRECTED_COLOUR,
                    marker="─",
                )
        shown = [
            (y, _percent(v)) for y, v in zip(positions, estimates, strict=True) if v is not None
        ]
        if shown:
            plt.scatter(
                [v for _, v in shown],
                [y for y, _ in shown],
                marker="●",
                color=CORRECTED_COLOUR,
            )
        if raw is not None:
            points = [
                (y, _percent(v)) for y, v in zip(positions, raw, strict=True) if v is not None
            ]
            if points:
                plt.scatter(
                    [v for _, v in points],
                    [y for y, _ in points],
                    marker="◆",
                    color=RUN_COLOUR,
                )
        plt.yticks(positions, labels)
        plt.xlim(0, 100)
        plt.ylim(0.5, count + 0.5)
        # The key goes in the title: plotext's legend box would cover the top rows.
        key = "● estimate ── 95%" + (" · ◆ run (raw)" if raw is not None else "")
        plt.title(f"{title} · {key}")
        plot.refresh()

    def _disclosure(self) -> None:
        assert self.report is not None
        d = {n: self.report["fields"][n]["disclosure"] for n in self.fields}
        self._forest(
            "disclosure",
            "papers reporting (%)",
            self.fields,
            [d[n]["model"] for n in self.fields],
            [d[n]["corrected"] for n in self.fields],
            [d[n]["ci95"] for n in self.fields],
        )
        self._table(
            "disclosure",
            ["field", "run", "gold", "corrected (95%)"],
            [
                [
                    n,
                    rate_text(d[n]["model"]),
                    rate_text(d[n]["gold_sample"]),
                    rate_text(d[n]["corrected"], d[n]["ci95"]),
                ]
                for n in self.fields
            ],
        )

    def _accuracy(self) -> None:
        assert self.report is not None
        a = {n: self.report["fields"][n]["accuracy"] for n in self.fields}
        a["overall"] = self.report["overall"]["accuracy"]
        labels = [*self.fields, "overall"]
        self._forest(
            "accuracy",
            "accuracy (%)",
            labels,
            None,
            [a[n]["estimate"] for n in labels],
            [a[n]["ci95"] for n in labels],
        )
        self._table(
            "accuracy",
            ["field", "accuracy (95%)", "gold"],
            [[n, rate_text(a[n]["estimate"], a[n]["ci95"]), str(a[n]["n"])] for n in labels],
        )

    def _errors(self) -> None:
        assert self.report is not None
        fields = self.report["fields"]
        plot = self.query_one("#plot-errors", PlotextPlot)
        plt = plot.plt
        plt.clear_figure()
        self._rows["errors"] = len(self.fields)
        labels = list(reversed(self.fields))  # plotext draws horizontal bars bottom-up

        def share(name: str, kind: str) -> float:
            value = (
                fields[name]["accuracy"]["estimate"]
                if kind == "correct"
                else fields[name]["errors"][kind]["estimate"]
            )
            return 0.0 if value is None else 100 * value

        # textual-plotext's type stub lags plotext's signature (labels=, one colour per part).
        # One colour per part; the key is in the title (plotext's legend box would cover
        # the bars). textual-plotext's type stub lags plotext's signature (a colour list).
        plt.stacked_bar(
            labels,
            [[share(n, kind) for n in labels] for kind in OUTCOME_NAMES],
            color=list(ERROR_COLOURS),  # type: ignore[arg-type]
            orientation="horizontal",
            width=0.6,
        )
        plt.xlim(0, 100)
        plt.title("% of papers: correct · wrong · halluc. · missed")
        plot.refresh()
        self._table(
            "errors",
            ["field", "wrong", "halluc.", "missed"],
            [
                [
                    n,
                    *(
                        rate_text(fields[n]["errors"][k]["estimate"])
                        for k in ("wrong_value", "hallucinated", "missed")
                    ),
                ]
                for n in self.fields
            ],
        )

    def _breakdown(self) -> None:
        assert self.report is not None
        breakdowns = self.report["breakdowns"]
        if not breakdowns:
            self.query_one("#plot-breakdown", PlotextPlot).plt.clear_figure()
            self._table(
                "breakdown",
                ["breakdown"],
                [["no metadata column with 2-12 values: see import-metadata"]],
            )
            return
        part = breakdowns[self.column_index % len(breakdowns)]
        name = self.fields[self.field_index % len(self.fields)]
        groups = part["groups"]
        values = list(groups)
        d = {g: groups[g]["fields"][name]["disclosure"] for g in values}
        self._forest(
            "breakdown",
            f"{name} by {part['column']} (%)",
            values,
            [d[g]["model"] for g in values],
            [d[g]["corrected"] for g in values],
            [d[g]["ci95"] for g in values],
        )
        self._table(
            "breakdown",
            [part["column"], "papers", "gold", "run", "corrected (95%)"],
            [
                [
                    g,
                    f"{groups[g]['corpus_papers']:,}",
                    str(groups[g]["gold_papers"]),
                    rate_text(d[g]["model"]),
                    rate_text(d[g]["corrected"], d[g]["ci95"]),
                ]
                for g in values
            ],
        )

    # --- keys ---------------------------------------------------------------------------

    def action_next_view(self) -> None:
        tabs = self.query_one(TabbedContent)
        current = (tabs.active or "view-disclosure").removeprefix("view-")
        tabs.active = f"view-{VIEWS[(VIEWS.index(current) + 1) % len(VIEWS)]}"

    def action_next_column(self) -> None:
        self.query_one(TabbedContent).active = "view-breakdown"
        self.column_index += 1

    def action_next_field(self) -> None:
        self.query_one(TabbedContent).active = "view-breakdown"
        self.field_index += 1

    def watch_column_index(self) -> None:
        if self.report is not None:
            self._breakdown()
            self._layout(self.app.size.width)

    def watch_field_index(self) -> None:
        if self.report is not None:
            self._breakdown()
            self._layout(self.app.size.width)

    def action_close(self) -> None:
        self.dismiss(None)
