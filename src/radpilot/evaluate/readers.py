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
from radpilot.evaluate.classification import FindingData
from radpilot.evaluate.matching import Accounting, Alignment, align, common_findings, find_missing
from radpilot.evaluate.tables import (
    FIRST_FEW,
    LABEL_CODES,
    PROBABILITY,
    Table,
    TableSource,
    UncertainPolicy,
    enum_value,
    gold_labels,
    read_table,
)
from radpilot.evaluate.thresholds import ThresholdSource, load_thresholds

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


@dataclass(frozen=True)
class _Inputs:
    gold: Table
    names: list[str]  # the readers' labels
    readers: list[Alignment]
    pred: Alignment | None
    findings: list[str]
    thresholds: dict[str, float]

    @property
    def others(self) -> list[tuple[str, Alignment]]:
        out = list(zip(self.names, self.readers, strict=True))
        return out + ([("pred", self.pred)] if self.pred is not None else [])


def _read_inputs(
    gold: TableSource,
    readers: Sequence[TableSource],
    pred: TableSource | None,
    *,
    reader_names: Sequence[str] | None,
    id_column: str,
    findings: Sequence[str] | None,
    thresholds: ThresholdSource,
) -> _Inputs:
    if len(readers) < 1:
        raise InputError("readers: give at least one reader's table")
    g = read_table(gold, name="gold", id_column=id_column)
    given = list(reader_names or [])
    names, tables = [], []
    for i, src in enumerate(readers):
        default = Path(str(src)).stem if isinstance(src, str | Path) else f"reader {i + 1}"
        names.append(given[i] if i < len(given) else default)
        tables.append(read_table(src, name=names[-1], id_column=id_column))
    if len(set(names)) != len(names):
        raise InputError(f"reader names must differ, got {names}")
    p = read_table(pred, name="pred", id_column=id_column) if pred is not None else None
    shared = common_findings(g, tables[0], wanted=findings).findings
    for t in tables[1:] + ([p] if p is not None else []):
        shared = common_findings(g, t, wanted=shared).findings
    return _Inputs(
        gold=g,
        names=names,
        readers=[align(g, t) for t in tables],
        pred=align(g, p) if p is not None else None,
        findings=shared,
        thresholds=load_thresholds(thresholds, shared),
    )


def _cases(
    inputs: _Inputs, f: str, unc: UncertainPolicy, acct: Accounting
) -> tuple[Array, Array, Array | None]:
    """Gold, readers (readers x cases) and model scores of the cases every table has."""
    y, _ = gold_labels(inputs.gold.numeric(f, valid=LABEL_CODES), uncertain=unc)
    usable = ~np.isnan(y)
    rows = []
    for al in inputs.readers:
        acct.add(find_missing(al, usable, finding=f))
        v, _ = gold_labels(al.other.numeric(f, valid=LABEL_CODES), uncertain=unc)
        rows.append(al.take(v))
    R = np.vstack(rows)
    keep = usable & ~np.isnan(R).any(axis=0)
    s = None
    if inputs.pred is not None:
        s = inputs.pred.take(inputs.pred.other.numeric(f, valid=PROBABILITY))
        acct.add(find_missing(inputs.pred, usable, s, finding=f))
        keep &= ~np.isnan(s)
    return y[keep], R[:, keep], (s[keep] if s is not None else None)


def _bootstrap(
    y: Array,
    R: Array,
    curve: curves.BinaryCurve | None,
    threshold: float,
    *,
    rng: np.random.Generator,
    n_resamples: int,
    names: Sequence[str],
) -> dict[str, Array]:
    """One stratified bootstrap shared by every reader and the model (paired differences)."""
    yb = y == 1
    pos_idx, neg_idx = np.flatnonzero(yb), np.flatnonzero(~yb)
    # Cases in the order the stratified counts come in: positives, then negatives.
    order_pn = np.concatenate([pos_idx, neg_idx])
    R_sorted, y_sorted = R[:, order_pn], y[order_pn]
    r_pos, r_neg = R[:, pos_idx], R[:, neg_idx]
    parts: list[dict[str, Array]] = []
    for size in bs.chunk_sizes(n_resamples, len(y)):
        pd_, nd_ = bs.stratified_draws(rng, len(pos_idx), len(neg_idx), size)
        pc = curves._row_bincount(pd_, len(pos_idx)).astype(np.float64)
        nc = curves._row_bincount(nd_, len(neg_idx)).astype(np.float64)
        st = _reader_stats(pc, nc, r_pos, r_neg)
        part = dict(st)
        part.update(_weighted_kappas(np.hstack([pc, nc]), R_sorted, y_sorted))
        if curve is not None:
            part.update(_model_vs_average(curve, curve.resample_counts(pd_, nd_), st, threshold))
        parts.append(part)
    boot = {k: np.concatenate([b[k] for b in parts]) for k in parts[0]} if parts else {}
    for i, j in combinations(range(len(names)), 2):
        if f"pair/{i}/{j}" in boot:
            boot[f"kappa/{names[i]} vs {names[j]}"] = boot.pop(f"pair/{i}/{j}")
    return boot


def _reader_summary(
    point: dict[str, Array],
    boot: dict[str, Array],
    R: Array,
    y: Array,
    names: Sequence[str],
    level: float,
) -> dict[str, Any]:
    """Each reader, the average reader, and the kappas, with their intervals."""
    per_reader: dict[str, dict[str, Any]] = {}
    for j, name in enumerate(names):
        one: dict[str, Any] = {}
        for k in ("sensitivity", "specificity", "f1"):
            one[k] = _num(point[k][0, j])
            one[f"{k}_ci"] = _ci(boot[k][:, j], level) if boot else None
        one["kappa_vs_gold"] = _num(cohen_kappa_score(R[j], y))
        one["kappa_vs_gold_ci"] = _ci(boot[f"kappa_gold/{j}"], level) if boot else None
        per_reader[name] = one
    avg: dict[str, Any] = {}
    for k in ("sensitivity", "specificity", "f1"):
        avg[k] = _num(float(point[k][0].mean()))
    for k in ("sensitivity", "specificity", "f1"):
        avg[f"{k}_ci"] = _ci(boot[k].mean(axis=1), level) if boot else None
    kappas = {
        f"{a} vs {b}": _num(cohen_kappa_score(R[i], R[j]))
        for (i, a), (j, b) in combinations(enumerate(names), 2)
    }
    several = len(names) >= 2
    return {
        "readers": per_reader,
        "average_reader": avg,
        "cohen_kappa": kappas,
        "cohen_kappa_ci": {
            pair: _ci(boot[f"kappa/{pair}"], level) if boot else None for pair in kappas
        },
        "fleiss_kappa": _num(fleiss_kappa_score(rating_counts(R.T))) if several else None,
        "fleiss_kappa_ci": _ci(boot["fleiss"], level) if boot and several else None,
    }


_MODEL_KEYS = (
    "model_sensitivity_at_reader_specificity",
    "sensitivity_difference",
    "model_specificity_at_reader_sensitivity",
    "specificity_difference",
    "model_f1",
    "f1_difference",
)


def _model_summary(
    curve: curves.BinaryCurve,
    point: dict[str, Array],
    boot: dict[str, Array],
    threshold: float,
    level: float,
) -> dict[str, Any]:
    mp = _model_vs_average(curve, curve.counts(), point, threshold)
    versus: dict[str, Any] = {key: _num(mp[key][0]) for key in _MODEL_KEYS}
    for key in ("sensitivity_difference", "specificity_difference", "f1_difference"):
        versus[f"{key}_ci"] = _ci(boot[key], level) if boot else None
    return {
        "model": {
            "auroc": _num(mp["model_auroc"][0]),
            "auroc_ci": _ci(boot["model_auroc"], level) if boot else None,
            "threshold": threshold,
        },
        "model_vs_average_reader": versus,
    }


def _score_finding(
    f: str, y: Array, R: Array, s: Array | None, inputs: _Inputs, opts: dict[str, Any]
) -> tuple[dict[str, Any], list[tuple[str, float, float]] | None]:
    """One finding's entry, and its readers' points on the ROC plot."""
    entry: dict[str, Any] = {"n": len(y), "n_positive": int(np.sum(y == 1))}
    if entry["n_positive"] in (0, entry["n"]):
        entry["note"] = "needs both positive and negative cases; not scored"
        return entry, None
    yb = y == 1
    eye_p, eye_n = np.ones((1, int(yb.sum()))), np.ones((1, int((~yb).sum())))
    point = _reader_stats(eye_p, eye_n, R[:, yb], R[:, ~yb])
    thr = inputs.thresholds[f]
    curve = curves.BinaryCurve(y, s, thresholds=[thr]) if s is not None else None
    rng = bs.rng_for(opts["seed"], "readers/" + f)
    boot = _bootstrap(
        y, R, curve, thr, rng=rng, n_resamples=opts["n_resamples"], names=inputs.names
    )
    entry.update(_reader_summary(point, boot, R, y, inputs.names, opts["level"]))
    if curve is not None:
        entry.update(_model_summary(curve, point, boot, thr, opts["level"]))
    points = [
        (n, 1 - float(point["specificity"][0, j]), float(point["sensitivity"][0, j]))
        for j, n in enumerate(inputs.names)
    ]
    avg = entry["average_reader"]
    if avg["specificity"] is not None and avg["sensitivity"] is not None:
        points.append(("average reader", 1 - avg["specificity"], avg["sensitivity"]))
    return entry, points


def _matching(inputs: _Inputs) -> dict[str, Any]:
    everywhere = np.ones(len(inputs.gold.ids), dtype=bool)
    missing = {}
    for name, al in inputs.others:
        everywhere &= al.present
        absent = al.absent_rows()
        missing[name] = {
            "count": len(absent),
            "first_at": [inputs.gold.where(i) for i in absent[:FIRST_FEW]],
        }
    if not everywhere.any():
        raise InputError(
            f"no case of {inputs.gold.name} is in every reader's table"
            + (" and the predictions" if inputs.pred is not None else "")
        )
    return {
        "gold": inputs.gold.name,
        "n_gold": len(inputs.gold.ids),
        "n_matched": int(everywhere.sum()),
        "missing": missing,
    }


def evaluate_readers(
    gold: TableSource,
    readers: Sequence[TableSource],
    pred: TableSource | None = None,
    *,
    reader_names: Sequence[str] | None = None,
    id_column: str = "id",
    findings: Sequence[str] | None = None,
    uncertain: UncertainPolicy | str = UncertainPolicy.IGNORE,
    thresholds: ThresholdSource = None,
    allow_missing: bool = False,
    n_resamples: int = bs.DEFAULT_RESAMPLES,
    seed: int = 0,
    level: float = bs.DEFAULT_LEVEL,
) -> ReadersResult:
    """Readers and a model against the gold (see the module docstring). A gold case with no
    row in a reader's table, or no prediction, is an error unless ``allow_missing``."""
    bs.check_settings(n_resamples=n_resamples, level=level)
    unc = enum_value(UncertainPolicy, uncertain, option="uncertain")
    inputs = _read_inputs(
        gold,
        readers,
        pred,
        reader_names=reader_names,
        id_column=id_column,
        findings=findings,
        thresholds=thresholds,
    )
    acct = Accounting("label or prediction", allow=allow_missing)
    cases = {f: _cases(inputs, f, unc, acct) for f in inputs.findings}
    acct.check()
    matching = _matching(inputs)
    opts = {"seed": seed, "n_resamples": n_resamples, "level": level}
    results: dict[str, Any] = {}
    data: dict[str, FindingData] = {}
    points: dict[str, list[tuple[str, float, float]]] = {}
    for f, (y, R, s) in cases.items():
        results[f], pts = _score_finding(f, y, R, s, inputs, opts)
        if pts is not None:
            points[f] = pts
            if s is not None:
                data[f] = FindingData(y=y, score=s, threshold=inputs.thresholds[f])
    notes = [al.extra_note() for _, al in inputs.others]
    metrics = {
        "task": "readers",
        "settings": {
            "uncertain": unc.value,
            "allow_missing": allow_missing,
            "bootstrap_resamples": n_resamples,
            "bootstrap": "stratified by gold label, shared by the model and every reader",
            "seed": seed,
            "ci_level": level,
            "readers": inputs.names,
        },
        "matching": matching,
        "missing": acct.to_dict(),
        "warnings": acct.warnings(),
        "notes": [n for n in notes if n],
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
