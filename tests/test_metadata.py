"""Paper metadata: import-metadata (and ingest --metadata), shown in papers, exported, and
hostile files refused whole with one line per problem."""

from __future__ import annotations

import codecs
import json
from pathlib import Path

import pytest

from storage import open_database
from tests.test_gold import run
from tests.test_hostile_imports import check_refused


def ids_by_file(db_path: Path) -> dict[str, str]:
    db = open_database(db_path)
    try:
        return {file: paper for paper, file in db.execute("SELECT id, file FROM papers")}
    finally:
        db.close()


def stored(db_path: Path) -> dict[str, dict[str, str]]:
    db = open_database(db_path)
    try:
        found: dict[str, dict[str, str]] = {}
        for file, name, value in db.execute(
            "SELECT p.file, m.name, m.value FROM paper_metadata m "
            "JOIN papers p ON p.id = m.paper_id"
        ):
            found.setdefault(file, {})[name] = value
        return found
    finally:
        db.close()


def write_csv(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_import_by_id_sha256_and_file_name(papers_db: Path, tmp_path: Path) -> None:
    ids = ids_by_file(papers_db)
    db = open_database(papers_db)
    sha = db.execute("SELECT sha256 FROM papers WHERE file = 'tpu_paper.pdf'").fetchone()[0]
    db.close()
    file = write_csv(
        tmp_path / "meta.csv",
        "paper,Venue,year,arxiv_id,title\r\n"
        f"{ids['gpu_paper.pdf']},NeurIPS,2023,2301.00001,ignored\r\n"
        f"{sha},ICML,2022,,ignored\r\n"
        "no_compute.pdf,arXiv,2021,2101.00002,ignored\r\n",
    )
    code, out, err = run(papers_db, "import-metadata", str(file))
    assert code == 0, err
    assert out.strip() == "metadata: 8 values for 3 papers (venue, year, arxiv_id)"
    assert "left out the papers' own column(s): title" in err
    assert stored(papers_db) == {
        "gpu_paper.pdf": {"venue": "NeurIPS", "year": "2023", "arxiv_id": "2301.00001"},
        "tpu_paper.pdf": {"venue": "ICML", "year": "2022"},
        "no_compute.pdf": {"venue": "arXiv", "year": "2021", "arxiv_id": "2101.00002"},
    }
    # A second file updates values, and an empty cell removes one.
    again = write_csv(tmp_path / "again.csv", "file,venue,arxiv_id\r\ngpu_paper.pdf,ICLR,\r\n")
    code, out, _ = run(papers_db, "import-metadata", str(again))
    assert code == 0 and "1 cleared" in out
    assert stored(papers_db)["gpu_paper.pdf"] == {"venue": "ICLR", "year": "2023"}


def test_papers_lists_and_export_metadata_round_trips(papers_db: Path, tmp_path: Path) -> None:
    file = write_csv(
        tmp_path / "meta.csv",
        'file,venue,note\r\ngpu_paper.pdf,NeurIPS,"=1+1"\r\ntpu_paper.pdf,ICML,-\r\n',
    )
    assert run(papers_db, "import-metadata", str(file))[0] == 0
    code, out, _ = run(papers_db, "papers", "--json")
    records = {r["file"]: r for r in map(json.loads, out.splitlines())}
    assert records["gpu_paper.pdf"]["metadata"] == {"venue": "NeurIPS", "note": "=1+1"}
    assert records["no_compute.pdf"]["metadata"] == {}
    code, out, _ = run(papers_db, "papers")  # piped: tab-separated, metadata columns last
    header, *rows = out.splitlines()
    assert header.split("\t")[-2:] == ["venue", "note"]
    assert any(r.split("\t")[-2:] == ["NeurIPS", "=1+1"] for r in rows)

    exported = tmp_path / "out.csv"
    assert run(papers_db, "export-metadata", str(exported))[0] == 0
    text = exported.read_text(encoding="utf-8")
    assert "'=1+1" in text, "formula cells are neutralised"
    # Loading the export into a fresh copy gives the same values back.
    db = open_database(papers_db)
    with db.conn:
        db.execute("DELETE FROM paper_metadata")
    db.close()
    assert run(papers_db, "import-metadata", str(exported))[0] == 0
    assert stored(papers_db) == {
        "gpu_paper.pdf": {"venue": "NeurIPS", "note": "=1+1"},
        "tpu_paper.pdf": {"venue": "ICML", "note": "-"},
    }


HOSTILE: dict[str, tuple[str | bytes, list[str]]] = {
    "unknown paper and duplicate": (
        "file,venue\r\ngpu_paper.pdf,A\r\nmissing.pdf,B\r\ngpu_paper.pdf,C\r\n",
        [
            "row 3, column file: no paper 'missing.pdf' in this database",
            "row 4, column file: same paper as row 2",
        ],
    ),
    "ragged rows": (
        "file,venue,year\r\ngpu_paper.pdf,A\r\ntpu_paper.pdf,B,2020,x\r\n",
        ["row 2: 2 cells, the header has 3", "row 3: 4 cells, the header has 3"],
    ),
    "escape sequence and bidi override": (
        "file,venue,year\r\ngpu_paper.pdf,A\x1b[31m,2020\r\ntpu_paper.pdf,B\u202eevil,2021\r\n",
        [
            "row 2, column venue: contains the control character U+001B",
            "row 3, column venue: contains the bidi control character U+202E "
            "(it reorders text on screen)",
        ],
    ),
    "line break inside a cell": (
        'file,venue\r\ngpu_paper.pdf,"two\nlines"\r\n',
        ["row 2, column venue: contains the control character U+000A"],
    ),
    "bad column names": (
        "file,venue,venue,2nd place,\r\ngpu_paper.pdf,A,B,C,D\r\n",
        [
            "row 1, column 4: '2nd place' is not a usable column name "
            "(a letter, then letters, digits or _, at most 40)",
            "row 1, column 5: no column name",
            "row 1: column(s) named twice: venue",
        ],
    ),
    "no key column": (
        "venue,year\r\nA,2020\r\n",
        ["row 1: no column naming the paper (paper_id, id, sha256, file or paper)"],
    ),
    "huge cell": (
        "file,venue\r\ngpu_paper.pdf," + "x" * 10_001 + "\r\n",
        ["row 2, column venue: longer than 10000 characters"],
    ),
    "utf16": (
        codecs.BOM_UTF16_LE + "file,venue\r\ngpu_paper.pdf,A\r\n".encode("utf-16-le"),
        ["row 1: the file is UTF-16 text; re-save it as UTF-8"],
    ),
    "empty": ("", ["the file is empty"]),
    "header only": ("file,venue\r\n", ["no rows"]),
}


@pytest.mark.parametrize("case", list(HOSTILE))
def test_hostile_metadata_files_are_refused_whole(
    papers_db: Path, tmp_path: Path, case: str
) -> None:
    content, expected = HOSTILE[case]
    file = tmp_path / "meta.csv"
    if isinstance(content, bytes):
        file.write_bytes(content)
    else:
        file.write_bytes(content.encode("utf-8"))
    check_refused(papers_db, file, ["import-metadata", str(file)], expected)


def test_oversized_file_is_refused_before_reading(
    papers_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import extraction.metadata

    monkeypatch.setattr(extraction.metadata, "MAX_BYTES", 1000)
    file = tmp_path / "big.csv"
    file.write_text("file,venue\r\n" + "gpu_paper.pdf,A\r\n" * 200, encoding="utf-8")
    check_refused(
        papers_db,
        file,
        ["import-metadata", str(file)],
        ["the file is 0 MB; metadata files are limited to 0 MB"],
    )


def test_ingest_with_metadata(make_pdf, tmp_path: Path, db_path: Path) -> None:  # noqa: ANN001
    make_pdf("papers/a.pdf", ["Paper A\nWe trained on 8 GPUs."])
    make_pdf("papers/b.pdf", ["Paper B\nNo experiments."])
    bad = write_csv(tmp_path / "bad.csv", "file,venue\r\na.pdf,X\x00\r\n")
    code, out, err = run(db_path, "ingest", str(tmp_path / "papers"), "--metadata", str(bad))
    assert code == 1 and "row 2, column venue: contains the control character U+0000" in err
    assert "ingested" not in out, "a bad metadata file stops ingest before any PDF is read"
    good = write_csv(
        tmp_path / "meta.csv", "file,venue,year\r\na.pdf,NeurIPS,2024\r\nb.pdf,ICML,2023\r\n"
    )
    code, out, err = run(db_path, "ingest", str(tmp_path / "papers"), "--metadata", str(good))
    assert code == 0, err
    assert "ingested 2" in out and "metadata: 4 values for 2 papers" in out
    assert stored(db_path) == {
        "a.pdf": {"venue": "NeurIPS", "year": "2024"},
        "b.pdf": {"venue": "ICML", "year": "2023"},
    }
    # A reference to a file that was not ingested: the PDFs are in, the metadata is not.
    wrong = write_csv(tmp_path / "wrong.csv", "file,venue\r\nc.pdf,ACL\r\n")
    code, out, err = run(db_path, "ingest", str(tmp_path / "papers"), "--metadata", str(wrong))
    assert code == 1 and "row 2, column file: no paper 'c.pdf' in this database" in err
    assert "already present 2" in out
