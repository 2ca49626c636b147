"""The field table: each field's proposed value, evidence grounding and the decision."""

from __future__ import annotations

from rich.text import Text
from textual.binding import Binding
from textual.widgets import DataTable

from extraction.evidence.normalize import format_value
from extraction.fields import Status
from tui.console import printable
from tui.session import FieldRow, PaperView

GROUNDING = {
    "exact": ("✓ exact", "green"),
    "normalized": ("≈ normalized", "green"),
    "fuzzy": ("~ fuzzy", "yellow"),
    "ungrounded": ("✗ ungrounded", "bold red"),
}
VERDICT = {
    "accepted": ("✓", "green"),
    "corrected": ("✎", "cyan"),
    "not_reported": ("∅", "dim"),
    "ambiguous": ("?", "magenta"),
}
MAX_CELL = 26


def clip(text: str, limit: int = MAX_CELL) -> str:
    text = printable(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def evidence_cell(row: FieldRow) -> Text:
    if row.hidden:
        return Text("hidden", style="dim italic")
    p = row.proposal
    if p is None:
        return Text("no proposal", style="dim")
    if p.status == Status.NOT_REPORTED:
        return Text("—", style="dim")
    label, style = GROUNDING.get(p.grounding or "ungrounded", ("?", ""))
    text = Text(label, style=style)
    if p.value_in_quote is False:
        text.append(" value?", style="yellow")
    return text


def decision_cell(row: FieldRow) -> Text:
    d = row.decision
    if d is None:
        return Text("")
    mark, style = VERDICT[d.verdict]
    return Text(f"{mark} {clip(row.decision_text, 20)}", style=style)


def others_text(row: FieldRow) -> str:
    """The annotators' answers, numbered as the adopt keys take them."""
    parts = []
    for number, d in enumerate(row.others, start=1):
        if d.status == Status.REPORTED:
            shown = format_value(row.spec, d.value)
        else:
            shown = (d.status or "").replace("_", " ")
        parts.append(f"{number} {d.annotator}: {shown}")
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

    def on_mount(self) -> None:
        self._columns()

    def _columns(self) -> None:
        self.clear(columns=True)
        self.add_column("field", key="field")
        self.add_column("proposed", key="proposed")
        if not self.adjudicating:
            # Adjudicating, the annotators' answers need the room; grounding stays in the panel.
            self.add_column("evidence", key="evidence")
        self.add_column("decision", key="decision")
        if self.adjudicating:
            self.add_column("annotators (1, 2, …)", key="annotators")
        if self.comparing:
            self.add_column("other run", key="other")

    def show(self, view: PaperView, comparing: bool) -> None:
        """Fill the table from ``view``, keeping the cursor where it was."""
        cursor = self.cursor_row
        if comparing != self.comparing:
            self.comparing = comparing
            self._columns()
        else:
            self.clear()
        for row in view.fields:
            name = Text(row.spec.name)
            if row.comments:
                name.append(" ✉", style="magenta")
            if row.hidden:
                proposed = Text("hidden until you answer", style="dim italic")
            else:
                proposed = Text(clip(row.proposal_text, 16 if self.adjudicating else MAX_CELL))
                if row.proposal is not None and row.proposal.grounding == "ungrounded":
                    proposed.stylize("red")
            if row.disputed and row.decision is None:
                name.stylize("bold magenta")
            cells = [name, proposed]
            if not self.adjudicating:
                cells.append(evidence_cell(row))
            cells.append(decision_cell(row))
            if self.adjudicating:
                cells.append(
                    Text(clip(others_text(row), 44), style="magenta" if row.disputed else "dim")
                )
            if self.comparing:
                other = row.comparison
                cells.append(
                    Text(
                        clip(
                            format_value(row.spec, other.value)
                            if other and other.value is not None
                            else (other.status.replace("_", " ") if other else "—")
                        ),
                        style="dim",
                    )
                )
            self.add_row(*cells, key=row.spec.name)
        if view.fields:
            self.move_cursor(row=min(max(cursor, 0), len(view.fields) - 1), animate=False)
