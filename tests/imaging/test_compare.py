"""Prior comparison: registration recovers known transforms, metrics behave, the
change rule and pair checks, and real serial radiographs."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from imaging_io_cases import BrightRegionModel, save, uncompressed
from PIL import Image

from radpilot import samples
from radpilot.datafiles import parse
from radpilot.errors import InputError, VocabularyError
from radpilot.imaging.compare import (
    ProbabilityChange,
    check_pair,
    classify,
    compare,
    compare_images,
    default_change_rule,
    subtraction,
)
from radpilot.imaging.dicomio import read_image
from radpilot.imaging.model_api import ImageMeta
from radpilot.imaging.outputs import ComparisonOutputs
from radpilot.imaging.registration import (
    Transform,
    mutual_information,
    ncc,
    register,
    warp,
)
from radpilot.imaging.rules import ChangeRule
from radpilot.reports.models import Change


@pytest.fixture(scope="module")
def chest() -> np.ndarray:
    return read_image(samples.get("nih_normal.png")).pixels.astype(np.float64)


KNOWN = [
    ("rigid", Transform(ty=0.04, tx=-0.03, angle=6.0)),
    ("rigid", Transform(ty=-0.06, tx=0.02, angle=-9.0)),
    ("affine", Transform(ty=-0.02, tx=0.05, angle=-4.0, log_sy=0.08, log_sx=0.05)),
]


@pytest.mark.parametrize(("kind", "truth"), KNOWN)
def test_registration_recovers_a_known_shift_and_rotation(
    chest: np.ndarray, kind: str, truth: Transform
) -> None:
    current, _ = warp(chest, truth, chest.shape)
    reg = register(current, chest, kind=kind)
    got = reg.transform
    # 0.004 of the image height is 2 px at 512 px; 0.3 degrees.
    assert abs(got.ty - truth.ty) < 0.004 and abs(got.tx - truth.tx) < 0.004
    assert abs(got.angle - truth.angle) < 0.3
    assert abs(got.log_sy - truth.log_sy) < 0.01 and abs(got.log_sx - truth.log_sx) < 0.01
    assert reg.ncc_after > 0.99 > reg.ncc_before
    assert reg.mi_after > reg.mi_before


def test_identity_stays_identity(chest: np.ndarray) -> None:
    reg = register(chest, chest, kind="similarity")
    assert abs(reg.transform.ty) < 0.002 and abs(reg.transform.angle) < 0.2
    assert reg.ncc_before == pytest.approx(1.0) and reg.ncc_after > 0.999


def test_registration_grid_and_prior_of_another_size(chest: np.ndarray) -> None:
    prior = np.asarray(Image.fromarray((chest * 255).astype(np.uint8)).resize((300, 360)))
    reg = register(chest, prior / 255.0, output_size=256)
    assert reg.warped.shape == (256, 256) == reg.mask.shape
    assert reg.ncc_after > 0.95


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        (np.arange(10.0), np.arange(10.0) * 3 + 1, 1.0),
        (np.arange(10.0), -np.arange(10.0), -1.0),
        (np.ones(10), np.arange(10.0), 0.0),
        (np.array([1.0]), np.array([2.0]), 0.0),
    ],
)
def test_ncc(a: np.ndarray, b: np.ndarray, expected: float) -> None:
    assert ncc(a, b) == pytest.approx(expected)


def test_mutual_information_prefers_aligned(chest: np.ndarray) -> None:
    rng = np.random.default_rng(0)
    shuffled = rng.permutation(chest.ravel()).reshape(chest.shape)
    assert mutual_information(chest, chest) > 1.0 > mutual_information(chest, shuffled)


RULE = ChangeRule(min_delta=0.15, min_registration_ncc=0.5)

CHANGE_CASES = [
    (0.1, 0.6, 0.5, ProbabilityChange.NEW),
    (0.49, 0.5, 0.5, ProbabilityChange.NEW),
    (0.7, 0.2, 0.5, ProbabilityChange.RESOLVED),
    (0.6, 0.9, 0.5, ProbabilityChange.INCREASED),
    (0.9, 0.6, 0.5, ProbabilityChange.DECREASED),
    (0.1, 0.3, 0.5, ProbabilityChange.INCREASED),
    (0.6, 0.7, 0.5, ProbabilityChange.STABLE),
    (0.2, 0.34, 0.5, ProbabilityChange.STABLE),
    (0.2, 0.2, 0.5, ProbabilityChange.STABLE),
]


@pytest.mark.parametrize(("prior", "current", "threshold", "change"), CHANGE_CASES)
def test_change_rule(
    prior: float, current: float, threshold: float, change: ProbabilityChange
) -> None:
    assert classify(RULE, prior, current, threshold) is change


def test_change_maps_to_report_vocabulary() -> None:
    assert ProbabilityChange.INCREASED.to_report_change() is Change.WORSE
    assert {c.to_report_change() for c in ProbabilityChange} <= set(Change)


@pytest.mark.parametrize(
    ("data", "error", "message"),
    [
        ({"min_delta": 0.1}, VocabularyError, "change.json: min_registration_ncc: missing key"),
        (
            {"min_delta": 0.1, "min_registration_ncc": 0.5, "extra": 1},
            VocabularyError,
            "change.json: extra: unknown key; allowed: $schema, description, min_delta",
        ),
        (
            {"min_delta": 1.5, "min_registration_ncc": 0.5},
            VocabularyError,
            "change.json: min_delta: Input should be less than 1",
        ),
    ],
)
def test_change_rule_file_is_strict(data: dict[str, object], error: type, message: str) -> None:
    with pytest.raises(error) as info:
        parse(data, ChangeRule, "change.json")
    assert str(info.value).startswith(message)


def _meta(**kw: object) -> ImageMeta:
    base: dict[str, object] = {
        "path": "x.dcm",
        "source_format": "dicom",
        "patient_id": "P1",
        "study_date": "20240101",
        "study_uid": "1.2",
        "view_position": "PA",
    }
    base.update(kw)
    return ImageMeta(**base)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("current", "prior", "expected"),
    [
        ({"study_date": "20240301", "study_uid": "1.3"}, {}, []),
        ({"study_uid": "1.3"}, {"patient_id": "P2"}, ["patient IDs differ"]),
        ({"study_uid": "1.3"}, {"study_date": "20250101"}, ["dated after the current"]),
        ({}, {}, ["same study"]),
        ({"study_uid": "1.3", "patient_id": None}, {}, ["patient ID unknown"]),
        ({"study_uid": "1.3", "view_position": "LL"}, {}, ["current: lateral view"]),
    ],
)
def test_pair_checks(
    current: dict[str, object], prior: dict[str, object], expected: list[str]
) -> None:
    warnings = check_pair(_meta(**current), _meta(**prior))
    assert len(warnings) == len(expected)
    for text, warning in zip(expected, warnings, strict=True):
        assert text in warning


def test_compare_dicom_pair_warns_on_swapped_dates(tmp_path: Path) -> None:
    current = save(
        uncompressed(StudyDate="20200101", StudyInstanceUID="1.2.3.1"), tmp_path / "c.dcm"
    )
    prior = save(uncompressed(StudyDate="20210101", StudyInstanceUID="1.2.3.2"), tmp_path / "p.dcm")
    result = compare(current, prior, model=BrightRegionModel())
    assert any("dated after" in w for w in result.warnings)
    assert all(f.change is ProbabilityChange.STABLE for f in result.findings)


def test_compare_bundled_serial_pair_writes_images(tmp_path: Path) -> None:
    result = compare(
        samples.get("serial_p270_current_day-1.png"),
        samples.get("serial_p270_prior_day-23.png"),
        writer=ComparisonOutputs(tmp_path),
    )
    assert result.model == "pneumoniamnist-v1" and [f.name for f in result.findings] == [
        "Pneumonia"
    ]
    assert result.registration.ncc_after > result.registration.ncc_before
    assert result.registration_ok
    sub = np.asarray(Image.open(result.outputs["subtraction"]))
    assert sub.shape == (512, 512) and sub.dtype == np.uint8
    data = result.to_dict()
    json.dumps(data)
    assert data["rule"]["min_delta"] == default_change_rule().min_delta
    assert "Pneumonia:" in data["summary"] and "Registration good" in data["summary"]


def test_subtraction_of_identical_images_is_flat(chest: np.ndarray) -> None:
    reg = register(chest, chest, kind="rigid", output_size=128)
    diff = subtraction(chest, reg)
    assert np.abs(diff[reg.mask]).mean() < 0.01


def test_compare_images_flags_poor_registration(chest: np.ndarray) -> None:
    noise = np.random.default_rng(1).random(chest.shape)
    a = read_image(samples.get("nih_normal.png"))
    b = type(a)(pixels=noise.astype(np.float32), meta=a.meta)
    result = compare_images(a, b, BrightRegionModel(), kind="rigid")
    assert not result.registration_ok
    assert any("registration quality is poor" in w for w in result.warnings)


def _serial_pairs(shared: Path, count: int) -> list[tuple[Path, Path]]:
    folder = shared / "data/images/serial"
    rows = list(csv.DictReader((folder / "metadata.csv").open()))
    by_patient: dict[str, list[dict[str, str]]] = {}
    for row in rows:
        if row["offset"]:
            by_patient.setdefault(row["patientid"], []).append(row)
    pairs = []
    for _, studies in sorted(by_patient.items()):
        studies.sort(key=lambda r: float(r["offset"]))
        if len(studies) >= 2:
            pairs.append((folder / studies[-1]["filename"], folder / studies[0]["filename"]))
    return pairs[:count]


def test_registration_improves_alignment_on_real_serial_pairs(shared_dir: Path) -> None:
    """Three patients here; all 25 in benchmarks/imaging_io.py."""
    for current, prior in _serial_pairs(shared_dir, 3):
        reg = register(read_image(current).pixels, read_image(prior).pixels)
        assert reg.ncc_after > reg.ncc_before, current.name


def _study(folder: Path, study_uid: str, date: str, views: list[str]) -> Path:
    folder.mkdir()
    for i, view in enumerate(views):
        ds = uncompressed(StudyInstanceUID=study_uid, StudyDate=date, ViewPosition=view)
        save(ds, folder / f"im{i}_{view}.dcm")
    return folder


def test_compare_study_folders_choose_the_frontal_view(tmp_path: Path) -> None:
    current = _study(tmp_path / "cur", "1.2.3.10", "20240301", ["LL", "AP", "PA"])
    prior = _study(tmp_path / "pri", "1.2.3.11", "20240101", ["LATERAL", "AP"])
    (prior / "junk.dcm").write_text("not dicom")
    result = compare(current, prior, model=BrightRegionModel(), kind="rigid")
    assert result.current.path.endswith("im2_PA.dcm") and result.prior.path.endswith("im1_AP.dcm")
    assert any("chose im2_PA.dcm (PA) of 3 image(s)" in n for n in result.notes)
    assert any("skipped unreadable" in n and "junk.dcm" in n for n in result.notes)
    assert not result.warnings


@pytest.mark.parametrize(
    ("layout", "message"),
    [
        ({"a": ("1.2.3.20", ["PA"]), "b": ("1.2.3.21", ["PA"])}, "holds 2 studies"),
        ({"a": ("1.2.3.22", ["LL", "LATERAL"])}, "no image a frontal chest model can read"),
        ({}, "no readable image"),
    ],
)
def test_study_folder_errors(tmp_path: Path, layout: dict, message: str) -> None:  # type: ignore[type-arg]
    folder = tmp_path / "study"
    folder.mkdir()
    for sub, (uid, views) in layout.items():
        _study(folder / sub, uid, "20240101", views)
    with pytest.raises(InputError, match=message):
        compare(folder, samples.get("nih_normal.png"), model=BrightRegionModel())
