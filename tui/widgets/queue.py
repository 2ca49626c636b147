"""The paper queue: a window of rows around the current paper, fetched from SQL.

Only the rows that fit on screen are ever read (two keyset queries), so the queue opens and
moves as fast on 100,000 papers as on 10. Scrolling moves the window.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.message import Message
from textual.reactive import Reactive, reactive
from textual.widget import Widget

from storage.queue import QueueRow
from tui.console import printable

WindowFetch = Callable[[QueueRow | None, int, int], list[QueueRow]]
"""``fetch(around, before, after)``: the rows around a row (or from the start)."""

STATUS_MARK = {
    "done": ("✓", "green"),
    "partial": ("◐", "yellow"),
    "new": ("·", "dim"),
    "flagged": ("⚑", "magenta"),
}


class PaperQueue(Widget, can_focus=True):
    """A list of papers: status, title, fields decided, ungrounded evidence."""

    BINDINGS = [
        Binding("up", "move(-1)", "Previous", show=False, id="goldsmith.queue.up"),
        Binding("down", "move(1)", "Next", show=False, id="goldsmith.queue.down"),
        Binding("pageup", "move(-10)", "Page up", show=False, id="goldsmith.queue.pageup"),
        Binding("pagedown", "move(10)", "Page down", show=False, id="goldsmith.queue.pagedown"),
        Binding("enter", "choose", "Open paper", show=False, id="goldsmith.queue.open"),
    ]

    highlighted: Reactive[int] = reactive(0, init=False)
    """Index (in the window) of the highlighted row."""

    @dataclass
    class Chosen(Message):
        """The annotator picked a paper in the queue."""

        row: QueueRow

    def __init__(self, fetch: WindowFetch, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._fetch = fetch
        self.rows: list[QueueRow] = []
        self.current_paper: str | None = None

    def show_around(self, row: QueueRow | None) -> None:
        """Fill the window around ``row`` (the paper under review) and highlight it."""
        height = max(self.size.height, 10)
        self.rows = self._fetch(row, height // 3, height - height // 3 - 1)
        self.current_paper = row.paper_id if row else None
        ids = [r.paper_id for r in self.rows]
        self.highlighted = ids.index(row.paper_id) if row and row.paper_id in ids else 0
        self.refresh()

    def on_resize(self, event: events.Resize) -> None:
        """A taller queue shows more papers: fetch the window again for the new height."""
        if self.display and self.rows and self.current_paper is not None:
            current = next((r for r in self.rows if r.paper_id == self.current_paper), None)
            if current is not None and len(self.rows) < event.size.height:
                self.show_around(current)

    def action_move(self, delta: int) -> None:
        if not self.rows:
            return
        target = self.highlighted + delta
        if 0 <= target < len(self.rows):
            self.highlighted = target
        else:
            # Past the window's edge: fetch a new window around the row we move to.
            edge = self.rows[0] if target < 0 else self.rows[-1]
            height = max(self.size.height, 10)
            before, after = (height - 2, 1) if target < 0 else (1, height - 2)
            window = self._fetch(edge, before, after)
            if not window:
                return
            ids = [r.paper_id for r in window]
            index = ids.index(edge.paper_id) + (1 if delta > 0 else -1)
            self.rows = window
            self.highlighted = max(0, min(len(window) - 1, index))
        self.refresh()

    def action_choose(self) -> None:
        if self.rows:
            self.post_message(self.Chosen(self.rows[self.highlighted]))

    def on_mouse_scroll_down(self, event: events.MouseScrollDown) -> None:
        self.action_move(3)

    def on_mouse_scroll_up(self, event: events.MouseScrollUp) -> None:
        self.action_move(-3)

    def on_click(self, event: events.Click) -> None:
        if 0 <= event.y < len(self.rows):
            self.highlighted = event.y
            self.action_choose()

    def watch_highlighted(self) -> None:
        self.refresh()

    def render(self) -> Text:
        width = max(self.size.width, 10)
        lines = Text(no_wrap=True, overflow="ellipsis")
        for index, row in enumerate(self.rows[: self.size.height or len(self.rows)]):
            mark, colour = STATUS_MARK[row.status]
            counts = f" {row.decided}/{row.total_fields}"
            warn = f" ⚠{row.ungrounded}" if row.ungrounded else ""
            room = max(4, width - 2 - len(counts) - len(warn))
            title = printable(row.title)
            title = title if len(title) <= room else title[: room - 1] + "…"
            line = Text(no_wrap=True)
            line.append(mark + " ", style=colour)
            line.append(
                title.ljust(room), style="bold" if row.paper_id == self.current_paper else ""
            )
            line.append(counts, style="dim")
            line.append(warn, style="red")
            if index == self.highlighted:
                line.stylize("reverse" if self.has_focus else "underline")
            if index:
                lines.append("\n")
            lines.append_text(line)
        if not self.rows:
            lines.append("no papers in this queue", style="dim italic")
        return lines
