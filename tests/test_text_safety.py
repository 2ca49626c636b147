"""Every text that reaches a terminal or a file is checked the same way: names with control
characters, bidi controls or the list separator are refused, and text stored as found (PDF
titles) is escaped in JSON and made visible in CSV."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from extraction.safe_text import json_escape, name_problem, unsafe_character
from tests.cli_process import goldsmith, table_counts
from tests.test_gold import decide_all
from tui.cli import cli

HOSTILE_TITLE = "Widgets\x1b]0;owned\x07\x1b[2J\u202eXY\x9b"


@pytest.fixture
def hostile_db(sample_db: Path) -> Path:
    """The sample database with a paper whose (PDF) title holds terminal controls."""
    conn = sqlite3.connect(sample_db)
    with conn:
        conn.execute("UPDATE papers SET title = ? WHERE file = 'api_costs.pdf'", [HOSTILE_TITLE])
    conn.close()
    return sample_db


def test_papers_json_escapes_bidi_and_c1_controls_as_it_does_esc(hostile_db: Path) -> None:
    finished = goldsmith("--db", hostile_db, "papers", "--json")
    assert finished.code == 0
    line = next(text for text in finished.out.splitlines() if "Widgets" in text)
    assert "\\u001b]0;owned\\u0007\\u001b[2J\\u202eXY\\u009b" in line
    assert unsafe_character(finished.out) is None, "nothing raw reaches the terminal"
    assert json.loads(line)["title"] == HOSTILE_TITLE, "and nothing is lost"


def test_exports_show_controls_in_titles_as_replacement_characters(hostile_db: Path) -> None:
    decide_all(hostile_db, "alice")
    for layout in ("wide", "long"):
        finished = goldsmith("--db", hostile_db, "export", "-", "--layout", layout)
        assert finished.code == 0
        assert unsafe_character(finished.out) is None
        rows = list(csv.DictReader(io.StringIO(finished.out)))
        titles = {row["title"] for row in rows if row["file"] == "api_costs.pdf"}
        assert titles == {"Widgets\ufffd]0;owned\ufffd\ufffd[2J\ufffdXY\ufffd"}
    jsonl = goldsmith("--db", hostile_db, "export", "-", "--format", "jsonl")
    assert jsonl.code == 0 and unsafe_character(jsonl.out) is None


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("bob;alice", "';' separates names in a list, so it cannot be part of an annotator name"),
        ("bob\x1b[2J", "contains the control character U+001B"),
        ("bob\u202eXY", "contains the bidi control character U+202E (it reorders text on screen)"),
        (" ", "an annotator name cannot be empty"),
    ],
)
def test_an_annotator_name_that_would_not_come_back_as_written_is_refused(
    name: str, problem: str, sample_db: Path, tmp_path: Path
) -> None:
    gold = tmp_path / "gold.csv"
    gold.write_text("paper_id,gpu_hours,gpu_hours_status\r\n")
    before = table_counts(sample_db)
    result = CliRunner().invoke(
        cli, ["--db", str(sample_db), "import-gold", str(gold), "--annotator", name]
    )
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr.splitlines() == [f"error: --annotator: {problem}"]
    if name.strip():  # an empty $GOLDSMITH_ANNOTATOR means the login name
        env = CliRunner().invoke(
            cli, ["--db", str(sample_db), "review"], env={"GOLDSMITH_ANNOTATOR": name}
        )
        assert env.exit_code == 2
        assert env.stderr.splitlines() == [
            f"error: $GOLDSMITH_ANNOTATOR (or the login name): {problem}"
        ]
    assert table_counts(sample_db) == before


def test_a_list_separator_in_a_name_is_refused_by_the_real_command(
    sample_db: Path, tmp_path: Path
) -> None:
    gold = tmp_path / "gold.csv"
    gold.write_text("paper_id,gpu_hours,gpu_hours_status\r\n")
    finished = goldsmith("--db", sample_db, "import-gold", gold, "--annotator", "smith; j")
    assert (finished.code, finished.out) == (2, "")
    assert finished.error_lines == [
        "error: --annotator: ';' separates names in a list, so it cannot be part of an "
        "annotator name"
    ]


def test_a_run_name_with_terminal_controls_is_refused(papers_db: Path, tmp_path: Path) -> None:
    file = tmp_path / "p.jsonl"
    file.write_text('{"paper": "gpu_paper.pdf", "field": "gpu_hours", "status": "not_reported"}\n')
    finished = goldsmith("--db", papers_db, "import-proposals", file, "--run", "gpt\x1b[31m")
    assert (finished.code, finished.error_lines) == (
        2,
        ["error: --run: contains the control character U+001B"],
    )


def test_the_shared_rules() -> None:
    assert unsafe_character("tab\tnew line\ncarriage return\r, é, 中文, 😀") is None
    for char in "\x00\x07\x0c\x1b\x7f\x85\x9b\u061c\u200e\u200f\u202a\u202e\u2066\u2069\ud800":
        assert unsafe_character(f"a{char}b"), repr(char)
    assert name_problem("Ada Lovelace") is None and name_problem("x" * 101)
    text = json.dumps({"t": "\u200d\u2028\U000e0001 ok"}, ensure_ascii=False)
    escaped = json_escape(text)
    assert escaped == '{"t": "\\u200d\\u2028\\udb40\\udc01 ok"}'
    assert json.loads(escaped) == json.loads(text)
