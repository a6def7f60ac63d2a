"""The DICOM writer the image outputs writer is handed (``imaging.outputs.DicomWriter``):
for one analysed DICOM image, ``sr.dcm`` (TID 1500, ``interop.dicom_sr``) and one
``<finding>_sc.dcm`` Secondary Capture per rendered overlay (``interop.dicom_sc``), all
in the source image's study, built from the dataset kept when the image was read: the
source file is never opened again, and each overlay is the one the PNG holds."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from radpilot.errors import DicomError
from radpilot.imaging.dicomio import quiet_pydicom
from radpilot.imaging.pixels import one_line
from radpilot.imaging.results import ImageAnalysis
from radpilot.interop.dicom_sc import build_sc
from radpilot.interop.dicom_sr import build_sr

log = logging.getLogger(__name__)

_REQUIRED = ("StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID", "SOPClassUID")


def _source(analysis: ImageAnalysis) -> Any:
    image = analysis.image
    where = analysis.result.path
    if image is None or image.dataset is None:
        raise DicomError(f"{where}: not read from DICOM; no SR or Secondary Capture")
    for keyword in _REQUIRED:
        if not str(image.dataset.get(keyword, "")).strip():
            raise DicomError(
                f"{where}: missing {keyword}; a DICOM SR must reference the source image"
            )
    return image.dataset


class DicomOutputs:
    """Writes a DICOM SR and the overlays' Secondary Captures for one image."""

    def write(self, analysis: ImageAnalysis, folder: Path) -> dict[str, str]:
        source = _source(analysis)
        folder.mkdir(parents=True, exist_ok=True)
        # highdicom and pydicom lint the source's values (its PatientName...) in warnings
        # that quote them; the source is not ours to fix, and its values stay off stderr.
        with quiet_pydicom():
            return self._write(analysis, folder, source)

    def _write(self, analysis: ImageAnalysis, folder: Path, source: Any) -> dict[str, str]:
        from pydicom.uid import generate_uid

        result = analysis.result
        try:
            sr = build_sr(result, source)
        except (ValueError, TypeError, AttributeError) as exc:
            raise DicomError(f"{result.path}: cannot build the SR: {one_line(exc)}") from None
        outputs = {"sr": _save(sr, folder / "sr.dcm")}
        series_uid = generate_uid()
        for n, explanation in enumerate(sorted(analysis.explanations, key=lambda e: e.label), 1):
            try:
                sc = build_sc(
                    source,
                    explanation.overlay,
                    explanation.label,
                    series_uid=series_uid,
                    instance_number=n,
                    model=result.model,
                )
            except (ValueError, TypeError, AttributeError) as exc:
                raise DicomError(
                    f"{result.path}: cannot build the Secondary Capture: {one_line(exc)}"
                ) from None
            safe = "".join(ch if ch.isalnum() else "_" for ch in explanation.label)
            outputs[f"sc:{explanation.label}"] = _save(sc, folder / f"{safe}_sc.dcm")
        log.debug("wrote %d DICOM object(s) for one image", len(outputs))
        return outputs


def _save(ds: Any, path: Path) -> str:
    ds.save_as(path, enforce_file_format=True)
    return str(path)
