"""Labeler scoring (per class P/R/F1) and readers (kappas, model vs average reader)."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
from sklearn import metrics as skm

from radpilot.errors import InputError
from radpilot.evaluate.agreement import fleiss_kappa_score, rating_counts
from radpilot.evaluate.labeler import evaluate_labeler
from radpilot.evaluate.matching import MissingValuesError
from radpilot.evaluate.readers import evaluate_readers

GOLD = {"Reports": ["r1", "r2", "r3", "r4", "r5", "r6"], "Edema": [1, 0, -1, "", 1, 0]}
PRED = {"Reports": ["r1", "r2", "r3", "r4", "r5", "r6"], "Edema": [1, 1, -1, "", "", 0]}


def test_labeler_per_class_counts_by_row_order() -> None:
    res = evaluate_labeler(GOLD, PRED, n_resamples=100)
    e = res.metrics["findings"]["Edema"]
    # present: gold {r1, r5}, pred {r1, r2} -> tp 1; absent: gold {r2, r6}, pred {r6}.
    assert (e["present"]["tp"], e["present"]["support"], e["present"]["predicted"]) == (1, 2, 2)
    assert e["present"]["f1"] == pytest.approx(0.5)
    assert e["absent"]["precision"] == 1.0 and e["absent"]["recall"] == 0.5
    assert e["uncertain"]["f1"] == 1.0
    assert res.metrics["settings"]["matched_by"] == "row order"


def test_labeler_uncertain_as_present_and_errors() -> None:
    res = evaluate_labeler(GOLD, PRED, uncertain="present", n_resamples=0, min_support=1)
    e = res.metrics["findings"]["Edema"]
    assert "uncertain" not in e and e["present"]["tp"] == 2
    with pytest.raises(InputError, match="paired by order, so the counts must agree"):
        evaluate_labeler(GOLD, {"Reports": ["x"], "Edema": [1]}, n_resamples=0)
    with pytest.raises(InputError, match="pred: row 3, column 'Edema': not one of 1, 0, -1"):
        evaluate_labeler(GOLD, {**PRED, "Edema": [1, 1, 2, "", "", 0]}, n_resamples=0)


def test_labeler_by_id_accounts_for_every_gold_report() -> None:
    gold = {"id": ["a", "b", "c", "d"], "Edema": [1, 0, 1, ""]}
    pred = {"id": ["a", "c", "x"], "Edema": [1, "", 1]}
    with pytest.raises(MissingValuesError, match=r"2 gold case.*first: gold row 2 has no row"):
        evaluate_labeler(gold, pred, id_column="id", n_resamples=0)
    res = evaluate_labeler(gold, pred, id_column="id", n_resamples=0, allow_missing=True)
    assert res.metrics["matching"]["n_matched"] == 2
    assert res.metrics["missing"]["values"][0]["no_row"] == 2
    assert res.metrics["notes"] == [
        "pred: 1 row(s) whose id is not in gold, not scored (first at row 3)"
    ]
    # Matched: a (1 vs 1) and c (1 vs blank): one of two gold positives found.
    assert res.metrics["findings"]["Edema"]["present"]["recall"] == 0.5


def test_labeler_agrees_with_openi_gold_scorer(shared_dir: Path) -> None:
    from radpilot.devdata import load_script

    module = load_script(shared_dir / "data" / "openi" / "openi_gold.py", "openi_gold_t")
    rng = np.random.default_rng(0)
    classes = module.CLASSES
    n = 300
    gold_sets = {str(i): {c for c in classes if rng.random() < 0.15} for i in range(n)}
    choices = [1.0, 0.0, -1.0, None]
    preds = {str(i): {c: choices[rng.integers(0, 4)] for c in module.CHEXPERT14} for i in range(n)}
    ref = module.score(gold_sets, preds)
    gold = {"id": list(gold_sets)} | {
        c: [1 if c in gold_sets[i] else "" for i in gold_sets] for c in classes
    }
    pred = {"id": list(preds)} | {
        c: ["" if preds[i][c] is None else preds[i][c] for i in preds] for c in classes
    }
    ours = evaluate_labeler(gold, pred, id_column="id", uncertain="present", n_resamples=0)
    assert ours.metrics["macro"]["present"]["f1"] == pytest.approx(ref["macro_f1"], abs=1e-12)
    assert ours.metrics["micro"]["present"]["f1"] == pytest.approx(ref["micro_f1"], abs=1e-12)


def _readers_data(tmp_path: Path) -> tuple[Path, list[Path], Path]:
    rng = np.random.default_rng(4)
    n = 300
    y = (rng.random(n) < 0.35).astype(int)
    ids = [f"x{i}" for i in range(n)]

    def write(name: str, values: np.ndarray) -> Path:
        p = tmp_path / name
        with p.open("w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["id", "Pneumothorax"])
            w.writerows(zip(ids, values.tolist(), strict=True))
        return p

    readers = []
    for k, (se, sp) in enumerate([(0.8, 0.9), (0.7, 0.95), (0.85, 0.85)]):
        lab = np.where(y == 1, rng.random(n) < se, rng.random(n) > sp).astype(int)
        readers.append(write(f"r{k}.csv", lab))
    score = 1 / (1 + np.exp(-(rng.normal(size=n) + 2.5 * y - 1)))
    return write("gold.csv", y), readers, write("pred.csv", score)


def test_readers_against_sklearn(tmp_path: Path) -> None:
    gold, readers, pred = _readers_data(tmp_path)
    res = evaluate_readers(gold, readers, pred, n_resamples=200)
    e = res.metrics["findings"]["Pneumothorax"]
    y = np.loadtxt(gold, delimiter=",", skiprows=1, usecols=1)
    labs = [np.loadtxt(r, delimiter=",", skiprows=1, usecols=1) for r in readers]
    r0 = e["readers"]["r0"]
    assert r0["sensitivity"] == pytest.approx(skm.recall_score(y, labs[0]))
    assert r0["kappa_vs_gold"] == pytest.approx(skm.cohen_kappa_score(labs[0], y))
    assert e["cohen_kappa"]["r0 vs r1"] == pytest.approx(skm.cohen_kappa_score(labs[0], labs[1]))
    avg = np.mean([skm.recall_score(y, lab) for lab in labs])
    assert e["average_reader"]["sensitivity"] == pytest.approx(avg)
    mv = e["model_vs_average_reader"]
    assert mv["sensitivity_difference"] == pytest.approx(
        mv["model_sensitivity_at_reader_specificity"] - avg
    )
    lo, hi = mv["f1_difference_ci"]
    assert lo <= mv["f1_difference"] <= hi
    assert e["fleiss_kappa"] == pytest.approx(fleiss_kappa_score(rating_counts(np.vstack(labs).T)))
    # The resampled kappas are the same statistics: every interval brackets its point.
    lo, hi = e["fleiss_kappa_ci"]
    assert lo <= e["fleiss_kappa"] <= hi
    lo, hi = e["cohen_kappa_ci"]["r0 vs r1"]
    assert lo <= e["cohen_kappa"]["r0 vs r1"] <= hi
    lo, hi = r0["kappa_vs_gold_ci"]
    assert lo <= r0["kappa_vs_gold"] <= hi
    assert [p[0] for p in res.points["Pneumothorax"]] == ["r0", "r1", "r2", "average reader"]


def test_readers_need_distinct_names(tmp_path: Path) -> None:
    gold, readers, _ = _readers_data(tmp_path)
    with pytest.raises(InputError, match="reader names must differ"):
        evaluate_readers(gold, [readers[0], readers[0]], n_resamples=0)


def test_readers_account_for_missing_reads_and_predictions(tmp_path: Path) -> None:
    gold, readers, pred = _readers_data(tmp_path)
    lines = readers[1].read_text().splitlines()
    readers[1].write_text("\n".join(lines[:5] + lines[8:]) + "\n")  # 3 cases unread
    lines = pred.read_text().splitlines()
    lines[10] = lines[10].split(",")[0] + ","  # one blank prediction
    pred.write_text("\n".join(lines) + "\n")
    with pytest.raises(MissingValuesError, match=r"r1.csv: 3 gold case.*first: .*gold.csv line 6"):
        evaluate_readers(gold, readers, pred, n_resamples=0)
    res = evaluate_readers(gold, readers, pred, n_resamples=0, allow_missing=True)
    assert res.metrics["findings"]["Pneumothorax"]["n"] == 296
    assert res.metrics["matching"]["missing"]["r1"]["count"] == 3
    counts = [(Path(v["table"]).name, v["count"]) for v in res.metrics["missing"]["values"]]
    assert counts == [("r1.csv", 3), ("pred.csv", 1)]
    bad = tmp_path / "bad_pred.csv"
    bad.write_text("id,Pneumothorax\nx0,3\n")
    with pytest.raises(InputError, match=r"bad_pred.csv: line 2, column 'Pneumothorax': outside"):
        evaluate_readers(gold, readers, bad, n_resamples=0)


def test_weighted_kappas_equal_the_plain_ones_with_unit_weights() -> None:
    from radpilot.evaluate.agreement import fleiss_kappa_score, rating_counts
    from radpilot.evaluate.readers import _weighted_kappas

    rng = np.random.default_rng(2)
    R = (rng.random((3, 80)) < 0.4).astype(float)
    y = (rng.random(80) < 0.4).astype(float)
    k = _weighted_kappas(np.ones((1, 80)), R, y)
    assert k["pair/0/2"][0] == pytest.approx(skm.cohen_kappa_score(R[0], R[2]))
    assert k["kappa_gold/1"][0] == pytest.approx(skm.cohen_kappa_score(R[1], y))
    assert k["fleiss"][0] == pytest.approx(fleiss_kappa_score(rating_counts(R.T)))


def test_labeler_reads_reports_longer_than_the_csv_default_limit(tmp_path: Path) -> None:
    path = tmp_path / "labels.csv"
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["Reports", "Edema"])
        w.writerows([["x" * 200_000, "1.0"], ["short", ""]])
    limit = csv.field_size_limit()
    res = evaluate_labeler(path, path, n_resamples=0, min_support=1)
    assert csv.field_size_limit() == limit  # process-wide: put back, not left raised
    assert res.metrics["matching"]["n_matched"] == 2
    assert res.metrics["findings"]["Edema"]["present"]["f1"] == 1.0
