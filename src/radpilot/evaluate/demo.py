"""The evaluation step of ``radpilot demo``: radpilot's report reader measured against the
OpenI development-split gold, with bootstrap intervals.

The gold is built exactly as ``../shared/data/openi/openi_gold.py`` builds it (that script is
imported by path and its ``load`` and ``score`` are used). Only DEV-split reports are read;
held-out labels are never touched. Writes under ``out/evaluate/report_reader/``: the gold and
predicted label CSVs (CheXpert labeler format), ``metrics.json`` and ``report.html``.
"""

from __future__ import annotations

import csv
import logging
import time
from pathlib import Path
from types import ModuleType
from typing import Any

from rich.console import Console

from radpilot.devdata import OPENI_GOLD_SCRIPT, load_script, shared_dir

log = logging.getLogger(__name__)

DEMO_RESAMPLES = 1000


def _write_label_csv(
    path: Path, texts: list[str], rows: list[dict[str, float | None]], names: tuple[str, ...]
) -> None:
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["Reports", *names])
        for text, labels in zip(texts, rows, strict=True):
            w.writerow(
                [text, *("" if labels.get(n) is None else f"{labels[n]:.1f}" for n in names)]
            )


def label_dev_split(
    gold_module: ModuleType,
) -> tuple[list[str], list[dict[str, Any]], list[dict[str, Any]], list[Any]]:
    """(texts, CheXpert labels, ChestX-ray14 labels, gold rows) of the DEV split, in
    openi_gold.py's order."""
    from radpilot.reports import read
    from radpilot.reports.labels import chestxray14, chexpert

    dev = [r for r in gold_module.load() if r["split"] == "dev"]
    texts = [gold_module.report_text(r) for r in dev]
    reports = [read(t) for t in texts]
    return texts, [chexpert(r) for r in reports], [chestxray14(r) for r in reports], dev


def run(out: Path, console: Console) -> None:
    _report_reader_step(out, console)
    _image_model_step(out, console)


def _report_reader_step(out: Path, console: Console) -> None:
    from radpilot.evaluate.console import labeler_table
    from radpilot.evaluate.html import write_outputs
    from radpilot.evaluate.labeler import LabelerUncertain, evaluate_labeler
    from radpilot.evaluate.pages import labeler_page
    from radpilot.reports.labels import CHEXPERT_LABELS

    console.rule("[bold]Evaluate: the report reader against the OpenI dev gold")
    script = shared_dir() / OPENI_GOLD_SCRIPT
    if not script.is_file():
        console.print(
            f"[yellow]No development data at {script.parent} (set RADPILOT_SHARED):[/] "
            "skipping the report-reader evaluation."
        )
        return
    folder = out / "evaluate" / "report_reader"
    folder.mkdir(parents=True, exist_ok=True)
    module = load_script(script, "radpilot_openi_gold_eval")
    started = time.perf_counter()
    texts, labels, cxr14, dev = label_dev_split(module)
    seconds = time.perf_counter() - started
    gold_rows = [{c: (1.0 if c in r["positive"] else None) for c in CHEXPERT_LABELS} for r in dev]
    _write_label_csv(folder / "gold.csv", texts, gold_rows, CHEXPERT_LABELS)
    _write_label_csv(folder / "reader.csv", texts, labels, CHEXPERT_LABELS)

    # The MeSH gold codes positives only, and openi_gold.py counts an uncertain label as a
    # positive call: score the same way so the figures agree with the script's own.
    result = evaluate_labeler(
        folder / "gold.csv",
        folder / "reader.csv",
        uncertain=LabelerUncertain.PRESENT,
        n_resamples=DEMO_RESAMPLES,
        seed=0,
    )
    reference = module.score(
        {r["id"]: set(r["positive"]) for r in dev},
        {r["id"]: lab for r, lab in zip(dev, labels, strict=True)},
    )
    metrics = result.metrics
    metrics["source"] = {
        "gold": "OpenI DEV split, MeSH majors mapped by openi_gold.py",
        "n_reports": len(dev),
        "reader_seconds": round(seconds, 2),
        "openi_gold_py_macro_f1": reference["macro_f1"],
        "openi_gold_py_micro_f1": reference["micro_f1"],
    }
    page = labeler_page(
        metrics,
        title="radpilot report reader vs OpenI dev gold (MeSH)",
        notes=[
            f"Gold: the human MeSH coding of {len(dev):,} DEV-split reports mapped by "
            "openi_gold.py (positives only). Cross-check: openi_gold.py's own scorer gives "
            f"macro-F1 {reference['macro_f1']:.4f}, micro-F1 {reference['micro_f1']:.4f} on "
            "the same labels."
        ],
    )
    write_outputs(folder, metrics, page)
    console.print(labeler_table(metrics, title=f"Report reader, OpenI dev ({len(dev):,} reports)"))
    _negbio_step(out, console, dev, cxr14)
    present = metrics["macro"]["present"]
    console.print(
        f"macro-F1 (present) {present['f1']:.3f} "
        f"[{present['f1_ci'][0]:.3f}–{present['f1_ci'][1]:.3f}]; openi_gold.py says "
        f"{reference['macro_f1']:.3f}. Read {len(dev):,} reports in {seconds:.1f} s. "
        f"Outputs: {folder}/",
        highlight=False,
    )


NEGBIO_GOLD = Path("data") / "openi" / "negbio_cxr14_gold_dev.csv"


def _negbio_step(out: Path, console: Console, dev: list[Any], cxr14: list[dict[str, Any]]) -> None:
    """The reader's ChestX-ray14 labels against the NegBio authors' manual OpenI gold,
    through the classification harness (hard labels; synonyms map Effusion, normal, …)."""
    from radpilot.evaluate.classification import evaluate
    from radpilot.evaluate.console import classification_table
    from radpilot.reports.labels import CXR14_LABELS

    gold = shared_dir() / NEGBIO_GOLD
    if not gold.is_file():
        console.print(f"[dim]No NegBio gold at {gold}: skipping the ChestX-ray14 check.[/]")
        return
    folder = out / "evaluate" / "report_reader_cxr14"
    folder.mkdir(parents=True, exist_ok=True)
    # A report labeler's output is a hard call: uncertain (-1) counts as a positive call,
    # not mentioned (blank) as negative.
    pred: dict[str, list[Any]] = {"filename": [f"CXR{r['id']}" for r in dev]}
    for name in CXR14_LABELS:
        pred[name] = [1 if lab.get(name) in (1.0, -1.0) else 0 for lab in cxr14]
    with (folder / "reader_cxr14.csv").open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(list(pred))
        w.writerows(zip(*pred.values(), strict=True))
    result = evaluate(
        gold, folder / "reader_cxr14.csv", id_column="filename", n_resamples=DEMO_RESAMPLES
    )
    title = "Report reader (ChestX-ray14 labels) vs NegBio manual OpenI gold, dev split"
    result.write(folder, title=title)
    from radpilot.evaluate.console import matching_lines

    for line in matching_lines(result.metrics["matching"]):
        console.print(line)
    console.print(classification_table(result.metrics, title="Reader vs NegBio gold (hard labels)"))


def _image_model_step(out: Path, console: Console) -> None:
    """The embedded image model on the PneumoniaMNIST test split shipped with radpilot,
    at the operating point in its model card (chosen on the validation split)."""
    import numpy as np

    from radpilot import samples
    from radpilot.evaluate.classification import evaluate
    from radpilot.evaluate.console import classification_table
    from radpilot.imaging import registry
    from radpilot.imaging.model_api import ImageMeta, Radiograph

    name = registry.DEFAULT_MODEL
    console.rule(f"[bold]Evaluate: the embedded image model {name} on its test split")
    model = registry.get(name)
    with np.load(samples.get("pneumoniamnist_test.npz")) as data:
        images, labels = data["test_images"], data["test_labels"].reshape(-1)
    ids = [f"test-{i:03d}" for i in range(len(images))]
    started = time.perf_counter()
    probs = model.predict(
        [
            Radiograph(im.astype(np.float32) / 255.0, ImageMeta(i, "npz"))
            for im, i in zip(images, ids, strict=True)
        ]
    )[:, list(model.labels).index("Pneumonia")]
    seconds = time.perf_counter() - started
    result = evaluate(
        {"id": ids, "Pneumonia": [int(y) for y in labels]},
        {"id": ids, "Pneumonia": [float(p) for p in probs]},
        thresholds={"Pneumonia": model.thresholds["Pneumonia"]},
        n_resamples=DEMO_RESAMPLES,
        seed=0,
    )
    folder = out / "evaluate" / name
    result.write(folder, title=f"{name} on the PneumoniaMNIST test split (demonstration model)")
    console.print(classification_table(result.metrics, title=f"{name}, {len(ids)} test images"))
    console.print(
        f"Predicted {len(ids)} images in {seconds:.1f} s. A demonstration model for pipeline "
        f"testing (pediatric, 28x28), not for clinical use. Outputs: {folder}/",
        highlight=False,
    )
