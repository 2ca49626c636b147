"""SVG snapshots of the key screens (pytest-textual-snapshot); update with --snapshot-update."""

from __future__ import annotations

from pathlib import Path

from tui.app import make_app

SIZE = (160, 45)


async def settle(pilot) -> None:  # noqa: ANN001
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


def test_review_screen(snap_compare, sample_db: Path) -> None:
    assert snap_compare(make_app(sample_db, "alice"), terminal_size=SIZE, run_before=settle)


def test_review_with_ungrounded_evidence(snap_compare, sample_db: Path) -> None:
    async def to_pod_paper(pilot) -> None:  # noqa: ANN001
        await settle(pilot)
        await pilot.press("slash", *"pod slice", "enter")
        await pilot.pause()
        await pilot.press("enter", "j")
        await pilot.pause()

    assert snap_compare(make_app(sample_db, "alice"), terminal_size=SIZE, run_before=to_pod_paper)


def test_editor(snap_compare, sample_db: Path) -> None:
    async def edit(pilot) -> None:  # noqa: ANN001
        await settle(pilot)
        await pilot.press("j", "e", "end", "ctrl+u", *"two dozen")
        await pilot.pause()

    assert snap_compare(make_app(sample_db, "alice"), terminal_size=SIZE, run_before=edit)


def test_choice_editor(snap_compare, sample_db: Path) -> None:
    async def edit(pilot) -> None:  # noqa: ANN001
        await settle(pilot)
        pilot.app.screen.query_one("#fields").move_cursor(row=9)
        await pilot.press("e")
        await pilot.pause()

    assert snap_compare(make_app(sample_db, "alice"), terminal_size=SIZE, run_before=edit)


def test_help(snap_compare, sample_db: Path) -> None:
    async def help_open(pilot) -> None:  # noqa: ANN001
        await settle(pilot)
        await pilot.press("question_mark")
        await pilot.pause()

    assert snap_compare(make_app(sample_db, "alice"), terminal_size=SIZE, run_before=help_open)


def test_queue_focused_on_a_narrow_terminal(snap_compare, sample_db: Path) -> None:
    async def queue(pilot) -> None:  # noqa: ANN001
        await settle(pilot)
        await pilot.press("tab", "down")
        await pilot.pause()

    assert snap_compare(make_app(sample_db, "alice"), terminal_size=(110, 40), run_before=queue)


def test_field_first_review(snap_compare, sample_db: Path) -> None:
    app = make_app(sample_db, "alice", field="accelerator_type")
    assert snap_compare(app, terminal_size=SIZE, run_before=settle)


def test_adjudication(snap_compare, sample_db: Path) -> None:
    from tests.test_review_app import two_annotators_disagree

    two_annotators_disagree(sample_db)
    app = make_app(sample_db, "judge", adjudicate=True)
    assert snap_compare(app, terminal_size=SIZE, run_before=settle)


def test_blind_review(snap_compare, sample_db: Path) -> None:
    assert snap_compare(
        make_app(sample_db, "carol", blind=True), terminal_size=SIZE, run_before=settle
    )


# The review at every size from 80×24: the text is always reachable, no pane loses its border.


def test_review_at_80x24(snap_compare, sample_db: Path) -> None:
    assert snap_compare(make_app(sample_db, "alice"), terminal_size=(80, 24), run_before=settle)


def test_review_text_at_80x24_after_a_find(snap_compare, sample_db: Path) -> None:
    async def find(pilot) -> None:  # noqa: ANN001
        await settle(pilot)
        await pilot.press("j", "ctrl+f", *"a100", "escape")
        await pilot.pause()

    assert snap_compare(make_app(sample_db, "alice"), terminal_size=(80, 24), run_before=find)


def test_editor_at_80x24(snap_compare, sample_db: Path) -> None:
    async def edit(pilot) -> None:  # noqa: ANN001
        await settle(pilot)
        await pilot.press("e", "ctrl+u", *"a100")
        await pilot.pause()

    assert snap_compare(make_app(sample_db, "alice"), terminal_size=(80, 24), run_before=edit)


def test_review_at_100x30(snap_compare, sample_db: Path) -> None:
    assert snap_compare(make_app(sample_db, "alice"), terminal_size=(100, 30), run_before=settle)


def test_review_with_hints_at_180x50(snap_compare, sample_db: Path) -> None:
    async def hint(pilot) -> None:  # noqa: ANN001
        await settle(pilot)
        await pilot.press("slash", *"juwels", "enter", "enter")
        await settle(pilot)
        await pilot.press("j", "right_curly_bracket")
        await pilot.pause()

    assert snap_compare(make_app(sample_db, "alice"), terminal_size=(180, 50), run_before=hint)
