"""Paper metadata imported by the user: ``venue``, ``year``, ``arxiv_id`` or any other column.

One row per paper and column in ``paper_metadata`` (values are text, as imported). Columns
can stratify a gold sample and break estimates down (``--strata venue``, ``--by year``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from sqlite_utils import Database

from storage.db import now, write

COLUMN_NAME = re.compile(r"[a-z][a-z0-9_]{0,39}")
"""What a metadata column may be called: it is typed as ``--by COL`` and ``--strata COL``."""
PAPER_COLUMNS = frozenset({"id", "sha256", "file", "path", "title", "pages", "added_at"})
"""The papers table's own columns: never metadata (a file carrying them is still fine)."""
MAX_VALUE = 10_000
"""Characters a metadata value may have."""
MAX_COLUMNS = 200
"""Metadata columns one file may bring."""


@dataclass(frozen=True, slots=True)
class MetadataImport:
    """What an import changed."""

    papers: int
    values: int
    cleared: int
    columns: tuple[str, ...]


def set_values(
    db: Database,
    rows: Iterable[tuple[str, Mapping[str, str | None]]],
    *,
    source: str | None = None,
) -> MetadataImport:
    """Store metadata for papers in one transaction: for each ``(paper_id, {column: value})``
    a value replaces the paper's earlier one, and ``None`` (an empty cell) removes it."""
    at = now()
    papers = values = cleared = 0
    columns: dict[str, None] = {}
    with write(db):
        for paper_id, cells in rows:
            papers += 1
            for name, value in cells.items():
                columns[name] = None
                if value is None:
                    cursor = db.execute(
                        "DELETE FROM paper_metadata WHERE paper_id = ? AND name = ?",
                        [paper_id, name],
                    )
                    cleared += max(cursor.rowcount, 0)
                    continue
                db.execute(
                    "INSERT INTO paper_metadata (paper_id, name, value, source, imported_at) "
                    "VALUES (?, ?, ?, ?, ?) ON CONFLICT (paper_id, name) DO UPDATE SET "
                    "value = excluded.value, source = excluded.source, "
                    "imported_at = excluded.imported_at",
                    [paper_id, name, value, source, at],
                )
                values += 1
    return MetadataImport(papers, values, cleared, tuple(columns))


def columns(db: Database) -> list[str]:
    """Every metadata column, in the order first imported."""
    rows = db.execute(
        "SELECT name FROM paper_metadata GROUP BY name ORDER BY MIN(rowid)"
    ).fetchall()
    return [str(row[0]) for row in rows]


def values_of(db: Database, name: str) -> dict[str, str]:
    """One column's value for every paper that has one: ``{paper_id: value}``."""
    return {
        str(paper): str(value)
        for paper, value in db.execute(
            "SELECT paper_id, value FROM paper_metadata WHERE name = ?", [name]
        )
    }


def for_papers(db: Database, paper_ids: Sequence[str]) -> dict[str, dict[str, str]]:
    """The metadata of some papers: ``{paper_id: {column: value}}`` (papers with none left out)."""
    found: dict[str, dict[str, str]] = {}
    for start in range(0, len(paper_ids), 500):
        chunk = list(paper_ids[start : start + 500])
        marks = ", ".join("?" for _ in chunk)
        for paper, name, value in db.execute(
            f"SELECT paper_id, name, value FROM paper_metadata WHERE paper_id IN ({marks}) "
            "ORDER BY rowid",
            chunk,
        ):
            found.setdefault(str(paper), {})[str(name)] = str(value)
    return found


def all_values(db: Database) -> dict[str, dict[str, str]]:
    """Every paper's metadata: ``{paper_id: {column: value}}``."""
    found: dict[str, dict[str, str]] = {}
    for paper, name, value in db.execute(
        "SELECT paper_id, name, value FROM paper_metadata ORDER BY rowid"
    ):
        found.setdefault(str(paper), {})[str(name)] = str(value)
    return found
