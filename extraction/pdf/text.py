"""Reading a PDF's text with PyMuPDF.

Runs inside a worker process (see :mod:`extraction.pdf.pool`): PyMuPDF is not thread-safe,
and a hostile PDF must not be able to hang or crash the process that writes the database.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import pymupdf

from extraction.evidence.textnorm import normalize

HEADER_WINDOW = 1024
"""PDF readers accept junk before ``%PDF-`` within the first kilobyte; so do we."""
MAX_TITLE_CHARS = 300


class PdfError(Exception):
    """A PDF cannot be ingested; the message is the reason shown to the user."""


class PdfOutOfMemory(PdfError):
    """MuPDF could not allocate memory (the worker's memory limit was reached)."""


def _out_of_memory(exc: BaseException) -> bool:
    text = str(exc).lower()
    return (
        isinstance(exc, MemoryError)
        or ("alloc" in text and "failed" in text)
        or ("out of memory" in text)
    )


@dataclass(frozen=True, slots=True)
class PdfText:
    """What ingest needs from one PDF."""

    sha256: str
    size: int
    texts: list[str]
    """Each page's text exactly as PyMuPDF returned it (index 0 is page 1)."""
    search_texts: list[str]
    """The normalised copy of each page for search and matching."""
    title: str | None
    title_source: str | None
    """``metadata``, ``first_page`` or ``None`` when no title was found."""
    warnings: list[str]


def read_pdf(path: Path) -> PdfText:
    """Read every page's text, the title and the sha256 of one PDF.

    Raises:
        PdfError: The file is empty, not a PDF, damaged, encrypted, or has no text layer.
    """
    data = path.read_bytes()
    _check_header(data)
    pymupdf.TOOLS.mupdf_display_errors(False)
    pymupdf.TOOLS.mupdf_display_warnings(False)
    pymupdf.TOOLS.mupdf_warnings(reset=True)
    try:
        doc = pymupdf.open(stream=data, filetype="pdf")
    except Exception as exc:  # MuPDF raises several types for damaged files
        if _out_of_memory(exc):
            raise PdfOutOfMemory(str(exc)) from None
        raise PdfError(f"damaged PDF that cannot be opened ({_first_line(exc)})") from None
    with doc:
        if doc.needs_pass:
            raise PdfError("encrypted: it needs a password to open")
        if doc.page_count == 0:
            raise PdfError("the PDF has no pages")
        warnings: list[str] = []
        texts: list[str] = []
        first_layout: dict = {}
        for number in range(doc.page_count):
            try:
                page = doc[number]
                if number == 0:
                    # One text page for both the text and the layout (for the title), so
                    # page 1 is parsed once. Same flags as get_text(), so the same text.
                    textpage = page.get_textpage(flags=pymupdf.TEXTFLAGS_TEXT)
                    texts.append(page.get_text(textpage=textpage))
                    first_layout = page.get_text("dict", textpage=textpage)
                else:
                    texts.append(page.get_text())
            except Exception as exc:  # one broken page should not lose the others
                if _out_of_memory(exc):
                    raise PdfOutOfMemory(str(exc)) from None
                texts.append("")
                warnings.append(f"page {number + 1} unreadable ({_first_line(exc)})")
        if not any(text.strip() for text in texts):
            if doc.is_repaired:
                raise PdfError(
                    "damaged PDF (truncated or corrupted): MuPDF repaired it but found no text"
                )
            complaints = [
                line
                for line in pymupdf.TOOLS.mupdf_warnings(reset=True).splitlines()
                if line.strip()
            ]
            if complaints:
                raise PdfError(
                    f"malformed PDF with no readable text (MuPDF: {complaints[0][:120]})"
                )
            raise PdfError(
                "no text layer (a scanned PDF?): run OCR first, e.g. 'ocrmypdf IN.pdf OUT.pdf'"
            )
        if doc.is_repaired:
            warnings.append("damaged PDF repaired while reading; check its text in review")
        empty = sum(1 for text in texts if not text.strip())
        if empty > doc.page_count / 2:
            warnings.append(f"{empty} of {doc.page_count} pages have no text (scanned pages?)")
        search_texts = [normalize(text) for text in texts]
        title, source = _title(doc, first_layout, search_texts[0])
    return PdfText(
        sha256=hashlib.sha256(data).hexdigest(),
        size=len(data),
        texts=texts,
        search_texts=search_texts,
        title=title,
        title_source=source,
        warnings=warnings,
    )


def _check_header(data: bytes) -> None:
    if not data:
        raise PdfError("empty file (0 bytes)")
    if b"%PDF-" in data[:HEADER_WINDOW]:
        return
    head = data[:4096]
    try:
        head.decode("utf-8")
    except UnicodeDecodeError:
        raise PdfError("not a PDF (no %PDF header; binary data of another kind)") from None
    raise PdfError("not a PDF (no %PDF header; it is a text file)")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else type(exc).__name__


def _title(
    doc: pymupdf.Document, first_layout: dict, first_page_search_text: str
) -> tuple[str | None, str | None]:
    """The metadata title when it really appears on page 1, else the largest-font lines.

    Metadata titles are often left over from templates ("Overleaf Example", "Microsoft Word -
    draft.docx"); requiring the title to be on the first page filters those out.
    """
    meta = " ".join((doc.metadata or {}).get("title", "").split())
    if len(meta) >= 4 and normalize(meta) in first_page_search_text:
        return meta[:MAX_TITLE_CHARS], "metadata"
    largest = _largest_font_lines(first_layout)
    if largest:
        return largest[:MAX_TITLE_CHARS], "first_page"
    return None, None


def _largest_font_lines(layout: dict) -> str | None:
    """The first run of consecutive horizontal lines set in the page's largest font."""
    lines: list[tuple[float, str]] = []
    for block in layout.get("blocks", []):
        for line in block.get("lines", []):
            # Rotated text is usually the arXiv stamp in the margin, set large.
            if tuple(line.get("dir", (1.0, 0.0))) != (1.0, 0.0):
                continue
            spans = line.get("spans", [])
            inked = [span["size"] for span in spans if span["text"].strip()]
            if not inked:
                continue
            text = " ".join("".join(span["text"] for span in spans).split())
            lines.append((max(inked), text))
    if not lines:
        return None
    biggest = max(size for size, _ in lines)
    picked: list[str] = []
    for size, text in lines:
        if size >= biggest - 0.5:
            picked.append(text)
        elif picked:
            break
    title = " ".join(picked).strip()
    return title if len(title) >= 3 else None
