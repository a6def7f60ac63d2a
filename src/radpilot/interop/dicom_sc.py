"""A Secondary Capture image of one heatmap overlay, in the source image's study.

The overlay's pixels carry the finding, its probability, the decision and "AI assist —
not a diagnosis" burned in (``imaging.overlay.burn_in``), so the SC says so:
BurnedInAnnotation = YES, and ImageComments repeats the disclaimer.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from radpilot.interop.dicom_sr import DISCLAIMER, MANUFACTURER

SC_SERIES_DESCRIPTION = "radpilot AI-assist heatmap (not a diagnosis)"
SC_SERIES_NUMBER = 9902


def patient_orientation(source: Any) -> tuple[str, str]:
    """The source's PatientOrientation, else the convention for a frontal chest
    radiograph as displayed (patient's left to the viewer's right, feet down)."""
    value = source.get("PatientOrientation")
    if value is not None and len(value) == 2 and all(str(v).strip() for v in value):
        return (str(value[0]), str(value[1]))
    return ("L", "F")


def build_sc(
    source: Any,
    overlay_rgb: np.ndarray,
    label: str,
    *,
    series_uid: str,
    instance_number: int,
    model: str,
) -> Any:
    """The Secondary Capture (pydicom Dataset) of one rendered overlay."""
    import highdicom as hd
    from pydicom.dataset import Dataset
    from pydicom.uid import generate_uid

    sc = hd.sc.SCImage.from_ref_dataset(
        ref_dataset=source,
        pixel_array=np.ascontiguousarray(overlay_rgb, dtype=np.uint8),
        photometric_interpretation=hd.PhotometricInterpretationValues.RGB,
        bits_allocated=8,
        coordinate_system=hd.CoordinateSystemNames.PATIENT,
        patient_orientation=patient_orientation(source),
        series_instance_uid=series_uid,
        series_number=SC_SERIES_NUMBER,
        sop_instance_uid=generate_uid(),
        instance_number=instance_number,
        manufacturer=MANUFACTURER,
    )
    sc.SeriesDescription = SC_SERIES_DESCRIPTION
    sc.ImageType = ["DERIVED", "SECONDARY"]
    sc.BurnedInAnnotation = "YES"  # finding, probability, decision and disclaimer
    sc.DerivationDescription = f"{model} heatmap for {label} over the source image"
    sc.ImageComments = f"{label}: {DISCLAIMER}"
    ref = Dataset()
    ref.ReferencedSOPClassUID = source.SOPClassUID
    ref.ReferencedSOPInstanceUID = source.SOPInstanceUID
    sc.SourceImageSequence = [ref]
    return sc
