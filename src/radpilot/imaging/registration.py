"""Intensity-based 2-D registration of a prior radiograph onto the current one.

The prior is first resampled to the current image's shape (same field of view), then a
rigid, similarity or affine transform is found by maximising normalised
cross-correlation (NCC) over the overlap, coarse to fine (64, 128, 256 px), with
Powell's method from scipy; the first level starts from the phase-correlation shift.
Parameters live in resolution-free units (translation as a fraction of image height,
rotation in degrees about the centre, log-scales, shear) and are bounded to what two
chest radiographs of one patient can differ by (±25 % shift, ±20°, scale 0.75-1.33),
so the optimiser cannot "win" by shrinking the overlap to a sliver.

Quality is reported as NCC and mutual information (MI) before (prior only resampled)
and after registration, on the same working grid.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

import numpy as np

LEVELS = (64, 128, 256)
MIN_OVERLAP = 0.5
_BOUNDS = {
    "ty": (-0.25, 0.25),
    "tx": (-0.25, 0.25),
    "angle": (-20.0, 20.0),
    "log_sy": (math.log(0.75), math.log(1.33)),
    "log_sx": (math.log(0.75), math.log(1.33)),
    "shear": (-0.15, 0.15),
}


class TransformKind(StrEnum):
    RIGID = "rigid"  # shift + rotation
    SIMILARITY = "similarity"  # + isotropic scale
    AFFINE = "affine"  # + anisotropic scale and shear


_FREE = {
    TransformKind.RIGID: ("ty", "tx", "angle"),
    TransformKind.SIMILARITY: ("ty", "tx", "angle", "log_sy"),
    TransformKind.AFFINE: ("ty", "tx", "angle", "log_sy", "log_sx", "shear"),
}


@dataclass(frozen=True)
class Transform:
    """Maps a point u of the current image to the prior: u' = A u + t, where u is
    (row, col) relative to the centre in units of image height."""

    ty: float = 0.0
    tx: float = 0.0
    angle: float = 0.0  # degrees, positive = counter-clockwise in display
    log_sy: float = 0.0
    log_sx: float = 0.0
    shear: float = 0.0

    def linear(self) -> np.ndarray:
        a = math.radians(self.angle)
        rot = np.array([[math.cos(a), math.sin(a)], [-math.sin(a), math.cos(a)]])
        scale = np.diag([math.exp(self.log_sy), math.exp(self.log_sx)])
        shear = np.array([[1.0, 0.0], [self.shear, 1.0]])
        return rot @ shear @ scale

    def to_dict(self) -> dict[str, float]:
        return {
            "shift_rows": round(self.ty, 5),
            "shift_cols": round(self.tx, 5),
            "rotation_deg": round(self.angle, 3),
            "scale_rows": round(math.exp(self.log_sy), 4),
            "scale_cols": round(math.exp(self.log_sx), 4),
            "shear": round(self.shear, 4),
        }


@dataclass(frozen=True)
class Registration:
    transform: Transform
    kind: TransformKind
    warped: np.ndarray  # the prior on the current image's grid (output shape)
    mask: np.ndarray  # True where the warped prior has data
    ncc_before: float
    ncc_after: float
    mi_before: float
    mi_after: float

    def to_dict(self) -> dict[str, object]:
        return {
            "kind": self.kind.value,
            "transform": self.transform.to_dict(),
            "ncc_before": round(self.ncc_before, 4),
            "ncc_after": round(self.ncc_after, 4),
            "mi_before": round(self.mi_before, 4),
            "mi_after": round(self.mi_after, 4),
        }


def resize(image: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    from skimage.transform import resize as sk_resize

    if image.shape == shape:
        return np.asarray(image, dtype=np.float64)
    return np.asarray(
        sk_resize(image, shape, order=1, anti_aliasing=True, preserve_range=True),
        dtype=np.float64,
    )


def warp(
    moving: np.ndarray, transform: Transform, shape: tuple[int, int]
) -> tuple[np.ndarray, np.ndarray]:
    """``moving`` (already on a grid of ``shape``'s aspect) sampled at the transformed
    positions of a ``shape`` grid; returns (image, valid mask)."""
    from scipy import ndimage

    h, w = shape
    mh, mw = moving.shape
    centre = np.array([(h - 1) / 2.0, (w - 1) / 2.0])
    mcentre = np.array([(mh - 1) / 2.0, (mw - 1) / 2.0])
    # pixel p (output) -> u = (p - c)/h -> u' = A u + t -> moving pixel = mc + mh u'
    ratio = mh / float(h)
    matrix = transform.linear() * ratio
    offset = mcentre + mh * np.array([transform.ty, transform.tx]) - matrix @ centre
    # NaN outside the prior marks the mask in the same pass (half the cost of a 2nd warp).
    out = ndimage.affine_transform(
        moving, matrix, offset=offset, output_shape=shape, order=1, mode="constant", cval=np.nan
    )
    mask = np.isfinite(out)
    return np.where(mask, out, 0.0), mask


def _paired(a: np.ndarray, b: np.ndarray, mask: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """The two images' values under ``mask`` (all when None), flattened, as float64."""
    if mask is not None:
        a, b = a[mask], b[mask]
    return np.asarray(a, dtype=np.float64).ravel(), np.asarray(b, dtype=np.float64).ravel()


def ncc(a: np.ndarray, b: np.ndarray, mask: np.ndarray | None = None) -> float:
    """Normalised cross-correlation (Pearson r) over ``mask``; 0 for a flat input."""
    a, b = _paired(a, b, mask)
    if a.size < 2:
        return 0.0
    a = a - a.mean()
    b = b - b.mean()
    denom = math.sqrt(float(a @ a) * float(b @ b))
    return 0.0 if denom == 0.0 else float(a @ b) / denom


def mutual_information(
    a: np.ndarray, b: np.ndarray, mask: np.ndarray | None = None, bins: int = 32
) -> float:
    """Mutual information (nats) of the joint histogram over ``mask``."""
    a, b = _paired(a, b, mask)
    if a.size < 2:
        return 0.0
    joint, _, _ = np.histogram2d(a, b, bins=bins)
    pxy = joint / joint.sum()
    px = pxy.sum(axis=1, keepdims=True)
    py = pxy.sum(axis=0, keepdims=True)
    nz = pxy > 0
    return float((pxy[nz] * np.log(pxy[nz] / (px @ py)[nz])).sum())


def _working(image: np.ndarray, size: int) -> np.ndarray:
    from scipy import ndimage

    h, w = image.shape
    scale = size / float(max(h, w))
    shape = (max(8, round(h * scale)), max(8, round(w * scale)))
    small = resize(image, shape)
    # A light blur makes the cost smooth enough for Powell at each level.
    return np.asarray(ndimage.gaussian_filter(small, 0.75), dtype=np.float64)


def _initial_shift(fixed: np.ndarray, moving: np.ndarray) -> tuple[float, float]:
    from skimage.registration import phase_cross_correlation

    shift, _, _ = phase_cross_correlation(fixed, moving, normalization=None)
    # shift moves `moving` onto `fixed`: fixed(p) ~ moving(p - shift) -> t = -shift
    h = fixed.shape[0]
    ty, tx = -float(shift[0]) / h, -float(shift[1]) / h
    lo, hi = _BOUNDS["ty"]
    return float(np.clip(ty, lo, hi)), float(np.clip(tx, lo, hi))


def _make(kind: TransformKind, params: dict[str, float]) -> Transform:
    if kind is TransformKind.SIMILARITY:
        params = {**params, "log_sx": params["log_sy"]}
    return Transform(**params)


def register(
    current: np.ndarray,
    prior: np.ndarray,
    *,
    kind: TransformKind | str = TransformKind.AFFINE,
    output_size: int = 512,
) -> Registration:
    """Register ``prior`` onto ``current`` (both 2-D, [0, 1]).

    The returned ``warped`` prior and the metrics are on the current image's grid,
    downscaled so that its longer side is at most ``output_size``.
    """
    from scipy.optimize import minimize

    kind = TransformKind(kind)
    current = np.asarray(current, dtype=np.float64)
    # Work from one grid no larger than needed: every level and the output derive from it.
    base = max(output_size, LEVELS[-1])
    h0, w0 = current.shape
    factor = min(1.0, base / float(max(h0, w0)))
    current = resize(current, (max(8, round(h0 * factor)), max(8, round(w0 * factor))))
    prior_on_grid = resize(np.asarray(prior, dtype=np.float64), current.shape)
    free = _FREE[kind]
    bounds = [_BOUNDS[name] for name in free]
    params = dict.fromkeys(_BOUNDS, 0.0)

    for level, size in enumerate(LEVELS):
        fixed = _working(current, size)
        moving = _working(prior_on_grid, size)
        if level == 0:
            params["ty"], params["tx"] = _initial_shift(fixed, moving)
        total = fixed.size

        def cost(
            x: np.ndarray,
            fixed: np.ndarray = fixed,
            moving: np.ndarray = moving,
            total: int = total,
        ) -> float:
            trial = _make(kind, {**params, **dict(zip(free, (float(v) for v in x), strict=True))})
            out, mask = warp(moving, trial, fixed.shape)
            if mask.sum() < MIN_OVERLAP * total:
                return 1.0
            return -ncc(fixed, out, mask)

        x0 = np.array([params[name] for name in free])
        start = -cost(x0)
        res = minimize(
            cost,
            x0,
            method="Powell",
            bounds=bounds,
            options={"xtol": 1e-3, "ftol": 1e-5, "maxfev": 600},
        )
        if -float(res.fun) >= start:
            params.update(dict(zip(free, (float(v) for v in res.x), strict=True)))

    transform = _make(kind, params)
    h, w = current.shape
    scale = min(1.0, output_size / float(max(h, w)))
    shape = (max(8, round(h * scale)), max(8, round(w * scale)))
    fixed_out = resize(current, shape)
    moving_out = resize(prior_on_grid, shape)
    warped, mask = warp(moving_out, transform, shape)
    # Before and after are scored on the same pixels: the overlap after registration.
    return Registration(
        transform=transform,
        kind=kind,
        warped=warped,
        mask=mask,
        ncc_before=ncc(fixed_out, moving_out, mask),
        ncc_after=ncc(fixed_out, warped, mask),
        mi_before=mutual_information(fixed_out, moving_out, mask),
        mi_after=mutual_information(fixed_out, warped, mask),
    )
