"""Study grouping and acquisition checks.

Images are grouped into studies by StudyInstanceUID (an image without one, e.g. a PNG,
is its own study). Each image gets flags that say, with the reason, why a
chest-radiograph model should not read it (a lateral view, a non-chest body part, a
modality that is not a radiograph) or what is uncertain about it (view unknown). Within
a study the preferred frontal view is marked as the study's primary image. The lists of
views, body parts and modalities are data (``imaging/data/acquisition.json``).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from enum import StrEnum

from radpilot.imaging.model_api import ImageMeta
from radpilot.imaging.pixels import shown
from radpilot.imaging.results import CheckKind, Flag, FlagCode
from radpilot.imaging.rules import ACQUISITION, AcquisitionRules


class ViewKind(StrEnum):
    FRONTAL = "frontal"
    LATERAL = "lateral"
    UNKNOWN = "unknown"


def acquisition_rules() -> AcquisitionRules:
    return ACQUISITION.load()


def _flag(code: FlagCode, message: str, *, blocking: bool) -> Flag:
    return Flag(code, message, blocking=blocking, check=CheckKind.ACQUISITION)


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
            _flag(
                FlagCode.LATERAL_VIEW,
                f"lateral view (ViewPosition {shown(view)}); the chest models read frontal views only",
                blocking=True,
            )
        )
    body = (meta.body_part or "").strip().upper()
    if body and body not in rules.chest_body_parts:
        flags.append(
            _flag(
                FlagCode.NON_CHEST,
                f"body part {shown(body)} is not a chest; the models read chest radiographs only",
                blocking=True,
            )
        )
    modality = (meta.modality or "").strip().upper()
    if modality and modality not in rules.radiograph_modalities:
        flags.append(
            _flag(
                FlagCode.NOT_RADIOGRAPH,
                f"modality {shown(modality)} is not a projection radiograph "
                f"(expected one of {', '.join(sorted(rules.radiograph_modalities))})",
                blocking=True,
            )
        )
    if kind is ViewKind.UNKNOWN:
        if view:
            flags.append(
                _flag(
                    FlagCode.UNRECOGNISED_VIEW,
                    f"view position {shown(view)} is not a known frontal or lateral view; read as frontal",
                    blocking=False,
                )
            )
        else:
            source = "no ViewPosition" if meta.source_format == "dicom" else "not DICOM"
            flags.append(
                _flag(
                    FlagCode.VIEW_UNKNOWN,
                    f"view unknown ({source}); assumed frontal (the quality gate checks the pixels)",
                    blocking=False,
                )
            )
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


def choose_primary(
    metas: Sequence[ImageMeta], blocked: Collection[str] | None = None
) -> int | None:
    """Index of the image a frontal-only model should read: the most preferred frontal
    view (PA before AP...), then an image of unknown view; never a blocked image (by its
    acquisition, or by path in ``blocked``: those the quality gate stopped)."""
    rules = acquisition_rules()
    rank = {view: i for i, view in enumerate(rules.view_preference)}
    best: tuple[int, int] | None = None
    for i, meta in enumerate(metas):
        if blocked is not None and meta.path in blocked:
            continue
        if any(f.blocking for f in check_acquisition(meta)):
            continue
        view = (meta.view_position or "").strip().upper()
        score = rank.get(view, len(rank))
        if view_kind(meta) is ViewKind.UNKNOWN:
            score = len(rank) + 1
        if best is None or score < best[0]:
            best = (score, i)
    return None if best is None else best[1]


def group_studies(
    metas: Sequence[ImageMeta], blocked: Collection[str] | None = None
) -> list[Study]:
    """Group by StudyInstanceUID, in order of first appearance; ``blocked``: paths of
    images that must not be a study's primary image."""
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
                primary=choose_primary(members, blocked),
            )
        )
    return studies
