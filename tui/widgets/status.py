"""The status line: annotator, run, progress, filter."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from tui.console import printable

COMPACT_WIDTH = 100
"""Below this width the status line drops its labels ("run", "this paper", "filter")."""


class StatusLine(Static):
    """One line at the bottom of the review screen."""

    _shown: dict[str, object] | None = None

    def on_resize(self) -> None:
        if self._shown is not None:
            self.show(**self._shown)  # type: ignore[arg-type]

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
        self._shown = {
            "annotator": annotator,
            "run": run,
            "papers_done": papers_done,
            "papers_total": papers_total,
            "decided": decided,
            "fields": fields,
            "queue_filter": queue_filter,
            "field_mode": field_mode,
            "role": role,
            "blind": blind,
        }
        compact = 0 < self.size.width < COMPACT_WIDTH
        text = Text(no_wrap=True, overflow="ellipsis")
        text.append(printable(annotator), style="bold")
        if role == "adjudicator":
            text.append(" (adjudicating)", style="magenta")
        if blind:
            text.append(" (blind)", style="yellow")
        text.append(" │ " if compact else " │ run ")
        text.append(printable(run) if run else "none", style="cyan" if run else "red")
        done = "…" if papers_done is None else f"{papers_done:,}"
        total = "…" if papers_total is None else f"{papers_total:,}"
        text.append(f" │ papers {done}/{total} done")
        settled = "settled" if role == "adjudicator" else "decided"
        if compact:
            text.append(f" │ paper {decided}/{fields}")
        else:
            text.append(f" │ this paper {decided}/{fields} {settled}")
        if field_mode:
            text.append(" │ field ")
            text.append(field_mode, style="bold")
        text.append(f" │ {queue_filter}" if compact else f" │ filter {queue_filter}")
        self.update(text)
