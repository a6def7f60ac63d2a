"""Train the quality gate's orientation model on PneumoniaMNIST's TRAIN split (CPU, seeded).

The model (``radpilot.imaging.orientation.OrientationNet``, ~10,000 parameters) reads a
32 x 32 z-scored thumbnail of a whole film and tells its rotation (0, 90, 180, 270
degrees) and polarity (positive / photographic negative): 8 classes. Every training
image is shown, batch by batch, at a random rotation and polarity, with a random zoom
(0.45-1.05: adult films are framed to the lungs, tighter than these pediatric ones), shift, small
tilt, gamma, border fill, mirror and a little noise. Only the train split is used to
fit; the validation split is scored at the end (the adult sample and serial radiographs
are scored by ``benchmarks/image_quality.py``: none of them is trained on).

The weights file also holds the second expert: the mean of the train split's z-scored
28 x 28 films (the template the ``not_chest_like`` check correlates with) and the
temperature that turns correlations with it into class probabilities, fitted (maximum
likelihood over a grid) on the train split's films at all rotations and polarities.

    .venv/bin/python training/train_orientation.py \
        --data ../shared/data/images/pneumoniamnist/pneumoniamnist.npz \
        --out src/radpilot/imaging/weights/orientation-v1.pt \
        --report training/orientation-v1.results.json
"""

from __future__ import annotations

import argparse
import hashlib
import json
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from radpilot.imaging.orientation import (
    INPUT_SIDE,
    ROTATIONS,
    OrientationModel,
    OrientationNet,
    save,
    thumbnail,
    zscore,
)

EPOCHS = 30
BATCH = 128
LR = 3e-3
WEIGHT_DECAY = 1e-3
# Sampling-grid scale: 0.45 shows 45% of the film's side (a 2.2x zoom), 1.05 a little border.
ZOOM = (0.45, 1.05)


def augment(x: torch.Tensor, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """A batch (N, 1, S, S) in [0, 1] -> z-scored augmented films and their classes."""
    n = x.shape[0]

    def uniform(lo: float, hi: float, *shape: int) -> torch.Tensor:
        return torch.rand(*(shape or (n,)), generator=gen) * (hi - lo) + lo

    scale, angle = uniform(ZOOM[0], ZOOM[1]), uniform(-0.2, 0.2)
    cos, sin = torch.cos(angle) * scale, torch.sin(angle) * scale
    theta = torch.stack(
        [
            torch.stack([cos, -sin, uniform(-0.15, 0.15)], 1),
            torch.stack([sin, cos, uniform(-0.15, 0.15)], 1),
        ],
        1,
    )
    grid = F.affine_grid(theta, [n, 1, INPUT_SIDE, INPUT_SIDE], align_corners=False)
    fill = uniform(0.0, 0.3, n, 1, 1, 1)  # collimation borders: dark, not always black
    out = F.grid_sample(x - fill, grid, padding_mode="zeros", align_corners=False) + fill
    gamma = torch.exp(torch.randn(n, 1, 1, 1, generator=gen) * 0.3)
    out = out.clamp(0, 1) ** gamma
    mirror = torch.rand(n, generator=gen) < 0.5
    out[mirror] = out[mirror].flip(-1)
    rotation = torch.randint(0, ROTATIONS, (n,), generator=gen)
    inverted = torch.rand(n, generator=gen) < 0.5
    turned = torch.empty_like(out)
    for k in range(ROTATIONS):
        chosen = rotation == k
        turned[chosen] = torch.rot90(out[chosen], k, dims=(-2, -1))
    turned[inverted] = 1 - turned[inverted]
    noise = torch.randn(turned.shape, generator=gen) * uniform(0.0, 0.03, n, 1, 1, 1)
    return zscore(turned + noise), rotation + ROTATIONS * inverted.long()


def train(images: np.ndarray, *, seed: int, epochs: int) -> OrientationNet:
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    x = torch.from_numpy(images.astype(np.float32) / 255.0)[:, None]
    x = F.interpolate(x, size=(INPUT_SIDE, INPUT_SIDE), mode="bilinear", align_corners=False)
    net = OrientationNet()
    opt = torch.optim.AdamW(net.parameters(), lr=LR, weight_decay=WEIGHT_DECAY)
    started = time.perf_counter()
    for epoch in range(epochs):
        order = torch.randperm(len(x), generator=gen)
        right = seen = 0
        for i in range(0, len(x), BATCH):
            batch, target = augment(x[order[i : i + BATCH]], gen)
            logits = net(batch)
            loss = F.cross_entropy(logits, target)
            opt.zero_grad()
            loss.backward()
            opt.step()
            right += int((logits.argmax(1) == target).sum())
            seen += len(target)
        print(
            f"epoch {epoch + 1:2d}: train accuracy {right / seen:.4f} "
            f"({time.perf_counter() - started:.0f} s)",
            flush=True,
        )
    return net.eval()


def template(images: np.ndarray) -> np.ndarray:
    """The mean z-scored film of ``images`` (28 x 28), z-scored again."""
    films = zscore(torch.from_numpy(images.astype(np.float32) / 255.0))
    return zscore(films.mean(dim=0)).numpy()


def fit_temperature(net: OrientationNet, mean_film: np.ndarray, images: np.ndarray) -> float:
    """The temperature t that best explains each train film's true class from its
    template correlations alone (``softmax(corr / t)``), over a log grid."""
    model = OrientationModel(net, mean_film, 1.0)
    corr, truth = [], []
    for im in images.astype(np.float32) / 255.0:
        for k in range(ROTATIONS):
            turned = np.rot90(im, k).copy()
            corr.append(model.template_correlations(turned))
            truth.append(k)
    c, y = np.array(corr), np.array(truth)
    best, best_t = -np.inf, 1.0
    for t in np.geomspace(0.005, 1.0, 100):
        z = c / t
        z -= z.max(axis=1, keepdims=True)
        log_p = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
        score = float(log_p[np.arange(len(y)), y].mean())
        if score > best:
            best, best_t = score, float(t)
    return best_t


def score(net: OrientationNet, images: np.ndarray) -> dict[str, float]:
    """Accuracy of the rotation and of the polarity, per (rotation, polarity) variant."""
    out: dict[str, float] = {}
    base = [im.astype(np.float32) / 255.0 for im in images]
    for k in range(ROTATIONS):
        for inverted in (False, True):
            batch = torch.cat(
                [
                    thumbnail(np.rot90(1 - im if inverted else im, k).copy(), INPUT_SIDE)
                    for im in base
                ]
            )
            with torch.inference_mode():
                p = torch.softmax(net(batch), dim=1).numpy()
            rotation = p.reshape(-1, 2, ROTATIONS).sum(axis=1).argmax(axis=1)
            polarity = p[:, ROTATIONS:].sum(axis=1) > 0.5  # without the mirror average
            name = f"rot{k * 90}{'_negative' if inverted else ''}"
            out[f"{name}_rotation_accuracy"] = round(float(np.mean(rotation == k)), 4)
            out[f"{name}_polarity_accuracy"] = round(float(np.mean(polarity == inverted)), 4)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, required=True, help="pneumoniamnist.npz")
    ap.add_argument("--out", type=Path, required=True, help="weights file to write")
    ap.add_argument("--report", type=Path, help="JSON report to write")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--epochs", type=int, default=EPOCHS)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    started = time.perf_counter()
    with np.load(args.data) as npz:
        train_images, val_images = npz["train_images"], npz["val_images"]
    net = train(train_images, seed=args.seed, epochs=args.epochs)
    mean_film = template(train_images)
    temperature = fit_temperature(net, mean_film, train_images)
    save(net, mean_film, temperature, args.out)
    sha = hashlib.sha256(args.out.read_bytes()).hexdigest()
    report = {
        "weights": str(args.out),
        "sha256": sha,
        "bytes": args.out.stat().st_size,
        "seed": args.seed,
        "epochs": args.epochs,
        "train_images": len(train_images),
        "template_temperature": temperature,
        "validation_cnn_alone": score(net, val_images),
        "seconds": round(time.perf_counter() - started, 1),
    }
    print(json.dumps(report, indent=2))
    if args.report:
        args.report.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
