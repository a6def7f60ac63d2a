"""Studies onto the worklist: from a ``radpilot analyze --json`` file, or a DICOM file.

An analysis file is the JSON list ``radpilot analyze --json`` prints (or the
``analysis.json`` it writes with ``--out``): one object per image. Its images are grouped
by ``metadata.study_uid``; each study's urgency combines its images
(:func:`study_urgency`). Only the keys used here are checked, strictly: a bad one is one
line naming the file, the image's index and the key, never a value (header values are
patient data). A DICOM file is placed by its header (:func:`radpilot.imaging.dicomio.
read_study_tags`), without reading its pixels.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from radpilot.imaging.dicomio import read_study_tags
from radpilot.workflow.studies import StudyError, StudyRecord, StudyUrgency

MAX_ANALYSIS_BYTES = 200_000_000


class _Lenient(BaseModel):
    # The analysis JSON has many more keys (outputs, notes, ...); only these are read.
    model_config = ConfigDict(extra="ignore", frozen=True)


class _Finding(_Lenient):
    name: str
    probability: float
    positive: bool


class _Urgency(_Lenient):
    tier: str
    score: float
    reasons: list[str] = []


class _Meta(_Lenient):
    study_uid: str | None = None
    patient_id: str | None = None
    study_date: str | None = None
    modality: str | None = None
    body_part: str | None = None


class _Image(_Lenient):
    path: str = ""
    findings: list[_Finding] = []
    urgency: _Urgency | None = None
    metadata: _Meta | None = None
    error: str | None = None


@dataclass(frozen=True)
class Intake:
    """One study to put on the worklist: its header, its images' analysis, its urgency."""

    record: StudyRecord
    analysis: tuple[Mapping[str, Any], ...] = ()
    urgency: StudyUrgency | None = None


def _field_path(err: Mapping[str, Any]) -> str:
    return ".".join(str(p) for p in err.get("loc", ()))


@dataclass(frozen=True)
class ParsedAnalysis:
    """The studies of an analysis file, and one line per image left out (an image with
    no study UID: a PNG or JPEG, or a file ``analyze`` could not read)."""

    intakes: tuple[Intake, ...]
    skipped: tuple[str, ...] = ()


def parse_analysis(raw: Any, where: str) -> ParsedAnalysis:
    """The studies in an analysis JSON value (a list of image objects). A malformed
    image is an error for the whole file; an image without a study is skipped, unless
    no image has one."""
    if isinstance(raw, Mapping):
        raw = [raw]
    if not isinstance(raw, list):
        raise StudyError(f"{where}: not an analysis (a JSON list of image results expected)")
    images: dict[str, list[tuple[Mapping[str, Any], _Image]]] = {}
    skipped: list[str] = []
    for i, item in enumerate(raw):
        if not isinstance(item, Mapping):
            raise StudyError(f"{where}: image [{i}]: not a JSON object")
        try:
            image = _Image.model_validate(item)
        except ValidationError as exc:
            first = exc.errors()[0]
            raise StudyError(
                f"{where}: image [{i}]: {_field_path(first)}: {first['msg'].lower()}"
            ) from None
        uid = image.metadata.study_uid if image.metadata else None
        if not uid:
            why = "the file was not read" if image.error else "a PNG or JPEG carries no study"
            skipped.append(f"{where}: image [{i}]: metadata.study_uid: missing ({why}); left out")
            continue
        images.setdefault(uid, []).append((item, image))
    if not images:
        if skipped:
            raise StudyError(skipped[0].removesuffix("; left out") + "; add the DICOM instead")
        raise StudyError(f"{where}: no images in the analysis")
    intakes = tuple(_intake(uid, group, where) for uid, group in images.items())
    return ParsedAnalysis(intakes, tuple(skipped))


def _intake(uid: str, group: list[tuple[Mapping[str, Any], _Image]], where: str) -> Intake:
    def first(attr: str) -> str | None:
        return next(
            (getattr(m, attr) for _, im in group if (m := im.metadata) and getattr(m, attr)),
            None,
        )

    try:
        record = StudyRecord(
            uid,
            patient_id=first("patient_id"),
            modality=first("modality"),
            body_part=first("body_part"),
            study_date=first("study_date"),
        )
    except StudyError as exc:
        raise StudyError(f"{where}: {exc}") from None
    return Intake(record, tuple(raw for raw, _ in group), study_urgency([im for _, im in group]))


def study_urgency(images: Sequence[_Image]) -> StudyUrgency | None:
    """A study's urgency from its images (each as :func:`_image_urgency` gives it): the
    most urgent image read by the model decides
    (tier urgent if any image is, the highest score); when the model read none of them
    and the gate blocked some, ``not_assessed``; with no urgency at all, None."""
    scored = [u for im in images if (u := _image_urgency(im)) is not None]
    read = [u for u in scored if u.tier != "not_assessed"]
    if read:
        top = max(read, key=lambda u: (u.tier == "urgent", u.score))
        return StudyUrgency(top.tier, max(u.score for u in read), tuple(top.reasons))
    if scored:
        return StudyUrgency("not_assessed", 0.0, tuple(scored[0].reasons))
    return None


def _image_urgency(image: _Image) -> _Urgency | None:
    """The image's urgency as ``radpilot analyze`` gave it, or, for a result without one,
    scored from its findings by the same rule (``radpilot.imaging.urgency``)."""
    if image.urgency is not None or not image.findings:
        return image.urgency
    from radpilot.imaging.urgency import score_urgency

    u = score_urgency(
        {f.name: f.probability for f in image.findings},
        {f.name: f.positive for f in image.findings},
    )
    return _Urgency(tier=u.tier.value, score=u.score, reasons=list(u.reasons))


def read_analysis_file(path: Path) -> ParsedAnalysis:
    try:
        if path.stat().st_size > MAX_ANALYSIS_BYTES:
            raise StudyError(f"{path}: over {MAX_ANALYSIS_BYTES:,} bytes; not an analysis file")
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise StudyError(f"{path}: cannot read ({exc.strerror or exc})") from None
    except UnicodeDecodeError:
        raise StudyError(f"{path}: not UTF-8 text (an analysis JSON expected)") from None
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise StudyError(f"{path}: not JSON (line {exc.lineno}, column {exc.colno})") from None
    except RecursionError:
        raise StudyError(f"{path}: JSON nested too deeply") from None
    return parse_analysis(raw, str(path))


def record_from_dicom(path: Path) -> StudyRecord:
    """The study a DICOM file belongs to, from its header only."""
    tags = read_study_tags(path)
    uid = tags["StudyInstanceUID"]
    if not uid:
        raise StudyError(f"{path}: no StudyInstanceUID in the header; cannot place the study")
    try:
        return StudyRecord(
            uid,
            patient_id=tags["PatientID"],
            accession=tags["AccessionNumber"],
            description=tags["StudyDescription"],
            modality=tags["Modality"],
            body_part=tags["BodyPartExamined"],
            study_date=tags["StudyDate"],
        )
    except StudyError as exc:
        raise StudyError(f"{path}: {exc}") from None
