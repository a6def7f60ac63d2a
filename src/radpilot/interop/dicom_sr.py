"""A TID 1500 Measurement Report (Comprehensive 3D SR, highdicom) for one analysed image.

One measurement group per finding: the finding type, a qualitative evaluation (finding
-> Present/Absent at the model's operating point), the model's probability and
operating point as numeric measurements, the algorithm identification, and, for a
finding with a box, the box as a SCOORD POLYLINE region on the source image (otherwise
the source image is referenced as the group's source). The device observer is radpilot
and the model; a Comment item and the series description say it is an AI-assist
result, not a diagnosis. Codes are data (``interop/data/sr_codes.json``).
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from radpilot.imaging.results import FindingResult, ImageResult
from radpilot.interop.dicom_codes import SrCodes, sr_codes

log = logging.getLogger(__name__)

MANUFACTURER = "radpilot"
SR_SERIES_DESCRIPTION = "radpilot AI-assist findings (not a diagnosis)"
SR_SERIES_NUMBER = 9901
DISCLAIMER = (
    "AI-assist result produced by radpilot for review by a radiologist. It is not a diagnosis."
)


def software_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return f"radpilot {version('radpilot')}"
    except PackageNotFoundError:
        return "radpilot"


def _observer(model: str) -> Any:
    import highdicom as hd
    from pydicom.sr.codedict import codes
    from pydicom.uid import generate_uid

    return hd.sr.ObserverContext(
        observer_type=codes.DCM.Device,
        observer_identifying_attributes=hd.sr.DeviceObserverIdentifyingAttributes(
            uid=generate_uid(entropy_srcs=["radpilot", model]),
            name="radpilot",
            manufacturer_name=MANUFACTURER,
            model_name=model,
        ),
    )


def _measurements(finding: FindingResult, spec: SrCodes, algorithm: Any) -> list[Any]:
    import highdicom as hd

    return [
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


def _group(finding: FindingResult, model: str, source: Any, spec: SrCodes, algorithm: Any) -> Any:
    """One finding's measurement group: on a planar region when it has a box."""
    import highdicom as hd
    from pydicom.sr.codedict import codes
    from pydicom.uid import generate_uid

    code = spec.finding(finding.name).concept()
    common = {
        "tracking_identifier": hd.sr.TrackingIdentifier(
            uid=generate_uid(), identifier=f"{model} {finding.name}"
        ),
        "finding_type": code,
        "algorithm_id": algorithm,
        "measurements": _measurements(finding, spec, algorithm),
        "qualitative_evaluations": [
            hd.sr.QualitativeEvaluation(
                name=code, value=codes.SCT.Present if finding.positive else codes.SCT.Absent
            )
        ],
    }
    if finding.box is None:
        return hd.sr.MeasurementsAndQualitativeEvaluations(
            source_images=[hd.sr.SourceImageForMeasurementGroup.from_source_image(source)],
            **common,
        )
    region = hd.sr.ImageRegion(
        graphic_type=hd.sr.GraphicTypeValues.POLYLINE,
        graphic_data=np.array(finding.box.corners(), dtype=np.float64),
        source_image=hd.sr.SourceImageForRegion.from_source_image(source),
    )
    return hd.sr.PlanarROIMeasurementsAndQualitativeEvaluations(referenced_region=region, **common)


def _report(groups: list[Any], model: str, source: Any, spec: SrCodes) -> Any:
    import highdicom as hd

    context = hd.sr.ObservationContext(observer_device_context=_observer(model))
    try:
        return hd.sr.MeasurementReport(
            observation_context=context,
            procedure_reported=spec.procedure.concept(),
            imaging_measurements=groups,
            referenced_images=[source],  # TID 1600 Image Library
        )
    except (AttributeError, IndexError, ValueError, TypeError):
        # highdicom's image library needs PatientOrientation and ImagerPixelSpacing for
        # CR/DX, which many sources lack. The library is optional in TID 1500.
        log.debug("SR without image library for one source image")
        return hd.sr.MeasurementReport(
            observation_context=context,
            procedure_reported=spec.procedure.concept(),
            imaging_measurements=groups,
        )


# Patient and study attributes highdicom copies from the evidence. They are type 2 (present,
# may be empty) in the SR, but modalities and test files often leave them out; highdicom
# then fails, so a header copy gets them empty.
_TYPE2_COPIED = (
    "PatientID",
    "PatientName",
    "PatientBirthDate",
    "PatientSex",
    "AccessionNumber",
    "StudyID",
    "StudyDate",
    "StudyTime",
)


def _with_type2(source: Any) -> Any:
    missing = [k for k in _TYPE2_COPIED if k not in source]
    if not missing:
        return source
    import copy

    header = copy.copy(source)  # shallow: only top-level attributes are added
    for keyword in missing:
        setattr(header, keyword, "")
    return header


def build_sr(result: ImageResult, source: Any, *, instance_number: int = 1) -> Any:
    """The Comprehensive 3D SR (pydicom Dataset) for one analysed image; ``source`` is
    the image's dataset as read (header only)."""
    import highdicom as hd
    from pydicom.sr.codedict import codes
    from pydicom.uid import generate_uid

    source = _with_type2(source)
    spec = sr_codes()
    algorithm = hd.sr.AlgorithmIdentification(name=result.model, version=software_version())
    groups = [_group(f, result.model, source, spec, algorithm) for f in result.findings]
    report = _report(groups, result.model, source, spec)
    report[0].ContentSequence.append(
        hd.sr.TextContentItem(
            name=codes.DCM.Comment,
            value=DISCLAIMER,
            relationship_type=hd.sr.RelationshipTypeValues.CONTAINS,
        )
    )
    sr = hd.sr.Comprehensive3DSR(
        evidence=[source],
        content=report[0],
        series_instance_uid=generate_uid(),
        series_number=SR_SERIES_NUMBER,
        sop_instance_uid=generate_uid(),
        instance_number=instance_number,
        manufacturer=MANUFACTURER,
        is_complete=True,
        is_final=False,
        is_verified=False,
    )
    sr.SeriesDescription = SR_SERIES_DESCRIPTION
    return sr
