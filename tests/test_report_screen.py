"""The report screen (``R`` in the app): the estimate's figures as charts and tables, in a
background worker, reachable from review without taking a review key."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from textual.widgets import DataTable, TabbedContent

from extraction.gold.estimate import breakdown_columns, estimate
from extraction.gold.report import rate_text
from storage import open_database
from tests import synthetic
from tests.test_estimate import DB_PAPERS, DB_SEED, estimate_template, sampled  # noqa: F401
from tests.test_gold import run
from tui.app import make_app
from tui.screens.report import ReportScreen


@pytest.fixture
def reviewed(estimate_template: tuple[Path, list[str]], tmp_path: Path) -> Path:  # noqa: F811
    path = tmp_path / "corpus.db"
    shutil.copyfile(estimate_template[0], path)
    assert run(path, "sample", "pilot", "--size", "120", "--strata", "venue", "--seed", "8")[0] == 0
    corpus = synthetic.make(DB_SEED, DB_PAPERS)
    synthetic.record_gold(path, corpus, estimate_template[1], sampled(path, "pilot"))
    return path


def cells(table: DataTable, row: int) -> list[str]:
    return [str(cell) for cell in table.get_row_at(row)]


async def test_report_screen_shows_the_estimate(reviewed: Path) -> None:
    db = open_database(reviewed)
    expected = estimate(db, "pilot", "model", by=breakdown_columns(db), include_partial=True)
    db.close()
    app = make_app(reviewed, "viewer", sample="pilot")
    async with app.run_test(size=(130, 40)) as pilot:
        await pilot.app.workers.wait_for_complete()
        await pilot.press("R")
        await pilot.pause()
        screen = pilot.app.screen
        assert isinstance(screen, ReportScreen)
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
        table = screen.query_one("#table-disclosure", DataTable)
        d = expected["fields"][synthetic.FIELD]["disclosure"]
        row = screen.fields.index(synthetic.FIELD)
        assert cells(table, row) == [
            synthetic.FIELD,
            rate_text(d["model"]),
            rate_text(d["gold_sample"]),
            rate_text(d["corrected"], d["ci95"]),
        ]
        accuracy = screen.query_one("#table-accuracy", DataTable)
        overall = expected["overall"]["accuracy"]
        assert cells(accuracy, accuracy.row_count - 1)[:2] == [
            "overall",
            rate_text(overall["estimate"], overall["ci95"]),
        ]
        # v walks the charts; the breakdown opens on the first field anything reports.
        await pilot.press("v", "v", "v")
        await pilot.pause()
        assert screen.query_one(TabbedContent).active == "view-breakdown"
        breakdown = screen.query_one("#table-breakdown", DataTable)
        assert [str(c.label) for c in breakdown.columns.values()][0] == "venue"
        venues = expected["breakdowns"][0]["groups"]
        first = next(iter(venues))
        g = venues[first]["fields"][synthetic.FIELD]["disclosure"]
        assert cells(breakdown, 0)[0] == first
        assert cells(breakdown, 0)[-1] == rate_text(g["corrected"], g["ci95"])
        await pilot.press("b")
        await pilot.pause()
        assert [str(c.label) for c in breakdown.columns.values()][0] == "year"
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(pilot.app.screen, ReportScreen)


async def test_report_screen_without_a_sample(sample_db: Path) -> None:
    app = make_app(sample_db, "alice")
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.app.workers.wait_for_complete()
        await pilot.press("R")
        await pilot.pause()
        screen = pilot.app.screen
        assert isinstance(screen, ReportScreen)
        summary = str(screen.query_one("#report-summary").render())
        assert "no gold sample yet" in summary


def test_report_screen_snapshot(snap_compare, reviewed: Path) -> None:  # noqa: ANN001
    async def open_report(pilot) -> None:  # noqa: ANN001
        await pilot.app.workers.wait_for_complete()
        await pilot.press("R")
        await pilot.pause()
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()

    app = make_app(reviewed, "viewer", sample="pilot")
    assert snap_compare(app, terminal_size=(130, 40), run_before=open_report)
