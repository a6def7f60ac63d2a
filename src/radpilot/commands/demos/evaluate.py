"""The evaluate step of `radpilot demo`: each model measured through the commands a user
would type.

1. The report reader on the OpenI development split: the gold is built here exactly as
   ``../shared/data/openi/openi_gold.py`` builds it (only DEV-split reports; held-out labels
   are never read), ``radpilot label`` labels the same reports, ``radpilot evaluate
   labeler`` scores them, and openi_gold.py's own scorer cross-checks the figure.
2. The reader's ChestX-ray14 labels against the NegBio authors' manual OpenI gold, through
   ``radpilot evaluate classification``.
3. The embedded image model on the PneumoniaMNIST test split shipped with radpilot: the
   predictions are computed here by the image registry and written to a CSV, then scored
   by ``radpilot evaluate classification`` at the model card's operating point.

Without the development data the first two are skipped with a note.
"""

from __future__ import annotations

import csv
import json
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

from radpilot.commands.demo import Command, Context, Note
from radpilot.devdata import OPENI_GOLD_SCRIPT, load_script

RESAMPLES = "1000"
NEGBIO_GOLD = Path("data") / "openi" / "negbio_cxr14_gold_dev.csv"


def run(ctx: Context) -> Iterator[Command | Note]:
    yield from _report_reader(ctx)
    yield from _image_model(ctx)


def _write_csv(path: Path, header: Sequence[str], rows: Iterator[Sequence[Any]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)


def _report_reader(ctx: Context) -> Iterator[Command | Note]:
    from radpilot.reports.labels import CHEXPERT_LABELS

    script = ctx.shared / OPENI_GOLD_SCRIPT if ctx.shared is not None else None
    if script is None or not script.is_file():
        yield Note(
            "[yellow]No development data (../shared, or set RADPILOT_SHARED):[/] skipping the "
            "report-reader evaluation."
        )
        return
    module = load_script(script, "radpilot_openi_gold_demo")
    dev = [r for r in module.load() if r["split"] == "dev"]
    folder = ctx.folder("evaluate/report_reader")
    texts, gold, reader = folder / "dev_reports.csv", folder / "gold.csv", folder / "reader.csv"
    module.write_input_csv(dev, texts)  # headerless, one report per row, in openi_gold order
    _write_csv(
        gold,
        ["Reports", *CHEXPERT_LABELS],
        (
            [module.report_text(r), *("1.0" if c in r["positive"] else "" for c in CHEXPERT_LABELS)]
            for r in dev
        ),
    )
    yield Note(
        f"Gold: the human MeSH coding of {len(dev):,} OpenI DEV-split reports, mapped by "
        "openi_gold.py (positives only), in gold.csv; the same reports in dev_reports.csv."
    )
    yield Command(("label", str(texts), "-o", str(reader)))
    # The MeSH gold codes positives only, and openi_gold.py counts an uncertain label as a
    # positive call: score the same way so the figures agree with the script's own.
    argv = ["evaluate", "labeler", "--gold", str(gold), "--pred", str(reader)]
    argv += ["--uncertain", "present", "--bootstrap", RESAMPLES, "--out", str(folder)]
    yield Command(tuple(argv))
    yield _cross_check(module, dev, folder)
    yield from _negbio(ctx, dev, texts)


def _cross_check(module: ModuleType, dev: list[dict[str, Any]], folder: Path) -> Note:
    """openi_gold.py's own scorer on the label file the command scored."""
    ids = [r["id"] for r in dev]
    reference = module.score(
        {r["id"]: set(r["positive"]) for r in dev},
        module.read_chexpert_csv(folder / "reader.csv", ids),
    )
    present = json.loads((folder / "metrics.json").read_text(encoding="utf-8"))["macro"]["present"]
    lo, hi = present["f1_ci"]
    return Note(
        f"macro-F1 (present) {present['f1']:.3f} [{lo:.3f}–{hi:.3f}]; openi_gold.py's own "
        f"scorer on the same labels says {reference['macro_f1']:.3f}."
    )


def _negbio(ctx: Context, dev: list[dict[str, Any]], texts: Path) -> Iterator[Command | Note]:
    assert ctx.shared is not None
    gold = ctx.shared / NEGBIO_GOLD
    if not gold.is_file():
        yield Note(f"[dim]No NegBio gold at {gold}: skipping the ChestX-ray14 check.[/]")
        return
    folder = ctx.folder("evaluate/report_reader_cxr14")
    labels = folder / "reader_cxr14_labels.csv"
    yield Command(("label", str(texts), "--labels", "chestxray14", "-o", str(labels), "--quiet"))
    pred = folder / "reader_cxr14.csv"
    _hard_calls(labels, pred, [f"CXR{r['id']}" for r in dev])
    yield Note(
        "The classification harness wants a call per finding: uncertain (-1) counts as a "
        f"positive call, not mentioned (blank) as negative, in {pred.name}."
    )
    argv = ["evaluate", "classification", "--gold", str(gold), "--pred", str(pred)]
    argv += ["--id-column", "filename", "--bootstrap", RESAMPLES, "--out", str(folder)]
    yield Command(tuple(argv))


def _hard_calls(labels: Path, target: Path, ids: list[str]) -> None:
    """A labeler's CSV (``Reports`` + 1 / 0 / -1 / blank) -> ids and 0/1 calls."""
    with labels.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    names = [c for c in rows[0] if c != "Reports"]
    _write_csv(
        target,
        ["filename", *names],
        (
            [rid, *(int(row[n] in ("1.0", "-1.0")) for n in names)]
            for rid, row in zip(ids, rows, strict=True)
        ),
    )


def pneumoniamnist_scores() -> tuple[list[str], list[int], list[float], float]:
    """(ids, gold labels, the embedded model's Pneumonia probabilities, its operating
    threshold) on the PneumoniaMNIST test split shipped in ``radpilot.samples``; the
    samples ``pneumoniamnist_test_gold.csv`` / ``pneumoniamnist-v1_test_scores.csv`` are
    these (a test checks that they still are)."""
    import numpy as np

    from radpilot import samples
    from radpilot.imaging import registry
    from radpilot.imaging.model_api import ImageMeta, Radiograph

    model = registry.get(registry.DEFAULT_MODEL)
    with np.load(samples.get("pneumoniamnist_test.npz")) as data:
        images, labels = data["test_images"], data["test_labels"].reshape(-1)
    ids = [f"test-{i:03d}" for i in range(len(images))]
    probs = model.predict(
        [
            Radiograph(im.astype(np.float32) / 255.0, ImageMeta(i, "npz"))
            for im, i in zip(images, ids, strict=True)
        ]
    )[:, list(model.labels).index("Pneumonia")]
    threshold = float(model.thresholds["Pneumonia"])
    return ids, [int(y) for y in labels], [float(p) for p in probs], threshold


def _image_model(ctx: Context) -> Iterator[Command | Note]:
    from radpilot.imaging import registry

    name = registry.DEFAULT_MODEL
    started = time.perf_counter()
    ids, labels, probs, threshold = pneumoniamnist_scores()
    seconds = time.perf_counter() - started
    folder = ctx.folder(f"evaluate/{name}")
    gold, pred = folder / "gold.csv", folder / "pred.csv"
    _write_csv(gold, ["id", "Pneumonia"], ([i, int(y)] for i, y in zip(ids, labels, strict=True)))
    _write_csv(
        pred, ["id", "Pneumonia"], ([i, repr(float(p))] for i, p in zip(ids, probs, strict=True))
    )
    yield Note(
        f"{name} predicted the {len(ids)} PneumoniaMNIST test images in {seconds:.1f} s "
        f"({pred}); a demonstration model for pipeline testing (pediatric, 28x28), not for "
        "clinical use. Its operating threshold comes from its model card."
    )
    argv = ["evaluate", "classification", "--gold", str(gold), "--pred", str(pred)]
    argv += ["--thresholds", repr(threshold)]
    argv += ["--bootstrap", RESAMPLES, "--out", str(folder)]
    yield Command(tuple(argv))
