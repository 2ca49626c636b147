"""The status line: annotator, run, progress, filter."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from tui.console import printable


class StatusLine(Static):
    """One line at the bottom of the review screen."""

    def show(
        self,
        *,
        annotator: str,
        run: str | None,
        papers_done: int | None,
        papers_total: int | None,
        decided: int,
        fields: int,
        queue_filter: str,
        field_mode: str | None,
        role: str,
        blind: bool = False,
    ) -> None:
        text = Text(no_wrap=True, overflow="ellipsis")
        text.append(printable(annotator), style="bold")
        if role == "adjudicator":
            text.append(" (adjudicating)", style="magenta")
        if blind:
            text.append(" (blind)", style="yellow")
        text.append(" │ run ")
        text.append(printable(run) if run else "none", style="cyan" if run else "red")
        done = "…" if papers_done is None else f"{papers_done:,}"
        total = "…" if papers_total is None else f"{papers_total:,}"
        text.append(f" │ papers {done}/{total} done")
        settled = "settled" if role == "adjudicator" else "decided"
        text.append(f" │ this paper {decided}/{fields} {settled}")
        if field_mode:
            text.append(" │ field ")
            text.append(field_mode, style="bold")
        text.append(f" │ filter {queue_filter}")
        self.update(text)
