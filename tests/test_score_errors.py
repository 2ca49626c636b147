"""score --errors: every paper-field a run got wrong, with both answers and their evidence,
and the app's score screen opening such a paper at that field."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner
from sqlite_utils import Database

from extraction.fields import FIELD_NAMES
from extraction.gold.scoring import score_runs
from storage import open_database
from storage import papers as paper_store
from storage.decisions import NewDecision, record
from tests.test_scoring import EXPECTED, build
from tui.cli import cli

# (field, file, outcome, the run's value, the gold value), by field (schema order), then file.
WRONG = [
    ("accelerator_type", "p2.pdf", "wrong_value", "NVIDIA A800 40GB", "NVIDIA A100 40GB"),
    ("accelerator_count", "p2.pdf", "wrong_value", 9, 8),
    ("accelerator_count", "p4.pdf", "hallucinated", 4, None),
    ("training_time_hours", "p2.pdf", "wrong_value", 80.0, 72.0),
    ("gpu_hours", "p3.pdf", "hallucinated", 100.0, None),
    ("compute_provider", "p3.pdf", "missed", None, "AWS"),
    ("funding_sources", "p2.pdf", "wrong_value", ["NSF"], ["Google", "NSF"]),
]


def adjudicate_p2_count(db: Database) -> None:
    """An adjudicator confirms p2's count with evidence, so its gold value has a quote."""
    paper = paper_store.resolve_paper(db, "p2.pdf")
    assert paper is not None
    decision = NewDecision(
        paper.id, "accelerator_count", "corrected", "reported", value=8, page=1, quote="8 GPUs"
    )
    record(db, [decision], annotator="judge", role="adjudicator")


def test_errors_list_every_pair_that_is_not_correct(db: Database) -> None:
    build(db)
    adjudicate_p2_count(db)
    report = score_runs(db, ["m"], errors=True)
    errors = report["runs"]["m"]["errors"]
    wrong = sum(
        counts[k] for counts in EXPECTED.values() for k in ("wrong_value", "hallucinated", "missed")
    )
    assert len(errors) == wrong == len(WRONG)
    got = [
        (e["field"], e["file"], e["outcome"], e["run"]["value"], e["gold"]["value"]) for e in errors
    ]
    assert got == WRONG
    order = [FIELD_NAMES.index(e["field"]) for e in errors]
    assert order == sorted(order)
    count = errors[1]
    assert count["run"] == {
        "status": "reported",
        "value": 9,
        "page": 1,
        "quote": "q",
        "grounding": "exact",
    }
    assert count["gold"] == {
        "status": "reported",
        "value": 8,
        "page": 1,
        "quote": "8 GPUs",
        "verdict": "corrected",
        "annotators": ["judge"],
    }
    assert count["title"] == "p2" and len(count["paper_id"]) == 16
    missed = errors[5]
    assert missed["run"]["status"] is None, "the run left the field out: no answer"
    assert missed["gold"]["status"] == "reported" and missed["gold"]["annotators"] == ["gold"]
    hallucinated = errors[2]
    assert hallucinated["gold"]["status"] == "not_reported"
    # Without the flag, the report keeps its shape.
    assert "errors" not in score_runs(db, ["m"])["runs"]["m"]


def test_score_errors_on_the_command_line(db_path: Path) -> None:
    db = open_database(db_path)
    build(db)
    adjudicate_p2_count(db)
    db.close()
    runner = CliRunner()
    result = runner.invoke(cli, ["--db", str(db_path), "score", "--run", "m", "--errors"])
    assert result.exit_code == 0, result.stderr
    text = result.stdout
    assert "run m: 7 paper-field(s) not correct" in text
    lines = text[text.index("run m: 7") :].splitlines()[1:]
    headers = [line.split()[:3] for line in lines if not line.startswith(" ")]
    assert headers == [[field, file, outcome] for field, file, outcome, _, _ in WRONG]
    assert '    run   9 — p. 1 "q" (exact)' in lines
    assert '    gold  8 — p. 1 "8 GPUs" · judge' in lines
    assert "    run   no answer" in lines and "    gold  not_reported · gold" in lines
    as_json = runner.invoke(
        cli, ["--db", str(db_path), "score", "--run", "m", "--errors", "--json"]
    )
    errors = json.loads(as_json.stdout)["runs"]["m"]["errors"]
    assert [(e["field"], e["file"], e["outcome"]) for e in errors] == [w[:3] for w in WRONG]


async def test_score_screen_opens_an_error_at_its_field(db_path: Path) -> None:
    from tui.app import make_app
    from tui.screens.review import ReviewScreen
    from tui.screens.score import ErrorsScreen, ScoreScreen

    db = open_database(db_path)
    build(db)
    p3 = paper_store.resolve_paper(db, "p3.pdf")
    db.close()
    assert p3 is not None
    app = make_app(db_path, "alice", run="m")
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("s")
        assert isinstance(app.screen, ScoreScreen)
        await app.workers.wait_for_complete()
        await pilot.pause()
        # the compute_provider row: one error, p3 missed
        # j/k move as in review (and as the arrows do): one past the row, then back
        for _ in range(FIELD_NAMES.index("compute_provider") + 1):
            await pilot.press("j")
        await pilot.press("k")
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, ErrorsScreen)
        assert [(e["file"], e["outcome"]) for e in app.screen.errors] == [("p3.pdf", "missed")]
        detail = str(app.screen.query_one("#error-detail").render())
        assert "gold  AWS" in detail and "run   no answer" in detail
        await pilot.press("enter")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, ReviewScreen)
        assert screen.view is not None and screen.view.paper.id == p3.id
        assert screen.current is not None and screen.current.spec.name == "compute_provider"
        # escape backs out of the errors, then the scores, without moving
        await pilot.press("s")
        await app.workers.wait_for_complete()
        await pilot.pause()
        for _ in range(len(FIELD_NAMES)):
            await pilot.press("down")
        await pilot.press("enter")  # overall: every error
        await pilot.pause()
        assert isinstance(app.screen, ErrorsScreen) and len(app.screen.errors) == 7
        await pilot.press("escape", "escape")
        assert isinstance(app.screen, ReviewScreen) and app.screen.view.paper.id == p3.id  # type: ignore[union-attr]
