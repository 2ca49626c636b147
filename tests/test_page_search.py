"""Full-text search of pages from the tools users browse with — sqlite-utils and Datasette —
over the normalised text the app searches, with the raw page text kept as stored; and the
migration that makes an older database's contentless index visible to them."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner
from datasette.app import Datasette
from sqlite_utils import Database
from sqlite_utils.cli import cli as sqlite_utils_cli

from extraction.evidence.textnorm import normalize
from storage import open_database
from storage import papers as paper_store
from storage.migrations import MIGRATIONS
from tui.cli import cli

# As PyMuPDF reads a real paper: ligatures ("ﬃ", "ﬁ"), a line-end hyphen, a compound.
SETUP = (
    "4 Experimental Setup\nWe trained the eﬃcient model on 64 NVIDIA A100 GPUs with 80GB of "
    "mem-\nory each, then ﬁne-tuned it with the Adam optimizer for 3 days."
)
OTHER = "Related work\nPrior studies trained transformers on TPU v3 pods."


def ingested(make_pdf, db_path: Path) -> Path:  # type: ignore[no-untyped-def]
    pdfs = [
        make_pdf("setup.pdf", ["Scaling Widgets\nExample University", SETUP]),
        make_pdf("other.pdf", ["Widget Theory\nExample Labs", OTHER]),
    ]
    result = CliRunner().invoke(cli, ["--db", str(db_path), "ingest", *map(str, pdfs)])
    assert result.exit_code == 0, result.stderr
    return db_path


def stored_text(db_path: Path) -> str:
    """Page 2 of setup.pdf as stored."""
    db = open_database(db_path)
    paper = paper_store.resolve_paper(db, "setup.pdf")
    assert paper is not None
    text = paper_store.page_texts(db, paper.id)[1]
    db.close()
    return text


def test_sqlite_utils_search_finds_pages(make_pdf, db_path: Path) -> None:
    ingested(make_pdf, db_path)
    assert Database(db_path)["pages"].detect_fts() == "pages_fts"  # type: ignore[union-attr]

    def search(query: str, *options: str) -> list[dict[str, object]]:
        arguments = ["search", str(db_path), "pages", query, *options]
        result = CliRunner().invoke(sqlite_utils_cli, arguments)
        assert result.exit_code == 0, result.output
        rows: list[dict[str, object]] = json.loads(result.output)
        return rows

    (hit,) = search("A100")
    stored = stored_text(db_path)
    assert hit["page"] == 2 and hit["text"] == stored, "the raw page text, exactly as stored"
    assert "eﬃcient" in stored and "mem-\nory" in stored
    # Over the normalised copy: ligatures expanded, hyphens joined ("ﬁne-tuned": finetuned).
    assert [row["page"] for row in search("efficient memory finetuned")] == [2]
    assert [row["page"] for row in search("64 A100 (80GB)", "--quote")] == [2]
    assert search("TPU") and not search("transformer A100")


async def test_datasette_offers_a_search_box_on_pages(make_pdf, db_path: Path) -> None:
    ingested(make_pdf, db_path)
    datasette = Datasette([str(db_path)])
    await datasette.invoke_startup()
    page = await datasette.client.get("/goldsmith/pages")
    assert page.status_code == 200
    assert 'name="_search"' in page.text, "Datasette shows its search box on pages"
    # A phrase typed in the box as it reads in the paper (the PDF has "eﬃcient", "mem-\nory").
    phrase = '"trained the efficient model on 64 NVIDIA A100 GPUs with 80GB of memory"'
    found = await datasette.client.get(
        "/goldsmith/pages.json", params={"_search": phrase, "_shape": "array"}
    )
    assert found.status_code == 200, found.text
    rows = found.json()
    assert [(row["page"], row["text"]) for row in rows] == [(2, stored_text(db_path))]
    nothing = await datasette.client.get(
        "/goldsmith/pages.json", params={"_search": '"64 TPU v3"', "_shape": "array"}
    )
    assert nothing.status_code == 200 and nothing.json() == []


def test_migration_rebuilds_an_older_contentless_index(db_path: Path) -> None:
    """A database made before the index had ``content="pages"`` keeps every indexed term (and
    its position) of every page, becomes searchable by sqlite-utils, and keeps its raw text."""
    db = Database(db_path)
    MIGRATIONS.apply(db, stop_before="m011_pages_fts_external_content")
    raw = [SETUP, OTHER, "", "Appendix: trained on 8 V100 GPUs"]
    with db.atomic():
        db.execute(
            "INSERT INTO papers (id, sha256, file, pages, added_at) VALUES (?, ?, ?, ?, ?)",
            ["ab" * 8, "ab" * 32, "old.pdf", len(raw), "2025-01-01T00:00:00+00:00"],
        )
        for number, text in enumerate(raw, start=1):
            rowid = db.execute(
                "INSERT INTO pages (paper_id, page, text) VALUES (?, ?, ?)",
                ["ab" * 8, number, text],
            ).lastrowid
            if number < 4:  # the last page never reached the old index (older crash)
                db.execute(
                    "INSERT INTO pages_fts (rowid, search_text) VALUES (?, ?)",
                    [rowid, normalize(text)],
                )

    def terms(table: str) -> set[tuple[str, int, int]]:
        db.execute(f"CREATE VIRTUAL TABLE temp.v USING fts5vocab(main, {table}, instance)")
        found = {(t, d, o) for t, d, o in db.execute('SELECT term, doc, "offset" FROM temp.v')}
        db.execute("DROP TABLE temp.v")
        return found

    before = terms("pages_fts")
    assert db["pages"].detect_fts() is None  # type: ignore[union-attr]
    db.close()

    db = open_database(db_path)  # applies the migration
    after = terms("pages_fts")
    appendix = {term for term, doc, _ in after if doc == 4}
    assert after - {t for t in after if t[1] == 4} == before, "the same terms, at the same places"
    assert {"appendix", "v100", "gpus"} <= appendix, "the page the old index lacked is indexed"
    assert db.execute("SELECT COUNT(*) FROM pages_fts_docsize").fetchone()[0] == len(raw)
    assert db["pages"].detect_fts() == "pages_fts"  # type: ignore[union-attr]
    assert [row["page"] for row in db["pages"].search('"efficient model"')] == [1]  # type: ignore[union-attr]
    assert paper_store.page_texts(db, "ab" * 8) == raw
    (hit,) = paper_store.search(db, normalize("ﬁne-tuned memory"))
    assert hit.paper.id == "ab" * 8 and hit.pages == (1,)
    db.close()


def test_a_title_with_a_hyphen_or_a_ligature_is_found_and_comes_first(
    make_pdf, db_path: Path
) -> None:
    """The query is normalised ("DeepSeek-V3" → "deepseekv3"); the title must be too, or a
    paper citing it outranks the paper itself."""
    title = "Self-Taught Eﬃcient Widgets"
    pdfs = [
        make_pdf("citing.pdf", ["Widget Survey\nExample Labs", f"[1] {title}. 2024.", title]),
        make_pdf("paper.pdf", [f"{title}\nExample University", SETUP], title=title),
    ]
    result = CliRunner().invoke(cli, ["--db", str(db_path), "ingest", *map(str, pdfs)])
    assert result.exit_code == 0, result.stderr
    db = open_database(db_path)
    paper = paper_store.resolve_paper(db, "paper.pdf")
    assert paper is not None and paper.title == title
    hits = paper_store.search(db, normalize("self-taught efficient widgets"))
    db.close()
    assert [(h.paper.file, h.in_title) for h in hits] == [
        ("paper.pdf", True),
        ("citing.pdf", False),
    ]
