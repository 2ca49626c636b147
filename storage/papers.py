"""Papers and their page text: adding, finding, listing, searching."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlite_utils import Database

from storage.db import now, write
from storage.errors import GoldsmithError
from storage.models import IngestError, Paper, PaperProgress

ID_LENGTH = 16
"""Hex digits of the sha256 that make a paper id (stable across databases)."""
STABLE_ORDER = "file, id"
"""The order papers are written in by every export: file name, then paper id. Unlike the
order papers were added (ingest is parallel), it is the same in every database holding them,
so two exports of one gold set can be compared byte for byte. The ``papers_file`` index
serves it."""


def paper_id_for(sha256: str) -> str:
    """The paper id for a PDF whose sha256 is ``sha256``."""
    return sha256[:ID_LENGTH]


def sha256_of(path: Path, chunk: int = 1 << 20) -> str:
    """The sha256 of a file, read in chunks so large PDFs do not fill memory."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


@dataclass(frozen=True, slots=True)
class NewPage:
    """A page to store: the text exactly as extracted, and its normalised copy for search."""

    text: str
    search_text: str


def add_paper(
    db: Database,
    *,
    sha256: str,
    file: str,
    path: str | None,
    title: str | None,
    pages: Sequence[NewPage],
    title_source: str | None = None,
    size: int | None = None,
) -> Paper:
    """Store a paper and all its pages in one transaction (all or nothing).

    Any earlier ingest errors recorded for the same path are cleared, since the file now
    ingests. Raises ``sqlite3.IntegrityError`` if a paper with this sha256 is already stored.
    """
    paper = Paper(
        id=paper_id_for(sha256),
        sha256=sha256,
        file=file,
        path=path,
        title=title,
        pages=len(pages),
        added_at=now(),
        bytes=size,
        title_source=title_source,
    )
    with write(db):
        db.execute(
            "INSERT INTO papers (id, sha256, file, path, title, pages, added_at, bytes, "
            "title_source) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                paper.id,
                sha256,
                file,
                path,
                title,
                paper.pages,
                paper.added_at,
                size,
                title_source,
            ],
        )
        for number, page in enumerate(pages, start=1):
            cursor = db.execute(
                "INSERT INTO pages (paper_id, page, text) VALUES (?, ?, ?)",
                [paper.id, number, page.text],
            )
            db.execute(
                # The index takes the normalised copy; the page keeps the raw text.
                "INSERT INTO pages_fts (rowid, text) VALUES (?, ?)",
                [cursor.lastrowid, page.search_text],
            )
        if path is not None:
            db.execute("DELETE FROM ingest_errors WHERE path = ?", [path])
    return paper


def record_ingest_error(db: Database, path: str, reason: str) -> IngestError:
    """Record that ``path`` could not be ingested (replacing older reasons for it)."""
    error = IngestError(path=path, reason=reason, at=now())
    with write(db):
        db.execute("DELETE FROM ingest_errors WHERE path = ?", [path])
        db.execute(
            "INSERT INTO ingest_errors (path, reason, at) VALUES (?, ?, ?)",
            [error.path, error.reason, error.at],
        )
    return error


def ingest_errors(db: Database) -> list[IngestError]:
    """Every recorded ingest error, oldest first."""
    return [
        IngestError(path=row["path"], reason=row["reason"], at=row["at"])
        for row in db.query("SELECT path, reason, at FROM ingest_errors ORDER BY id")
    ]


def get_paper(db: Database, paper_id: str) -> Paper | None:
    """The paper with this id, or ``None``."""
    rows = list(db.query("SELECT * FROM papers WHERE id = ?", [paper_id]))
    return Paper.from_row(rows[0]) if rows else None


def find_by_sha256(db: Database, sha256: str) -> Paper | None:
    """The paper whose PDF has this sha256, or ``None``."""
    rows = list(db.query("SELECT * FROM papers WHERE sha256 = ?", [sha256]))
    return Paper.from_row(rows[0]) if rows else None


class AmbiguousPaperReference(GoldsmithError, LookupError):
    """A reference (a file name) matches more than one paper."""


def resolve_paper(db: Database, reference: str) -> Paper | None:
    """Find a paper by id, full sha256 or file name.

    Raises:
        AmbiguousPaperReference: The reference is a file name shared by several papers.
    """
    reference = reference.strip()
    lowered = reference.lower()
    if len(lowered) == ID_LENGTH:
        found = get_paper(db, lowered)
        if found:
            return found
    if len(lowered) == 64:
        found = find_by_sha256(db, lowered)
        if found:
            return found
    rows = list(db.query("SELECT * FROM papers WHERE file = ? LIMIT 2", [reference]))
    if len(rows) > 1:
        raise AmbiguousPaperReference(f"{reference!r} names more than one paper")
    return Paper.from_row(rows[0]) if rows else None


def count_papers(db: Database) -> int:
    """How many papers are stored."""
    return int(db.execute("SELECT COUNT(*) FROM papers").fetchone()[0])


def page_text(db: Database, paper_id: str, page: int) -> str | None:
    """The stored (exact, as extracted) text of one page, or ``None`` if there is no such page."""
    row = db.execute(
        "SELECT text FROM pages WHERE paper_id = ? AND page = ?", [paper_id, page]
    ).fetchone()
    return None if row is None else str(row[0])


def page_texts(db: Database, paper_id: str) -> list[str]:
    """All pages' text of a paper, in page order (index 0 is page 1)."""
    return [
        str(row[0])
        for row in db.execute(
            "SELECT text FROM pages WHERE paper_id = ? ORDER BY page", [paper_id]
        ).fetchall()
    ]


def iter_papers(db: Database, *, stable_order: bool = False) -> Iterator[Paper]:
    """Every paper, in the order they were added (or in :data:`STABLE_ORDER`)."""
    order = STABLE_ORDER if stable_order else "rowid"
    for row in db.query(f"SELECT * FROM papers ORDER BY {order}"):
        yield Paper.from_row(row)


PROGRESS_STATUSES = ("new", "in_progress", "needs_adjudication", "done")


def iter_progress(
    db: Database, fields: Sequence[str], status: str | None = None
) -> Iterator[PaperProgress]:
    """Every paper with its review progress over ``fields``, in the order they were added.

    A field is final when an adjudicator decided it, or when every annotator who decided it
    agrees and none marked it ambiguous. ``status`` keeps only papers in that state.
    """
    if status is not None and status not in PROGRESS_STATUSES:
        raise ValueError(f"unknown status {status!r}; choose from {', '.join(PROGRESS_STATUSES)}")
    marks = ", ".join("?" for _ in fields)
    sql = f"""
        WITH per_field AS (
            SELECT paper_id, field,
                MAX(role = 'adjudicator') AS adjudicated,
                COUNT(DISTINCT CASE WHEN role = 'annotator'
                    THEN coalesce(status, '') || '|' || coalesce(value, '') END) AS answers,
                MAX(role = 'annotator' AND verdict = 'ambiguous') AS ambiguous
            FROM decision_state
            WHERE field IN ({marks})
            GROUP BY paper_id, field
        ),
        per_paper AS (
            SELECT paper_id,
                SUM(adjudicated OR (answers = 1 AND NOT ambiguous)) AS final,
                SUM(NOT adjudicated AND (answers > 1 OR ambiguous)) AS disputed
            FROM per_field GROUP BY paper_id
        ),
        who AS (
            SELECT paper_id, group_concat(DISTINCT annotator) AS annotators
            FROM decision_state GROUP BY paper_id
        )
        SELECT papers.*, coalesce(per_paper.final, 0) AS final,
            coalesce(per_paper.disputed, 0) AS disputed, who.annotators AS annotators
        FROM papers
        LEFT JOIN per_paper ON per_paper.paper_id = papers.id
        LEFT JOIN who ON who.paper_id = papers.id
        ORDER BY papers.rowid
    """
    for row in db.query(sql, list(fields)):
        progress = PaperProgress(
            paper=Paper.from_row(row),
            fields_final=int(row["final"]),
            fields_total=len(fields),
            decided_by=tuple(sorted((row["annotators"] or "").split(",")))
            if row["annotators"]
            else (),
            needs_adjudication=int(row["disputed"]),
        )
        if status is None or progress.status == status:
            yield progress


@dataclass(frozen=True, slots=True)
class SearchHit:
    """A paper matching a search, and where."""

    paper: Paper
    in_title: bool
    pages: tuple[int, ...]


_TITLE_FOLDS = (
    ("-", ""),
    ("\u2010", ""),
    ("\u2011", ""),
    ("\ufb00", "ff"),
    ("\ufb01", "fi"),
    ("\ufb02", "fl"),
    ("\ufb03", "ffi"),
    ("\ufb04", "ffl"),
)
"""What the normalised query has folded that a title still holds: a query's hyphenated word
is joined ("DeepSeek-V3" → "deepseekv3"), a ligature expanded ("Eﬃcient" → "efficient")."""
_FOLDED_TITLE = "lower(coalesce(title, file))"
for _raw, _folded in _TITLE_FOLDS:
    _FOLDED_TITLE = f"replace({_FOLDED_TITLE}, '{_raw}', '{_folded}')"


def search(db: Database, normalized_query: str, limit: int = 50) -> list[SearchHit]:
    """Papers whose title or a page contains every word of the (normalised) query.

    The query's words are quoted for FTS5, so punctuation in what the user typed can never
    be read as FTS syntax. Title matches come first, then papers by number of matching pages.
    """
    words = re.findall(r"[^\W_]+", normalized_query)
    if not words:
        return []
    title_sql = " AND ".join(f"{_FOLDED_TITLE} LIKE ?" for _ in words)
    title_rows = list(
        db.query(
            f"SELECT * FROM papers WHERE {title_sql} ORDER BY rowid LIMIT ?",
            [*(f"%{w}%" for w in words), limit],
        )
    )
    match = " ".join(f'"{w}"' for w in words)
    page_rows = db.execute(
        "SELECT pages.paper_id, group_concat(pages.page) FROM pages_fts "
        "JOIN pages ON pages.rowid = pages_fts.rowid WHERE pages_fts MATCH ? "
        "GROUP BY pages.paper_id ORDER BY COUNT(*) DESC LIMIT ?",
        [match, limit],
    ).fetchall()
    pages_of = {
        paper_id: tuple(sorted(int(p) for p in pages.split(","))) for paper_id, pages in page_rows
    }
    hits = [SearchHit(Paper.from_row(row), True, pages_of.pop(row["id"], ())) for row in title_rows]
    for paper_id, pages in pages_of.items():
        paper = get_paper(db, paper_id)
        if paper is not None:
            hits.append(SearchHit(paper, False, pages))
    return hits[:limit]
