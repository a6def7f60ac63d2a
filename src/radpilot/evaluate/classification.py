"""Classification metrics per finding, with stratified bootstrap intervals.

Plain functions usable from Python:

>>> from radpilot.evaluate.classification import evaluate
>>> result = evaluate({"id": ["a", "b", "c", "d"], "Edema": [1, 0, 1, 0]},
...                   {"id": ["a", "b", "c", "d"], "Edema": [0.9, 0.2, 0.6, 0.7]},
...                   n_resamples=200, seed=0)
>>> edema = result.metrics["findings"]["Edema"]
>>> edema["auroc"], edema["sensitivity"], edema["specificity"], edema["n"]
(0.75, 1.0, 0.5, 4)

``gold`` and ``pred`` may be CSV paths, pandas DataFrames or ``{column: values}`` dicts.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from radpilot.errors import InputError
from radpilot.evaluate import bootstrap as bs
from radpilot.evaluate import curves
from radpilot.evaluate.calibration import (
    brier_loss,
    expected_calibration_loss,
    is_probability,
    reliability_curve,
)
from radpilot.evaluate.delong import delong_test
from radpilot.evaluate.matching import (
    Accounting,
    Alignment,
    FindingColumns,
    align,
    column_notes,
    common_findings,
    find_missing,
    gold_pred_matching,
)
from radpilot.evaluate.tables import (
    FIRST_FEW,
    LABEL_CODES,
    PROBABILITY,
    BlankPolicy,
    Table,
    TableSource,
    UncertainPolicy,
    enum_value,
    gold_labels,
    read_table,
)
from radpilot.evaluate.thresholds import ThresholdSource, load_thresholds
from radpilot.reports.labelnames import canonical_finding

log = logging.getLogger(__name__)

Stats = dict[str, NDArray[np.float64]]


@dataclass
class FindingData:
    """The matched cases of one finding, kept for plots (not written to metrics.json)."""

    y: NDArray[np.float64]  # 0/1
    score: NDArray[np.float64]
    threshold: float
    subgroups: dict[str, NDArray[np.str_]] = field(default_factory=dict)
    score_b: NDArray[np.float64] | None = None


@dataclass
class ClassificationResult:
    metrics: dict[str, Any]
    data: dict[str, FindingData]

    def to_dict(self) -> dict[str, Any]:
        return self.metrics

    def write(self, out: Path, *, title: str = "Classification") -> list[Path]:
        """``metrics.json`` and the self-contained ``report.html`` under ``out``."""
        from radpilot.evaluate.html import write_outputs
        from radpilot.evaluate.pages import classification_page

        return write_outputs(
            out, self.metrics, classification_page(self.metrics, self.data, title=title)
        )


def _key(v: float) -> str:
    return f"{v:g}"


def finding_stats(
    curve: curves.BinaryCurve,
    c: curves.Counts,
    *,
    threshold: float,
    at_sensitivity: Sequence[float] = (),
    at_specificity: Sequence[float] = (),
) -> Stats:
    """Every bootstrapped statistic of one finding, one value per row of ``c``."""
    out: Stats = {"auroc": curves.auroc(c), "auprc": curves.average_precision(c)}
    for name, arr in curves.at_threshold(curve, c, threshold).metrics().items():
        if name != "threshold":
            out[name] = arr
    for target in at_sensitivity:
        for name, arr in curves.at_sensitivity(curve, c, target).metrics().items():
            out[f"at_sensitivity/{_key(target)}/{name}"] = arr
    for target in at_specificity:
        for name, arr in curves.at_specificity(curve, c, target).metrics().items():
            out[f"at_specificity/{_key(target)}/{name}"] = arr
    return out


def bootstrap_stats(
    curve: curves.BinaryCurve,
    *,
    n_resamples: int,
    rng: np.random.Generator,
    progress: bs.Progress | None = None,
    **kwargs: Any,
) -> Stats:
    """Stratified bootstrap of ``finding_stats``: (n_resamples,) per statistic."""
    parts: list[Stats] = []
    for size in bs.chunk_sizes(n_resamples, curve.n_pos + curve.n_neg):
        pos, neg = bs.stratified_draws(rng, curve.n_pos, curve.n_neg, size)
        parts.append(finding_stats(curve, curve.resample_counts(pos, neg), **kwargs))
        if progress is not None:
            progress(size, n_resamples)
    if not parts:
        return {}
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


def _num(x: float) -> float | None:
    return None if not np.isfinite(x) else float(x)


def summarize(point: Stats, boot: Stats, level: float) -> dict[str, Any]:
    """Nest ``a/b/c`` keys and add ``*_ci`` beside each bootstrapped value."""
    out: dict[str, Any] = {}
    for key, arr in point.items():
        *path, leaf = key.split("/")
        node = out
        for p in path:
            node = node.setdefault(p, {})
        node[leaf] = _num(arr[0])
        if leaf == "threshold":
            continue
        node[f"{leaf}_ci"] = bs.percentile_ci(boot[key], level) if key in boot else None
    return out


def _score_finding(
    y: NDArray[np.float64],
    s: NDArray[np.float64],
    *,
    name: str,
    threshold: float,
    at_sensitivity: Sequence[float],
    at_specificity: Sequence[float],
    n_resamples: int,
    seed: int,
    level: float,
    progress: bs.Progress | None,
) -> dict[str, Any]:
    curve = curves.BinaryCurve(y, s, thresholds=[threshold])
    kw: dict[str, Any] = {
        "threshold": threshold,
        "at_sensitivity": at_sensitivity,
        "at_specificity": at_specificity,
    }
    point = finding_stats(curve, curve.counts(), **kw)
    boot = bootstrap_stats(
        curve, n_resamples=n_resamples, rng=bs.rng_for(seed, name), progress=progress, **kw
    )
    out = summarize(point, boot, level)
    conf = curves.at_threshold(curve, curve.counts(), threshold)
    out["threshold"] = threshold
    tp, fp, tn, fn = (int(x[0]) for x in (conf.tp, conf.fp, conf.tn, conf.fn))
    out["confusion"] = {"tp": tp, "fp": fp, "tn": tn, "fn": fn}
    for key, k, n in (
        ("sensitivity", tp, tp + fn),
        ("specificity", tn, tn + fp),
        ("ppv", tp, tp + fp),
        ("npv", tn, tn + fn),
    ):
        out[f"{key}_wilson_ci"] = bs.wilson_ci(k, n, level)
    return out


@dataclass(frozen=True)
class _Options:
    uncertain: UncertainPolicy
    blank: BlankPolicy
    at_sensitivity: list[float]
    at_specificity: list[float]
    n_resamples: int
    seed: int
    level: float


@dataclass(frozen=True)
class _Inputs:
    gold: Table
    pred: Alignment
    pred_b: Alignment | None
    cols: FindingColumns
    thresholds: dict[str, float]
    subgroups: dict[str, NDArray[np.str_]]  # each subgroup column over every gold row


@dataclass(frozen=True)
class FindingCases:
    """One finding over every gold row: gold after the policies and the scores, with NaN
    where a case is not usable (left out by a policy, or a missing value)."""

    name: str
    y: NDArray[np.float64]
    score: NDArray[np.float64]
    score_b: NDArray[np.float64] | None
    policy_counts: dict[str, int]

    @property
    def keep(self) -> NDArray[np.bool_]:
        keep = ~np.isnan(self.y) & ~np.isnan(self.score)
        return keep & ~np.isnan(self.score_b) if self.score_b is not None else keep


def _check_targets(values: Iterable[float], what: str) -> list[float]:
    out = []
    for v in values:
        if not 0.0 < float(v) <= 1.0:
            raise InputError(f"{what} must be in (0, 1], got {v}")
        out.append(float(v))
    return out


def _subgroup_values(gold: Table, columns: Sequence[str]) -> dict[str, NDArray[np.str_]]:
    out = {}
    for col in columns:
        canon = canonical_finding(col)
        if canon not in gold.columns:
            raise InputError(
                f"{gold.name}: no subgroup column '{col}'; its columns are {gold.shown_columns()}"
            )
        values = np.char.strip(np.asarray(gold.columns[canon], dtype=str))
        out[col] = np.where(values == "", "(blank)", values)
    return out


def _read_inputs(
    gold: TableSource,
    pred: TableSource,
    pred_b: TableSource | None,
    *,
    id_column: str,
    findings: Sequence[str] | None,
    subgroups: Sequence[str],
    thresholds: ThresholdSource,
) -> _Inputs:
    g = read_table(gold, name="gold", id_column=id_column)
    p = read_table(pred, name="pred", id_column=id_column)
    cols = common_findings(g, p, exclude=subgroups, wanted=findings)
    al_b = None
    if pred_b is not None:
        pb = read_table(pred_b, name="pred_b", id_column=id_column)
        common_findings(g, pb, exclude=subgroups, wanted=cols.findings)
        al_b = align(g, pb)
    return _Inputs(
        gold=g,
        pred=align(g, p),
        pred_b=al_b,
        cols=cols,
        thresholds=load_thresholds(thresholds, cols.findings),
        subgroups=_subgroup_values(g, subgroups),
    )


def _finding_cases(inputs: _Inputs, name: str, opts: _Options, acct: Accounting) -> FindingCases:
    """Gold and scores of one finding; every usable gold case without a score is counted."""
    raw = inputs.gold.numeric(name, valid=LABEL_CODES)
    y, policy_counts = gold_labels(raw, uncertain=opts.uncertain, blank=opts.blank)
    usable = ~np.isnan(y)
    scores = []
    for al in (inputs.pred, inputs.pred_b):
        if al is not None:
            s = al.take(al.other.numeric(name, valid=PROBABILITY))
            acct.add(find_missing(al, usable, s, finding=name))
            scores.append(s)
    return FindingCases(name, y, scores[0], scores[1] if len(scores) > 1 else None, policy_counts)


def _case_counts(c: FindingCases) -> dict[str, Any]:
    keep = c.keep
    usable = ~np.isnan(c.y)
    n_positive = int(np.sum(c.y[keep] == 1))
    out: dict[str, Any] = {
        "n": int(keep.sum()),
        "n_positive": n_positive,
        "prevalence": _num(float(np.mean(c.y[keep]))) if keep.any() else None,
        "n_excluded_gold": int((~usable).sum()),
        "n_missing_pred": int(np.sum(usable & np.isnan(c.score))),
    }
    if c.score_b is not None:
        out["n_missing_pred_b"] = int(np.sum(usable & np.isnan(c.score_b)))
    out.update(c.policy_counts)
    out["hard_labels"] = bool(np.isin(c.score[keep], (0.0, 1.0)).all())
    return out


def _score_case(
    c: FindingCases, inputs: _Inputs, opts: _Options, tick: bs.Progress | None
) -> tuple[dict[str, Any], FindingData | None]:
    """The metrics of one finding, and its matched cases for the plots."""
    info = _case_counts(c)
    if info["n_positive"] == 0 or info["n_positive"] == info["n"]:
        info["note"] = "needs both positive and negative cases; not scored"
        return info, None
    keep = c.keep
    yk, sk, thr = c.y[keep], c.score[keep], inputs.thresholds[c.name]
    info.update(
        _score_finding(
            yk,
            sk,
            name=c.name,
            threshold=thr,
            at_sensitivity=opts.at_sensitivity,
            at_specificity=opts.at_specificity,
            n_resamples=opts.n_resamples,
            seed=opts.seed,
            level=opts.level,
            progress=tick,
        )
    )
    if is_probability(sk) and not info["hard_labels"]:
        info["brier_loss"] = brier_loss(yk, sk)
        info["ece_loss"] = expected_calibration_loss(yk, sk)
        info["reliability"] = reliability_curve(yk, sk).to_dict()
    fd = FindingData(
        y=yk, score=sk, threshold=thr, subgroups={k: v[keep] for k, v in inputs.subgroups.items()}
    )
    if c.score_b is not None:
        fd.score_b = c.score_b[keep]
        info["comparison"] = compare_scores(
            yk,
            sk,
            fd.score_b,
            name=c.name,
            n_resamples=opts.n_resamples,
            seed=opts.seed,
            level=opts.level,
        )
    return info, fd


def _matching(inputs: _Inputs) -> dict[str, Any]:
    out = gold_pred_matching(inputs.pred, inputs.cols)
    al_b = inputs.pred_b
    if al_b is not None:
        absent = al_b.absent_rows()
        out["pred_b"] = al_b.other.name
        out["missing_in_pred_b"] = {
            "count": len(absent),
            "first_at": [inputs.gold.where(i) for i in absent[:FIRST_FEW]],
        }
        out["n_matched"] = int((inputs.pred.present & al_b.present).sum())
    return out


def _notes(inputs: _Inputs) -> list[str]:
    notes = [al.extra_note() for al in (inputs.pred, inputs.pred_b) if al is not None]
    return [n for n in notes if n] + column_notes(inputs.gold, inputs.pred.other, inputs.cols)


def _scaled(progress: bs.Progress | None, total: int) -> bs.Progress | None:
    """Progress over every finding's resamples, not one finding's."""
    if progress is None:
        return None
    report = progress

    def tick(n: int, _: int) -> None:
        report(n, total)

    return tick


def evaluate(
    gold: TableSource,
    pred: TableSource,
    *,
    id_column: str = "id",
    findings: Sequence[str] | None = None,
    thresholds: ThresholdSource = None,
    at_sensitivity: Sequence[float] = (),
    at_specificity: Sequence[float] = (),
    uncertain: UncertainPolicy | str = UncertainPolicy.IGNORE,
    blank: BlankPolicy | str = BlankPolicy.ZEROS,
    subgroups: Sequence[str] = (),
    pred_b: TableSource | None = None,
    allow_missing: bool = False,
    n_resamples: int = bs.DEFAULT_RESAMPLES,
    seed: int = 0,
    level: float = bs.DEFAULT_LEVEL,
    min_subgroup_cases: int = 10,
    progress: bs.Progress | None = None,
) -> ClassificationResult:
    """Score predictions against gold labels, finding by finding (see the module docstring).

    A gold case that the predictions have no value for (no row with its id, or a blank
    cell) is an error (:class:`~radpilot.evaluate.matching.MissingValuesError`) unless
    ``allow_missing``: then it is left out and counted in ``metrics["missing"]``.
    """
    bs.check_settings(n_resamples=n_resamples, level=level)
    opts = _Options(
        uncertain=enum_value(UncertainPolicy, uncertain, option="uncertain"),
        blank=enum_value(BlankPolicy, blank, option="blank"),
        at_sensitivity=_check_targets(at_sensitivity, "at_sensitivity"),
        at_specificity=_check_targets(at_specificity, "at_specificity"),
        n_resamples=n_resamples,
        seed=seed,
        level=level,
    )
    inputs = _read_inputs(
        gold,
        pred,
        pred_b,
        id_column=id_column,
        findings=findings,
        subgroups=subgroups,
        thresholds=thresholds,
    )
    acct = Accounting("prediction", allow=allow_missing)
    cases = [_finding_cases(inputs, name, opts, acct) for name in inputs.cols.findings]
    acct.check()
    tick = _scaled(progress, n_resamples * len(cases))
    results: dict[str, Any] = {}
    data: dict[str, FindingData] = {}
    for c in cases:
        results[c.name], fd = _score_case(c, inputs, opts, tick)
        if fd is not None:
            data[c.name] = fd
    metrics = _metrics(inputs, opts, results, acct)
    if subgroups:
        metrics["subgroups"] = subgroup_metrics(
            data, n_resamples=n_resamples, seed=seed, level=level, min_cases=min_subgroup_cases
        )
    return ClassificationResult(metrics, data)


def _metrics(
    inputs: _Inputs, opts: _Options, results: dict[str, Any], acct: Accounting
) -> dict[str, Any]:
    return {
        "task": "classification",
        "settings": {
            "uncertain": opts.uncertain.value,
            "blank": opts.blank.value,
            "allow_missing": acct.allow,
            "bootstrap_resamples": opts.n_resamples,
            "bootstrap": "stratified by gold label, percentile intervals",
            "seed": opts.seed,
            "ci_level": opts.level,
            "at_sensitivity": opts.at_sensitivity,
            "at_specificity": opts.at_specificity,
            "thresholds": inputs.thresholds,
        },
        "matching": _matching(inputs),
        "missing": acct.to_dict(),
        "warnings": acct.warnings(),
        "notes": _notes(inputs),
        "findings": results,
        "macro": macro_average(results),
    }


def macro_average(results: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """Unweighted mean over scored findings (point estimates; no interval)."""
    out: dict[str, Any] = {}
    for key in ("auroc", "auprc", "sensitivity", "specificity", "f1"):
        vals = [r[key] for r in results.values() if r.get(key) is not None]
        out[key] = float(np.mean(vals)) if vals else None
    out["n_findings"] = sum(1 for r in results.values() if r.get("auroc") is not None)
    return out


def compare_scores(
    y: NDArray[np.float64],
    score_a: NDArray[np.float64],
    score_b: NDArray[np.float64],
    *,
    name: str,
    n_resamples: int,
    seed: int,
    level: float,
) -> dict[str, Any]:
    """DeLong's test and a paired stratified bootstrap of the AUROC difference (a - b)."""
    out: dict[str, Any] = delong_test(y, score_a, score_b, level=level).to_dict()
    ca, cb = curves.BinaryCurve(y, score_a), curves.BinaryCurve(y, score_b)
    rng = bs.rng_for(seed, "compare/" + name)
    diffs = []
    for size in bs.chunk_sizes(n_resamples, len(y)):
        pos, neg = bs.stratified_draws(rng, ca.n_pos, ca.n_neg, size)
        diffs.append(
            curves.auroc(ca.resample_counts(pos, neg)) - curves.auroc(cb.resample_counts(pos, neg))
        )
    d = np.concatenate(diffs) if diffs else np.empty(0)
    out["bootstrap_difference_ci"] = bs.percentile_ci(d, level) if len(d) else None
    out["bootstrap_se"] = float(np.std(d, ddof=1)) if len(d) > 1 else None
    return out


def subgroup_metrics(
    data: Mapping[str, FindingData],
    *,
    n_resamples: int,
    seed: int,
    level: float,
    min_cases: int,
) -> dict[str, Any]:
    """AUROC (with interval), sensitivity and specificity of each finding in each subgroup."""
    out: dict[str, Any] = {}
    for name, fd in data.items():
        for col, values in fd.subgroups.items():
            per_col = out.setdefault(col, {})
            for value in sorted(set(values.tolist())):
                sel = values == value
                y, s = fd.y[sel], fd.score[sel]
                n_pos = int(np.sum(y == 1))
                entry: dict[str, Any] = {"n": int(sel.sum()), "n_positive": n_pos}
                if sel.sum() < min_cases or n_pos in (0, int(sel.sum())):
                    entry["note"] = f"fewer than {min_cases} cases or a single class; not scored"
                else:
                    entry.update(
                        _score_finding(
                            y,
                            s,
                            name=f"{name}/{col}={value}",
                            threshold=fd.threshold,
                            at_sensitivity=(),
                            at_specificity=(),
                            n_resamples=n_resamples,
                            seed=seed,
                            level=level,
                            progress=None,
                        )
                    )
                per_col.setdefault(value, {})[name] = entry
    return out
