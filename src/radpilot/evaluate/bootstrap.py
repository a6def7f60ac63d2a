"""Seeded, vectorized bootstrap resampling and percentile confidence intervals.

Stratified resampling draws positives from positives and negatives from negatives, so every
resample keeps the observed prevalence and AUROC is always defined (the CheXpert/CheXNet
practice). Resamples are produced in chunks so that memory stays bounded at 100,000 cases.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterator

import numpy as np
from numpy.typing import NDArray

from radpilot.errors import InputError

DEFAULT_RESAMPLES = 1000
DEFAULT_LEVEL = 0.95
# About 32 MB of int64 draws per chunk.
_CHUNK_ELEMENTS = 400000

# Called with (resamples just done, total resamples of the whole run).
Progress = Callable[[int, int], None]


def rng_for(seed: int, key: str) -> np.random.Generator:
    """A generator for one named quantity (e.g. a finding): its resamples do not change when
    other findings are added to or removed from the evaluation."""
    return np.random.default_rng([seed, zlib.crc32(key.encode("utf-8"))])


def check_settings(*, n_resamples: int, level: float) -> None:
    if n_resamples < 0:
        raise InputError(f"n_resamples must be 0 (no intervals) or more, got {n_resamples}")
    if not 0.5 <= level < 1.0:
        raise InputError(f"the confidence level must be in [0.5, 1), got {level}")


def chunk_sizes(n_resamples: int, n_cases: int) -> Iterator[int]:
    per = max(1, _CHUNK_ELEMENTS // max(1, n_cases))
    done = 0
    while done < n_resamples:
        size = min(per, n_resamples - done)
        yield size
        done += size


def stratified_draws(
    rng: np.random.Generator, n_pos: int, n_neg: int, size: int
) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
    """(size, n_pos) indices into the positives and (size, n_neg) into the negatives."""
    return (
        rng.integers(0, n_pos, size=(size, n_pos), dtype=np.intp),
        rng.integers(0, n_neg, size=(size, n_neg), dtype=np.intp),
    )


def case_weights(rng: np.random.Generator, n: int, size: int) -> NDArray[np.float64]:
    """(size, n) multiplicities of a plain (unstratified) case bootstrap."""
    draws = rng.integers(0, n, size=(size, n), dtype=np.intp)
    flat = draws + (np.arange(size, dtype=np.intp) * n)[:, None]
    return np.bincount(flat.ravel(), minlength=size * n).reshape(size, n).astype(np.float64)


def case_weight_chunks(
    rng: np.random.Generator, n: int, n_resamples: int, progress: Progress | None = None
) -> Iterator[NDArray[np.float64]]:
    for size in chunk_sizes(n_resamples, n):
        yield case_weights(rng, n, size)
        if progress is not None:
            progress(size, n_resamples)


def percentile_ci(samples: NDArray[np.float64], level: float = DEFAULT_LEVEL) -> list[float] | None:
    """Percentile interval; resamples where the statistic is undefined (NaN) are dropped.
    None when fewer than half the resamples define it."""
    finite = samples[np.isfinite(samples)]
    if len(finite) == 0 or len(finite) < 0.5 * len(samples):
        return None
    alpha = (1.0 - level) / 2.0
    lo, hi = np.quantile(finite, [alpha, 1.0 - alpha])
    return [float(lo), float(hi)]


def nanmean_rows(a: NDArray[np.float64]) -> NDArray[np.float64]:
    """Mean of each row over its defined (non-NaN) entries; NaN for a row with none."""
    n = np.sum(~np.isnan(a), axis=1)
    total = np.nansum(a, axis=1)
    out = np.full(a.shape[0], np.nan)
    np.divide(total, n, out=out, where=n > 0)
    return out


def wilson_ci(successes: float, n: float, level: float = DEFAULT_LEVEL) -> list[float] | None:
    """Wilson score interval of a proportion. Unlike the bootstrap it does not collapse to a
    point when every case agrees (10 of 10 detected is not a certain sensitivity of 1)."""
    from scipy.stats import norm

    if n <= 0:
        return None
    z = float(norm.ppf(0.5 + level / 2))
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return [float(max(0.0, centre - half)), float(min(1.0, centre + half))]
