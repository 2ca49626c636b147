"""The offline rules engine: evidence that grounds exactly, values from the normalisers."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from extraction.engines import rules
from extraction.evidence.proposals import ground_proposals
from storage import open_database
from storage import papers as paper_store
from storage import runs as run_store
from tui.cli import cli

PAGES = [
    "Widgets at Scale\nAda Lovelace, Example University\nBob Builder, Example Labs Inc.",
    "4 Experimental setup\nFor comparison, prior work used H100 GPUs. All our models were "
    "trained on 8 NVIDIA A100-80GB GPUs for 3 days, about 576 GPU hours in total.\n"
    "We used a batch size of 256.",
    "The total compute was 2.5 × 10^21 FLOPs. Training ran on AWS.\n"
    "Acknowledgements\nThis work was supported by the National Science Foundation and by a "
    "gift from Google.",
]


def by_field() -> dict[str, object]:
    return {p.field: p for p in rules.extract(PAGES)}


def test_rules_find_each_statement() -> None:
    found = by_field()
    values = {name: p.value for name, p in found.items()}  # type: ignore[attr-defined]
    assert values["accelerator_type"] == "NVIDIA A100 80GB"
    assert values["accelerator_count"] == 8
    assert values["accelerator_memory_gb"] == 80
    assert values["training_time_hours"] == 72.0
    assert values["gpu_hours"] == 576.0
    assert values["training_compute_flop"] == 2.5e21
    assert values["compute_provider"] == "AWS"
    assert values["funding_sources"] == ["Google", "National Science Foundation"]
    assert values["funding_types"] == ["government", "corporate"]
    assert values["research_setting"] == "mixed"
    assert values["api_cost_usd"] is None


def test_rules_evidence_grounds_exactly_with_the_value_in_it() -> None:
    proposals = ground_proposals(rules.extract(PAGES), PAGES)
    for proposal in proposals:
        if proposal.status == "reported":
            assert proposal.grounding == "exact", proposal
            page = PAGES[proposal.page - 1]  # type: ignore[operator]
            assert page[proposal.char_start : proposal.char_end] == proposal.quote
    checked = {p.field: p.value_in_quote for p in proposals if p.value_in_quote is not None}
    assert checked["accelerator_count"] and checked["training_time_hours"]


def test_a_paper_stating_nothing_gets_not_reported() -> None:
    proposals = rules.extract(
        ["A Theory of Widgets\nWe prove a theorem. There are no experiments."]
    )
    assert all(p.status == "not_reported" for p in proposals if p.field != "research_setting")


def test_extract_rules_command_is_resumable(papers_db: Path) -> None:
    runner = CliRunner()
    first = runner.invoke(cli, ["--db", str(papers_db), "extract", "--engine", "rules"])
    assert first.exit_code == 0, first.stderr
    assert first.stdout.startswith("run rules: 3 papers done, 0 failed, 0 already done")
    again = runner.invoke(cli, ["--db", str(papers_db), "extract", "--engine", "rules"])
    assert "0 papers done, 0 failed, 3 already done" in again.stdout
    db = open_database(papers_db)
    run = run_store.get_run(db, "rules")
    paper = paper_store.resolve_paper(db, "tpu_paper.pdf")
    assert run and paper
    proposals = run_store.proposals_for(db, paper.id, run.id)
    assert proposals["accelerator_type"].value == "Google TPU v4"
    assert proposals["accelerator_count"].value == 512
    assert proposals["training_time_hours"].value == 336.0
    assert proposals["compute_provider"].value == "Google Cloud"
    assert proposals["training_compute_flop"].value == pytest.approx(2.5e23)


@pytest.mark.corpus
def test_rules_on_real_papers(corpus: Path, tmp_path: Path) -> None:
    from extraction.pdf.ingest import find_pdfs, ingest

    db = open_database(tmp_path / "c.db")
    wanted = {"wav2vec2_2020.pdf", "opt_2022.pdf", "palm_2022.pdf", "deepseek_v3_2024.pdf"}
    paths, _ = find_pdfs([corpus])
    list(ingest(db, [p for p in paths if p.name in wanted]))
    results = {}
    for paper in paper_store.iter_papers(db):
        pages = paper_store.page_texts(db, paper.id)
        results[paper.file] = {p.field: p.value for p in rules.extract(pages)}
    assert results["wav2vec2_2020.pdf"]["accelerator_type"] == "NVIDIA V100"
    assert results["wav2vec2_2020.pdf"]["accelerator_count"] == 64
    assert results["wav2vec2_2020.pdf"]["training_time_hours"] == 38.4
    assert results["opt_2022.pdf"]["accelerator_type"] == "NVIDIA A100 80GB"
    assert results["opt_2022.pdf"]["accelerator_count"] == 992
    assert results["palm_2022.pdf"]["accelerator_type"] == "Google TPU v4"
    assert results["palm_2022.pdf"]["accelerator_count"] == 6144
    assert results["deepseek_v3_2024.pdf"]["gpu_hours"] == 2.788e6
