"""A one-line text prompt (comments; the comment an ambiguous mark asks for)."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static


class TextPrompt(ModalScreen[str | None]):
    """Ask for a line of text; ``escape`` cancels (returns ``None``)."""

    BINDINGS = [
        Binding(
            "escape",
            "cancel",
            "Cancel",
            id="goldsmith.prompt.cancel",
            tooltip="Close without saving",
        )
    ]

    def __init__(self, title: str, placeholder: str = "", *, required: bool = True) -> None:
        super().__init__()
        self.prompt_title = title
        self.placeholder = placeholder
        self.required = required

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(Text(self.prompt_title, style="bold"))
            yield Input(placeholder=self.placeholder, id="prompt-input")
            yield Static(Text("enter to save · escape to cancel", style="dim"), id="prompt-hint")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        value = event.value.strip()
        if self.required and not value:
            self.query_one("#prompt-hint", Static).update(
                Text("A comment is needed (escape cancels).", style="red")
            )
            return
        self.dismiss(value)

    def action_cancel(self) -> None:
        self.dismiss(None)


class PagePrompt(ModalScreen[int | None]):
    """Ask for a page number of the paper (``g``); ``escape`` cancels."""

    BINDINGS = [
        Binding(
            "escape",
            "cancel",
            "Cancel",
            id="goldsmith.page_prompt.cancel",
            tooltip="Close without moving",
        )
    ]

    def __init__(self, pages: int, current: int | None = None) -> None:
        super().__init__()
        self.pages = pages
        self.current = current

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="page-prompt"):
            where = f" (now on {self.current})" if self.current else ""
            yield Static(Text(f"Go to page 1–{self.pages}{where}", style="bold"))
            yield Input(placeholder="page number", id="page-input", restrict=r"\d*")
            yield Static(Text("enter goes · escape cancels", style="dim"), id="page-hint")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        typed = event.value.strip()
        if typed.isdigit() and 1 <= int(typed) <= self.pages:
            self.dismiss(int(typed))
            return
        self.query_one("#page-hint", Static).update(
            Text(f"A page from 1 to {self.pages} (escape cancels).", style="red")
        )

    def action_cancel(self) -> None:
        self.dismiss(None)
