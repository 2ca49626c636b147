"""`goldsmith ingest` on PDFs made here with PyMuPDF, every kind of bad input, and the corpus."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pymupdf
import pytest
from click.testing import CliRunner

from extraction.evidence.textnorm import normalize
from storage import open_database
from storage import papers as paper_store
from tui.cli import cli

GPU_TEXT = (
    "4 Experimental setup\nAll models were trained on 8 NVIDIA A100 GPUs for 3 days. The "
    "eﬃcient implementation uses mixed precision and a ro-\nbust optimizer."
)


def run(db_path: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["--db", str(db_path), *args], catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def test_ingest_stores_each_page_exactly_as_pymupdf_returns_it(make_pdf, db_path: Path) -> None:
    pdf = make_pdf("paper.pdf", ["Intro text", GPU_TEXT], title="A Study of Things")
    code, out, err = run(db_path, "ingest", str(pdf))
    assert code == 0, err
    assert out.startswith("ingested 1, already present 0, failed 0, 2 pages")
    db = open_database(db_path)
    expected = [page.get_text() for page in pymupdf.open(pdf)]
    (paper,) = list(paper_store.iter_papers(db))
    assert paper.id == paper.sha256[:16]
    assert paper.file == "paper.pdf" and paper.path == str(pdf.resolve())
    assert paper.pages == 2
    assert paper_store.page_texts(db, paper.id) == expected
    assert "eﬃcient" in expected[1] and "ro-\nbust" in expected[1], "raw text kept as is"
    assert paper.title == "A Study of Things" and paper.title_source == "first_page"


def test_full_text_search_uses_the_normalised_copy(make_pdf, db_path: Path) -> None:
    run(db_path, "ingest", str(make_pdf("p.pdf", [GPU_TEXT])))
    db = open_database(db_path)

    def hits(query: str) -> int:
        sql = "SELECT COUNT(*) FROM pages_fts WHERE pages_fts MATCH ?"
        return int(db.execute(sql, [normalize(query)]).fetchone()[0])

    assert hits("efficient") == 1, "the ﬃ ligature is expanded for search"
    assert hits("robust") == 1, "line-end hyphenation is joined for search"
    assert hits("a100") == 1
    assert hits("transformer") == 0


def test_title_comes_from_metadata_only_when_it_is_on_the_first_page(
    make_pdf, db_path: Path
) -> None:
    real = make_pdf(
        "real.pdf",
        ["text"],
        title="Scaling Laws for Things",
        metadata_title="Scaling Laws for Things",
    )
    junk = make_pdf(
        "junk.pdf", ["other text"], title="The Real Title", metadata_title="Overleaf Example"
    )
    run(db_path, "ingest", str(real), str(junk))
    db = open_database(db_path)
    titles = {p.file: (p.title, p.title_source) for p in paper_store.iter_papers(db)}
    assert titles["real.pdf"] == ("Scaling Laws for Things", "metadata")
    assert titles["junk.pdf"] == ("The Real Title", "first_page")


def test_reingesting_adds_nothing_and_says_so(make_pdf, db_path: Path) -> None:
    pdf = make_pdf("p.pdf", [GPU_TEXT])
    copy = pdf.with_name("copy-of-p.pdf")
    copy.write_bytes(pdf.read_bytes())
    code, out, _ = run(db_path, "ingest", str(pdf), str(copy))
    assert code == 0
    assert out.startswith("ingested 1, already present 1, failed 0")
    code, out, _ = run(db_path, "ingest", str(pdf.parent))
    assert code == 0
    assert out.startswith("ingested 0, already present 2, failed 0, 0 pages")
    db = open_database(db_path)
    assert db.execute("SELECT COUNT(*) FROM papers").fetchone()[0] == 1
    assert db.execute("SELECT COUNT(*) FROM pages").fetchone()[0] == 1


def test_folders_are_searched_recursively_for_pdfs_in_any_case(make_pdf, db_path: Path) -> None:
    make_pdf("a/one.pdf", ["first paper"])
    make_pdf("a/b/c/two.PDF", ["second paper"])
    root = make_pdf("a/b/three.pdf", ["third paper"]).parent.parent
    (root / "notes.txt").write_text("not a pdf, and not named like one")
    code, out, _ = run(db_path, "ingest", str(root))
    assert code == 0
    assert out.startswith("ingested 3,")


def _bad_inputs(tmp: Path, make_pdf) -> dict[str, tuple[Path, str]]:
    empty = tmp / "empty.pdf"
    empty.write_bytes(b"")
    noise = tmp / "noise.pdf"
    noise.write_bytes(os.urandom(4096).replace(b"%PDF-", b"xxxxx"))
    text = tmp / "readme.pdf"
    text.write_text("This is a plain text file wearing a .pdf name.\n" * 20)
    locked = tmp / "locked.pdf"
    doc = pymupdf.open()
    doc.new_page().insert_text((72, 72), "secret results on 8 GPUs")
    doc.save(locked, encryption=pymupdf.PDF_ENCRYPT_AES_256, user_pw="user", owner_pw="owner")
    scanned = tmp / "scanned.pdf"
    doc = pymupdf.open()
    page = doc.new_page()
    pixmap = pymupdf.Pixmap(pymupdf.csRGB, pymupdf.IRect(0, 0, 300, 300), False)
    pixmap.clear_with(180)
    page.insert_image(page.rect, pixmap=pixmap)
    doc.save(scanned)
    return {
        "empty": (empty, "empty file"),
        "random": (noise, "not a PDF"),
        "text": (text, "it is a text file"),
        "encrypted": (locked, "encrypted"),
        "scanned": (scanned, "no text layer"),
    }


def test_each_bad_file_gets_one_clear_error_and_the_rest_are_ingested(
    tmp_path: Path, make_pdf, db_path: Path
) -> None:
    good = [make_pdf("good1.pdf", [GPU_TEXT]), make_pdf("good2.pdf", ["Another paper."])]
    bad = _bad_inputs(tmp_path, make_pdf)
    args = [str(p) for p in good] + [str(path) for path, _ in bad.values()]
    code, out, err = run(db_path, "ingest", *args, str(tmp_path / "missing.pdf"))
    assert code == 1
    assert out.startswith("ingested 2, already present 0, failed 6")
    lines = err.strip().splitlines()
    assert len(lines) == 6, err
    for path, reason in bad.values():
        (line,) = [line for line in lines if line.startswith(f"error: {path}: ")]
        assert reason in line
    assert f"error: {tmp_path / 'missing.pdf'}: no such file or directory" in lines
    db = open_database(db_path)
    assert sorted(p.file for p in paper_store.iter_papers(db)) == ["good1.pdf", "good2.pdf"]
    recorded = {Path(e.path).name: e.reason for e in paper_store.ingest_errors(db)}
    assert set(recorded) == {path.name for path, _ in bad.values()}
    assert "ocrmypdf" in recorded["scanned.pdf"]


def test_a_file_that_fails_and_later_ingests_loses_its_error_row(
    make_pdf, tmp_path: Path, db_path: Path
) -> None:
    target = tmp_path / "late.pdf"
    target.write_bytes(b"")
    run(db_path, "ingest", str(target))
    assert len(paper_store.ingest_errors(open_database(db_path))) == 1
    make_pdf("late.pdf", ["now it has text"])
    code, _, _ = run(db_path, "ingest", str(target))
    assert code == 0
    assert paper_store.ingest_errors(open_database(db_path)) == []


def test_a_file_that_takes_too_long_is_stopped_and_the_rest_go_on(
    make_pdf, tmp_path: Path, db_path: Path
) -> None:
    from tests.conftest import write_slow_pdf

    big = write_slow_pdf(tmp_path / "huge.pdf")
    small = make_pdf("small.pdf", ["quick"])
    started = time.perf_counter()
    code, out, err = run(db_path, "ingest", "--timeout", "0.2", "--jobs", "1", str(big), str(small))
    assert time.perf_counter() - started < 30
    assert code == 1
    assert f"error: {big}: reading took longer than the 0.2 s limit" in err
    assert out.startswith("ingested 1, already present 0, failed 1")


def test_no_progress_bar_when_stderr_is_not_a_terminal(make_pdf, db_path: Path) -> None:
    code, out, err = run(db_path, "ingest", str(make_pdf("p.pdf", ["text"])))
    assert code == 0 and err == ""
    assert len(out.strip().splitlines()) == 1
    assert out.strip().endswith(" s")


def test_papers_lists_progress_and_filters_by_status(make_pdf, db_path: Path) -> None:
    from extraction.fields import FIELD_NAMES
    from storage.decisions import NewDecision, record

    run(db_path, "ingest", str(make_pdf("a.pdf", ["a"])), str(make_pdf("b.pdf", ["b"])))
    db = open_database(db_path)
    done = paper_store.resolve_paper(db, "a.pdf")
    assert done is not None
    record(
        db,
        [NewDecision(done.id, field, "not_reported", "not_reported") for field in FIELD_NAMES],
        annotator="ann",
    )
    code, out, _ = run(db_path, "papers", "--json")
    assert code == 0
    rows = {row["file"]: row for row in map(json.loads, out.splitlines())}
    assert rows["a.pdf"]["status"] == "done" and rows["a.pdf"]["fields_final"] == 12
    assert rows["b.pdf"]["status"] == "new" and rows["b.pdf"]["fields_final"] == 0
    assert rows["a.pdf"]["annotators"] == ["ann"]
    code, out, _ = run(db_path, "papers", "--status", "new")
    assert code == 0
    body = out.strip().splitlines()[1:]
    assert len(body) == 1 and body[0].startswith(rows["b.pdf"]["id"])
    code, _, err = run(db_path, "papers", "--status", "finished")
    assert code == 2 and "finished" in err


@pytest.mark.corpus
def test_the_real_corpus_ingests_completely(corpus: Path, db_path: Path) -> None:
    manifest = corpus.parent / "manifest.tsv"
    expected_pages = {
        line.split("\t")[0]: int(line.split("\t")[5])
        for line in manifest.read_text().splitlines()[1:]
        if line.strip()
    }
    code, out, err = run(db_path, "ingest", str(corpus))
    assert code == 0, err
    db = open_database(db_path)
    stored = {p.file: p for p in paper_store.iter_papers(db)}
    assert {f: p.pages for f, p in stored.items()} == expected_pages
    assert all(p.title and len(p.title) > 10 for p in stored.values())
    assert stored["palm_2022.pdf"].title == "PaLM: Scaling Language Modeling with Pathways"
    hits = db.execute(
        "SELECT DISTINCT papers.file FROM pages_fts JOIN pages ON pages.rowid = pages_fts.rowid "
        "JOIN papers ON papers.id = pages.paper_id WHERE pages_fts MATCH '\"6144 tpu v4\"'"
    ).fetchall()
    assert ("palm_2022.pdf",) in hits


def test_worker_start_up_does_not_count_against_the_time_limit(
    make_pdf, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A spawned worker takes longer to start (a new interpreter importing PyMuPDF) than a
    tight limit allows; only reading counts, so a quick file still lands."""
    from extraction.pdf import pool as pdfpool
    from tests.conftest import write_slow_pdf

    monkeypatch.setattr(pdfpool, "start_method", lambda: "spawn")
    slow = write_slow_pdf(tmp_path / "slow.pdf")
    quick = make_pdf("quick.pdf", ["quick"])
    with pdfpool.PdfPool(processes=1, timeout=0.08) as pool:
        results = {path.name: result for path, result in pool.read([slow, quick])}
    assert results["slow.pdf"] == "reading took longer than the 0.08 s limit"
    assert not isinstance(results["quick.pdf"], str), results["quick.pdf"]
    assert results["quick.pdf"].texts[0].strip() == "quick"
