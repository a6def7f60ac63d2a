"""Study grouping, frontal-view choice, and acquisition flags with reasons."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from imaging_io_cases import save, uncompressed
from pydicom.uid import generate_uid

from radpilot.imaging.dicomio import read_image
from radpilot.imaging.model_api import ImageMeta
from radpilot.imaging.studies import (
    FlagCode,
    ViewKind,
    check_acquisition,
    choose_primary,
    group_studies,
    view_kind,
)


def meta(path: str = "a.dcm", **kw: Any) -> ImageMeta:
    defaults: dict[str, object] = {"source_format": "dicom", "modality": "CR", "body_part": "CHEST"}
    defaults.update(kw)
    return ImageMeta(path=path, **defaults)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("view", "kind"),
    [
        ("PA", ViewKind.FRONTAL),
        ("ap", ViewKind.FRONTAL),
        ("AP SUPINE", ViewKind.FRONTAL),
        ("LATERAL", ViewKind.LATERAL),
        ("LL", ViewKind.LATERAL),
        ("RL", ViewKind.LATERAL),
        ("OBLIQUE", ViewKind.UNKNOWN),
        ("", ViewKind.UNKNOWN),
        (None, ViewKind.UNKNOWN),
    ],
)
def test_view_kind(view: str | None, kind: ViewKind) -> None:
    assert view_kind(meta(view_position=view)) is kind


# metadata, expected flag codes (blocking first), expected text in the first message
FLAG_CASES = [
    ({"view_position": "PA"}, [], None),
    ({"view_position": "LL"}, [FlagCode.LATERAL_VIEW], "lateral view"),
    ({"view_position": "PA", "body_part": "HAND"}, [FlagCode.NON_CHEST], "'HAND' is not a chest"),
    ({"view_position": "PA", "modality": "CT"}, [FlagCode.NOT_RADIOGRAPH], "'CT'"),
    ({"view_position": "PA", "body_part": None, "modality": None}, [], None),
    ({"view_position": None}, [FlagCode.VIEW_UNKNOWN], "no ViewPosition"),
    ({"view_position": "OBLIQUE"}, [FlagCode.UNRECOGNISED_VIEW], "'OBLIQUE'"),
    (
        {"view_position": "LATERAL", "body_part": "SKULL"},
        [FlagCode.LATERAL_VIEW, FlagCode.NON_CHEST],
        "lateral",
    ),
    (
        {"source_format": "png", "modality": None, "body_part": None},
        [FlagCode.VIEW_UNKNOWN],
        "not DICOM",
    ),
]


@pytest.mark.parametrize(("fields", "codes", "text"), FLAG_CASES)
def test_acquisition_flags(fields: dict[str, Any], codes: list[FlagCode], text: str | None) -> None:
    flags = check_acquisition(meta(**fields))
    assert [f.code for f in flags] == codes
    if text is not None:
        assert text in flags[0].message
    blocking = {FlagCode.LATERAL_VIEW, FlagCode.NON_CHEST, FlagCode.NOT_RADIOGRAPH}
    assert all(f.blocking == (f.code in blocking) for f in flags)


def test_grouping_and_primary_view_choice() -> None:
    s1, s2 = "1.2.3", "1.2.4"
    metas = [
        meta("lat.dcm", study_uid=s1, view_position="LL"),
        meta("ap.dcm", study_uid=s1, view_position="AP"),
        meta("pa.dcm", study_uid=s1, view_position="PA"),
        meta("other.dcm", study_uid=s2, view_position="LATERAL"),
        meta("x.png", source_format="png"),
        meta("y.png", source_format="png"),
    ]
    studies = group_studies(metas)
    assert [s.key for s in studies] == [s1, s2, "file:x.png", "file:y.png"]
    first = studies[0]
    assert [m.path for m in first.metas] == ["lat.dcm", "ap.dcm", "pa.dcm"]
    assert first.primary_meta is not None and first.primary_meta.path == "pa.dcm"
    assert studies[1].primary is None  # a lateral-only study has nothing to read
    assert studies[2].primary == 0


@pytest.mark.parametrize(
    ("views", "chosen"),
    [
        (["AP", "PA"], 1),
        (["LL", "AP"], 1),
        ([None, "AP"], 1),
        ([None, "LL"], 0),
        (["LL", "LATERAL"], None),
        ([], None),
    ],
)
def test_choose_primary(views: list[str | None], chosen: int | None) -> None:
    assert (
        choose_primary([meta(f"{i}.dcm", view_position=v) for i, v in enumerate(views)]) == chosen
    )


def test_real_files_grouped_by_study_uid(tmp_path: Path) -> None:
    study = generate_uid()
    paths = [
        save(uncompressed(StudyInstanceUID=study, ViewPosition="LL"), tmp_path / "lat.dcm"),
        save(uncompressed(StudyInstanceUID=study, ViewPosition="PA"), tmp_path / "pa.dcm"),
        save(uncompressed(StudyInstanceUID=generate_uid()), tmp_path / "other.dcm"),
    ]
    studies = group_studies([read_image(p).meta for p in paths])
    assert len(studies) == 2
    assert studies[0].primary_meta is not None
    assert studies[0].primary_meta.path.endswith("pa.dcm")


def test_a_blocked_image_is_never_the_primary() -> None:
    metas = [
        meta("pa.dcm", study_uid="1.2", view_position="PA"),
        meta("ap.dcm", study_uid="1.2", view_position="AP"),
    ]
    [study] = group_studies(metas, blocked={"pa.dcm"})
    assert study.primary_meta is not None and study.primary_meta.path == "ap.dcm"
    [study] = group_studies(metas, blocked={"pa.dcm", "ap.dcm"})
    assert study.primary is None
