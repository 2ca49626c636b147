"""The gold set: export (wide, long, JSON Lines), import-gold round trip, agreement."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from extraction.fields import FIELD_NAMES
from extraction.gold.agreement import cohen_kappa
from extraction.gold.files import neutralize, unneutralize, wide_columns
from storage import open_database
from storage import papers as paper_store
from storage import runs as run_store
from storage.decisions import NewDecision, record
from tui.cli import cli


def run(db: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["--db", str(db), *args], catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def decide_all(
    db_path: Path, annotator: str, *, change: dict[str, dict[str, object]] | None = None
) -> None:
    """``annotator`` accepts the sample model run on every paper (with some changes)."""
    db = open_database(db_path)
    model = run_store.get_run(db, "sample-llm")
    assert model
    for paper in paper_store.iter_papers(db):
        proposals = run_store.proposals_for(db, paper.id, model.id)
        decisions = []
        for field in FIELD_NAMES:
            override = (change or {}).get(paper.file, {})
            if field in override:
                value = override[field]
                decisions.append(
                    NewDecision(paper.id, field, "not_reported", "not_reported")
                    if value is None
                    else NewDecision(paper.id, field, "corrected", "reported", value=value, page=2)
                )
                continue
            p = proposals[field]
            if p.status == "reported":
                decisions.append(
                    NewDecision(
                        paper.id,
                        field,
                        "accepted",
                        "reported",
                        value=p.value,
                        page=p.page,
                        quote=p.quote,
                        proposal_id=p.id,
                    )
                )
            else:
                decisions.append(
                    NewDecision(paper.id, field, "not_reported", "not_reported", proposal_id=p.id)
                )
        record(db, decisions, annotator=annotator)
    db.close()


CORRECTIONS = {"pod_scale_lm.pdf": {"accelerator_count": 256}}


def read_csv(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(path.open(newline="", encoding="utf-8")))


def test_wide_export_holds_final_papers_with_derived_columns(
    sample_db: Path, tmp_path: Path
) -> None:
    decide_all(sample_db, "alice", change=CORRECTIONS)
    out = tmp_path / "gold.csv"
    code, stdout, _ = run(sample_db, "export", str(out))
    assert code == 0 and stdout.strip() == "exported 6 papers"
    rows = {r["file"]: r for r in read_csv(out)}
    assert list(read_csv(out)[0]) == wide_columns()
    widgets = rows["efficient_widgets.pdf"]
    assert widgets["accelerator_type"] == "NVIDIA A100 80GB"
    assert widgets["accelerator_count"] == "8" and widgets["training_time_hours"] == "72"
    assert widgets["gpu_hours"] == "" and widgets["gpu_hours_status"] == "not_reported"
    assert widgets["funding_sources"] == "Example AI Labs; National Science Foundation"
    assert widgets["funding_types"] == "government; corporate"
    # 8 A100 x 72 h = 576 device-hours; 8 x 312 TFLOPS = 2.496 PFLOPS; x 3600 s x 0.3 utilisation
    assert widgets["derived_device_hours"] == "576"
    assert widgets["derived_peak_pflops"] == "2.496"
    assert float(widgets["derived_training_flop"]) == pytest.approx(576 * 3600 * 312e12 * 0.3)
    assert widgets["derived_utilization"] == "0.3" and widgets["annotators"] == "alice"
    pod = rows["pod_scale_lm.pdf"]
    assert pod["accelerator_count"] == "256" and pod["training_compute_flop"] == "2.5e+23"
    assert pod["derived_peak_pflops"] == str(256 * 275 / 1000)
    api = rows["api_costs.pdf"]
    assert (
        api["title"] == "[CLS] Tokens and [bold]Claims[/bold]: Evaluating GPT-4 with [1] Brackets"
    )
    assert api["models_used"] == "GPT-4; LLaMA-2 7B" and api["api_cost_usd"] == "1200"
    code, _, _ = run(sample_db, "export", str(out), "--utilization", "0.5")
    assert read_csv(out)[0]["derived_utilization"] == "0.5"


def test_only_final_papers_unless_partial(sample_db: Path, tmp_path: Path) -> None:
    decide_all(sample_db, "alice")
    db = open_database(sample_db)
    theory = paper_store.resolve_paper(db, "theory_of_widgets.pdf")
    assert theory
    # bob disagrees on one field: the paper is no longer final
    record(
        db,
        [NewDecision(theory.id, "gpu_hours", "corrected", "reported", value=10.0)],
        annotator="bob",
    )
    code, stdout, _ = run(sample_db, "export", str(tmp_path / "a.csv"))
    assert stdout.strip() == "exported 5 papers, 1 left out (not every field final)"
    code, stdout, _ = run(sample_db, "export", str(tmp_path / "b.csv"), "--include-partial")
    rows = {r["file"]: r for r in read_csv(tmp_path / "b.csv")}
    assert stdout.strip() == "exported 6 papers"
    assert rows["theory_of_widgets.pdf"]["gpu_hours_status"] == ""
    assert rows["theory_of_widgets.pdf"]["annotators"] == "alice; bob"


def test_long_export_has_one_row_per_field(sample_db: Path, tmp_path: Path) -> None:
    decide_all(sample_db, "alice", change=CORRECTIONS)
    out = tmp_path / "long.csv"
    run(sample_db, "export", str(out), "--layout", "long")
    rows = read_csv(out)
    assert list(rows[0]) == [
        "paper_id",
        "file",
        "title",
        "field",
        "status",
        "value",
        "evidence_page",
        "evidence_quote",
        "verdict",
        "proposed_value",
        "run",
        "annotator",
        "decided_at",
        "evidence_grounding",
        "comments",
    ]
    assert len(rows) == 6 * 12
    count = next(
        r for r in rows if r["file"] == "pod_scale_lm.pdf" and r["field"] == "accelerator_count"
    )
    assert (count["value"], count["verdict"], count["annotator"]) == ("256", "corrected", "alice")
    kind = next(
        r for r in rows if r["file"] == "pod_scale_lm.pdf" and r["field"] == "accelerator_type"
    )
    assert (kind["verdict"], kind["proposed_value"], kind["run"]) == (
        "accepted",
        "Google TPU v4",
        "sample-llm",
    )
    assert (
        kind["evidence_page"] == "2"
        and kind["evidence_quote"] == "Training ran on a TPU v4 pod slice"
    )


def test_jsonl_export_imports_back_as_a_run_that_scores_perfectly(
    sample_db: Path, tmp_path: Path
) -> None:
    decide_all(sample_db, "alice", change=CORRECTIONS)
    out = tmp_path / "gold.jsonl"
    assert run(sample_db, "export", str(out), "--format", "jsonl")[0] == 0
    first = json.loads(out.read_text().splitlines()[0])
    assert set(first) == {"paper", "field", "status", "value", "evidence"}
    code, stdout, err = run(sample_db, "import-proposals", str(out), "--run", "gold-copy")
    assert code == 0, err
    code, stdout, _ = run(sample_db, "score", "--run", "gold-copy", "--json")
    overall = json.loads(stdout)["runs"]["gold-copy"]["overall"]
    assert overall["correct"] == overall["n"] == 72
    code, _, _ = run(
        sample_db, "export", str(tmp_path / "run.jsonl"), "--format", "jsonl", "--run", "rules"
    )
    lines = [json.loads(line) for line in (tmp_path / "run.jsonl").read_text().splitlines()]
    assert len(lines) == 72 and {line["field"] for line in lines} == set(FIELD_NAMES)


@pytest.mark.parametrize("prefix", ["=", "+", "-", "@", "\t", "\r"])
def test_formula_prefixes_are_neutralised(sample_db: Path, tmp_path: Path, prefix: str) -> None:
    db = open_database(sample_db)
    paper = paper_store.resolve_paper(db, "theory_of_widgets.pdf")
    assert paper
    db.execute(
        "UPDATE papers SET title = ? WHERE id = ?", [f'{prefix}HYPERLINK("http://x")', paper.id]
    )
    db.conn.commit()
    record(
        db,
        [
            NewDecision(paper.id, f, "not_reported", "not_reported")
            for f in FIELD_NAMES
            if f != "compute_provider"
        ]
        + [
            NewDecision(
                paper.id,
                "compute_provider",
                "corrected",
                "reported",
                value=f"{prefix}cmd|' /C calc'!A0",
            )
        ],
        annotator="alice",
    )
    db.close()
    out = tmp_path / "x.csv"
    run(sample_db, "export", str(out))
    row = read_csv(out)[0]
    for column in ("title", "compute_provider"):
        assert row[column].startswith("'" + prefix), column
    assert row["derived_utilization"] == "0.3", "numbers stay numbers"


def test_import_gold_round_trip_is_byte_identical(
    sample_db: Path, sample_db_template: Path, tmp_path: Path
) -> None:
    decide_all(sample_db, "alice", change=CORRECTIONS)
    db = open_database(sample_db)
    odd = paper_store.resolve_paper(db, "appendix_hardware.pdf")
    assert odd
    record(
        db,
        [
            NewDecision(
                odd.id, "compute_provider", "corrected", "reported", value="=SUM(A1) Booster"
            )
        ],
        annotator="alice",
    )
    db.close()
    first = tmp_path / "first.csv"
    run(sample_db, "export", str(first))
    fresh = tmp_path / "fresh.db"
    fresh.write_bytes(sample_db_template.read_bytes())
    code, stdout, err = run(fresh, "import-gold", str(first), "--annotator", "carol")
    assert code == 0, err
    assert stdout.strip() == "imported 72 decisions for 6 papers as carol"
    second = tmp_path / "second.csv"
    run(fresh, "export", str(second))
    assert second.read_bytes() == first.read_bytes()
    who = open_database(fresh).execute("SELECT DISTINCT annotator, role FROM decisions").fetchall()
    assert who == [("carol", "adjudicator")]


def test_import_gold_reports_every_bad_cell_and_imports_nothing(
    sample_db: Path, tmp_path: Path
) -> None:
    decide_all(sample_db, "alice")
    good = tmp_path / "good.csv"
    run(sample_db, "export", str(good))
    rows = list(csv.reader(good.open(newline="")))
    header = rows[0]
    column = {name: i for i, name in enumerate(header)}
    rows[1][column["accelerator_count"]] = "lots"
    rows[1][column["accelerator_count_status"]] = "reported"
    rows[2][column["research_setting_status"]] = "maybe"
    rows[3][column["gpu_hours"]] = "12"  # a value, but the status says not_reported
    rows[4][column["paper_id"]] = "ffffffffffffffff"
    rows[5] = rows[5][:-3]  # ragged
    rows.append(list(rows[6]))  # the same paper twice
    bad = tmp_path / "bad.csv"
    with bad.open("w", newline="") as handle:
        csv.writer(handle, lineterminator="\n").writerows(rows)
    fresh_code, _, err = run(sample_db, "import-gold", str(bad), "--annotator", "x")
    assert fresh_code == 1
    lines = [line.split(": ", 2)[2] for line in err.strip().splitlines()[:-1]]
    assert lines == [
        "row 2, column accelerator_count: no number in 'lots'",
        "row 3, column research_setting_status: unknown status 'maybe' "
        "(reported, not_reported, ambiguous)",
        "row 4, column gpu_hours_status: not_reported, yet a value is given",
        "row 5, column paper_id: no paper 'ffffffffffffffff' in this database",
        f"row 6: {len(header) - 3} cells, the header has {len(header)}",
        "row 8, column paper_id: same paper as row 7",
    ]
    assert err.strip().splitlines()[-1] == f"nothing imported: 6 problem(s) in {bad}"
    db = open_database(sample_db)
    assert db.execute("SELECT COUNT(*) FROM decisions WHERE annotator = 'x'").fetchone()[0] == 0


def test_import_gold_refuses_unknown_columns_and_other_encodings(
    sample_db: Path, tmp_path: Path
) -> None:
    odd = tmp_path / "odd.csv"
    odd.write_text("paper_id,colour,accelerator_count\nabc,red,8\n")
    code, _, err = run(sample_db, "import-gold", str(odd), "--annotator", "x")
    assert code == 1
    assert "row 1: unknown column(s): colour" in err
    assert "row 1: column accelerator_count_status is missing" in err
    latin = tmp_path / "latin.csv"
    latin.write_bytes("paper_id,title\nabc,caf\xe9\n".encode("latin-1"))
    code, _, err = run(sample_db, "import-gold", str(latin), "--annotator", "x")
    assert code == 1 and "row 2: not UTF-8 text (byte 0xe9)" in err


@settings(max_examples=200)
@given(st.text())
def test_neutralising_is_undone_exactly(cell: str) -> None:
    shown = neutralize(cell)
    assert not shown or shown[0] not in "=+-@\t\r"
    assert unneutralize(shown) == cell


def test_agreement_between_two_annotators(sample_db: Path) -> None:
    decide_all(sample_db, "alice", change=CORRECTIONS)
    decide_all(
        sample_db,
        "bob",
        change={
            "pod_scale_lm.pdf": {"accelerator_count": 512},
            "speech_gpu_hours.pdf": {"training_time_hours": None},
        },
    )
    code, stdout, _ = run(sample_db, "agreement", "--json")
    report = json.loads(stdout)
    assert report["annotators"] == ["alice", "bob"]
    count = report["fields"]["accelerator_count"]
    # 6 papers: they differ on one (256 vs 512)
    assert count["n"] == 6
    assert count["percent_agreement"] == pytest.approx(100 * 5 / 6)
    assert count["kappa_annotators"] == ["alice", "bob"]
    setting = report["fields"]["research_setting"]
    assert setting["percent_agreement"] == 100 and setting["alpha_nominal"] == 1.0
    disagreements = {(d["field"], tuple(d["answers"].values())) for d in report["disagreements"]}
    assert disagreements == {
        ("accelerator_count", ("256", "512")),
        ("training_time_hours", ("1200", "not_reported")),
    }
    code, stdout, _ = run(sample_db, "agreement")
    assert "2 disagreement(s)" in stdout


def test_kappa_matches_a_published_example() -> None:
    # Krippendorff's alpha against his worked example: tests/test_agreement.py.
    # Cohen (1960)-style check: 20 items, 15 agreements, balanced margins -> kappa 0.5
    pairs = [("y", "y")] * 8 + [("n", "n")] * 7 + [("y", "n")] * 2 + [("n", "y")] * 3
    assert cohen_kappa(pairs) == pytest.approx((0.75 - 0.5) / 0.5)
