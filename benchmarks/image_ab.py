"""Image speed A/B across two checkouts in the same run (issue 9: "speeds within noise").

Each measurement runs in its own process with one checkout's ``src`` on PYTHONPATH,
alternating base / head round by round so the load of a shared machine hits both alike:

* ``read``: ``read_image`` on the SIIM radiograph in each transfer syntax (the files
  ``imaging_io.py`` makes), ms per image. Head reads as ``analyze`` does (compressed
  pixels in the batch's decoder process, started before the timing); a checkout without
  a decoder process decodes in-process.
* ``models``: PyTorch and ONNX Runtime ``predict`` (batch of 8 random 1024² images,
  preprocessing included) and Grad-CAM of each model, s per image; torchxrayvision
  networks with random weights.

Reported: the median over rounds per side, and each side's speed against base: the
median over rounds of base time / its time in that round (1.00: same speed; below 1:
slower than base). ``--also main=PATH``
adds a third checkout to the same rotation.

Run: OMP_NUM_THREADS=1 .venv/bin/python benchmarks/image_ab.py --base ../wt-base/src
     [--rounds 5] [--repeats 5] [--models pneumoniamnist-v1,densenet121-res224-all]
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from timing import timed

HERE = Path(__file__).resolve().parent


def _read_worker(manifest: dict[str, str], repeats: int) -> dict[str, float]:
    from contextlib import ExitStack

    from radpilot.imaging import dicomio

    out = {}
    with ExitStack() as stack:
        kwargs: dict[str, Any] = {}
        if "decoder" in inspect.signature(dicomio.read_image).parameters:
            from radpilot.imaging.decoder import PixelDecoder

            kwargs["decoder"] = stack.enter_context(PixelDecoder())
        for label, path in manifest.items():
            dicomio.read_image(path, **kwargs)  # warm-up: plugin imports, decoder start
            times = []
            for _ in range(repeats):
                t0 = time.perf_counter()
                dicomio.read_image(path, **kwargs)
                times.append(time.perf_counter() - t0)
            out[label] = statistics.median(times)
    return out


def _torch_model(name: str, registry: Any) -> Any:
    import torch

    from radpilot.imaging import xrv_backend
    from radpilot.imaging.torch_model import TorchImageModel

    if name == registry.DEFAULT_MODEL:
        return registry.get(name, runtime="torch")
    card = registry.card(name)
    torch.manual_seed(0)
    if hasattr(xrv_backend, "build_network"):  # before the reshape
        net = xrv_backend.build_network(card)
    else:
        build = {
            "xrv-densenet.v1": xrv_backend.build_densenet,
            "xrv-resnet.v1": xrv_backend.build_resnet,
        }
        net = build[card.backend](card)
    return TorchImageModel(card, net.eval())


def _models_worker(names: list[str], repeats: int, threads: int) -> dict[str, float]:
    import numpy as np
    import torch

    from radpilot.imaging import registry
    from radpilot.imaging.model_api import ImageMeta, Radiograph
    from radpilot.imaging.onnx_backend import OnnxImageModel

    torch.set_num_threads(threads)
    rng = np.random.default_rng(0)
    images = [
        Radiograph(rng.random((1024, 1024), dtype=np.float32), ImageMeta(f"{i}.png", "png"))
        for i in range(8)
    ]
    out = {}
    for name in names:
        tm = _torch_model(name, registry)
        om = OnnxImageModel.from_torch(tm, threads=threads)
        n = len(images)
        out[f"{name}: PyTorch predict"] = timed(lambda m=tm: m.predict(images), repeats) / n
        out[f"{name}: ONNX predict"] = timed(lambda m=om: m.predict(images), repeats) / n
        label = tm.labels[0]
        cam = timed(lambda m=tm, lb=label: m.heatmap(images[0], lb), max(1, repeats - 2))
        out[f"{name}: Grad-CAM (PyTorch)"] = cam
    return out


def _run_side(src: Path, args: list[str]) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": str(src)}
    proc = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), *args],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise SystemExit(f"worker failed under {src}:\n{proc.stderr[-2000:]}")
    return dict(json.loads(proc.stdout.strip().splitlines()[-1]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--base", type=Path, help="the baseline checkout's src/")
    ap.add_argument("--head", type=Path, default=HERE.parent / "src")
    ap.add_argument("--also", action="append", default=[], help="NAME=SRC: another checkout")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--models", default="pneumoniamnist-v1,densenet121-res224-all")
    ap.add_argument("--skip", default="", help="comma list: read, models")
    ap.add_argument("--worker", choices=["read", "models"], help=argparse.SUPPRESS)
    ap.add_argument("--manifest", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker == "read":
        print(json.dumps(_read_worker(json.loads(args.manifest), args.repeats)))
        return
    if args.worker == "models":
        names = [m for m in args.models.split(",") if m]
        print(json.dumps(_models_worker(names, args.repeats, args.threads)))
        return
    if args.base is None:
        ap.error("--base is required")
    sides = [("base", args.base)]
    sides += [(n, Path(p)) for n, p in (a.split("=", 1) for a in args.also)]
    sides.append(("head", args.head))
    sys.path[:0] = [str(args.head), str(HERE)]  # the files are made with head's code
    from imaging_io import _make_files

    skip = set(args.skip.split(","))
    got: dict[str, dict[str, list[float]]] = {name: {} for name, _ in sides}
    with tempfile.TemporaryDirectory() as tmp:
        manifest = {k: str(v) for k, v in _make_files(Path(tmp)).items()}
        jobs = []
        if "read" not in skip:
            jobs.append(["--worker", "read", "--manifest", json.dumps(manifest)])
        if "models" not in skip:
            jobs.append(["--worker", "models", "--models", args.models])
        common = ["--repeats", str(args.repeats), "--threads", str(args.threads)]
        for r in range(args.rounds):
            order = sides[r % len(sides) :] + sides[: r % len(sides)]  # rotate who goes first
            for job in jobs:
                for name, src in order:
                    for key, value in _run_side(src, job + common).items():
                        got[name].setdefault(key, []).append(value)
            print(f"round {r + 1}/{args.rounds} done, load {os.getloadavg()[0]:.1f}", flush=True)
    names = [n for n, _ in sides]
    print("\n| measurement | " + " | ".join(names) + " | " + " | ".join(
        f"{n} speed vs base" for n in names[1:]) + " |")  # fmt: skip
    print("|---|" + "---:|" * (2 * len(names) - 1))
    for key in got["head"]:
        med = [statistics.median(got[n][key]) for n in names]
        scale, unit = (1, "s") if ("predict" in key or "Grad" in key) else (1000, "ms")
        # Speed: the median of the per-round ratios (each round runs every side back to back).
        ratios = [
            statistics.median(b / x for b, x in zip(got["base"][key], got[n][key], strict=True))
            for n in names[1:]
        ]
        cells = [f"{m * scale:.4g} {unit}" for m in med] + [f"{r:.2f}x" for r in ratios]
        print(f"| {key} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
