"""Speed of radpilot's image models on this CPU: images per second and seconds per
image, PyTorch vs ONNX Runtime (the same network exported in memory), from a
1024x1024 Radiograph (preprocessing included), plus Grad-CAM and anatomy
segmentation latency. The PyTorch runtime is the baseline; ONNX is reported as a
ratio to it, measured in the same run with the same thread count.

The torchxrayvision networks use RANDOM weights (speed does not depend on them;
their published weights cannot be downloaded here).

Run: .venv/bin/python benchmarks/image_models.py --threads 2
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from rich.console import Console
from rich.table import Table
from timing import paired, timed

from radpilot.imaging import preprocess, registry, segmentation, xrv_backend
from radpilot.imaging.model_api import ImageMeta, Radiograph
from radpilot.imaging.onnx_backend import OnnxImageModel
from radpilot.imaging.torch_model import TorchImageModel


def model_for(name: str) -> TorchImageModel:
    if name == registry.DEFAULT_MODEL:
        model = registry.get(name, runtime="torch")
        assert isinstance(model, TorchImageModel)
        return model
    card = registry.card(name)
    torch.manual_seed(0)
    build = {
        "xrv-densenet.v1": xrv_backend.build_densenet,
        "xrv-resnet.v1": xrv_backend.build_resnet,
    }
    return TorchImageModel(card, build[card.backend](card).eval())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=8, help="images per predict() call")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--skip-segmentation", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    rng = np.random.default_rng(0)
    images = [
        Radiograph(rng.random((1024, 1024), dtype=np.float32), ImageMeta(f"{i}.png", "png"))
        for i in range(args.batch)
    ]
    table = Table(title=f"image models, {args.threads} thread(s), batch {args.batch}, 1024² input")
    for col in (
        "model", "input", "torch s/img", "torch img/s", "onnx s/img", "onnx img/s",
        "onnx speed-up", "prep s/img", "net only: torch / onnx s/img (speed-up)",
        "onnx export s", "Grad-CAM s", "logit rel. err",
    ):  # fmt: skip
        table.add_column(col, justify="right" if col != "model" else "left")
    names = ["pneumoniamnist-v1", "densenet121-res224-all", "resnet50-res512-all"]
    for name in names:
        tm = model_for(name)
        t0 = time.perf_counter()
        om = OnnxImageModel.from_torch(tm, threads=args.threads)
        t_export = time.perf_counter() - t0
        t_torch, t_onnx, speedup = paired(
            lambda m=tm: m.predict(images), lambda m=om: m.predict(images), args.repeats
        )
        t_torch, t_onnx = t_torch / len(images), t_onnx / len(images)
        x_all = preprocess.to_batch(images, tm.card.preprocessing)
        prep = tm.card.preprocessing
        t_prep = timed(lambda p=prep: preprocess.to_batch(images, p), args.repeats)
        n_torch, n_onnx, n_speedup = paired(
            lambda m=tm, x=x_all: m.predict_tensor(x),
            lambda m=om, x=x_all: m.predict_array(x.numpy()),
            args.repeats,
        )
        label = tm.labels[0]
        t_cam = timed(lambda m=tm, lb=label: m.heatmap(images[0], lb), args.repeats)
        # Random networks saturate the sigmoid, so agreement is checked on logits.
        x = preprocess.to_batch(images[:2], tm.card.preprocessing)
        with torch.inference_mode():
            ref = tm.logits(x).numpy()
        (got,) = om.session.run(["logits"], {"image": x.numpy()})
        diff = float(np.abs(got - ref).max() / max(1e-12, float(np.abs(ref).max())))
        size = tm.card.preprocessing.input_size
        table.add_row(
            name, f"{size} px", f"{t_torch:.4f}", f"{1 / t_torch:.1f}", f"{t_onnx:.4f}",
            f"{1 / t_onnx:.1f}", f"{speedup:.2f}x", f"{t_prep / len(images):.4f}",
            f"{n_torch / len(images):.4f} / {n_onnx / len(images):.4f} ({n_speedup:.2f}x)",
            f"{t_export:.1f}", f"{t_cam:.3f}", f"{diff:.1e}",
        )  # fmt: skip
    console = Console(width=200)
    console.print(table)
    if not args.skip_segmentation:
        card = registry.card("pspnet-chestx-det")
        torch.manual_seed(0)
        seg = segmentation.AnatomySegmenter(card, segmentation.build_network(card))
        t_seg = timed(lambda: seg.cardiothoracic_ratio(images[0]), max(1, args.repeats - 2))
        console.print(f"pspnet-chestx-det (512 px, torch): {t_seg:.2f} s per image for masks + CTR")


if __name__ == "__main__":
    main()
