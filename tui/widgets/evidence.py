"""The evidence panel: the selected field's full value, quote, grounding, candidate mentions,
decision (with its evidence) and comments — adjudicating, every annotator's answer with theirs.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.widgets import Static

from extraction.evidence.mentions import Mention
from extraction.evidence.normalize import format_value
from extraction.evidence.quotes import one_line
from extraction.fields import Status
from storage.decisions import Decision
from storage.queue import Comment
from tui.console import printable
from tui.session import FieldRow, status_text


def quote_text(quote: str) -> str:
    """A quote on one line, safe to show (never a literal ``\\n``)."""
    return printable(one_line(quote))


def _evidence_line(text: Text, d: Decision, indent: str = "") -> None:
    """Where a decision's answer comes from: page and quote, or that it has none."""
    if d.status != Status.REPORTED and not d.quote:
        return
    if d.quote:
        text.append(f"{indent}page {d.page}: ", style="dim")
        text.append("“" + quote_text(d.quote) + "”", style="italic")
        if d.grounding:
            text.append(f"  {d.grounding}", style="dim")
        text.append("\n")
    elif d.no_quote:
        text.append(f"{indent}no quote (saved without one on purpose)\n", style="yellow")
    else:
        text.append(f"{indent}no evidence recorded\n", style="dim")


def _comments(text: Text, comments: Sequence[Comment], indent: str = "") -> None:
    for comment in comments:
        label = "reason" if comment.kind == "ambiguous" else "comment"
        text.append(f"{indent}✉ {label}: ", style="magenta")
        text.append(printable(comment.text) + "\n", style="magenta")


class EvidencePanel(Static):
    """Details of one field (everything shown literally: paper text is data, not markup)."""

    def show(
        self,
        row: FieldRow | None,
        comparison_run: str | None,
        mentions: Sequence[Mention] | None = None,
    ) -> None:
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
        elif p is None and row.model_problem:
            text.append("No proposal: the model gave no valid answer ", style="yellow")
            text.append(f"({printable(row.model_problem)}).\n", style="yellow")
        elif p is None:
            text.append("No proposal for this field in this run.\n", style="dim")
        elif p.status != Status.REPORTED:
            text.append(f"Proposed: {status_text(p.status)}.")
            if mentions:
                text.append(
                    f"  The paper has {len(mentions)} candidate mention"
                    f"{'s' if len(mentions) != 1 else ''}: check them with }} and {{.",
                    style="bold yellow",
                )
            text.append("\n")
        else:
            text.append("Proposed: ")
            text.append(printable(format_value(row.spec, p.value)), style="bold")
            text.append(f"   page {p.page if p.page else '?'}, {p.grounding or 'no evidence'}")
            if p.value_in_quote is False:
                text.append("  (value not in the quote)", style="yellow")
            text.append("\n")
            if p.quote:
                text.append("“" + quote_text(p.quote) + "”\n", style="italic")
            if p.note:
                text.append(f"note: {printable(p.note)}\n", style="yellow")
        if mentions is not None and not row.hidden:
            if mentions:
                pages = sorted({m.page for m in mentions})
                listed = ", ".join(str(n) for n in pages[:8]) + ("…" if len(pages) > 8 else "")
                text.append(
                    f"{len(mentions)} candidate mention{'s' if len(mentions) != 1 else ''} "
                    f"({'page' if len(pages) == 1 else 'pages'} {listed}): }} next, {{ previous\n",
                    style="cyan",
                )
            else:
                text.append("No candidate mention of this field in the paper.\n", style="dim")
        by_annotator: dict[str, list[Comment]] = {}
        for comment in row.comments:
            by_annotator.setdefault(comment.annotator, []).append(comment)
        answered = set()
        for number, d in enumerate(row.others, start=1):
            answered.add(d.annotator)
            shown = (
                format_value(row.spec, d.value) if d.status == Status.REPORTED else ""
            ) or status_text(d.status)
            text.append(f"{number} {printable(d.annotator)}: ", style="bold magenta")
            text.append(printable(shown) + "\n")
            _evidence_line(text, d, "   ")
            _comments(text, by_annotator.get(d.annotator, []), "   ")
        if comparison_run is not None:
            other = row.comparison
            shown = (
                "—"
                if other is None
                else (
                    format_value(row.spec, other.value)
                    if other.value is not None
                    else status_text(other.status)
                )
            )
            text.append(f"{printable(comparison_run)}: {printable(shown)}\n", style="cyan")
        mine = row.decision
        if mine is not None:
            text.append(f"Your decision: {status_text(mine.verdict)} ", style="bold")
            text.append(printable(row.decision_text) + "\n")
            _evidence_line(text, mine, "   ")
            if mine.comment:
                text.append(f"   comment: {printable(mine.comment)}\n", style="magenta")
        if row.others:
            for who, comments in by_annotator.items():
                if who not in answered:
                    text.append(f"{printable(who)} (no answer):\n", style="magenta")
                    _comments(text, comments, "   ")
        else:
            _comments(text, row.comments)
        self.update(text)
