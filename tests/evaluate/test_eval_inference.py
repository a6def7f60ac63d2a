"""Intervals and tests measured, not assumed: bootstrap coverage by simulation, DeLong
against a bootstrap of the same AUROC difference."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import norm
from sklearn import metrics as skm

from radpilot.evaluate import bootstrap as bs
from radpilot.evaluate import curves
from radpilot.evaluate.classification import bootstrap_stats
from radpilot.evaluate.delong import delong_covariance, delong_test

N_DATASETS = 200
N_RESAMPLES = 200
NOMINAL = 0.95
# Three binomial standard deviations of the coverage over 200 simulated datasets.
TOL = 3 * math.sqrt(NOMINAL * (1 - NOMINAL) / N_DATASETS)


def test_bootstrap_intervals_cover_the_truth_at_the_nominal_rate() -> None:
    # Binormal model: positive scores N(d, 1), negative N(0, 1): true AUROC = Phi(d / sqrt 2);
    # true sensitivity at threshold t = 1 - Phi(t - d).
    d, t, n_pos, n_neg = 1.2, 0.8, 60, 140
    true_auroc = norm.cdf(d / math.sqrt(2))
    true_sens = 1 - norm.cdf(t - d)
    rng = np.random.default_rng(2024)
    hits_auc = hits_sens = 0
    for i in range(N_DATASETS):
        y = np.r_[np.ones(n_pos), np.zeros(n_neg)]
        s = np.r_[rng.normal(d, 1, n_pos), rng.normal(0, 1, n_neg)]
        curve = curves.BinaryCurve(y, s, thresholds=[t])
        boot = bootstrap_stats(
            curve, n_resamples=N_RESAMPLES, rng=bs.rng_for(i, "coverage"), threshold=t
        )
        lo, hi = bs.percentile_ci(boot["auroc"])  # type: ignore[misc]
        hits_auc += lo <= true_auroc <= hi
        lo, hi = bs.percentile_ci(boot["sensitivity"])  # type: ignore[misc]
        hits_sens += lo <= true_sens <= hi
    assert abs(hits_auc / N_DATASETS - NOMINAL) <= TOL, hits_auc
    assert abs(hits_sens / N_DATASETS - NOMINAL) <= TOL, hits_sens


def test_bootstrap_is_seeded_and_keyed() -> None:
    y = np.r_[np.ones(30), np.zeros(70)]
    s = np.random.default_rng(0).random(100) + 0.3 * y
    curve = curves.BinaryCurve(y, s, thresholds=[0.5])
    a = bootstrap_stats(curve, n_resamples=50, rng=bs.rng_for(7, "Edema"), threshold=0.5)
    b = bootstrap_stats(curve, n_resamples=50, rng=bs.rng_for(7, "Edema"), threshold=0.5)
    c = bootstrap_stats(curve, n_resamples=50, rng=bs.rng_for(8, "Edema"), threshold=0.5)
    assert np.array_equal(a["auroc"], b["auroc"])
    assert not np.array_equal(a["auroc"], c["auroc"])
    # Stratified: every resample keeps the positives and negatives it started with.
    assert np.all(np.isfinite(a["auroc"]))


@pytest.mark.parametrize(
    ("samples", "expected"),
    [
        (np.arange(101, dtype=float), [2.5, 97.5]),
        (np.r_[np.full(60, np.nan), np.ones(40)], None),  # mostly undefined: no interval
        (np.r_[np.full(10, np.nan), np.arange(91, dtype=float)], [2.25, 87.75]),
    ],
)
def test_percentile_ci(samples: np.ndarray, expected: list[float] | None) -> None:
    got = bs.percentile_ci(samples)
    if expected is None:
        assert got is None
    else:
        assert got == pytest.approx(expected)


def test_delong_auroc_and_its_se_agree_with_sklearn_and_the_bootstrap() -> None:
    rng = np.random.default_rng(11)
    n = 600
    y = (rng.random(n) < 0.3).astype(int)
    latent = rng.normal(size=n)
    a = latent + 1.0 * y + rng.normal(0, 0.7, n)
    b = latent + 0.7 * y + rng.normal(0, 0.7, n)  # correlated with a, as two real models are
    res = delong_test(y, a, b)
    assert res.auroc_a == pytest.approx(skm.roc_auc_score(y, a), abs=1e-12)
    assert res.auroc_b == pytest.approx(skm.roc_auc_score(y, b), abs=1e-12)
    ca, cb = curves.BinaryCurve(y, a), curves.BinaryCurve(y, b)
    boot_rng = np.random.default_rng(5)
    pos, neg = bs.stratified_draws(boot_rng, ca.n_pos, ca.n_neg, 2000)
    diffs = curves.auroc(ca.resample_counts(pos, neg)) - curves.auroc(cb.resample_counts(pos, neg))
    boot_se = float(np.std(diffs, ddof=1))
    assert res.se == pytest.approx(boot_se, rel=0.12)
    # Single-model variance against the bootstrap too.
    _, cov = delong_covariance(y, a[None, :])
    assert math.sqrt(cov[0, 0]) == pytest.approx(
        float(np.std(curves.auroc(ca.resample_counts(pos, neg)), ddof=1)), rel=0.12
    )


def test_delong_identical_models_and_invalid_inputs() -> None:
    y = np.array([0, 0, 1, 1, 0, 1])
    s = np.array([0.1, 0.4, 0.35, 0.8, 0.2, 0.9])
    res = delong_test(y, s, s)
    assert res.difference == 0.0 and res.p_value == 1.0
    from radpilot.errors import InputError

    with pytest.raises(InputError, match="at least 2 positive"):
        delong_test([0, 0, 1], [0.1, 0.2, 0.3], [0.3, 0.2, 0.1])


@pytest.mark.parametrize(
    ("k", "n", "expected"),
    [
        (10, 10, [0.7225, 1.0]),  # all detected: not a certain sensitivity of 1
        (0, 20, [0.0, 0.1611]),
        (50, 100, [0.4038, 0.5962]),
    ],
)
def test_wilson_interval_textbook_values(k: int, n: int, expected: list[float]) -> None:
    assert bs.wilson_ci(k, n) == pytest.approx(expected, abs=1e-4)
    assert bs.wilson_ci(0, 0) is None


def test_degenerate_bootstrap_interval_is_shown_as_wilson() -> None:
    from radpilot.evaluate.classification import evaluate
    from radpilot.evaluate.html import shown_ci

    y = [1] * 10 + [0] * 30
    s = [0.9] * 10 + [0.1] * 25 + [0.8] * 5
    res = evaluate(
        {"id": list(range(40)), "x": y}, {"id": list(range(40)), "x": s}, n_resamples=100
    )
    r = res.metrics["findings"]["x"]
    assert r["sensitivity_ci"] == [1.0, 1.0]
    ci, is_wilson = shown_ci(r, "sensitivity")
    assert is_wilson and ci == pytest.approx([0.7225, 1.0], abs=1e-4)
    assert shown_ci(r, "specificity")[1] is False
