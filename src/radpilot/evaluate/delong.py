"""DeLong's test for two correlated AUROCs (two models scored on the same cases).

The fast midrank algorithm of Sun & Xu (IEEE Signal Processing Letters 21(11), 2014):
O(n log n) instead of the O(n^2) structural components of DeLong et al. (Biometrics 1988).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from radpilot.errors import InputError


@dataclass(frozen=True, slots=True)
class DeLongResult:
    auroc_a: float
    auroc_b: float
    difference: float  # a - b
    se: float  # standard error of the difference
    z: float
    p_value: float  # two-sided
    ci: tuple[float, float]  # of the difference, normal approximation

    def to_dict(self) -> dict[str, float | list[float]]:
        return {
            "auroc_a": self.auroc_a,
            "auroc_b": self.auroc_b,
            "difference": self.difference,
            "se": self.se,
            "z": self.z,
            "p_value": self.p_value,
            "difference_ci": list(self.ci),
        }


def _midranks(x: np.ndarray) -> np.ndarray:
    from scipy.stats import rankdata

    return np.asarray(rankdata(x, method="average", axis=-1), dtype=np.float64)


def delong_covariance(y_true: ArrayLike, scores: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """AUROCs of k models (rows of ``scores``) and their k x k DeLong covariance."""
    y = np.asarray(y_true).astype(bool)
    s = np.atleast_2d(np.asarray(scores, dtype=np.float64))
    if s.shape[1] != y.shape[0]:
        raise InputError(f"scores have {s.shape[1]} cases but labels have {y.shape[0]}")
    pos, neg = s[:, y], s[:, ~y]
    m, n = pos.shape[1], neg.shape[1]
    if m < 2 or n < 2:
        raise InputError(
            f"DeLong's test needs at least 2 positive and 2 negative cases (got {m}, {n})"
        )
    tx = _midranks(pos)
    ty = _midranks(neg)
    tz = _midranks(np.concatenate([pos, neg], axis=1))
    aucs = (tz[:, :m].sum(axis=1) / m - (m + 1) / 2.0) / n
    v01 = (tz[:, :m] - tx) / n
    v10 = 1.0 - (tz[:, m:] - ty) / m
    sx = np.atleast_2d(np.cov(v01))
    sy = np.atleast_2d(np.cov(v10))
    return aucs, sx / m + sy / n


def delong_test(
    y_true: ArrayLike, score_a: ArrayLike, score_b: ArrayLike, *, level: float = 0.95
) -> DeLongResult:
    from scipy.stats import norm

    aucs, cov = delong_covariance(y_true, np.vstack([score_a, score_b]))
    diff = float(aucs[0] - aucs[1])
    var = float(cov[0, 0] + cov[1, 1] - 2 * cov[0, 1])
    se = float(np.sqrt(max(var, 0.0)))
    if se == 0.0:
        z, p = (0.0, 1.0) if diff == 0.0 else (float(np.sign(diff) * np.inf), 0.0)
    else:
        z = diff / se
        p = float(2 * norm.sf(abs(z)))
    half = float(norm.ppf(0.5 + level / 2)) * se
    return DeLongResult(
        float(aucs[0]), float(aucs[1]), diff, se, float(z), p, (diff - half, diff + half)
    )
