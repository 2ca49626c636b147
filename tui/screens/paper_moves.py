"""Moving inside the paper under review: find (``ctrl+f``), pages (``g``), the candidate
mentions of the selected field (``}``/``{``), and, on narrow terminals, switching between
the fields and the text (``t``).

Where the annotator is in the paper — the find match or mention they are on — is also where
the evidence of their next answer starts (:meth:`PaperMoves.default_evidence`).
"""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.reactive import Reactive, reactive
from textual.screen import Screen
from textual.widgets import Input, Static

from extraction.evidence.mentions import Mention
from extraction.evidence.quotes import Evidence, passage, sentence_around
from tui.screens.prompt import PagePrompt
from tui.session import FieldRow, PaperView, ReviewSession
from tui.widgets.fields import FieldTable, clip
from tui.widgets.paper_text import FindBar, PaperPane, PaperText

SIDE_BY_SIDE_WIDTH = 120
"""Below this width the fields and the paper's text take turns (``t`` switches)."""


class PaperMoves(Screen[None]):
    """A screen showing one paper's fields beside its text, and the annotator's place in it.

    The review screen builds on it; the widgets it expects are a :class:`FieldTable` and a
    :class:`PaperPane`.
    """

    view: Reactive[PaperView | None] = reactive(None, init=False, always_update=True)
    """The paper under review."""

    def __init__(self, session: ReviewSession) -> None:
        super().__init__()
        self.session = session
        self.mentions: dict[str, tuple[Mention, ...]] | None = None
        """Candidate mentions of each field in the paper shown (None: still being found)."""
        self.find_words = ""
        self.matches: list[Mention] = []
        self.match_index = -1
        self.target: Mention | None = None
        """The find match or hint the annotator is on: the default evidence of an answer."""
        self.pinned = False
        """The annotator moved the text themselves (find, hint, page): moving between fields
        leaves it where it is until the next decision (for a hint) or ``escape``."""
        self._visited: dict[str, list[Mention]] = {}

    @property
    def current_index(self) -> int:
        return self.query_one(FieldTable).cursor_row

    @property
    def current(self) -> FieldRow | None:
        if self.view is None or not self.view.fields:
            return None
        return self.view.fields[min(self.current_index, len(self.view.fields) - 1)]

    def _show_field(self, index: int) -> None:
        """Show the field at ``index`` (the review screen's)."""
        raise NotImplementedError

    def say(self, message: str, **kwargs: object) -> None:
        raise NotImplementedError

    @property
    def narrow(self) -> bool:
        """Fields and text take turns: the terminal is too narrow for both side by side."""
        return self.size.width < SIDE_BY_SIDE_WIDTH if self.size.width else False

    @property
    def text_view(self) -> bool:
        """On a narrow terminal, the paper's text is the pane shown."""
        return self.has_class("-text-view")

    def _show_text_pane(self, shown: bool = True) -> None:
        self.set_class(shown, "-text-view")
        self._update_field_bar()
        self.call_after_refresh(self.query_one(FieldTable).refit)

    def _update_field_bar(self) -> None:
        """On a narrow terminal the text pane says which field the keys act on."""
        row = self.current
        bar = self.query_one("#field-bar", Static)
        if row is None or not (self.narrow and self.text_view):
            bar.display = False
            return
        bar.display = True
        line = Text(no_wrap=True, overflow="ellipsis")
        line.append(row.spec.name, style="bold")
        line.append("  proposed ")
        line.append(clip(row.proposal_text if not row.hidden else "hidden", 30))
        if row.decision is not None:
            line.append("  decided ", style="dim")
            line.append(clip(row.decision_text, 24), style="cyan")
        found = self.field_mentions(row)
        if found is not None:
            count = len(found)
            line.append(
                f"  {count} mention{'s' if count != 1 else ''}", style="yellow" if found else "dim"
            )
        line.append("  (t: fields)", style="dim")
        bar.update(line)

    def _update_text_status(self) -> None:
        parts = []
        if self.find_words:
            where = f"{self.match_index + 1}/{len(self.matches)}" if self.matches else "0/0"
            parts.append(f"find “{self.find_words}” {where}")
        row = self.current
        if row is not None and self.target is not None and self.target in self._field_list(row):
            hints = self._field_list(row)
            parts.append(f"{row.spec.name} mention {hints.index(self.target) + 1}/{len(hints)}")
        self.query_one(PaperPane).show_status(" · ".join(parts))

    def _field_list(self, row: FieldRow) -> tuple[Mention, ...]:
        return self.field_mentions(row) or ()

    def _jump(self, mention: Mention) -> None:
        """Put the annotator on ``mention``: marked, in view, the default evidence."""
        self.target, self.pinned = mention, True
        text = self.query_one(PaperText)
        text.set_marks("current", [(mention.page, mention.start, mention.end)])
        text.scroll_to_span((mention.page, mention.start, mention.end))
        if self.narrow:
            self._show_text_pane()
        self._update_text_status()

    def action_find(self) -> None:
        if self.view is None:
            return
        if self.narrow:
            self._show_text_pane()
        bar = self.query_one(FindBar)
        bar.display = True
        bar.focus()
        if bar.value:
            bar.select_all()

    def find_in_paper(self, words: str, page: int | None = None) -> None:
        """Mark every place of ``words`` and go to the first one at or after the current
        match (or the top of the view, or ``page``)."""
        view = self.view
        if view is None:
            return
        self.find_words = words.strip()
        self.matches = view.index.find(self.find_words) if self.find_words else []
        text = self.query_one(PaperText)
        text.set_marks("match", [(m.page, m.start, m.end) for m in self.matches])
        if not self.matches:
            self.match_index = -1
            self._update_text_status()
            return
        if page is not None:
            on_page = [i for i, m in enumerate(self.matches) if m.page >= page]
            self.match_index = on_page[0] if on_page else 0
        elif self.target is not None and self.target in self.matches:
            self.match_index = self.matches.index(self.target)
        elif self.target is not None:
            after = [
                i
                for i, m in enumerate(self.matches)
                if (m.page, m.start) >= (self.target.page, self.target.start)
            ]
            self.match_index = after[0] if after else 0
        else:
            spans = [(m.page, m.start, m.end) for m in self.matches]
            self.match_index = text.first_after_view(spans)
        self._jump(self.matches[self.match_index])

    @on(Input.Changed, "#find")
    def _find_changed(self, event: Input.Changed) -> None:
        self.find_in_paper(event.value)

    @on(Input.Submitted, "#find")
    def _find_next(self, event: Input.Submitted) -> None:
        event.stop()
        self._step_match(1)

    @on(FindBar.Step)
    def _find_step(self, event: FindBar.Step) -> None:
        self._step_match(event.delta)

    @on(FindBar.Closed)
    def _find_closed(self) -> None:
        self.query_one(FindBar).display = False
        self.query_one(FieldTable).focus()

    # --- moving between fields and papers ------------------------------------------------

    def _step_match(self, delta: int) -> None:
        if not self.matches:
            return
        self.match_index = (self.match_index + delta) % len(self.matches)
        self._jump(self.matches[self.match_index])

    def action_clear_find(self) -> None:
        """Drop the find and hint marks; the text follows the selected field again."""
        self.find_words, self.matches, self.match_index = "", [], -1
        self.target, self.pinned = None, False
        text = self.query_one(PaperText)
        text.set_marks("match", ())
        text.set_marks("current", ())
        text.clear_selection()
        if self.narrow and self.text_view:
            self._show_text_pane(False)
        self._show_field(self.current_index)

    def action_go_to_page(self) -> None:
        text = self.query_one(PaperText)
        if not text.page_count:
            return

        def done(page: int | None) -> None:
            if page is None:
                return
            self.pinned = True
            if self.narrow:
                self._show_text_pane()
            text.go_to_page(page)

        self.app.push_screen(PagePrompt(text.page_count, text.page_in_view()), done)

    def action_next_mention(self) -> None:
        self._step_mention(1)

    def action_previous_mention(self) -> None:
        self._step_mention(-1)

    def _step_mention(self, delta: int) -> None:
        row = self.current
        if row is None:
            return
        found = self._mentions_now().get(row.spec.name, ())
        if not found:
            self.say(f"No candidate mention of {row.spec.name} in this paper.", timeout=3)
            return
        if self.target in found:
            index = (found.index(self.target) + delta) % len(found)
        elif delta > 0:
            spans = [(m.page, m.start, m.end) for m in found]
            index = self.query_one(PaperText).first_after_view(spans)
        else:
            index = len(found) - 1
        mention = found[index]
        visited = self._visited.setdefault(row.spec.name, [])
        if mention not in visited:
            visited.append(mention)
        self._jump(mention)

    def action_switch_pane(self) -> None:
        if not self.narrow:
            return
        self._show_text_pane(not self.text_view)

    def action_scroll_text(self, direction: int) -> None:
        text = self.query_one(PaperText)
        self.pinned = True
        if self.narrow and not self.text_view:
            self._show_text_pane()
        if direction > 0:
            text.scroll_page_down()
        else:
            text.scroll_page_up()

    def default_evidence(self, row: FieldRow) -> Evidence | None:
        """Where an answer's evidence starts: what the annotator selected in the text, else
        the sentence around the find match or hint they are on, else the evidence of their
        earlier answer, else the proposal's (when found exactly or normalised, not blind)."""
        view = self.view
        if view is None:
            return None
        selected = self.query_one(PaperText).selected_span()
        if selected is not None:
            page, start, end = selected
            return passage(view.pages, page, start, end)
        if self.target is not None:
            text = view.pages[self.target.page - 1]
            start, end = sentence_around(text, self.target.start, self.target.end)
            return passage(view.pages, self.target.page, start, end)
        d = row.decision
        if d is not None and d.has_evidence and d.char_start is not None and d.page:
            assert d.char_end is not None
            found = passage(view.pages, d.page, d.char_start, d.char_end)
            return Evidence(found.page, found.quote, found.start, found.end, d.grounding or "")
        p = row.proposal
        span = row.evidence_span
        if span is not None and p is not None and p.grounding in ("exact", "normalized"):
            return passage(view.pages, *span)
        return None

    def _target_evidence(self) -> Evidence | None:
        view = self.view
        if view is None or self.target is None:
            return None
        text = view.pages[self.target.page - 1]
        start, end = sentence_around(text, self.target.start, self.target.end)
        return passage(view.pages, self.target.page, start, end)

    def field_mentions(self, row: FieldRow | None) -> tuple[Mention, ...] | None:
        if row is None or self.mentions is None:
            return None
        return self.mentions.get(row.spec.name, ())

    def _mentions_now(self) -> dict[str, tuple[Mention, ...]]:
        """The mentions, found here and now if the background search has not finished."""
        if self.mentions is None and self.view is not None:
            self.mentions = self.session.mentions(self.view)
        return self.mentions or {}
