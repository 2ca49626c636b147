"""The value editor: one per kind of field, validated by the shared normalisers.

Typing shows what the value will be stored as ("3 days" = 72 hours); invalid input says why
and keeps the editor open; ``escape`` cancels. Choices are picked from a list; accelerator
names complete from the catalog.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.suggester import SuggestFromList
from textual.widgets import Input, OptionList, SelectionList, Static
from textual.widgets.option_list import Option

from extraction.evidence import catalog
from extraction.evidence.normalize import ValueProblem, format_value, normalize_value
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


class ValueEditor(ModalScreen[Any]):
    """Edit one field's value; dismisses with the canonical value, or ``None`` on escape."""

    BINDINGS = [
        Binding(
            "escape",
            "cancel",
            "Cancel",
            id="goldsmith.editor.cancel",
            tooltip="Close without saving",
        ),
        # priority: the screen's own tab (focus next) would otherwise take the key
        Binding(
            "tab",
            "complete",
            "Complete",
            show=False,
            priority=True,
            id="goldsmith.editor.complete",
            tooltip="Take the first catalog match",
        ),
    ]

    def __init__(self, spec: FieldSpec, initial: Any = None) -> None:
        super().__init__()
        self.spec = spec
        self.initial = initial

    def compose(self) -> ComposeResult:
        spec = self.spec
        with Vertical(classes="dialog", id="editor"):
            unit = f" ({spec.unit})" if spec.unit else ""
            yield Static(Text(f"{spec.name}{unit}", style="bold"))
            yield Static(Text(spec.description, style="dim"))
            if spec.kind is Kind.CHOICE:
                options = [Option(value, id=value) for value in spec.allowed]
                chooser = OptionList(*options, id="editor-choice")
                yield chooser
            elif spec.kind is Kind.CHOICE_LIST:
                chosen = set(self.initial or [])
                yield SelectionList[str](
                    *[(value, value, value in chosen) for value in spec.allowed],
                    id="editor-choices",
                )
                yield Static(Text("space toggles · enter saves", style="dim"))
            else:
                suggester = None
                if spec.kind is Kind.ACCELERATOR:
                    suggester = SuggestFromList(catalog.completions(""), case_sensitive=False)
                yield Input(
                    value=printable(format_value(spec, self.initial))
                    if self.initial is not None
                    else "",
                    placeholder=HINTS.get(spec.kind, ""),
                    suggester=suggester,
                    id="editor-input",
                )
            if spec.kind is Kind.ACCELERATOR:
                yield Static("", id="editor-matches")
            yield Static(Text("enter saves · escape cancels", style="dim"), id="editor-message")

    def on_mount(self) -> None:
        if self.spec.kind is Kind.CHOICE and self.initial in self.spec.allowed:
            self.query_one(OptionList).highlighted = self.spec.allowed.index(self.initial)

    def _message(self, text: Text) -> None:
        self.query_one("#editor-message", Static).update(text)

    def _matches(self, typed: str) -> list[str]:
        """Catalog names matching what is typed, ignoring order ("a100 4" → "NVIDIA A100 40GB")."""
        words = typed.lower().split()
        names = catalog.completions("", limit=1000)
        return [n for n in names if all(w in n.lower() for w in words)][:5]

    def on_input_changed(self, event: Input.Changed) -> None:
        if self.spec.kind is Kind.ACCELERATOR:
            matches = self._matches(event.value) if event.value.strip() else []
            hint = self.query_one("#editor-matches", Static)
            hint.update(
                Text("catalog: " + ", ".join(matches) + "  (tab takes the first)", style="cyan")
                if matches
                else Text("")
            )
        if not event.value.strip():
            self._message(Text("enter saves · escape cancels", style="dim"))
            return
        try:
            value = normalize_value(self.spec, event.value)
        except ValueProblem as exc:
            self._message(Text(printable(str(exc)), style="yellow"))
            return
        unit = f" {self.spec.unit}" if self.spec.unit else ""
        shown = printable(format_value(self.spec, value))
        self._message(Text(f"= {shown}{unit}  (enter saves)", style="green"))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        try:
            value = normalize_value(self.spec, event.value)
        except ValueProblem as exc:
            self._message(Text(f"Not saved: {printable(str(exc))}", style="bold red"))
            return
        self.dismiss(value)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def key_enter(self) -> None:
        if self.spec.kind is Kind.CHOICE_LIST:
            selected = self.query_one(SelectionList).selected
            if not selected:
                self._message(
                    Text("Choose at least one (or escape, then n: not reported)", style="bold red")
                )
                return
            self.dismiss(normalize_value(self.spec, list(selected)))

    def action_complete(self) -> None:
        if self.spec.kind is not Kind.ACCELERATOR:
            return
        field = self.query_one("#editor-input", Input)
        matches = self._matches(field.value)
        if matches:
            field.value = matches[0]
            field.cursor_position = len(field.value)

    def action_cancel(self) -> None:
        self.dismiss(None)
