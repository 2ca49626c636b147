"""Messages shared between the review app's widgets and screens."""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message


@dataclass
class ProgressCounted(Message):
    """A background count of the annotator's progress finished."""

    papers_done: int
    papers_total: int
