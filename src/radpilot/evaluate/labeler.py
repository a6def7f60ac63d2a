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

from radpilot.errors import InputError
from radpilot.evaluate import bootstrap as bs
from radpilot.evaluate.tables import (
    IdMatch,
    TableSource,
    common_findings,
    enum_value,
    gold_pred_matching,
    match_ids,
    read_table,
)
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


def evaluate_labeler(
    gold: TableSource,
    pred: TableSource,
    *,
    id_column: str | None = None,
    findings: Sequence[str] | None = None,
    uncertain: LabelerUncertain | str = LabelerUncertain.KEEP,
    n_resamples: int = bs.DEFAULT_RESAMPLES,
    seed: int = 0,
    level: float = bs.DEFAULT_LEVEL,
    min_support: int = DEFAULT_MIN_SUPPORT,
    progress: bs.Progress | None = None,
) -> LabelerResult:
    """Score a labeler's output table against a gold table (see the module docstring).

    Macro averages are over findings with at least ``min_support`` gold cases of the class;
    F1 of a finding with gold cases but no correct prediction is 0.
    """
    bs.check_settings(n_resamples=n_resamples, level=level)
    unc = enum_value(LabelerUncertain, uncertain, option="--uncertain")
    g = read_table(gold, name="gold", id_column=id_column, by_order=id_column is None)
    p = read_table(pred, name="pred", id_column=id_column, by_order=id_column is None)
    if g.id_column is None or p.id_column is None:
        if len(g.ids) != len(p.ids):
            raise InputError(
                f"{g.name} has {len(g.ids)} rows and {p.name} has {len(p.ids)}: without an id "
                "column rows are matched by order, so the counts must agree (or pass --id-column)"
            )
        rows = np.arange(len(g.ids), dtype=np.intp)
        match = IdMatch(g.ids, rows, rows, [], [])
    else:
        match = match_ids(g, p)
    cols = common_findings(g, p, wanted=findings)
    allowed = tuple(_VALUE.values())
    classes = [Certainty.PRESENT, Certainty.ABSENT]
    if unc is LabelerUncertain.KEEP:
        classes.append(Certainty.UNCERTAIN)

    def recode(v: NDArray[np.float64]) -> NDArray[np.float64]:
        if unc is LabelerUncertain.PRESENT:
            return np.where(v == -1.0, 1.0, v)
        if unc is LabelerUncertain.ABSENT:
            return np.where(v == -1.0, 0.0, v)
        return v

    # Indicator columns (n x 3 per finding-class): tp, predicted, gold. One matrix product
    # per bootstrap chunk then gives every count of every resample.
    keys: list[tuple[str, Certainty]] = []
    blocks: list[NDArray[np.float64]] = []
    for name in cols.findings:
        gv = recode(g.numeric(name, allowed=allowed)[match.left_rows])
        pv = recode(p.numeric(name, allowed=allowed)[match.right_rows])
        for cls in classes:
            gc, pc = gv == _VALUE[cls], pv == _VALUE[cls]
            keys.append((name, cls))
            blocks.append(np.stack([gc & pc, pc, gc], axis=1).astype(np.float64))
    ind = np.concatenate(blocks, axis=1)  # (n, 3 * len(keys))
    n = ind.shape[0]
    point = ind.sum(axis=0)[None, :]
    rng = bs.rng_for(seed, "labeler")
    boots = [w @ ind for w in bs.case_weight_chunks(rng, n, n_resamples, progress)]
    boot = np.concatenate(boots) if boots else np.empty((0, ind.shape[1]))

    def stats(counts: NDArray[np.float64]) -> dict[str, NDArray[np.float64]]:
        c = counts.reshape(counts.shape[0], len(keys), 3)
        return _prf(c[:, :, 0], c[:, :, 1], c[:, :, 2])

    ps, bst = stats(point), stats(boot)
    per: dict[str, dict[str, Any]] = {name: {} for name in cols.findings}
    pc = point.reshape(len(keys), 3)
    for j, (name, cls) in enumerate(keys):
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
        per[name][cls.value] = entry

    macro: dict[str, Any] = {}
    micro: dict[str, Any] = {}
    for cls in classes:
        idx = [j for j, (_, c) in enumerate(keys) if c is cls and pc[j, 2] >= min_support]
        scored = [keys[j][0] for j in idx]

        def macro_f1(f1: NDArray[np.float64], idx: list[int] = idx) -> NDArray[np.float64]:
            # A resample can lose every case of a rare finding: its F1 is then undefined
            # and left out of that resample's mean rather than counted as 0.
            return bs.nanmean_rows(f1[:, idx])

        def micro_f1(counts: NDArray[np.float64], idx: list[int] = idx) -> NDArray[np.float64]:
            c = counts.reshape(counts.shape[0], len(keys), 3)[:, idx, :].sum(axis=1)
            return _prf(c[:, 0], c[:, 1], c[:, 2])["f1"]

        if not idx:
            macro[cls.value] = {"f1": None, "f1_ci": None, "findings": []}
            micro[cls.value] = {"f1": None, "f1_ci": None}
            continue
        macro[cls.value] = {
            "f1": float(macro_f1(ps["f1"])[0]),
            "f1_ci": bs.percentile_ci(macro_f1(bst["f1"]), level) if len(boot) else None,
            "findings": scored,
        }
        micro[cls.value] = {
            "f1": float(micro_f1(point)[0]),
            "f1_ci": bs.percentile_ci(micro_f1(boot), level) if len(boot) else None,
        }

    metrics = {
        "task": "labeler",
        "settings": {
            "uncertain": unc.value,
            "bootstrap_resamples": n_resamples,
            "bootstrap": "cases (reports) resampled with replacement, percentile intervals",
            "seed": seed,
            "ci_level": level,
            "min_support": min_support,
            "matched_by": "id" if g.id_column and p.id_column else "row order",
        },
        "matching": gold_pred_matching(g, p, match, cols),
        "findings": per,
        "macro": macro,
        "micro": micro,
    }
    return LabelerResult(metrics)
