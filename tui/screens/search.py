"""Search titles and full text (``/``), and open the paper at a hit.

Each hit is one page of one paper, with a snippet of the page around the words found; the
chosen hit opens its paper scrolled to the words, highlighted (they become this paper's
find, so ``ctrl+f`` then ``enter`` moves to the next place).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from extraction.evidence.quotes import one_line
from extraction.evidence.textnorm import normalize, normalize_with_map
from storage import papers as paper_store
from tui.console import printable
from tui.session import ReviewSession

PAGES_PER_PAPER = 4
"""Pages listed for one paper (the rest are counted)."""
SNIPPET = 70
"""Characters of page text shown on each side of the words found."""


@dataclass(frozen=True, slots=True)
class SearchHit:
    """The hit the annotator chose: a paper, a page of it and the words to show there."""

    paper_id: str
    page: int | None
    words: str


def snippet(text: str, words: list[str]) -> tuple[str, int, int] | None:
    """A one-line piece of ``text`` around the first place its normalised form holds the
    words (the phrase if it is there, else the first word), with where the words are in it."""
    norm, offsets = normalize_with_map(text)
    phrase = " ".join(words)
    index = norm.find(phrase)
    length = len(phrase)
    if index < 0 and words:
        match = re.search(rf"\b{re.escape(words[0])}", norm)
        index, length = (match.start(), len(words[0])) if match else (-1, 0)
    if index < 0:
        return None
    start, end = offsets[index], offsets[index + length - 1] + 1
    left = max(0, start - SNIPPET)
    right = min(len(text), end + SNIPPET)
    before = one_line(text[left:start])
    found = one_line(text[start:end])
    after = one_line(text[end:right])
    shown = (
        ("…" if left else "")
        + before
        + " "
        + found
        + " "
        + after
        + ("…" if right < len(text) else "")
    )
    at = len(("…" if left else "") + before) + 1
    return shown, at, at + len(found)


class SearchScreen(ModalScreen[SearchHit | None]):
    """Type words; ``enter`` lists the papers and pages holding all of them; ``enter`` again
    (or ``↓`` to a hit, then ``enter``) opens the highlighted one."""

    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="goldsmith.search.cancel", tooltip="Close search"),
        Binding("down", "results", "Results", show=False, id="goldsmith.search.results"),
    ]

    def __init__(self, session: ReviewSession) -> None:
        super().__init__()
        self.session = session
        self.hits: list[SearchHit] = []
        self._searched: str | None = None

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="search"):
            yield Static(Text("Search titles and full text", style="bold"))
            yield Input(placeholder="words to find (all must appear)", id="search-input")
            yield OptionList(id="search-results")
            yield Static(
                Text("enter searches · enter again opens the first hit · ↓ to choose", style="dim"),
                id="search-hint",
            )

    def on_resize(self, event: events.Resize) -> None:
        # Border, title, the search box and the hint (two lines at 80 columns) take 8 lines;
        # the hits get the rest (at 80×24 a 20-line list pushed the count off the screen).
        results = self.query_one("#search-results", OptionList)
        results.styles.max_height = max(3, min(20, event.size.height - 8))

    @on(Input.Submitted, "#search-input")
    def _submitted(self, event: Input.Submitted) -> None:
        options = self.query_one("#search-results", OptionList)
        if event.value == self._searched and self.hits:
            self._open(options.highlighted or 0)
            return
        self.run_search(event.value)

    def run_search(self, typed: str) -> None:
        self._searched = typed
        query = normalize(typed)
        words = re.findall(r"[^\W_]+", query)
        results = paper_store.search(self.session.db, query, limit=50)
        options = self.query_one("#search-results", OptionList)
        options.clear_options()
        self.hits = []
        for hit in results:
            title = printable(hit.paper.display_title)[:70]
            if hit.in_title or not hit.pages:
                label = Text(title, style="bold")
                label.append("  title", style="dim")
                self._add(options, label, SearchHit(hit.paper.id, None, typed))
            for page in hit.pages[:PAGES_PER_PAPER]:
                text = paper_store.page_text(self.session.db, hit.paper.id, page) or ""
                found = snippet(text, words)
                label = Text(title, style="bold")
                label.append(f"  page {page}\n", style="cyan")
                if found is not None:
                    shown, start, end = found
                    piece = Text(printable(shown), style="dim")
                    piece.stylize("bold yellow not dim", start, end)
                    label.append_text(piece)
                self._add(options, label, SearchHit(hit.paper.id, page, typed))
            if len(hit.pages) > PAGES_PER_PAPER:
                more = len(hit.pages) - PAGES_PER_PAPER
                label = Text(f"{title}  ", style="bold")
                label.append(f"+{more} more page{'s' if more > 1 else ''}", style="dim")
                self._add(
                    options, label, SearchHit(hit.paper.id, hit.pages[PAGES_PER_PAPER], typed)
                )
        papers = len(results)
        hint = (
            f"{papers} paper(s), {len(self.hits)} hit(s) · enter opens the highlighted one · "
            "↓ to choose · escape closes"
            if results
            else "nothing found · escape closes"
        )
        self.query_one("#search-hint", Static).update(Text(hint, style="dim"))
        if self.hits:
            options.highlighted = 0

    def _add(self, options: OptionList, label: Text, hit: SearchHit) -> None:
        options.add_option(Option(label, id=str(len(self.hits))))
        self.hits.append(hit)

    @on(OptionList.OptionSelected, "#search-results")
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        self._open(event.option_index)

    def _open(self, index: int) -> None:
        if 0 <= index < len(self.hits):
            self.dismiss(self.hits[index])

    def action_results(self) -> None:
        options = self.query_one("#search-results", OptionList)
        if self.hits and not options.has_focus:
            options.focus()
            # The first hit is already highlighted (enter opens it): ↓ goes to the next one,
            # as it does once the list has focus (the first ↓ only moved the focus).
            current = options.highlighted
            options.highlighted = 0 if current is None else min(current + 1, len(self.hits) - 1)

    def action_cancel(self) -> None:
        self.dismiss(None)
