"""Paper metadata in the gold CSV files: a ``meta_<column>`` column per metadata column.

A gold set is analysed by venue, year or domain as often as it is scored, so the wide and
long exports carry each paper's metadata (``venue`` as ``meta_venue``: the prefix keeps a
metadata column from ever taking the name of a gold column). ``import-gold`` reads them back
as the papers' metadata, so export → import-gold into a database with the same papers →
export gives the same bytes, metadata included. A database without metadata exports no such
column.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlite_utils import Database

from extraction.safe_text import line_problem
from storage import metadata as metadata_store
from storage.metadata import COLUMN_NAME, MAX_COLUMNS, MAX_VALUE, PAPER_COLUMNS

PREFIX = "meta_"


class PaperMetadata:
    """Every paper's metadata, read once for an export."""

    def __init__(self, db: Database) -> None:
        self.names = metadata_store.columns(db)
        self.values = metadata_store.all_values(db) if self.names else {}

    @property
    def columns(self) -> list[str]:
        return [PREFIX + name for name in self.names]

    def cells(self, paper_id: str) -> list[str]:
        found = self.values.get(paper_id, {})
        return [cell(found.get(name, "")) for name in self.names]


def cell(value: str) -> str:
    """A metadata value as a CSV cell: a number as it is, other text formula-safe."""
    from extraction.gold.files import shown

    try:
        float(value)
    except ValueError:
        return shown(value)
    return value


def header_columns(header: Sequence[str]) -> tuple[dict[int, str], list[str]]:
    """The metadata columns of a gold CSV's header (``{position: column name}``), and a
    problem for each ``meta_`` column whose name cannot be a metadata column."""
    found: dict[int, str] = {}
    problems = []
    for index, column in enumerate(header):
        if not column.startswith(PREFIX):
            continue
        name = column[len(PREFIX) :]
        if COLUMN_NAME.fullmatch(name) and name not in PAPER_COLUMNS:
            found[index] = name
        else:
            problems.append(
                f"row 1, column {column[:50]}: not a metadata column name ({PREFIX}, then a "
                "letter, then letters, digits or _, at most 40)"
            )
    if len(found) > MAX_COLUMNS:
        problems.append(f"row 1: {len(found):,} metadata columns; at most {MAX_COLUMNS}")
    return found, problems


def value_problem(value: str) -> str | None:
    """Why a metadata cell cannot be stored, or None."""
    if len(value) > MAX_VALUE:
        return f"longer than {MAX_VALUE:,} characters"
    return line_problem(value)
