"""The answer editor: a value, validated by the field's type, and the evidence for it.

Typing shows what the value will be stored as ("3 days" = 72 hours); invalid input says why
and keeps the editor open. Choices are picked from a list; accelerator names complete from
the catalog (``↑``/``↓`` pick a suggestion, ``tab`` takes it). Below the value is the
evidence that will be stored with it: a page and a quote, checked against the page's text
as it is typed. ``enter`` saves once and closes (it never reaches the screen below);
``ctrl+n`` saves without a quote, on purpose; ``escape`` cancels.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, OptionList, SelectionList, Static
from textual.widgets.option_list import Option

from extraction.evidence import catalog
from extraction.evidence.mentions import IndexedPaper
from extraction.evidence.normalize import ValueProblem, format_value, normalize_value
from extraction.evidence.normalize import value_in_quote as value_is_in
from extraction.evidence.quotes import Evidence, QuoteProblem, one_line
from extraction.fields import FieldSpec, Kind
from tui.console import printable

HINTS = {
    Kind.ACCELERATOR: "e.g. 'A100 80GB', 'TPU v4' (→ completes from the catalog)",
    Kind.COUNT: "a whole number: '8', 'eight', '4x8'",
    Kind.INTEGER: "a whole number: '80', '80GB'",
    Kind.HOURS: "'72', '3 days', '36h', 'two weeks'",
    Kind.DEVICE_HOURS: "'576', '2.788M', '1.5k GPU hours'",
    Kind.FLOP: "'3.1e23', '3.14 × 10^23', '60 PF-days'",
    Kind.USD: "'1200', '$1.2k'",
    Kind.TEXT: "free text",
    Kind.TEXT_LIST: "items separated by ';'",
}
MATCHES_SHOWN = 6
"""Catalog suggestions listed under an accelerator name."""
KEYS_HINT = "enter saves · tab next box · ctrl+n saves without a quote · escape cancels"


@dataclass(frozen=True, slots=True)
class Answer:
    """What the editor returns: the canonical value and its evidence."""

    value: Any
    evidence: Evidence | None
    """``None`` only when the annotator saved without a quote on purpose (``no_quote``)."""
    no_quote: bool = False


class CatalogInput(Input):
    """The accelerator name box: ``↑``/``↓`` move through the catalog suggestions."""

    BINDINGS = [
        Binding("down", "screen.pick(1)", "Next suggestion", show=False),
        Binding("up", "screen.pick(-1)", "Previous suggestion", show=False),
    ]


class ValueEditor(ModalScreen[Answer | None]):
    """Edit one field's answer; dismisses with an :class:`Answer`, or ``None`` on escape."""

    BINDINGS = [
        Binding(
            "escape",
            "cancel",
            "Cancel",
            id="goldsmith.editor.cancel",
            tooltip="Close without saving",
        ),
        # priority: Enter is the editor's, whichever box has focus, so it saves exactly once
        # and never travels on to the review screen (which would open the next editor).
        Binding(
            "enter",
            "save",
            "Save",
            priority=True,
            id="goldsmith.editor.save",
            tooltip="Save the value with the evidence shown",
        ),
        Binding(
            "ctrl+n",
            "save_without_quote",
            "No quote",
            priority=True,
            id="goldsmith.editor.no_quote",
            tooltip="Save the value without a quote (on purpose: it shows as 'no quote')",
        ),
        # priority: the screen's own tab (focus next) would otherwise take the key
        Binding(
            "tab",
            "complete",
            "Complete / next box",
            show=False,
            priority=True,
            id="goldsmith.editor.complete",
            tooltip="Take the highlighted catalog suggestion, else go to the next box",
        ),
        Binding(
            "shift+tab",
            "focus_previous",
            "Previous box",
            show=False,
            priority=True,
            id="goldsmith.editor.previous",
        ),
    ]

    def __init__(
        self,
        spec: FieldSpec,
        initial: Any = None,
        *,
        evidence: Evidence | None = None,
        paper: IndexedPaper | None = None,
        page: int | None = None,
    ) -> None:
        """
        Args:
            initial: The value to start from (``None``: empty, and no choice highlighted).
            evidence: The evidence to start from (the sentence around a find match or hint).
            paper: The paper's pages, to check a typed quote against.
            page: Where a typed quote is looked for first (the page in view).
        """
        super().__init__()
        self.spec = spec
        self.initial = initial
        self.default_evidence = evidence
        self.paper = paper
        self.page = evidence.page if evidence else page
        self.evidence: Evidence | None = evidence
        """The evidence that would be stored now (``None``: none found yet)."""
        self.problem: str | None = None
        self._matches: list[str] = []
        self.saved = 0
        """How many times the editor saved (once at most: a test checks Enter does not leak)."""

    # --- layout ------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        spec = self.spec
        with Vertical(classes="dialog", id="editor"):
            unit = f" ({spec.unit})" if spec.unit else ""
            yield Static(Text(f"{spec.name}{unit}", style="bold"))
            yield Static(Text(spec.description, style="dim"))
            if spec.kind is Kind.CHOICE:
                yield OptionList(*[Option(v, id=v) for v in spec.allowed], id="editor-choice")
            elif spec.kind is Kind.CHOICE_LIST:
                chosen = set(self.initial or [])
                yield SelectionList[str](
                    *[(value, value, value in chosen) for value in spec.allowed],
                    id="editor-choices",
                )
                yield Static(Text("space toggles", style="dim"))
            else:
                box = CatalogInput if spec.kind is Kind.ACCELERATOR else Input
                yield box(
                    value=printable(format_value(spec, self.initial))
                    if self.initial is not None
                    else "",
                    placeholder=HINTS.get(spec.kind, ""),
                    id="editor-input",
                    # Selecting on focus raced keys typed right after "e": the focus came
                    # after the first few, and selected them, so the next key replaced
                    # them ("Google…" stored as "gle…"). The value is selected on mount
                    # instead, before any key reaches the box.
                    select_on_focus=False,
                )
            if spec.kind is Kind.ACCELERATOR:
                matches = OptionList(id="editor-matches")
                matches.can_focus = False  # ↑/↓ in the name box move through it
                yield matches
            yield Static("", id="editor-message")
            yield Static(Text("evidence (the quote that will be stored)", style="bold"))
            yield Input(
                value=self.default_evidence.shown if self.default_evidence else "",
                placeholder="type or paste the passage; or find it first (ctrl+f) and press e",
                id="editor-quote",
            )
            yield Static("", id="editor-evidence")
            yield Static(Text(KEYS_HINT, style="dim"), id="editor-keys")

    def on_mount(self) -> None:
        if self.spec.kind is Kind.CHOICE:
            choices = self.query_one("#editor-choice", OptionList)
            choices.highlighted = (
                self.spec.allowed.index(self.initial) if self.initial in self.spec.allowed else None
            )
        if self.spec.kind is Kind.ACCELERATOR:
            self.query_one("#editor-matches", OptionList).display = False
        if self.spec.kind not in (Kind.CHOICE, Kind.CHOICE_LIST):
            # The value to correct is selected: typing replaces it ("e", "64" is 64, never
            # the proposed 16 with 64 appended); an arrow key keeps it to edit.
            self.query_one("#editor-input", Input).select_all()
        self._show_value_check()
        self._show_evidence()

    # --- the value ---------------------------------------------------------------------------

    def _value(self) -> Any:
        """The canonical value entered so far.

        Raises:
            ValueProblem: Nothing valid is entered.
        """
        kind = self.spec.kind
        if kind is Kind.CHOICE:
            option = self.query_one("#editor-choice", OptionList).highlighted_option
            if option is None:
                raise ValueProblem("choose one with ↑/↓ (nothing is chosen yet)")
            return option.id
        if kind is Kind.CHOICE_LIST:
            selected = self.query_one(SelectionList).selected
            if not selected:
                raise ValueProblem("choose at least one with space (or escape, then n)")
            return normalize_value(self.spec, list(selected))
        typed = self.query_one("#editor-input", Input).value
        if not typed.strip():
            raise ValueProblem("type a value")
        return normalize_value(self.spec, typed)

    def _show_value_check(self) -> None:
        message = self.query_one("#editor-message", Static)
        try:
            value = self._value()
        except ValueProblem as exc:
            message.update(Text(printable(str(exc)), style="yellow"))
            return
        unit = f" {self.spec.unit}" if self.spec.unit else ""
        shown = printable(format_value(self.spec, value))
        message.update(Text(f"= {shown}{unit}", style="green"))

    @staticmethod
    def _names() -> list[str]:
        return catalog.completions("", limit=1000)

    def _matches_for(self, typed: str) -> list[str]:
        """Catalog names matching what is typed, ignoring order ("a100 4" → "NVIDIA A100 40GB")."""
        words = typed.lower().split()
        if not words:
            return []
        return [n for n in self._names() if all(w in n.lower() for w in words)][:MATCHES_SHOWN]

    @on(Input.Changed, "#editor-input")
    def _value_changed(self, event: Input.Changed) -> None:
        if self.spec.kind is Kind.ACCELERATOR:
            # A catalog name already in the box needs no suggestions.
            typed = event.value.strip()
            self._matches = [] if typed in self._names() else self._matches_for(typed)
            shown = self.query_one("#editor-matches", OptionList)
            shown.clear_options()
            shown.add_options([Option(name) for name in self._matches])
            shown.display = bool(self._matches)
            shown.highlighted = 0 if self._matches else None
        self._show_value_check()
        self._show_evidence()

    @on(OptionList.OptionHighlighted, "#editor-choice")
    @on(SelectionList.SelectedChanged, "#editor-choices")
    def _choice_changed(self) -> None:
        self._show_value_check()
        self._show_evidence()

    @on(OptionList.OptionSelected, "#editor-matches")
    def _suggestion_clicked(self, event: OptionList.OptionSelected) -> None:
        self._take_suggestion(event.option_index)

    def action_pick(self, delta: int) -> None:
        """Move through the catalog suggestions without leaving the name box."""
        shown = self.query_one("#editor-matches", OptionList)
        if not self._matches:
            return
        current = shown.highlighted if shown.highlighted is not None else -1
        shown.highlighted = (current + delta) % len(self._matches)

    def _take_suggestion(self, index: int | None) -> bool:
        if index is None or not 0 <= index < len(self._matches):
            return False
        box = self.query_one("#editor-input", Input)
        if box.value == self._matches[index]:
            return False
        box.value = self._matches[index]
        box.cursor_position = len(box.value)
        return True

    def action_complete(self) -> None:
        if (
            self.spec.kind is Kind.ACCELERATOR
            and self.focused is self.query_one("#editor-input")
            and self._take_suggestion(self.query_one("#editor-matches", OptionList).highlighted)
        ):
            return
        self.focus_next()

    def action_focus_previous(self) -> None:
        self.focus_previous()

    # --- the evidence ------------------------------------------------------------------------

    @on(Input.Changed, "#editor-quote")
    def _quote_changed(self) -> None:
        self._show_evidence()

    def _check_quote(self) -> None:
        """Set :attr:`evidence` (and :attr:`problem`) from the quote box."""
        typed = self.query_one("#editor-quote", Input).value.strip()
        self.problem = None
        if not typed:
            self.evidence = None
            return
        default = self.default_evidence
        if default is not None and typed == default.shown:
            self.evidence = default
            return
        if self.paper is None:
            self.evidence, self.problem = None, "no paper text to check the quote against"
            return
        try:
            self.evidence = self.paper.locate(typed, self.page)
        except QuoteProblem as exc:
            self.evidence, self.problem = None, str(exc)

    def _show_evidence(self) -> None:
        self._check_quote()
        shown = self.query_one("#editor-evidence", Static)
        if self.problem:
            shown.update(Text(f"✗ {printable(self.problem)}", style="bold red"))
            return
        evidence = self.evidence
        if evidence is None:
            shown.update(
                Text(
                    "no quote yet: type the passage, or escape and find it (ctrl+f, } hints), "
                    "then e",
                    style="yellow",
                )
            )
            return
        mark = "✓ exact" if evidence.grounding == "exact" else "≈ normalized"
        text = Text()
        text.append(f"page {evidence.page}: ", style="bold")
        text.append("“" + printable(one_line(evidence.quote)) + "”", style="italic")
        text.append(f"  {mark}", style="green")
        try:
            value = self._value()
        except ValueProblem:
            value = None
        if value is not None and value_is_in(self.spec, value, evidence.quote) is False:
            text.append("  (the value is not in the quote)", style="yellow")
        shown.update(text)

    # --- saving ------------------------------------------------------------------------------

    def _say(self, message: str) -> None:
        self.query_one("#editor-message", Static).update(
            Text(f"Not saved: {printable(message)}", style="bold red")
        )

    def action_save(self) -> None:
        try:
            value = self._value()
        except ValueProblem as exc:
            self._say(str(exc))
            return
        self._check_quote()
        if self.evidence is None:
            self._say(
                self.problem
                or "no quote: type the passage (or find it first), or ctrl+n to save without one"
            )
            self._show_evidence()
            return
        self._finish(Answer(value, self.evidence))

    def action_save_without_quote(self) -> None:
        try:
            value = self._value()
        except ValueProblem as exc:
            self._say(str(exc))
            return
        self._finish(Answer(value, None, no_quote=True))

    def _finish(self, answer: Answer) -> None:
        if self.saved:
            return
        self.saved += 1
        self.dismiss(answer)

    def action_cancel(self) -> None:
        self.dismiss(None)
