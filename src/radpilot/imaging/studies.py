"""Study grouping and acquisition checks.

Images are grouped into studies by StudyInstanceUID (an image without one, e.g. a PNG,
is its own study). Each image gets flags that say, with the reason, why a
chest-radiograph model should not read it (a lateral view, a non-chest body part, a
modality that is not a radiograph) or what is uncertain about it (view unknown). Within
a study the preferred frontal view is marked as the study's primary image. The lists of
views, body parts and modalities are data (``imaging/data/acquisition.json``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache

from radpilot.imaging.model_api import ImageMeta
from radpilot.imaging.rulefiles import load_rules


class ViewKind(StrEnum):
    FRONTAL = "frontal"
    LATERAL = "lateral"
    UNKNOWN = "unknown"


class FlagCode(StrEnum):
    """Why an image is flagged. Blocking codes mean the image is not analysed."""

    LATERAL_VIEW = "lateral_view"
    NON_CHEST = "non_chest"
    NOT_RADIOGRAPH = "not_radiograph"
    VIEW_UNKNOWN = "view_unknown"
    UNRECOGNISED_VIEW = "unrecognised_view"

    @property
    def blocking(self) -> bool:
        return self in _BLOCKING


_BLOCKING = frozenset({FlagCode.LATERAL_VIEW, FlagCode.NON_CHEST, FlagCode.NOT_RADIOGRAPH})


@dataclass(frozen=True)
class Flag:
    code: FlagCode
    message: str

    @property
    def blocking(self) -> bool:
        return self.code.blocking

    def to_dict(self) -> dict[str, object]:
        return {"code": self.code.value, "message": self.message, "blocking": self.blocking}


@dataclass(frozen=True)
class AcquisitionRules:
    frontal_views: frozenset[str]
    lateral_views: frozenset[str]
    view_preference: tuple[str, ...]
    chest_body_parts: frozenset[str]
    radiograph_modalities: frozenset[str]


@lru_cache(maxsize=1)
def acquisition_rules() -> AcquisitionRules:
    body = load_rules(
        "acquisition.json",
        {
            "frontal_views": list,
            "lateral_views": list,
            "view_preference": list,
            "chest_body_parts": list,
            "radiograph_modalities": list,
        },
    )

    def upper(key: str) -> list[str]:
        return [str(v).strip().upper() for v in body[key]]

    return AcquisitionRules(
        frontal_views=frozenset(upper("frontal_views")),
        lateral_views=frozenset(upper("lateral_views")),
        view_preference=tuple(upper("view_preference")),
        chest_body_parts=frozenset(upper("chest_body_parts")),
        radiograph_modalities=frozenset(upper("radiograph_modalities")),
    )


def view_kind(meta: ImageMeta) -> ViewKind:
    rules = acquisition_rules()
    view = (meta.view_position or "").strip().upper()
    if view in rules.lateral_views:
        return ViewKind.LATERAL
    if view in rules.frontal_views:
        return ViewKind.FRONTAL
    return ViewKind.UNKNOWN


def check_acquisition(meta: ImageMeta) -> list[Flag]:
    """Flags for one image, blocking ones first."""
    rules = acquisition_rules()
    flags: list[Flag] = []
    view = (meta.view_position or "").strip().upper()
    kind = view_kind(meta)
    if kind is ViewKind.LATERAL:
        flags.append(
            Flag(
                FlagCode.LATERAL_VIEW,
                f"lateral view (ViewPosition {view}); the chest models read frontal views only",
            )
        )
    body = (meta.body_part or "").strip().upper()
    if body and body not in rules.chest_body_parts:
        flags.append(
            Flag(
                FlagCode.NON_CHEST,
                f"body part {body!r} is not a chest; the models read chest radiographs only",
            )
        )
    modality = (meta.modality or "").strip().upper()
    if modality and modality not in rules.radiograph_modalities:
        flags.append(
            Flag(
                FlagCode.NOT_RADIOGRAPH,
                f"modality {modality!r} is not a projection radiograph "
                f"(expected one of {', '.join(sorted(rules.radiograph_modalities))})",
            )
        )
    if kind is ViewKind.UNKNOWN:
        if view:
            flags.append(
                Flag(
                    FlagCode.UNRECOGNISED_VIEW,
                    f"view position {view!r} is not a known frontal or lateral view; read as frontal",
                )
            )
        else:
            source = "no ViewPosition" if meta.source_format == "dicom" else "not DICOM"
            flags.append(Flag(FlagCode.VIEW_UNKNOWN, f"view unknown ({source}); assumed frontal"))
    flags.sort(key=lambda f: not f.blocking)
    return flags


@dataclass(frozen=True)
class Study:
    """The images of one study, in input order; ``primary`` indexes the chosen frontal."""

    key: str
    patient_id: str | None
    study_date: str | None
    metas: tuple[ImageMeta, ...]
    primary: int | None

    @property
    def primary_meta(self) -> ImageMeta | None:
        return None if self.primary is None else self.metas[self.primary]


def choose_primary(metas: Sequence[ImageMeta]) -> int | None:
    """Index of the image a frontal-only model should read: the most preferred frontal
    view (PA before AP...), then an image of unknown view; never a blocked image."""
    rules = acquisition_rules()
    rank = {view: i for i, view in enumerate(rules.view_preference)}
    best: tuple[int, int] | None = None
    for i, meta in enumerate(metas):
        if any(f.blocking for f in check_acquisition(meta)):
            continue
        view = (meta.view_position or "").strip().upper()
        score = rank.get(view, len(rank))
        if view_kind(meta) is ViewKind.UNKNOWN:
            score = len(rank) + 1
        if best is None or score < best[0]:
            best = (score, i)
    return None if best is None else best[1]


def group_studies(metas: Sequence[ImageMeta]) -> list[Study]:
    """Group by StudyInstanceUID, in order of first appearance."""
    groups: dict[str, list[ImageMeta]] = {}
    for meta in metas:
        key = meta.study_uid or f"file:{meta.path}"
        groups.setdefault(key, []).append(meta)
    studies = []
    for key, members in groups.items():
        first = members[0]
        studies.append(
            Study(
                key=key,
                patient_id=first.patient_id,
                study_date=first.study_date,
                metas=tuple(members),
                primary=choose_primary(members),
            )
        )
    return studies
