"""Image input: DICOM, PNG and JPEG files become display-ready ``Radiograph`` objects.

DICOM pixel handling follows PS3.3 C.11 in the order a viewer applies it:
stored values -> modality LUT (rescale slope/intercept or Modality LUT Sequence)
-> VOI (VOI LUT Sequence, else Window Center/Width, else the image's own min..max)
-> scaled to [0, 1] over the VOI's output range -> MONOCHROME1 inverted (1 - v), so
1 is always white (bone bright). RGB/YBR pictures become luminance (ITU-R BT.601).

Compressed transfer syntaxes (JPEG baseline/lossless, JPEG-LS, JPEG 2000, RLE) are
decoded by pydicom's pixel plugins (pylibjpeg, python-gdcm). Anything that cannot be
shown as one 2-D radiograph raises :class:`radpilot.errors.DicomError` (a DICOM file)
or :class:`radpilot.errors.InputError` (any other file), always naming the file.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from radpilot.errors import DicomError, InputError
from radpilot.imaging.model_api import ImageMeta, Radiograph

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = frozenset({".dcm", ".dicom", ".dic", ".png", ".jpg", ".jpeg"})
_PHOTOMETRICS = (
    "MONOCHROME1",
    "MONOCHROME2",
    "RGB",
    "YBR_FULL",
    "YBR_FULL_422",
    "YBR_ICT",
    "YBR_RCT",
    "PALETTE COLOR",
)
_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
_JPEG_MAGIC = b"\xff\xd8\xff"
# BT.601 luma, the weights PIL's "L" conversion uses.
_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float64)


def sniff_format(path: Path) -> str | None:
    """'dicom', 'png', 'jpeg' from the file's first bytes, or None."""
    try:
        with path.open("rb") as fh:
            head = fh.read(132)
    except OSError as exc:
        raise InputError(f"{path}: cannot open: {exc.strerror or exc}") from None
    if len(head) >= 132 and head[128:132] == b"DICM":
        return "dicom"
    if head.startswith(_PNG_MAGIC):
        return "png"
    if head.startswith(_JPEG_MAGIC):
        return "jpeg"
    return None


def read_image(path: str | Path) -> Radiograph:
    """Read one DICOM, PNG or JPEG file as a ``Radiograph``.

    >>> from radpilot import samples
    >>> rg = read_image(samples.get("siim_monochrome2.dcm"))
    >>> rg.pixels.dtype, rg.meta.photometric, rg.meta.view_position
    (dtype('float32'), 'MONOCHROME2', 'PA')
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    kind = sniff_format(path)
    if kind == "dicom":
        return _read_dicom(path)
    if kind in ("png", "jpeg"):
        return _read_picture(path, kind)
    if path.suffix.lower() in (".dcm", ".dicom", ".dic"):
        raise DicomError(
            f"{path}: not a DICOM file (no 'DICM' marker at byte 128; "
            "a file without the Part 10 header is not supported)"
        )
    raise InputError(f"{path}: not a DICOM, PNG or JPEG file (unrecognised content)")


def iter_image_files(paths: Iterable[str | Path]) -> Iterator[Path]:
    """Expand files and folders (recursively, sorted) into candidate image files.

    In a folder, files with an image suffix are taken, and suffix-less files when they
    carry the DICOM marker (PACS exports often have no suffix). Named files are always
    taken, so a wrong file given on purpose gets its own error.
    """
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            for child in sorted(path.rglob("*")):
                if not child.is_file() or child.name.startswith("."):
                    continue
                suffix = child.suffix.lower()
                if suffix in IMAGE_SUFFIXES:
                    yield child
                elif suffix == "" and sniff_format(child) == "dicom":
                    yield child
        else:
            yield path


# --------------------------------------------------------------------------- DICOM


def _read_dicom(path: Path) -> Radiograph:
    import pydicom
    from pydicom.errors import InvalidDicomError

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            ds = pydicom.dcmread(path)
        except InvalidDicomError as exc:
            raise DicomError(f"{path}: not a valid DICOM file ({_one_line(exc)})") from None
        except Exception as exc:  # cut-off headers surface as EOFError, OSError, ValueError...
            raise DicomError(f"{path}: unreadable DICOM header ({_one_line(exc)})") from None
    # pydicom stops quietly (or with a warning) where a file is cut off; say so.
    for warning in caught:
        text = str(warning.message)
        if "End of file" in text or "truncat" in text.lower():
            reason = " ".join(text.split()).replace(f" in file {path}", "")
            raise DicomError(f"{path}: truncated file ({reason})")
    if len(ds) == 0:
        raise DicomError(f"{path}: truncated or empty DICOM dataset (no elements after the header)")
    if "PixelData" not in ds and "FloatPixelData" not in ds and "DoubleFloatPixelData" not in ds:
        sop = getattr(ds.get("SOPClassUID"), "name", None) or "unknown"
        if "Rows" in ds:
            raise DicomError(
                f"{path}: no pixel data although the header describes an image "
                f"(SOP class {sop}); the file is truncated or the pixels were removed"
            )
        raise DicomError(f"{path}: no pixel data (SOP class {sop}); not an image or truncated")
    frames = int(ds.get("NumberOfFrames", 1) or 1)
    if frames > 1:
        raise DicomError(
            f"{path}: multi-frame image ({frames} frames); radpilot reads single-frame "
            "radiographs only — export the frame you want as its own image"
        )
    photometric = str(ds.get("PhotometricInterpretation", "")).strip().upper()
    supported = _PHOTOMETRICS
    if photometric not in supported:
        raise DicomError(
            f"{path}: unsupported PhotometricInterpretation {photometric or '(missing)'!r}; "
            f"supported: {', '.join(supported)}"
        )
    try:
        arr = ds.pixel_array
    except Exception as exc:  # decoder errors are plugin-specific; all mean "cannot decode"
        syntax = getattr(ds.file_meta, "TransferSyntaxUID", None)
        syntax_name = getattr(syntax, "name", str(syntax))
        raise DicomError(
            f"{path}: cannot decode pixel data ({syntax_name}): {_one_line(exc)}"
        ) from None

    pixels, voi = _dicom_to_display(arr, ds, photometric, path)
    meta = ImageMeta(
        path=str(path),
        source_format="dicom",
        patient_id=_text(ds, "PatientID"),
        study_uid=_text(ds, "StudyInstanceUID"),
        series_uid=_text(ds, "SeriesInstanceUID"),
        sop_uid=_text(ds, "SOPInstanceUID"),
        study_date=_text(ds, "StudyDate"),
        modality=_text(ds, "Modality"),
        view_position=_view_position(ds),
        body_part=_text(ds, "BodyPartExamined"),
        photometric=photometric,
        extra={
            "transfer_syntax": str(ds.file_meta.get("TransferSyntaxUID", "")),
            "sop_class_uid": _text(ds, "SOPClassUID"),
            "bits_stored": int(ds.get("BitsStored", 0) or 0),
            "voi": voi,
            "rows": int(pixels.shape[0]),
            "columns": int(pixels.shape[1]),
            "pixel_spacing": _spacing(ds),
        },
    )
    return Radiograph(pixels=pixels, meta=meta)


def _dicom_to_display(
    arr: np.ndarray, ds: Any, photometric: str, path: Path
) -> tuple[np.ndarray, str]:
    """Stored values -> float32 [0, 1], white = dense. Returns (pixels, VOI used)."""
    from pydicom.pixels import apply_modality_lut, apply_voi_lut

    if photometric in ("RGB", "YBR_FULL", "YBR_FULL_422", "YBR_ICT", "YBR_RCT", "PALETTE COLOR"):
        # pydicom converts YBR to RGB when decoding; palette needs its LUT applied first.
        if photometric == "PALETTE COLOR":
            from pydicom.pixels import apply_color_lut

            arr = apply_color_lut(arr, ds)
        if arr.ndim != 3 or arr.shape[-1] != 3:
            raise DicomError(f"{path}: colour image with unexpected shape {arr.shape}")
        bits = int(ds.get("BitsStored", 8) or 8)
        if photometric == "PALETTE COLOR":
            bits = 16 if arr.max() > 255 else 8
        gray = np.asarray(arr, dtype=np.float64) @ _LUMA
        return _finish(gray / float(2**bits - 1)), "rgb-luma"

    if arr.ndim != 2:
        raise DicomError(f"{path}: expected a 2-D grayscale image, got shape {arr.shape}")
    modality = np.asarray(apply_modality_lut(arr, ds))
    values = modality.astype(np.float64)
    voi = "none"
    low: float
    high: float
    if ds.get("VOILUTSequence"):
        # A VOI LUT is indexed by (integer) modality values.
        index = modality if modality.dtype.kind in "iu" else np.rint(modality).astype(np.int64)
        values = np.asarray(apply_voi_lut(index, ds, prefer_lut=True), dtype=np.float64)
        descriptor = ds.VOILUTSequence[0].LUTDescriptor
        low, high = 0.0, float(2 ** int(descriptor[2]) - 1)
        voi = "lut"
    elif "WindowCenter" in ds and "WindowWidth" in ds:
        try:
            values = np.asarray(apply_voi_lut(values, ds, prefer_lut=False), dtype=np.float64)
        except ValueError as exc:
            raise DicomError(f"{path}: invalid window: {_one_line(exc)}") from None
        low, high = _window_output_range(ds)
        voi = "window"
    else:
        low, high = 0.0, 0.0  # set below from the image's own range
    padding = _padding_mask(arr, ds)
    if voi == "none":
        # No VOI stored: show the image's own value range (padding excluded), as viewers do.
        real = values[~padding] if padding is not None and not padding.all() else values
        low, high = float(real.min()), float(real.max())
    if high <= low:
        scaled = np.zeros_like(values)
    else:
        scaled = (values - low) / (high - low)
    if photometric == "MONOCHROME1":
        scaled = 1.0 - np.clip(scaled, 0.0, 1.0)
    if padding is not None:
        scaled[padding] = 0.0  # padding is background: black whatever the photometric
    return _finish(scaled), voi


def _padding_mask(arr: np.ndarray, ds: Any) -> np.ndarray | None:
    """Stored values marked as padding (PS3.3 C.7.5.1.1.2): one value, or a range with
    Pixel Padding Range Limit."""
    value = ds.get("PixelPaddingValue")
    if value is None:
        return None
    limit = ds.get("PixelPaddingRangeLimit")
    if limit is None:
        mask = arr == int(value)
    else:
        lo, hi = sorted((int(value), int(limit)))
        mask = (arr >= lo) & (arr <= hi)
    return mask if mask.any() else None


def _window_output_range(ds: Any) -> tuple[float, float]:
    """The output range pydicom's ``apply_windowing`` maps a window onto."""
    bits = int(ds.BitsStored)
    if ds.get("ModalityLUTSequence"):
        lo, hi = 0.0, float(2 ** int(ds.ModalityLUTSequence[0].LUTDescriptor[2]) - 1)
    elif int(ds.get("PixelRepresentation", 0)) == 0:
        lo, hi = 0.0, float(2**bits - 1)
    else:
        lo, hi = float(-(2 ** (bits - 1))), float(2 ** (bits - 1) - 1)
    slope = ds.get("RescaleSlope")
    intercept = ds.get("RescaleIntercept")
    if slope is not None and intercept is not None:
        lo, hi = lo * float(slope) + float(intercept), hi * float(slope) + float(intercept)
    return min(lo, hi), max(lo, hi)


def _view_position(ds: Any) -> str | None:
    view = _text(ds, "ViewPosition")
    if view:
        return view.upper()
    # Some modalities leave ViewPosition empty and code the view instead.
    for item in ds.get("ViewCodeSequence", []) or []:
        meaning = str(item.get("CodeMeaning", "")).lower()
        # CID 4010 meanings: "lateral", "left lateral", "latero-medial", "postero-anterior"...
        if "lateral" in meaning or meaning.startswith("latero"):
            return "LATERAL"
        if "postero-anterior" in meaning or "posteroanterior" in meaning:
            return "PA"
        if "antero-posterior" in meaning or "anteroposterior" in meaning:
            return "AP"
    return None


def _spacing(ds: Any) -> list[float] | None:
    for key in ("PixelSpacing", "ImagerPixelSpacing"):
        value = ds.get(key)
        if value is not None and len(value) == 2:
            return [float(value[0]), float(value[1])]
    return None


def _text(ds: Any, keyword: str) -> str | None:
    value = ds.get(keyword)
    if value is None:
        return None
    text = str(value).strip()
    return text or None


# --------------------------------------------------------------------------- PNG / JPEG


def _read_picture(path: Path, kind: str) -> Radiograph:
    from PIL import Image, ImageOps, UnidentifiedImageError

    try:
        with Image.open(path) as opened:
            opened.load()
            img = ImageOps.exif_transpose(opened) or opened
            mode = img.mode
            pixels = _picture_to_gray(img, mode, path)
    except UnidentifiedImageError:
        raise InputError(f"{path}: not a readable {kind.upper()} image") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise InputError(f"{path}: corrupt or truncated {kind.upper()}: {_one_line(exc)}") from None
    meta = ImageMeta(
        path=str(path),
        source_format=kind,
        photometric="RGB" if mode in ("RGB", "RGBA", "P", "CMYK", "YCbCr") else "MONOCHROME2",
        extra={"mode": mode, "rows": int(pixels.shape[0]), "columns": int(pixels.shape[1])},
    )
    return Radiograph(pixels=pixels, meta=meta)


def _picture_to_gray(img: Any, mode: str, path: Path) -> np.ndarray:
    if mode in ("I;16", "I;16B", "I;16L"):
        return _finish(np.asarray(img, dtype=np.float64) / 65535.0)
    if mode == "I":
        arr = np.asarray(img, dtype=np.float64)
        top = 65535.0 if arr.max() > 255 else 255.0
        return _finish(arr / top)
    if mode == "F":
        arr = np.asarray(img, dtype=np.float64)
        lo, hi = float(arr.min()), float(arr.max())
        return _finish((arr - lo) / (hi - lo) if hi > lo else np.zeros_like(arr))
    if mode in ("1", "L"):
        return _finish(np.asarray(img.convert("L"), dtype=np.float64) / 255.0)
    if mode == "LA":
        return _finish(np.asarray(img, dtype=np.float64)[..., 0] / 255.0)
    rgb = np.asarray(img.convert("RGB"), dtype=np.float64)
    if rgb.ndim != 3:
        raise InputError(f"{path}: unsupported image mode {mode!r}")
    return _finish((rgb @ _LUMA) / 255.0)


def _finish(arr: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(np.clip(arr, 0.0, 1.0), dtype=np.float32)


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 200 else text[:197] + "..."
