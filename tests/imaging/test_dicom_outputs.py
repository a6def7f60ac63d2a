"""DICOM SR (TID 1500) and Secondary Capture outputs (``radpilot.interop``), read back and
validated structurally with pydicom and highdicom (dciodvfy is not available here)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import highdicom as hd
import numpy as np
import pydicom
import pytest
from imaging_io_cases import BrightRegionModel
from PIL import Image
from pydicom.uid import generate_uid

from radpilot import samples
from radpilot.datafiles import parse
from radpilot.errors import VocabularyError
from radpilot.imaging.analyze import analyze
from radpilot.imaging.outputs import ImageOutputs
from radpilot.imaging.results import ImageResult
from radpilot.interop.dicom_codes import SR_CODES, SrCodes, sr_codes
from radpilot.interop.dicom_outputs import DicomOutputs
from radpilot.interop.dicom_sr import DISCLAIMER

SOURCE = "siim_monochrome2.dcm"
COMPREHENSIVE_3D_SR = "1.2.840.10008.5.1.4.1.1.88.34"
SECONDARY_CAPTURE = "1.2.840.10008.5.1.4.1.1.7"


@pytest.fixture(scope="module")
def analysed(tmp_path_factory: pytest.TempPathFactory) -> ImageResult:
    out = tmp_path_factory.mktemp("dicom_out")
    writer = ImageOutputs(out, dicom=DicomOutputs())
    [result] = analyze([samples.get(SOURCE)], model=BrightRegionModel(), writer=writer)
    return result


@pytest.fixture(scope="module")
def source() -> Any:
    return pydicom.dcmread(samples.get(SOURCE), stop_before_pixels=True)


def _walk(items: Any) -> list[Any]:
    found = []
    for item in items:
        found.append(item)
        found.extend(_walk(item.get("ContentSequence", [])))
    return found


def _code(item: Any, attr: str = "ConceptNameCodeSequence") -> tuple[str, str]:
    seq = item.get(attr)
    return (seq[0].CodeValue, seq[0].CodingSchemeDesignator) if seq else ("", "")


REQUIRED_SR = [
    "SOPClassUID",
    "SOPInstanceUID",
    "StudyInstanceUID",
    "SeriesInstanceUID",
    "PatientID",
    "Modality",
    "ContentDate",
    "ContentTime",
    "CompletionFlag",
    "VerificationFlag",
    "ValueType",
    "ConceptNameCodeSequence",
    "ContentTemplateSequence",
    "ContentSequence",
    "CurrentRequestedProcedureEvidenceSequence",
]


def test_sr_identity_and_required_attributes(analysed: ImageResult, source: Any) -> None:
    sr = pydicom.dcmread(analysed.outputs["sr"])
    for keyword in REQUIRED_SR:
        assert keyword in sr, keyword
    assert (
        sr.SOPClassUID == COMPREHENSIVE_3D_SR
        and sr.file_meta.MediaStorageSOPClassUID == sr.SOPClassUID
    )
    assert sr.Modality == "SR"
    assert sr.StudyInstanceUID == source.StudyInstanceUID
    assert sr.PatientID == source.PatientID
    assert sr.SeriesInstanceUID != source.SeriesInstanceUID
    assert sr.ContentTemplateSequence[0].TemplateIdentifier == "1500"
    assert "not a diagnosis" in sr.SeriesDescription
    evidence = sr.CurrentRequestedProcedureEvidenceSequence[0]
    referenced = evidence.ReferencedSeriesSequence[0].ReferencedSOPSequence[0]
    assert referenced.ReferencedSOPInstanceUID == source.SOPInstanceUID
    assert referenced.ReferencedSOPClassUID == source.SOPClassUID


def test_sr_content_carries_each_finding(analysed: ImageResult, source: Any) -> None:
    sr = pydicom.dcmread(analysed.outputs["sr"])
    items = _walk(sr.ContentSequence)
    spec = sr_codes()
    groups = [i for i in items if _code(i) == ("125007", "DCM")]  # Measurement Group
    assert len(groups) == len(analysed.findings) == 2
    for group, finding in zip(groups, analysed.findings, strict=True):
        code = spec.finding(finding.name)
        inner = _walk(group.ContentSequence)
        evaluation = [i for i in inner if _code(i) == (code.value, code.scheme)]
        assert len(evaluation) == 1
        expected = ("52101004", "SCT") if finding.positive else ("272519000", "SCT")
        assert _code(evaluation[0], "ConceptCodeSequence") == expected
        nums = {
            _code(i)[0]: float(i.MeasuredValueSequence[0].NumericValue)
            for i in inner
            if i.ValueType == "NUM"
        }
        assert nums["RP-PROB"] == pytest.approx(finding.probability, abs=1e-6)
        assert nums["RP-THR"] == pytest.approx(finding.threshold, abs=1e-6)
        regions = [i for i in inner if i.ValueType == "SCOORD"]
        if finding.box is None:
            assert not regions
            image_refs = [i for i in inner if i.ValueType == "IMAGE"]
            assert (
                image_refs[0].ReferencedSOPSequence[0].ReferencedSOPInstanceUID
                == source.SOPInstanceUID
            )
        else:
            [region] = regions
            assert region.GraphicType == "POLYLINE"
            pts = np.asarray(region.GraphicData, dtype=float).reshape(-1, 2)
            assert np.allclose(pts, finding.box.corners())
            ref = region.ContentSequence[0].ReferencedSOPSequence[0]
            assert ref.ReferencedSOPInstanceUID == source.SOPInstanceUID
    comments = [i for i in items if _code(i) == ("121106", "DCM")]
    assert comments and comments[0].TextValue == DISCLAIMER
    observers = [i for i in items if _code(i) == ("121015", "DCM")]  # Device Observer Model Name
    assert observers[0].TextValue == analysed.model


def test_highdicom_parses_the_report(analysed: ImageResult) -> None:
    sr = hd.sr.Comprehensive3DSR.from_dataset(pydicom.dcmread(analysed.outputs["sr"]))
    report = hd.sr.MeasurementReport.from_sequence(sr.content)
    planar = report.get_planar_roi_measurement_groups()
    image = report.get_image_measurement_groups()
    positives = [f for f in analysed.findings if f.box is not None]
    assert len(planar) == len(positives) and len(image) == len(analysed.findings) - len(positives)
    assert planar[0].finding_type.meaning == sr_codes().finding(positives[0].name).meaning


def test_secondary_capture_of_the_overlay(analysed: ImageResult, source: Any) -> None:
    [label] = [f.name for f in analysed.findings if f.positive]
    sc = pydicom.dcmread(analysed.outputs[f"sc:{label}"])
    assert sc.SOPClassUID == SECONDARY_CAPTURE
    assert sc.StudyInstanceUID == source.StudyInstanceUID and sc.PatientID == source.PatientID
    assert sc.PhotometricInterpretation == "RGB" and sc.SamplesPerPixel == 3
    # The overlay as the PNG holds it: the 1024 px image under its caption band.
    overlay = np.asarray(Image.open(next(f.heatmap for f in analysed.findings if f.positive)))
    assert np.array_equal(sc.pixel_array, overlay)
    assert sc.pixel_array.shape[1:] == (1024, 3) and 1024 < sc.pixel_array.shape[0] < 1024 + 120
    assert sc.BurnedInAnnotation == "YES"
    assert sc.SourceImageSequence[0].ReferencedSOPInstanceUID == source.SOPInstanceUID
    assert list(sc.ImageType)[:2] == ["DERIVED", "SECONDARY"]
    assert "not a diagnosis" in sc.ImageComments
    assert sc.SOPInstanceUID != source.SOPInstanceUID


@pytest.mark.parametrize(
    ("inputs", "sr_flag", "expected"),
    [
        (["siim_monochrome2.dcm"], False, set()),
        (["nih_normal.png"], True, set()),
        (["siim_monochrome2.dcm"], True, {"sr", "sc:Pneumonia"}),
    ],
)
def test_outputs_only_for_dicom_input_with_sr(
    tmp_path: Path, inputs: list[str], sr_flag: bool, expected: set[str]
) -> None:
    writer = ImageOutputs(tmp_path, dicom=DicomOutputs() if sr_flag else None)
    [result] = analyze([samples.get(n) for n in inputs], model=BrightRegionModel(), writer=writer)
    assert set(result.outputs) == expected


def test_source_without_uids_gives_a_warning_not_a_crash(tmp_path: Path) -> None:
    from imaging_io_cases import save, uncompressed

    ds = uncompressed()
    ds.SOPInstanceUID = generate_uid()
    del ds.StudyInstanceUID
    path = save(ds, tmp_path / "nouid.dcm")
    writer = ImageOutputs(tmp_path / "o", dicom=DicomOutputs())
    [result] = analyze([path], model=BrightRegionModel(), writer=writer)
    assert result.analysed and not result.outputs
    assert result.warnings == (
        f"DICOM output not written: {path}: missing StudyInstanceUID; "
        "a DICOM SR must reference the source image",
    )


def test_image_library_when_the_source_allows_it(tmp_path: Path) -> None:
    from imaging_io_cases import save, uncompressed

    ds = uncompressed(ImagerPixelSpacing=[0.168, 0.168], PatientOrientation=["L", "F"])
    path = save(ds, tmp_path / "ips.dcm")
    writer = ImageOutputs(tmp_path / "o", dicom=DicomOutputs())
    [result] = analyze([path], model=BrightRegionModel(), writer=writer)
    sr = pydicom.dcmread(result.outputs["sr"])
    library = [i for i in _walk(sr.ContentSequence) if _code(i) == ("111028", "DCM")]
    assert len(library) == 1  # TID 1600 Image Library
    refs = [i for i in _walk(library) if i.ValueType == "IMAGE"]
    assert refs[0].ReferencedSOPSequence[0].ReferencedSOPInstanceUID == result.meta.sop_uid  # type: ignore[union-attr]


XRV_LABELS = [
    "Atelectasis",
    "Consolidation",
    "Infiltration",
    "Pneumothorax",
    "Edema",
    "Emphysema",
    "Fibrosis",
    "Effusion",
    "Pneumonia",
    "Pleural_Thickening",
    "Cardiomegaly",
    "Nodule",
    "Mass",
    "Hernia",
    "Lung Lesion",
    "Fracture",
    "Lung Opacity",
    "Enlarged Cardiomediastinum",
]


@pytest.mark.parametrize("label", XRV_LABELS)
def test_every_model_label_gets_a_valid_code(label: str) -> None:
    code = sr_codes().finding(label)
    assert code.scheme in {"SCT", "DCM", "99RADPILOT"}
    assert 0 < len(code.value) <= 16  # Code Value is SH
    assert code.meaning
    if code.scheme == "99RADPILOT":
        assert code.meaning == label  # private codes never pretend to be standard ones


def test_model_spellings_share_the_canonical_code() -> None:
    codes = sr_codes()
    assert codes.finding("Effusion") == codes.finding("Pleural Effusion")
    assert codes.finding("Effusion").value == "60046008"
    assert codes.finding("Pleural_Thickening").scheme == "99RADPILOT"


@pytest.mark.parametrize(
    ("finding", "message"),
    [
        ("Effusion", "'Effusion' must be spelled 'Pleural Effusion'"),
        ("Lung Nodule XYZ", "is not a known finding label"),
    ],
)
def test_sr_codes_file_names_canonical_findings(finding: str, message: str) -> None:
    raw = SR_CODES.raw()
    raw["findings"][finding] = {"scheme": "SCT", "value": "1", "meaning": "x"}
    with pytest.raises(VocabularyError, match=message):
        parse(raw, SrCodes, "sr_codes.json")
