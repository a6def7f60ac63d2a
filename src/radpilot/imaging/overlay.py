"""Heatmap overlays, the bounding box derived from a heatmap, and the burned-in caption.

Box rule (documented, tested): threshold the heatmap at ``BOX_FRACTION`` x its maximum,
keep the largest 8-connected component, and return its bounding box in image pixel
coordinates (x = column, y = row of the top-left corner, width, height). A heatmap
that is flat (max - min < ``FLAT_RANGE``) gives no box: it localises nothing.

Caption: every overlay carries, in a band above the image, the finding, its probability,
the decision at the operating point and "AI assist — not a diagnosis", so a copy of the
picture that travels without its JSON (or as a DICOM Secondary Capture) still says what
it is. The band is added above the image, so no anatomy is hidden; an image narrower
than ``MIN_CAPTION_WIDTH`` is enlarged (nearest neighbour) first so the text fits.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from radpilot.imaging.results import Box

BOX_FRACTION = 0.5
FLAT_RANGE = 1e-3
MIN_CAPTION_WIDTH = 320
DISCLAIMER_SHORT = "AI assist — not a diagnosis"
# Heat below this adds no colour, so the anatomy stays readable outside the hot region.
_ALPHA_FLOOR = 0.2
_ALPHA_MAX = 0.6

__all__ = ["Box", "box_from_heatmap", "burn_in", "caption", "jet", "render_overlay", "save_png"]


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
    v = np.clip(np.asarray(values, dtype=np.float32), 0.0, 1.0)
    r = np.clip(1.5 - np.abs(4.0 * v - 3.0), 0.0, 1.0)
    g = np.clip(1.5 - np.abs(4.0 * v - 2.0), 0.0, 1.0)
    b = np.clip(1.5 - np.abs(4.0 * v - 1.0), 0.0, 1.0)
    return np.stack([r, g, b], axis=-1)


def render_overlay(
    pixels: np.ndarray, heatmap: np.ndarray | None = None, box: Box | None = None
) -> np.ndarray:
    """uint8 RGB (H, W, 3): the grayscale image, the heatmap in jet where it is hot,
    and the box (in these pixels' coordinates) as a 2-pixel green outline. Float32
    throughout: a 4096 px overlay costs about 200 MB, not 800."""
    gray = np.clip(np.asarray(pixels, dtype=np.float32), 0.0, 1.0)
    rgb = np.repeat(gray[..., None], 3, axis=-1)
    if heatmap is not None:
        heat = np.clip(np.asarray(heatmap, dtype=np.float32), 0.0, 1.0)
        if heat.shape != gray.shape:
            raise ValueError(f"heatmap shape {heat.shape} differs from image {gray.shape}")
        alpha = np.where(heat > _ALPHA_FLOOR, _ALPHA_MAX * heat, 0.0).astype(np.float32)[..., None]
        rgb *= 1.0 - alpha
        rgb += jet(heat) * alpha
    out = np.clip(np.rint(rgb * 255.0), 0, 255).astype(np.uint8)
    if box is not None:
        _draw_box(out, box, (0, 255, 0))
    return out


def caption(label: str, probability: float, threshold: float, positive: bool) -> list[str]:
    """The lines burned into an overlay."""
    decision = "POSITIVE" if positive else "negative"
    return [
        f"{label}: p = {probability:.3f}, {decision} at operating point {threshold:.3f}",
        f"radpilot · {DISCLAIMER_SHORT}",
    ]


def burn_in(rgb: np.ndarray, lines: list[str]) -> np.ndarray:
    """``rgb`` with a black band above it holding ``lines`` in white."""
    from PIL import Image, ImageDraw, ImageFont

    height, width = rgb.shape[:2]
    scale = max(1, -(-MIN_CAPTION_WIDTH // width))
    if scale > 1:
        rgb = np.repeat(np.repeat(rgb, scale, axis=0), scale, axis=1)
        height, width = height * scale, width * scale
    size = max(10, width // 42)
    font = ImageFont.load_default(size=size)
    widest = max(_text_width(line, font, size) for line in lines)
    if widest > width - 8:  # shrink to fit rather than cut the disclaimer off
        size = max(6, int(size * (width - 8) / widest))
        font = ImageFont.load_default(size=size)
    step = size + size // 3
    band = step * len(lines) + size // 2
    canvas = Image.new("RGB", (width, height + band), (0, 0, 0))
    canvas.paste(Image.fromarray(np.ascontiguousarray(rgb)), (0, band))
    draw = ImageDraw.Draw(canvas)
    for i, line in enumerate(lines):
        _draw_text(draw, (4, size // 4 + i * step), line, font, size)
    return np.asarray(canvas)


# Pillow's built-in font has no em dash: the caption draws it as a line, so the burned-in
# text is the same on every machine (no system font is looked for).
_DASH = "—"


def _text_width(line: str, font: Any, size: int) -> float:
    from PIL import Image, ImageDraw

    probe = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    parts = line.split(_DASH)
    return sum(probe.textlength(part, font=font) for part in parts) + (len(parts) - 1) * size


def _draw_text(draw: Any, at: tuple[int, int], line: str, font: Any, size: int) -> None:
    x, y = at
    for n, part in enumerate(line.split(_DASH)):
        if n:
            mid = y + int(size * 0.55)
            draw.line(
                [(x + size // 8, mid), (x + size - size // 8, mid)],
                fill=(255, 255, 255),
                width=max(1, size // 12),
            )
            x += size
        draw.text((x, y), part, fill=(255, 255, 255), font=font)
        x += int(draw.textlength(part, font=font))


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
