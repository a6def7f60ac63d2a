"""The quality gate's orientation model: is this an upright frontal chest film, or one
rotated by 90, 180 or 270 degrees, and is it a photographic negative?

Two experts, combined as a product (each is evidence about the same 8 classes: rotation
k, the film turned k x 90 degrees counter-clockwise, x polarity):

1. a 10,000-parameter CNN on a 32 x 32 thumbnail of the whole image (z-scored, so
   exposure does not matter), averaged over the image and its mirror;
2. the correlation of the 28 x 28 thumbnail, turned back by k and negated for a
   negative, with the mean frontal chest film, as ``softmax(correlation / t)``.

Both come from ``training/train_orientation.py`` and the PneumoniaMNIST TRAIN split only
(pediatric frontal films; the CNN saw each at random rotations, polarities, zooms,
shifts and contrasts; the mean film and the temperature t are fitted on it). The
validation split, the adult sample radiographs and the serial set were never trained
on; the gate's results on them are in BENCHMARKS.md. A prior says how rare negatives
are (``quality.json``: a mislabelled MONOCHROME1/2 is the only source of one). The
template correlation at the chosen orientation is also what ``not_chest_like`` checks.
Imports torch: load lazily.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

INPUT_SIDE = 32
TEMPLATE_SIDE = 28
ROTATIONS = 4


class OrientationNet(nn.Module):
    """32 x 32 z-scored thumbnail -> 8 logits (rotation + 4 x inverted)."""

    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 8, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(8, 16, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(16, 32, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
        )
        self.head = nn.Linear(32 * 4 * 4, 2 * ROTATIONS)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.head(self.features(x).flatten(1))
        return out


def zscore(t: torch.Tensor) -> torch.Tensor:
    """Per image: zero mean, unit standard deviation over the last two axes."""
    mean = t.mean(dim=(-2, -1), keepdim=True)
    std = t.std(dim=(-2, -1), keepdim=True).clamp_min(1e-6)
    return (t - mean) / std


def _resized(pixels: np.ndarray, side: int) -> torch.Tensor:
    t = torch.from_numpy(np.ascontiguousarray(pixels, dtype=np.float32))[None, None]
    if min(pixels.shape) >= side:
        return F.interpolate(t, size=(side, side), mode="area")
    return F.interpolate(t, size=(side, side), mode="bilinear", align_corners=False)


def resize(pixels: np.ndarray, side: int) -> np.ndarray:
    """The whole image resized to side x side: area when shrinking, bilinear when
    growing (the aspect ratio is not kept: the layout of a film survives it)."""
    return _resized(pixels, side)[0, 0].numpy()


def thumbnail(pixels: np.ndarray, side: int) -> torch.Tensor:
    """:func:`resize`, z-scored, shape (1, 1, side, side): the model's input."""
    return zscore(_resized(pixels, side))


@dataclass(frozen=True)
class Orientation:
    """The model's reading of one image."""

    p_upright: float  # P(rotation 0), either polarity
    rotation: int  # most likely k: the film appears turned k x 90 degrees counter-clockwise
    p_rotation: float  # P(that rotation)
    p_inverted: float  # P(photographic negative)
    template_correlation: float  # with the mean frontal film, after undoing rotation/polarity


# Class index of the mirror image's reading of each class: rotation k -> -k, same polarity.
_MIRRORED = [
    polarity * ROTATIONS + (-k) % ROTATIONS for polarity in (0, 1) for k in range(ROTATIONS)
]


class OrientationModel:
    def __init__(self, net: OrientationNet, template: np.ndarray, temperature: float) -> None:
        self.net = net.eval()
        self.template = np.asarray(template, dtype=np.float64)
        self.temperature = float(temperature)
        self._lock = threading.Lock()

    def probabilities(self, pixels: np.ndarray) -> np.ndarray:
        """The 8 class probabilities, averaged over the film and its mirror image (the
        model was trained on both; a mirrored film turned k x 90 degrees is the mirror of
        one turned -k x 90 degrees, so the mirror's classes are mapped back)."""
        x = thumbnail(pixels, INPUT_SIDE)
        with self._lock, torch.inference_mode():
            p = torch.softmax(self.net(torch.cat([x, x.flip(-1)])), dim=1).numpy()
        return (p[0] + p[1][_MIRRORED]) / 2

    def template_correlations(self, pixels: np.ndarray) -> np.ndarray:
        """Correlation with the mean frontal film for each of the 8 classes."""
        small = thumbnail(pixels, TEMPLATE_SIDE)[0, 0].numpy().astype(np.float64)
        turned = [float((np.rot90(small, -k) * self.template).mean()) for k in range(ROTATIONS)]
        return np.array([*turned, *(-c for c in turned)])

    def read(self, pixels: np.ndarray, *, negative_prior: float = 0.5) -> Orientation:
        """The combined reading; ``negative_prior``: how likely a film is a negative
        before looking (the CNN was trained with half of them negative)."""
        net = self.probabilities(pixels).astype(np.float64)
        corr = self.template_correlations(pixels)
        z = corr / self.temperature
        template = np.exp(z - z.max())
        prior = np.repeat([(1 - negative_prior) / 0.5, negative_prior / 0.5], ROTATIONS)
        p = net * template * prior
        p /= p.sum()
        by_rotation = p.reshape(2, ROTATIONS).sum(axis=0)
        rotation = int(by_rotation.argmax())
        inverted = float(p[ROTATIONS:].sum())
        return Orientation(
            p_upright=float(by_rotation[0]),
            rotation=rotation,
            p_rotation=float(by_rotation[rotation]),
            p_inverted=inverted,
            template_correlation=float(corr[rotation + (ROTATIONS if inverted > 0.5 else 0)]),
        )


def save(net: OrientationNet, template: np.ndarray, temperature: float, path: Path) -> None:
    state = {f"net.{k}": v for k, v in net.state_dict().items()}
    state["template"] = torch.from_numpy(np.ascontiguousarray(template, dtype=np.float32))
    state["template_temperature"] = torch.tensor(float(temperature))
    torch.save(state, path)


@lru_cache(maxsize=4)
def load(path: Path) -> OrientationModel:
    from radpilot.imaging.weightsfile import load_state_dict

    state = load_state_dict(path, what="the quality gate's orientation model")
    template = state.pop("template").numpy()
    temperature = float(state.pop("template_temperature"))
    net = OrientationNet()
    net.load_state_dict({k.removeprefix("net."): v for k, v in state.items()}, strict=True)
    return OrientationModel(net, template, temperature)
