"""Paper metadata from a CSV file: ``venue``, ``year``, ``arxiv_id``, ``domain``, any column.

The file names each paper in a key column — ``paper_id``, ``id``, ``sha256``, ``file`` or
``paper`` — holding the paper's id, sha256 or file name; every other column becomes a
metadata column. Every cell is checked first; each bad one is reported as ``row N, column C:
reason`` and nothing is imported unless the whole file is good. An empty cell removes the
paper's earlier value of that column, and a leading ``'`` (how ``export-metadata`` keeps a
spreadsheet from running a cell as a formula) is dropped. Columns the papers table has
itself (``title``, ``pages``...) are left out, so a listing exported from elsewhere loads as
it is.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from pathlib import Path

from sqlite_utils import Database

from extraction.encoding import UnreadableFile, read_utf8
from extraction.gold.files import unneutralize
from extraction.safe_text import line_problem
from storage import metadata as metadata_store
from storage.errors import GoldsmithError
from storage.metadata import COLUMN_NAME, MAX_COLUMNS, MAX_VALUE, PAPER_COLUMNS, MetadataImport

KEY_COLUMNS = ("paper_id", "id", "sha256", "file", "paper")
"""Columns that name the paper, in the order one is chosen when several are present."""
MAX_BYTES = 64 * 1024 * 1024
"""Largest file read (about a million papers of typical metadata)."""
MAX_CELL = MAX_VALUE
"""Characters allowed in one cell."""


class MetadataRejected(GoldsmithError):
    """The file has problems (``problems``); nothing was imported."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__(
            f"{len(problems)} problem(s), the first: {problems[0] if problems else 'none'}"
        )
        self.problems = problems


@dataclass
class MetadataFile:
    """A metadata CSV whose structure and cells have been checked (papers not yet looked up)."""

    key: str
    """The header of the column naming the paper."""
    columns: list[str]
    """Metadata column names, normalised (``Venue`` → ``venue``)."""
    ignored: list[str]
    """Columns left out because the papers table has them itself."""
    rows: list[tuple[int, str, dict[str, str | None]]] = field(default_factory=list)
    """``(row number, paper reference, {column: value or None})``."""
    problems: list[str] = field(default_factory=list)


def _control(text: str) -> str | None:
    """Metadata is shown in tables and used as group names: one line each."""
    return line_problem(text)


def column_name(header: str) -> str:
    """A header as a column name: lower case, spaces and hyphens as ``_``."""
    return re.sub(r"[\s\-]+", "_", header.strip().lower())


def read_file(path: Path) -> MetadataFile:
    """Read and check a metadata CSV, without looking papers up.

    Raises:
        MetadataRejected: The file cannot be read at all (too large, not UTF-8, no key column).
    """
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise MetadataRejected([f"cannot read the file ({exc.strerror or exc})"]) from None
    if size > MAX_BYTES:
        raise MetadataRejected(
            [
                f"the file is {size / 1e6:.0f} MB; metadata files are limited to "
                f"{MAX_BYTES // 2**20} MB"
            ]
        )
    try:
        text = read_utf8(path, "row")
    except UnreadableFile as exc:
        raise MetadataRejected([str(exc)]) from None
    limit = csv.field_size_limit(max(len(text), MAX_CELL) + 1)
    records: list[list[str]] = []
    try:
        records.extend(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as exc:
        raise MetadataRejected([f"row {len(records) + 1}: not readable as CSV ({exc})"]) from None
    finally:
        csv.field_size_limit(limit)
    if not records or not any(cell.strip() for cell in records[0]):
        raise MetadataRejected(["the file is empty"])
    header, body = records[0], records[1:]
    problems: list[str] = []
    if len(header) > MAX_COLUMNS:
        raise MetadataRejected([f"row 1: {len(header)} columns; at most {MAX_COLUMNS}"])
    names = [column_name(cell) for cell in header]
    for index, (cell, name) in enumerate(zip(header, names, strict=True), start=1):
        if reason := _control(cell):
            problems.append(f"row 1, column {index}: {reason}")
        elif not name:
            problems.append(f"row 1, column {index}: no column name")
        elif not COLUMN_NAME.fullmatch(name):
            problems.append(
                f"row 1, column {index}: {cell.strip()[:40]!r} is not a usable column name "
                "(a letter, then letters, digits or _, at most 40)"
            )
    twice = sorted({name for name in names if name and names.count(name) > 1})
    if twice:
        problems.append(f"row 1: column(s) named twice: {', '.join(twice)}")
    key = next((candidate for candidate in KEY_COLUMNS if candidate in names), None)
    if key is None:
        raise MetadataRejected(
            [*problems, "row 1: no column naming the paper (paper_id, id, sha256, file or paper)"]
        )
    key_index = names.index(key)
    kept = [
        (index, name)
        for index, name in enumerate(names)
        if index != key_index and name not in PAPER_COLUMNS and name not in KEY_COLUMNS
    ]
    ignored = [
        name for index, name in enumerate(names) if index != key_index and (index, name) not in kept
    ]
    if not kept and not problems:
        problems.append("row 1: no metadata columns besides the paper's own")
    result = MetadataFile(key, [name for _, name in kept], ignored, problems=problems)
    if problems:
        return result
    for number, record in enumerate(body, start=2):
        if not any(cell.strip() for cell in record):
            continue
        if len(record) != len(header):
            problems.append(f"row {number}: {len(record)} cells, the header has {len(header)}")
            continue
        reference = record[key_index].strip()
        if not reference:
            problems.append(f"row {number}, column {key}: empty")
            continue
        if reason := _control(reference):
            problems.append(f"row {number}, column {key}: {reason}")
            continue
        cells: dict[str, str | None] = {}
        bad = False
        for index, name in kept:
            value = unneutralize(record[index].strip())
            if len(value) > MAX_CELL:
                problems.append(f"row {number}, column {name}: longer than {MAX_CELL} characters")
                bad = True
            elif reason := _control(value):
                problems.append(f"row {number}, column {name}: {reason}")
                bad = True
            else:
                cells[name] = value or None
        if not bad:
            result.rows.append((number, reference, cells))
    if not result.rows and not problems:
        problems.append("no rows")
    return result


def resolve(db: Database, metadata: MetadataFile) -> list[tuple[str, dict[str, str | None]]]:
    """The file's rows by paper id: every reference must name exactly one paper, once.

    Raises:
        MetadataRejected: Any problem in the file or any reference; nothing is changed.
    """
    problems = list(metadata.problems)
    by_id: dict[str, str] = {}
    by_sha: dict[str, str] = {}
    by_file: dict[str, list[str]] = {}
    for paper_id, sha256, file in db.execute("SELECT id, sha256, file FROM papers"):
        by_id[paper_id] = paper_id
        by_sha[sha256] = paper_id
        by_file.setdefault(file, []).append(paper_id)
    seen: dict[str, int] = {}
    resolved: list[tuple[str, dict[str, str | None]]] = []
    for number, reference, cells in metadata.rows:
        lowered = reference.lower()
        found = by_id.get(lowered) or by_sha.get(lowered)
        if found is None:
            named = by_file.get(reference, [])
            if len(named) > 1:
                problems.append(
                    f"row {number}, column {metadata.key}: {reference[:60]!r} names "
                    f"{len(named)} papers; use the paper id"
                )
                continue
            found = named[0] if named else None
        if found is None:
            problems.append(
                f"row {number}, column {metadata.key}: no paper {reference[:60]!r} in this database"
            )
            continue
        if found in seen:
            problems.append(f"row {number}, column {metadata.key}: same paper as row {seen[found]}")
            continue
        seen[found] = number
        resolved.append((found, cells))
    if problems:
        raise MetadataRejected(problems)
    return resolved


def import_metadata(db: Database, path: Path) -> tuple[MetadataImport, list[str]]:
    """Load a metadata CSV (all or nothing); what changed, and the columns left out.

    Raises:
        MetadataRejected: Any problem; every one is listed and nothing is imported.
    """
    metadata = read_file(path)
    rows = resolve(db, metadata)
    return metadata_store.set_values(db, rows, source=path.name), metadata.ignored
