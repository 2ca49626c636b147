"""Blind review shows nothing of the proposal, editors save once and never leak keys,
comments reach adjudication, and the smaller review fixes."""

from __future__ import annotations

import html
import re
from pathlib import Path

from textual.widgets import Footer, OptionList

from storage import open_database
from storage import papers as paper_store
from storage.decisions import NewDecision, record
from tests.test_review_app import SIZE, open_on, review, rows, two_annotators_disagree
from tui.app import make_app
from tui.screens.editor import ValueEditor
from tui.screens.review import ReviewScreen
from tui.widgets.fields import FieldTable
from tui.widgets.queue import PaperQueue
from tui.widgets.status import StatusLine


def screen_text(app) -> str:  # noqa: ANN001
    """Every character on the app's screen, read from a screenshot."""
    svg = app.export_screenshot()
    body = svg.split("</style>", 1)[1]
    return html.unescape(re.sub(r"<[^>]+>", "", body)).replace("\xa0", " ")


async def test_blind_review_shows_nothing_of_the_proposal_before_the_answer(
    sample_db: Path,
) -> None:
    proposed = "NVIDIA A100 80GB"  # the model's accelerator_type; the paper says "8x A100s"
    app = make_app(sample_db, "carol", blind=True)
    seen: list[str] = []
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_on(pilot, sample_db, "efficient_widgets.pdf")
        await app.workers.wait_for_complete()
        await pilot.pause()
        seen.append(screen_text(app))
        text = screen.query_one("#text")
        assert not text.marks("quote"), "no highlight of the proposal's evidence"  # type: ignore[attr-defined]
        for key in ("j", "k", "right_curly_bracket", "r", "s", "e"):  # r, s: off
            await pilot.press(key)
            await pilot.pause()
            seen.append(screen_text(app))
        editor = app.screen
        assert isinstance(editor, ValueEditor)
        assert editor.query_one("#editor-input").value == "", "the editor starts empty"  # type: ignore[attr-defined]
        await pilot.press(*"V100")
        seen.append(screen_text(app))
        await pilot.press("escape")
        screen.query_one(FieldTable).move_cursor(row=9)  # research_setting: a choice
        await pilot.pause()
        await pilot.press("e")
        chooser = app.screen.query_one("#editor-choice", OptionList)
        assert chooser.highlighted is None, "a choice list preselects nothing"
        seen.append(screen_text(app))
        await pilot.press("escape")
        for shown in seen:
            assert proposed not in shown
            assert "hidden" in shown or isinstance(app.screen, ValueEditor)
        # The answer: then, and only then, the proposal shows.
        screen.query_one(FieldTable).move_cursor(row=0)
        await pilot.pause()
        await pilot.press("e", *"A100 80GB", "tab", "tab", *"8x A100s (80GB)", "enter")
        assert app.screen is screen
        assert proposed in screen_text(app)
    assert rows(sample_db, "SELECT field, blind FROM decisions") == [("accelerator_type", 1)]


async def _decisions(db_path: Path) -> int:
    return rows(db_path, "SELECT COUNT(*) FROM decisions")[0][0]


async def test_enter_in_every_editor_saves_once_and_opens_nothing_else(sample_db: Path) -> None:
    """Text, number, hours, choice, multiple choice and accelerator (completed) editors."""
    app = make_app(sample_db, "alice")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_on(pilot, sample_db, "efficient_widgets.pdf")
        table = screen.query_one(FieldTable)
        cases = [
            (0, ["ctrl+u", *"a100 8", "tab"], "accelerator_type"),  # completes, then saves
            (1, ["ctrl+u", *"16"], "accelerator_count"),
            (3, ["ctrl+u", *"2 days"], "training_time_hours"),
            (6, [*"Example Cloud"], "compute_provider"),
            (9, ["down"], "research_setting"),
            (8, ["space"], "funding_types"),
        ]
        for done, (row, keys, field) in enumerate(cases, start=1):
            # Find a passage first, so every editor starts with evidence to save.
            await pilot.press("ctrl+f", "ctrl+u", *"widget", "escape")
            table.move_cursor(row=row)
            await pilot.pause()
            await pilot.press("e")
            assert isinstance(app.screen, ValueEditor) and app.screen.spec.name == field
            await pilot.press(*keys, "enter")
            await pilot.pause(0.6)  # the old leak opened the next editor about 0.5 s later
            await app.workers.wait_for_complete()
            assert app.screen is screen, f"{field}: a modal is still open"
            assert await _decisions(sample_db) == done, f"{field}: saved exactly once"
            assert table.has_focus, f"{field}: focus is back on the field list"
    stored = dict(rows(sample_db, "SELECT field, value FROM decisions"))
    assert stored["accelerator_type"] == '"NVIDIA A100 80GB"'
    assert stored["funding_types"] in ('["corporate"]', '["foundation"]', '["university"]')


async def test_every_comment_reaches_the_adjudicator_and_the_long_export(
    sample_db: Path, tmp_path: Path
) -> None:
    target = two_annotators_disagree(sample_db)
    for who, text in (("alice", "table 3 says 1200 hours"), ("bob", "wall-clock is not given")):
        app = make_app(sample_db, who)
        async with app.run_test(size=SIZE) as pilot:
            screen = review(app)
            row = screen.session.row_of(target)
            assert row is not None
            screen.show_row(row, "training_time_hours")
            await pilot.pause()
            await pilot.press("c", *text, "enter")
    judge = make_app(sample_db, "judge", adjudicate=True)
    async with judge.run_test(size=SIZE) as pilot:
        screen = review(judge)
        screen.query_one(FieldTable).move_cursor(row=3)  # training_time_hours
        await pilot.pause()
        panel = str(screen.query_one("#evidence").render())
        assert "1 alice: 1200" in panel and "2 bob: not reported" in panel
        assert "comment: table 3 says 1200 hours" in panel
        assert "comment: wall-clock is not given" in panel
        assert panel.index("table 3 says") < panel.index("2 bob"), "beside alice's answer"
        screen.query_one(FieldTable).move_cursor(row=1)  # accelerator_count: bob's m reason
        await pilot.pause()
        assert "reason: unclear" in str(screen.query_one("#evidence").render())
        await pilot.press("1")  # adopt alice's count
    from tests.test_gold import read_csv, run

    out = tmp_path / "long.csv"
    run(sample_db, "export", str(out), "--layout", "long", "--include-partial")
    by_field = {r["field"]: r for r in read_csv(out) if r["paper_id"] == target}
    assert by_field["training_time_hours"]["comments"] == (
        "alice: table 3 says 1200 hours | bob: wall-clock is not given"
    )
    assert by_field["accelerator_count"]["comments"] == "bob: unclear"


async def test_adjudication_footer_offers_the_answer_keys_not_accept(sample_db: Path) -> None:
    two_annotators_disagree(sample_db)
    app = make_app(sample_db, "judge", adjudicate=True)
    async with app.run_test(size=SIZE) as pilot:
        footer = app.screen.query_one(Footer)
        shown: list[tuple[str, str]] = []
        for _ in range(50):  # the footer fills in after the first refresh (later under load)
            await pilot.pause()
            shown = [(str(k.key_display), str(k.description)) for k in footer.query("FooterKey")]
            if shown:
                break
        assert ("1–9", "Take answer") in shown[:4], shown
        assert not [k for k, _ in shown if k in ("a", "A")], shown


async def test_the_queue_fills_its_height_and_tab_focuses_it_when_shown(sample_db: Path) -> None:
    # Six papers, the last one under review: rows above it fill the queue, not blanks below.
    app = make_app(sample_db, "alice")
    async with app.run_test(size=(180, 45)) as pilot:
        screen = review(app)
        queue = screen.query_one(PaperQueue)
        last = queue.rows[-1]
        screen.show_row(last)
        await pilot.pause()
        assert len(queue.rows) == 6 and queue.rows[-1].paper_id == last.paper_id
        assert queue.display and not queue.has_focus
        await pilot.press("tab")
        assert queue.display and queue.has_focus, "tab focuses a queue already shown"


async def test_a_paper_with_an_ambiguous_field_is_not_done(sample_db: Path) -> None:
    db = open_database(sample_db)
    paper = paper_store.resolve_paper(db, "theory_of_widgets.pdf")
    assert paper is not None
    from extraction.fields import FIELD_NAMES

    decisions = [NewDecision(paper.id, f, "not_reported", "not_reported") for f in FIELD_NAMES]
    decisions[0] = NewDecision(paper.id, FIELD_NAMES[0], "ambiguous", "ambiguous", comment="?")
    record(db, decisions, annotator="alice")
    db.close()
    app = make_app(sample_db, "alice")
    async with app.run_test(size=SIZE) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert "papers 0/6 done" in str(review(app).query_one(StatusLine).render())


async def test_comparing_with_no_other_run_says_so(sample_db: Path) -> None:
    db = open_database(sample_db)
    db.execute("DELETE FROM proposals WHERE run_id = (SELECT id FROM runs WHERE name = 'rules')")
    db.execute("DELETE FROM run_papers WHERE run_id = (SELECT id FROM runs WHERE name = 'rules')")
    db.execute("DELETE FROM runs WHERE name = 'rules'")
    db.conn.commit()
    db.close()
    app = make_app(sample_db, "alice")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("r")
        messages = [n.message for n in app._notifications]
        assert any("no other run to compare with" in m for m in messages), messages


async def test_not_reported_is_written_in_words_on_screen(sample_db: Path) -> None:
    app = make_app(sample_db, "alice")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_on(pilot, sample_db, "theory_of_widgets.pdf")
        await pilot.press("n", "u")  # undo shows the verdict too
        await pilot.press("n")
        screen.query_one(FieldTable).move_cursor(row=0)
        await pilot.pause()
        shown = screen_text(app)
        assert "not reported" in shown and "not_reported" not in shown
        messages = " ".join(n.message for n in app._notifications)
        assert "not_reported" not in messages
        assert isinstance(app.screen, ReviewScreen)


async def test_typing_in_the_editor_replaces_the_proposed_value(sample_db: Path) -> None:
    """The value to correct starts selected: "e", "16", enter stores 16 (not "816"); an
    arrow key keeps it to edit."""
    app = make_app(sample_db, "alice")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_on(pilot, sample_db, "efficient_widgets.pdf")
        screen.query_one(FieldTable).move_cursor(row=1)  # accelerator_count, proposed 8
        await pilot.pause()
        await pilot.press("e", *"16", "enter")
        assert app.screen is screen
        screen.query_one(FieldTable).move_cursor(row=3)  # training_time_hours, proposed 72
        await pilot.pause()
        await pilot.press("e", "end", *".5", "enter")
        assert app.screen is screen
    assert rows(sample_db, "SELECT field, value FROM decisions ORDER BY rowid") == [
        ("accelerator_count", "16"),
        ("training_time_hours", "72.5"),
    ]
