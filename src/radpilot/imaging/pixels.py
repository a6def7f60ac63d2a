"""Memory limits for decoding and the integer-factor reduction readers apply while they
decode, so a huge image never exists as a full-size float array.

An image whose decoded size is above ``max_pixels`` (default 100 megapixels: 10,000 x
10,000) is refused before its pixels are decoded. One whose longer side is above
``working_side`` (default 4,096 px; no registered model looks at more than 512 px) is
reduced by the smallest integer factor that brings it within: each working pixel is the
mean of a factor x factor block, computed strip by strip from the decoded values in
their stored integer type. The factor is recorded (``meta.extra["downsampled"]``) and
boxes are reported in the source image's pixels.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np

DEFAULT_MAX_PIXELS = 100_000_000
# Seconds a compressed image may take to decode (in the decoder process) before it is
# stopped: far above the slowest real case (JPEG 2000 at the pixel limit, in BENCHMARKS.md).
DEFAULT_DECODE_SECONDS = 120.0
WORKING_SIDE = 4096
# Rows of source pixels reduced at a time: bounds the float copy to a strip.
STRIP_ROWS = 512
# BT.601 luma, the weights PIL's "L" conversion uses.
LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float64)


@dataclass(frozen=True)
class ReadLimits:
    """How large an image a reader accepts, the size it reduces larger ones to, and how
    long a compressed image may take to decode (``decode_seconds``)."""

    max_pixels: int = DEFAULT_MAX_PIXELS
    working_side: int = WORKING_SIDE
    decode_seconds: float = DEFAULT_DECODE_SECONDS

    def __post_init__(self) -> None:
        if self.max_pixels < 1:
            raise ValueError("max_pixels must be 1 or more")
        if self.working_side < 64:
            raise ValueError("working_side must be 64 or more")
        if not self.decode_seconds > 0:
            raise ValueError("decode_seconds must be above 0")

    def check_size(self, where: str, rows: int, columns: int) -> None:
        """Refuse an image above ``max_pixels`` before anything is decoded."""
        self.check_total(where, rows * columns, f"{columns}x{rows} pixels, ")

    def check_total(self, where: str, total: int, size: str = "") -> None:
        from radpilot.errors import InputError

        if total > self.max_pixels:
            raise InputError(
                f"{where}: image is {size}{total / 1e6:.1f} MP, above the limit of "
                f"{self.max_pixels / 1e6:.1f} MP (max_pixels); reduce it before reading or "
                "raise the limit"
            )

    def factor(self, rows: int, columns: int) -> int:
        """The integer reduction factor for an image of this size (1: none)."""
        return max(1, math.ceil(max(rows, columns) / self.working_side))


def block_mean(arr: np.ndarray, factor: int) -> np.ndarray:
    """Mean over ``factor`` x ``factor`` blocks (rows and columns that do not fill a
    whole block are dropped), as float32, one strip of rows at a time. ``arr`` is 2-D
    or 3-D (channels last). With factor 1 the values are only converted."""
    if factor == 1:
        return np.asarray(arr, dtype=np.float32)
    rows, cols = arr.shape[0] // factor, arr.shape[1] // factor
    out = np.empty((rows, cols, *arr.shape[2:]), dtype=np.float32)
    step = max(1, STRIP_ROWS // factor)
    for r0 in range(0, rows, step):
        r1 = min(rows, r0 + step)
        strip = np.asarray(arr[r0 * factor : r1 * factor, : cols * factor], dtype=np.float32)
        shaped = strip.reshape(r1 - r0, factor, cols, factor, *arr.shape[2:])
        out[r0:r1] = shaped.mean(axis=(1, 3))
    return out


def row_strips(rows: int, factor: int) -> Iterator[tuple[int, int]]:
    """(first, end) source rows of the strips a reader decodes and reduces in turn; each
    strip holds whole blocks, and rows that do not fill a block are left out."""
    usable = (rows // factor) * factor
    step = max(factor, (STRIP_ROWS // factor) * factor)
    for r0 in range(0, usable, step):
        yield r0, min(usable, r0 + step)


def finish(arr: np.ndarray) -> np.ndarray:
    """Display pixels: float32 in [0, 1], contiguous."""
    return np.ascontiguousarray(np.clip(arr, 0.0, 1.0), dtype=np.float32)


def one_line(exc: BaseException) -> str:
    """An exception's message on one line, short, with quoted values left out: a
    decoder's message may quote a header value (a name, an ID), never wanted in a log."""
    import re

    text = " ".join(str(exc).split()) or type(exc).__name__
    text = re.sub(r"'[^']*'|\"[^\"]*\"", "'…'", text)
    return text if len(text) <= 200 else text[:197] + "..."


def shown(value: object, limit: int = 32) -> str:
    """A header value fit for a message: printable ASCII on one line, at most ``limit``
    characters, quoted. Only coded values (view, body part, modality...) are ever shown;
    a damaged file can put anything in them, a line break included."""
    text = "".join(ch if 32 <= ord(ch) < 127 else "?" for ch in str(value))
    text = " ".join(text.split())
    return repr(text if len(text) <= limit else text[: limit - 1] + "…")


def uid_name(uid: object) -> str:
    """The registered name of a DICOM UID (SOP class, transfer syntax), else "unknown"
    (an unregistered UID is never echoed: it may be junk from a damaged file)."""
    from pydicom.uid import UID_dictionary

    entry = UID_dictionary.get(str(uid).strip())
    return str(entry[0]) if entry else "unknown"


@contextmanager
def native_stderr_quiet() -> Iterator[None]:
    """Decoders written in C (libjpeg, OpenJPEG) print their warnings straight to file
    descriptor 2 ("Corrupt JPEG data: 11 extraneous bytes"), naming no file and breaking
    the one-line-per-file promise; radpilot reports a failed decode itself. Silenced for
    the duration, unless radpilot runs at DEBUG (``--verbose``). Radpilot decodes in one
    thread, so nothing else is silenced with it."""
    import logging
    import os
    import sys

    if logging.getLogger().isEnabledFor(logging.DEBUG):
        yield
        return
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError, AttributeError):
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)
