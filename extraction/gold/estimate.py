"""Corpus-wide figures for an extraction run, corrected by a random gold sample.

For each field, over the sample's frame (the corpus when the sample was drawn):

- **accuracy**: the run's share of correct answers (and of wrong values, hallucinations and
  misses, as ``score`` counts them) over the papers it covered, estimated from the gold
  papers weighted by the design, with a Wilson interval at the design's effective sample
  size (finite population correction included);
- **disclosure**: the share of papers that report the field: the run's raw rate (its
  proposals over every paper it did), the gold sample's own design-weighted rate, and the
  prediction-powered corrected rate, with 95% intervals (:mod:`extraction.gold.inference`);
- **mean** for numeric fields where a mean means something (devices, memory, hours,
  device-hours): the mean among papers reporting a value, the same three ways;
- the same per group of a metadata column (``--by year``).

Gold papers are the sample's papers whose every field is final (``include_partial``: each
field's final values, paper by paper), so a paper waiting for adjudication is left out; the
estimates assume those are missing at random within their stratum.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np
from sqlite_utils import Database

from extraction.fields import FIELDS, FieldSpec, Status
from extraction.gold.derived import derive
from extraction.gold.inference import (
    Design,
    Estimate,
    FloatArray,
    NotEstimable,
    clipped,
    ratio,
    share,
)
from extraction.gold.scoring import DEFAULT_TOLERANCE, OUTCOMES, outcome
from storage import metadata as metadata_store
from storage import runs as run_store
from storage import samples as sample_store
from storage.errors import GoldsmithError
from storage.gold import iter_final
from storage.models import decode_json_cached
from storage.runs import Run
from storage.samples import NO_VALUE, Sample

MEAN_FIELDS = ("accelerator_count", "accelerator_memory_gb", "training_time_hours", "gpu_hours")
"""Numeric fields whose mean among reporting papers is reported (FLOP and API cost are left
out: a handful of papers decide their mean)."""
DEVICE_HOURS = "derived_device_hours"
INTERVALS = ("design", "ppi-python")


class EstimateError(GoldsmithError, ValueError):
    """The estimate cannot be made as asked; the message says why, for the user."""


@dataclass
class Corpus:
    """A sample's frame as arrays: the run's predictions for every paper, the gold papers'
    values, and the design."""

    sample: Sample
    run: Run
    papers: list[str]
    """Frame paper ids, in id order (the arrays' order)."""
    design: Design
    covered: FloatArray
    """1 for the papers the run did."""
    reported: dict[str, FloatArray]
    """Per field: 1 where the run reported a value."""
    values: dict[str, FloatArray]
    """Per numeric field (and device-hours): the run's value where it reported one, else 0."""
    gold_reported: dict[str, FloatArray]
    """Per field, for each gold paper: 1 where the gold value is reported."""
    gold_values: dict[str, FloatArray]
    gold_known: dict[str, FloatArray]
    """Per field, for each gold paper: 1 where the field is final (always, without partial)."""
    outcomes: dict[str, dict[str, FloatArray]]
    """Per field and outcome class, for each gold paper: 1 where the pair falls in it."""
    sample_size: int
    gold_complete: int


def _labels(strata: Sequence[str]) -> tuple[list[int], list[str]]:
    names: dict[str, int] = {}
    codes = [names.setdefault(s, len(names)) for s in strata]
    return codes, list(names)


def _number(value: Any) -> float:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    return 0.0


def load(
    db: Database,
    sample_name: str,
    run_name: str,
    *,
    include_partial: bool = False,
    tolerance: float = DEFAULT_TOLERANCE,
    fields: Sequence[FieldSpec] = FIELDS,
) -> Corpus:
    """Read a sample's frame, the run's proposals over it and the gold papers' values.

    Raises:
        EstimateError: The sample or run does not exist.
    """
    sample = sample_store.get_sample(db, sample_name)
    if sample is None:
        names = ", ".join(s.name for s in sample_store.list_samples(db)) or "none yet"
        raise EstimateError(f"--sample: no sample named {sample_name!r} (samples: {names})")
    run = run_store.get_run(db, run_name)
    if run is None:
        names = ", ".join(r.name for r in run_store.list_runs(db)) or "none yet"
        raise EstimateError(f"--run: no run named {run_name!r} (runs: {names})")
    frame = sample_store.frame(db, sample.id)
    papers = [paper for paper, _ in frame]
    index = {paper: i for i, paper in enumerate(papers)}
    codes, labels = _labels([stratum for _, stratum in frame])
    big_n = len(papers)
    numeric = {spec.name for spec in fields if spec.name in MEAN_FIELDS}
    covered = np.zeros(big_n)
    for paper in run_store.done_papers(db, run.id):
        if paper in index:
            covered[index[paper]] = 1.0
    reported = {spec.name: np.zeros(big_n) for spec in fields}
    values = {name: np.zeros(big_n) for name in [*numeric, DEVICE_HOURS]}
    hours = {
        name: np.full(big_n, np.nan)
        for name in ("accelerator_count", "training_time_hours", "gpu_hours")
    }
    wanted = sorted({*numeric, *hours})
    for paper, name, status, value in sample_store.run_statuses(db, run.id, wanted):
        i = index.get(paper)
        if i is None or covered[i] == 0 or status != Status.REPORTED or name not in reported:
            continue
        reported[name][i] = 1.0
        if name in numeric or name in hours:
            number = _number(decode_json_cached(value))
            if name in values:
                values[name][i] = number
            if name in hours:
                hours[name][i] = number
    device_hours = np.where(
        ~np.isnan(hours["gpu_hours"]),
        hours["gpu_hours"],
        hours["accelerator_count"] * hours["training_time_hours"],
    )
    reported[DEVICE_HOURS] = (~np.isnan(device_hours)).astype(np.float64)
    values[DEVICE_HOURS] = np.nan_to_num(device_hours)

    in_sample = set(sample_store.sample_paper_ids(db, sample.id))
    field_names = [spec.name for spec in fields]
    gold_rows: list[tuple[int, dict[str, tuple[str | None, str | None]]]] = []
    complete_count = 0
    for paper, finals, complete in iter_final(db, field_names):
        if paper not in in_sample or paper not in index:
            continue
        complete_count += complete
        if complete or (include_partial and finals):
            gold_rows.append((index[paper], finals))
    gold_rows.sort()
    positions = [i for i, _ in gold_rows]
    design = Design.build(codes, positions, labels)
    n = len(gold_rows)
    gold_reported = {name: np.zeros(n) for name in [*field_names, DEVICE_HOURS]}
    gold_values = {name: np.zeros(n) for name in [*numeric, DEVICE_HOURS]}
    gold_known = {name: np.zeros(n) for name in [*field_names, DEVICE_HOURS]}
    outcomes = {name: {kind: np.zeros(n) for kind in OUTCOMES} for name in field_names}
    proposals = sample_store.proposals_of(db, run.id, [papers[i] for i in positions])
    specs = {spec.name: spec for spec in fields}
    for j, (i, finals) in enumerate(gold_rows):
        gold_paper = papers[i]
        reported_values: dict[str, Any] = {}
        for name, (gold_status, raw) in finals.items():
            if name not in specs:
                continue
            gold_known[name][j] = 1.0
            value = decode_json_cached(raw)
            if gold_status == Status.REPORTED:
                gold_reported[name][j] = 1.0
                reported_values[name] = value
                if name in gold_values:
                    gold_values[name][j] = _number(value)
            if covered[i]:
                run_status, run_raw = proposals.get((gold_paper, name), (None, None))
                run_value = decode_json_cached(run_raw) if run_status == Status.REPORTED else None
                kind = outcome(
                    specs[name], gold_status or "", value, run_status, run_value, tolerance
                )
                outcomes[name][kind][j] = 1.0
        hours_known = all(
            name in finals for name in ("accelerator_count", "training_time_hours", "gpu_hours")
        )
        if hours_known:
            gold_known[DEVICE_HOURS][j] = 1.0
            derived = derive(reported_values).device_hours
            if derived is not None:
                gold_reported[DEVICE_HOURS][j] = 1.0
                gold_values[DEVICE_HOURS][j] = derived
    return Corpus(
        sample=sample,
        run=run,
        papers=papers,
        design=design,
        covered=covered,
        reported=reported,
        values=values,
        gold_reported=gold_reported,
        gold_values=gold_values,
        gold_known=gold_known,
        outcomes=outcomes,
        sample_size=len(in_sample),
        gold_complete=complete_count,
    )


# --- figures -----------------------------------------------------------------------------------


def _figure(estimate: Estimate | None, *, rate: bool = True) -> dict[str, Any]:
    if estimate is None:
        return {"estimate": None, "ci95": None}
    interval = clipped(estimate.ci95) if rate else clipped(estimate.ci95, 0.0, math.inf)
    return {"estimate": estimate.value, "ci95": list(interval) if interval else None}


def _attempt(compute: Callable[[], Estimate]) -> tuple[Estimate | None, str | None]:
    try:
        return compute(), None
    except NotEstimable as exc:
        return None, str(exc)


def _restricted(corpus: Corpus, name: str) -> Design:
    """The design over the gold papers whose ``name`` is final (all of them unless partial)."""
    known = corpus.gold_known[name]
    if known.all():
        return corpus.design
    kept = corpus.design.gold[known > 0]
    return Design(corpus.design.frame_strata, kept, corpus.design.labels)


def _field_figures(
    corpus: Corpus, name: str, group: FloatArray | None, interval: str
) -> dict[str, Any]:
    """Accuracy, disclosure and (numeric fields) mean of one field, over the corpus or a group."""
    design = _restricted(corpus, name)
    known = corpus.gold_known[name] > 0
    in_group = np.ones(len(corpus.papers)) if group is None else group
    group_gold = in_group[design.gold]
    notes: list[str] = []
    result: dict[str, Any] = {}

    if name in corpus.outcomes:
        scored = corpus.covered * in_group
        hits = {kind: corpus.outcomes[name][kind][known] * scored[design.gold] for kind in OUTCOMES}
        accuracy, why = _attempt(lambda: share(design, hits["correct"], scored))
        if why:
            notes.append(f"accuracy: {why}")
        result["accuracy"] = {**_figure(accuracy), "n": accuracy.n if accuracy else 0}
        result["errors"] = {}
        for kind in OUTCOMES[1:]:
            figure, _ = _attempt(partial(share, design, hits[kind], scored))
            result["errors"][kind] = _figure(figure)

    predicted = corpus.reported[name] * in_group
    gold = corpus.gold_reported[name][known] * group_gold
    covered_in_group = float((corpus.covered * in_group).sum())
    model = float(predicted.sum() / covered_in_group) if covered_in_group else None
    own, why_own = _attempt(
        lambda: ratio(design, np.zeros(len(predicted)), gold, in_group, lam=0.0, binary=True)
    )
    if interval == "ppi-python":
        corrected, why = _attempt(lambda: ppi_python_rate(design, predicted, gold, in_group))
    else:
        corrected, why = _attempt(
            lambda: ratio(design, predicted, gold, in_group, lam="tuned", binary=True)
        )
    if why:
        notes.append(f"disclosure: {why}")
    result["disclosure"] = {
        "model": model,
        "gold_sample": own.value if own else None,
        "gold_sample_ci95": list(clipped(own.ci95) or ()) or None if own else None,
        "corrected": corrected.value if corrected else None,
        "ci95": list(clipped(corrected.ci95) or ()) or None if corrected else None,
        "lambda": corrected.lam if corrected else None,
        "n": corrected.n if corrected else int(group_gold.sum()),
    }

    if name in corpus.values:
        a_frame = corpus.values[name] * predicted
        b_frame = predicted
        a_gold = corpus.gold_values[name][known] * gold
        model_mean = float(a_frame.sum() / b_frame.sum()) if b_frame.sum() else None
        sample_mean, _ = _attempt(
            lambda: ratio(
                design,
                np.zeros(len(a_frame)),
                a_gold,
                np.zeros(len(b_frame)),
                gold,
                lam=0.0,
                within=in_group,
            )
        )
        corrected_mean, why = _attempt(
            lambda: ratio(design, a_frame, a_gold, b_frame, gold, lam=1.0, within=in_group)
        )
        if why:
            notes.append(f"mean: {why}")
        result["mean"] = {
            "model": model_mean,
            "gold_sample": sample_mean.value if sample_mean else None,
            "corrected": corrected_mean.value if corrected_mean else None,
            "ci95": _figure(corrected_mean, rate=False)["ci95"],
            "n": corrected_mean.n if corrected_mean else int(gold.sum()),
        }
    if notes:
        result["notes"] = notes
    return result


def ppi_python_rate(
    design: Design, predicted: FloatArray, gold: FloatArray, group: FloatArray
) -> Estimate:
    """The corrected rate as ``ppi_py.ppi_mean_ci`` computes it (the ``ppi`` extra).

    ppi-python treats the gold papers as independent draws, weighted by one over their
    inclusion probability, and the corpus as a sample from a larger population: its interval
    has no finite population correction and ignores the strata, so here it is conservative.
    """
    import ppi_py  # estimate() checked that it is installed

    members = group[design.gold] > 0
    if members.sum() < 2:
        raise NotEstimable("fewer than two gold papers in this group")
    y = gold[members]
    y_hat = predicted[design.gold][members]
    unlabelled = predicted[group > 0]
    weights = design.weights[members]
    # ppi_py's power tuning divides by the predictions' variance: where the run answers every
    # paper of the group alike it is 0 (and λ would be NaN), while any λ gives the same answer.
    lam = 1.0 if np.ptp(unlabelled) == 0 else None
    low, high = ppi_py.ppi_mean_ci(y, y_hat, unlabelled, alpha=0.05, w=weights, lam=lam)
    value = ppi_py.ppi_mean_pointestimate(y, y_hat, unlabelled, w=weights, lam=lam)
    point = float(np.asarray(value).ravel()[0])
    interval = (float(np.asarray(low).ravel()[0]), float(np.asarray(high).ravel()[0]))
    return Estimate(point, None, interval, int(members.sum()), None)


def _check_interval(interval: str) -> None:
    if interval not in INTERVALS:
        raise EstimateError(f"--interval: one of {', '.join(INTERVALS)}")
    if interval == "ppi-python":
        try:
            import ppi_py  # noqa: F401
        except ImportError:
            raise EstimateError(
                "--interval ppi-python needs the ppi-python package: pip install 'goldsmith[ppi]'"
            ) from None


def _check_columns(db: Database, columns: Sequence[str]) -> None:
    known = metadata_store.columns(db)
    for column in columns:
        if column not in known:
            listed = ", ".join(known) or "none yet: load some with import-metadata"
            raise EstimateError(f"--by: no metadata column {column!r} (columns: {listed})")


def figures(
    corpus: Corpus, group: FloatArray | None = None, interval: str = "design"
) -> dict[str, Any]:
    """Every field's figures over the corpus, or over one group (1 for its papers)."""
    found = {}
    for name in [*(spec.name for spec in FIELDS), DEVICE_HOURS]:
        computed = _field_figures(corpus, name, group, interval)
        if name == DEVICE_HOURS:
            computed = {k: v for k, v in computed.items() if k in ("mean", "notes")}
        found[name] = computed
    return found


def summary(
    corpus: Corpus, *, interval: str = "design", include_partial: bool = False
) -> dict[str, Any]:
    """The corpus-wide figures, in the JSON shape of ``goldsmith estimate --json``."""
    report: dict[str, Any] = {
        "corpus_papers": len(corpus.papers),
        "sample": {
            "name": corpus.sample.name,
            "size": corpus.sample_size,
            "gold_papers": len(corpus.design.gold),
            "complete_papers": corpus.gold_complete,
            "strata_by": list(corpus.sample.strata),
            "strata": len(corpus.design.labels),
        },
        "run": {"name": corpus.run.name, "papers": int(corpus.covered.sum())},
        "method": _method(interval, include_partial),
        "fields": figures(corpus, None, interval),
    }
    overall, why = _attempt(lambda: _overall(corpus))
    report["overall"] = {"accuracy": {**_figure(overall), "n": overall.n if overall else 0}}
    if why:
        report["overall"]["notes"] = [why]
    return report


def breakdown(
    corpus: Corpus, column: str, values: dict[str, str], *, interval: str = "design"
) -> dict[str, Any]:
    """The figures per group of a metadata column (``values``: paper id → value); papers
    without a value form the group ``(none)``."""
    labels = np.array([values.get(paper, NO_VALUE) for paper in corpus.papers], dtype=object)
    groups: dict[str, Any] = {}
    for value in _group_order(set(labels.tolist())):
        member = (labels == value).astype(np.float64)
        groups[value] = {
            "corpus_papers": int(member.sum()),
            "gold_papers": int(member[corpus.design.gold].sum()),
            "fields": figures(corpus, member, interval),
        }
    return {"column": column, "groups": groups}


def estimate(
    db: Database,
    sample_name: str,
    run_name: str,
    *,
    by: str | Sequence[str] | None = None,
    include_partial: bool = False,
    tolerance: float = DEFAULT_TOLERANCE,
    interval: str = "design",
) -> dict[str, Any]:
    """Corpus figures per field, in the JSON shape of ``goldsmith estimate --json``; with
    one ``by`` column its breakdown is under ``"by"``, with several they are a list under
    ``"breakdowns"`` (what the report draws).

    Raises:
        EstimateError: The sample, run or a ``by`` column does not exist, or the interval
            method is unknown (or needs a package that is not installed).
    """
    _check_interval(interval)
    columns = [by] if isinstance(by, str) else list(by or ())
    _check_columns(db, columns)
    corpus = load(db, sample_name, run_name, include_partial=include_partial, tolerance=tolerance)
    report = summary(corpus, interval=interval, include_partial=include_partial)
    parts = [
        breakdown(corpus, column, metadata_store.values_of(db, column), interval=interval)
        for column in columns
    ]
    if isinstance(by, str):
        report["by"] = parts[0]
    elif parts:
        report["breakdowns"] = parts
    return report


def breakdown_columns(db: Database, most: int = 12) -> list[str]:
    """Metadata columns worth breaking a report down by: two to ``most`` distinct values."""
    found = []
    for column in metadata_store.columns(db):
        distinct = len(set(metadata_store.values_of(db, column).values()))
        if 2 <= distinct <= most:
            found.append(column)
    return found


def _overall(corpus: Corpus) -> Estimate:
    """Accuracy over every (paper, field) pair, as ``score`` reports it overall."""
    design = corpus.design
    correct = np.zeros(len(design.gold))
    total = np.zeros(len(design.gold))
    for kinds in corpus.outcomes.values():
        for kind, hits in kinds.items():
            total += hits
            if kind == "correct":
                correct += hits
    scored = corpus.covered[design.gold] > 0
    fractions = np.where(total > 0, correct / np.maximum(total, 1), 0.0) * scored
    return share(design, fractions, corpus.covered)


def _group_order(values: set[str]) -> list[str]:
    """Groups in numeric order when every value is a number (years), else alphabetical;
    papers without a value last."""
    named = [v for v in values if v != NO_VALUE]

    def as_number(value: str) -> float | None:
        try:
            return float(value)
        except ValueError:
            return None

    if named and all(as_number(v) is not None for v in named):
        named.sort(key=lambda v: float(v))
    else:
        named.sort()
    return named + ([NO_VALUE] if NO_VALUE in values else [])


def _method(interval: str, include_partial: bool) -> dict[str, Any]:
    disclosure = (
        "ppi-python ppi_mean_ci (weights 1/inclusion probability; no finite population "
        "correction, strata ignored: conservative)"
        if interval == "ppi-python"
        else "stratified difference estimator (prediction-powered, power-tuned λ), "
        "design-based variance with finite population correction"
    )
    gold = (
        "final fields of every sampled paper"
        if include_partial
        else "sampled papers whose every field is final"
    )
    return {
        "disclosure": disclosure,
        "accuracy": "design-weighted share, Wilson interval at the effective sample size",
        "gold": gold,
        "confidence": 0.95,
    }
