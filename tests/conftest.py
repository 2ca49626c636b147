"""Shared fixtures: throwaway databases, PDFs made with PyMuPDF, the real-paper corpus."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pymupdf
import pytest
from pytest_httpserver import HTTPServer
from sqlite_utils import Database

from storage import open_database
from tests.fake_ollama import FakeOllama

REPO = Path(__file__).resolve().parent.parent
CORPUS = Path(os.environ.get("GOLDSMITH_CORPUS", REPO.parent / "shared" / "corpus" / "pdfs"))


def write_pdf(
    path: Path,
    pages: list[str],
    *,
    title: str | None = None,
    metadata_title: str | None = None,
    fontsize: float = 10,
) -> Path:
    """Write a real PDF: an optional large-font title on page 1, then each page's text."""
    doc = pymupdf.open()
    # TextWriter embeds the font with a Unicode map, so ligatures ("ﬁ"), "×" and "−" survive
    # into the text PyMuPDF reads back, as they do in real papers.
    font = pymupdf.Font("helv")
    for number, text in enumerate(pages):
        page = doc.new_page(width=612, height=792)
        writer = pymupdf.TextWriter(page.rect)
        top = 72
        if number == 0 and title:
            writer.fill_textbox(pymupdf.Rect(72, 60, 540, 130), title, font=font, fontsize=20)
            top = 140
        overflow = writer.fill_textbox(
            pymupdf.Rect(72, top, 540, 740), text, font=font, fontsize=fontsize
        )
        if overflow:
            raise ValueError("test text does not fit on one page")
        writer.write_text(page)
    if metadata_title is not None:
        doc.set_metadata({"title": metadata_title})
    path.parent.mkdir(parents=True, exist_ok=True)
    doc.save(path)
    doc.close()
    return path


def write_slow_pdf(path: Path, operations: int = 5_000_000) -> Path:
    """A small file (about 200 KB) whose one page takes MuPDF about a second to read."""
    doc = pymupdf.open()
    page = doc.new_page()
    page.insert_text((72, 72), "seed", fontname="helv")
    doc.update_stream(
        page.get_contents()[0], b"BT /helv 1 Tf " + b"(x) Tj 0.001 0 Td " * operations + b"ET"
    )
    doc.save(path, deflate=True)
    doc.close()
    return path


@pytest.fixture
def make_pdf(tmp_path: Path) -> Callable[..., Path]:
    """Factory: ``make_pdf("name.pdf", ["page 1 text", ...], title=...)`` in ``tmp_path``."""

    def make(name: str, pages: list[str], **kwargs: object) -> Path:
        return write_pdf(tmp_path / name, pages, **kwargs)  # type: ignore[arg-type]

    return make


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "goldsmith.db"


@pytest.fixture
def db(db_path: Path) -> Iterator[Database]:
    """A fresh, migrated database file, closed after the test."""
    database = open_database(db_path)
    yield database
    database.close()


@pytest.fixture(scope="session")
def ollama_server() -> Iterator[HTTPServer]:
    """One HTTP server on 127.0.0.1 for the session (threaded: requests really overlap)."""
    server = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def fake_ollama(ollama_server: HTTPServer) -> Iterator[FakeOllama]:
    """A fake Ollama on that server, with fresh handlers and an empty request log."""
    ollama_server.clear()
    yield FakeOllama(ollama_server).install()
    ollama_server.clear()


# Papers shared by the extraction tests: ingested once, copied into each test's database.
PAPERS = {
    "gpu_paper.pdf": [
        "Scaling Widgets with Transformers\nAda Lovelace\nDepartment of Computing, "
        "Example University\nAbstract: we study widgets.",
        "4 Experimental setup\nAll models were trained on 8 NVIDIA A100 GPUs for 3 days. The "
        "eﬃcient implementation uses mixed precision and a ro-\nbust optimizer. In total the "
        "training used 576 GPU hours.",
        "Acknowledgements\nThis work was supported by the National Science Foundation under "
        "grant 12345.",
    ],
    "tpu_paper.pdf": [
        "Pathways to Widgets\nGrace Hopper\nExample Research Labs, Inc.",
        "We trained the model on 512 TPU v4 chips for two weeks using Google Cloud. The total "
        "compute was 2.5 × 10^23 FLOPs.",
    ],
    "no_compute.pdf": [
        "A Theory of Widgets\nAlan Turing\nExample University",
        "We prove three theorems about widgets. No experiments are reported.",
    ],
}


@pytest.fixture(scope="session")
def papers_db_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from extraction.pdf.ingest import find_pdfs, ingest

    folder = tmp_path_factory.mktemp("papers")
    for name, pages in PAPERS.items():
        write_pdf(folder / name, pages, title=name.removesuffix(".pdf").replace("_", " ").title())
    path = folder / "template.db"
    database = open_database(path)
    found, _ = find_pdfs([folder])
    results = list(ingest(database, found, processes=1))
    assert all(r.outcome.value == "ingested" for r in results)
    database.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    database.close()
    return path


@pytest.fixture
def papers_db(papers_db_template: Path, tmp_path: Path) -> Path:
    """A database holding the PAPERS above (a fresh copy for each test)."""
    path = tmp_path / "papers.db"
    shutil.copyfile(papers_db_template, path)
    return path


SAMPLE_DATA = REPO / "sample_data"


@pytest.fixture(scope="session")
def sample_db_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo's database: sample papers, a rules run, then the sample model run."""
    from extraction.engines.imported import import_proposals
    from extraction.engines.run import choose_papers, extract_with_rules, open_rules_run
    from extraction.pdf.ingest import find_pdfs, ingest

    path = tmp_path_factory.mktemp("sample") / "sample.db"
    database = open_database(path)
    found, _ = find_pdfs([SAMPLE_DATA])
    assert all(r.outcome.value == "ingested" for r in ingest(database, found, processes=1))
    run = open_rules_run(database, "rules")
    papers, _ = choose_papers(database, run)
    list(extract_with_rules(database, run, papers))
    import_proposals(database, SAMPLE_DATA / "proposals.jsonl", "sample-llm")
    database.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    database.close()
    return path


@pytest.fixture
def sample_db(sample_db_template: Path, tmp_path: Path) -> Path:
    """A fresh copy of the demo's database."""
    path = tmp_path / "sample.db"
    shutil.copyfile(sample_db_template, path)
    return path


@pytest.fixture(autouse=True)
def _steady_cursors(monkeypatch: pytest.MonkeyPatch) -> None:
    """No blinking cursors, so app snapshots are the same every time."""
    from textual.widgets import Input, TextArea

    monkeypatch.setattr(Input, "cursor_blink", False)
    monkeypatch.setattr(TextArea, "cursor_blink", False)


@pytest.fixture
def corpus() -> Path:
    """The real-paper corpus ($GOLDSMITH_CORPUS); the test is skipped when it is absent."""
    if not CORPUS.is_dir() or not any(CORPUS.glob("*.pdf")):
        pytest.skip(f"real-paper corpus not found at {CORPUS}")
    return CORPUS
