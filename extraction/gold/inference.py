"""Design-based estimates for a whole corpus from a stratified random gold sample.

The corpus is the sample's *frame*: ``N`` papers in strata of ``N_h`` papers each. The gold
papers are a simple random sample, without replacement, of ``n_h`` papers in each stratum
(``sample`` draws them so; a stratum reviewed in sample order is such a sample at every
point). A run's prediction ``â`` is known for every paper of the frame; the gold value ``a``
only for the gold papers.

A corpus total ``T = Σ_U a`` is estimated by the **difference estimator** (Särndal, Swensson
& Wretman, *Model Assisted Survey Sampling*, 1992, §6.3), which is what prediction-powered
inference (Angelopoulos et al. 2023) becomes when the unlabelled data are the rest of a finite
corpus (Fogliato et al. 2024, arXiv 2406.07320)::

    T̂ = λ Σ_U â + Σ_h (N_h / n_h) Σ_{s_h} (a − λ â)

It is unbiased for every fixed ``λ`` and whatever the predictions are worth; good predictions
only make it more precise. Its variance under the design, with the finite population
correction ``1 − n_h / N_h``, is ``Σ_h N_h² (1 − n_h / N_h) S_h² / n_h``, ``S_h²`` the variance
of the residuals ``a − λ â`` within stratum ``h`` (estimated by their sample variance).
``λ = 1`` is plain PPI; ``λ = 0`` uses the gold sample alone (the stratified mean). Rates use
the ``λ`` that minimises that variance (PPI++'s power tuning, Angelopoulos, Duchi & Zrnic 2023,
in its design-based form), clipped to [0, 1] so the model can never make the interval wider
than the gold sample's own (up to the noise of estimating ``λ``).

A rate or a mean is a ratio of two totals ``R = T_a / T_b`` (``b`` is 1 for a rate over the
corpus, the membership of a group for a breakdown, "reported" for a mean among reporting
papers). It is estimated as ``T̂_a / T̂_b`` with the linearised (Taylor) variance: the same
formula over ``z = (a − λ â) − R̂ (b − λ b̂)``, divided by ``T̂_b²``. The 95% interval is
``estimate ± 1.96 standard errors``: valid for large samples, conditional on the gold papers
being the random sample the design says they are.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np
import numpy.typing as npt

Z95 = NormalDist().inv_cdf(0.975)

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


class NotEstimable(ValueError):
    """The gold sample cannot support the estimate; the message says why."""


@dataclass(frozen=True)
class Design:
    """A stratified simple random sample (without replacement) of a finite frame.

    Attributes:
        frame_strata: The stratum (0 … H−1) of every paper of the frame, in frame order.
        gold: The positions in the frame of the gold papers.
        labels: Each stratum's name, for messages.
    """

    frame_strata: IntArray
    gold: IntArray
    labels: tuple[str, ...]

    @classmethod
    def build(
        cls,
        frame_strata: Sequence[int] | IntArray,
        gold: Sequence[int] | IntArray,
        labels: Sequence[str],
    ) -> Design:
        strata = np.asarray(frame_strata, dtype=np.int64)
        positions = np.asarray(gold, dtype=np.int64)
        if len(np.unique(positions)) != len(positions):
            raise ValueError("a gold paper appears twice")
        return cls(strata, positions, tuple(labels))

    @property
    def strata_count(self) -> int:
        return len(self.labels)

    @property
    def population(self) -> IntArray:
        """``N_h``: frame papers per stratum."""
        return np.bincount(self.frame_strata, minlength=self.strata_count)

    @property
    def gold_strata(self) -> IntArray:
        """The stratum of each gold paper."""
        return self.frame_strata[self.gold]

    @property
    def sampled(self) -> IntArray:
        """``n_h``: gold papers per stratum."""
        return np.bincount(self.gold_strata, minlength=self.strata_count)

    @property
    def weights(self) -> FloatArray:
        """Each gold paper's design weight ``N_h / n_h`` (one over its inclusion probability)."""
        n = self.sampled.astype(np.float64)
        with np.errstate(divide="ignore", invalid="ignore"):
            per_stratum = np.where(n > 0, self.population / n, 0.0)
        return per_stratum[self.gold_strata]


@dataclass(frozen=True)
class Estimate:
    """A corpus figure with its standard error and 95% interval (``None`` when unknown)."""

    value: float
    se: float | None
    ci95: tuple[float, float] | None
    n: int
    """Gold papers that informed it (in the group, when it is a breakdown)."""
    lam: float | None = None
    """The weight given to the run's predictions (1: plain PPI, 0: gold sample alone)."""


def _by_stratum_variance(design: Design, z: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Per stratum: the sample variance (ddof 1) of ``z`` over its gold papers, and
    ``N_h² (1 − n_h/N_h) / n_h``, the factor that turns it into a variance of a total."""
    strata = design.gold_strata
    count = design.strata_count
    n = design.sampled.astype(np.float64)
    big_n = design.population.astype(np.float64)
    sums = np.bincount(strata, weights=z, minlength=count)
    squares = np.bincount(strata, weights=z * z, minlength=count)
    with np.errstate(divide="ignore", invalid="ignore"):
        means = np.where(n > 0, sums / n, 0.0)
        variance = np.where(n > 1, (squares - n * means * means) / (n - 1), 0.0)
        factor = np.where(n > 0, big_n * big_n * (1 - n / big_n) / n, 0.0)
    # Rounding can leave a tiny negative variance where every value is equal.
    return np.maximum(variance, 0.0), factor


def _covariance_by_stratum(design: Design, x: FloatArray, y: FloatArray) -> FloatArray:
    strata = design.gold_strata
    count = design.strata_count
    n = design.sampled.astype(np.float64)
    sx = np.bincount(strata, weights=x, minlength=count)
    sy = np.bincount(strata, weights=y, minlength=count)
    sxy = np.bincount(strata, weights=x * y, minlength=count)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(n > 1, (sxy - sx * sy / np.maximum(n, 1)) / (n - 1), 0.0)


def _check(design: Design, needed: FloatArray) -> None:
    """Refuse when a stratum that holds papers of the estimand has no gold paper yet."""
    missing = (needed > 0) & (design.sampled == 0)
    if missing.any():
        names = [design.labels[h] for h in np.flatnonzero(missing)[:3]]
        more = int(missing.sum()) - len(names)
        listed = ", ".join(names) + (f" and {more} more" if more > 0 else "")
        raise NotEstimable(f"no gold papers yet in stratum {listed}")


def tuned_lambda(design: Design, a_gold: FloatArray, a_hat_gold: FloatArray) -> float:
    """The λ minimising the design variance of the corrected total, clipped to [0, 1]:
    ``Σ_h c_h Cov_h(a, â) / Σ_h c_h Var_h(â)`` with ``c_h = N_h² (1 − n_h/N_h) / n_h``."""
    _, factor = _by_stratum_variance(design, a_gold)
    covariance = _covariance_by_stratum(design, a_gold, a_hat_gold)
    variance = _covariance_by_stratum(design, a_hat_gold, a_hat_gold)
    denominator = float((factor * variance).sum())
    if denominator <= 0:
        return 1.0  # the predictions do not vary within strata: λ changes nothing
    return float(np.clip((factor * covariance).sum() / denominator, 0.0, 1.0))


def ratio(
    design: Design,
    a_frame: FloatArray,
    a_gold: FloatArray,
    b_frame: FloatArray | None = None,
    b_gold: FloatArray | None = None,
    *,
    lam: float | str = 1.0,
    binary: bool = False,
    within: FloatArray | None = None,
) -> Estimate:
    """Estimate ``R = Σ_U a / Σ_U b`` over the frame.

    Args:
        a_frame: The run's prediction ``â`` for every frame paper (0 where it has none).
        a_gold: The gold value ``a`` of each gold paper, in ``design.gold`` order.
        b_frame: ``b`` for every frame paper when it is known everywhere (1 for the whole
            corpus, group membership for a breakdown); ``None`` means 1. When ``b_gold`` is
            given, ``b_frame`` is the run's prediction ``b̂`` and ``b`` is estimated too.
        b_gold: ``b`` of each gold paper, when it is known only there (e.g. "reported").
        lam: The weight of the predictions, or ``"tuned"`` (when ``b`` is known).
        within: With ``b_gold``: 1 for the papers the estimand is about (a group), so strata
            without any of them need no gold paper. Default: every paper.
        binary: ``a`` is 0 or 1 (a rate): a stratum whose gold papers all have the same
            residual is given the variance of one more paper that differs (otherwise a run
            that made no mistake on the few papers checked would get a zero-width interval).

    Raises:
        NotEstimable: A stratum holding papers of the estimand has no gold paper, no gold
            paper belongs to the estimand, or the estimand is empty.
    """
    big_n = len(design.frame_strata)
    b_known = b_gold is None
    if b_frame is None:
        b_frame = np.ones(big_n)
    a_hat_gold = a_frame[design.gold]
    b_hat_gold = b_frame[design.gold]
    if b_known:
        b_gold = b_hat_gold
        needed = np.bincount(
            design.frame_strata, weights=(b_frame != 0).astype(float), minlength=design.strata_count
        )
    elif within is None:
        needed = design.population.astype(np.float64)  # any paper may turn out to count
    else:
        needed = np.bincount(
            design.frame_strata, weights=(within != 0).astype(float), minlength=design.strata_count
        )
    assert b_gold is not None
    _check(design, needed.astype(np.float64))
    informed = int(np.count_nonzero(b_gold != 0)) if b_known else int(np.count_nonzero(b_gold))
    if informed == 0:
        raise NotEstimable(
            "no gold paper in this group yet" if b_known else "no gold paper reports it"
        )
    if lam == "tuned":
        if not b_known:
            raise ValueError("λ is tuned only when b is known")
        weight = tuned_lambda(design, a_gold, a_hat_gold)
    else:
        weight = float(lam)
    weights = design.weights
    total_a = weight * float(a_frame.sum()) + float(
        (weights * (a_gold - weight * a_hat_gold)).sum()
    )
    if b_known:
        total_b = float(b_frame.sum())
        z = a_gold - weight * a_hat_gold
    else:
        total_b = weight * float(b_frame.sum()) + float(
            (weights * (b_gold - weight * b_hat_gold)).sum()
        )
    if total_b <= 0:
        raise NotEstimable("the estimated number of papers it is over is not positive")
    value = total_a / total_b
    if not b_known:
        z = (a_gold - weight * a_hat_gold) - value * (b_gold - weight * b_hat_gold)
    variance, factor = _by_stratum_variance(design, z)
    n = design.sampled
    if binary:
        flat = (variance == 0) & (n > 0) & (n < design.population) & (needed > 0)
        variance = np.where(flat, 1.0 / (n + 1.0), variance)
    lonely = (n == 1) & (design.population > 1) & (needed > 0)
    if lonely.any() or informed < 2:
        # One gold paper in a stratum (or in the group): its variance cannot be estimated.
        return Estimate(value, None, None, informed, weight)
    se = math.sqrt(float((factor * variance).sum())) / total_b
    return Estimate(value, se, (value - Z95 * se, value + Z95 * se), informed, weight)


def clipped(
    interval: tuple[float, float] | None, low: float = 0.0, high: float = 1.0
) -> tuple[float, float] | None:
    """An interval cut to the range its quantity can take (a rate to [0, 1])."""
    if interval is None:
        return None
    return (max(low, interval[0]), min(high, interval[1]))


def wilson(p: float, n_effective: float) -> tuple[float, float]:
    """The Wilson score interval of a proportion ``p`` for an (effective) sample size."""
    z2 = Z95 * Z95
    denominator = 1 + z2 / n_effective
    centre = (p + z2 / (2 * n_effective)) / denominator
    margin = Z95 * math.sqrt(p * (1 - p) / n_effective + z2 / (4 * n_effective**2)) / denominator
    return (max(0.0, centre - margin), min(1.0, centre + margin))


def share(design: Design, hits_gold: FloatArray, group_frame: FloatArray | None = None) -> Estimate:
    """A share of the corpus known only from the gold papers (a run's accuracy, its share of
    hallucinations), with a Wilson interval at the design's effective sample size.

    The effective size is Kish's: the number of simple-random gold papers that would give
    the same variance (``p (1 − p) / variance``); so the interval narrows with the finite
    population correction and never collapses to a point at 0% or 100%.
    """
    estimate = ratio(design, np.zeros(len(design.frame_strata)), hits_gold, group_frame, lam=0.0)
    p = min(1.0, max(0.0, estimate.value))
    if estimate.se is None:
        return Estimate(p, None, None, estimate.n, None)
    if estimate.se > 0 and 0 < p < 1:
        n_effective = p * (1 - p) / estimate.se**2
    else:
        # Every gold paper agrees: the effective size is the gold count, corrected for the
        # share of the group that was checked.
        group = (
            len(design.frame_strata)
            if group_frame is None
            else float(np.count_nonzero(group_frame))
        )
        n_effective = estimate.n / max(1e-9, 1 - estimate.n / group)
    return Estimate(p, estimate.se, wilson(p, n_effective), estimate.n, None)
