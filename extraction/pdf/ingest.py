"""Ingest: turn PDF files and folders into papers and page text in the database."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from sqlite_utils import Database

from extraction.encoding import file_kind
from extraction.pdf.pool import DEFAULT_MEMORY_MB, DEFAULT_TIMEOUT_S, PdfPool
from extraction.pdf.text import PdfText
from storage import papers as paper_store
from storage.models import Paper


class Outcome(StrEnum):
    """What happened to one input file."""

    INGESTED = "ingested"
    PRESENT = "present"
    """Already in the database (same sha256), so nothing was added."""
    FAILED = "failed"
    SKIPPED = "skipped"
    """Inside a folder, named like a PDF but not a regular file (reported, not an error)."""


@dataclass(frozen=True, slots=True)
class IngestResult:
    """The outcome for one file."""

    path: Path
    outcome: Outcome
    paper: Paper | None = None
    reason: str | None = None
    warnings: tuple[str, ...] = ()


def find_pdfs(inputs: Iterable[Path]) -> tuple[list[Path], list[IngestResult]]:
    """Expand files and folders (recursively, ``*.pdf`` in any case) into PDF paths.

    A file named explicitly is taken whatever its extension. Returns the paths to read and,
    for the others, a result each: a failure for every input that does not exist or is not a
    regular file (a FIFO would block the reader, a device never end), and ``skipped`` for
    every ``*.pdf`` entry inside a folder that is not a regular file (a dangling symbolic
    link, a FIFO).
    """
    found: list[Path] = []
    others: list[IngestResult] = []
    seen: set[Path] = set()
    for raw in inputs:
        path = Path(raw)
        if path.is_dir():
            candidates = []
            for entry in sorted(path.rglob("*")):
                if entry.suffix.lower() != ".pdf" or entry.is_dir():
                    continue
                if entry.is_file():
                    candidates.append(entry)
                else:
                    others.append(IngestResult(entry, Outcome.SKIPPED, reason=not_a_file(entry)))
        elif path.is_file():
            candidates = [path]
        else:
            others.append(IngestResult(path, Outcome.FAILED, reason=not_a_file(path)))
            continue
        for candidate in candidates:
            key = candidate.resolve()
            if key not in seen:
                seen.add(key)
                found.append(candidate)
    return found, others


def not_a_file(path: Path) -> str:
    """Why ``path``, which is not a regular file or folder, cannot be read as a PDF."""
    try:
        info = path.stat()
    except FileNotFoundError:
        if path.is_symlink():
            return f"a symbolic link to {os.readlink(path)}, which does not exist"
        return "no such file or directory"
    except OSError as exc:
        return f"cannot read it ({exc.strerror or exc})"
    return f"not a regular file ({file_kind(info.st_mode)})"


def ingest(
    db: Database,
    paths: list[Path],
    *,
    processes: int | None = None,
    timeout: float = DEFAULT_TIMEOUT_S,
    memory_mb: int = DEFAULT_MEMORY_MB,
) -> Iterator[IngestResult]:
    """Ingest ``paths`` (PDF files), yielding one result per path as each completes.

    Files already stored (by sha256) are not read again. Each paper is written in its own
    transaction, so an interrupted run leaves only whole papers behind. Failures are recorded
    in ``ingest_errors``.
    """
    processes = processes or os.cpu_count() or 1
    settled: list[IngestResult] = []
    """Results decided without reading (already stored, duplicates, unreadable files)."""
    first_path_of: dict[str, Path] = {}

    def size(path: Path) -> int:
        try:
            return path.stat().st_size
        except OSError:
            return 0

    def to_read() -> Iterator[Path]:
        """The files to read, largest first (a long report started last would leave the other
        workers idle at the end), each hashed only when a worker is ready for it."""
        for path in sorted(paths, key=size, reverse=True):
            try:
                sha256 = paper_store.sha256_of(path)
            except OSError as exc:
                settled.append(_fail(db, path, f"cannot read the file ({exc.strerror or exc})"))
                continue
            stored = paper_store.find_by_sha256(db, sha256)
            if stored is not None:
                settled.append(IngestResult(path, Outcome.PRESENT, paper=stored))
            elif sha256 in first_path_of:
                settled.append(
                    IngestResult(
                        path, Outcome.PRESENT, reason=f"same file as {first_path_of[sha256]}"
                    )
                )
            else:
                first_path_of[sha256] = path
                yield path

    def drain() -> Iterator[IngestResult]:
        while settled:
            yield settled.pop(0)

    with PdfPool(processes=processes, timeout=timeout, memory_mb=memory_mb) as pool:
        for path, result in pool.read(to_read()):
            yield from drain()
            if isinstance(result, str):
                yield _fail(db, path, result)
            else:
                yield _store(db, path, result)
        yield from drain()


def _fail(db: Database, path: Path, reason: str) -> IngestResult:
    paper_store.record_ingest_error(db, str(path.resolve()), reason)
    return IngestResult(path, Outcome.FAILED, reason=reason)


def _store(db: Database, path: Path, pdf: PdfText) -> IngestResult:
    try:
        paper = paper_store.add_paper(
            db,
            sha256=pdf.sha256,
            file=path.name,
            path=str(path.resolve()),
            title=pdf.title,
            title_source=pdf.title_source,
            size=pdf.size,
            pages=[
                paper_store.NewPage(text=text, search_text=search)
                for text, search in zip(pdf.texts, pdf.search_texts, strict=True)
            ],
        )
    except sqlite3.IntegrityError:
        # Another process stored the same PDF between our check and this write.
        existing = paper_store.find_by_sha256(db, pdf.sha256)
        return IngestResult(path, Outcome.PRESENT, paper=existing)
    return IngestResult(path, Outcome.INGESTED, paper=paper, warnings=tuple(pdf.warnings))
