"""Agreement between raters: Cohen's kappa for two, Fleiss' kappa for many."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from radpilot.errors import InputError


def cohen_kappa_score(rater_a: ArrayLike, rater_b: ArrayLike) -> float:
    """Cohen's kappa of two raters' categorical labels; ``sklearn.metrics.cohen_kappa_score``.
    NaN when chance agreement is total (both raters always give the same single label)."""
    a = np.asarray(rater_a)
    b = np.asarray(rater_b)
    if a.shape != b.shape or a.ndim != 1 or a.size == 0:
        raise InputError(f"two raters need equal, non-empty label lists (got {a.shape}, {b.shape})")
    cats, codes = np.unique(np.concatenate([a, b]), return_inverse=True)
    k = len(cats)
    ca, cb = codes[: len(a)], codes[len(a) :]
    table = np.bincount(ca * k + cb, minlength=k * k).reshape(k, k).astype(np.float64)
    n = table.sum()
    observed = np.trace(table) / n
    expected = float(table.sum(axis=1) @ table.sum(axis=0)) / n**2
    if expected == 1.0:
        return float("nan")
    return float((observed - expected) / (1.0 - expected))


def fleiss_kappa_score(counts: ArrayLike) -> float:
    """Fleiss' kappa from an (items x categories) table of how many raters chose each
    category; every item must have the same number of raters (Fleiss 1971)."""
    table = np.asarray(counts, dtype=np.float64)
    if table.ndim != 2 or table.shape[0] == 0:
        raise InputError("Fleiss' kappa needs an items x categories count table")
    raters = table.sum(axis=1)
    if not np.allclose(raters, raters[0]) or raters[0] < 2:
        raise InputError("Fleiss' kappa needs the same number (>= 2) of raters for every item")
    r = raters[0]
    n_items = table.shape[0]
    p_cat = table.sum(axis=0) / (n_items * r)
    p_item = (np.sum(table**2, axis=1) - r) / (r * (r - 1))
    p_bar = p_item.mean()
    p_e = float(np.sum(p_cat**2))
    if p_e == 1.0:
        return float("nan")
    return float((p_bar - p_e) / (1.0 - p_e))


def rating_counts(labels: ArrayLike) -> np.ndarray:
    """(items x raters) labels -> (items x categories) counts for ``fleiss_kappa_score``."""
    arr = np.asarray(labels)
    cats, codes = np.unique(arr, return_inverse=True)
    codes = codes.reshape(arr.shape)
    return np.stack([(codes == c).sum(axis=1) for c in range(len(cats))], axis=1)
