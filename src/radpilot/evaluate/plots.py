"""Figures for the HTML report, returned as base64 PNG so the page is self-contained.

matplotlib's object API (``Figure``) is used instead of pyplot: no global backend state is
touched, so importing or calling this never changes another part of the program.
"""

from __future__ import annotations

import base64
import io
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

MAX_PANELS = 16
COLS = 4
# More points than pixels only slow the drawing down.
MAX_POINTS = 1500


def _thin(*arrays: NDArray[np.float64]) -> tuple[NDArray[np.float64], ...]:
    n = len(arrays[0])
    if n <= MAX_POINTS:
        return arrays
    idx = np.unique(np.linspace(0, n - 1, MAX_POINTS).astype(int))
    return tuple(a[idx] for a in arrays)


def _png(fig: Any) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _grid(n: int, *, size: float = 3.0) -> tuple[Any, list[Any]]:
    from matplotlib.figure import Figure

    n = max(1, min(n, MAX_PANELS))
    cols = min(COLS, n)
    rows = math.ceil(n / cols)
    fig = Figure(figsize=(size * cols, size * rows), layout="constrained")
    axes = [fig.add_subplot(rows, cols, i + 1) for i in range(n)]
    return fig, axes


def roc_grid(
    curves: Mapping[str, tuple[NDArray[np.float64], NDArray[np.float64]]],
    *,
    aurocs: Mapping[str, float | None],
    readers: Mapping[str, Sequence[tuple[str, float, float]]] | None = None,
    operating: Mapping[str, tuple[float, float]] | None = None,
    second: Mapping[str, tuple[NDArray[np.float64], NDArray[np.float64]]] | None = None,
) -> str:
    """ROC curve per finding. ``curves``: name -> (y, score); ``readers``: name -> list of
    (label, 1 - specificity, sensitivity); ``operating``: name -> (fpr, tpr) of the model."""
    from sklearn.metrics import roc_curve

    names = list(curves)[:MAX_PANELS]
    fig, axes = _grid(len(names))
    for ax, name in zip(axes, names, strict=False):
        y, s = curves[name]
        fpr, tpr = _thin(*roc_curve(y, s)[:2])
        auc = aurocs.get(name)
        label = f"model (AUROC {auc:.3f})" if auc is not None else "model"
        ax.plot(fpr, tpr, color="#1f5fa8", lw=1.5, label=label)
        if second and name in second:
            fb, tb = _thin(*roc_curve(*second[name])[:2])
            ax.plot(fb, tb, color="#c2571a", lw=1.2, label="model B")
        if operating and name in operating:
            ax.plot(*operating[name], "o", color="#1f5fa8", ms=6, label="operating point")
        for i, (rlabel, rx, ry) in enumerate((readers or {}).get(name, ())):
            if rlabel == "average reader":
                ax.plot(rx, ry, "X", ms=8, color="black", label=rlabel)
            else:
                ax.plot(rx, ry, "^", ms=7, color=f"C{(i + 2) % 10}", label=rlabel)
        ax.plot([0, 1], [0, 1], ls=":", color="grey", lw=0.8)
        ax.set(
            xlim=(0, 1), ylim=(0, 1.01), title=name, xlabel="1 - specificity", ylabel="sensitivity"
        )
        ax.legend(fontsize=6, loc="lower right")
    return _png(fig)


def pr_grid(
    curves: Mapping[str, tuple[NDArray[np.float64], NDArray[np.float64]]],
    *,
    auprcs: Mapping[str, float | None],
) -> str:
    from sklearn.metrics import precision_recall_curve

    names = list(curves)[:MAX_PANELS]
    fig, axes = _grid(len(names))
    for ax, name in zip(axes, names, strict=False):
        y, s = curves[name]
        prec, rec = _thin(*precision_recall_curve(y, s)[:2])
        ap = auprcs.get(name)
        ax.step(
            rec,
            prec,
            where="post",
            color="#1f5fa8",
            lw=1.5,
            label=f"AUPRC {ap:.3f}" if ap is not None else None,
        )
        ax.axhline(float(np.mean(y)), ls=":", color="grey", lw=0.8, label="prevalence")
        ax.set(
            xlim=(0, 1),
            ylim=(0, 1.01),
            title=name,
            xlabel="recall (sensitivity)",
            ylabel="precision (PPV)",
        )
        ax.legend(fontsize=6, loc="upper right")
    return _png(fig)


def calibration_grid(reliability: Mapping[str, Mapping[str, Any]]) -> str:
    names = list(reliability)[:MAX_PANELS]
    fig, axes = _grid(len(names))
    for ax, name in zip(axes, names, strict=False):
        r = reliability[name]
        ax.plot([0, 1], [0, 1], ls=":", color="grey", lw=0.8)
        ax.plot(r["mean_predicted"], r["observed_rate"], "o-", color="#1f5fa8", ms=4)
        ax.set(
            xlim=(0, 1), ylim=(0, 1), title=name, xlabel="mean predicted", ylabel="observed rate"
        )
    return _png(fig)


def forest(
    rows: Sequence[tuple[str, float, list[float] | None]], *, title: str, xlabel: str = "AUROC"
) -> str:
    """One line per (label, estimate, [low, high]); the first rows are drawn at the top."""
    from matplotlib.figure import Figure

    n = max(1, len(rows))
    fig = Figure(figsize=(7.5, 0.8 + 0.28 * n))
    ax = fig.add_subplot(1, 1, 1)
    ys = np.arange(n)[::-1]
    for yv, (_label, est, ci) in zip(ys, rows, strict=False):
        if ci is not None:
            ax.plot(ci, [yv, yv], color="#1f5fa8", lw=1.5)
        ax.plot([est], [yv], "s", color="#1f5fa8", ms=5)
    ax.set_yticks(ys)
    ax.set_yticklabels([r[0] for r in rows], fontsize=7)
    ax.axvline(0.5, ls=":", color="grey", lw=0.8)
    ax.set(xlabel=xlabel, title=title)
    return _png(fig)


def bars(values: Mapping[str, Mapping[str, float | None]], *, title: str, ylabel: str) -> str:
    """Grouped bars: outer key = group on the x axis, inner key = series."""
    from matplotlib.figure import Figure

    groups = list(values)
    series = sorted({k for v in values.values() for k in v})
    fig = Figure(figsize=(max(6.0, 0.6 * len(groups) * max(1, len(series)) / 2), 3.6))
    ax = fig.add_subplot(1, 1, 1)
    width = 0.8 / max(1, len(series))
    x = np.arange(len(groups))
    for i, name in enumerate(series):
        ys = [values[g].get(name) for g in groups]
        ax.bar(x + i * width, [v if v is not None else 0.0 for v in ys], width, label=name)
    ax.set_xticks(x + width * (len(series) - 1) / 2)
    ax.set_xticklabels(groups, rotation=40, ha="right", fontsize=7)
    ax.set(ylim=(0, 1), ylabel=ylabel, title=title)
    ax.legend(fontsize=7)
    return _png(fig)
