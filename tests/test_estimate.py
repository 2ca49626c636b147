"""Corpus estimates: the design-based estimator checked exactly on a tiny population, proved on
a synthetic corpus with a known truth over 500 seeds, and the command on a real database."""

from __future__ import annotations

import json
import shutil
import sys
from itertools import combinations, product
from pathlib import Path

import numpy as np
import pytest

from extraction.gold.inference import Z95, Design, ratio, share
from storage import open_database
from storage import samples as sample_store
from tests import synthetic
from tests.test_gold import run

SEEDS = range(2000)
"""More seeds than the 500 the issue asks for: at 500 a correct method falls outside 93-97%
about one time in twenty (seeds 0-499 alone give 92.2% for simple random sampling; the
method's coverage over 8,000 seeds is 94.6%), at 2,000 almost never."""
PAPERS = 2000


def test_difference_estimator_and_its_variance_are_unbiased() -> None:
    """Every sample of a tiny stratified design, enumerated: the corrected total is unbiased
    for the truth, and the variance estimate (with the finite population correction) is
    unbiased for its exact variance — for predictions good, bad or useless."""
    truth = np.array([3.0, 1.0, 4.0, 1.0, 5.0, 9.0, 2.0, 6.0])
    strata = np.array([0, 0, 0, 0, 0, 1, 1, 1])
    for predictions in (truth + 0.5, np.zeros(8), np.array([9.0, 0, 0, 7, 1, 1, 8, 0])):
        estimates, variances = [], []
        for first, second in product(combinations(range(5), 2), combinations(range(5, 8), 2)):
            gold = np.array([*first, *second])
            design = Design.build(strata, gold, ["a", "b"])
            e = ratio(design, predictions, truth[gold], lam=1.0)
            assert e.se is not None
            estimates.append(e.value)
            variances.append(e.se**2)
        assert np.mean(estimates) == pytest.approx(truth.mean())
        assert np.mean(variances) == pytest.approx(np.var(estimates))


def simulate(how: str, seeds: range = SEEDS, lam: float | str = "tuned") -> dict[str, np.ndarray]:
    """For each seed: a new corpus, a gold sample of 100-300 papers, the corrected rate."""
    found: dict[str, list[float]] = {k: [] for k in ("truth", "raw", "value", "low", "high")}
    for seed in seeds:
        corpus = synthetic.make(seed, PAPERS)
        rng = np.random.default_rng(10_000 + seed)
        strata, labels = synthetic.strata_of(corpus, how)
        gold = synthetic.draw_gold(strata, labels, 100 + seed % 201, rng)
        design = Design.build(strata, gold, labels)
        e = ratio(design, corpus.proposed, corpus.disclosed[gold], lam=lam, binary=True)
        assert e.ci95 is not None
        for k, v in zip(found, (corpus.true_rate, corpus.raw_rate, e.value, *e.ci95), strict=True):
            found[k].append(v)
    return {k: np.array(v) for k, v in found.items()}


def coverage(figures: dict[str, np.ndarray]) -> float:
    return float(
        ((figures["low"] <= figures["truth"]) & (figures["truth"] <= figures["high"])).mean()
    )


def width(figures: dict[str, np.ndarray]) -> float:
    return float((figures["high"] - figures["low"]).mean())


def test_corrected_rate_covers_the_known_truth() -> None:
    """Issue 12, must-show 4: over 2,000 seeds, the corrected 95% interval covers the true
    disclosure rate in 93-97% of seeds, under simple random and stratified sampling; the
    model's raw rate is off by its known bias; stratifying narrows the interval."""
    simple = simulate("srs")
    stratified = simulate("venue×proposed")
    gold_only = simulate("srs", range(500), lam=0.0)
    for figures in (simple, stratified, gold_only):
        assert 0.93 <= coverage(figures) <= 0.97, coverage(figures)
    bias = simple["raw"] - simple["truth"]
    assert bias.mean() == pytest.approx(synthetic.expected_bias(), abs=0.002)
    assert synthetic.expected_bias() < -0.06
    # The raw rate's own binomial interval almost never holds the truth: it is biased.
    raw_half = Z95 * np.sqrt(simple["raw"] * (1 - simple["raw"]) / PAPERS)
    assert (np.abs(bias) <= raw_half).mean() < 0.05
    # The corrected rate is unbiased (its mean error is within noise of zero).
    assert abs((simple["value"] - simple["truth"]).mean()) < 0.003
    assert width(stratified) <= width(simple)
    assert width(simulate("srs", range(500))) < width(gold_only)


def test_finite_population_correction_matters() -> None:
    """Half the corpus checked: with the correction the interval still covers 95%; the same
    interval without it (too wide by 1/sqrt(1 - n/N)) covers nearly always."""
    inside = inside_uncorrected = 0
    seeds = range(300)
    for seed in seeds:
        corpus = synthetic.make(seed, PAPERS)
        gold = np.random.default_rng(seed).choice(PAPERS, PAPERS // 2, replace=False)
        design = Design.build(np.zeros(PAPERS, dtype=np.int64), gold, ["all"])
        e = ratio(design, corpus.proposed, corpus.disclosed[gold], lam=1.0, binary=True)
        assert e.se is not None
        error = abs(e.value - corpus.true_rate)
        inside += error <= Z95 * e.se
        inside_uncorrected += error <= Z95 * e.se / np.sqrt(0.5)
    assert 0.93 <= inside / len(seeds) <= 0.97
    assert inside_uncorrected / len(seeds) > 0.99


def test_shares_have_wilson_intervals_at_the_effective_size() -> None:
    design = Design.build(np.zeros(1000, dtype=np.int64), np.arange(100), ["all"])
    everything_right = share(design, np.ones(100))
    assert everything_right.value == 1.0
    assert everything_right.ci95 is not None and 0.95 < everything_right.ci95[0] < 1.0
    # The same Wilson interval as score's; without the correction (an infinite corpus) the
    # effective size of n gold papers is n - 1 (the sample variance divides by n - 1).
    from extraction.gold import inference, scoring

    assert inference.wilson(0.8, 100) == pytest.approx(scoring.wilson(80, 100), abs=1e-12)
    huge = Design.build(np.zeros(10**7, dtype=np.int64), np.arange(100), ["all"])
    hits = np.array([1.0] * 80 + [0.0] * 20)
    assert share(huge, hits).ci95 == pytest.approx(inference.wilson(0.8, 99), abs=1e-5)
    corrected = share(design, hits)
    assert corrected.ci95 is not None
    plain = scoring.wilson(80, 100)
    assert corrected.ci95[1] - corrected.ci95[0] < plain[1] - plain[0]


def test_ppi_python_computes_the_same_point_estimate() -> None:
    """The ppi extra: ppi_py's weighted PPI point estimate (λ = 1) is the stratified
    difference estimator computed here; its interval, with no finite population correction
    and no strata, is wider."""
    ppi = pytest.importorskip("ppi_py")
    widths = []
    for seed in range(20):
        corpus = synthetic.make(seed, PAPERS)
        strata, labels = synthetic.strata_of(corpus, "venue")
        gold = synthetic.draw_gold(strata, labels, 200, np.random.default_rng(seed))
        design = Design.build(strata, gold, labels)
        ours = ratio(design, corpus.proposed, corpus.disclosed[gold], lam=1.0)
        theirs = ppi.ppi_mean_pointestimate(
            corpus.disclosed[gold], corpus.proposed[gold], corpus.proposed, lam=1, w=design.weights
        )
        assert float(np.ravel(theirs)[0]) == pytest.approx(ours.value, abs=1e-12)
        low, high = ppi.ppi_mean_ci(
            corpus.disclosed[gold],
            corpus.proposed[gold],
            corpus.proposed,
            alpha=0.05,
            lam=1,
            w=design.weights,
        )
        assert ours.ci95 is not None
        widths.append(
            (float(np.ravel(high)[0]) - float(np.ravel(low)[0])) / (ours.ci95[1] - ours.ci95[0])
        )
    assert min(widths) > 1.0


# --- the command, on a database -----------------------------------------------------------------

DB_PAPERS = 400
DB_SEED = 21


@pytest.fixture(scope="session")
def estimate_template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    path = tmp_path_factory.mktemp("estimate") / "corpus.db"
    ids = synthetic.write_db(path, synthetic.make(DB_SEED, DB_PAPERS), DB_SEED)
    return path, ids


@pytest.fixture
def estimate_db(
    estimate_template: tuple[Path, list[str]], tmp_path: Path
) -> tuple[Path, list[str]]:
    path = tmp_path / "corpus.db"
    shutil.copyfile(estimate_template[0], path)
    return path, estimate_template[1]


def sampled(path: Path, name: str) -> list[str]:
    db = open_database(path)
    try:
        found = sample_store.get_sample(db, name)
        assert found is not None
        return sample_store.sample_paper_ids(db, found.id)
    finally:
        db.close()


def test_estimate_command_on_a_reviewed_sample(estimate_db: tuple[Path, list[str]]) -> None:
    path, ids = estimate_db
    corpus = synthetic.make(DB_SEED, DB_PAPERS)
    code, _, err = run(path, "sample", "pilot", "--size", "120", "--strata", "venue", "--seed", "8")
    assert code == 0, err
    papers = sampled(path, "pilot")
    synthetic.record_gold(path, corpus, ids, papers)
    code, out, err = run(
        path, "estimate", "--run", "model", "--sample", "pilot", "--json", "--by", "year"
    )
    assert code == 0, err
    report = json.loads(out)
    assert report["corpus_papers"] == DB_PAPERS
    assert {k: report["sample"][k] for k in ("name", "size", "gold_papers")} == {
        "name": "pilot",
        "size": 120,
        "gold_papers": 120,
    }
    figures = report["fields"][synthetic.FIELD]
    assert set(figures["accuracy"]) >= {"estimate", "ci95"}
    assert set(figures["disclosure"]) >= {"model", "gold_sample", "corrected", "ci95"}

    # The same figures straight from the arrays, with the design the database holds.
    frame = sorted(ids)
    where = {paper: i for i, paper in enumerate(ids)}
    order = np.array([where[p] for p in frame])
    venue = corpus.venue[order]
    disclosed, proposed = corpus.disclosed[order], corpus.proposed[order]
    gold = np.array(sorted(frame.index(p) for p in papers))
    design = Design.build(venue, gold, list(synthetic.VENUES))
    # Frame strata are labelled by name in the database; the codes differ, the design not.
    direct = ratio(design, proposed, disclosed[gold], lam="tuned", binary=True)
    disclosure = figures["disclosure"]
    assert disclosure["model"] == pytest.approx(corpus.raw_rate)
    assert disclosure["corrected"] == pytest.approx(direct.value)
    assert disclosure["ci95"] == pytest.approx(list(direct.ci95))
    own = ratio(design, np.zeros(DB_PAPERS), disclosed[gold], lam=0.0, binary=True)
    assert disclosure["gold_sample"] == pytest.approx(own.value)
    # Accuracy: the model is right where it agrees with the truth, and counts must match.
    counts = corpus.proposed_count[order]
    truth_counts = corpus.count[order]
    right = ((proposed == disclosed) & ((disclosed == 0) | (counts == truth_counts)))[gold]
    assert figures["accuracy"]["estimate"] == pytest.approx(
        share(design, right.astype(float)).value
    )
    missed = ((disclosed == 1) & (proposed == 0))[gold].astype(float)
    assert figures["errors"]["missed"]["estimate"] == pytest.approx(share(design, missed).value)
    # Fields the model and the truth never report: 0% with an interval that is not a point.
    never = report["fields"]["api_cost_usd"]["disclosure"]
    assert never["corrected"] == 0 and never["ci95"][1] > 0.01
    # The mean GPU count among disclosing papers.
    mean = figures["mean"]
    reported_gold = disclosed[gold]
    assert mean["gold_sample"] == pytest.approx(
        (design.weights * truth_counts[gold]).sum() / (design.weights * reported_gold).sum()
    )
    assert mean["model"] == pytest.approx(counts.sum() / proposed.sum())
    assert mean["ci95"][0] < mean["corrected"] < mean["ci95"][1]
    # Breakdown by year: every year, its papers, its own corrected rate.
    groups = report["by"]["groups"]
    assert list(groups) == [str(y) for y in synthetic.YEARS]
    year = corpus.year[order]
    for index, value in enumerate(synthetic.YEARS):
        member = (year == index).astype(float)
        group = groups[str(value)]
        assert group["corpus_papers"] == int(member.sum())
        expected = ratio(
            design,
            proposed * member,
            disclosed[gold] * member[gold],
            member,
            lam="tuned",
            binary=True,
        )
        assert group["fields"][synthetic.FIELD]["disclosure"]["corrected"] == pytest.approx(
            expected.value
        )

    code, out, _ = run(path, "estimate", "--run", "model", "--sample", "pilot")
    assert code == 0 and "accelerator_count" in out and "overall" in out


def test_estimate_on_a_partly_reviewed_sample(estimate_db: tuple[Path, list[str]]) -> None:
    path, ids = estimate_db
    corpus = synthetic.make(DB_SEED, DB_PAPERS)
    assert run(path, "sample", "part", "--size", "100", "--strata", "venue", "--seed", "2")[0] == 0
    papers = sampled(path, "part")
    synthetic.record_gold(path, corpus, ids, papers[:2])
    code, out, err = run(path, "estimate", "--run", "model", "--sample", "part", "--json")
    assert code == 0, err
    report = json.loads(out)
    assert report["sample"]["gold_papers"] == 2
    figures = report["fields"][synthetic.FIELD]
    assert figures["disclosure"]["corrected"] is None
    assert any("no gold papers yet in stratum" in note for note in figures["notes"])
    synthetic.record_gold(path, corpus, ids, papers[2:30])
    report = json.loads(run(path, "estimate", "--run", "model", "--sample", "part", "--json")[1])
    assert report["sample"]["gold_papers"] == 30
    assert report["fields"][synthetic.FIELD]["disclosure"]["ci95"] is not None


def test_estimate_errors_are_one_line(estimate_db: tuple[Path, list[str]]) -> None:
    path, _ = estimate_db
    assert run(path, "sample", "s", "--size", "20", "--seed", "1")[0] == 0
    for args, message in (
        (["--run", "model", "--sample", "nope"], "no sample named 'nope' (samples: s)"),
        (["--run", "nope", "--sample", "s"], "no run named 'nope' (runs: model)"),
        (["--run", "model", "--sample", "s", "--by", "domain"], "no metadata column 'domain'"),
    ):
        code, out, err = run(path, "estimate", *args)
        assert code == 2 and out == "" and len(err.strip().splitlines()) == 1 and message in err


def test_ppi_python_interval_needs_the_extra(
    estimate_db: tuple[Path, list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    path, _ = estimate_db
    assert run(path, "sample", "s", "--size", "20", "--seed", "1")[0] == 0
    monkeypatch.setitem(sys.modules, "ppi_py", None)  # as if it were not installed
    code, _, err = run(
        path, "estimate", "--run", "model", "--sample", "s", "--interval", "ppi-python"
    )
    assert code == 2 and "pip install 'goldsmith[ppi]'" in err


def test_ppi_python_interval_on_a_database(estimate_db: tuple[Path, list[str]]) -> None:
    pytest.importorskip("ppi_py")
    path, ids = estimate_db
    corpus = synthetic.make(DB_SEED, DB_PAPERS)
    assert run(path, "sample", "s", "--size", "80", "--strata", "venue", "--seed", "1")[0] == 0
    synthetic.record_gold(path, corpus, ids, sampled(path, "s"))
    reports = {
        method: json.loads(
            run(
                path, "estimate", "--run", "model", "--sample", "s", "--json", "--interval", method
            )[1]
        )
        for method in ("design", "ppi-python")
    }
    design, ppi = (
        reports[m]["fields"][synthetic.FIELD]["disclosure"] for m in ("design", "ppi-python")
    )
    assert "ppi-python" in reports["ppi-python"]["method"]["disclosure"]
    assert ppi["corrected"] == pytest.approx(design["corrected"], abs=0.03)
    assert ppi["ci95"][1] - ppi["ci95"][0] > design["ci95"][1] - design["ci95"][0]
