"""Search titles and full text (``/``), and jump to a paper."""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from extraction.evidence.textnorm import normalize
from storage import papers as paper_store
from tui.console import printable
from tui.session import ReviewSession


class SearchScreen(ModalScreen[str | None]):
    """Type words; titles and page text are searched; enter opens the chosen paper."""

    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="goldsmith.search.cancel", tooltip="Close search"),
        Binding("down", "results", "Results", show=False, id="goldsmith.search.results"),
    ]

    def __init__(self, session: ReviewSession) -> None:
        super().__init__()
        self.session = session

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="search"):
            yield Static(Text("Search titles and full text", style="bold"))
            yield Input(placeholder="words to find (all must appear)", id="search-input")
            yield OptionList(id="search-results")
            yield Static(
                Text("enter searches, then ↓ and enter opens · escape closes", style="dim"),
                id="search-hint",
            )

    @on(Input.Submitted, "#search-input")
    def run_search(self, event: Input.Submitted) -> None:
        results = paper_store.search(self.session.db, normalize(event.value), limit=50)
        options = self.query_one("#search-results", OptionList)
        options.clear_options()
        for hit in results:
            label = Text(printable(hit.paper.display_title)[:90])
            where = "  title" if hit.in_title else ""
            if hit.pages:
                where += f"  pages {', '.join(str(p) for p in hit.pages[:6])}"
            label.append(where, style="dim")
            options.add_option(Option(label, id=hit.paper.id))
        hint = f"{len(results)} paper(s)" if results else "nothing found"
        self.query_one("#search-hint", Static).update(
            Text(hint + " · ↓ to choose · escape closes", style="dim")
        )
        if results:
            options.focus()
            options.highlighted = 0

    @on(OptionList.OptionSelected, "#search-results")
    def choose(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_results(self) -> None:
        self.query_one("#search-results", OptionList).focus()

    def action_cancel(self) -> None:
        self.dismiss(None)
