"""Hostile files for ``import-gold`` and ``import-proposals``: wrong encodings, ragged rows,
huge cells, unknown fields and statuses, duplicates, control characters. Each problem is
named by row and column (or line), and nothing at all is imported."""

from __future__ import annotations

import codecs
import csv
import io
import json
from collections.abc import Callable
from pathlib import Path

import pytest

from extraction.engines.imported import MAX_LINE
from extraction.gold.files import MAX_CELL
from storage import open_database
from tests.test_gold import decide_all, run


def table_counts(db_path: Path) -> dict[str, int]:
    """Rows in every table: an import that fails must leave every one unchanged."""
    db = open_database(db_path)
    try:
        return {
            name: db.execute(f'SELECT COUNT(*) FROM "{name}"').fetchone()[0]
            for name in db.table_names()
        }
    finally:
        db.close()


def check_refused(db_path: Path, file: Path, args: list[str], expected: list[str]) -> None:
    before = table_counts(db_path)
    code, out, err = run(db_path, *args)
    assert code == 1 and out == ""
    lines = err.strip().splitlines()
    assert lines[:-1] == [f"error: {file}: {problem}" for problem in expected]
    assert lines[-1] == f"nothing imported: {len(expected)} problem(s) in {file}"
    assert table_counts(db_path) == before, "nothing partially imported"


# --- import-gold ------------------------------------------------------------------------------


@pytest.fixture
def gold_rows(sample_db: Path, tmp_path: Path) -> list[list[str]]:
    """A valid wide gold export of the sample papers, as rows of cells."""
    decide_all(sample_db, "alice")
    exported = tmp_path / "gold.csv"
    assert run(sample_db, "export", str(exported))[0] == 0
    return list(csv.reader(exported.open(newline="", encoding="utf-8")))


def to_csv(rows: list[list[str]]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(rows)
    return out.getvalue()


def set_cell(row: int, column: str, value: str) -> Callable[[list[list[str]]], bytes]:
    """Put ``value`` in a cell (and, for a field's value, say it is reported)."""

    def change(rows: list[list[str]]) -> bytes:
        rows[row - 1][rows[0].index(column)] = value
        if f"{column}_status" in rows[0]:
            rows[row - 1][rows[0].index(f"{column}_status")] = "reported"
        return to_csv(rows).encode()

    return change


def ragged(rows: list[list[str]]) -> bytes:
    rows[2] = rows[2][:-2]
    rows[4] = [*rows[4], "extra"]
    return to_csv(rows).encode()


def duplicated(rows: list[list[str]]) -> bytes:
    return to_csv([*rows, rows[1]]).encode()


def unknown_field(rows: list[list[str]]) -> bytes:
    rows[0][rows[0].index("accelerator_count")] = "gpu_count"
    return to_csv(rows).encode()


def latin1_cell(rows: list[list[str]]) -> bytes:
    return to_csv(rows[:3]).encode() + to_csv([["café", *rows[3][1:]]]).encode("latin-1")


GOLD_CASES: dict[str, tuple[Callable[[list[list[str]]], bytes], list[str]]] = {
    "utf16": (
        lambda rows: codecs.BOM_UTF16_LE + to_csv(rows).encode("utf-16-le"),
        ["row 1: the file is UTF-16 text; re-save it as UTF-8"],
    ),
    "latin1": (latin1_cell, ["row 4: not UTF-8 text (byte 0xe9); re-save it as UTF-8"]),
    "ragged": (
        ragged,
        ["row 3: 30 cells, the header has 32", "row 5: 33 cells, the header has 32"],
    ),
    "huge cell": (
        set_cell(3, "compute_provider", "x" * (MAX_CELL * 3)),
        [f"row 3, column compute_provider: longer than {MAX_CELL} characters"],
    ),
    "unknown field": (
        unknown_field,
        [
            "row 1: unknown column(s): gpu_count",
            "row 1: column accelerator_count is missing (it comes in pairs)",
        ],
    ),
    "unknown status": (
        set_cell(2, "gpu_hours_status", "REPORTED!"),
        [
            "row 2, column gpu_hours_status: unknown status 'REPORTED!' "
            "(reported, not_reported, ambiguous)"
        ],
    ),
    "duplicate row": (duplicated, ["row 8, column paper_id: same paper as row 2"]),
    "NUL byte": (
        set_cell(4, "compute_provider", "AWS\x00"),
        ["row 4, column compute_provider: contains the control character U+0000"],
    ),
    "escape sequence": (
        set_cell(2, "models_used", "GPT-4\x1b]0;owned\x07"),
        ["row 2, column models_used: contains the control character U+001B"],
    ),
    "terminal escapes in annotators": (
        set_cell(2, "annotators", "bob\x1b]0;TITLE\x07\x1b[2J\u202eXY"),
        ["row 2, column annotators: contains the control character U+001B"],
    ),
    "bidi override in annotators": (
        set_cell(3, "annotators", "alice; bob\u202eXY"),
        [
            "row 3, column annotators: contains the bidi control character U+202E "
            "(it reorders text on screen)"
        ],
    ),
    "escape sequence in a column the import leaves out": (
        set_cell(3, "title", "Widgets\x1b]0;owned\x07"),
        ["row 3, column title: contains the control character U+001B"],
    ),
    "bidi override in a derived column": (
        set_cell(2, "derived_device_hours", "12\u202e"),
        [
            "row 2, column derived_device_hours: contains the bidi control character U+202E "
            "(it reorders text on screen)"
        ],
    ),
    "badly named metadata column": (
        lambda rows: to_csv([rows[0] + ["meta_1st"], *(row + ["a"] for row in rows[1:])]).encode(),
        [
            "row 1, column meta_1st: not a metadata column name (meta_, then a letter, then "
            "letters, digits or _, at most 40)"
        ],
    ),
    "metadata cell with a tab": (
        lambda rows: to_csv(
            [rows[0] + ["meta_venue"], rows[1] + ["ICML\tx"], *(row + [""] for row in rows[2:])]
        ).encode(),
        ["row 2, column meta_venue: contains the control character U+0009"],
    ),
    "lone surrogate": (
        lambda rows: set_cell(2, "compute_provider", "AWS")(rows).replace(b"AWS", b"\xed\xa0\x80x"),
        ["row 2: not UTF-8 text (byte 0xed); re-save it as UTF-8"],
    ),
    "empty": (lambda rows: b"", ["the file is empty"]),
    "header only": (lambda rows: to_csv(rows[:1]).encode(), ["no rows"]),
    "unterminated quote": (
        lambda rows: to_csv(rows).encode() + b'"never closed,\r\n' + b"x" * 50,
        ["row 8: 1 cells, the header has 32"],
    ),
}


@pytest.mark.parametrize("case", list(GOLD_CASES))
def test_import_gold_refuses_hostile_files(
    case: str, gold_rows: list[list[str]], sample_db: Path, tmp_path: Path
) -> None:
    make, expected = GOLD_CASES[case]
    file = tmp_path / "hostile.csv"
    file.write_bytes(make([list(row) for row in gold_rows]))
    check_refused(sample_db, file, ["import-gold", str(file), "--annotator", "x"], expected)


def test_import_gold_takes_a_utf8_file_with_a_byte_order_mark(
    gold_rows: list[list[str]], sample_db: Path, tmp_path: Path
) -> None:
    """Excel's "CSV UTF-8" adds a byte-order mark: that is still UTF-8 and is read."""
    file = tmp_path / "excel.csv"
    file.write_bytes(codecs.BOM_UTF8 + to_csv(gold_rows).encode())
    code, out, err = run(sample_db, "import-gold", str(file), "--annotator", "x")
    assert code == 0, err
    assert out.strip() == "imported 72 decisions for 6 papers as x"


# --- import-proposals ---------------------------------------------------------------------------

GOOD = {
    "paper": "gpu_paper.pdf",
    "field": "accelerator_count",
    "status": "reported",
    "value": 8,
    "evidence": {"page": 2, "quote": "8 NVIDIA A100 GPUs"},
}


def line(*, ensure_ascii: bool = True, **changes: object) -> str:
    return json.dumps({**GOOD, **changes}, ensure_ascii=ensure_ascii)


PROPOSAL_CASES: dict[str, tuple[bytes, list[str]]] = {
    "utf16": (
        codecs.BOM_UTF16_LE + (line() + "\n").encode("utf-16-le"),
        ["line 1: the file is UTF-16 text; re-save it as UTF-8"],
    ),
    "latin1": (
        (line() + "\n" + line(paper="café.pdf", ensure_ascii=False)).encode("latin-1"),
        ["line 2: not UTF-8 text (byte 0xe9); re-save it as UTF-8"],
    ),
    "huge line": (
        (
            line()
            + "\n"
            + line(field="gpu_hours", value=1, evidence={"page": 2, "quote": "x" * MAX_LINE})
        ).encode(),
        [f"line 2: longer than {MAX_LINE} characters"],
    ),
    "deeply nested": (
        (line() + "\n" + "[" * 100_000 + "]" * 100_000 + "\n").encode(),
        ["line 2: not usable JSON (nested too deeply)"],
    ),
    "unknown field and status": (
        (
            line(field="gpu_count") + "\n" + line(field="gpu_hours", status="probably") + "\n"
        ).encode(),
        [
            "line 1: unknown field 'gpu_count' (fields: ",
            "line 2: gpu_hours: status: Input should be 'reported', 'not_reported' or 'ambiguous'",
        ],
    ),
    "duplicate": (
        (line() + "\n" + line(value=16) + "\n").encode(),
        ["line 2: duplicate of line 1 (same paper and field)"],
    ),
    "NUL in a value": (
        (line() + "\n" + line(field="compute_provider", value="AWS\x00") + "\n").encode(),
        ["line 2: compute_provider: value: contains the control character U+0000"],
    ),
    "NUL byte": ((line() + "\x00\n").encode(), ["line 1: not valid JSON (Extra data, column "]),
    "not a number": (
        (line(field="gpu_hours", value=float("nan")) + "\n").encode(),
        ["line 1: gpu_hours: value: not a finite number"],
    ),
    "empty": (b"\n\n", ["no proposals in the file"]),
    "escape sequence in a quote": (
        (line(evidence={"page": 2, "quote": "8 NVIDIA\x1b[2J A100 GPUs"}) + "\n").encode(),
        ["line 1: accelerator_count: quote: contains the control character U+001B"],
    ),
    "lone surrogate in a value": (
        (line(field="compute_provider", value="\ud800x") + "\n").encode(),
        [
            "line 1: compute_provider: value: contains a lone surrogate U+D800 "
            "(not a character; not valid UTF-8)"
        ],
    ),
    "lone surrogate in a quote": (
        (line(evidence={"page": 2, "quote": "8 \udfff GPUs"}) + "\n").encode(),
        ["line 1: accelerator_count: quote: contains a lone surrogate U+DFFF"],
    ),
    "5,000-digit integer": (
        (line() + "\n" + line(field="gpu_hours").replace("8", "9" * 5000, 1) + "\n").encode(),
        ["line 2: not usable JSON (a number with more than 4300 digits)"],
    ),
}


@pytest.mark.parametrize("case", list(PROPOSAL_CASES))
def test_import_proposals_refuses_hostile_files(case: str, papers_db: Path, tmp_path: Path) -> None:
    content, expected = PROPOSAL_CASES[case]
    file = tmp_path / "hostile.jsonl"
    file.write_bytes(content)
    before = table_counts(papers_db)
    code, out, err = run(papers_db, "import-proposals", str(file), "--run", "hostile")
    assert code == 1 and out == ""
    lines = err.strip().splitlines()
    assert len(lines) == len(expected) + 1
    for got, want in zip(lines, expected, strict=False):
        assert got.startswith(f"error: {file}: {want}"), (got, want)
    assert lines[-1] == f"nothing imported: {len(expected)} problem(s) in {file}"
    assert table_counts(papers_db) == before, "nothing partially imported"
