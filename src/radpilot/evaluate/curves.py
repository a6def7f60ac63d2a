"""Binary ROC statistics on weighted cases: the engine behind every point estimate and
every bootstrap resample.

Why this shape: a bootstrap resample is a vector of case counts. Sorting 100,000 scores
again for each of 1,000 resamples is what makes sklearn-in-a-loop slow. Instead the scores
are sorted once: every positive case gets the index of its score among the distinct
"cut values" V (the positive scores plus any thresholds asked for), and every negative case
gets a position on a doubled grid (``2k`` strictly between V[k-1] and V[k], ``2k+1`` tied
with V[k]). A resample then needs only two ``bincount`` calls and cumulative sums over V,
whose length is the number of distinct positive scores, not the number of cases.

All functions take ``P`` (B x m: weight of positives at each cut value) and ``G``
(B x 2m+1: weight of negatives at each grid position) and return one value per row.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np
from numpy.typing import ArrayLike, NDArray

from radpilot.errors import InputError

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

_EPS = 1e-12


class Counts:
    """Integer case counts of one or many resamples (one row each). Cumulative sums are
    computed once and shared by every statistic."""

    def __init__(self, P: IntArray, G: IntArray) -> None:
        self.P = P  # (B, m) positive count at each cut value
        self.G = G  # (B, 2m+1) negative count at each grid position

    @cached_property
    def n_pos(self) -> IntArray:
        return self.P.sum(axis=1)

    @cached_property
    def n_neg(self) -> IntArray:
        return self.G.sum(axis=1)

    @cached_property
    def tail_positive(self) -> IntArray:
        """(B, m+1): positives at cut value >= V[k]; column m is 0 (threshold above all)."""
        out = np.zeros((self.P.shape[0], self.P.shape[1] + 1), dtype=np.int64)
        out[:, :-1] = np.cumsum(self.P[:, ::-1], axis=1)[:, ::-1]
        return out

    @cached_property
    def below_negative(self) -> IntArray:
        """(B, m+1): negatives strictly below V[k]; column m is every negative."""
        return np.cumsum(self.G, axis=1)[:, 0::2]


@dataclass(frozen=True, slots=True)
class Confusion:
    """Confusion counts at one threshold per resample; metrics are NaN where undefined."""

    tp: IntArray
    fp: IntArray
    tn: IntArray
    fn: IntArray
    threshold: FloatArray

    def _ratio(self, num: IntArray, den: IntArray) -> FloatArray:
        out = np.full(num.shape, np.nan)
        np.divide(num, den, out=out, where=den > 0)
        return out

    @property
    def sensitivity(self) -> FloatArray:
        return self._ratio(self.tp, self.tp + self.fn)

    @property
    def specificity(self) -> FloatArray:
        return self._ratio(self.tn, self.tn + self.fp)

    @property
    def ppv(self) -> FloatArray:
        return self._ratio(self.tp, self.tp + self.fp)

    @property
    def npv(self) -> FloatArray:
        return self._ratio(self.tn, self.tn + self.fn)

    @property
    def f1(self) -> FloatArray:
        return self._ratio(2 * self.tp, 2 * self.tp + self.fp + self.fn)

    def metrics(self) -> dict[str, FloatArray]:
        return {
            "threshold": self.threshold,
            "sensitivity": self.sensitivity,
            "specificity": self.specificity,
            "ppv": self.ppv,
            "npv": self.npv,
            "f1": self.f1,
        }


class BinaryCurve:
    """One finding's labels and scores, sorted once for fast weighted statistics.

    ``thresholds`` are the operating thresholds that will be asked for later: they join the
    cut values so that counts at them are exact.
    """

    def __init__(
        self, y_true: ArrayLike, y_score: ArrayLike, *, thresholds: Sequence[float] = ()
    ) -> None:
        y = np.asarray(y_true)
        s = np.asarray(y_score, dtype=np.float64)
        if y.ndim != 1 or s.shape != y.shape:
            raise InputError(
                f"labels and scores must be 1-D and the same length (got {y.shape}, {s.shape})"
            )
        if not np.all(np.isfinite(s)):
            raise InputError("scores must be finite numbers (found NaN or infinity)")
        if not np.isin(y, (0, 1)).all():
            raise InputError("labels must be 0 or 1")
        yb = y.astype(bool)
        self.pos_idx: IntArray = np.flatnonzero(yb)
        self.neg_idx: IntArray = np.flatnonzero(~yb)
        if len(self.pos_idx) == 0 or len(self.neg_idx) == 0:
            raise InputError(
                f"needs both positive and negative cases (got {len(self.pos_idx)} positive, "
                f"{len(self.neg_idx)} negative)"
            )
        self.y = yb
        self.score = s
        cuts = np.asarray(list(thresholds), dtype=np.float64)
        self.values: FloatArray = np.unique(np.concatenate([s[self.pos_idx], cuts]))
        m = len(self.values)
        self.m = m
        self.pos_key: IntArray = np.searchsorted(self.values, s[self.pos_idx]).astype(np.intp)
        neg = s[self.neg_idx]
        k = np.searchsorted(self.values, neg, side="left")
        tie = (k < m) & (self.values[np.minimum(k, m - 1)] == neg)
        self.neg_grid: IntArray = (2 * k + tie).astype(np.intp)

    @property
    def n_pos(self) -> int:
        return len(self.pos_idx)

    @property
    def n_neg(self) -> int:
        return len(self.neg_idx)

    def counts(self) -> Counts:
        """The counts of the data as observed (every case once)."""
        P = np.bincount(self.pos_key, minlength=self.m).astype(np.int64)[None, :]
        G = np.bincount(self.neg_grid, minlength=2 * self.m + 1).astype(np.int64)[None, :]
        return Counts(P, G)

    def resample_counts(self, pos_draws: IntArray, neg_draws: IntArray) -> Counts:
        """Counts of resamples: ``pos_draws`` (B, n_pos) index positives, ``neg_draws``
        (B, n_neg) index negatives, both in case order."""
        return Counts(
            _row_bincount(self.pos_key[pos_draws], self.m),
            _row_bincount(self.neg_grid[neg_draws], 2 * self.m + 1),
        )

    def threshold_index(self, threshold: float) -> int:
        k = int(np.searchsorted(self.values, threshold, side="left"))
        if k < self.m and self.values[k] != threshold:
            raise InputError(f"threshold {threshold} was not declared when the curve was built")
        return k


def _row_bincount(keys: IntArray, size: int) -> IntArray:
    # One bincount per row: far faster than one bincount over offset keys (cache locality).
    out = np.empty((keys.shape[0], size), dtype=np.int64)
    for r in range(keys.shape[0]):
        out[r] = np.bincount(keys[r], minlength=size)
    return out


def auroc(c: Counts) -> FloatArray:
    """Area under the ROC curve (ties count one half), one value per row."""
    # Doubled so that half-counted ties stay integer: exact sums, no rounding.
    twice_wins = 2 * c.below_negative[:, :-1] + c.G[:, 1::2]
    num = np.einsum("bk,bk->b", c.P, twice_wins)
    den = 2 * c.n_pos * c.n_neg
    out = np.full(num.shape, np.nan)
    np.divide(num, den, out=out, where=den > 0)
    return out


def average_precision(c: Counts) -> FloatArray:
    """Average precision (sklearn's definition: sum over thresholds of recall step x precision)."""
    tp = c.tail_positive[:, :-1]
    fp = c.n_neg[:, None] - c.below_negative[:, :-1]
    # Where nothing is predicted positive tp is 0 too, so max(., 1) leaves precision at 0.
    prec = tp / np.maximum(tp + fp, 1)
    num = (c.P * prec).sum(axis=1)
    out = np.full(num.shape, np.nan)
    np.divide(num, c.n_pos, out=out, where=c.n_pos > 0)
    return out


def _confusion(c: Counts, k: IntArray, values: FloatArray) -> Confusion:
    rows = np.arange(c.P.shape[0])
    tp = c.tail_positive[rows, k]
    tn = c.below_negative[rows, k]
    thr = np.where(k < len(values), values[np.minimum(k, len(values) - 1)], np.inf)
    return Confusion(tp=tp, fp=c.n_neg - tn, tn=tn, fn=c.n_pos - tp, threshold=thr)


def at_threshold(curve: BinaryCurve, c: Counts, threshold: float) -> Confusion:
    """Predicted positive when score >= threshold."""
    k = np.full(c.P.shape[0], curve.threshold_index(threshold), dtype=np.intp)
    return _confusion(c, k, curve.values)


def at_sensitivity(curve: BinaryCurve, c: Counts, target: float | FloatArray) -> Confusion:
    """The highest threshold whose sensitivity reaches ``target`` (so the best specificity).
    ``target`` may differ per row (e.g. the average reader's sensitivity in each resample)."""
    tgt = np.broadcast_to(np.asarray(target, dtype=np.float64), (c.P.shape[0],))
    need = tgt * c.n_pos - _EPS * np.maximum(c.n_pos, 1)
    k = (c.tail_positive >= need[:, None]).sum(axis=1) - 1
    return _confusion(c, np.maximum(k, 0).astype(np.intp), curve.values)


def at_specificity(curve: BinaryCurve, c: Counts, target: float | FloatArray) -> Confusion:
    """The lowest threshold whose specificity reaches ``target`` (so the best sensitivity).
    ``target`` may differ per row (e.g. the average reader's specificity in each resample)."""
    tgt = np.broadcast_to(np.asarray(target, dtype=np.float64), (c.P.shape[0],))
    need = tgt * c.n_neg - _EPS * np.maximum(c.n_neg, 1)
    k = (c.below_negative < need[:, None]).sum(axis=1)
    return _confusion(c, k.astype(np.intp), curve.values)


# ---- point estimates with the scikit-learn calling convention --------------------------


def roc_auc_score(y_true: ArrayLike, y_score: ArrayLike) -> float:
    """AUROC of one finding; the same value as ``sklearn.metrics.roc_auc_score``."""
    return float(auroc(BinaryCurve(y_true, y_score).counts())[0])


def average_precision_score(y_true: ArrayLike, y_score: ArrayLike) -> float:
    """AUPRC as average precision; the same as ``sklearn.metrics.average_precision_score``."""
    return float(average_precision(BinaryCurve(y_true, y_score).counts())[0])


def threshold_metrics(
    y_true: ArrayLike, y_score: ArrayLike, *, threshold: float
) -> dict[str, float]:
    """Sensitivity, specificity, PPV, NPV and F1 when ``score >= threshold`` is positive."""
    curve = BinaryCurve(y_true, y_score, thresholds=[threshold])
    conf = at_threshold(curve, curve.counts(), threshold)
    return {k: float(v[0]) for k, v in conf.metrics().items()}


def f1_score(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    """F1 of hard 0/1 predictions; the same as ``sklearn.metrics.f1_score`` (0 when undefined)."""
    y = np.asarray(y_true).astype(bool)
    p = np.asarray(y_pred).astype(bool)
    tp = float(np.sum(y & p))
    den = 2 * tp + float(np.sum(~y & p)) + float(np.sum(y & ~p))
    return 2 * tp / den if den else 0.0
