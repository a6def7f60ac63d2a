"""Image input: DICOM, PNG and JPEG files become display-ready ``Radiograph`` objects.

DICOM pixel handling follows PS3.3 C.11 in the order a viewer applies it:
stored values -> modality LUT (rescale slope/intercept or Modality LUT Sequence)
-> VOI (VOI LUT Sequence, else Window Center/Width, else the image's own min..max)
-> scaled to [0, 1] over the VOI's output range -> MONOCHROME1 inverted (1 - v), so
1 is always white (bone bright). RGB/YBR pictures become luminance (ITU-R BT.601).

Compressed transfer syntaxes (JPEG baseline/lossless, JPEG-LS, JPEG 2000, RLE) are
decoded by pydicom's pixel plugins (pylibjpeg, python-gdcm) in a decoder process
(:mod:`radpilot.imaging.decoder`): a native decoder that crashes or hangs on a damaged
file costs that file, not the batch. Uncompressed pixel data is read in-process. Anything that cannot be
shown as one 2-D radiograph raises :class:`radpilot.errors.DicomError` (a DICOM file)
or :class:`radpilot.errors.InputError` (any other file), always naming the file, never
quoting a header value.

Every file is opened once: the format is sniffed from the open file, which is then
decoded (PNG/JPEG: :mod:`radpilot.imaging.pictures`). Sizes are checked against
:class:`~radpilot.imaging.pixels.ReadLimits` before decoding, and images larger than the
working size are reduced while they are converted (:mod:`radpilot.imaging.pixels`).
"""

from __future__ import annotations

import logging
import os
import warnings
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import numpy as np

from radpilot.errors import DicomError, InputError
from radpilot.imaging.decoder import PixelDecoder, is_encapsulated
from radpilot.imaging.model_api import ImageMeta, Radiograph
from radpilot.imaging.pictures import read_picture
from radpilot.imaging.pixels import (
    LUMA,
    ReadLimits,
    block_mean,
    finish,
    native_stderr_quiet,
    one_line,
    shown,
    uid_name,
)

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = frozenset({".dcm", ".dicom", ".dic", ".png", ".jpg", ".jpeg"})
_DICOM_SUFFIXES = (".dcm", ".dicom", ".dic")
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
_COLOUR_PHOTOMETRICS = _PHOTOMETRICS[2:]
_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
_JPEG_MAGIC = b"\xff\xd8\xff"
# Bytes a stored pixel can take at most (16-bit RGB): a larger file cannot hold an image
# within the pixel limit plus a header, and is refused before it is read.
_MAX_BYTES_PER_PIXEL = 6
_HEADER_SLACK = 64 << 20


class NotAnImage(InputError):
    """A file found in a folder that holds no image (a suffix-less non-DICOM file)."""


@dataclass(frozen=True)
class ImageFile:
    """A file to read. ``optional``: found in a folder without an image suffix, so it
    is read only if it turns out to be DICOM (PACS exports often have no suffix)."""

    path: Path
    optional: bool = False


def sniff_bytes(head: bytes) -> str | None:
    """'dicom', 'png', 'jpeg' from a file's first 132 bytes, or None."""
    if len(head) >= 132 and head[128:132] == b"DICM":
        return "dicom"
    if head.startswith(_PNG_MAGIC):
        return "png"
    if head.startswith(_JPEG_MAGIC):
        return "jpeg"
    return None


def sniff_format(path: Path) -> str | None:
    """'dicom', 'png', 'jpeg' from the file's first bytes, or None."""
    try:
        with path.open("rb") as fh:
            return sniff_bytes(fh.read(132))
    except OSError as exc:
        raise InputError(f"{path}: cannot open: {exc.strerror or exc}") from None


def read_image(
    path: str | Path,
    *,
    limits: ReadLimits | None = None,
    optional: bool = False,
    decoder: PixelDecoder | None = None,
) -> Radiograph:
    """Read one DICOM, PNG or JPEG file as a ``Radiograph``, opening it once.

    The DICOM dataset is kept on the result (``dataset``, without its pixel data), so
    the DICOM outputs never read the file again. ``optional``: a file that is not DICOM
    raises :class:`NotAnImage` (see :class:`ImageFile`). ``decoder``: the batch's
    decoder process for compressed DICOM pixel data (without one, a decoder process is
    started for this file and ended after it).

    >>> from radpilot import samples
    >>> rg = read_image(samples.get("siim_monochrome2.dcm"))
    >>> rg.pixels.dtype, rg.meta.photometric, rg.meta.view_position
    (dtype('float32'), 'MONOCHROME2', 'PA')
    """
    path = Path(path)
    limits = limits or ReadLimits()
    try:
        fh = path.open("rb")
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise InputError(f"{path}: is a folder, not an image file") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot open: {exc.strerror or type(exc).__name__}") from None
    with fh:
        kind = sniff_bytes(fh.read(132))
        fh.seek(0)
        if optional and kind != "dicom":
            raise NotAnImage(f"{path}: not an image")
        if kind == "dicom":
            return _read_dicom(fh, path, limits, decoder)
        if kind in ("png", "jpeg"):
            return read_picture(fh, path, kind, limits)
    if path.suffix.lower() in _DICOM_SUFFIXES:
        raise DicomError(
            f"{path}: not a DICOM file (no 'DICM' marker at byte 128; "
            "a file without the Part 10 header is not supported)"
        )
    raise InputError(f"{path}: not a DICOM, PNG or JPEG file (unrecognised content)")


def iter_candidates(paths: Iterable[str | Path]) -> Iterator[ImageFile]:
    """Expand files and folders (recursively, sorted) into files to read.

    In a folder, files with an image suffix are taken, and suffix-less files as
    ``optional`` (kept only if they are DICOM). Named files are always taken, so a wrong
    file given on purpose gets its own error. Nothing is opened here: each file is
    opened once, by :func:`read_image`.
    """
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            for child in sorted(path.rglob("*")):
                if not child.is_file() or child.name.startswith("."):
                    continue
                suffix = child.suffix.lower()
                if suffix in IMAGE_SUFFIXES:
                    yield ImageFile(child)
                elif suffix == "":
                    yield ImageFile(child, optional=True)
        else:
            yield ImageFile(path)


def iter_image_files(paths: Iterable[str | Path]) -> Iterator[Path]:
    """The image files under ``paths`` (suffix-less folder files only when DICOM)."""
    for candidate in iter_candidates(paths):
        if not candidate.optional or sniff_format(candidate.path) == "dicom":
            yield candidate.path


# --------------------------------------------------------------------------- DICOM


@contextmanager
def quiet_pydicom() -> Iterator[list[warnings.WarningMessage]]:
    """pydicom without its own warnings and log lines (they quote header values: a
    patient's name in "Invalid value for VR ..."); radpilot reports problems itself.
    Invalid values are read leniently (reading validation off) for the duration, and
    pydicom's log records are dropped unless radpilot runs at DEBUG (``--verbose``)."""
    from pydicom import config

    saved = config.settings.reading_validation_mode
    pydicom_log = logging.getLogger("pydicom")  # its children log through it
    propagate = pydicom_log.propagate
    config.settings.reading_validation_mode = config.IGNORE
    pydicom_log.propagate = logging.getLogger().isEnabledFor(logging.DEBUG)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            yield caught
    finally:
        pydicom_log.propagate = propagate
        config.settings.reading_validation_mode = saved


def _read_dicom(
    fh: IO[bytes], path: Path, limits: ReadLimits, decoder: PixelDecoder | None
) -> Radiograph:
    with quiet_pydicom() as caught:
        image = _read_dicom_quietly(fh, path, limits, caught, decoder)
    log.debug("%s: pydicom raised %d warning(s) while reading", path, len(caught))
    return image


def _read_dicom_quietly(
    fh: IO[bytes],
    path: Path,
    limits: ReadLimits,
    caught: list[warnings.WarningMessage],
    decoder: PixelDecoder | None,
) -> Radiograph:
    size = os.fstat(fh.fileno()).st_size
    if size > limits.max_pixels * _MAX_BYTES_PER_PIXEL + _HEADER_SLACK:
        raise DicomError(
            f"{path}: file is {size / 2**20:,.0f} MiB, more than an image within the pixel "
            f"limit ({limits.max_pixels / 1e6:.1f} MP, max_pixels) can take"
        )
    ds = _parse_dicom(fh, path, caught)
    _check_dicom_image(ds, path)
    rows, columns = int(ds.get("Rows", 0) or 0), int(ds.get("Columns", 0) or 0)
    limits.check_size(str(path), rows, columns)
    photometric = str(ds.get("PhotometricInterpretation", "")).strip().upper()
    if photometric not in _PHOTOMETRICS:
        raise DicomError(
            f"{path}: unsupported PhotometricInterpretation {shown(photometric or '(missing)')}; "
            f"supported: {', '.join(_PHOTOMETRICS)}"
        )
    arr = _stored_values(ds, path, limits, decoder)
    factor = limits.factor(*arr.shape[:2])
    pixels, voi = _dicom_to_display(arr, ds, photometric, path, factor)
    del arr
    meta = _dicom_meta(ds, path, photometric, voi, rows, columns, factor)
    for keyword in ("PixelData", "FloatPixelData", "DoubleFloatPixelData"):
        if keyword in ds:
            delattr(ds, keyword)  # the header is kept for the DICOM outputs; pixels are not
    return Radiograph(pixels=pixels, meta=meta, dataset=ds)


def _stored_values(
    ds: Any, path: Path, limits: ReadLimits, decoder: PixelDecoder | None
) -> np.ndarray:
    """The stored pixel values: compressed data in the decoder process, plain values here."""
    if is_encapsulated(ds):
        if decoder is not None:
            return decoder.decode(ds, path, timeout=limits.decode_seconds)
        with PixelDecoder() as own:
            return own.decode(ds, path, timeout=limits.decode_seconds)
    try:
        with native_stderr_quiet():
            return np.asarray(ds.pixel_array)
    except Exception as exc:  # numpy reshape errors, a missing element...: "cannot decode"
        syntax_name = uid_name(getattr(ds.file_meta, "TransferSyntaxUID", ""))
        raise DicomError(
            f"{path}: cannot decode pixel data ({syntax_name}): {one_line(exc)}"
        ) from None


STUDY_TAGS = (
    "StudyInstanceUID",
    "PatientID",
    "AccessionNumber",
    "StudyDescription",
    "Modality",
    "BodyPartExamined",
    "StudyDate",
)


def read_study_tags(path: str | Path) -> dict[str, str | None]:
    """The study-level header of a DICOM file (``STUDY_TAGS``), without reading its
    pixels: what a worklist needs to place a study. ``DicomError`` names the file."""
    path = Path(path)
    try:
        with quiet_pydicom() as caught, path.open("rb") as fh:
            ds = _parse_dicom(fh, path, caught, stop_before_pixels=True)
    except OSError as exc:
        raise DicomError(f"{path}: cannot read ({exc.strerror or exc})") from None
    return {tag: _text(ds, tag) for tag in STUDY_TAGS}


def _parse_dicom(
    fh: IO[bytes],
    path: Path,
    caught: list[warnings.WarningMessage],
    *,
    stop_before_pixels: bool = False,
) -> Any:
    import pydicom
    from pydicom.errors import InvalidDicomError

    try:
        ds = pydicom.dcmread(fh, stop_before_pixels=stop_before_pixels)
    except InvalidDicomError as exc:
        raise DicomError(f"{path}: not a valid DICOM file ({one_line(exc)})") from None
    except Exception as exc:  # cut-off headers surface as EOFError, OSError, ValueError...
        raise DicomError(
            f"{path}: unreadable DICOM header ({type(exc).__name__}: {one_line(exc)})"
        ) from None
    # pydicom stops quietly (or with a warning) where a file is cut off; say so.
    for warning in caught:
        text = str(warning.message)
        if "End of file" in text or "truncat" in text.lower():
            raise DicomError(f"{path}: truncated file ({one_line(Exception(text))})")
    if len(ds) == 0:
        raise DicomError(f"{path}: truncated or empty DICOM dataset (no elements after the header)")
    return ds


def _check_dicom_image(ds: Any, path: Path) -> None:
    if "PixelData" not in ds and "FloatPixelData" not in ds and "DoubleFloatPixelData" not in ds:
        sop = uid_name(ds.get("SOPClassUID", ""))
        if "Rows" in ds:
            raise DicomError(
                f"{path}: no pixel data although the header describes an image "
                f"(SOP class {sop}); the file is truncated or the pixels were removed"
            )
        raise DicomError(f"{path}: no pixel data (SOP class {sop}); not an image or truncated")
    try:
        frames = int(ds.get("NumberOfFrames", 1) or 1)
    except (TypeError, ValueError):
        raise DicomError(f"{path}: NumberOfFrames is not a number") from None
    if frames > 1:
        raise DicomError(
            f"{path}: multi-frame image ({frames} frames); radpilot reads single-frame "
            "radiographs only — export the frame you want as its own image"
        )


def _dicom_meta(
    ds: Any, path: Path, photometric: str, voi: str, rows: int, columns: int, factor: int
) -> ImageMeta:
    return ImageMeta(
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
            "bits_stored": _int(ds, "BitsStored"),
            "voi": voi,
            "scaling": _VOI_SCALING[voi],
            "rows": rows,
            "columns": columns,
            "downsampled": factor,
            "pixel_spacing": _spacing(ds),
            "colour_fraction": 0.0,
        },
    )


_VOI_SCALING = {
    "lut": "DICOM VOI LUT",
    "window": "DICOM window centre/width",
    "none": "DICOM: no VOI stored; own value range",
    "rgb-luma": "DICOM colour: luma over the stored bit depth",
}


def _dicom_to_display(
    arr: np.ndarray, ds: Any, photometric: str, path: Path, factor: int = 1
) -> tuple[np.ndarray, str]:
    """Stored values -> float32 [0, 1], white = dense. Returns (pixels, VOI used).

    With ``factor`` > 1 the stored values are block-averaged first (in strips) and the
    modality and VOI transforms run on the reduced image: rescale and windows are linear
    (clipping aside), and a LUT is looked up at the rounded mean."""
    if photometric in _COLOUR_PHOTOMETRICS:
        return _colour_to_display(arr, ds, photometric, path, factor), "rgb-luma"
    if arr.ndim != 2:
        raise DicomError(f"{path}: expected a 2-D grayscale image, got shape {arr.shape}")
    padding = _padding_mask(arr, ds)
    if factor > 1:
        padding = None if padding is None else block_mean(padding, factor) > 0.5
        stored = np.rint(block_mean(arr, factor)).astype(np.int64)
    else:
        stored = arr
    values, low, high, voi = _modality_and_voi(stored, ds, path)
    if voi == "none":
        # No VOI stored: show the image's own value range (padding excluded), as viewers do.
        real = values[~padding] if padding is not None and not padding.all() else values
        low, high = float(real.min()), float(real.max())
    scaled = np.zeros_like(values) if high <= low else (values - low) / (high - low)
    if photometric == "MONOCHROME1":
        scaled = 1.0 - np.clip(scaled, 0.0, 1.0)
    if padding is not None:
        scaled[padding] = 0.0  # padding is background: black whatever the photometric
    return finish(scaled), voi


def _modality_and_voi(
    stored: np.ndarray, ds: Any, path: Path
) -> tuple[np.ndarray, float, float, str]:
    """Modality LUT then VOI (PS3.3 C.11): values and the output range they span."""
    from pydicom.pixels import apply_modality_lut, apply_voi_lut

    modality = np.asarray(apply_modality_lut(stored, ds))
    values = modality.astype(np.float64)
    if ds.get("VOILUTSequence"):
        # A VOI LUT is indexed by (integer) modality values.
        index = modality if modality.dtype.kind in "iu" else np.rint(modality).astype(np.int64)
        values = np.asarray(apply_voi_lut(index, ds, prefer_lut=True), dtype=np.float64)
        descriptor = ds.VOILUTSequence[0].LUTDescriptor
        return values, 0.0, float(2 ** int(descriptor[2]) - 1), "lut"
    if "WindowCenter" in ds and "WindowWidth" in ds:
        try:
            values = np.asarray(apply_voi_lut(values, ds, prefer_lut=False), dtype=np.float64)
        except ValueError as exc:
            raise DicomError(f"{path}: invalid window: {one_line(exc)}") from None
        low, high = _window_output_range(ds)
        return values, low, high, "window"
    return values, 0.0, 0.0, "none"  # the range is set from the image itself


def _colour_to_display(
    arr: np.ndarray, ds: Any, photometric: str, path: Path, factor: int
) -> np.ndarray:
    # pydicom converts YBR to RGB when decoding; palette needs its LUT applied first.
    if photometric == "PALETTE COLOR":
        from pydicom.pixels import apply_color_lut

        arr = apply_color_lut(arr, ds)
    if arr.ndim != 3 or arr.shape[-1] != 3:
        raise DicomError(f"{path}: colour image with unexpected shape {arr.shape}")
    bits = _int(ds, "BitsStored") or 8
    if photometric == "PALETTE COLOR":
        bits = 16 if arr.max() > 255 else 8
    gray = block_mean(arr, factor) @ LUMA.astype(np.float32)
    return finish(gray / float(2**bits - 1))


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
        try:
            value = ds.get(key)
            if value is not None and len(value) == 2:
                return [float(value[0]), float(value[1])]
        except (TypeError, ValueError):  # a malformed spacing is not worth refusing the image
            continue
    return None


def _text(ds: Any, keyword: str) -> str | None:
    value = ds.get(keyword)
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _int(ds: Any, keyword: str) -> int:
    try:
        return int(ds.get(keyword, 0) or 0)
    except (TypeError, ValueError):
        return 0
