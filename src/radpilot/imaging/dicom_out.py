"""DICOM outputs a PACS can display: a TID 1500 Measurement Report SR and Secondary
Capture images of the heatmap overlays, both in the source image's study.

SR content (Comprehensive 3D SR, highdicom): one measurement group per finding with
the finding type, a qualitative evaluation (finding -> Present/Absent at the model's
operating point), the model's probability and operating point as numeric
measurements, the algorithm identification, and, for findings with a box, the box as
a SCOORD POLYLINE region on the source image (otherwise the source image is referenced
as the group's source). The device observer is radpilot and the model; a Comment item
and the series description say it is an AI-assist result, not a diagnosis. Codes are
data (``imaging/data/sr_codes.json``).
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from radpilot.errors import DicomError, VocabularyError
from radpilot.imaging.model_api import Radiograph
from radpilot.imaging.overlay import render_overlay
from radpilot.imaging.rulefiles import load_rules

if TYPE_CHECKING:
    from radpilot.imaging.analyze import ImageResult

log = logging.getLogger(__name__)

MANUFACTURER = "radpilot"
SR_SERIES_DESCRIPTION = "radpilot AI-assist findings (not a diagnosis)"
SC_SERIES_DESCRIPTION = "radpilot AI-assist heatmap (not a diagnosis)"
DISCLAIMER = (
    "AI-assist result produced by radpilot for review by a radiologist. It is not a diagnosis."
)


@dataclass(frozen=True)
class CodeSpec:
    scheme: str
    value: str
    meaning: str

    def concept(self) -> Any:
        import highdicom as hd

        return hd.sr.CodedConcept(
            value=self.value, scheme_designator=self.scheme, meaning=self.meaning
        )


@dataclass(frozen=True)
class SrCodes:
    private_scheme: str
    procedure: CodeSpec
    probability: CodeSpec
    threshold: CodeSpec
    unit: CodeSpec
    findings: Mapping[str, CodeSpec]

    def finding(self, label: str) -> CodeSpec:
        spec = self.findings.get(label)
        if spec is not None:
            return spec
        value = "RP-" + "".join(ch for ch in label.upper() if ch.isalnum())[:12]
        return CodeSpec(self.private_scheme, value, label)


def _code(name: str, key: str, raw: Any) -> CodeSpec:
    if not isinstance(raw, dict) or set(raw) != {"scheme", "value", "meaning"}:
        raise VocabularyError(
            f"imaging/data/{name}: {key!r} must be an object with exactly scheme, value, meaning"
        )
    return CodeSpec(str(raw["scheme"]), str(raw["value"]), str(raw["meaning"]))


@lru_cache(maxsize=1)
def sr_codes() -> SrCodes:
    name = "sr_codes.json"
    body = load_rules(
        name,
        {
            "private_scheme": str,
            "procedure": dict,
            "probability": dict,
            "threshold": dict,
            "unit": dict,
            "findings": dict,
        },
    )
    return SrCodes(
        private_scheme=body["private_scheme"],
        procedure=_code(name, "procedure", body["procedure"]),
        probability=_code(name, "probability", body["probability"]),
        threshold=_code(name, "threshold", body["threshold"]),
        unit=_code(name, "unit", body["unit"]),
        findings={k: _code(name, f"findings.{k}", v) for k, v in body["findings"].items()},
    )


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return f"radpilot {version('radpilot')}"
    except PackageNotFoundError:
        return "radpilot"


def _source_dataset(image: Radiograph) -> Any:
    import pydicom

    try:
        ds = pydicom.dcmread(image.meta.path, stop_before_pixels=True)
    except Exception as exc:
        raise DicomError(f"{image.meta.path}: cannot re-read the header: {exc}") from None
    for keyword in ("StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID", "SOPClassUID"):
        if not str(ds.get(keyword, "")).strip():
            raise DicomError(
                f"{image.meta.path}: missing {keyword}; a DICOM SR must reference the source image"
            )
    return ds


def build_sr(result: ImageResult, source: Any, *, instance_number: int = 1) -> Any:
    """The Comprehensive 3D SR (pydicom Dataset) for one analysed image."""
    import highdicom as hd
    from pydicom.sr.codedict import codes
    from pydicom.uid import generate_uid

    spec = sr_codes()
    device_uid = generate_uid(entropy_srcs=["radpilot", result.model])
    observer = hd.sr.ObserverContext(
        observer_type=codes.DCM.Device,
        observer_identifying_attributes=hd.sr.DeviceObserverIdentifyingAttributes(
            uid=device_uid, name="radpilot", manufacturer_name=MANUFACTURER, model_name=result.model
        ),
    )
    algorithm = hd.sr.AlgorithmIdentification(name=result.model, version=_version())
    groups = []
    for finding in result.findings:
        code = spec.finding(finding.name).concept()
        measurements = [
            hd.sr.Measurement(
                name=spec.probability.concept(),
                value=float(finding.probability),
                unit=spec.unit.concept(),
                algorithm_id=algorithm,
            ),
            hd.sr.Measurement(
                name=spec.threshold.concept(),
                value=float(finding.threshold),
                unit=spec.unit.concept(),
            ),
        ]
        evaluation = hd.sr.QualitativeEvaluation(
            name=code, value=codes.SCT.Present if finding.positive else codes.SCT.Absent
        )
        tracking = hd.sr.TrackingIdentifier(
            uid=generate_uid(), identifier=f"{result.model} {finding.name}"
        )
        if finding.box is not None:
            region = hd.sr.ImageRegion(
                graphic_type=hd.sr.GraphicTypeValues.POLYLINE,
                graphic_data=np.array(finding.box.corners(), dtype=np.float64),
                source_image=hd.sr.SourceImageForRegion.from_source_image(source),
            )
            groups.append(
                hd.sr.PlanarROIMeasurementsAndQualitativeEvaluations(
                    tracking_identifier=tracking,
                    referenced_region=region,
                    finding_type=code,
                    algorithm_id=algorithm,
                    measurements=measurements,
                    qualitative_evaluations=[evaluation],
                )
            )
        else:
            groups.append(
                hd.sr.MeasurementsAndQualitativeEvaluations(
                    tracking_identifier=tracking,
                    finding_type=code,
                    algorithm_id=algorithm,
                    measurements=measurements,
                    qualitative_evaluations=[evaluation],
                    source_images=[hd.sr.SourceImageForMeasurementGroup.from_source_image(source)],
                )
            )
    context = hd.sr.ObservationContext(observer_device_context=observer)
    try:
        report = hd.sr.MeasurementReport(
            observation_context=context,
            procedure_reported=spec.procedure.concept(),
            imaging_measurements=groups,
            referenced_images=[source],  # TID 1600 Image Library
        )
    except (AttributeError, IndexError, ValueError, TypeError):
        # highdicom's image library needs PatientOrientation and ImagerPixelSpacing for
        # CR/DX, which many sources lack. The library is optional in TID 1500.
        log.debug("SR without image library for %s", source.get("SOPInstanceUID"))
        report = hd.sr.MeasurementReport(
            observation_context=context,
            procedure_reported=spec.procedure.concept(),
            imaging_measurements=groups,
        )
    comment = hd.sr.TextContentItem(
        name=codes.DCM.Comment,
        value=DISCLAIMER,
        relationship_type=hd.sr.RelationshipTypeValues.CONTAINS,
    )
    report[0].ContentSequence.append(comment)
    sr = hd.sr.Comprehensive3DSR(
        evidence=[source],
        content=report[0],
        series_instance_uid=generate_uid(),
        series_number=9901,
        sop_instance_uid=generate_uid(),
        instance_number=instance_number,
        manufacturer=MANUFACTURER,
        is_complete=True,
        is_final=False,
        is_verified=False,
    )
    sr.SeriesDescription = SR_SERIES_DESCRIPTION
    return sr


def build_sc(
    source: Any,
    overlay_rgb: np.ndarray,
    label: str,
    *,
    series_uid: str,
    instance_number: int,
    model: str,
) -> Any:
    """A Secondary Capture of one heatmap overlay, in the source image's study."""
    import highdicom as hd
    from pydicom.dataset import Dataset
    from pydicom.uid import generate_uid

    sc = hd.sc.SCImage.from_ref_dataset(
        ref_dataset=source,
        pixel_array=np.ascontiguousarray(overlay_rgb, dtype=np.uint8),
        photometric_interpretation=hd.PhotometricInterpretationValues.RGB,
        bits_allocated=8,
        coordinate_system=hd.CoordinateSystemNames.PATIENT,
        patient_orientation=_patient_orientation(source),
        series_instance_uid=series_uid,
        series_number=9902,
        sop_instance_uid=generate_uid(),
        instance_number=instance_number,
        manufacturer=MANUFACTURER,
    )
    sc.SeriesDescription = SC_SERIES_DESCRIPTION
    sc.ImageType = ["DERIVED", "SECONDARY"]
    sc.DerivationDescription = f"{model} heatmap for {label} over the source image"
    sc.ImageComments = f"{label}: {DISCLAIMER}"
    ref = Dataset()
    ref.ReferencedSOPClassUID = source.SOPClassUID
    ref.ReferencedSOPInstanceUID = source.SOPInstanceUID
    sc.SourceImageSequence = [ref]
    return sc


def _patient_orientation(source: Any) -> tuple[str, str]:
    """The source's PatientOrientation, else the convention for a frontal chest
    radiograph as displayed (patient's left to the viewer's right, feet down)."""
    value = source.get("PatientOrientation")
    if value is not None and len(value) == 2 and all(str(v).strip() for v in value):
        return (str(value[0]), str(value[1]))
    return ("L", "F")


def write_outputs(
    result: ImageResult,
    image: Radiograph,
    heatmaps: Mapping[str, np.ndarray],
    folder: Path,
) -> dict[str, str]:
    """Write ``sr.dcm`` and one ``<label>_sc.dcm`` per heatmap; returns their paths."""
    source = _source_dataset(image)
    folder.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        # highdicom lints the source's PatientName; the source is not ours to fix.
        warnings.simplefilter("ignore", UserWarning)
        return _write(result, image, heatmaps, folder, source)


def _write(
    result: ImageResult,
    image: Radiograph,
    heatmaps: Mapping[str, np.ndarray],
    folder: Path,
    source: Any,
) -> dict[str, str]:
    from pydicom.uid import generate_uid

    outputs: dict[str, str] = {}
    try:
        sr = build_sr(result, source)
    except (ValueError, TypeError, AttributeError) as exc:
        raise DicomError(f"{image.meta.path}: cannot build the SR: {exc}") from None
    sr_path = folder / "sr.dcm"
    sr.save_as(sr_path, enforce_file_format=True)
    outputs["sr"] = str(sr_path)
    boxes = {f.name: f.box for f in result.findings}
    series_uid = generate_uid()
    for n, (label, heat) in enumerate(sorted(heatmaps.items()), start=1):
        overlay = render_overlay(image.pixels, heat, boxes.get(label))
        try:
            sc = build_sc(
                source, overlay, label, series_uid=series_uid, instance_number=n, model=result.model
            )
        except (ValueError, TypeError, AttributeError) as exc:
            raise DicomError(
                f"{image.meta.path}: cannot build the Secondary Capture: {exc}"
            ) from None
        safe = "".join(ch if ch.isalnum() else "_" for ch in label)
        sc_path = folder / f"{safe}_sc.dcm"
        sc.save_as(sc_path, enforce_file_format=True)
        outputs[f"sc:{label}"] = str(sc_path)
    log.debug("wrote DICOM outputs for %s", image.meta.path)
    return outputs
