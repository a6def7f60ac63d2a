"""Calibration: does a predicted 0.8 come true 80% of the time?

Meaningful only for probabilities in [0, 1]; callers skip it for other scores.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

DEFAULT_BINS = 10


@dataclass(frozen=True, slots=True)
class Reliability:
    """Equal-width bins over [0, 1]; empty bins are left out."""

    bin_lower: list[float]
    bin_upper: list[float]
    mean_predicted: list[float]
    observed_rate: list[float]
    count: list[int]

    def to_dict(self) -> dict[str, list[float] | list[int]]:
        return {
            "bin_lower": self.bin_lower,
            "bin_upper": self.bin_upper,
            "mean_predicted": self.mean_predicted,
            "observed_rate": self.observed_rate,
            "count": self.count,
        }


def is_probability(y_prob: ArrayLike) -> bool:
    p = np.asarray(y_prob, dtype=np.float64)
    return bool(p.size) and bool(np.all((p >= 0.0) & (p <= 1.0)))


def brier_loss(y_true: ArrayLike, y_prob: ArrayLike) -> float:
    """Mean squared error of the probability; ``sklearn.metrics.brier_score_loss``."""
    y = np.asarray(y_true, dtype=np.float64)
    p = np.asarray(y_prob, dtype=np.float64)
    return float(np.mean((p - y) ** 2))


def _bins(p: np.ndarray, n_bins: int) -> np.ndarray:
    # The same edges and side as sklearn.calibration.calibration_curve (uniform strategy).
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    return np.searchsorted(edges[1:-1], p, side="left")


def reliability_curve(
    y_true: ArrayLike, y_prob: ArrayLike, *, n_bins: int = DEFAULT_BINS
) -> Reliability:
    y = np.asarray(y_true, dtype=np.float64)
    p = np.asarray(y_prob, dtype=np.float64)
    b = _bins(p, n_bins)
    count = np.bincount(b, minlength=n_bins)
    sum_p = np.bincount(b, weights=p, minlength=n_bins)
    sum_y = np.bincount(b, weights=y, minlength=n_bins)
    keep = count > 0
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    return Reliability(
        bin_lower=edges[:-1][keep].tolist(),
        bin_upper=edges[1:][keep].tolist(),
        mean_predicted=(sum_p[keep] / count[keep]).tolist(),
        observed_rate=(sum_y[keep] / count[keep]).tolist(),
        count=count[keep].astype(int).tolist(),
    )


def expected_calibration_loss(
    y_true: ArrayLike, y_prob: ArrayLike, *, n_bins: int = DEFAULT_BINS
) -> float:
    """Expected calibration error: the case-weighted mean |observed rate - mean predicted|
    over equal-width bins (Guo et al. 2017)."""
    r = reliability_curve(y_true, y_prob, n_bins=n_bins)
    n = sum(r.count)
    gaps = np.abs(np.asarray(r.observed_rate) - np.asarray(r.mean_predicted))
    return float(np.sum(gaps * np.asarray(r.count)) / n)
