"""Report reader accuracy on the OpenI development split, next to a naive keyword baseline.

radpilot's labels are scored under both uncertainty policies of ``radpilot.reports.labels``:
``radpilot`` (the default: a diagnosis offered only as a possible explanation of a stated
observation is no label of its own) and ``chexpert`` (every hedge is -1.0, the CheXpert
labeler's convention).

Two gold standards, both restricted to the dev ids in ``../shared/data/openi/dev_ids.txt``:

* ``openi_gold.py`` (MeSH-major codes mapped to CheXpert names): the reports it keeps
  (FINDINGS or IMPRESSION present, not coded "No Indexing"/"Technical Quality"), text =
  "FINDINGS: ... IMPRESSION: ...", 13 classes scored, macro-F1 over classes with
  support >= 5, uncertain (-1) counted as positive -- exactly ``openi_gold.py score``.
* NegBio's manual OpenI gold (``negbio_cxr14_gold_dev.csv``, ChestX-ray14 names): the same
  text for every listed ``CXR<id>``; per class over the 14 ChestX-ray14 labels, a report is
  predicted positive when ``chestxray14()`` gives 1.0 or -1.0; macro-F1 over the classes
  with gold support >= 5. "No Finding" is shown (against the ``normal`` column) but not
  averaged.

Usage: ``python benchmarks/reader_accuracy.py [--shared DIR] [--csv OUT.csv] [--speed]``.
``--speed`` also times ``read()`` + ``chexpert()`` under each policy on all 3,955 reports
(best of 3, process CPU time), against ``read()`` alone in the same run. The reports
come from the torchxrayvision wheel (``radpilot.reports.openi.iter_reports``).
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
import os
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

from radpilot.reports import read
from radpilot.reports.labels import (
    CHEXPERT_LABELS,
    CXR14_LABELS,
    UncertaintyPolicy,
    chestxray14,
    chexpert,
    uncertainty_policy,
)
from radpilot.reports.openi import OpenIReport, iter_reports

Labeler = Callable[[str], tuple[dict[str, float | None], dict[str, float | None]]]


def shared_dir(arg: str | None) -> Path:
    path = Path(arg or os.environ.get("RADPILOT_SHARED") or Path.cwd().parent / "shared")
    if not (path / "data" / "openi" / "openi_gold.py").is_file():
        sys.exit(
            f"{path}: no data/openi/openi_gold.py here; pass --shared DIR (the ../shared folder)"
        )
    return path


def load_gold_module(shared: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "openi_gold", shared / "data" / "openi" / "openi_gold.py"
    )
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def radpilot_labeler(policy: UncertaintyPolicy) -> Labeler:
    def label(text: str) -> tuple[dict[str, float | None], dict[str, float | None]]:
        report = read(text)
        return chexpert(report, policy=policy), chestxray14(report, policy=policy)

    return label


# The naive baseline: keywords per class, negated by "no"/"not"/"without"/"negative" anywhere
# earlier in the sentence.
_NEG = re.compile(r"\b(?:no|not|without|negative)\b")
_NAIVE = {
    "Enlarged Cardiomediastinum": ["widened mediastinum", "mediastinal widening"],
    "Cardiomegaly": ["cardiomegaly", "enlarged heart", "heart is enlarged"],
    "Lung Lesion": ["nodule", "mass", "lesion"],
    "Lung Opacity": ["opacity", "opacities", "infiltrate", "airspace disease", "density"],
    "Edema": ["edema", "congestion"],
    "Consolidation": ["consolidation"],
    "Pneumonia": ["pneumonia"],
    "Atelectasis": ["atelectasis", "atelectatic"],
    "Pneumothorax": ["pneumothorax"],
    "Pleural Effusion": ["effusion"],
    "Pleural Other": ["pleural thickening"],
    "Fracture": ["fracture"],
    "Support Devices": ["catheter", "tube", "pacemaker", "line"],
}
_NAIVE_CXR14 = {
    "Atelectasis": "Atelectasis",
    "Cardiomegaly": "Cardiomegaly",
    "Effusion": "Pleural Effusion",
    "Consolidation": "Consolidation",
    "Edema": "Edema",
    "Pneumonia": "Pneumonia",
    "Pneumothorax": "Pneumothorax",
    "Pleural_Thickening": "Pleural Other",
}
_NAIVE_EXTRA = {
    "Infiltration": ["infiltrate"],
    "Mass": ["mass"],
    "Nodule": ["nodule"],
    "Emphysema": ["emphysema"],
    "Fibrosis": ["fibrosis"],
    "Hernia": ["hernia"],
}


def _naive_hit(text: str, words: list[str]) -> bool:
    for sentence in re.split(r"[.\n]", text.lower()):
        for w in words:
            i = sentence.find(w)
            if i >= 0 and not _NEG.search(sentence[:i]):
                return True
    return False


def naive_labeler(text: str) -> tuple[dict[str, float | None], dict[str, float | None]]:
    cx: dict[str, float | None] = dict.fromkeys(CHEXPERT_LABELS)
    for label, words in _NAIVE.items():
        if _naive_hit(text, words):
            cx[label] = 1.0
    if not any(cx[k] for k in CHEXPERT_LABELS[1:-1]):
        cx["No Finding"] = 1.0
    c14: dict[str, float | None] = dict.fromkeys(CXR14_LABELS)
    for label, src in _NAIVE_CXR14.items():
        c14[label] = cx[src]
    for label, words in _NAIVE_EXTRA.items():
        if _naive_hit(text, words):
            c14[label] = 1.0
    if not any(c14[k] for k in CXR14_LABELS[:-1]):
        c14["No Finding"] = 1.0
    return cx, c14


def prf(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return p, r, f


def negbio_score(
    gold: dict[str, dict[str, bool]], pred: dict[str, dict[str, float | None]]
) -> dict[str, dict[str, float]]:
    res: dict[str, dict[str, float]] = {}
    for label in CXR14_LABELS:
        tp = fp = fn = 0
        for rid, g in gold.items():
            p = pred[rid].get(label) in (1.0, -1.0)
            t = g[label]
            tp += p and t
            fp += p and not t
            fn += t and not p
        prec, rec, f1 = prf(tp, fp, fn)
        res[label] = {"support": tp + fn, "precision": prec, "recall": rec, "f1": f1}
    scored = [c for c in CXR14_LABELS if c != "No Finding" and res[c]["support"] >= 5]
    res["macro_f1"] = {"value": sum(res[c]["f1"] for c in scored) / len(scored)}
    return res


def load_negbio(shared: Path) -> dict[str, dict[str, bool]]:
    gold: dict[str, dict[str, bool]] = {}
    with open(shared / "data" / "openi" / "negbio_cxr14_gold_dev.csv", newline="") as fh:
        for row in csv.DictReader(fh):
            rid = row["filename"].removeprefix("CXR")
            labels = {c: row[c] == "1" for c in CXR14_LABELS if c != "No Finding"}
            labels["No Finding"] = row["normal"] == "1"
            gold[rid] = labels
    return gold


Row = tuple[str, int, float, float, float, int, int, float, float, float, int, float]


def table(title: str, rows: list[Row]) -> None:
    print(f"\n{title}")
    print(f"{'':26s}{'radpilot policy (default)':^31s}|{'chexpert policy':^23s}| naive")
    print(
        f"{'class':20s} {'sup':>4s}  {'P':>5s} {'R':>5s} {'F1':>5s} {'FP':>4s} {'FP=-1':>5s}"
        f" | {'P':>5s} {'R':>5s} {'F1':>5s} {'FP':>4s} | {'F1':>5s}"
    )
    for name, sup, p, r, f, fp, fp_u, cp, cr, cf, cfp, nf in rows:
        print(
            f"{name:20s} {sup:4d}  {p:5.3f} {r:5.3f} {f:5.3f} {fp:4d} {fp_u:5d}"
            f" | {cp:5.3f} {cr:5.3f} {cf:5.3f} {cfp:4d} | {nf:5.3f}"
        )


def false_positives(gold: dict[str, bool], pred: dict[str, float | None]) -> tuple[int, int]:
    """False positives, and how many of them are uncertain (-1.0) predictions."""
    fp = [rid for rid, t in gold.items() if not t and pred.get(rid) in (1.0, -1.0)]
    return len(fp), sum(pred.get(rid) == -1.0 for rid in fp)


def rows_for(
    classes: list[str] | tuple[str, ...],
    ours: dict,  # type: ignore[type-arg]
    strict: dict,  # type: ignore[type-arg]
    naive: dict,  # type: ignore[type-arg]
    gold: dict[str, dict[str, bool]],
    pred: dict[str, dict[str, float | None]],
    strict_pred: dict[str, dict[str, float | None]],
) -> list[Row]:
    out: list[Row] = []
    for c in classes:
        truth = {k: v[c] for k, v in gold.items()}
        fp, fp_u = false_positives(truth, {k: pred[k][c] for k in gold})
        sfp, _ = false_positives(truth, {k: strict_pred[k][c] for k in gold})
        o, s, n = ours[c], strict[c], naive[c]
        out.append(
            (c, int(o["support"]), o["precision"], o["recall"], o["f1"], fp, fp_u,
             s["precision"], s["recall"], s["f1"], sfp, n["f1"])
        )  # fmt: skip
    return out


def speed_table(repeats: int = 3) -> None:
    texts = [r.text for r in iter_reports()]
    chexpert(read(texts[0]))  # compile the rules outside the timing

    def cpu_ms(fn: Callable[[str], object]) -> float:
        best = float("inf")
        for _ in range(repeats):
            t0 = time.process_time()
            for t in texts:
                fn(t)
            best = min(best, time.process_time() - t0)
        return best / len(texts) * 1e3

    rows = [
        ("read() + chexpert(policy='chexpert')", cpu_ms(lambda t: chexpert(read(t), policy="chexpert"))),
        ("read() + chexpert() [radpilot policy]", cpu_ms(lambda t: chexpert(read(t)))),
        ("read() only", cpu_ms(read)),
    ]  # fmt: skip
    base = rows[0][1]
    print(f"speed: {len(texts)} OpenI reports, best of {repeats}, load {os.getloadavg()[0]:.1f}")
    print(f"{'what':40s} {'CPU ms/report':>13s} {'/ chexpert policy':>18s}")
    for name, ms in rows:
        print(f"{name:40s} {ms:13.3f} {ms / base:17.2f}x")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--shared", help="the ../shared folder (default: ../shared or $RADPILOT_SHARED)"
    )
    ap.add_argument(
        "--csv", help="also write radpilot's CheXpert-style labels for openi_gold.py score"
    )
    ap.add_argument("--speed", action="store_true", help="also time read() + chexpert() per policy")
    args = ap.parse_args()
    if args.speed:
        speed_table()
    shared = shared_dir(args.shared)
    og = load_gold_module(shared)
    dev = set((shared / "data" / "openi" / "dev_ids.txt").read_text().split())
    negbio = load_negbio(shared)

    reports: list[OpenIReport] = [r for r in iter_reports() if r.id in dev]
    kept = [
        r
        for r in reports
        if (r.findings or r.impression)
        and not any(x.startswith(("No Indexing", "Technical Quality")) for x in r.mesh_major)
    ]
    gold = {}
    for r in kept:
        pos: set[str] = set()
        for x in r.mesh_major:
            pos |= og.mesh_to_classes(x)
        if all(x == "normal" for x in r.mesh_major):
            pos = {"No Finding"}
        gold[r.id] = pos

    results: dict[str, tuple[dict, dict, float]] = {}  # type: ignore[type-arg]
    preds: dict[str, tuple[dict[str, dict[str, float | None]], ...]] = {}
    labelers: tuple[tuple[str, Labeler], ...] = (
        ("radpilot", radpilot_labeler(uncertainty_policy("radpilot"))),
        ("chexpert", radpilot_labeler(uncertainty_policy("chexpert"))),
        ("naive", naive_labeler),
    )
    for name, labeler in labelers:
        t0 = time.perf_counter()
        cx_pred: dict[str, dict[str, float | None]] = {}
        c14_pred: dict[str, dict[str, float | None]] = {}
        for r in reports:
            cx_pred[r.id], c14_pred[r.id] = labeler(r.text)
        elapsed = time.perf_counter() - t0
        openi = og.score(gold, cx_pred)
        nb = negbio_score({k: v for k, v in negbio.items() if k in c14_pred}, c14_pred)
        results[name] = (openi, nb, elapsed)
        preds[name] = (cx_pred, c14_pred)
        if name == "radpilot" and args.csv:
            with open(args.csv, "w", newline="") as fh:
                w = csv.writer(fh)
                w.writerow(["Reports", *CHEXPERT_LABELS])
                for r in kept:
                    vals = cx_pred[r.id]
                    w.writerow(
                        [r.text, *("" if vals[c] is None else vals[c] for c in CHEXPERT_LABELS)]
                    )

    rp, cp, nv = results["radpilot"], results["chexpert"], results["naive"]
    cx_gold = {k: {c: c in v for c in og.CLASSES} for k, v in gold.items()}
    table(
        f"OpenI dev, openi_gold.py (MeSH -> CheXpert), {len(kept)} reports",
        rows_for(
            og.CLASSES, rp[0], cp[0], nv[0], cx_gold, preds["radpilot"][0], preds["chexpert"][0]
        ),
    )
    print(
        f"macro-F1 (support >= 5): radpilot policy {rp[0]['macro_f1']:.4f}   "
        f"chexpert policy {cp[0]['macro_f1']:.4f}   naive {nv[0]['macro_f1']:.4f}"
    )
    nb_gold = {k: v for k, v in negbio.items() if k in preds["radpilot"][1]}
    table(
        f"OpenI dev, NegBio manual gold (ChestX-ray14 names), {len(nb_gold)} reports",
        rows_for(
            CXR14_LABELS, rp[1], cp[1], nv[1], nb_gold, preds["radpilot"][1], preds["chexpert"][1]
        ),
    )
    print(
        f"macro-F1 (14 classes, support >= 5, No Finding excluded): "
        f"radpilot policy {rp[1]['macro_f1']['value']:.4f}   "
        f"chexpert policy {cp[1]['macro_f1']['value']:.4f}   naive {nv[1]['macro_f1']['value']:.4f}"
    )
    print(
        "FP=-1: false positives that are uncertain (-1.0) labels, which both scorers count as positive."
    )
    print(
        f"\nlabeling time for {len(reports)} reports (read + both label sets): "
        f"radpilot policy {rp[2]:.2f} s, chexpert policy {cp[2]:.2f} s, naive {nv[2]:.2f} s"
    )


if __name__ == "__main__":
    main()
