"""The image-quality / out-of-distribution gate, run on every image BEFORE the model.

A chest model scores whatever it is given: a black, white, noisy or rotated image came
out "Pneumonia, p = 1.0, urgent". The gate asks, from the pixels alone, whether the
image is a readable, upright, frontal chest film; each failed check is a flag with its
own code and message, and a blocking flag keeps the image from the model, so it gets
no findings and no urgency tier (``urgency.not_assessed``).

Checks, in order (thresholds, blocking and messages in ``imaging/data/quality.json``):

1. Readable exposure, on a ``thumbnail_side``-pixel thumbnail of the whole image:
   ``too_small`` (short side of the source), ``no_contrast`` (1st..99th percentile
   spread), ``saturated`` (fraction of pixels at black or white), ``low_detail``
   (entropy of the intensity histogram), ``noise_like`` (correlation of neighbouring
   thumbnail pixels: anatomy is smooth at that scale, noise and fine textures are not),
   ``colour`` (fraction of clearly coloured pixels, measured by the reader: a
   radiograph is grey).
2. Only for a readable image, a small model (``radpilot.imaging.orientation``):
   ``not_chest_like`` (correlation with the mean frontal chest film, after undoing the
   detected rotation and polarity), ``rotated`` (90, 180 or 270 degrees),
   ``orientation_unclear`` (the model cannot tell), ``inverted`` (a photographic
   negative: lungs white; not blocking by default, since a MONOCHROME1 file tagged
   MONOCHROME2 is still a chest film, but its scores are not to be trusted).

How well this separates real radiographs from bad images is measured in BENCHMARKS.md
(``benchmarks/image_quality.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np

from radpilot.errors import ChecksumError
from radpilot.imaging.model_api import Radiograph
from radpilot.imaging.results import CheckKind, Flag, FlagCode
from radpilot.imaging.rules import QUALITY, QualityCheck, QualityRules

_BINS = 64
_ROTATION_WORDS = {1: "90° counter-clockwise", 2: "180° (upside down)", 3: "90° clockwise"}


@dataclass(frozen=True)
class Exposure:
    """The readable-exposure measures of one image."""

    short_side: float
    spread: float
    clipped: float
    entropy: float
    smoothness: float
    colour: float


def thumbnail(pixels: np.ndarray, side: int) -> np.ndarray:
    """The whole image resized to side x side (area when shrinking), float64."""
    from radpilot.imaging.orientation import resize

    return resize(pixels, side).astype(np.float64)


def _neighbour_correlation(a: np.ndarray) -> float:
    def corr(x: np.ndarray, y: np.ndarray) -> float:
        x, y = x - x.mean(), y - y.mean()
        den = float(np.sqrt((x * x).sum() * (y * y).sum()))
        return float((x * y).sum() / den) if den > 0 else 0.0

    return (corr(a[:, 1:], a[:, :-1]) + corr(a[1:], a[:-1])) / 2


def measure_exposure(image: Radiograph, side: int) -> Exposure:
    px = image.pixels
    rows = int(image.meta.extra.get("rows") or px.shape[0])
    columns = int(image.meta.extra.get("columns") or px.shape[1])
    small = thumbnail(px, side)
    low, high = np.percentile(small, [1, 99])
    hist = np.histogram(small, bins=_BINS, range=(0.0, 1.0))[0].astype(np.float64)
    hist = hist[hist > 0] / hist.sum()
    return Exposure(
        short_side=float(min(rows, columns)),
        spread=float(high - low),
        clipped=float(np.mean((px <= 1 / 255) | (px >= 254 / 255))),
        entropy=float(-(hist * np.log2(hist)).sum()),
        smoothness=_neighbour_correlation(small),
        colour=float(image.meta.extra.get("colour_fraction") or 0.0),
    )


def _failed(
    code: FlagCode,
    check: QualityCheck,
    value: float,
    fails: Callable[[float, float], bool],
    detail: str = "",
) -> Flag | None:
    if not fails(value, check.limit):
        return None
    return Flag(
        code,
        check.message.format(value=value, limit=check.limit, detail=detail),
        blocking=check.blocking,
        check=CheckKind.QUALITY,
        value=value,
        limit=check.limit,
    )


def _below(value: float, limit: float) -> bool:
    return value < limit


def _above(value: float, limit: float) -> bool:
    return value > limit


def _exposure_flags(e: Exposure, rules: QualityRules) -> list[Flag]:
    c = rules.checks
    found = [
        _failed(FlagCode.TOO_SMALL, c.too_small, e.short_side, _below),
        _failed(FlagCode.NO_CONTRAST, c.no_contrast, e.spread, _below),
        _failed(FlagCode.SATURATED, c.saturated, e.clipped, _above),
        _failed(FlagCode.LOW_DETAIL, c.low_detail, e.entropy, _below),
        _failed(FlagCode.NOISE_LIKE, c.noise_like, e.smoothness, _below),
        _failed(FlagCode.COLOUR, c.colour, e.colour, _above),
    ]
    return [f for f in found if f is not None]


def _orientation_flags(image: Radiograph, rules: QualityRules) -> list[Flag]:
    from radpilot.imaging import orientation

    model = orientation.load(orientation_weights(rules))
    o = model.read(image.pixels, negative_prior=rules.orientation_model.negative_prior)
    c = rules.checks
    rotated = o.rotation != 0 and o.p_upright < c.rotated.limit
    found = [
        _failed(FlagCode.NOT_CHEST_LIKE, c.not_chest_like, o.template_correlation, _below),
        _failed(
            FlagCode.ROTATED,
            c.rotated,
            o.p_upright,
            lambda v, limit: rotated,
            detail=_ROTATION_WORDS.get(o.rotation, ""),
        ),
        None
        if rotated
        else _failed(FlagCode.ORIENTATION_UNCLEAR, c.orientation_unclear, o.p_upright, _below),
        _failed(FlagCode.INVERTED, c.inverted, o.p_inverted, _above),
    ]
    return [f for f in found if f is not None]


def orientation_weights(rules: QualityRules) -> Path:
    """The orientation model's weights file, checked against its pin (once)."""
    path = Path(str(resources.files("radpilot.imaging") / "weights" / rules.orientation_model.file))
    if not _matches(path, rules.orientation_model.sha256):
        raise ChecksumError(f"{path}: the quality gate's weights differ from quality.json's pin")
    return path


@lru_cache(maxsize=4)
def _matches(path: Path, sha256: str) -> bool:
    from radpilot.imaging.cache import sha256_of

    return sha256_of(path) == sha256


def check(image: Radiograph, *, rules: QualityRules | None = None) -> list[Flag]:
    """The quality flags of one image, blocking ones first. The orientation checks
    run only when the exposure checks pass: on a blank or noisy image they measure
    nothing."""
    rules = rules or QUALITY.load()
    flags = _exposure_flags(measure_exposure(image, rules.thumbnail_side), rules)
    if not any(f.blocking for f in flags):
        flags += _orientation_flags(image, rules)
    flags.sort(key=lambda f: not f.blocking)
    return flags
