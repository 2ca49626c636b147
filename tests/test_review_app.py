"""The review app driven headless by keys, asserting on the decisions stored in SQLite."""

from __future__ import annotations

import json
import stat
import sys
from pathlib import Path

import pytest
from sqlite_utils import Database
from textual.widgets import Input, OptionList

from storage import open_database
from storage import papers as paper_store
from tui.app import SetupError, make_app
from tui.screens.editor import ValueEditor
from tui.screens.help import HelpScreen
from tui.screens.prompt import TextPrompt
from tui.screens.review import ReviewScreen
from tui.widgets.fields import FieldTable
from tui.widgets.queue import PaperQueue
from tui.widgets.status import StatusLine

SIZE = (180, 45)


def rows(db_path: Path, sql: str, params: list[object] | None = None) -> list[tuple]:
    """Read through a separate connection: what another process would see."""
    db = Database(db_path)
    try:
        return [tuple(r) for r in db.execute(sql, params or []).fetchall()]
    finally:
        db.close()


def review(app) -> ReviewScreen:  # noqa: ANN001
    screen = app.screen
    assert isinstance(screen, ReviewScreen)
    return screen


def paper_id(db_path: Path, file: str) -> str:
    db = open_database(db_path)
    paper = paper_store.resolve_paper(db, file)
    db.close()
    assert paper is not None
    return paper.id


async def open_on(pilot, db_path: Path, file: str) -> ReviewScreen:  # noqa: ANN001
    """Jump to a paper through search, as a user would."""
    screen = review(pilot.app)
    target = paper_id(db_path, file)
    row = screen.session.row_of(target)
    assert row is not None
    screen.show_row(row)
    await pilot.pause()
    return screen


async def test_opens_on_the_first_paper_with_status(sample_db: Path) -> None:
    app = make_app(sample_db, "alice")
    async with app.run_test(size=SIZE) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        screen = review(app)
        assert screen.view is not None
        assert app.session.run is not None and app.session.run.name == "sample-llm"
        status = str(screen.query_one(StatusLine).render())
        assert "alice" in status and "run sample-llm" in status
        assert "papers 0/6 done" in status and "this paper 0/12 decided" in status
        assert screen.query_one(FieldTable).row_count == 12
        assert screen.query_one(PaperQueue).display, "wide terminal shows the queue"


async def test_accept_stores_the_proposal_as_the_decision(sample_db: Path) -> None:
    app = make_app(sample_db, "alice")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_on(pilot, sample_db, "efficient_widgets.pdf")
        await pilot.press("j")  # accelerator_count
        await pilot.press("a")
        found = rows(
            sample_db,
            "SELECT field, verdict, status, value, page, quote, proposal_id, annotator, role "
            "FROM decisions",
        )
        assert len(found) == 1
        field, verdict, status, value, page, quote, proposal_id, who, role = found[0]
        assert (field, verdict, status, json.loads(value), page) == (
            "accelerator_count",
            "accepted",
            "reported",
            8,
            2,
        )
        assert quote == "We pre-train all models on 8x A100s (80GB)"
        assert proposal_id is not None and (who, role) == ("alice", "annotator")
        assert screen.current is not None and screen.current.spec.name == "accelerator_memory_gb"


async def test_accept_all_skips_ungrounded_proposals(sample_db: Path) -> None:
    app = make_app(sample_db, "alice")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_on(pilot, sample_db, "pod_scale_lm.pdf")
        await pilot.press("A")
        decided = rows(sample_db, "SELECT field, batch FROM decisions")
        fields = {f for f, _ in decided}
        assert len(fields) == 11 and "accelerator_count" not in fields
        assert len({b for _, b in decided}) == 1, "one batch: one undo step"
        assert screen.view is not None and screen.view.paper.file == "pod_scale_lm.pdf"
        assert screen.current is not None and screen.current.spec.name == "accelerator_count"
        assert not screen.check_action("accept_all", ())


async def test_correct_validates_and_saves_the_normalised_value(sample_db: Path) -> None:
    app = make_app(sample_db, "alice")
    async with app.run_test(size=SIZE) as pilot:
        await open_on(pilot, sample_db, "pod_scale_lm.pdf")
        await pilot.press("j", "e")
        assert isinstance(app.screen, ValueEditor)
        await pilot.press("end", "ctrl+u", *"lots", "enter")
        assert isinstance(app.screen, ValueEditor), "invalid input keeps the editor open"
        assert rows(sample_db, "SELECT COUNT(*) FROM decisions") == [(0,)]
        message = str(app.screen.query_one("#editor-message").render())
        assert "no number" in message
        await pilot.press("end", "ctrl+u", *"two hundred fifty-six", "enter")
        # The proposal's quote is not in the paper, so there is no evidence to start from.
        assert isinstance(app.screen, ValueEditor), "a value without evidence is not saved"
        assert "no quote" in str(app.screen.query_one("#editor-message").render())
        await pilot.press("tab", *"TPU v4 pod slice of 256 chips", "enter")
        assert isinstance(app.screen, ReviewScreen)
        ((verdict, value, proposal_id, page, quote, grounding, start, end, no_quote),) = rows(
            sample_db,
            "SELECT verdict, value, proposal_id, page, quote, grounding, char_start, char_end, "
            "no_quote FROM decisions",
        )
        assert (verdict, json.loads(value)) == ("corrected", 256)
        assert proposal_id is not None
        assert (page, quote, grounding, no_quote) == (
            2,
            "TPU v4 pod slice of 256 chips",
            "exact",
            0,
        )
        db = open_database(sample_db)
        text = paper_store.page_text(db, paper_id(sample_db, "pod_scale_lm.pdf"), 2)
        db.close()
        assert text is not None and text[start:end] == quote


async def test_accelerator_names_complete_from_the_catalog(sample_db: Path) -> None:
    app = make_app(sample_db, "alice")
    async with app.run_test(size=SIZE) as pilot:
        await open_on(pilot, sample_db, "appendix_hardware.pdf")
        await pilot.press("e", "end", "ctrl+u", *"a100")
        matches = app.screen.query_one("#editor-matches", OptionList)
        names = [str(matches.get_option_at_index(i).prompt) for i in range(matches.option_count)]
        assert "NVIDIA A100 40GB" in names and "NVIDIA A100 80GB" in names
        # Any suggestion can be taken, not only the first: down to it, then tab.
        target = names.index("NVIDIA A100 40GB")
        await pilot.press(*["down"] * target, "tab")
        assert app.screen.query_one("#editor-input", Input).value == "NVIDIA A100 40GB"
        await pilot.press("ctrl+n")  # saved without a quote, on purpose
        assert rows(sample_db, "SELECT field, value, no_quote, quote FROM decisions") == [
            ("accelerator_type", '"NVIDIA A100 40GB"', 1, None)
        ]


async def test_escape_cancels_the_editor_without_saving(sample_db: Path) -> None:
    app = make_app(sample_db, "alice")
    async with app.run_test(size=SIZE) as pilot:
        await open_on(pilot, sample_db, "speech_gpu_hours.pdf")
        await pilot.press("enter")
        assert isinstance(app.screen, ValueEditor)
        await pilot.press("escape")
        assert isinstance(app.screen, ReviewScreen)
        assert rows(sample_db, "SELECT COUNT(*) FROM decisions") == [(0,)]


async def test_editors_follow_the_field_type(sample_db: Path) -> None:
    app = make_app(sample_db, "alice")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_on(pilot, sample_db, "speech_gpu_hours.pdf")
        table = screen.query_one(FieldTable)
        table.move_cursor(row=3)  # training_time_hours: "3 days" means 72
        await pilot.press("e", "end", "ctrl+u", *"2 days", "enter")
        table.move_cursor(row=9)  # research_setting: a choice
        await pilot.press("e")
        assert app.screen.query("#editor-choice")
        await pilot.press("down", "enter")
        stored = dict(rows(sample_db, "SELECT field, value FROM decisions"))
        assert json.loads(stored["training_time_hours"]) == 48.0
        assert json.loads(stored["research_setting"]) in ("industry", "mixed", "government")


async def test_not_reported_ambiguous_and_comment(sample_db: Path) -> None:
    app = make_app(sample_db, "alice")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_on(pilot, sample_db, "speech_gpu_hours.pdf")
        screen.query_one(FieldTable).move_cursor(row=3)
        await pilot.press("n")
        screen.query_one(FieldTable).move_cursor(row=1)
        await pilot.press("m")
        assert isinstance(app.screen, TextPrompt)
        await pilot.press("enter")
        assert isinstance(app.screen, TextPrompt), "an ambiguous mark needs a comment"
        await pilot.press(*"count never stated", "enter")
        screen.query_one(FieldTable).move_cursor(row=0)
        await pilot.press("c", *"check the appendix", "enter")
        decisions = rows(sample_db, "SELECT field, verdict, status, value, comment FROM decisions")
        assert ("training_time_hours", "not_reported", "not_reported", None, None) in decisions
        assert (
            "accelerator_count",
            "ambiguous",
            "ambiguous",
            None,
            "count never stated",
        ) in decisions
        assert rows(sample_db, "SELECT field, comment FROM comments") == [
            ("accelerator_type", "check the appendix")
        ]


async def test_undo_is_unlimited_and_appends(sample_db: Path) -> None:
    app = make_app(sample_db, "alice")
    async with app.run_test(size=SIZE) as pilot:
        await open_on(pilot, sample_db, "efficient_widgets.pdf")
        await pilot.press("a", "a", "n")
        assert rows(sample_db, "SELECT COUNT(*) FROM decision_state") == [(3,)]
        await pilot.press("u", "u", "u")
        assert rows(sample_db, "SELECT COUNT(*) FROM decision_state") == [(0,)]
        verdicts = [v for (v,) in rows(sample_db, "SELECT verdict FROM decisions ORDER BY rowid")]
        assert verdicts == ["accepted", "accepted", "not_reported", "undone", "undone", "undone"]
        await pilot.press("u")  # nothing left: a message, no row
        assert rows(sample_db, "SELECT COUNT(*) FROM decisions") == [(6,)]


async def test_paper_navigation_search_and_filter(sample_db: Path) -> None:
    app = make_app(sample_db, "alice")
    async with app.run_test(size=SIZE) as pilot:
        screen = review(app)
        first = screen.view.paper.id  # type: ignore[union-attr]
        await pilot.press("right_square_bracket")
        second = screen.view.paper.id  # type: ignore[union-attr]
        assert second != first
        await pilot.press("left_square_bracket")
        assert screen.view.paper.id == first  # type: ignore[union-attr]
        await pilot.press("slash", *"juwels", "enter")
        await pilot.pause()
        await pilot.press("enter")
        assert screen.view.paper.file == "appendix_hardware.pdf"  # type: ignore[union-attr]
        await pilot.press("A")  # the model missed the appendix: its "not reported" are not safe
        assert screen.view.paper.file == "appendix_hardware.pdf"  # type: ignore[union-attr]
        assert screen.view.decided == 5  # type: ignore[union-attr]
        messages = [n.message for n in app._notifications]
        assert any("left 7 with mentions for you" in m for m in messages), messages
        await pilot.press("f")
        assert app.session.queue_filter.value == "undecided"
        queue = screen.query_one(PaperQueue)
        assert "Continual Widget Learning" in {r.title for r in queue.rows}
        await pilot.press("f", "f", "f")
        assert app.session.queue_filter.value == "all"
        await pilot.press("space")
        assert screen.view.row.decided < 12  # type: ignore[union-attr]


async def test_tab_toggles_the_queue_and_enter_opens_a_paper(sample_db: Path) -> None:
    app = make_app(sample_db, "alice")
    async with app.run_test(size=(100, 40)) as pilot:
        screen = review(app)
        queue = screen.query_one(PaperQueue)
        assert not queue.display, "a narrow terminal hides the queue"
        await pilot.press("tab")
        assert queue.display and queue.has_focus
        await pilot.press("down", "down", "enter")
        assert screen.view.paper.id == queue.rows[queue.highlighted].paper_id  # type: ignore[union-attr]
        assert screen.query_one(FieldTable).has_focus
        await pilot.press("tab", "tab")
        assert not queue.display


async def test_help_lists_every_key_and_quit_leaves(sample_db: Path) -> None:
    app = make_app(sample_db, "alice")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        shown = dict(app.screen.rows)
        assert shown["a"] == "Accept the proposed value for this field"
        assert shown["u"] == "Undo your last decision (repeatable)"
        assert shown["e ⏎"] == "Enter the right value for this field, with the quote that shows it"
        assert {"^f", "g", "}", "{"} <= set(shown), "find, page and mention keys are listed"
        assert shown["q"].startswith("Quit")
        assert len(shown) >= 20, "every key of the README's table is listed"
        await pilot.press("escape")
        await pilot.press("q")
    assert app.return_code == 0


async def test_open_pdf_runs_the_configured_viewer(
    sample_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    record = tmp_path / "opened.txt"
    script = tmp_path / "viewer.py"
    script.write_text(
        f"import sys, pathlib\npathlib.Path({str(record)!r}).write_text(' '.join(sys.argv[1:]))\n"
    )
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv(
        "GOLDSMITH_PDF_VIEWER", f"{sys.executable} {script} --page={{page}} {{file}}"
    )
    app = make_app(sample_db, "alice")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_on(pilot, sample_db, "efficient_widgets.pdf")
        await pilot.press("o")
        for _ in range(50):
            if record.exists():
                break
            await pilot.pause(0.05)
    assert record.read_text() == f"--page=2 {screen.view.paper.path}"  # type: ignore[union-attr]


async def test_open_pdf_without_a_viewer_says_how(
    sample_db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GOLDSMITH_PDF_VIEWER", raising=False)
    monkeypatch.setenv("PATH", "/nonexistent")
    app = make_app(sample_db, "alice")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("o")
        messages = [n.message for n in app._notifications]
        assert any("GOLDSMITH_PDF_VIEWER" in m for m in messages)


async def test_returning_annotator_resumes_at_the_first_undecided_field(sample_db: Path) -> None:
    app = make_app(sample_db, "alice")
    async with app.run_test(size=SIZE) as pilot:
        await open_on(pilot, sample_db, "speech_gpu_hours.pdf")
        await pilot.press("a", "a", "a")
    again = make_app(sample_db, "alice")
    async with again.run_test(size=SIZE) as pilot:
        screen = review(again)
        assert screen.view.paper.file == "speech_gpu_hours.pdf"  # type: ignore[union-attr]
        assert screen.current is not None and screen.current.spec.name == "training_time_hours"
    other = make_app(sample_db, "bob")
    async with other.run_test(size=SIZE) as pilot:
        screen = review(other)
        assert screen.view.decided == 0, "bob sees only his own decisions"  # type: ignore[union-attr]


async def test_field_first_review_moves_along_one_field(sample_db: Path) -> None:
    app = make_app(sample_db, "alice", field="accelerator_type")
    async with app.run_test(size=SIZE) as pilot:
        screen = review(app)
        assert screen.query_one(FieldTable).row_count == 1
        seen = []
        for _ in range(3):
            seen.append(screen.view.paper.id)  # type: ignore[union-attr]
            await pilot.press("a")
        assert len(set(seen)) == 3
        assert rows(sample_db, "SELECT DISTINCT field FROM decisions") == [("accelerator_type",)]
        assert "field accelerator_type" in str(screen.query_one(StatusLine).render())


async def test_another_runs_values_can_be_shown_beside(sample_db: Path) -> None:
    app = make_app(sample_db, "alice")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_on(pilot, sample_db, "appendix_hardware.pdf")
        await pilot.press("r")
        assert app.session.compare_run is not None and app.session.compare_run.name == "rules"
        table = screen.query_one(FieldTable)
        assert table.comparing and len(table.columns) == 6
        assert "JUWELS" in str(table.get_cell_at((6, 5)))
        await pilot.press("r")
        assert app.session.compare_run is None


async def test_a_user_keymap_remaps_by_binding_id(sample_db: Path) -> None:
    app = make_app(sample_db, "alice", keymap={"goldsmith.accept": "y"})
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("a")
        assert rows(sample_db, "SELECT COUNT(*) FROM decisions") == [(0,)]
        await pilot.press("y")
        assert rows(sample_db, "SELECT COUNT(*) FROM decisions") == [(1,)]


async def test_the_command_palette_offers_review_actions(sample_db: Path) -> None:
    app = make_app(sample_db, "alice")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("ctrl+p")
        await pilot.press(*"not reported")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await pilot.pause()
        assert rows(sample_db, "SELECT verdict FROM decisions") == [("not_reported",)]


async def test_markup_in_titles_and_text_shows_literally(sample_db: Path) -> None:
    app = make_app(sample_db, "alice")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_on(pilot, sample_db, "api_costs.pdf")
        from rich.text import Text

        title = screen.query_one("#review").border_title
        # The title is kept as literal text: its markup, read back, is the title unchanged.
        assert title is not None and Text.from_markup(title).plain == (
            "[CLS] Tokens and [bold]Claims[/bold]: Evaluating GPT-4 with [1] Brackets"
        )
        assert "[CLS]" in screen.query_one("#text").text  # type: ignore[attr-defined]
        await pilot.press("tab")
        queue = screen.query_one(PaperQueue)
        assert any("[CLS]" in r.title for r in queue.rows)
        assert "[CLS] Tokens" in str(queue.render())


async def test_decisions_land_while_another_annotator_writes(sample_db: Path) -> None:
    """Two annotators on one file: the other's writes neither block nor lose ours."""
    from storage.decisions import NewDecision, record

    other = open_database(sample_db)
    target = paper_id(sample_db, "theory_of_widgets.pdf")
    app = make_app(sample_db, "alice")
    async with app.run_test(size=SIZE) as pilot:
        await open_on(pilot, sample_db, "efficient_widgets.pdf")
        record(
            other,
            [NewDecision(target, "gpu_hours", "not_reported", "not_reported")],
            annotator="bob",
        )
        await pilot.press("a")
        record(
            other,
            [NewDecision(target, "api_cost_usd", "not_reported", "not_reported")],
            annotator="bob",
        )
        await pilot.press("a")
    other.close()
    assert rows(sample_db, "SELECT annotator, COUNT(*) FROM decisions GROUP BY 1 ORDER BY 1") == [
        ("alice", 2),
        ("bob", 2),
    ]


def test_unknown_run_or_field_is_a_setup_error(sample_db: Path) -> None:
    with pytest.raises(SetupError, match="no run named 'nope'"):
        make_app(sample_db, "alice", run="nope")
    with pytest.raises(SetupError, match="unknown field"):
        make_app(sample_db, "alice", field="gpu_count")


def two_annotators_disagree(db_path: Path) -> str:
    """alice and bob decide the speech paper; they disagree on training time (and bob marks
    the count ambiguous). Returns the paper id."""
    from storage.decisions import NewDecision, record

    db = open_database(db_path)
    target = paper_store.resolve_paper(db, "speech_gpu_hours.pdf")
    assert target
    from extraction.fields import FIELD_NAMES

    for who in ("alice", "bob"):
        decisions = []
        for field in FIELD_NAMES:
            if field == "training_time_hours":
                decisions.append(
                    NewDecision(target.id, field, "accepted", "reported", value=1200.0, page=2)
                    if who == "alice"
                    else NewDecision(target.id, field, "not_reported", "not_reported")
                )
            elif field == "accelerator_count" and who == "bob":
                decisions.append(
                    NewDecision(target.id, field, "ambiguous", "ambiguous", comment="unclear")
                )
            else:
                decisions.append(NewDecision(target.id, field, "not_reported", "not_reported"))
        record(db, decisions, annotator=who)
    db.close()
    return target.id


async def test_adjudication_queue_shows_every_answer_and_takes_one(sample_db: Path) -> None:
    target = two_annotators_disagree(sample_db)
    app = make_app(sample_db, "judge", adjudicate=True)
    async with app.run_test(size=SIZE) as pilot:
        screen = review(app)
        assert screen.view is not None and screen.view.paper.id == target
        assert app.session.scope.filter.value == "undecided"
        current = screen.current
        assert current is not None and current.spec.name == "accelerator_count"
        assert [d.annotator for d in current.others] == ["alice", "bob"]
        assert screen.query_one(FieldTable).adjudicating
        assert screen.view.decided == 10, "two fields wait for the adjudicator"
        await pilot.press("1")  # alice: not reported
        assert screen.current.spec.name == "training_time_hours"  # type: ignore[union-attr]
        await pilot.press("2")  # bob: not reported
    stored = rows(
        sample_db,
        "SELECT field, verdict, status, role, annotator FROM decisions WHERE role = 'adjudicator'",
    )
    assert sorted(stored) == [
        ("accelerator_count", "not_reported", "not_reported", "adjudicator", "judge"),
        ("training_time_hours", "not_reported", "not_reported", "adjudicator", "judge"),
    ]
    import io as io_module

    from extraction.gold.files import export_wide

    buffer = io_module.StringIO()
    db = open_database(sample_db)
    export_wide(db, buffer, include_partial=True)
    line = next(line for line in buffer.getvalue().splitlines() if line.startswith(target))
    assert ",not_reported," in line and "alice; bob; judge" in line


async def test_blind_review_hides_proposals_until_answered(sample_db: Path) -> None:
    app = make_app(sample_db, "carol", blind=True)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_on(pilot, sample_db, "efficient_widgets.pdf")
        row = screen.current
        assert row is not None and row.hidden
        table = screen.query_one(FieldTable)
        assert "hidden" in str(table.get_cell_at((0, 1)))
        assert "Blind review" in str(screen.query_one("#evidence").render())
        assert not screen.check_action("accept", ()) and not screen.check_action("accept_all", ())
        await pilot.press("a", "A")
        assert rows(sample_db, "SELECT COUNT(*) FROM decisions") == [(0,)]
        await pilot.press(
            "e", "end", "ctrl+u", *"A100 80GB", "tab", "tab", *"8x A100s (80GB)", "enter"
        )
        assert rows(sample_db, "SELECT field, verdict, blind, page, quote FROM decisions") == [
            ("accelerator_type", "accepted", 1, 2, "8x A100s (80GB)")
        ]
        revealed = screen.view.fields[0]  # type: ignore[union-attr]
        assert not revealed.hidden and "NVIDIA A100 80GB" in str(table.get_cell_at((0, 1)))


async def test_blind_is_for_annotators_only(sample_db: Path) -> None:
    with pytest.raises(SetupError, match="--blind is for annotators"):
        make_app(sample_db, "judge", adjudicate=True, blind=True)


async def test_score_screen_shows_the_run_against_the_gold_so_far(sample_db: Path) -> None:
    from tui.screens.score import ScoreScreen

    app = make_app(sample_db, "alice")
    async with app.run_test(size=SIZE) as pilot:
        await open_on(pilot, sample_db, "pod_scale_lm.pdf")
        await pilot.press("A")  # 11 accepted; the ungrounded count is left
        await pilot.press("e", "end", "ctrl+u", "2", "5", "6", "tab", *"256 chips", "enter")
        await pilot.press("s")
        assert isinstance(app.screen, ScoreScreen)
        await app.workers.wait_for_complete()
        await pilot.pause()
        report = app.screen.report
        assert report is not None and report["gold_papers"] == 1
        count = report["runs"]["sample-llm"]["fields"]["accelerator_count"]
        assert (count["n"], count["wrong_value"]) == (1, 1)
        overall = report["runs"]["sample-llm"]["overall"]
        assert (overall["n"], overall["correct"]) == (12, 11)
        assert app.screen.query_one("DataTable").row_count == 13
        await pilot.press("escape")
        assert isinstance(app.screen, ReviewScreen)
