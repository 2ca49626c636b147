"""A table of rows to choose from, moved through with the review's own keys."""

from __future__ import annotations

from typing import ClassVar

from textual.binding import Binding, BindingType
from textual.widgets import DataTable


class ListTable(DataTable[object]):
    """A row-cursor table where ``j``/``k`` move as the arrows do (as they move between
    fields in review), so an annotator's hands stay where they are."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("j", "cursor_down", "Down", show=False),
        Binding("k", "cursor_up", "Up", show=False),
    ]
