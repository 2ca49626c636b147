"""The paper's text, all pages, with evidence, find matches and hints marked in it.

:class:`PaperPane` holds the text, a one-line find bar (``ctrl+f``) and, on narrow terminals,
a bar naming the selected field. Its title always says which page is in view ("page 13 of
16"), and what is being found or hinted ("find 'tpu chips' 2/3").
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from rich.style import Style
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.geometry import Offset
from textual.message import Message
from textual.widgets import Input, Static, TextArea
from textual.widgets.text_area import Selection, TextAreaTheme

from tui.console import printable, visible_controls

Span = tuple[int, int, int]
"""``(page, start, end)``: offsets into the stored text of a page (1-based)."""

# Marks drawn over the text, later ones on top.
MARK_STYLES = {
    "header": Style(color="bright_black", bold=True),
    "mention": Style(color="cyan", underline=True),
    "quote": Style(bgcolor="#7a5c00"),
    "chosen": Style(bgcolor="#1d5c3a"),
    "match": Style(bgcolor="#34507a"),
    "current": Style(color="black", bgcolor="yellow", bold=True),
}
"""``quote``: the proposal's evidence; ``chosen``: the annotator's; ``current``: the find
match or hint the annotator is on (the default evidence of the next answer)."""

_THEME = TextAreaTheme(name="goldsmith", syntax_styles=MARK_STYLES)


class PaperText(TextArea):
    """Read-only text of every page, each under a ``── page N ──`` rule.

    A TextArea draws only the lines on screen, so an 80-page paper costs no more to show
    than a short one; paper text is plain data here (never parsed as markup).
    """

    @dataclass
    class PageInView(Message):
        """The page at the top of the view changed."""

        page: int
        pages: int

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
        """Document offset of each page's first character."""
        self._header_starts: list[int] = []
        self._line_starts: list[int] = [0]
        self._marks: dict[str, list[tuple[int, int]]] = {}
        self._page_in_view = 0
        self._focus: int | None = None
        self._pending: tuple[int, bool] | None = None
        """A scroll asked for before the text had a width."""
        """Document offset the annotator was last taken to (a match, a hint, a page)."""
        self.paper_id: str | None = None
        self.register_theme(_THEME)
        self.theme = _THEME.name

    # --- the document ----------------------------------------------------------------------

    @property
    def page_count(self) -> int:
        return len(self._page_starts)

    def show_pages(self, paper_id: str, pages: Sequence[str]) -> None:
        """Load a paper (unless it is already shown), at its first page, with no marks."""
        if paper_id == self.paper_id:
            return
        self.paper_id = paper_id
        parts: list[str] = []
        offset = 0
        self._page_starts, self._header_starts = [], []
        headers = []
        for number, page in enumerate(pages, start=1):
            header = f"── page {number} of {len(pages)} ──\n"
            self._header_starts.append(offset)
            headers.append((offset, offset + len(header) - 1))
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
        self._marks = {"header": headers}
        self._focus = self._pending = None
        self.load_text(text)
        self.scroll_home(animate=False)
        self._page_in_view = 0
        self._report_page()

    def _offset(self, page: int, char: int) -> int:
        return self._page_starts[page - 1] + char

    def _location(self, offset: int) -> tuple[int, int]:
        row = bisect_right(self._line_starts, offset) - 1
        return row, offset - self._line_starts[row]

    def _valid(self, span: Span) -> bool:
        page, start, end = span
        return 1 <= page <= len(self._page_starts) and 0 <= start <= end

    # --- marks ------------------------------------------------------------------------------

    def set_marks(self, kind: str, spans: Iterable[Span]) -> None:
        """Mark ``spans`` as ``kind`` (one of :data:`MARK_STYLES`), replacing that kind's marks."""
        self.set_all_marks({kind: spans})

    def set_all_marks(self, marks: dict[str, Iterable[Span]]) -> None:
        """Replace the marks of each kind given (the highlights are rebuilt once)."""
        changed = False
        for kind, spans in marks.items():
            offsets = [
                (self._offset(page, start), self._offset(page, end))
                for page, start, end in spans
                if self._valid((page, start, end))
            ]
            if offsets != self._marks.get(kind, []):
                self._marks[kind] = offsets
                changed = True
        if changed:
            self._build_highlight_map()
            self.refresh()

    def marks(self, kind: str) -> list[tuple[int, int]]:
        """Document offsets of the marks of ``kind`` (for tests)."""
        return list(self._marks.get(kind, ()))

    def _build_highlight_map(self) -> None:
        """Textual's hook for syntax highlighting, fed with our marks instead."""
        self._line_cache.clear()
        highlights = self._highlights
        highlights.clear()
        # Called by TextArea's own __init__, before ours has set the marks up.
        if not getattr(self, "_line_starts", None) or not hasattr(self, "document"):
            return
        for kind in MARK_STYLES:
            for start, end in self._marks.get(kind, ()):
                first, first_column = self._location(start)
                last, last_column = self._location(max(start, end))
                for row in range(first, min(last, self.document.line_count - 1) + 1):
                    line = self.document.get_line(row)
                    begin = first_column if row == first else 0
                    stop = last_column if row == last else len(line)
                    if stop <= begin:
                        continue
                    highlights[row].append(
                        (len(line[:begin].encode()), len(line[:stop].encode()), kind)
                    )

    # --- scrolling ---------------------------------------------------------------------------

    def scroll_to_span(self, span: Span) -> None:
        """Bring a passage into view, a third of the way down the pane."""
        if not self._valid(span):
            return
        page, start, _ = span
        self._scroll_to_offset(self._offset(page, start), third=True)
        self._report_page()

    def go_to_page(self, page: int) -> None:
        """Show ``page`` from its top."""
        if 1 <= page <= len(self._header_starts):
            self._scroll_to_offset(self._header_starts[page - 1], third=False)

    def _scroll_to_offset(self, offset: int, *, third: bool) -> None:
        if not self.size.width or not self.wrapped_document.height:
            # Not laid out (or hidden: a narrow terminal showing the fields): wrapping, and
            # so every y, depends on the width. Scroll once the text has one.
            self._pending = (offset, third)
            self._focus = offset
            return
        self._pending = None
        self._focus = offset
        y = self.wrapped_document.location_to_offset(self._location(offset)).y
        if third:
            y -= max(1, self.size.height // 3)
        self.scroll_to(y=max(0, y), animate=False)
        self._report_page()

    def _on_resize(self) -> None:
        # A new width re-wraps the text, and the same scroll offset then shows other lines
        # (showing the queue at 80 columns moved the view a page back under a title that
        # still named the old one): keep the line at the top of the view at the top.
        top = self._top_location()
        super()._on_resize()
        if top is not None and self._pending is None:
            y = self.wrapped_document.location_to_offset(top).y
            self.scroll_to(y=y, animate=False)
            self._report_page()

    def _top_location(self) -> tuple[int, int] | None:
        """The document location shown at the top of the view, as wrapped now."""
        if not self.wrapped_document.height or not self.scroll_y:
            return None
        return self.wrapped_document.offset_to_location(Offset(0, round(self.scroll_y)))

    def on_resize(self) -> None:
        if self._pending is not None and self.size.width:
            self.call_after_refresh(self._scroll_pending, self.paper_id)

    def on_show(self) -> None:
        # Shown again with the size it had (a narrow terminal switching back to the text):
        # no Resize comes, so a scroll asked for while hidden is done here.
        if self._pending is not None:
            self.call_after_refresh(self._scroll_pending, self.paper_id)

    def _scroll_pending(self, paper_id: str | None) -> None:
        """Do the scroll asked for before the text had a width (unless the paper changed)."""
        if self._pending is not None and paper_id == self.paper_id:
            offset, third = self._pending
            self._scroll_to_offset(offset, third=third)

    def page_in_view(self) -> int | None:
        """The page being read: that of the passage the annotator was last taken to while it
        is on screen (a short paper shows several pages at once), else the page at the top."""
        if not self._header_starts:
            return None
        if not self.size.width:
            return self._page_in_view or 1
        top = round(self.scroll_y)
        if self._focus is not None:
            y = self.wrapped_document.location_to_offset(self._location(self._focus)).y
            if top <= y < top + self.size.height:
                return max(1, bisect_right(self._header_starts, self._focus))
        row, _ = self.wrapped_document.offset_to_location(Offset(0, top))
        offset = self._line_starts[min(row, len(self._line_starts) - 1)]
        return max(1, bisect_right(self._header_starts, offset))

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        self._report_page()

    def _report_page(self) -> None:
        page = self.page_in_view()
        if page is not None and page != self._page_in_view:
            self._page_in_view = page
            self.post_message(self.PageInView(page, len(self._header_starts)))

    def first_after_view(self, spans: Sequence[Span]) -> int:
        """Index of the first of ``spans`` (in reading order) at or below the top of the view,
        wrapping to the first."""
        if not spans or not self._header_starts or not self.size.width:
            return 0
        row, _ = self.wrapped_document.offset_to_location(Offset(0, round(self.scroll_y)))
        top = self._line_starts[min(row, len(self._line_starts) - 1)]
        for index, (page, start, _) in enumerate(spans):
            if self._valid((page, start, start)) and self._offset(page, start) >= top:
                return index
        return 0

    def selected_span(self) -> Span | None:
        """What the annotator selected in the text (mouse or shift+arrows), within one page."""
        selection = self.selection
        if selection.start == selection.end:
            return None
        (top_row, top_col), (bottom_row, bottom_col) = sorted(selection)
        start = self._line_starts[top_row] + top_col
        end = self._line_starts[bottom_row] + bottom_col
        page = bisect_right(self._page_starts, start)
        if page < 1 or bisect_right(self._page_starts, end - 1) != page:
            return None
        base = self._page_starts[page - 1]
        return page, start - base, end - base

    def clear_selection(self) -> None:
        """Drop the mouse selection, leaving the text where it is (setting a TextArea's
        selection scrolls its hidden cursor into view: after every decision the text
        jumped back to where that cursor sat, page 1)."""
        if self.selection.is_empty:
            return
        y = self.scroll_y
        self.selection = Selection.cursor(self.selection.end)
        self.scroll_to(y=y, animate=False)


class FindBar(Input):
    """Words to find in this paper; ``enter``/``↓`` next match, ``↑`` previous, ``escape``
    back to the fields (the matches stay marked)."""

    BINDINGS = [
        Binding("escape,tab", "close", "Back to the fields", id="goldsmith.find.close"),
        Binding("down", "step(1)", "Next match", show=False, id="goldsmith.find.next"),
        Binding("up", "step(-1)", "Previous match", show=False, id="goldsmith.find.previous"),
    ]

    @dataclass
    class Step(Message):
        """Go to the next (1) or previous (-1) match."""

        delta: int

    class Closed(Message):
        """The annotator left the find bar."""

    def action_step(self, delta: int) -> None:
        self.post_message(self.Step(delta))

    def action_close(self) -> None:
        self.post_message(self.Closed())


class PaperPane(Vertical):
    """The paper's text with its find bar, titled with the page in view."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.page = 0
        self.pages = 0
        self.status = ""
        """What is being found or hinted, shown after the page in the title."""

    def compose(self) -> ComposeResult:
        yield Static("", id="field-bar")
        yield PaperText(id="text")
        yield FindBar(placeholder="find in this paper", id="find")

    def on_mount(self) -> None:
        self.query_one("#find").display = False
        self._title()

    @on(PaperText.PageInView)
    def _page_moved(self, event: PaperText.PageInView) -> None:
        self.page, self.pages = event.page, event.pages
        self._title()

    def show_status(self, status: str) -> None:
        if status != self.status:
            self.status = status
            self._title()

    def _title(self) -> None:
        title = Text("paper")
        if self.pages:
            title.append(f" · page {self.page} of {self.pages}", style="bold")
        if self.status:
            title.append(" · " + printable(self.status))
        # A Text, so what the annotator typed is never read as markup.
        self.border_title = title
