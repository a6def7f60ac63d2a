"""Chest anatomy segmentation (torchxrayvision's ChestX-Det PSPNet) and the
cardiothoracic ratio measured from its masks. Imports torch: load lazily.

CTR = maximal horizontal width of the heart mask / maximal horizontal width of
the two lung masks together (leftmost lung pixel to rightmost lung pixel).
Widths are measured on the masks mapped back to the original image, so the
ratio and the drawn spans refer to the radiograph's own pixels. The lungs'
outer extent approximates the internal thoracic diameter; the measurement is
meaningful on PA frontal views only.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from radpilot.errors import ModelNotAvailableError
from radpilot.imaging import preprocess
from radpilot.imaging.model_api import Radiograph
from radpilot.imaging.model_card import ModelCard
from radpilot.imaging.xrv_backend import read_state_dict

HEART = "Heart"
LUNGS = ("Left Lung", "Right Lung")
_IMAGENET_MEAN = (0.485, 0.456, 0.406)
_IMAGENET_STD = (0.229, 0.224, 0.225)


@dataclass(frozen=True)
class Span:
    """A horizontal segment in image pixels: row ``y``, columns ``x0``..``x1`` inclusive."""

    y: int
    x0: int
    x1: int

    @property
    def width(self) -> int:
        return self.x1 - self.x0 + 1


@dataclass(frozen=True)
class CardiothoracicRatio:
    ratio: float | None  # None when a mask is empty (the reason says which)
    heart: Span | None
    thorax: Span | None
    reason: str = ""

    def to_dict(self) -> dict[str, object]:
        def span(s: Span | None) -> dict[str, int] | None:
            return None if s is None else {"y": s.y, "x0": s.x0, "x1": s.x1, "width": s.width}

        return {
            "ratio": self.ratio,
            "heart": span(self.heart),
            "thorax": span(self.thorax),
            "reason": self.reason,
        }


def widest_extent(mask: np.ndarray) -> Span | None:
    """The mask's full horizontal extent (min to max column over all rows), drawn
    on the row where the mask itself is widest."""
    cols = np.flatnonzero(mask.any(axis=0))
    if cols.size == 0:
        return None
    rows = np.flatnonzero(mask.any(axis=1))
    widths = [np.ptp(np.flatnonzero(mask[r])) for r in rows]
    return Span(y=int(rows[int(np.argmax(widths))]), x0=int(cols[0]), x1=int(cols[-1]))


def ctr_from_masks(heart: np.ndarray, lungs: np.ndarray) -> CardiothoracicRatio:
    """CTR from boolean masks of the same shape (lungs = both lungs together)."""
    if heart.shape != lungs.shape:
        raise ValueError(f"mask shapes differ: {heart.shape} vs {lungs.shape}")
    h, t = widest_extent(heart), widest_extent(lungs)
    if h is None or t is None:
        missing = "heart" if h is None else "lungs"
        return CardiothoracicRatio(None, h, t, reason=f"no {missing} found in the segmentation")
    return CardiothoracicRatio(h.width / t.width, h, t)


class _ChestXDet(nn.Module):
    """torchxrayvision's PSPNet wrapper without its downloader and resize hook:
    [-1024, 1024] single channel -> [0, 1] RGB -> ImageNet normalisation."""

    def __init__(self, n_classes: int) -> None:
        super().__init__()
        from torchxrayvision.baseline_models.chestx_det.ptsemseg.pspnet import pspnet

        self.model = pspnet(n_classes)
        self.register_buffer(
            "mean", torch.tensor(_IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False
        )
        self.register_buffer("std", torch.tensor(_IMAGENET_STD).view(1, 3, 1, 1), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = (x.repeat(1, 3, 1, 1) + 1024.0) / 2048.0
        with warnings.catch_warnings():
            # ptsemseg calls the deprecated F.upsample; nothing for a user to act on.
            warnings.simplefilter("ignore", UserWarning)
            out: torch.Tensor = self.model((x - self.mean) / self.std)
        return out


class AnatomySegmenter:
    def __init__(self, card: ModelCard, net: nn.Module) -> None:
        self.card = card
        self.net = net.eval()

    @property
    def name(self) -> str:
        return self.card.name

    @property
    def labels(self) -> Sequence[str]:
        return tuple(self.card.labels)

    def segment(self, image: Radiograph) -> dict[str, np.ndarray]:
        """Boolean mask per structure, in the original image's shape."""
        prep = self.card.preprocessing
        x = preprocess.to_input(image, prep)[None]
        with torch.inference_mode():
            prob = torch.sigmoid(self.net(x))[0]
        shape = image.pixels.shape
        box = preprocess.crop_box(shape, prep.crop)
        # Upsample probabilities, then threshold: smoother edges than upsampling masks.
        up = F.interpolate(prob[None], size=(box.height, box.width), mode="bilinear")[0]
        masks = {}
        for i, label in enumerate(self.card.labels):
            full = np.zeros(shape[:2], dtype=bool)
            full[box.top : box.top + box.height, box.left : box.left + box.width] = (
                up[i].numpy() >= self.card.thresholds[label]
            )
            masks[label] = full
        return masks

    def cardiothoracic_ratio(
        self, image: Radiograph, masks: dict[str, np.ndarray] | None = None
    ) -> CardiothoracicRatio:
        masks = masks if masks is not None else self.segment(image)
        lungs = np.logical_or(masks[LUNGS[0]], masks[LUNGS[1]])
        return ctr_from_masks(masks[HEART], lungs)


def build_network(card: ModelCard) -> nn.Module:
    return _ChestXDet(len(card.output_labels))


def load(card: ModelCard, path: Path) -> AnatomySegmenter:
    """The ``xrv-pspnet`` image backend."""
    net = build_network(card)
    state = read_state_dict(path, what=card.name)
    try:
        net.model.load_state_dict(state, strict=True)  # type: ignore[operator]
    except RuntimeError as exc:
        lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
        raise ModelNotAvailableError(
            f"{path}: weights do not fit {card.name} (ChestX-Det PSPNet: {lines[-1][:160]})"
        ) from None
    return AnatomySegmenter(card, net)
