"""Individual radiologists beside a consensus gold, and a model beside them.

For each finding: every reader's sensitivity, specificity and F1 (a point on the model's ROC
plot), Cohen's kappa for every pair of readers and each reader against the gold, Fleiss'
kappa over all readers, and, with a model, the model against the average reader the way the
CheXpert and CheXNet papers compare them: the model's sensitivity at the average reader's
specificity minus the average reader's sensitivity, and the F1 difference. Intervals come
from one stratified bootstrap over cases shared by the model and every reader, so each
difference is paired.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import combinations
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from radpilot.errors import InputError
from radpilot.evaluate import bootstrap as bs
from radpilot.evaluate import curves
from radpilot.evaluate.agreement import cohen_kappa_score, fleiss_kappa_score, rating_counts
from radpilot.evaluate.classification import FindingData, load_thresholds
from radpilot.evaluate.tables import (
    TableSource,
    UncertainPolicy,
    common_findings,
    enum_value,
    gold_labels,
    read_table,
)

Array = NDArray[np.float64]


@dataclass
class ReadersResult:
    metrics: dict[str, Any]
    data: dict[str, FindingData] = field(default_factory=dict)
    # finding -> [(label, 1 - specificity, sensitivity)], for ROC plots
    points: dict[str, list[tuple[str, float, float]]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return self.metrics


def _ratio(num: Array, den: Array) -> Array:
    out = np.full(np.shape(num), np.nan)
    np.divide(num, den, out=out, where=np.asarray(den) > 0)
    return out


def _reader_stats(
    pos_counts: Array, neg_counts: Array, r_pos: Array, r_neg: Array
) -> dict[str, Array]:
    """(B, R) sensitivity, specificity and F1 of R readers under case counts."""
    tp = pos_counts @ r_pos.T
    fp = neg_counts @ r_neg.T
    n_pos = pos_counts.sum(axis=1, keepdims=True)
    n_neg = neg_counts.sum(axis=1, keepdims=True)
    return {
        "sensitivity": _ratio(tp, np.broadcast_to(n_pos, tp.shape)),
        "specificity": _ratio(n_neg - fp, np.broadcast_to(n_neg, fp.shape)),
        "f1": _ratio(2 * tp, 2 * tp + fp + (n_pos - tp)),
    }


def _ci(a: Array, level: float) -> list[float] | None:
    return bs.percentile_ci(a, level) if len(a) else None


def _num(x: float) -> float | None:
    return None if not np.isfinite(x) else float(x)


def evaluate_readers(
    gold: TableSource,
    readers: Sequence[TableSource],
    pred: TableSource | None = None,
    *,
    reader_names: Sequence[str] | None = None,
    id_column: str = "id",
    findings: Sequence[str] | None = None,
    uncertain: UncertainPolicy | str = UncertainPolicy.IGNORE,
    thresholds: float | str | Path | dict[str, float] | None = None,
    n_resamples: int = bs.DEFAULT_RESAMPLES,
    seed: int = 0,
    level: float = bs.DEFAULT_LEVEL,
) -> ReadersResult:
    bs.check_settings(n_resamples=n_resamples, level=level)
    unc = enum_value(UncertainPolicy, uncertain, option="--uncertain")
    if len(readers) < 1:
        raise InputError("give at least one --reader file")
    g = read_table(gold, name="gold", id_column=id_column)
    names = list(reader_names or [])
    rtabs = []
    for i, src in enumerate(readers):
        default = Path(str(src)).stem if isinstance(src, str | Path) else f"reader {i + 1}"
        name = names[i] if i < len(names) else default
        rtabs.append((name, read_table(src, name=name, id_column=id_column)))
    if len({n for n, _ in rtabs}) != len(rtabs):
        raise InputError(f"reader names must differ, got {[n for n, _ in rtabs]}")
    p = read_table(pred, name="pred", id_column=id_column) if pred is not None else None

    shared = common_findings(g, rtabs[0][1], wanted=findings).findings
    for _, t in rtabs[1:] + ([("pred", p)] if p is not None else []):
        shared = common_findings(g, t, wanted=shared).findings
    # Cases every table has; each table's missing ids are counted, never dropped silently.
    ids = set(g.ids)
    missing: dict[str, dict[str, Any]] = {}
    for name, t in rtabs + ([("pred", p)] if p is not None else []):
        tid = set(t.ids)
        lost = [i for i in g.ids if i not in tid]
        missing[name] = {"count": len(lost), "first": lost[:5]}
        ids &= tid
    order = [i for i in g.ids if i in ids]
    if not order:
        raise InputError("no id is present in the gold, every reader and the predictions")
    thr = load_thresholds(thresholds, shared)
    allowed = (1.0, 0.0, -1.0)

    def rows(t: Any) -> NDArray[np.intp]:
        pos = {rid: k for k, rid in enumerate(t.ids)}
        return np.asarray([pos[i] for i in order], dtype=np.intp)

    g_rows = rows(g)
    r_rows = [rows(t) for _, t in rtabs]
    p_rows = rows(p) if p is not None else None
    results: dict[str, Any] = {}
    data: dict[str, FindingData] = {}
    points: dict[str, list[tuple[str, float, float]]] = {}
    reader_labels = [n for n, _ in rtabs]
    for f in shared:
        y, _ = gold_labels(g.numeric(f, allowed=allowed)[g_rows], uncertain=unc)
        rl = []
        for (_name, t), rr in zip(rtabs, r_rows, strict=True):
            v, _ = gold_labels(t.numeric(f, allowed=allowed)[rr], uncertain=unc)
            rl.append(v)
        R = np.vstack(rl)  # (readers, cases)
        keep = ~np.isnan(y) & ~np.isnan(R).any(axis=0)
        s = None
        if p is not None and p_rows is not None:
            s = p.numeric(f)[p_rows]
            keep &= ~np.isnan(s)
        y, R = y[keep], R[:, keep]
        if s is not None:
            s = s[keep]
        entry: dict[str, Any] = {"n": int(keep.sum()), "n_positive": int(np.sum(y == 1))}
        if entry["n_positive"] in (0, entry["n"]):
            entry["note"] = "needs both positive and negative cases; not scored"
            results[f] = entry
            continue
        yb = y == 1
        pos_idx, neg_idx = np.flatnonzero(yb), np.flatnonzero(~yb)
        # Cases in the order the stratified counts come in: positives, then negatives.
        order_pn = np.concatenate([pos_idx, neg_idx])
        R_sorted, y_sorted = R[:, order_pn], y[order_pn]
        r_pos, r_neg = R[:, pos_idx], R[:, neg_idx]
        eye_p, eye_n = np.ones((1, len(pos_idx))), np.ones((1, len(neg_idx)))
        point = _reader_stats(eye_p, eye_n, r_pos, r_neg)
        curve = curves.BinaryCurve(y, s, thresholds=[thr[f]]) if s is not None else None
        rng = bs.rng_for(seed, "readers/" + f)
        boot_parts: list[dict[str, Array]] = []
        for size in bs.chunk_sizes(n_resamples, len(y)):
            pd_, nd_ = bs.stratified_draws(rng, len(pos_idx), len(neg_idx), size)
            pc = curves._row_bincount(pd_, len(pos_idx)).astype(np.float64)
            nc = curves._row_bincount(nd_, len(neg_idx)).astype(np.float64)
            st = _reader_stats(pc, nc, r_pos, r_neg)
            part = dict(st)
            part.update(_weighted_kappas(np.hstack([pc, nc]), R_sorted, y_sorted))
            if curve is not None:
                part.update(_model_vs_average(curve, curve.resample_counts(pd_, nd_), st, thr[f]))
            boot_parts.append(part)
        boot = (
            {k: np.concatenate([b[k] for b in boot_parts]) for k in boot_parts[0]}
            if boot_parts
            else {}
        )
        for i, j in combinations(range(len(reader_labels)), 2):
            if f"pair/{i}/{j}" in boot:
                boot[f"kappa/{reader_labels[i]} vs {reader_labels[j]}"] = boot.pop(f"pair/{i}/{j}")

        per_reader: dict[str, dict[str, Any]] = {}
        for j, name in enumerate(reader_labels):
            one: dict[str, Any] = {}
            for k in ("sensitivity", "specificity", "f1"):
                one[k] = _num(point[k][0, j])
                one[f"{k}_ci"] = _ci(boot[k][:, j], level) if boot else None
            one["kappa_vs_gold"] = _num(cohen_kappa_score(R[j], y))
            per_reader[name] = one
        avg: dict[str, Any] = {
            k: _num(float(point[k][0].mean())) for k in ("sensitivity", "specificity", "f1")
        }
        for k in ("sensitivity", "specificity", "f1"):
            avg[f"{k}_ci"] = _ci(boot[k].mean(axis=1), level) if boot else None
        entry["readers"] = per_reader
        entry["average_reader"] = avg
        entry["cohen_kappa"] = {
            f"{a} vs {b}": _num(cohen_kappa_score(R[i], R[j]))
            for (i, a), (j, b) in combinations(enumerate(reader_labels), 2)
        }
        entry["cohen_kappa_ci"] = {
            pair: _ci(boot[f"kappa/{pair}"], level) if boot else None
            for pair in entry["cohen_kappa"]
        }
        entry["fleiss_kappa"] = (
            _num(fleiss_kappa_score(rating_counts(R.T))) if len(reader_labels) >= 2 else None
        )
        entry["fleiss_kappa_ci"] = (
            _ci(boot["fleiss"], level) if boot and len(reader_labels) >= 2 else None
        )
        for j, name in enumerate(reader_labels):
            per_reader[name]["kappa_vs_gold_ci"] = (
                _ci(boot[f"kappa_gold/{j}"], level) if boot else None
            )
        points[f] = [
            (n, 1 - float(point["specificity"][0, j]), float(point["sensitivity"][0, j]))
            for j, n in enumerate(reader_labels)
        ]
        if avg["specificity"] is not None and avg["sensitivity"] is not None:
            points[f].append(("average reader", 1 - avg["specificity"], avg["sensitivity"]))
        if curve is not None and s is not None:
            mp = _model_vs_average(curve, curve.counts(), point, thr[f])
            entry["model"] = {
                "auroc": _num(mp["model_auroc"][0]),
                "auroc_ci": _ci(boot["model_auroc"], level) if boot else None,
                "threshold": thr[f],
            }
            entry["model_vs_average_reader"] = {
                key: _num(mp[key][0])
                for key in (
                    "model_sensitivity_at_reader_specificity",
                    "sensitivity_difference",
                    "model_specificity_at_reader_sensitivity",
                    "specificity_difference",
                    "model_f1",
                    "f1_difference",
                )
            }
            for key in ("sensitivity_difference", "specificity_difference", "f1_difference"):
                entry["model_vs_average_reader"][f"{key}_ci"] = (
                    _ci(boot[key], level) if boot else None
                )
            data[f] = FindingData(y=y, score=s, threshold=thr[f])
        results[f] = entry

    metrics = {
        "task": "readers",
        "settings": {
            "uncertain": unc.value,
            "bootstrap_resamples": n_resamples,
            "bootstrap": "stratified by gold label, shared by the model and every reader",
            "seed": seed,
            "ci_level": level,
            "readers": reader_labels,
        },
        "matching": {
            "gold": g.name,
            "n_gold": len(g.ids),
            "n_matched": len(order),
            "missing": missing,
        },
        "findings": results,
    }
    return ReadersResult(metrics=metrics, data=data, points=points)


def _kappa2(w: Array, a: Array, b: Array) -> Array:
    """Cohen's kappa of two binary raters under case weights (one value per row of w)."""
    n = w.sum(axis=1)
    pa, pb = (w @ a) / n, (w @ b) / n
    agree = (w @ (a * b) + w @ ((1 - a) * (1 - b))) / n
    chance = pa * pb + (1 - pa) * (1 - pb)
    return _ratio(agree - chance, 1 - chance)


def _weighted_kappas(w: Array, R: Array, y: Array) -> dict[str, Array]:
    """Each reader's kappa against the gold, each pair's Cohen's kappa (keys
    ``pair/i/j``) and Fleiss' kappa, for each row of case weights. Every term is a weighted
    sum over cases, so a resample costs a few matrix products."""
    out = {f"kappa_gold/{j}": _kappa2(w, R[j], y) for j in range(R.shape[0])}
    for i, j in combinations(range(R.shape[0]), 2):
        out[f"pair/{i}/{j}"] = _kappa2(w, R[i], R[j])
    r = R.shape[0]
    if r >= 2:
        n1 = R.sum(axis=0)
        p_item = (n1**2 + (r - n1) ** 2 - r) / (r * (r - 1))
        n = w.sum(axis=1)
        p_bar = (w @ p_item) / n
        p1 = (w @ n1) / (n * r)
        p_e = p1**2 + (1 - p1) ** 2
        out["fleiss"] = _ratio(p_bar - p_e, 1 - p_e)
    return out


def _model_vs_average(
    curve: curves.BinaryCurve, c: curves.Counts, readers: dict[str, Array], threshold: float
) -> dict[str, Array]:
    """Per resample: the model at the average reader's specificity (and sensitivity), and
    its F1 at its own threshold, against the average reader."""
    avg_sens = readers["sensitivity"].mean(axis=1)
    avg_spec = readers["specificity"].mean(axis=1)
    at_spec = curves.at_specificity(curve, c, avg_spec)
    at_sens = curves.at_sensitivity(curve, c, avg_sens)
    model_f1 = curves.at_threshold(curve, c, threshold).f1
    return {
        "model_auroc": curves.auroc(c),
        "model_sensitivity_at_reader_specificity": at_spec.sensitivity,
        "sensitivity_difference": at_spec.sensitivity - avg_sens,
        "model_specificity_at_reader_sensitivity": at_sens.specificity,
        "specificity_difference": at_sens.specificity - avg_spec,
        "model_f1": model_f1,
        "f1_difference": model_f1 - readers["f1"].mean(axis=1),
    }
