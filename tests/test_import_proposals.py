"""`goldsmith import-proposals`: all lines checked, all or nothing, grounded like the rest."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from storage import open_database
from storage import papers as paper_store
from storage import runs as run_store
from tui.cli import cli


def write_jsonl(path: Path, records: list[object]) -> Path:
    path.write_text("\n".join(r if isinstance(r, str) else json.dumps(r) for r in records) + "\n")
    return path


def run(db: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["--db", str(db), *args], catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def test_proposals_import_by_id_sha_or_file_name_and_are_grounded(
    papers_db: Path, tmp_path: Path
) -> None:
    db = open_database(papers_db)
    gpu = paper_store.resolve_paper(db, "gpu_paper.pdf")
    tpu = paper_store.resolve_paper(db, "tpu_paper.pdf")
    assert gpu and tpu
    file = write_jsonl(
        tmp_path / "gpt4o.jsonl",
        [
            {
                "paper": gpu.id,
                "field": "accelerator_count",
                "status": "reported",
                "value": 8,
                "evidence": {"page": 6, "quote": "trained on 8 NVIDIA A100 GPUs"},
            },
            {
                "paper": gpu.sha256,
                "field": "training_time_hours",
                "status": "reported",
                "value": "3 days",
                "evidence": {"page": 2, "quote": "for 3 days"},
            },
            {
                "paper": "tpu_paper.pdf",
                "field": "accelerator_count",
                "status": "reported",
                "value": 1024,
                "evidence": {"page": 2, "quote": "on 1024 TPU v4 chips"},
            },
            {"paper": "tpu_paper.pdf", "field": "gpu_hours", "status": "not_reported"},
        ],
    )
    code, out, err = run(papers_db, "import-proposals", str(file), "--run", "gpt4o")
    assert code == 0, err
    assert out.strip() == (
        "imported 4 proposals for 2 papers as run gpt4o (1 with evidence not found in the paper)"
    )
    run_row = run_store.get_run(db, "gpt4o")
    assert run_row and run_row.engine == "import"
    gpu_props = run_store.proposals_for(db, gpu.id, run_row.id)
    count = gpu_props["accelerator_count"]
    assert (count.grounding, count.page) == ("exact", 2), "page 6 corrected to 2"
    assert count.note == "page corrected from 6"
    assert gpu_props["training_time_hours"].value == 72.0
    tpu_props = run_store.proposals_for(db, tpu.id, run_row.id)
    assert tpu_props["accelerator_count"].grounding == "ungrounded"
    assert tpu_props["accelerator_count"].value_in_quote is True
    assert tpu_props["gpu_hours"].status == "not_reported"


def test_a_page_beyond_the_paper_is_corrected_or_dropped(papers_db: Path, tmp_path: Path) -> None:
    file = write_jsonl(
        tmp_path / "pages.jsonl",
        [
            {
                "paper": "gpu_paper.pdf",
                "field": "accelerator_count",
                "status": "reported",
                "value": 8,
                "evidence": {"page": 40, "quote": "8 NVIDIA A100 GPUs"},
            },
            {
                "paper": "gpu_paper.pdf",
                "field": "gpu_hours",
                "status": "reported",
                "value": 9,
                "evidence": {"page": 41, "quote": "nine thousand GPU hours"},
            },
        ],
    )
    assert run(papers_db, "import-proposals", str(file), "--run", "p")[0] == 0
    db = open_database(papers_db)
    rows = dict(
        (field, (page, note))
        for field, page, note in db.execute("SELECT field, page, note FROM proposals")
    )
    assert rows["accelerator_count"] == (2, "page corrected from 40")
    assert rows["gpu_hours"][0] is None
    assert "claimed page 41 is not in the paper (3 pages)" in rows["gpu_hours"][1]


def test_every_bad_line_is_reported_and_nothing_is_imported(
    papers_db: Path, tmp_path: Path
) -> None:
    good = {
        "paper": "gpu_paper.pdf",
        "field": "accelerator_count",
        "status": "reported",
        "value": 8,
        "evidence": {"page": 2, "quote": "8 NVIDIA A100 GPUs"},
    }
    file = write_jsonl(
        tmp_path / "bad.jsonl",
        [
            good,
            "{not json",
            {
                "paper": "missing.pdf",
                "field": "accelerator_count",
                "status": "reported",
                "value": 1,
            },
            {"paper": "gpu_paper.pdf", "field": "gpu_count", "status": "reported", "value": 1},
            {"paper": "gpu_paper.pdf", "field": "gpu_hours", "status": "perhaps", "value": 1},
            {
                "paper": "gpu_paper.pdf",
                "field": "training_time_hours",
                "status": "reported",
                "value": "forever",
            },
            good,
            ["a", "list"],
            {
                "paper": "gpu_paper.pdf",
                "field": "api_cost_usd",
                "status": "reported",
                "value": 3,
                "evidence": "page 2",
            },
        ],
    )
    code, out, err = run(papers_db, "import-proposals", str(file), "--run", "bad")
    assert code == 1 and out == ""
    lines = err.strip().splitlines()
    prefix = f"error: {file}: line "
    assert lines[:-1] == [
        prefix + "2: not valid JSON (Expecting property name enclosed in double quotes, column 2)",
        prefix + "3: unknown paper 'missing.pdf'",
        prefix + "4: unknown field 'gpu_count' (fields: " + lines[2].split("(fields: ")[1],
        prefix + "5: gpu_hours: status: Input should be 'reported', 'not_reported' or 'ambiguous'",
        prefix + "6: training_time_hours: value: no duration in 'forever'; write e.g. '72', "
        "'3 days' or '36h'",
        prefix + "7: duplicate of line 1 (same paper and field)",
        prefix + "8: expected a JSON object",
        prefix + "9: evidence must be an object with page and quote",
    ]
    assert lines[-1] == f"nothing imported: 8 problem(s) in {file}"
    db = open_database(papers_db)
    assert run_store.get_run(db, "bad") is None
    assert db.execute("SELECT COUNT(*) FROM proposals").fetchone()[0] == 0


def test_a_file_that_is_not_utf8_is_refused_by_line(papers_db: Path, tmp_path: Path) -> None:
    file = tmp_path / "latin1.jsonl"
    file.write_bytes(b'{"paper": "a"}\n{"paper": "caf\xe9"}\n')
    code, _, err = run(papers_db, "import-proposals", str(file), "--run", "x")
    assert code == 1
    assert f"error: {file}: line 2: not UTF-8 text (byte 0xe9)" in err


def test_an_existing_run_name_is_refused(papers_db: Path, tmp_path: Path) -> None:
    file = write_jsonl(
        tmp_path / "p.jsonl",
        [{"paper": "gpu_paper.pdf", "field": "gpu_hours", "status": "not_reported"}],
    )
    assert run(papers_db, "import-proposals", str(file), "--run", "x")[0] == 0
    code, _, err = run(papers_db, "import-proposals", str(file), "--run", "x")
    assert code == 1 and "run 'x' exists already" in err
