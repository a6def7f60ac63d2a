"""Heatmap overlays and the bounding box derived from a heatmap.

Box rule (documented, tested): threshold the heatmap at ``BOX_FRACTION`` x its maximum,
keep the largest 8-connected component, and return its bounding box in image pixel
coordinates (x = column, y = row of the top-left corner, width, height). A heatmap
that is flat (max - min < ``FLAT_RANGE``) gives no box: it localises nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

BOX_FRACTION = 0.5
FLAT_RANGE = 1e-3
# Heat below this adds no colour, so the anatomy stays readable outside the hot region.
_ALPHA_FLOOR = 0.2
_ALPHA_MAX = 0.6


@dataclass(frozen=True)
class Box:
    x: int
    y: int
    width: int
    height: int

    def to_dict(self) -> dict[str, int]:
        return {"x": self.x, "y": self.y, "width": self.width, "height": self.height}

    def corners(self) -> list[tuple[float, float]]:
        """Closed polyline (column, row) around the box, for a DICOM SCOORD POLYLINE."""
        x0, y0 = float(self.x), float(self.y)
        x1, y1 = float(self.x + self.width), float(self.y + self.height)
        return [(x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0)]


def box_from_heatmap(heatmap: np.ndarray, fraction: float = BOX_FRACTION) -> Box | None:
    """The bounding box of the largest connected region at >= fraction x max."""
    from scipy import ndimage

    heat = np.asarray(heatmap, dtype=np.float64)
    if heat.ndim != 2 or heat.size == 0 or not np.isfinite(heat).all():
        return None
    top, low = float(heat.max()), float(heat.min())
    if top - low < FLAT_RANGE:
        return None
    mask = heat >= fraction * top
    labels, count = ndimage.label(mask, structure=np.ones((3, 3), dtype=bool))
    if count == 0:
        return None
    sizes = np.bincount(labels.ravel())[1:]
    biggest = int(np.argmax(sizes)) + 1
    rows, cols = np.nonzero(labels == biggest)
    y0, y1 = int(rows.min()), int(rows.max())
    x0, x1 = int(cols.min()), int(cols.max())
    return Box(x=x0, y=y0, width=x1 - x0 + 1, height=y1 - y0 + 1)


def jet(values: np.ndarray) -> np.ndarray:
    """The classic 'jet' colormap: [0, 1] -> RGB floats in [0, 1] (blue, cyan, yellow, red)."""
    v = np.clip(np.asarray(values, dtype=np.float64), 0.0, 1.0)
    r = np.clip(1.5 - np.abs(4.0 * v - 3.0), 0.0, 1.0)
    g = np.clip(1.5 - np.abs(4.0 * v - 2.0), 0.0, 1.0)
    b = np.clip(1.5 - np.abs(4.0 * v - 1.0), 0.0, 1.0)
    return np.stack([r, g, b], axis=-1)


def render_overlay(
    pixels: np.ndarray, heatmap: np.ndarray | None = None, box: Box | None = None
) -> np.ndarray:
    """uint8 RGB (H, W, 3): the grayscale image, the heatmap in jet where it is hot,
    and the box as a 2-pixel green outline."""
    gray = np.clip(np.asarray(pixels, dtype=np.float64), 0.0, 1.0)
    rgb = np.repeat(gray[..., None], 3, axis=-1)
    if heatmap is not None:
        heat = np.clip(np.asarray(heatmap, dtype=np.float64), 0.0, 1.0)
        if heat.shape != gray.shape:
            raise ValueError(f"heatmap shape {heat.shape} differs from image {gray.shape}")
        alpha = np.where(heat > _ALPHA_FLOOR, _ALPHA_MAX * heat, 0.0)[..., None]
        rgb = rgb * (1.0 - alpha) + jet(heat) * alpha
    out = np.clip(np.rint(rgb * 255.0), 0, 255).astype(np.uint8)
    if box is not None:
        _draw_box(out, box, (0, 255, 0))
    return out


def _draw_box(rgb: np.ndarray, box: Box, colour: tuple[int, int, int], width: int = 2) -> None:
    h, w = rgb.shape[:2]
    x0, y0 = max(box.x, 0), max(box.y, 0)
    x1, y1 = min(box.x + box.width - 1, w - 1), min(box.y + box.height - 1, h - 1)
    c = np.array(colour, dtype=np.uint8)
    rgb[y0 : min(y0 + width, y1 + 1), x0 : x1 + 1] = c
    rgb[max(y1 - width + 1, y0) : y1 + 1, x0 : x1 + 1] = c
    rgb[y0 : y1 + 1, x0 : min(x0 + width, x1 + 1)] = c
    rgb[y0 : y1 + 1, max(x1 - width + 1, x0) : x1 + 1] = c


def save_png(rgb_or_gray: np.ndarray, path: Path) -> Path:
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    # zlib level 6 (the default): optimize=True costs seconds per 1024² overlay.
    Image.fromarray(np.ascontiguousarray(rgb_or_gray)).save(path, compress_level=6)
    return path


def to_uint8(pixels: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(np.asarray(pixels, dtype=np.float64) * 255.0), 0, 255).astype(np.uint8)
