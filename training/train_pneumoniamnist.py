"""Train radpilot's embedded demonstration model on PneumoniaMNIST (CPU, seeded).

Data: PneumoniaMNIST from MedMNIST v2 (Yang et al., Scientific Data 2023; CC BY 4.0),
official splits train 4,708 / val 524 / test 624, 28x28 pediatric chest radiographs.

Recipe: a compact CNN (``radpilot.imaging.nets.PneumoniaNet``) per seed, trained
with light geometric/intensity augmentation; members averaged (logits); the
checkpoint per member and the operating threshold are chosen on the VALIDATION
split only (max Youden J). The test split is scored once, at the end, for the
report and the model card.

    .venv/bin/python training/train_pneumoniamnist.py \
        --data ../shared/data/images/pneumoniamnist/pneumoniamnist.npz \
        --out src/radpilot/imaging/weights/pneumoniamnist-v1.pt \
        --report training/pneumoniamnist-v1.results.json
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import math
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.metrics import roc_auc_score, roc_curve

from radpilot.imaging.nets import Ensemble, PneumoniaNet

log = logging.getLogger("train_pneumoniamnist")

MEAN, STD = 0.5, 0.5  # the card's normalisation: (x - 0.5) / 0.5 on [0, 1] pixels


def load_split(npz: np.lib.npyio.NpzFile, split: str) -> tuple[torch.Tensor, torch.Tensor]:
    x = torch.from_numpy(npz[f"{split}_images"].astype(np.float32) / 255.0)
    y = torch.from_numpy(npz[f"{split}_labels"].reshape(-1).astype(np.float32))
    return ((x - MEAN) / STD).unsqueeze(1), y


def augment(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Random rotation (±10°), scale (0.9-1.1), shift (±2 px), horizontal flip and
    contrast/brightness jitter (±10%), applied per image on the batch at once."""
    n = x.shape[0]
    angle = (torch.rand(n, generator=gen) * 2 - 1) * math.radians(10)
    scale = 1 + (torch.rand(n, generator=gen) * 2 - 1) * 0.1
    shift = (torch.rand(n, 2, generator=gen) * 2 - 1) * (2 * 2 / 28)
    flip = torch.where(torch.rand(n, generator=gen) < 0.5, -1.0, 1.0)
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    theta = torch.stack(
        [
            torch.stack([cos * flip, -sin, shift[:, 0]], 1),
            torch.stack([sin * flip, cos, shift[:, 1]], 1),
        ],
        1,
    )
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    # Border padding in normalised space: fill with the image edge, not with "black".
    out = F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)
    contrast = 1 + (torch.rand(n, 1, 1, 1, generator=gen) * 2 - 1) * 0.1
    bright = (torch.rand(n, 1, 1, 1, generator=gen) * 2 - 1) * 0.1 / STD
    return out * contrast + bright


@torch.no_grad()
def predict_logits(model: torch.nn.Module, x: torch.Tensor, tta_flip: bool) -> np.ndarray:
    model.eval()
    outs = []
    for i in range(0, x.shape[0], 512):
        b = x[i : i + 512]
        z = model(b).squeeze(1)
        if tta_flip:
            z = (z + model(torch.flip(b, dims=[3])).squeeze(1)) / 2
        outs.append(z)
    return torch.cat(outs).numpy()


def train_member(
    seed: int,
    xtr: torch.Tensor,
    ytr: torch.Tensor,
    xva: torch.Tensor,
    yva: torch.Tensor,
    *,
    epochs: int,
    width: int,
    lr: float,
    batch: int,
) -> tuple[PneumoniaNet, float]:
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    model = PneumoniaNet(width=width)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=5e-4)
    steps = epochs * math.ceil(xtr.shape[0] / batch)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps, pct_start=0.2)
    best_auc, best_state = -1.0, None
    for epoch in range(epochs):
        model.train()
        perm = torch.randperm(xtr.shape[0], generator=gen)
        t0, total = time.perf_counter(), 0.0
        for i in range(0, xtr.shape[0], batch):
            idx = perm[i : i + batch]
            xb, yb = augment(xtr[idx], gen), ytr[idx]
            loss = F.binary_cross_entropy_with_logits(model(xb).squeeze(1), yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            total += loss.item() * len(idx)
        val_auc = float(roc_auc_score(yva.numpy(), predict_logits(model, xva, tta_flip=True)))
        log.info(
            "seed %d epoch %d loss %.4f val AUC %.4f (%.1fs)",
            seed,
            epoch + 1,
            total / xtr.shape[0],
            val_auc,
            time.perf_counter() - t0,
        )
        # The last third of the schedule only: early epochs at high LR are noisy picks.
        if epoch >= epochs * 2 // 3 and val_auc >= best_auc:
            best_auc = val_auc
            best_state = {k: v.clone() for k, v in model.state_dict().items()}
    assert best_state is not None
    model.load_state_dict(best_state)
    return model, best_auc


def youden_threshold(y: np.ndarray, p: np.ndarray) -> float:
    fpr, tpr, thr = roc_curve(y, p)
    j = tpr - fpr
    best = int(np.argmax(j))
    # Midpoint between the chosen score and the next lower one: robust to ties.
    lower = thr[best + 1] if best + 1 < len(thr) else thr[best]
    return float((thr[best] + lower) / 2)


def metrics(y: np.ndarray, p: np.ndarray, threshold: float) -> dict[str, float]:
    pred = p >= threshold
    tp = int(np.sum(pred & (y == 1)))
    tn = int(np.sum(~pred & (y == 0)))
    return {
        "auc": float(roc_auc_score(y, p)),
        "accuracy": float(np.mean(pred == (y == 1))),
        "sensitivity": tp / int(np.sum(y == 1)),
        "specificity": tn / int(np.sum(y == 0)),
    }


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--data", type=Path, required=True, help="pneumoniamnist.npz")
    ap.add_argument(
        "--out", type=Path, required=True, help="weights file to write (torch state dict)"
    )
    ap.add_argument("--report", type=Path, help="JSON file for the measured figures")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--epochs", type=int, default=24)
    ap.add_argument("--width", type=int, default=32)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--limit", type=int, default=0, help="use only N training images (smoke test)")
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    torch.set_num_threads(args.threads)

    t_start = time.perf_counter()
    npz = np.load(args.data)
    xtr, ytr = load_split(npz, "train")
    xva, yva = load_split(npz, "val")
    xte, yte = load_split(npz, "test")
    if args.limit:
        xtr, ytr = xtr[: args.limit], ytr[: args.limit]

    members, member_val_auc = [], []
    for seed in args.seeds:
        model, auc = train_member(
            seed,
            xtr,
            ytr,
            xva,
            yva,
            epochs=args.epochs,
            width=args.width,
            lr=args.lr,
            batch=args.batch,
        )
        members.append(model)
        member_val_auc.append(auc)
    ensemble = Ensemble(members).eval()

    # Probabilities exactly as the shipped backend computes them: mean logit of the
    # members, averaged with the horizontally flipped input, then sigmoid.
    p_val = 1 / (1 + np.exp(-predict_logits(ensemble, xva, tta_flip=True)))
    p_test = 1 / (1 + np.exp(-predict_logits(ensemble, xte, tta_flip=True)))
    threshold = youden_threshold(yva.numpy(), p_val)

    args.out.parent.mkdir(parents=True, exist_ok=True)
    torch.save(ensemble.state_dict(), args.out)
    sha = hashlib.sha256(args.out.read_bytes()).hexdigest()
    result = {
        "seeds": args.seeds,
        "epochs": args.epochs,
        "width": args.width,
        "lr": args.lr,
        "batch": args.batch,
        "threads": args.threads,
        "train_images": int(xtr.shape[0]),
        "member_val_auc": member_val_auc,
        "threshold": threshold,
        "threshold_method": "max Youden J on the validation split",
        "val": metrics(yva.numpy(), p_val, threshold),
        "test": metrics(yte.numpy(), p_test, threshold),
        "weights_sha256": sha,
        "weights_bytes": args.out.stat().st_size,
        "train_seconds": round(time.perf_counter() - t_start, 1),
        "torch": torch.__version__,
    }
    log.info("result %s", json.dumps(result, indent=2))
    if args.report:
        args.report.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
