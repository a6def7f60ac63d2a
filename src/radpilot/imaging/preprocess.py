"""Turn a ``Radiograph`` into a model's input tensor, as its card's
``preprocessing`` says, and map a saliency map back onto the original pixels.
Imports torch: load lazily."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from radpilot.errors import InputError
from radpilot.imaging.model_api import Radiograph
from radpilot.imaging.model_card import Crop, Normalization, Preprocessing, Resize

# Pixels a hair outside [0, 1] come from float rounding in readers; more is a bug upstream.
_RANGE_SLACK = 1e-3


@dataclass(frozen=True)
class CropBox:
    top: int
    left: int
    height: int
    width: int


def crop_box(shape: tuple[int, ...], crop: Crop) -> CropBox:
    h, w = int(shape[0]), int(shape[1])
    if crop is Crop.NONE:
        return CropBox(0, 0, h, w)
    side = min(h, w)
    return CropBox((h - side) // 2, (w - side) // 2, side, side)


def check_pixels(image: Radiograph) -> np.ndarray:
    """The radiograph's pixels as float32, or an ``InputError`` naming the file."""
    px = np.asarray(image.pixels)
    where = image.meta.path or "<image>"
    if px.ndim != 2:
        raise InputError(f"{where}: expected a 2-D grayscale image, got shape {px.shape}")
    if min(px.shape) < 2:
        raise InputError(f"{where}: image too small ({px.shape[0]}x{px.shape[1]} px)")
    if not np.issubdtype(px.dtype, np.floating):
        raise InputError(f"{where}: pixels must be float in [0, 1], got dtype {px.dtype}")
    if not np.all(np.isfinite(px)):
        raise InputError(f"{where}: pixels contain NaN or infinity")
    lo, hi = float(px.min()), float(px.max())
    if lo < -_RANGE_SLACK or hi > 1 + _RANGE_SLACK:
        raise InputError(f"{where}: pixels must lie in [0, 1], got [{lo:.4g}, {hi:.4g}]")
    return np.clip(px, 0.0, 1.0).astype(np.float32, copy=False)


def to_input(image: Radiograph, prep: Preprocessing) -> torch.Tensor:
    """One image -> tensor (1, S, S): crop, resize, normalise."""
    px = check_pixels(image)
    box = crop_box(px.shape, prep.crop)
    px = px[box.top : box.top + box.height, box.left : box.left + box.width]
    x = torch.from_numpy(np.ascontiguousarray(px))[None, None]
    size = (prep.input_size, prep.input_size)
    if tuple(x.shape[-2:]) != size:
        if prep.resize is Resize.AREA and x.shape[-1] >= size[1] and x.shape[-2] >= size[0]:
            x = F.interpolate(x, size=size, mode="area")
        else:
            # Upsampling (inputs smaller than the model's size) uses bilinear either way.
            x = F.interpolate(x, size=size, mode="bilinear", antialias=True, align_corners=False)
    if prep.normalization is Normalization.XRV:
        x = (2.0 * x - 1.0) * 1024.0
    else:
        x = (x - prep.mean) / prep.std
    return x[0]


def to_batch(images: Sequence[Radiograph], prep: Preprocessing) -> torch.Tensor:
    if len(images) == 0:
        return torch.zeros((0, 1, prep.input_size, prep.input_size))
    return torch.stack([to_input(im, prep) for im in images])


def to_image_shape(saliency: np.ndarray, shape: tuple[int, ...], crop: Crop) -> np.ndarray:
    """A map over the model's input square -> the original image's shape; zero
    outside the cropped region the model saw."""
    box = crop_box(shape, crop)
    t = torch.from_numpy(np.ascontiguousarray(saliency, dtype=np.float32))[None, None]
    t = F.interpolate(t, size=(box.height, box.width), mode="bilinear", align_corners=False)
    out = np.zeros((int(shape[0]), int(shape[1])), dtype=np.float32)
    out[box.top : box.top + box.height, box.left : box.left + box.width] = t[0, 0].numpy()
    return np.clip(out, 0.0, 1.0)
