"""Grad-CAM (Selvaraju et al., 2017) on named layers of a torch network.

The card names the target layer(s) (``gradcam_layers``); for an ensemble it
names one per member and the maps are averaged, so the saliency explains the
averaged score the model reports. Imports torch: load lazily."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from radpilot.errors import VocabularyError


def _layers(net: nn.Module, names: Sequence[str]) -> list[nn.Module]:
    modules = dict(net.named_modules())
    missing = [n for n in names if n not in modules]
    if missing:
        raise VocabularyError(
            f"Grad-CAM layer(s) {missing} not in the network; e.g. "
            f"{', '.join(list(n for n in modules if n)[-8:])}"
        )
    return [modules[n] for n in names]


def grad_cam(
    net: nn.Module,
    x: torch.Tensor,
    layer_names: Sequence[str],
    output_index: int,
    *,
    forward: Callable[[torch.Tensor], torch.Tensor] | None = None,
) -> np.ndarray:
    """Saliency for output ``output_index`` of ``forward(x)`` (default ``net``),
    x of shape (1, C, H, W). Returns float32 (H, W) in [0, 1]; all zeros when no
    region raises the score (ReLU of the weighted activations is empty)."""
    if x.ndim != 4 or x.shape[0] != 1:
        raise ValueError(f"grad_cam takes one image (1, C, H, W), got {tuple(x.shape)}")
    layers = _layers(net, layer_names)
    acts: list[torch.Tensor] = []

    def keep(_m: nn.Module, _inp: object, out: torch.Tensor) -> None:
        acts.append(out)

    handles = [layer.register_forward_hook(keep) for layer in layers]
    was_training = net.training
    net.eval()
    try:
        with torch.enable_grad():
            # Gradients w.r.t. the hooked activations only: parameters' .grad stay
            # untouched, and a network whose parameters are frozen still works.
            x = x.detach().requires_grad_(True)
            out = (forward or net)(x)
            grads = torch.autograd.grad(out[0, output_index], acts, allow_unused=True)
    finally:
        for h in handles:
            h.remove()
        net.train(was_training)
    h, w = x.shape[-2:]
    total = torch.zeros((h, w))
    for a, g in zip(acts, grads, strict=True):
        if g is None:
            continue
        weights = g.mean(dim=(2, 3), keepdim=True)
        cam = F.relu((weights * a).sum(dim=1, keepdim=True)).detach()
        total += F.interpolate(cam, size=(h, w), mode="bilinear", align_corners=False)[0, 0]
    peak = float(total.max())
    if peak <= 0.0 or not np.isfinite(peak):
        return np.zeros((h, w), dtype=np.float32)
    return (total / peak).numpy().astype(np.float32)
