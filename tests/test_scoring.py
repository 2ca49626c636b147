"""Scoring against a gold set whose expected counts are worked out by hand."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlite_utils import Database

from extraction.fields import FIELD_NAMES
from extraction.gold.scoring import score_runs, wilson
from storage import papers as paper_store
from storage import runs as run_store
from storage.decisions import NewDecision, record
from storage.runs import NewProposal, PaperOutcome
from tui.cli import cli

# Four papers. For each: the gold values, and what run "m" proposed. Fields not listed are
# not reported in both (so they score "correct").
GOLD: dict[str, dict[str, object]] = {
    "p1": {
        "accelerator_type": "NVIDIA A100 80GB",
        "accelerator_count": 8,
        "training_time_hours": 72.0,
        "funding_sources": ["Google", "NSF"],
        "compute_provider": "Google Cloud",
    },
    "p2": {
        "accelerator_type": "NVIDIA A100 40GB",
        "accelerator_count": 8,
        "training_time_hours": 72.0,
        "funding_sources": ["Google", "NSF"],
    },
    "p3": {"accelerator_count": 16, "compute_provider": "AWS"},
    "p4": {},
}
RUN: dict[str, dict[str, object]] = {
    # catalog: memory unstated matches; 74 h is within 5% of 72; sets ignore order and case;
    # text ignores case and punctuation.
    "p1": {
        "accelerator_type": "NVIDIA A100",
        "accelerator_count": 8,
        "training_time_hours": 74.0,
        "funding_sources": ["nsf", "google"],
        "compute_provider": "google cloud.",
    },
    # A800 is another device; integers are exact (9 != 8); 80 h is 11% off; a subset is wrong.
    "p2": {
        "accelerator_type": "NVIDIA A800 40GB",
        "accelerator_count": 9,
        "training_time_hours": 80.0,
        "funding_sources": ["NSF"],
    },
    # compute_provider missed (field left out by the run); gpu_hours hallucinated.
    "p3": {"accelerator_count": 16, "gpu_hours": 100.0},
    # hallucinated count on a paper that reports nothing
    "p4": {"accelerator_count": 4},
}
EXPECTED = {
    "accelerator_type": {"correct": 3, "wrong_value": 1, "hallucinated": 0, "missed": 0},
    "accelerator_count": {"correct": 2, "wrong_value": 1, "hallucinated": 1, "missed": 0},
    "training_time_hours": {"correct": 3, "wrong_value": 1, "hallucinated": 0, "missed": 0},
    "funding_sources": {"correct": 3, "wrong_value": 1, "hallucinated": 0, "missed": 0},
    "compute_provider": {"correct": 3, "wrong_value": 0, "hallucinated": 0, "missed": 1},
    "gpu_hours": {"correct": 3, "wrong_value": 0, "hallucinated": 1, "missed": 0},
    "api_cost_usd": {"correct": 4, "wrong_value": 0, "hallucinated": 0, "missed": 0},
}


def build(db: Database) -> None:
    ids = {}
    for name in GOLD:
        sha = (name * 32)[:64].ljust(64, "0").encode().hex()[:64]
        paper = paper_store.add_paper(
            db,
            sha256=sha,
            file=f"{name}.pdf",
            path=None,
            title=name,
            pages=[paper_store.NewPage(text="text", search_text="text")],
        )
        ids[name] = paper.id
    run = run_store.open_run(
        db, name="m", engine="import", model=None, host=None, schema_version=1, options={}
    )
    for name, values in RUN.items():
        proposals = []
        for field in FIELD_NAMES:
            if name == "p3" and field == "compute_provider":
                continue  # left out
            if field in values:
                proposals.append(NewProposal(field, "reported", values[field], 1, "q", "exact"))
            else:
                proposals.append(NewProposal(field, "not_reported"))
        run_store.save_paper(db, run.id, ids[name], proposals, PaperOutcome("done"))
    for name, values in GOLD.items():
        decisions = [
            NewDecision(ids[name], f, "corrected", "reported", value=values[f])
            if f in values
            else NewDecision(ids[name], f, "not_reported", "not_reported")
            for f in FIELD_NAMES
        ]
        record(db, decisions, annotator="gold")


def test_outcome_classes_and_matching_rules(db: Database) -> None:
    build(db)
    report = score_runs(db, ["m"])
    assert report["gold_papers"] == 4
    fields = report["runs"]["m"]["fields"]
    for field, counts in EXPECTED.items():
        got = {k: fields[field][k] for k in counts}
        assert got == counts, field
        assert fields[field]["n"] == 4
    overall = report["runs"]["m"]["overall"]
    # 12 fields x 4 papers; wrong: 4, hallucinated: 2, missed: 1
    assert (overall["n"], overall["wrong_value"], overall["hallucinated"], overall["missed"]) == (
        48,
        4,
        2,
        1,
    )
    assert overall["correct"] == 41
    assert math.isclose(overall["accuracy"], 41 / 48)
    lo, hi = overall["ci95"]
    assert (round(lo, 4), round(hi, 4)) == (0.7283, 0.9275)


def test_list_fields_get_item_level_precision_and_recall(db: Database) -> None:
    build(db)
    items = score_runs(db, ["m"])["runs"]["m"]["fields"]["funding_sources"]["items"]
    # p1: 2 right; p2: NSF right, Google missed -> tp 3, fp 0, fn 1
    assert items["precision"] == 1.0
    assert items["recall"] == 0.75
    assert math.isclose(items["f1"], 2 * 0.75 / 1.75)


def test_tolerance_changes_float_matching_only(db: Database) -> None:
    build(db)
    loose = score_runs(db, ["m"], tolerance=0.15)["runs"]["m"]["fields"]
    assert loose["training_time_hours"]["correct"] == 4
    assert loose["accelerator_count"]["correct"] == 2, "integers stay exact"


def test_wilson_interval_matches_the_formula() -> None:
    lo, hi = wilson(3, 4)  # type: ignore[misc]
    assert (round(lo, 4), round(hi, 4)) == (0.3006, 0.9544)
    assert wilson(0, 0) is None
    assert wilson(10, 10)[1] == 1.0  # type: ignore[index]


def test_score_command_json_shape(db_path: Path, db: Database) -> None:
    build(db)
    result = CliRunner().invoke(cli, ["--db", str(db_path), "score", "--run", "m", "--json"])
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert set(report) >= {"gold_papers", "runs"}
    field = report["runs"]["m"]["fields"]["accelerator_count"]
    assert set(field) >= {
        "n",
        "correct",
        "wrong_value",
        "hallucinated",
        "missed",
        "accuracy",
        "ci95",
    }
    assert set(report["runs"]["m"]["overall"]) == {
        "n",
        "correct",
        "wrong_value",
        "hallucinated",
        "missed",
        "accuracy",
        "ci95",
    }
    table = CliRunner().invoke(cli, ["--db", str(db_path), "score", "--run", "m", "--run", "m"])
    assert table.exit_code == 0 and "85.4%" in table.stdout
    missing = CliRunner().invoke(cli, ["--db", str(db_path), "score", "--run", "nope"])
    assert missing.exit_code == 2 and "no run named 'nope'" in missing.stderr


def test_runs_are_scored_only_on_papers_they_covered(db: Database) -> None:
    build(db)
    other = run_store.open_run(
        db, name="partial", engine="import", model=None, host=None, schema_version=1, options={}
    )
    paper = paper_store.resolve_paper(db, "p4.pdf")
    assert paper
    run_store.save_paper(
        db,
        other.id,
        paper.id,
        [NewProposal(f, "not_reported") for f in FIELD_NAMES],
        PaperOutcome("done"),
    )
    figures = score_runs(db, ["partial"])["runs"]["partial"]["overall"]
    assert figures["n"] == 12 and figures["correct"] == 12


@pytest.mark.parametrize("include_partial", [False, True])
def test_unfinished_papers_count_only_with_include_partial(
    db: Database, include_partial: bool
) -> None:
    build(db)
    paper = paper_store.resolve_paper(db, "p4.pdf")
    assert paper
    record(
        db, [NewDecision(paper.id, "gpu_hours", "not_reported", "not_reported")], annotator="other"
    )
    record(
        db,
        [NewDecision(paper.id, "gpu_hours", "corrected", "reported", value=5.0)],
        annotator="third",
    )
    report = score_runs(db, ["m"], include_partial=include_partial)
    assert report["gold_papers"] == (4 if include_partial else 3)
