"""Gold files are the same bytes in every database: papers in a stable order (file name, then
paper id), whatever order they were ingested in."""

from __future__ import annotations

import csv
import json
import random
from pathlib import Path

import pytest
from click.testing import CliRunner

from extraction.engines.imported import import_proposals
from extraction.fields import FIELD_NAMES
from extraction.pdf.ingest import find_pdfs, ingest
from storage import open_database
from storage import papers as paper_store
from storage.decisions import NewDecision, record
from tests.conftest import SAMPLE_DATA, write_pdf
from tui.cli import cli


def run(db: Path, *args: str) -> str:
    result = CliRunner().invoke(cli, ["--db", str(db), *args], catch_exceptions=False)
    assert result.exit_code == 0, result.stderr
    return result.stdout


@pytest.fixture
def pdfs(tmp_path: Path) -> list[Path]:
    """The sample papers, and two different papers that share one file name."""
    found, _ = find_pdfs([SAMPLE_DATA])
    for folder, gpus in (("lab_a", 16), ("lab_b", 32)):
        found.append(
            write_pdf(
                tmp_path / folder / "paper.pdf",
                ["A Widget Study\nExample University", f"We trained on {gpus} V100 GPUs."],
            )
        )
    return found


def ingested(db_path: Path, paths: list[Path]) -> list[str]:
    """Ingest ``paths`` one at a time in that order (one call would read them largest first);
    the file names in the order the database holds them (its rowid order)."""
    db = open_database(db_path)
    for path in paths:
        assert [r.outcome.value for r in ingest(db, [path], processes=1)] == ["ingested"]
    import_proposals(db, SAMPLE_DATA / "proposals.jsonl", "sample-llm")
    order = [paper.file for paper in paper_store.iter_papers(db)]
    db.close()
    return order


def decide(db_path: Path) -> None:
    """Alice decides every field of every paper (a different count on each, so rows differ)."""
    db = open_database(db_path)
    for number, paper in enumerate(paper_store.iter_papers(db)):
        decisions = [
            NewDecision(paper.id, field, "not_reported", "not_reported")
            for field in FIELD_NAMES
            if field != "accelerator_count"
        ]
        decisions.append(
            NewDecision(
                paper.id,
                "accelerator_count",
                "corrected",
                "reported",
                value=number + 1,
                page=1,
                quote=paper.file,
            )
        )
        record(db, decisions, annotator="alice")
    db.close()


def rows(path: Path) -> list[list[str]]:
    return list(csv.reader(path.open(newline="", encoding="utf-8")))


def without_evidence(path: Path) -> list[dict[str, object]]:
    lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    return [{k: v for k, v in line.items() if k != "evidence"} for line in lines]


def test_export_import_export_is_byte_identical_across_ingest_orders(
    pdfs: list[Path], tmp_path: Path
) -> None:
    first_db, second_db = tmp_path / "first.db", tmp_path / "second.db"
    shuffled = list(reversed(pdfs))
    random.Random(13).shuffle(shuffled)
    first_order = ingested(first_db, pdfs)
    second_order = ingested(second_db, shuffled)
    assert first_order != second_order, "the two databases must hold the papers in other orders"
    decide(first_db)
    metadata = tmp_path / "metadata.csv"
    metadata.write_text(
        "file,venue,year\r\napi_costs.pdf,=HYPERLINK(1),2023\r\npod_scale_lm.pdf,ICML,\r\n"
    )
    run(first_db, "import-metadata", str(metadata))

    wide = tmp_path / "wide.csv"
    run(first_db, "export", str(wide))
    assert rows(wide)[0][-3:] == ["annotators", "meta_venue", "meta_year"]
    by_file = {row[1]: row[-2:] for row in rows(wide)[1:]}
    assert by_file["api_costs.pdf"] == ["'=HYPERLINK(1)", "2023"]
    assert by_file["pod_scale_lm.pdf"] == ["ICML", ""]
    imported = run(second_db, "import-gold", str(wide), "--annotator", "carol")
    assert imported.splitlines()[-1] == "metadata: 3 values for 2 papers (venue, year)"
    again = tmp_path / "again.csv"
    run(second_db, "export", str(again))
    assert again.read_bytes() == wide.read_bytes(), "metadata included"
    assert run(first_db, "export-metadata", "-") == run(second_db, "export-metadata", "-")

    # The order is file name, then paper id: the two papers named paper.pdf by their ids.
    body = rows(wide)[1:]
    keys = [(row[1], row[0]) for row in body]
    assert keys == sorted(keys) and len(keys) == len(pdfs)
    assert [key[0] for key in keys].count("paper.pdf") == 2

    # Every other layout and format keeps the same order of papers (and fields) too.
    for name, args in {
        "long": ("--layout", "long"),
        "partial": ("--include-partial",),
        "jsonl": ("--format", "jsonl"),
    }.items():
        out_first, out_second = tmp_path / f"{name}-1", tmp_path / f"{name}-2"
        run(first_db, "export", str(out_first), *args)
        run(second_db, "export", str(out_second), *args)
        if name == "jsonl":
            # alice's evidence travels in the first; the imported gold set has none
            first_lines, second_lines = without_evidence(out_first), without_evidence(out_second)
            assert first_lines == second_lines and len(first_lines) == 12 * len(pdfs)
        elif name == "long":
            # the same papers and fields, row for row (verdicts and times are each database's)
            assert [r[:4] for r in rows(out_first)] == [r[:4] for r in rows(out_second)]
            assert [r[-2:] for r in rows(out_first)] == [r[-2:] for r in rows(out_second)]
            assert rows(out_first)[0][-3:] == ["comments", "meta_venue", "meta_year"]
        else:
            assert out_first.read_bytes() == out_second.read_bytes()

    # A run's proposals, imported into both databases, export to the same bytes.
    proposals_first, proposals_second = tmp_path / "run-1.jsonl", tmp_path / "run-2.jsonl"
    run(first_db, "export", str(proposals_first), "--format", "jsonl", "--run", "sample-llm")
    run(second_db, "export", str(proposals_second), "--format", "jsonl", "--run", "sample-llm")
    assert proposals_first.read_bytes() == proposals_second.read_bytes()
    assert proposals_first.stat().st_size > 0
