"""`radpilot.evaluate.classification.evaluate` on small data: values, CIs, policies,
subgroups and the two-model comparison."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn import metrics as skm

from radpilot.evaluate.classification import evaluate


def dataset(n: int = 400, seed: int = 0) -> tuple[dict, dict, dict]:
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.3).astype(int)
    ids = [f"c{i}" for i in range(n)]
    a = 1 / (1 + np.exp(-(rng.normal(size=n) + 1.5 * y - 1)))
    b = 1 / (1 + np.exp(-(rng.normal(size=n) + 0.5 * y - 1)))
    gold = {"id": ids, "Effusion": y.tolist(), "sex": rng.choice(["F", "M"], n).tolist()}
    return gold, {"id": ids, "Pleural Effusion": a.tolist()}, {"id": ids, "Effusion": b.tolist()}


def test_values_agree_with_sklearn_and_cis_bracket_them() -> None:
    gold, pred, _ = dataset()
    res = evaluate(gold, pred, n_resamples=200, seed=1, at_specificity=[0.9])
    r = res.metrics["findings"]["Pleural Effusion"]
    y, s = np.array(gold["Effusion"]), np.array(pred["Pleural Effusion"])
    assert r["auroc"] == pytest.approx(skm.roc_auc_score(y, s), abs=1e-12)
    assert r["auprc"] == pytest.approx(skm.average_precision_score(y, s), abs=1e-12)
    assert r["f1"] == pytest.approx(skm.f1_score(y, s >= 0.5), abs=1e-12)
    assert r["brier_loss"] == pytest.approx(skm.brier_score_loss(y, s))
    for key in ("auroc", "auprc", "sensitivity", "specificity", "ppv", "npv", "f1"):
        lo, hi = r[f"{key}_ci"]
        assert lo <= r[key] <= hi, key
    assert r["n"] == 400 and r["n_positive"] == int(y.sum())
    assert r["at_specificity"]["0.9"]["specificity"] >= 0.9
    assert set(r["confusion"]) == {"tp", "fp", "tn", "fn"}
    assert res.metrics["macro"]["auroc"] == pytest.approx(r["auroc"])


def test_seeded_and_reproducible() -> None:
    gold, pred, _ = dataset()
    a = evaluate(gold, pred, n_resamples=50, seed=3).metrics
    b = evaluate(gold, pred, n_resamples=50, seed=3).metrics
    c = evaluate(gold, pred, n_resamples=50, seed=4).metrics
    f = "Pleural Effusion"
    assert a["findings"][f]["auroc_ci"] == b["findings"][f]["auroc_ci"]
    assert a["findings"][f]["auroc_ci"] != c["findings"][f]["auroc_ci"]


def test_uncertain_policies_change_the_cases() -> None:
    gold = {"id": list("abcdef"), "Edema": [1, 0, -1, 0, 1, ""]}
    pred = {"id": list("abcdef"), "Edema": [0.9, 0.1, 0.8, 0.2, 0.7, 0.3]}
    ignore = evaluate(gold, pred, n_resamples=0)
    ones = evaluate(gold, pred, uncertain="ones", n_resamples=0)
    zeros = evaluate(gold, pred, uncertain="zeros", blank="ignore", n_resamples=0)
    assert ignore.metrics["findings"]["Edema"]["n"] == 5
    assert ones.metrics["findings"]["Edema"]["n_positive"] == 3
    assert zeros.metrics["findings"]["Edema"]["n"] == 5
    assert zeros.metrics["findings"]["Edema"]["n_positive"] == 2
    assert ignore.metrics["findings"]["Edema"]["auroc_ci"] is None  # no bootstrap asked


def test_hard_labels_and_single_class_findings() -> None:
    gold = {"id": list("abcd"), "Edema": [1, 0, 1, 0], "Fracture": [0, 0, 0, 0]}
    pred = {"id": list("abcd"), "Edema": [1, 0, 0, 0], "Fracture": [0, 1, 0, 0]}
    res = evaluate(gold, pred, n_resamples=10)
    edema = res.metrics["findings"]["Edema"]
    assert edema["hard_labels"] and edema["auroc"] == pytest.approx(0.75)
    assert "reliability" not in edema  # calibration is for probabilities only
    assert "not scored" in res.metrics["findings"]["Fracture"]["note"]


def test_subgroups_and_comparison() -> None:
    gold, pred, pred_b = dataset(600)
    res = evaluate(gold, pred, pred_b=pred_b, subgroups=["sex"], n_resamples=200)
    sub = res.metrics["subgroups"]["sex"]
    assert set(sub) == {"F", "M"}
    assert sum(sub[v]["Pleural Effusion"]["n"] for v in sub) == 600
    for v in sub:
        lo, hi = sub[v]["Pleural Effusion"]["auroc_ci"]
        assert lo <= sub[v]["Pleural Effusion"]["auroc"] <= hi
    comp = res.metrics["findings"]["Pleural Effusion"]["comparison"]
    assert comp["difference"] > 0 and comp["p_value"] < 0.01
    lo, hi = comp["bootstrap_difference_ci"]
    assert lo <= comp["difference"] <= hi
