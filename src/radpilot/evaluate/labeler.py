"""Report labelers against gold labels: per finding and per class (present, absent,
uncertain) precision, recall and F1, with bootstrap intervals over reports.

Both tables use the CheXpert labeler's convention: 1.0 present, 0.0 absent, -1.0 uncertain,
blank not mentioned. Without an id column rows are matched by order (the labeler writes one
output row per input report), so both files must have the same number of rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import numpy as np
from numpy.typing import NDArray

from radpilot.evaluate import bootstrap as bs
from radpilot.evaluate.matching import (
    Accounting,
    Alignment,
    align,
    align_by_order,
    column_notes,
    common_findings,
    find_missing,
    gold_pred_matching,
)
from radpilot.evaluate.tables import LABEL_CODES, TableSource, enum_value, read_table
from radpilot.reports.models import Certainty

_VALUE = {Certainty.PRESENT: 1.0, Certainty.ABSENT: 0.0, Certainty.UNCERTAIN: -1.0}
DEFAULT_MIN_SUPPORT = 5


class LabelerUncertain(StrEnum):
    """How an uncertain (-1) label is scored, on both sides."""

    KEEP = "keep"  # a class of its own (the CheXpert paper's uncertainty F1)
    PRESENT = "present"  # counts as present (how openi_gold.py scores)
    ABSENT = "absent"  # counts as absent


@dataclass
class LabelerResult:
    metrics: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return self.metrics


def _prf(
    tp: NDArray[np.float64], pred: NDArray[np.float64], gold: NDArray[np.float64]
) -> dict[str, NDArray[np.float64]]:
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = np.where(pred > 0, tp / np.maximum(pred, 1e-300), np.nan)
        recall = np.where(gold > 0, tp / np.maximum(gold, 1e-300), np.nan)
        den = pred + gold
        f1 = np.where(den > 0, 2 * tp / np.maximum(den, 1e-300), np.nan)
    return {"precision": precision, "recall": recall, "f1": f1}


@dataclass(frozen=True)
class _Indicators:
    """Per finding-class columns (tp, predicted, gold) over the paired reports: one matrix
    product per bootstrap chunk then gives every count of every resample."""

    keys: list[tuple[str, Certainty]]
    matrix: NDArray[np.float64]  # (n, 3 * len(keys))

    def counts(self, totals: NDArray[np.float64]) -> NDArray[np.float64]:
        """(B, 3 * keys) -> (B, keys, 3)."""
        return totals.reshape(totals.shape[0], len(self.keys), 3)

    def stats(self, totals: NDArray[np.float64]) -> dict[str, NDArray[np.float64]]:
        c = self.counts(totals)
        return _prf(c[:, :, 0], c[:, :, 1], c[:, :, 2])


def _recode(v: NDArray[np.float64], unc: LabelerUncertain) -> NDArray[np.float64]:
    if unc is LabelerUncertain.PRESENT:
        return np.where(v == -1.0, 1.0, v)
    if unc is LabelerUncertain.ABSENT:
        return np.where(v == -1.0, 0.0, v)
    return v


def _classes(unc: LabelerUncertain) -> list[Certainty]:
    classes = [Certainty.PRESENT, Certainty.ABSENT]
    if unc is LabelerUncertain.KEEP:
        classes.append(Certainty.UNCERTAIN)
    return classes


def _indicators(al: Alignment, findings: Sequence[str], unc: LabelerUncertain) -> _Indicators:
    g, p = al.gold, al.other
    gold_rows = np.flatnonzero(al.present)
    pred_rows = al.rows[al.present]
    keys: list[tuple[str, Certainty]] = []
    blocks: list[NDArray[np.float64]] = []
    for name in findings:
        gv = _recode(g.numeric(name, valid=LABEL_CODES)[gold_rows], unc)
        pv = _recode(p.numeric(name, valid=LABEL_CODES)[pred_rows], unc)
        for cls in _classes(unc):
            gc, pc = gv == _VALUE[cls], pv == _VALUE[cls]
            keys.append((name, cls))
            blocks.append(np.stack([gc & pc, pc, gc], axis=1).astype(np.float64))
    return _Indicators(keys, np.concatenate(blocks, axis=1))


def _per_finding(
    ind: _Indicators, point: NDArray[np.float64], boot: NDArray[np.float64], level: float
) -> dict[str, dict[str, Any]]:
    ps, bst = ind.stats(point), ind.stats(boot)
    pc = ind.counts(point)[0]
    per: dict[str, dict[str, Any]] = {}
    for j, (name, cls) in enumerate(ind.keys):
        entry: dict[str, Any] = {
            "support": int(pc[j, 2]),
            "predicted": int(pc[j, 1]),
            "tp": int(pc[j, 0]),
        }
        for metric in ("precision", "recall", "f1"):
            v = float(ps[metric][0, j])
            # Without gold cases F1 says nothing about the labeler; precision still does.
            undefined = np.isnan(v) or (metric == "f1" and pc[j, 2] == 0)
            entry[metric] = None if undefined else v
            entry[f"{metric}_ci"] = (
                bs.percentile_ci(bst[metric][:, j], level) if len(boot) and not undefined else None
            )
        entry["precision_wilson_ci"] = bs.wilson_ci(pc[j, 0], pc[j, 1], level)
        entry["recall_wilson_ci"] = bs.wilson_ci(pc[j, 0], pc[j, 2], level)
        per.setdefault(name, {})[cls.value] = entry
    return per


def _averages(
    ind: _Indicators,
    classes: Sequence[Certainty],
    point: NDArray[np.float64],
    boot: NDArray[np.float64],
    *,
    level: float,
    min_support: int,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Macro and micro F1 of each class over findings with ``min_support`` gold cases."""
    pc = ind.counts(point)[0]
    f1_point, f1_boot = ind.stats(point)["f1"], ind.stats(boot)["f1"]
    macro: dict[str, Any] = {}
    micro: dict[str, Any] = {}
    for cls in classes:
        idx = [j for j, (_, c) in enumerate(ind.keys) if c is cls and pc[j, 2] >= min_support]
        if not idx:
            macro[cls.value] = {"f1": None, "f1_ci": None, "findings": []}
            micro[cls.value] = {"f1": None, "f1_ci": None}
            continue

        def micro_f1(totals: NDArray[np.float64], idx: list[int] = idx) -> NDArray[np.float64]:
            c = ind.counts(totals)[:, idx, :].sum(axis=1)
            return _prf(c[:, 0], c[:, 1], c[:, 2])["f1"]

        # A resample can lose every case of a rare finding: its F1 is then undefined and
        # left out of that resample's mean rather than counted as 0.
        macro[cls.value] = {
            "f1": float(bs.nanmean_rows(f1_point[:, idx])[0]),
            "f1_ci": bs.percentile_ci(bs.nanmean_rows(f1_boot[:, idx]), level)
            if len(boot)
            else None,
            "findings": [ind.keys[j][0] for j in idx],
        }
        micro[cls.value] = {
            "f1": float(micro_f1(point)[0]),
            "f1_ci": bs.percentile_ci(micro_f1(boot), level) if len(boot) else None,
        }
    return macro, micro


def _align(gold: TableSource, pred: TableSource, id_column: str | None) -> Alignment:
    by_order = id_column is None
    g = read_table(gold, name="gold", id_column=id_column, by_order=by_order)
    p = read_table(pred, name="pred", id_column=id_column, by_order=by_order)
    if g.id_column is None or p.id_column is None:
        return align_by_order(g, p)
    return align(g, p)


def evaluate_labeler(
    gold: TableSource,
    pred: TableSource,
    *,
    id_column: str | None = None,
    findings: Sequence[str] | None = None,
    uncertain: LabelerUncertain | str = LabelerUncertain.KEEP,
    allow_missing: bool = False,
    n_resamples: int = bs.DEFAULT_RESAMPLES,
    seed: int = 0,
    level: float = bs.DEFAULT_LEVEL,
    min_support: int = DEFAULT_MIN_SUPPORT,
    progress: bs.Progress | None = None,
) -> LabelerResult:
    """Score a labeler's output table against a gold table (see the module docstring).

    Macro averages are over findings with at least ``min_support`` gold cases of the class;
    F1 of a finding with gold cases but no correct prediction is 0. Matched by id, a gold
    report without a row in ``pred`` is an error unless ``allow_missing`` (then it is left
    out and counted in ``metrics["missing"]``).
    """
    bs.check_settings(n_resamples=n_resamples, level=level)
    unc = enum_value(LabelerUncertain, uncertain, option="uncertain")
    al = _align(gold, pred, id_column)
    cols = common_findings(al.gold, al.other, wanted=findings)
    acct = Accounting("prediction", allow=allow_missing)
    acct.add(find_missing(al, np.ones(len(al.gold.ids), dtype=bool)))
    acct.check()
    ind = _indicators(al, cols.findings, unc)
    point = ind.matrix.sum(axis=0)[None, :]
    rng = bs.rng_for(seed, "labeler")
    chunks = bs.case_weight_chunks(rng, ind.matrix.shape[0], n_resamples, progress)
    boots = [w @ ind.matrix for w in chunks]
    boot = np.concatenate(boots) if boots else np.empty((0, ind.matrix.shape[1]))
    classes = _classes(unc)
    macro, micro = _averages(ind, classes, point, boot, level=level, min_support=min_support)
    metrics = {
        "task": "labeler",
        "settings": {
            "uncertain": unc.value,
            "allow_missing": allow_missing,
            "bootstrap_resamples": n_resamples,
            "bootstrap": "cases (reports) resampled with replacement, percentile intervals",
            "seed": seed,
            "ci_level": level,
            "min_support": min_support,
            "matched_by": "id" if al.gold.id_column and al.other.id_column else "row order",
        },
        "matching": gold_pred_matching(al, cols),
        "missing": acct.to_dict(),
        "warnings": acct.warnings(),
        "notes": [n for n in (al.extra_note(),) if n] + column_notes(al.gold, al.other, cols),
        "findings": _per_finding(ind, point, boot, level),
        "macro": macro,
        "micro": micro,
    }
    return LabelerResult(metrics)
