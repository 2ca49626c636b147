"""The paper's text, all pages, scrolled to the evidence with the quote highlighted."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence

from textual.widgets import TextArea
from textual.widgets.text_area import Selection

from tui.console import visible_controls


class PaperText(TextArea):
    """Read-only text of every page, each under a ``── page N ──`` rule.

    A TextArea draws only the lines on screen, so an 80-page paper costs no more to show
    than a short one; paper text is plain data here (never parsed as markup).
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(
            "",
            read_only=True,
            soft_wrap=True,
            show_line_numbers=False,
            id=id,
            highlight_cursor_line=False,
        )
        self._page_starts: list[int] = []
        self._line_starts: list[int] = [0]
        self.paper_id: str | None = None

    def show_pages(self, paper_id: str, pages: Sequence[str]) -> None:
        """Load a paper (unless it is already shown)."""
        if paper_id == self.paper_id:
            return
        self.paper_id = paper_id
        parts: list[str] = []
        offset = 0
        self._page_starts = []
        for number, page in enumerate(pages, start=1):
            header = f"── page {number} ──\n"
            parts.append(header)
            offset += len(header)
            self._page_starts.append(offset)
            # Control characters would garble the terminal; each is shown as one symbol, so
            # evidence offsets into the stored text still point at the same characters.
            body = visible_controls(page)
            parts.append(body + "\n")
            offset += len(body) + 1
        text = "".join(parts)
        self._line_starts = [0]
        position = text.find("\n")
        while position >= 0:
            self._line_starts.append(position + 1)
            position = text.find("\n", position + 1)
        self.load_text(text)
        self.scroll_home(animate=False)

    def _location(self, offset: int) -> tuple[int, int]:
        row = bisect_right(self._line_starts, offset) - 1
        return row, offset - self._line_starts[row]

    def highlight(self, page: int | None, start: int | None, end: int | None) -> None:
        """Select the quote at ``start:end`` of ``page`` and scroll it to the middle, or just
        show the top of ``page`` when the quote was not found."""
        if page is None or not 1 <= page <= len(self._page_starts):
            self.selection = Selection.cursor((0, 0))
            return
        base = self._page_starts[page - 1]
        if start is None or end is None:
            location = self._location(base)
            self.selection = Selection.cursor(location)
            self.scroll_to(y=max(0, location[0] - 1), animate=False)
            return
        self.selection = Selection(self._location(base + start), self._location(base + end))
        self.scroll_cursor_visible(center=True, animate=False)

    def page_at_cursor(self) -> int | None:
        """The page the cursor (or the top of the view) is on."""
        if not self._page_starts:
            return None
        row = self.selection.end[0]
        offset = self._line_starts[min(row, len(self._line_starts) - 1)]
        return max(1, bisect_right(self._page_starts, offset))
