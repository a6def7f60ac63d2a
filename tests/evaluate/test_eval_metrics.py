"""Point metrics agree with scikit-learn on random data (hypothesis), and the operating
point helpers pick the thresholds they promise."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn import metrics as skm

from radpilot.errors import InputError
from radpilot.evaluate import curves
from radpilot.evaluate.agreement import cohen_kappa_score, fleiss_kappa_score, rating_counts
from radpilot.evaluate.calibration import (
    brier_loss,
    expected_calibration_loss,
    reliability_curve,
)


@st.composite
def labelled_scores(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray]:
    n = draw(st.integers(2, 80))
    y = np.array(draw(st.lists(st.integers(0, 1), min_size=n, max_size=n)))
    if y.min() == y.max():
        y[0] = 1 - y[0]
    # Coarse scores make ties common: ties are where AUROC implementations differ.
    levels = draw(st.sampled_from([3, 10, 1000]))
    s = np.array(draw(st.lists(st.integers(0, levels), min_size=n, max_size=n))) / levels
    return y, s


# The metrics table: every score-type metric beside its scikit-learn reference.
SCORE_METRICS = [
    ("roc_auc_score", curves.roc_auc_score, skm.roc_auc_score),
    ("average_precision_score", curves.average_precision_score, skm.average_precision_score),
    (
        "f1_score@0.5",
        lambda y, s: curves.f1_score(y, s >= 0.5),
        lambda y, s: skm.f1_score(y, s >= 0.5, zero_division=0),
    ),
    ("brier_loss", brier_loss, skm.brier_score_loss),
]


@pytest.mark.parametrize(
    ("name", "ours", "reference"), SCORE_METRICS, ids=[m[0] for m in SCORE_METRICS]
)
@settings(max_examples=50, deadline=None)
@given(data=labelled_scores())
def test_metrics_match_sklearn(
    name: str, ours, reference, data: tuple[np.ndarray, np.ndarray]
) -> None:
    y, s = data
    assert ours(y, s) == pytest.approx(reference(y, s), abs=1e-9), name


@settings(max_examples=60, deadline=None)
@given(labelled_scores(), st.sampled_from([0.0, 0.25, 0.5, 0.7, 1.0]))
def test_threshold_metrics_match_sklearn(data: tuple[np.ndarray, np.ndarray], thr: float) -> None:
    y, s = data
    m = curves.threshold_metrics(y, s, threshold=thr)
    hard = (s >= thr).astype(int)
    assert m["f1"] == pytest.approx(
        skm.f1_score(y, hard, zero_division=np.nan), abs=1e-9, nan_ok=True
    )
    assert curves.f1_score(y, hard) == pytest.approx(
        skm.f1_score(y, hard, zero_division=0), abs=1e-9
    )
    assert m["sensitivity"] == pytest.approx(skm.recall_score(y, hard), abs=1e-9)
    assert m["specificity"] == pytest.approx(skm.recall_score(1 - y, 1 - hard), abs=1e-9)


@settings(max_examples=60, deadline=None)
@given(labelled_scores(), st.sampled_from([0.5, 0.8, 0.95, 1.0]))
def test_operating_points_are_the_best_feasible(
    data: tuple[np.ndarray, np.ndarray], target: float
) -> None:
    y, s = data
    curve = curves.BinaryCurve(y, s)
    c = curve.counts()
    fpr, tpr, _ = skm.roc_curve(y, s, drop_intermediate=False)
    at_sens = curves.at_sensitivity(curve, c, target)
    assert at_sens.sensitivity[0] >= target - 1e-12
    # No ROC point reaching the target sensitivity has a better specificity.
    assert at_sens.specificity[0] == pytest.approx(1 - fpr[tpr >= target - 1e-12].min())
    at_spec = curves.at_specificity(curve, c, target)
    assert at_spec.specificity[0] >= target - 1e-12
    assert at_spec.sensitivity[0] == pytest.approx(tpr[1 - fpr >= target - 1e-12].max())


def test_resample_counts_equal_metrics_of_the_resampled_data() -> None:
    rng = np.random.default_rng(3)
    y = (rng.random(300) < 0.3).astype(int)
    s = np.round(rng.random(300) + 0.4 * y, 2)
    curve = curves.BinaryCurve(y, s, thresholds=[0.5])
    pos = rng.integers(0, curve.n_pos, size=(5, curve.n_pos))
    neg = rng.integers(0, curve.n_neg, size=(5, curve.n_neg))
    c = curve.resample_counts(pos, neg)
    got = curves.auroc(c)
    got_ap = curves.average_precision(c)
    got_f1 = curves.at_threshold(curve, c, 0.5).f1
    for b in range(5):
        idx = np.concatenate([curve.pos_idx[pos[b]], curve.neg_idx[neg[b]]])
        assert got[b] == pytest.approx(skm.roc_auc_score(y[idx], s[idx]), abs=1e-12)
        assert got_ap[b] == pytest.approx(skm.average_precision_score(y[idx], s[idx]), abs=1e-12)
        assert got_f1[b] == pytest.approx(skm.f1_score(y[idx], s[idx] >= 0.5), abs=1e-12)


@pytest.mark.parametrize(
    ("y", "s", "message"),
    [
        ([1, 1, 1], [0.1, 0.2, 0.3], "both positive and negative"),
        ([0, 0], [0.1, 0.2], "both positive and negative"),
        ([0, 1], [0.1], "same length"),
        ([0, 1], [0.1, float("nan")], "finite"),
        ([0, 2], [0.1, 0.2], "0 or 1"),
    ],
)
def test_invalid_curve_inputs(y: list[int], s: list[float], message: str) -> None:
    with pytest.raises(InputError, match=message):
        curves.BinaryCurve(y, s)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 3), st.integers(0, 3)), min_size=2, max_size=60).filter(
        lambda pairs: len({v for p in pairs for v in p}) > 1
    )
)
def test_cohen_kappa_matches_sklearn(pairs: list[tuple[int, int]]) -> None:
    a, b = np.array(pairs).T
    expected = skm.cohen_kappa_score(a, b)
    assert cohen_kappa_score(a, b) == pytest.approx(expected, abs=1e-9, nan_ok=True)


def test_fleiss_kappa_textbook_example() -> None:
    # Fleiss (1971) as worked on Wikipedia: 10 subjects, 14 raters, 5 categories, kappa 0.210.
    table = [
        [0, 0, 0, 0, 14],
        [0, 2, 6, 4, 2],
        [0, 0, 3, 5, 6],
        [0, 3, 9, 2, 0],
        [2, 2, 8, 1, 1],
        [7, 7, 0, 0, 0],
        [3, 2, 6, 3, 0],
        [2, 5, 3, 2, 2],
        [6, 5, 2, 1, 0],
        [0, 2, 2, 3, 7],
    ]
    assert fleiss_kappa_score(table) == pytest.approx(0.20993, abs=5e-5)


def test_fleiss_equals_scott_pi_for_two_raters() -> None:
    # With two raters Fleiss' kappa is Scott's pi: observed agreement against the chance
    # agreement of the pooled category rates.
    rng = np.random.default_rng(0)
    a = rng.integers(0, 3, size=400)
    b = np.where(rng.random(400) < 0.7, a, rng.integers(0, 3, size=400))
    observed = np.mean(a == b)
    pooled = np.bincount(np.r_[a, b], minlength=3) / 800
    scott_pi = (observed - np.sum(pooled**2)) / (1 - np.sum(pooled**2))
    counts = rating_counts(np.c_[a, b])
    assert counts.sum(axis=1).tolist() == [2] * 400
    assert fleiss_kappa_score(counts) == pytest.approx(scott_pi, abs=1e-12)
    with pytest.raises(InputError, match="same number"):
        fleiss_kappa_score([[1, 1], [2, 1]])


def test_calibration_matches_sklearn() -> None:
    from sklearn.calibration import calibration_curve

    rng = np.random.default_rng(1)
    p = np.round(rng.random(500), 1)  # values on bin edges on purpose
    y = (rng.random(500) < p).astype(int)
    assert brier_loss(y, p) == pytest.approx(skm.brier_score_loss(y, p))
    prob_true, prob_pred = calibration_curve(y, p, n_bins=10, strategy="uniform")
    r = reliability_curve(y, p)
    assert np.allclose(r.observed_rate, prob_true) and np.allclose(r.mean_predicted, prob_pred)
    ece = expected_calibration_loss(y, p)
    manual = sum(
        c * abs(o - m) for c, o, m in zip(r.count, r.observed_rate, r.mean_predicted, strict=True)
    ) / len(y)
    assert ece == pytest.approx(manual)
    assert expected_calibration_loss([0, 1], [0.0, 1.0]) == 0.0
