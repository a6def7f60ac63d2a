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

import json
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
from radpilot.evaluate.tables import (
    BlankPolicy,
    Table,
    TableSource,
    UncertainPolicy,
    common_findings,
    enum_value,
    gold_labels,
    gold_pred_matching,
    match_ids,
    read_table,
)
from radpilot.evaluate.vocab import canonical_finding

log = logging.getLogger(__name__)

DEFAULT_THRESHOLD = 0.5
Stats = dict[str, NDArray[np.float64]]
ThresholdSource = float | Mapping[str, float] | str | Path | None


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


def load_thresholds(source: ThresholdSource, findings: Sequence[str]) -> dict[str, float]:
    """One threshold per finding from a number, a mapping, or a JSON file (a flat
    ``{finding: threshold}`` object or a model card holding one under ``"thresholds"``)."""
    if source is None or isinstance(source, int | float):
        value = DEFAULT_THRESHOLD if source is None else float(source)
        return dict.fromkeys(findings, value)
    where = "thresholds"
    card = False
    if isinstance(source, str | Path):
        where = str(source)
        try:
            raw = json.loads(Path(source).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise InputError(f"{where}: no such file") from None
        except (OSError, json.JSONDecodeError) as exc:
            raise InputError(f"{where}: not valid JSON ({exc})") from None
        if isinstance(raw, dict) and isinstance(raw.get("thresholds"), dict):
            # A model card lists every output; scoring a few of them is normal.
            raw = raw["thresholds"]
            card = True
    else:
        raw = dict(source)
    if not isinstance(raw, dict):
        raise InputError(f"{where}: expected an object mapping finding names to thresholds")
    out = dict.fromkeys(findings, DEFAULT_THRESHOLD)
    for name, value in raw.items():
        canon = canonical_finding(name)
        if canon not in out and card:
            continue
        if canon not in out:
            raise InputError(
                f"{where}: '{name}' is not an evaluated finding; valid names: {', '.join(findings)}"
            )
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise InputError(f"{where}: threshold of '{name}' must be a number, got {value!r}")
        out[canon] = float(value)
    return out


def _check_targets(values: Iterable[float], option: str) -> list[float]:
    out = []
    for v in values:
        if not 0.0 < float(v) <= 1.0:
            raise InputError(f"{option} must be in (0, 1], got {v}")
        out.append(float(v))
    return out


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


def _subgroup_values(gold: Table, rows: NDArray[np.intp], columns: Sequence[str]) -> dict[str, Any]:
    out = {}
    for col in columns:
        canon = canonical_finding(col)
        if canon not in gold.columns:
            raise InputError(
                f"{gold.name}: no subgroup column '{col}'; columns are "
                f"{', '.join(gold.original.values())}"
            )
        values = np.asarray(gold.columns[canon], dtype=str)[rows]
        out[col] = np.where(np.char.strip(values) == "", "(blank)", values)
    return out


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
    n_resamples: int = bs.DEFAULT_RESAMPLES,
    seed: int = 0,
    level: float = bs.DEFAULT_LEVEL,
    min_subgroup_cases: int = 10,
    progress: bs.Progress | None = None,
) -> ClassificationResult:
    """Score predictions against gold labels, finding by finding (see the module docstring)."""
    bs.check_settings(n_resamples=n_resamples, level=level)
    unc = enum_value(UncertainPolicy, uncertain, option="--uncertain")
    blk = enum_value(BlankPolicy, blank, option="--blank")
    sens_t = _check_targets(at_sensitivity, "--at-sensitivity")
    spec_t = _check_targets(at_specificity, "--at-specificity")

    g = read_table(gold, name="gold", id_column=id_column)
    p = read_table(pred, name="pred", id_column=id_column)
    cols = common_findings(g, p, exclude=subgroups, wanted=findings)
    match = match_ids(g, p)
    rows_g, rows_p = match.left_rows, match.right_rows
    matching = gold_pred_matching(g, p, match, cols)
    pb: Table | None = None
    rows_b: NDArray[np.intp] | None = None
    if pred_b is not None:
        pb = read_table(pred_b, name="pred_b", id_column=id_column)
        common_findings(g, pb, exclude=subgroups, wanted=cols.findings)
        pos_b = {rid: i for i, rid in enumerate(pb.ids)}
        keep = np.asarray([rid in pos_b for rid in match.ids], dtype=bool)
        missing_b = [rid for rid, k in zip(match.ids, keep, strict=True) if not k]
        rows_g, rows_p = rows_g[keep], rows_p[keep]
        rows_b = np.asarray([pos_b[g.ids[i]] for i in rows_g], dtype=np.intp)
        matching["missing_in_pred_b"] = {"count": len(missing_b), "first": missing_b[:5]}
        matching["n_matched"] = len(rows_g)

    thr = load_thresholds(thresholds, cols.findings)
    tick: bs.Progress | None = None
    if progress is not None:
        total = n_resamples * len(cols.findings)
        report = progress

        def tick(n: int, _: int) -> None:
            report(n, total)

    groups = _subgroup_values(g, rows_g, subgroups)
    results: dict[str, Any] = {}
    data: dict[str, FindingData] = {}
    for name in cols.findings:
        raw = g.numeric(name, allowed=(1.0, 0.0, -1.0))[rows_g]
        y, policy_counts = gold_labels(raw, uncertain=unc, blank=blk)
        s = p.numeric(name)[rows_p]
        keep = ~np.isnan(y) & ~np.isnan(s)
        sb = None
        if pb is not None and rows_b is not None:
            sb = pb.numeric(name)[rows_b]
            keep &= ~np.isnan(sb)
        info: dict[str, Any] = {
            "n": int(keep.sum()),
            "n_positive": int(np.sum(y[keep] == 1)),
            "prevalence": _num(float(np.mean(y[keep]))) if keep.any() else None,
            "n_excluded_gold": int(np.sum(np.isnan(y))),
            "n_missing_pred": int(np.sum(np.isnan(s))),
            **policy_counts,
        }
        yk, sk = y[keep], s[keep]
        info["hard_labels"] = bool(np.isin(sk, (0.0, 1.0)).all())
        if info["n_positive"] == 0 or info["n_positive"] == info["n"]:
            info["note"] = "needs both positive and negative cases; not scored"
            results[name] = info
            continue
        kw: dict[str, Any] = {
            "at_sensitivity": sens_t,
            "at_specificity": spec_t,
            "n_resamples": n_resamples,
            "seed": seed,
            "level": level,
            "progress": tick,
        }
        info.update(_score_finding(yk, sk, name=name, threshold=thr[name], **kw))
        if is_probability(sk) and not info["hard_labels"]:
            info["brier_loss"] = brier_loss(yk, sk)
            info["ece_loss"] = expected_calibration_loss(yk, sk)
            info["reliability"] = reliability_curve(yk, sk).to_dict()
        fd = FindingData(
            y=yk,
            score=sk,
            threshold=thr[name],
            subgroups={c: v[keep] for c, v in groups.items()},
        )
        if sb is not None:
            fd.score_b = sb[keep]
            info["comparison"] = compare_scores(
                yk, sk, sb[keep], name=name, n_resamples=n_resamples, seed=seed, level=level
            )
        results[name] = info
        data[name] = fd

    metrics: dict[str, Any] = {
        "task": "classification",
        "settings": {
            "uncertain": unc.value,
            "blank": blk.value,
            "bootstrap_resamples": n_resamples,
            "bootstrap": "stratified by gold label, percentile intervals",
            "seed": seed,
            "ci_level": level,
            "at_sensitivity": sens_t,
            "at_specificity": spec_t,
            "thresholds": thr,
        },
        "matching": matching,
        "findings": results,
        "macro": macro_average(results),
    }
    if subgroups:
        metrics["subgroups"] = subgroup_metrics(
            data, n_resamples=n_resamples, seed=seed, level=level, min_cases=min_subgroup_cases
        )
    return ClassificationResult(metrics=metrics, data=data)


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
