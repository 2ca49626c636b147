"""Agreement between annotators: answers matched as scoring matches them, and Krippendorff's
alpha with the ratio metric for quantities."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from extraction.gold.agreement import krippendorff_alpha, nominal, ratio
from storage import open_database
from storage import papers as paper_store
from storage.decisions import NewDecision, record
from tui.cli import cli

# Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability": 4 coders, 12 units.
PUBLISHED = [
    [1, 1, None, 1],
    [2, 2, 3, 2],
    [3, 3, 3, 3],
    [3, 3, 3, 3],
    [2, 2, 2, 2],
    [1, 2, 3, 4],
    [4, 4, 4, 4],
    [1, 1, 2, 1],
    [2, 2, 2, 2],
    [None, 5, 5, 5],
    [None, None, 1, 1],
    [None, None, 3, None],
]


def test_alpha_matches_krippendorffs_worked_example_for_each_metric() -> None:
    units = [[v for v in unit if v is not None] for unit in PUBLISHED]
    assert round(krippendorff_alpha(units, nominal), 3) == 0.743  # type: ignore[arg-type]
    interval = krippendorff_alpha(units, lambda a, b: (a - b) ** 2)  # type: ignore[arg-type]
    assert round(interval, 3) == 0.849  # type: ignore[arg-type]
    assert round(krippendorff_alpha(units, ratio), 3) == 0.797  # type: ignore[arg-type]


def papers_with_answers(db_path: Path, field: str, answers: list[tuple[Any, Any]]) -> None:
    """One paper per pair of answers on ``field``: alice gives the first, bob the second
    (``None`` is "not reported")."""
    db = open_database(db_path)
    for number, pair in enumerate(answers):
        paper = paper_store.add_paper(
            db,
            sha256=f"{number:016x}" + "0" * 48,
            file=f"paper{number}.pdf",
            path=None,
            title=None,
            pages=[paper_store.NewPage(text="text", search_text="text")],
        )
        for annotator, value in zip(("alice", "bob"), pair, strict=True):
            decision = (
                NewDecision(paper.id, field, "not_reported", "not_reported")
                if value is None
                else NewDecision(paper.id, field, "corrected", "reported", value=value, page=1)
            )
            record(db, [decision], annotator=annotator)
    db.close()


def agreement(db_path: Path, *args: str) -> dict[str, Any]:
    result = CliRunner().invoke(
        cli, ["--db", str(db_path), "agreement", "--json", *args], catch_exceptions=False
    )
    assert result.exit_code == 0, result.stderr
    report: dict[str, Any] = json.loads(result.stdout)
    return report


def test_ratio_alpha_is_not_swamped_by_scale(db_path: Path) -> None:
    counts = [(8, 8), (1024, 1024), (2048, 2048), (4, 4), (6144, 6144), (64, 16)]
    papers_with_answers(db_path, "accelerator_count", counts)
    figures = agreement(db_path)["fields"]["accelerator_count"]
    # The interval metric on the same answers says 0.99996: 64 vs 16 vanishes beside 6,144.
    units = [list(pair) for pair in counts]
    assert krippendorff_alpha(units, lambda a, b: (a - b) ** 2) == pytest.approx(0.99996, abs=1e-5)
    assert figures["alpha_ratio"] == pytest.approx(0.9073, abs=1e-4)
    assert "alpha_interval" not in figures
    assert figures["n"] == 6 and figures["percent_agreement"] == pytest.approx(100 * 5 / 6)


def test_answers_that_scoring_matches_agree(db_path: Path) -> None:
    papers_with_answers(
        db_path,
        "training_time_hours",
        [(72.0, 73.0), (100.0, 104.0), (10.0, 20.0), (5.0, None), (None, None), (48.0, 48.0)],
    )
    report = agreement(db_path)
    hours = report["fields"]["training_time_hours"]
    # within 5%: 72 vs 73 and 100 vs 104 agree; 10 vs 20 and 5 vs not reported do not
    assert hours["percent_agreement"] == pytest.approx(100 * 4 / 6)
    # kappa from the same matches: observed 4/6; by chance, 5 of the 36 (alice's answer,
    # bob's answer) pairs agree: her not reported with his two, 48~48, 72~73 and 100~104.
    expected = 5 / 36
    assert hours["cohen_kappa"] == pytest.approx((4 / 6 - expected) / (1 - expected))
    disputed = {tuple(d["answers"].values()) for d in report["disagreements"]}
    assert disputed == {("10", "20"), ("5", "not_reported")}
    # With no tolerance, 72 vs 73 and 100 vs 104 are disagreements too.
    strict = agreement(db_path, "--tolerance", "0")
    assert strict["fields"]["training_time_hours"]["percent_agreement"] == pytest.approx(
        100 * 2 / 6
    )
    assert len(strict["disagreements"]) == 4


def test_catalog_names_and_text_agree_as_in_scoring(tmp_path: Path) -> None:
    types = tmp_path / "types.db"
    papers_with_answers(
        types,
        "accelerator_type",
        [
            ("NVIDIA A100", "NVIDIA A100 80GB"),  # the same device, memory stated once
            ("NVIDIA A100 40GB", "NVIDIA A100 80GB"),  # not the same
            ("Google TPU v4", "Google TPU v4"),
        ],
    )
    figures = agreement(types)["fields"]["accelerator_type"]
    assert figures["percent_agreement"] == pytest.approx(100 * 2 / 3)
    providers = tmp_path / "providers.db"
    papers_with_answers(
        providers, "compute_provider", [("Google Cloud", "google  cloud"), ("AWS", "AWS.")]
    )
    report = agreement(providers)
    assert report["fields"]["compute_provider"]["percent_agreement"] == 100
    assert report["fields"]["compute_provider"]["alpha_nominal"] == 1.0
    assert report["disagreements"] == []
