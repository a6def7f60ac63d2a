"""Builders for the image-input tests: real DICOM files made at test time from the
shipped SIIM sample (every transfer syntax and pixel-module variant the reader must
handle), and a small deterministic model that follows the ImageModel protocol."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pydicom
from pydicom.dataset import Dataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

from radpilot import samples
from radpilot.imaging.model_api import Radiograph

SIIM = "siim_monochrome2.dcm"


def siim_raw() -> np.ndarray:
    """The SIIM sample's stored values (uint8, 1024x1024), decoded once."""
    return np.asarray(pydicom.dcmread(samples.get(SIIM)).pixel_array)


def reference_pixels() -> np.ndarray:
    """What a correct reader shows for the SIIM sample: its own min..max to 0..1."""
    raw = siim_raw().astype(np.float64)
    return (raw - raw.min()) / (raw.max() - raw.min())


def uncompressed(pixels: np.ndarray | None = None, **attrs: object) -> Dataset:
    """The SIIM header with native (uncompressed) pixels; attrs override elements."""
    ds = pydicom.dcmread(samples.get(SIIM))
    arr = siim_raw() if pixels is None else pixels
    for keyword in ("LossyImageCompression", "LossyImageCompressionMethod"):
        if keyword in ds:
            delattr(ds, keyword)
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.SOPInstanceUID = generate_uid()
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    if arr.dtype.itemsize == 2:
        ds.BitsAllocated = 16
        ds.BitsStored = 16
        ds.HighBit = 15
    ds.Rows, ds.Columns = int(arr.shape[0]), int(arr.shape[1])
    ds.PixelData = np.ascontiguousarray(arr).tobytes()
    for key, value in attrs.items():
        setattr(ds, key, value)
    return ds


def save(ds: Dataset, path: Path) -> Path:
    ds.save_as(path, enforce_file_format=True)
    return path


def jpeg_lossless_with_gdcm(src: Path, dst: Path) -> Path:
    """JPEG Lossless SV1 (process 14): pydicom has no encoder for it, gdcm has."""
    import gdcm

    reader = gdcm.ImageReader()
    reader.SetFileName(str(src))
    assert reader.Read(), f"gdcm could not read {src}"
    change = gdcm.ImageChangeTransferSyntax()
    change.SetTransferSyntax(gdcm.TransferSyntax(gdcm.TransferSyntax.JPEGLosslessProcess14_1))
    change.SetInput(reader.GetImage())
    assert change.Change(), "gdcm could not encode JPEG lossless"
    writer = gdcm.ImageWriter()
    writer.SetFileName(str(dst))
    writer.SetFile(reader.GetFile())
    writer.SetImage(change.GetOutput())
    assert writer.Write(), f"gdcm could not write {dst}"
    return dst


class BrightRegionModel:
    """A deterministic two-finding model for pipeline tests: probability from how
    bright the image is overall and in its upper-left quarter; heatmap = smoothed
    brightness. Thresholds are set so the SIIM sample is positive for 'Pneumonia'."""

    name = "bright-region-test"
    labels: Sequence[str] = ("Pneumonia", "Pneumothorax")

    def __init__(self, on_predict: Callable[[Radiograph], None] | None = None) -> None:
        self.thresholds = {"Pneumonia": 0.3, "Pneumothorax": 0.95}
        self.calls = 0
        self._on_predict = on_predict

    def predict(self, images: Sequence[Radiograph]) -> np.ndarray:
        self.calls += 1
        rows = []
        for im in images:
            if self._on_predict is not None:
                self._on_predict(im)
            h, w = im.pixels.shape
            rows.append([float(im.pixels.mean()), float(im.pixels[: h // 2, : w // 2].mean()) / 2])
        return np.asarray(rows, dtype=np.float64)

    def heatmap(self, image: Radiograph, label: str) -> np.ndarray:
        from scipy import ndimage

        smooth = ndimage.gaussian_filter(image.pixels.astype(np.float64), 8)
        lo, hi = smooth.min(), smooth.max()
        return ((smooth - lo) / (hi - lo if hi > lo else 1.0)).astype(np.float32)
