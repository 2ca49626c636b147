"""The field table: each field's proposed value, evidence grounding, mentions and decision.

Column widths follow the table's width, so nothing is ever cut mid-word: a value too long
for its cell ends with "…", and the selected field's full value is in the evidence panel.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.widget import Widget
from textual.widgets import DataTable

from extraction.evidence.mentions import Mention
from extraction.evidence.normalize import format_value
from extraction.fields import Status
from tui.console import printable
from tui.session import FieldRow, PaperView, status_text

GROUNDING = {
    "exact": ("✓ exact", "✓ exact", "✓", "green"),
    "normalized": ("≈ normalized", "≈ norm.", "≈", "green"),
    "fuzzy": ("~ fuzzy", "~ fuzzy", "~", "yellow"),
    "ungrounded": ("✗ ungrounded", "✗ ungr.", "✗", "bold red"),
}
VERDICT = {
    "accepted": ("✓", "green"),
    "corrected": ("✎", "cyan"),
    "not_reported": ("∅", "dim"),
    "ambiguous": ("?", "magenta"),
}
FIELD_WIDTH = 22
"""The longest field name (21) and a comment mark (or a space)."""
LEAST_WIDTHS = {"field": 12, "proposed": 6, "decision": 6, "annotators": 6, "other": 6}
"""How far columns shrink, in this order, when the pane is narrower than they need (the queue
beside the fields on an 80-column terminal): names and values then end in "…"."""
EVIDENCE_WIDTHS = ((110, 14), (64, 9), (0, 2))
"""(from table width, evidence column width): grounding in words, shortened, or a mark."""
MENTIONS_WIDTHS = ((84, 12), (60, 8), (0, 4))
"""(from table width, mentions column width): "4 mentions", or "4"."""


def clip(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, with "…" when it was longer."""
    text = printable(text)
    if len(text) <= limit:
        return text
    return text[: limit - 1] + "…" if limit >= 1 else ""


def evidence_cell(row: FieldRow, width: int = 14) -> Text:
    """How the proposal's quote grounded, in as many characters as ``width`` allows."""
    if row.hidden:
        return Text(clip("hidden", width), style="dim italic")
    p = row.proposal
    if p is None:
        return Text(clip("no proposal", width) if width >= 11 else "—", style="dim")
    if p.status == Status.NOT_REPORTED:
        return Text("—", style="dim")
    long, short, mark, style = GROUNDING.get(p.grounding or "ungrounded", ("?", "?", "?", ""))
    label = long if width >= 14 else short if width >= 9 else mark
    text = Text(label, style=style)
    if p.value_in_quote is False:
        text.append(" value?" if width >= 14 else "?", style="yellow")
    return text


def mentions_cell(row: FieldRow, mentions: Sequence[Mention] | None, wide: bool = True) -> Text:
    """``4 mentions``: yellow when the proposal says not reported (the paper may say it)."""
    if mentions is None:
        return Text("…", style="dim")
    if not mentions:
        return Text("none" if wide else "0", style="dim")
    count = len(mentions)
    text = f"{count} mention{'s' if count != 1 else ''}" if wide else str(count)
    p = row.proposal
    warn = (p is None or p.status == Status.NOT_REPORTED) and not row.hidden
    return Text(text, style="bold yellow" if warn else "cyan")


def decision_cell(row: FieldRow, limit: int) -> Text:
    d = row.decision
    if d is None:
        return Text("")
    mark, style = VERDICT[d.verdict]
    if d.status == Status.REPORTED and d.no_quote:
        # Always visible, however narrow the column: the value is what gets cut.
        flag = " (no quote)" if limit >= 14 else " (nq)"
        text = Text(f"{mark} {clip(row.decision_text, max(1, limit - 2 - len(flag)))}", style=style)
        text.append(flag, style="yellow")
        return text
    return Text(f"{mark} {clip(row.decision_text, max(1, limit - 2))}", style=style)


def others_text(row: FieldRow) -> str:
    """The annotators' answers, numbered as the adopt keys take them."""
    parts = []
    for number, d in enumerate(row.others, start=1):
        shown = format_value(row.spec, d.value) if d.status == Status.REPORTED else ""
        parts.append(f"{number} {d.annotator}: {shown or status_text(d.status)}")
    return " · ".join(parts)


class FieldTable(DataTable):
    """One row per field of the paper under review (keys and cursor are the screen's)."""

    # Twelve rows always fit, so the page keys scroll the paper's text instead of jumping
    # the cursor to the last field (which made the next key act on the wrong field).
    BINDINGS = [
        Binding("pagedown", "screen.scroll_text(1)", "Text down", show=False),
        Binding("pageup", "screen.scroll_text(-1)", "Text up", show=False),
    ]

    def __init__(self, *, id: str | None = None, adjudicating: bool = False) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=True)
        self.comparing = False
        self.adjudicating = adjudicating
        self._shown: tuple[PaperView, Mapping[str, Sequence[Mention]] | None] | None = None
        self._column_widths: dict[str, int] = {}

    def _widths(self) -> dict[str, int]:
        """Column widths that fit the table's width (cell padding is 1 each side)."""
        # The pane's width, not the table's own: the table's width follows its columns.
        pane = self.parent.size.width if isinstance(self.parent, Widget) else 0
        width = max(pane or self.size.width, 40) - 1
        columns = {"field": FIELD_WIDTH}
        if not self.adjudicating:
            columns["evidence"] = next(w for least, w in EVIDENCE_WIDTHS if width >= least)
        columns["mentions"] = next(w for least, w in MENTIONS_WIDTHS if width >= least)
        rest = width - sum(columns.values()) - 2 * (len(columns) + 2 + self.comparing)
        if self.adjudicating:
            share = (0.25, 0.2, 0.55)
        elif self.comparing:
            share = (0.4, 0.3, 0.3)
        else:
            share = (0.62, 0.38, 0.0)
        proposed, decided = self._needs()
        if not self.adjudicating and not self.comparing and proposed + decided <= rest:
            # Room for both: each gets what it needs, the rest goes to the proposals.
            columns["proposed"], columns["decision"] = rest - decided, decided
        elif not self.adjudicating and not self.comparing:
            total = proposed + decided
            columns["decision"] = max(8, int(rest * decided / total))
            columns["proposed"] = max(8, rest - columns["decision"])
        else:
            columns["proposed"] = max(6, int(rest * share[0]))
            columns["decision"] = max(6, int(rest * share[1]))
        if self.adjudicating:
            columns["annotators"] = max(8, rest - columns["proposed"] - columns["decision"])
        if self.comparing:
            columns["other"] = max(6, rest - columns["proposed"] - columns["decision"])
        overflow = sum(columns.values()) + 2 * len(columns) - width
        for key, least in LEAST_WIDTHS.items():
            if overflow <= 0:
                break
            if key in columns:
                cut = max(0, min(overflow, columns[key] - least))
                columns[key] -= cut
                overflow -= cut
        return columns

    def _needs(self) -> tuple[int, int]:
        """Widths the proposed values and the decisions of the paper shown would take."""
        if self._shown is None:
            return 20, 10
        view = self._shown[0]
        proposed = max((len(r.proposal_text) for r in view.fields if not r.hidden), default=8)
        decided = max(
            (
                len(r.decision_text) + 2 + (11 if r.decision.no_quote else 0)
                for r in view.fields
                if r.decision is not None
            ),
            default=8,
        )
        return min(max(proposed, 8), 40), min(max(decided, 8), 40)

    def _columns(self, widths: dict[str, int]) -> None:
        self.clear(columns=True)
        titles = {
            "field": "field",
            "proposed": clip("proposed", widths.get("proposed", 8)),
            "evidence": "evidence" if widths.get("evidence", 0) > 2 else "ev",
            "mentions": "mentions" if widths["mentions"] >= 8 else "men",
            "decision": clip("decision", widths.get("decision", 8)),
            "annotators": "annotators (1, 2, …)",
            "other": "other run",
        }
        for key in ("field", "proposed", "evidence", "mentions", "decision", "annotators", "other"):
            if key in widths:
                self.add_column(titles[key], key=key, width=widths[key])

    def refit(self) -> None:
        """Fit the columns to the pane again (after the terminal or the layout changed)."""
        if self._shown is not None and self._widths() != self._column_widths:
            view, mentions = self._shown
            self.show(view, self.comparing, mentions)

    def on_resize(self, event: events.Resize) -> None:
        self.refit()

    def show(
        self,
        view: PaperView,
        comparing: bool,
        mentions: Mapping[str, Sequence[Mention]] | None = None,
    ) -> None:
        """Fill the table from ``view``, keeping the cursor where it was."""
        cursor = self.cursor_row
        self._shown = (view, mentions)
        self.comparing = comparing
        widths = self._widths()
        wide = widths["mentions"] >= 12
        if widths != self._column_widths:
            self._column_widths = widths
            self._columns(widths)
        else:
            self.clear()
        for row in view.fields:
            room = widths["field"] - (2 if row.comments and widths["field"] < FIELD_WIDTH else 0)
            name = Text(clip(row.spec.name, room))
            if row.comments:
                name.append(" ✉", style="magenta")
            if row.hidden:
                proposed = Text(clip("hidden until you answer", widths["proposed"]), style="dim")
            else:
                proposed = Text(clip(row.proposal_text, widths["proposed"]))
                if row.proposal is not None and row.proposal.grounding == "ungrounded":
                    proposed.stylize("red")
            if row.disputed and row.decision is None:
                name.stylize("bold magenta")
            cells = [name, proposed]
            if not self.adjudicating:
                cells.append(evidence_cell(row, widths["evidence"]))
            found = None if mentions is None else mentions.get(row.spec.name, ())
            cells.append(mentions_cell(row, found, wide))
            cells.append(decision_cell(row, widths["decision"]))
            if self.adjudicating:
                cells.append(
                    Text(
                        clip(others_text(row), widths["annotators"]),
                        style="magenta" if row.disputed else "dim",
                    )
                )
            if self.comparing:
                other = row.comparison
                shown = (
                    format_value(row.spec, other.value)
                    if other and other.value is not None
                    else (status_text(other.status) if other else "—")
                )
                cells.append(Text(clip(shown, widths["other"]), style="dim"))
            self.add_row(*cells, key=row.spec.name)
        if view.fields:
            self.move_cursor(row=min(max(cursor, 0), len(view.fields) - 1), animate=False)
