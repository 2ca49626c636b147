"""The rows of the goldsmith database as dataclasses.

Everything above ``storage/`` sees these, never SQL rows or dicts. JSON columns are decoded
here (``value`` becomes the Python value it encodes).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any


def decode_json(text: str | None) -> Any:
    """Decode a JSON column; SQL NULL (absent) stays ``None``."""
    return None if text is None else json.loads(text)


@lru_cache(maxsize=8192)
def decode_json_cached(text: str | None) -> Any:
    """:func:`decode_json` remembered: reading a gold set decodes the same few values
    ("72.0", "\"academia\"") hundreds of thousands of times. Treat the result as read-only."""
    return decode_json(text)


def encode_json(value: Any) -> str | None:
    """Encode a value for a JSON column; ``None`` (absent) becomes SQL NULL."""
    return None if value is None else json.dumps(value, ensure_ascii=False, sort_keys=True)


@dataclass(frozen=True, slots=True)
class Paper:
    """One ingested PDF."""

    id: str
    sha256: str
    file: str
    path: str | None
    title: str | None
    pages: int
    added_at: str
    bytes: int | None = None
    title_source: str | None = None

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Paper:
        return cls(
            id=row["id"],
            sha256=row["sha256"],
            file=row["file"],
            path=row["path"],
            title=row["title"],
            pages=row["pages"],
            added_at=row["added_at"],
            bytes=row.get("bytes"),
            title_source=row.get("title_source"),
        )

    @property
    def display_title(self) -> str:
        """The title, or the file name when the paper has none."""
        return self.title or self.file


@dataclass(frozen=True, slots=True)
class IngestError:
    """A file that could not be ingested, and why."""

    path: str
    reason: str
    at: str


@dataclass(frozen=True, slots=True)
class PaperProgress:
    """A paper with how far its review has come."""

    paper: Paper
    fields_final: int
    fields_total: int
    decided_by: tuple[str, ...] = field(default_factory=tuple)
    needs_adjudication: int = 0

    @property
    def status(self) -> str:
        """``new``, ``in_progress``, ``needs_adjudication`` or ``done``."""
        if self.needs_adjudication:
            return "needs_adjudication"
        if self.fields_final >= self.fields_total:
            return "done"
        if self.fields_final or self.decided_by:
            return "in_progress"
        return "new"
