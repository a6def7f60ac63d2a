"""Faults injected into the decoder process (``PixelDecoder(setup=install)``): pydicom's
decoder, wrapped, aborts the process, hangs or runs out of memory for an image of one
of the sizes below, and decodes every other image as usual. The abort and the
MemoryError are real (``os.abort()``, an allocation CPython cannot make)."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import numpy as np
import pydicom
from pydicom.uid import ExplicitVRLittleEndian, RLELossless

# (rows, columns) of the images that trigger each fault.
ABORT = (33, 31)
HANG = (37, 29)
MEMORY = (41, 23)


def install() -> None:
    """Run in the decoder process before its first decode."""
    from pydicom.pixels.decoders.base import Decoder

    original = Decoder.as_array

    def as_array(self: Any, src: Any, *args: Any, **kwargs: Any) -> Any:
        size = (int(kwargs.get("rows", 0)), int(kwargs.get("columns", 0)))
        if size == ABORT:
            os.abort()
        if size == HANG:
            time.sleep(3600)
        if size == MEMORY:
            bytearray(1 << 62)  # raises MemoryError
        return original(self, src, *args, **kwargs)

    Decoder.as_array = as_array  # type: ignore[method-assign]


def rle_file(path: Path, size: tuple[int, int] | None = None) -> Path:
    """The SIIM sample as RLE Lossless (compressed), or random pixels of ``size``."""
    from radpilot import samples

    ds = pydicom.dcmread(samples.get("siim_monochrome2.dcm"))
    if size is None:
        arr = ds.pixel_array
    else:
        arr = np.random.default_rng(0).integers(0, 255, size, np.uint8)
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.Rows, ds.Columns = arr.shape
    for keyword in ("LossyImageCompression", "LossyImageCompressionMethod"):
        if keyword in ds:
            delattr(ds, keyword)
    ds.compress(RLELossless, arr, encoding_plugin="pydicom")  # GDCM aborts on odd sizes
    ds.save_as(path, enforce_file_format=True)
    return path
