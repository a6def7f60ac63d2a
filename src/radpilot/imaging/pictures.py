"""PNG and JPEG input: a picture becomes display pixels in [0, 1] (1 = white).

Bit depth. 8-bit samples are divided by 255. A 16-bit grayscale PNG often holds fewer
significant bits (12-bit detector data stored unscaled in 16-bit samples): dividing it
by 65535 shows a nearly black image. The divisor is therefore 2^b - 1 where b is the
PNG ``sBIT`` chunk's significant bits when the file has one and its values fit them,
else the bit length of the largest value in the image (values up to 4095 -> 12 bits).
A file whose values exceed its sBIT was scaled up to 16 bits as the PNG specification
says, and is divided by 65535. Which rule applied is recorded (``meta.extra["scaling"]``)
and reported with the result.

Memory. The size is checked against ``ReadLimits.max_pixels`` from the header, before
decoding. A JPEG larger than the working size is decoded at 1/2, 1/4 or 1/8 scale by
libjpeg itself (``draft``); the rest is reduced strip by strip (``pixels.block_mean``),
so the only full-size buffer is the decoder's own, in its stored type.
"""

from __future__ import annotations

import re
import struct
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import numpy as np

from radpilot.errors import InputError
from radpilot.imaging.model_api import ImageMeta, Radiograph
from radpilot.imaging.pixels import (
    LUMA,
    ReadLimits,
    block_mean,
    finish,
    native_stderr_quiet,
    one_line,
    row_strips,
)

_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
_GRAY_INT_MODES = ("I;16", "I;16B", "I;16L", "I;16N", "I")
_COLOUR_MODES = ("RGB", "RGBA", "RGBX", "P", "PA", "CMYK", "YCbCr", "LAB", "HSV", "RGBa")
# A pixel counts as coloured when its channels differ by more than this (of 255).
_CHROMA = 0.1 * 255
_EXIF_ORIENTATION = 0x0112


@dataclass(frozen=True)
class PngHeader:
    width: int
    height: int
    bit_depth: int
    colour_type: int
    significant_bits: tuple[int, ...] | None  # the sBIT chunk, when present


def png_header(fh: IO[bytes]) -> PngHeader | None:
    """IHDR and sBIT from the chunks before the image data (the stream is rewound)."""
    start = fh.tell()
    try:
        if fh.read(8) != _PNG_MAGIC:
            return None
        ihdr: tuple[int, ...] | None = None
        sbit: tuple[int, ...] | None = None
        for _ in range(64):  # the chunks that may precede IDAT are few
            head = fh.read(8)
            if len(head) < 8:
                break
            length, kind = struct.unpack(">I4s", head)
            if kind == b"IDAT" or length > 1 << 20:
                break
            data = fh.read(length)
            fh.seek(4, 1)  # CRC
            if kind == b"IHDR" and len(data) >= 10:
                ihdr = struct.unpack(">IIBB", data[:10])
            elif kind == b"sBIT":
                sbit = tuple(data)
        if ihdr is None:
            return None
        return PngHeader(ihdr[0], ihdr[1], ihdr[2], ihdr[3], sbit)
    finally:
        fh.seek(start)


def read_picture(fh: IO[bytes], path: Path, kind: str, limits: ReadLimits) -> Radiograph:
    """Decode a PNG or JPEG from an open file (``kind``: "png" or "jpeg")."""
    from PIL import Image, UnidentifiedImageError

    header = png_header(fh) if kind == "png" else None
    if header is not None:  # refuse from the header, before Pillow allocates anything
        limits.check_size(str(path), header.height, header.width)
    try:
        with warnings.catch_warnings():
            # radpilot applies its own pixel limit (ReadLimits) before decoding.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(fh) as img:
                return _decode(img, path, kind, limits, header)
    except UnidentifiedImageError:
        raise InputError(f"{path}: not a readable {kind.upper()} image") from None
    except Image.DecompressionBombError as exc:
        # Pillow refuses before saying the size; its message holds the pixel count.
        found = re.search(r"\((\d+) pixels\)", str(exc))
        if found:
            limits.check_total(str(path), int(found.group(1)))
        raise InputError(
            f"{path}: image is larger than Pillow decodes (its decompression-bomb limit); "
            "reduce it before reading"
        ) from None
    except (OSError, SyntaxError, ValueError, struct.error, EOFError) as exc:
        raise InputError(f"{path}: corrupt or truncated {kind.upper()}: {one_line(exc)}") from None


def _decode(
    img: Any, path: Path, kind: str, limits: ReadLimits, header: PngHeader | None
) -> Radiograph:
    columns, rows = img.size
    limits.check_size(str(path), rows, columns)
    if kind == "jpeg" and limits.factor(rows, columns) > 1:
        # libjpeg scales by 1/2, 1/4 or 1/8 while decoding: no full-size buffer at all.
        wanted = limits.factor(rows, columns)
        img.draft("L" if img.mode in ("L", "1") else "RGB", (columns // wanted, rows // wanted))
    with native_stderr_quiet():
        img.load()
    mode = img.mode
    factor = limits.factor(img.size[1], img.size[0])  # what draft did is already done
    colour = 0.0
    if mode in _GRAY_INT_MODES:
        pixels, scaling = _integer_gray(img, factor, header)
    elif mode == "F":
        pixels, scaling = _float_gray(img, factor), "float: own min..max"
    elif mode in ("1", "L", "LA", "La"):
        pixels, scaling = _strips(img, factor, "L")[0] / 255.0, "8-bit: /255"
    elif mode in _COLOUR_MODES:
        rgb, colour = _strips(img, factor, "RGB")
        pixels, scaling = (rgb @ LUMA.astype(np.float32)) / 255.0, "8-bit colour: luma /255"
    else:
        raise InputError(f"{path}: unsupported image mode {mode!r}")
    orientation = _orientation(img)
    pixels = _apply_orientation(finish(pixels), orientation)
    if orientation in _SWAPS_AXES:
        rows, columns = columns, rows
    meta = ImageMeta(
        path=str(path),
        source_format=kind,
        photometric="RGB" if mode in _COLOUR_MODES else "MONOCHROME2",
        extra={
            "mode": mode,
            "rows": int(rows),
            "columns": int(columns),
            "scaling": scaling,
            "colour_fraction": round(colour, 4),
            "downsampled": _scale(rows, columns, pixels.shape),
        },
    )
    return Radiograph(pixels=pixels, meta=meta)


def _scale(rows: int, columns: int, shape: tuple[int, ...]) -> float:
    """Source pixels per working pixel (1 when the image was not reduced)."""
    if (rows, columns) == tuple(shape[:2]):
        return 1
    return round(columns / shape[1], 4)


def _strips(img: Any, factor: int, mode: str) -> tuple[np.ndarray, float]:
    """The picture in ``mode`` reduced by ``factor``, one strip of rows at a time, and
    the fraction of its pixels that are coloured (0 for ``"L"``)."""
    columns, rows = img.size
    parts: list[np.ndarray] = []
    coloured = 0
    counted = 0
    for r0, r1 in row_strips(rows, factor):
        strip = img.crop((0, r0, columns, r1))
        if strip.mode != mode:
            strip = strip.convert(mode)
        arr = np.asarray(strip)
        if mode == "RGB":
            chroma = arr.max(axis=-1).astype(np.int16) - arr.min(axis=-1)
            coloured += int(np.count_nonzero(chroma > _CHROMA))
            counted += chroma.size
        parts.append(block_mean(arr, factor))
    if not parts:
        raise InputError("image has no rows")
    out = np.concatenate(parts, axis=0)
    return out, (coloured / counted if counted else 0.0)


def _integer_gray(img: Any, factor: int, header: PngHeader | None) -> tuple[np.ndarray, str]:
    columns, rows = img.size
    parts: list[np.ndarray] = []
    top = 0
    for r0, r1 in row_strips(rows, factor):
        arr = np.asarray(img.crop((0, r0, columns, r1)))
        top = max(top, int(arr.max()) if arr.size else 0)
        parts.append(block_mean(arr, factor))
    reduced = np.concatenate(parts, axis=0)
    bits, scaling = _bits(top, header)
    return reduced / float(2**bits - 1), scaling


def _bits(top: int, header: PngHeader | None) -> tuple[int, str]:
    """Significant bits of a 16-bit grayscale picture, and how they were found."""
    depth = header.bit_depth if header is not None else 16
    sbit = header.significant_bits if header is not None else None
    if sbit:
        declared = int(sbit[0])
        if 1 <= declared <= depth and top <= 2**declared - 1:
            return declared, f"{depth}-bit PNG, sBIT {declared}: /{2**declared - 1}"
        if 1 <= declared < depth:
            return depth, f"{depth}-bit PNG scaled to full range (sBIT {declared}): /{2**depth - 1}"
    bits = min(max(top.bit_length(), 1), 16)
    return (
        bits,
        f"{depth}-bit picture, no sBIT; largest value {top} fits {bits} bits: /{2**bits - 1}",
    )


def _float_gray(img: Any, factor: int) -> np.ndarray:
    arr = block_mean(np.asarray(img), factor)
    lo, hi = float(arr.min()), float(arr.max())
    return (arr - lo) / (hi - lo) if hi > lo else np.zeros_like(arr)


def _orientation(img: Any) -> int:
    try:
        value = img.getexif().get(_EXIF_ORIENTATION, 1)
        return int(value) if 1 <= int(value) <= 8 else 1
    except Exception:  # a malformed EXIF block is no reason to refuse the picture
        return 1


_SWAPS_AXES = frozenset({5, 6, 7, 8})
# EXIF orientation -> the transpose PIL's ``exif_transpose`` applies (checked by a test).
_TRANSPOSES = {
    2: lambda a: a[:, ::-1],
    3: lambda a: a[::-1, ::-1],
    4: lambda a: a[::-1, :],
    5: lambda a: a.T,
    6: lambda a: np.rot90(a, -1),
    7: lambda a: a[::-1, ::-1].T,
    8: lambda a: np.rot90(a, 1),
}


def _apply_orientation(px: np.ndarray, orientation: int) -> np.ndarray:
    """EXIF orientation applied to the reduced pixels (not to a full-size copy)."""
    op = _TRANSPOSES.get(orientation)
    return px if op is None else np.ascontiguousarray(op(px))
