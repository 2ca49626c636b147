"""The review screen's keys: every binding with a description, a tooltip and a stable id
(``goldsmith.<name>``), so a user keymap can remap it and ``?`` lists it.

Order is the footer's: what an annotator presses most comes first.
"""

from __future__ import annotations

from textual.binding import Binding, BindingType


def _binding(
    key: str,
    action: str,
    description: str,
    tooltip: str,
    name: str,
    show: bool = True,
    key_display: str | None = None,
) -> Binding:
    return Binding(
        key,
        action,
        description,
        show=show,
        tooltip=tooltip,
        id=f"goldsmith.{name}",
        key_display=key_display,
    )


REVIEW_BINDINGS: list[BindingType] = [
    _binding("j,down", "next_field", "Next field", "Move to the next field", "next_field", False),
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
        "Accept every grounded value, and 'not reported' where the paper has no candidate "
        "mention of the field",
        "accept_all",
    ),
    *(
        _binding(
            str(n),
            f"adopt({n})",
            "Take answer" if n == 1 else f"Take answer {n}",
            f"Adjudicating: take annotator {n}'s answer",
            f"adopt_{n}",
            n == 1,
            "1–9" if n == 1 else None,
        )
        for n in range(1, 10)
    ),
    _binding(
        "e,enter",
        "correct",
        "Correct",
        "Enter the right value for this field, with the quote that shows it",
        "correct",
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
        "ctrl+f",
        "find",
        "Find",
        "Find in this paper (enter/↓ next match, ↑ previous, escape back)",
        "find",
    ),
    _binding("g", "go_to_page", "Page", "Go to page N of this paper", "go_to_page"),
    _binding(
        "right_curly_bracket",
        "next_mention",
        "Next mention",
        "Next candidate mention of the selected field in the paper",
        "next_mention",
    ),
    _binding(
        "left_curly_bracket",
        "previous_mention",
        "Prev mention",
        "Previous candidate mention of the selected field in the paper",
        "previous_mention",
        False,
    ),
    _binding(
        "t",
        "switch_pane",
        "Text/fields",
        "Switch between the fields and the paper's text (narrow terminals)",
        "switch_pane",
    ),
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
    _binding("s", "score", "Score", "Show the run's accuracy against the gold set so far", "score"),
    _binding(
        "tab",
        "toggle_queue",
        "Queue",
        "Show or hide the paper queue (and move focus to it)",
        "toggle_queue",
    ),
    _binding(
        "escape",
        "clear_find",
        "Clear find",
        "Clear the find and hint marks (the text follows the selected field again)",
        "clear_find",
        False,
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
