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
import statistics
import time
from collections.abc import Callable

import numpy as np
import torch
from rich.console import Console
from rich.table import Table

from radpilot.imaging import registry, segmentation, xrv_backend
from radpilot.imaging.model_api import ImageMeta, Radiograph
from radpilot.imaging.onnx_backend import OnnxImageModel
from radpilot.imaging.torch_model import TorchImageModel


def timed(fn: Callable[[], object], repeats: int) -> float:
    """Median wall time of ``repeats`` calls after one warm-up call."""
    fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def model_for(name: str) -> TorchImageModel:
    if name == registry.DEFAULT_MODEL:
        model = registry.get(name, runtime="torch")
        assert isinstance(model, TorchImageModel)
        return model
    card = registry.card(name)
    torch.manual_seed(0)
    return TorchImageModel(card, xrv_backend.build_network(card).eval())


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
        "onnx / torch speed", "Grad-CAM s", "max |Δp|",
    ):  # fmt: skip
        table.add_column(col, justify="right" if col != "model" else "left")
    names = ["pneumoniamnist-v1", "densenet121-res224-all", "resnet50-res512-all"]
    for name in names:
        tm = model_for(name)
        om = OnnxImageModel.from_torch(tm, threads=args.threads)
        t_torch = timed(lambda m=tm: m.predict(images), args.repeats) / len(images)
        t_onnx = timed(lambda m=om: m.predict(images), args.repeats) / len(images)
        label = tm.labels[0]
        t_cam = timed(lambda m=tm, lb=label: m.heatmap(images[0], lb), args.repeats)
        diff = float(np.abs(tm.predict(images[:2]) - om.predict(images[:2])).max())
        size = tm.card.preprocessing.input_size
        table.add_row(
            name, f"{size} px", f"{t_torch:.4f}", f"{1 / t_torch:.1f}", f"{t_onnx:.4f}",
            f"{1 / t_onnx:.1f}", f"{t_torch / t_onnx:.2f}x", f"{t_cam:.3f}", f"{diff:.1e}",
        )  # fmt: skip
    console = Console(width=160)
    console.print(table)
    if not args.skip_segmentation:
        card = registry.card("pspnet-chestx-det")
        torch.manual_seed(0)
        seg = segmentation.AnatomySegmenter(card, segmentation.build_network(card))
        t_seg = timed(lambda: seg.cardiothoracic_ratio(images[0]), max(1, args.repeats - 2))
        console.print(f"pspnet-chestx-det (512 px, torch): {t_seg:.2f} s per image for masks + CTR")


if __name__ == "__main__":
    main()
