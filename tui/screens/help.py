"""The help overlay (``?``): every key of the review screen, as currently mapped."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Static


class HelpScreen(ModalScreen[None]):
    """Lists each binding of ``for_screen`` (keys after any user keymap) and what it does."""

    BINDINGS = [
        Binding(
            "escape,question_mark,q",
            "close",
            "Close",
            id="goldsmith.help.close",
            tooltip="Close help",
        ),
    ]

    def __init__(self, for_screen: Screen) -> None:
        super().__init__()
        self.for_screen = for_screen
        self.rows: list[tuple[str, str]] = []
        """(keys, what they do), as shown."""

    def compose(self) -> ComposeResult:
        table = Table(box=None, show_header=True, header_style="bold", expand=True)
        table.add_column("key", style="cyan", no_wrap=True)
        table.add_column("does")
        self.rows = [
            (keys, b.tooltip or b.description) for keys, b in self._bindings_of(self.for_screen)
        ]
        for keys, does in self.rows:
            table.add_row(Text(keys), Text(does))
        with VerticalScroll(classes="dialog", id="help"):
            yield Static(Text("goldsmith review — keys", style="bold"))
            yield Static(table)
            yield Static(
                Text("Every decision is saved the moment you make it. escape closes.", style="dim")
            )

    def _bindings_of(self, screen: Screen) -> list[tuple[str, Binding]]:
        """goldsmith's bindings (ids ``goldsmith.*``) of the screen, then the app's, with the
        keys they are bound to now (after the user's keymap)."""
        grouped: dict[str, list[str]] = {}
        order: list[Binding] = []
        for source in (screen._bindings, self.app._bindings):
            for key, bindings in source.key_to_bindings.items():
                for binding in bindings:
                    if not (binding.id or "").startswith("goldsmith."):
                        continue
                    if binding.action not in grouped:
                        grouped[binding.action] = []
                        order.append(binding)
                    display = self.app.get_key_display(binding.with_key(key))
                    if display not in grouped[binding.action]:
                        grouped[binding.action].append(display)
        rows = []
        adopt_keys = []
        for binding in order:
            if (binding.id or "").startswith("goldsmith.adopt_"):
                adopt_keys.extend(grouped[binding.action])
                continue
            rows.append((" ".join(grouped[binding.action]), binding))
        if adopt_keys:
            adopt = Binding(
                "1", "adopt", "Take answer", tooltip="Adjudicating: take annotator N's answer"
            )
            rows.append((f"{adopt_keys[0]}–{adopt_keys[-1]}", adopt))
        palette = Binding("ctrl+p", "command_palette", "Commands", tooltip="Every action by name")
        rows.append((self.app.get_key_display(palette), palette))
        return rows

    def action_close(self) -> None:
        self.dismiss(None)
