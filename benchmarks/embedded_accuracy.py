"""Accuracy of the embedded model (pneumoniamnist-v1) on the official PneumoniaMNIST
test split shipped with radpilot, at the operating threshold in its model card
(chosen on the validation split by the training script).

Scores are computed by radpilot's evaluation harness (radpilot.evaluate.classification,
the library behind `radpilot evaluate classification`) from gold.csv / pred.csv written
to --out; AUROC, sensitivity and specificity carry stratified bootstrap 95% CIs, accuracy
a stratified bootstrap CI computed here with the same resample count. Published anchors
(MedMNIST v2 paper) and, when ../shared is present, a same-run baseline (logistic
regression on raw 28x28 pixels, trained on the train split) are printed beside it.

Run:  OMP_NUM_THREADS=1 .venv/bin/python benchmarks/embedded_accuracy.py --out /tmp/pm-eval
Card: add --update-card --training-report training/pneumoniamnist-v1.results.json
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import tempfile
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.table import Table

from radpilot import samples
from radpilot.imaging import registry
from radpilot.imaging.model_api import ImageMeta, Radiograph
from radpilot.imaging.model_card import load_card

NAME = registry.DEFAULT_MODEL
ANCHORS = [  # MedMNIST v2 (Yang et al. 2023), PneumoniaMNIST test split: AUC, ACC
    ("ResNet-18 (28) (published)", 0.944, 0.854),
    ("ResNet-50 (224) (published)", 0.962, 0.884),
    ("Google AutoML Vision (published)", 0.991, 0.946),
]


def shared_npz() -> Path | None:
    root = Path(os.environ.get("RADPILOT_SHARED", Path.cwd().parent / "shared"))
    path = root / "data" / "images" / "pneumoniamnist" / "pneumoniamnist.npz"
    return path if path.is_file() else None


def radiographs(images: np.ndarray, prefix: str) -> list[Radiograph]:
    return [
        Radiograph(im.astype(np.float32) / 255.0, ImageMeta(f"{prefix}{i}", "npz"))
        for i, im in enumerate(images)
    ]


def write_csvs(out: Path, labels: np.ndarray, probs: np.ndarray) -> tuple[Path, Path]:
    out.mkdir(parents=True, exist_ok=True)
    gold, pred = out / "gold.csv", out / "pred.csv"
    with gold.open("w", newline="") as g, pred.open("w", newline="") as p:
        gw, pw = csv.writer(g), csv.writer(p)
        gw.writerow(["id", "Pneumonia"])
        pw.writerow(["id", "Pneumonia"])
        for i, (y, s) in enumerate(zip(labels, probs, strict=True)):
            gw.writerow([f"test-{i:03d}", int(y)])
            pw.writerow([f"test-{i:03d}", f"{float(s):.8f}"])
    return gold, pred


def accuracy_ci(
    y: np.ndarray, p: np.ndarray, thr: float, n: int, seed: int
) -> tuple[float, float, float]:
    rng = np.random.default_rng(seed)
    correct = (p >= thr) == (y == 1)
    pos, neg = np.flatnonzero(y == 1), np.flatnonzero(y == 0)
    draws = [
        np.concatenate([rng.choice(pos, pos.size), rng.choice(neg, neg.size)]) for _ in range(n)
    ]
    accs = np.array([correct[d].mean() for d in draws])
    lo, hi = np.percentile(accs, [2.5, 97.5])
    return float(correct.mean()), float(lo), float(hi)


def pixel_baseline(npz: Path, test_x: np.ndarray, test_y: np.ndarray) -> tuple[float, float]:
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score

    data = np.load(npz)
    x = data["train_images"].reshape(len(data["train_images"]), -1) / 255.0
    clf = LogisticRegression(C=0.1, max_iter=2000).fit(x, data["train_labels"].ravel())
    score = clf.predict_proba(test_x.reshape(len(test_x), -1) / 255.0)[:, 1]
    return float(roc_auc_score(test_y, score)), float(np.mean((score >= 0.5) == (test_y == 1)))


def card_path() -> Path:
    return Path(str(resources.files("radpilot.imaging") / "cards" / f"{NAME}.json"))


def update_card(training: dict[str, Any], figures: list[dict[str, Any]] | None) -> Path:
    """Write the training run's threshold, weights digest and Grad-CAM layers (and,
    once measured, the figures) into the model card."""
    path = card_path()
    card = json.loads(path.read_text())
    card["thresholds"] = {"Pneumonia": training["threshold"]}
    card["weights"]["sha256"] = training["weights_sha256"]
    card["weights"]["bytes"] = training["weights_bytes"]
    card["gradcam_layers"] = [f"members.{i}.features.block3" for i in range(len(training["seeds"]))]
    if figures is not None:
        card["measured"] = figures
    path.write_text(json.dumps(card, indent=2, ensure_ascii=False) + "\n")
    load_card.cache_clear()
    return path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, help="folder for gold.csv, pred.csv, metrics.json")
    ap.add_argument("--resamples", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--update-card", action="store_true")
    ap.add_argument("--training-report", type=Path)
    args = ap.parse_args()
    out = args.out or Path(tempfile.mkdtemp(prefix="radpilot-embedded-"))
    console = Console(width=120)

    data = np.load(samples.get("pneumoniamnist_test.npz"))
    images, labels = data["test_images"], data["test_labels"].reshape(-1)
    card = registry.card(NAME)
    if args.training_report:
        training = json.loads(args.training_report.read_text())
        threshold = float(training["threshold"])
    else:
        training, threshold = {}, card.thresholds["Pneumonia"]
    if args.update_card:
        if not training:
            raise SystemExit("--update-card needs --training-report")
        update_card(training, None)
    probs = registry.get(NAME).predict(radiographs(images, "test-"))[:, 0]
    gold, pred = write_csvs(out, labels, probs)

    try:
        from radpilot.evaluate.classification import evaluate

        result = evaluate(
            gold, pred, thresholds={"Pneumonia": threshold}, n_resamples=args.resamples,
            seed=args.seed,
        )  # fmt: skip
        m = result.metrics["findings"]["Pneumonia"]
        (out / "metrics.json").write_text(json.dumps(result.metrics, indent=2))
        how = f"radpilot.evaluate.classification.evaluate, {args.resamples} stratified resamples"
        auc, auc_ci = m["auroc"], m["auroc_ci"]
        sens, sens_ci = m["sensitivity"], m["sensitivity_ci"]
        spec, spec_ci = m["specificity"], m["specificity_ci"]
    except ImportError:
        from sklearn.metrics import roc_auc_score

        how = "scikit-learn (radpilot.evaluate not importable); no CIs for AUC/sens/spec"
        auc, auc_ci = float(roc_auc_score(labels, probs)), [None, None]
        pos = probs >= threshold
        sens, sens_ci = float(pos[labels == 1].mean()), [None, None]
        spec, spec_ci = float((~pos)[labels == 0].mean()), [None, None]
    acc, acc_lo, acc_hi = accuracy_ci(labels, probs, threshold, args.resamples, args.seed)

    note = f"threshold {threshold:.4f} chosen on the validation split; {how}"
    rows = [
        ("auc", auc, auc_ci), ("accuracy", acc, [acc_lo, acc_hi]),
        ("sensitivity", sens, sens_ci), ("specificity", spec, spec_ci),
    ]  # fmt: skip
    figures = [
        {"metric": k, "value": round(float(v), 6),
         "ci_low": None if ci[0] is None else round(float(ci[0]), 6),
         "ci_high": None if ci[1] is None else round(float(ci[1]), 6),
         "dataset": "PneumoniaMNIST (MedMNIST v2)", "split": "test", "n": len(labels),
         "note": note}
        for k, v, ci in rows
    ]  # fmt: skip

    table = Table(title=f"{NAME} on the PneumoniaMNIST test split (n={len(labels)})")
    for col in ("model", "AUC (95% CI)", "accuracy (95% CI)", "sensitivity", "specificity"):
        table.add_column(col)

    def fmt(v: float, ci: list[Any]) -> str:
        return f"{v:.3f}" if ci[0] is None else f"{v:.3f} ({ci[0]:.3f}–{ci[1]:.3f})"

    table.add_row(
        NAME, fmt(auc, auc_ci), fmt(acc, [acc_lo, acc_hi]), fmt(sens, sens_ci), fmt(spec, spec_ci)
    )
    npz = shared_npz()
    if npz is not None:
        b_auc, b_acc = pixel_baseline(npz, images, labels)
        table.add_row(
            "pixel logistic regression (same run)", f"{b_auc:.3f}", f"{b_acc:.3f}", "", ""
        )
    for label, a, c in ANCHORS:
        table.add_row(label, f"{a:.3f}", f"{c:.3f}", "", "")
    console.print(table)
    console.print(f"threshold {threshold:.4f} (validation split, max Youden J); {how}")
    console.print(f"gold/pred CSVs and metrics.json in {out}")
    if args.update_card:
        console.print(f"updated {update_card(training, figures)}")


if __name__ == "__main__":
    main()
