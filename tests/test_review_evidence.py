"""Every human answer carries its evidence: find, page and hints in the review app, the quote
stored with each answer, and "accept grounded" that leaves what it cannot check."""

from __future__ import annotations

import json
from pathlib import Path

from rich.text import Text
from textual.geometry import Offset

from storage import open_database
from storage import papers as paper_store
from tests.test_review_app import SIZE, open_on, paper_id, review, rows
from tui.app import make_app
from tui.screens.editor import ValueEditor
from tui.screens.search import SearchScreen
from tui.widgets.fields import FieldTable
from tui.widgets.paper_text import PaperPane, PaperText

SENTENCE = (
    "All experiments ran on the JUWELS Booster supercomputer, using four nodes with 4 NVIDIA "
    "A100\n40GB GPUs each (16 GPUs in total)."
)


def title(screen) -> str:  # noqa: ANN001
    found = screen.query_one(PaperPane).border_title
    return found.plain if isinstance(found, Text) else Text.from_markup(str(found)).plain


def page_text(db_path: Path, file: str, page: int) -> str:
    db = open_database(db_path)
    try:
        text = paper_store.page_text(db, paper_id(db_path, file), page)
    finally:
        db.close()
    assert text is not None
    return text


async def settle(pilot) -> None:  # noqa: ANN001
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


async def test_a_corrected_value_is_stored_with_the_quote_around_the_find_match(
    sample_db: Path,
) -> None:
    app = make_app(sample_db, "alice")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_on(pilot, sample_db, "appendix_hardware.pdf")
        assert "page 1 of 4" in title(screen)
        await pilot.press("ctrl+f", *"16 gpus")
        assert "page 4 of 4" in title(screen) and "find “16 gpus” 1/1" in title(screen)
        await pilot.press("escape")  # back to the fields; the match stays the evidence
        assert screen.query_one(FieldTable).has_focus
        screen.query_one(FieldTable).move_cursor(row=1)  # accelerator_count
        await pilot.pause()
        await pilot.press("e")
        editor = app.screen
        assert isinstance(editor, ValueEditor)
        shown = str(editor.query_one("#editor-evidence").render())
        assert shown.startswith("page 4: “All experiments ran on the JUWELS Booster")
        assert "\\n" not in shown, "quotes never show a literal \\n"
        await pilot.press(*"16", "enter")
        assert app.screen is screen
    ((verdict, value, page, quote, grounding, start, end, no_quote),) = rows(
        sample_db,
        "SELECT verdict, value, page, quote, grounding, char_start, char_end, no_quote "
        "FROM decisions",
    )
    assert (verdict, json.loads(value), page, grounding, no_quote) == (
        "corrected",
        16,
        4,
        "exact",
        0,
    )
    assert quote == SENTENCE
    assert page_text(sample_db, "appendix_hardware.pdf", 4)[start:end] == quote


async def test_a_typed_quote_is_checked_against_the_page(sample_db: Path) -> None:
    app = make_app(sample_db, "alice")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_on(pilot, sample_db, "appendix_hardware.pdf")
        screen.query_one(FieldTable).move_cursor(row=6)  # compute_provider
        await pilot.pause()
        await pilot.press("e", *"JUWELS Booster", "tab", *"ran on the juwels booster computer")
        editor = app.screen
        assert isinstance(editor, ValueEditor)
        assert "✗ not found" in str(editor.query_one("#editor-evidence").render())
        await pilot.press("enter")
        assert app.screen is editor, "a quote that is not in the paper is not saved"
        await pilot.press(*["backspace"] * len("computer"), *"supercomputer")
        # case and spacing differ from the page: found after normalisation
        assert "≈ normalized" in str(editor.query_one("#editor-evidence").render())
        await pilot.press("enter")
        assert app.screen is screen
    ((page, quote, grounding),) = rows(sample_db, "SELECT page, quote, grounding FROM decisions")
    assert (page, quote, grounding) == (4, "ran on the JUWELS Booster supercomputer", "normalized")


async def test_a_value_without_a_quote_is_saved_only_on_purpose_and_shows_as_such(
    sample_db: Path, tmp_path: Path
) -> None:
    app = make_app(sample_db, "alice")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_on(pilot, sample_db, "theory_of_widgets.pdf")
        await pilot.press("e", *"TPU v3", "enter")
        assert isinstance(app.screen, ValueEditor), "no evidence: enter does not save"
        assert "no quote" in str(app.screen.query_one("#editor-message").render())
        await pilot.press("ctrl+n")
        assert app.screen is screen
        cell = screen.query_one(FieldTable).get_cell_at((0, 4))
        assert "(no quote)" in str(cell)
        await pilot.press("k")
        assert "no quote (saved without one on purpose)" in str(
            screen.query_one("#evidence").render()
        )
    assert rows(sample_db, "SELECT value, quote, page, no_quote FROM decisions") == [
        ('"Google TPU v3"', None, None, 1)
    ]
    from tests.test_gold import read_csv, run

    out = tmp_path / "long.csv"
    run(sample_db, "export", str(out), "--layout", "long", "--include-partial")
    row = next(
        r
        for r in read_csv(out)
        if r["file"] == "theory_of_widgets.pdf" and r["field"] == "accelerator_type"
    )
    assert (row["value"], row["evidence_quote"], row["evidence_grounding"]) == (
        "Google TPU v3",
        "",
        "no quote",
    )


async def test_find_counts_matches_and_reaches_a_late_page_in_few_keys(sample_db: Path) -> None:
    app = make_app(sample_db, "alice")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_on(pilot, sample_db, "efficient_widgets.pdf")
        text = screen.query_one(PaperText)
        text.go_to_page(1)
        await pilot.pause()
        keys = ["ctrl+f", *"a", "enter"]  # every "a" of the paper: many matches
        await pilot.press(*keys)
        count = len(screen.matches)
        assert count > 20 and len(text.marks("match")) == count
        assert f"find “a” 2/{count}" in title(screen)
        await pilot.press("up", "up")
        assert f"find “a” {count}/{count}" in title(screen), "previous wraps to the last"
        await pilot.press("escape", "escape")  # back to the fields, then clear the marks
        assert not text.marks("match") and "find" not in title(screen)
        # From page 1 to the acknowledgements on page 3: ctrl+f, the word, enter at most.
        text.go_to_page(1)
        await pilot.pause()
        await pilot.press("ctrl+f", *"grant")
        assert "page 3 of 3" in title(screen) and "1/1" in title(screen)
        assert screen.target is not None and screen.target.page == 3


async def test_go_to_page(sample_db: Path) -> None:
    app = make_app(sample_db, "alice")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_on(pilot, sample_db, "appendix_hardware.pdf")
        await pilot.press("g", "9", "enter")
        assert "1 to 4" in str(app.screen.query_one("#page-hint").render())
        await pilot.press("backspace", "4", "enter")
        assert app.screen is screen and "page 4 of 4" in title(screen)


async def test_corpus_search_shows_snippets_and_opens_at_the_hit(sample_db: Path) -> None:
    app = make_app(sample_db, "alice")
    async with app.run_test(size=SIZE) as pilot:
        screen = review(app)
        await pilot.press("slash", *"gauss centre", "enter")
        search = app.screen
        assert isinstance(search, SearchScreen)
        assert [(h.page, h.words) for h in search.hits] == [(4, "gauss centre")]
        options = search.query_one("#search-results")
        label = str(options.get_option_at_index(0).prompt)  # type: ignore[attr-defined]
        assert "page 4" in label and "the Gauss Centre for Supercomputing" in label
        await pilot.press("enter")  # the first Enter on a listed search opens the first hit
        assert app.screen is screen
        assert screen.view is not None and screen.view.paper.file == "appendix_hardware.pdf"
        assert "page 4 of 4" in title(screen) and "find “gauss centre” 1/1" in title(screen)
        assert screen.query_one(PaperText).marks("current")


async def test_hints_mark_count_and_walk_the_candidate_mentions(sample_db: Path) -> None:
    app = make_app(sample_db, "alice")
    async with app.run_test(size=(200, 50)) as pilot:
        screen = await open_on(pilot, sample_db, "appendix_hardware.pdf")
        await settle(pilot)
        table = screen.query_one(FieldTable)
        table.move_cursor(row=1)  # accelerator_count: the model said not reported
        await pilot.pause()
        assert str(table.get_cell_at((1, 3))) == "3 mentions"
        panel = str(screen.query_one("#evidence").render())
        assert "The paper has 3 candidate mentions" in panel
        assert len(screen.query_one(PaperText).marks("mention")) == 3
        await pilot.press("right_curly_bracket")
        assert "accelerator_count mention 1/3" in title(screen) and "page 4 of 4" in title(screen)
        await pilot.press("left_curly_bracket")  # previous, wrapping to the last
        assert "accelerator_count mention 3/3" in title(screen)
        await pilot.press("n")
    ((shown,),) = rows(sample_db, "SELECT shown_mentions FROM decisions")
    mentions = json.loads(shown)
    assert [m["text"] for m in mentions] == ["four nodes", "4 NVIDIA A100 40GB GPUs", "16 GPUs"]
    assert [m["visited"] for m in mentions] == [True, False, True]
    text = page_text(sample_db, "appendix_hardware.pdf", 4)
    assert text[mentions[2]["start"] : mentions[2]["end"]] == "16 GPUs"


async def test_accept_grounded_leaves_not_reported_where_the_paper_has_mentions(
    sample_db: Path,
) -> None:
    app = make_app(sample_db, "alice")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_on(pilot, sample_db, "appendix_hardware.pdf")
        await settle(pilot)
        await pilot.press("A")
        messages = [n.message for n in app._notifications]
        assert "Accepted 5: 1 value, 4 not reported; left 7 with mentions for you." in messages
        assert screen.view is not None and screen.view.decided == 5
    accepted = dict(rows(sample_db, "SELECT field, shown_mentions FROM decisions"))
    assert set(accepted) == {
        "research_setting",
        "gpu_hours",
        "training_compute_flop",
        "models_used",
        "api_cost_usd",
    }
    assert accepted["research_setting"] is None
    assert all(accepted[f] == "[]" for f in accepted if f != "research_setting")


async def test_a_find_match_answers_several_fields_in_a_row(sample_db: Path) -> None:
    """One sentence, three answers: the match stays the evidence after each decision."""
    app = make_app(sample_db, "alice")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_on(pilot, sample_db, "appendix_hardware.pdf")
        await pilot.press("ctrl+f", *"16 gpus", "escape")
        await pilot.press("e", "ctrl+u", *"A100 40GB", "enter")  # accelerator_type
        await pilot.press("e", "ctrl+u", *"16", "enter")  # accelerator_count
        await pilot.press("e", "ctrl+u", *"40", "enter")  # accelerator_memory_gb
        assert app.screen is screen
    stored = rows(sample_db, "SELECT field, value, page, quote FROM decisions ORDER BY rowid")
    assert [(f, v) for f, v, _, _ in stored] == [
        ("accelerator_type", '"NVIDIA A100 40GB"'),
        ("accelerator_count", "16"),
        ("accelerator_memory_gb", "40"),
    ]
    assert {(page, quote) for _, _, page, quote in stored} == {(4, SENTENCE)}


async def test_the_text_stays_at_the_find_match_after_a_decision(sample_db: Path) -> None:
    """Saving an answer leaves the text where the annotator found its evidence (it used to
    jump back to page 1, where the text's hidden cursor sat); typing replaces the value."""
    app = make_app(sample_db, "alice")
    async with app.run_test(size=(100, 16)) as pilot:
        screen = await open_on(pilot, sample_db, "appendix_hardware.pdf")
        text = screen.query_one(PaperText)
        await pilot.press("ctrl+f", *"16 gpus", "escape")
        where = text.scroll_y
        assert where > 0 and "page 4 of 4" in title(screen)
        await pilot.press("e", *"A100 40GB", "enter")  # the proposal is not in the box: replaced
        assert app.screen is screen
        assert text.scroll_y == where and "page 4 of 4" in title(screen)
        await pilot.press("e", *"16", "enter")
        assert text.scroll_y == where and "page 4 of 4" in title(screen)
    stored = rows(sample_db, "SELECT field, value, page FROM decisions ORDER BY rowid")
    assert stored == [("accelerator_type", '"NVIDIA A100 40GB"', 4), ("accelerator_count", "16", 4)]


async def test_a_new_width_keeps_the_same_text_in_view(sample_db: Path) -> None:
    """Showing the queue on a narrow terminal re-wraps the text; the line at the top stays."""
    app = make_app(sample_db, "alice")
    async with app.run_test(size=(80, 16)) as pilot:
        screen = await open_on(pilot, sample_db, "appendix_hardware.pdf")
        text = screen.query_one(PaperText)
        await pilot.press("ctrl+f", *"full training run", "escape")
        assert text.scroll_y > 0
        top = text.wrapped_document.offset_to_location(Offset(0, round(text.scroll_y)))
        page = text.page_in_view()
        await pilot.press("tab")  # the queue takes 30 columns from the text
        await pilot.pause()
        now = text.wrapped_document.offset_to_location(Offset(0, round(text.scroll_y)))
        assert now[0] == top[0] and text.page_in_view() == page


async def test_corpus_search_fits_an_80x24_terminal(sample_db: Path) -> None:
    app = make_app(sample_db, "alice")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("slash", *"the", "enter")  # a hit on nearly every page
        search = app.screen
        assert isinstance(search, SearchScreen) and len(search.hits) > 8
        hint = search.query_one("#search-hint")
        assert "hit(s)" in str(hint.render())
        assert hint.region.height and hint.region.bottom <= 23, "the count is on the screen"


async def test_down_in_corpus_search_goes_to_the_second_hit(sample_db: Path) -> None:
    app = make_app(sample_db, "alice")
    async with app.run_test(size=SIZE) as pilot:
        screen = review(app)
        await pilot.press("slash", *"gpus", "enter")
        search = app.screen
        assert isinstance(search, SearchScreen) and len(search.hits) == 2
        second = search.hits[1]
        await pilot.press("down", "enter")  # the first hit is highlighted already
        assert app.screen is screen and screen.view is not None
        assert screen.view.paper.id == second.paper_id
        assert f"page {second.page} of" in title(screen)


async def test_a_mention_jumped_to_from_the_fields_is_in_view_at_80x24(sample_db: Path) -> None:
    """On a narrow terminal `}` switches to the text, which was hidden: the scroll asked for
    then is done when it shows (it stayed at the top, under a title naming page 1)."""
    app = make_app(sample_db, "alice")
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_on(pilot, sample_db, "appendix_hardware.pdf")
        text = screen.query_one(PaperText)
        assert screen.narrow and not screen.text_view
        await pilot.press("right_curly_bracket")
        await pilot.pause()
        await pilot.pause()
        assert screen.text_view and screen.target is not None
        page, start, _ = screen.target.page, screen.target.start, screen.target.end
        assert page == 4
        y = text.wrapped_document.location_to_offset(text._location(text._offset(page, start))).y
        assert text.scroll_y <= y < text.scroll_y + text.size.height, "the mention is in view"
        assert "page 4 of 4" in title(screen)


async def test_the_field_table_fits_beside_the_queue_at_80x24(sample_db: Path) -> None:
    """The queue takes 30 of 80 columns: the columns shrink, names and values end in "…"
    (they ran past the pane, so "16" showed as "1" and the headers as "ev", "men", "dec")."""
    app = make_app(sample_db, "alice")
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_on(pilot, sample_db, "appendix_hardware.pdf")
        table = screen.query_one(FieldTable)
        table.move_cursor(row=1)  # accelerator_count
        await pilot.pause()
        await pilot.press("e", "ctrl+u", *"16", "ctrl+n")
        await pilot.press("tab")  # show the queue
        await pilot.pause()
        await pilot.pause()
        pane = table.parent.size.width  # type: ignore[union-attr]
        used = sum(column.get_render_width(table) for column in table.columns.values())
        assert used <= pane, f"{used} columns of {pane}"
        for row in range(table.row_count):
            for column, cell in enumerate(table.get_row_at(row)):
                shown = cell.plain if isinstance(cell, Text) else str(cell)
                width = list(table.columns.values())[column].width
                assert len(shown) <= width, f"row {row}, column {column}: {shown!r}"
        decided = table.get_row_at(1)[-1]
        assert "16" in decided.plain or "…" in decided.plain
