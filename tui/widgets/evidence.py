"""The evidence panel: the selected field's quote, grounding, notes, decision and comments."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from extraction.evidence.normalize import format_value
from extraction.fields import Status
from tui.console import printable
from tui.session import FieldRow


class EvidencePanel(Static):
    """Details of one field (everything shown literally: paper text is data, not markup)."""

    def show(self, row: FieldRow | None, comparison_run: str | None) -> None:
        if row is None:
            self.update(Text(""))
            return
        text = Text()
        text.append(row.spec.name, style="bold")
        unit = f" ({row.spec.unit})" if row.spec.unit else ""
        text.append(f"{unit} — {row.spec.description}\n", style="dim")
        p = row.proposal
        if row.hidden:
            text.append(
                "Blind review: the proposal is shown once you have answered (e, n or m).\n",
                style="yellow",
            )
        elif p is None:
            text.append("No proposal for this field in this run.\n", style="dim")
        elif p.status == Status.NOT_REPORTED:
            text.append("Proposed: not reported.\n")
        else:
            text.append("Proposed: ")
            text.append(
                printable(format_value(row.spec, p.value) if p.value is not None else p.status)
            )
            text.append(f"   page {p.page if p.page else '?'}, {p.grounding or 'no evidence'}")
            if p.value_in_quote is False:
                text.append("  (value not in the quote)", style="yellow")
            text.append("\n")
            if p.quote:
                text.append("“" + printable(p.quote) + "”\n", style="italic")
            if p.note:
                text.append(f"note: {printable(p.note)}\n", style="yellow")
        for number, other_decision in enumerate(row.others, start=1):
            d = other_decision
            shown = (
                format_value(row.spec, d.value) if d.status == Status.REPORTED else (d.status or "")
            )
            text.append(f"{number} {printable(d.annotator)}: ", style="bold magenta")
            text.append(printable(shown))
            if d.page:
                text.append(f"   page {d.page}", style="dim")
            text.append("\n")
            if d.quote:
                text.append("   “" + printable(d.quote) + "”\n", style="italic")
            if d.comment:
                text.append(f"   comment: {printable(d.comment)}\n", style="magenta")
        if comparison_run is not None:
            other = row.comparison
            shown = (
                "—"
                if other is None
                else (
                    format_value(row.spec, other.value) if other.value is not None else other.status
                )
            )
            text.append(f"{printable(comparison_run)}: {printable(shown)}\n", style="cyan")
        mine = row.decision
        if mine is not None:
            d = mine
            text.append(f"Your decision: {d.verdict.replace('_', ' ')} ", style="bold")
            text.append(printable(row.decision_text) + "\n")
            if d.comment:
                text.append(f"comment: {printable(d.comment)}\n", style="magenta")
        for comment in row.comments:
            text.append(f"✉ {printable(comment)}\n", style="magenta")
        self.update(text)
