"""The image model's findings for report QA, read from ``radpilot analyze``'s output.

``analysis.json`` (``analyze --out``) or ``analyze --json``: a list of image results, or
one. Each analysed image's findings keep the model's own decision (``positive``, taken at
the threshold of its model card): QA never re-thresholds. An image the model did not read
(an error, the quality gate) adds nothing. Keys radpilot does not use are ignored (the
file carries paths, metadata and outputs); a key it uses that is missing or of the wrong
type is one error line naming the file, the image index and the key.

>>> findings = image_findings_from([{"findings": [{"name": "Effusion", "probability": 0.8,
...     "threshold": 0.1, "positive": True}]}], "analysis.json")
>>> [(f.label, f.positive) for f in findings]
[('Pleural Effusion', True)]
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool, ValidationError

from radpilot.datafiles import format_error, read_path
from radpilot.errors import InputError, VocabularyError
from radpilot.reports.labelnames import canonical_finding
from radpilot.reports.labelsets import CHESTXRAY14, CHEXPERT
from radpilot.reports.models import Laterality
from radpilot.workflow.qatypes import ImageFinding

# Views on which the film's left half is the patient's right (a radiograph is displayed
# as if facing the patient).
FRONTAL_VIEWS = frozenset({"PA", "AP"})


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class _Box(_Lenient):
    x: int
    y: int
    width: int = Field(ge=1)
    height: int = Field(ge=1)


class _Finding(_Lenient):
    name: str
    probability: float = Field(ge=0.0, le=1.0)
    threshold: float = Field(ge=0.0, le=1.0)
    positive: StrictBool
    box: _Box | None = None


class _Meta(_Lenient):
    view_position: str | None = None
    columns: int | None = None


class _Image(_Lenient):
    findings: list[_Finding] = Field(default_factory=list)
    error: str | None = None
    flags: list[dict[str, Any]] = Field(default_factory=list)
    metadata: _Meta | None = None


def _label(name: str) -> str | None:
    """The report label an image finding name stands for (CheXpert's spelling first)."""
    canonical = canonical_finding(name)
    if canonical in CHEXPERT.labels:
        return canonical
    for label in CHESTXRAY14.labels:
        if canonical_finding(label) == canonical:
            return label
    return None


def _side(f: _Finding, meta: _Meta | None) -> Laterality | None:
    if f.box is None or meta is None or meta.columns is None:
        return None
    if (meta.view_position or "").upper() not in FRONTAL_VIEWS:
        return None
    half = meta.columns / 2
    if f.box.x + f.box.width <= half:
        return Laterality.RIGHT
    if f.box.x >= half:
        return Laterality.LEFT
    return None


def _analysed(raw: Any, where: str) -> list[_Image]:
    """The images the model read (no error, not stopped by the quality gate)."""
    items = raw if isinstance(raw, list) else [raw]
    out: list[_Image] = []
    for i, item in enumerate(items):
        try:
            image = _Image.model_validate(item)
        except ValidationError as exc:
            raise InputError(format_error(exc, _Image, f"{where}: image [{i}]")) from None
        blocked = any(f.get("blocking") is True for f in image.flags if isinstance(f, dict))
        if image.error is None and not blocked:
            out.append(image)
    return out


def image_findings_from(raw: Any, where: str) -> tuple[ImageFinding, ...]:
    """Findings of parsed analysis.json content (a list of image results, or one)."""
    out: list[ImageFinding] = []
    for image in _analysed(raw, where):
        for f in image.findings:
            label = _label(f.name)
            if label is None:
                continue
            side = _side(f, image.metadata) if f.positive else None
            out.append(ImageFinding(label, f.positive, f.probability, f.threshold, side))
    return tuple(out)


def image_findings(path: Path | str) -> tuple[ImageFinding, ...]:
    """Findings of an analysis.json file; one error line naming the file when it cannot be
    read, is not radpilot's output, or holds no analysed image."""
    try:
        raw = read_path(path)
    except VocabularyError as exc:
        raise InputError(str(exc)) from None
    if not isinstance(raw, (list, dict)):
        raise InputError(f"{path}: not radpilot analyze output (a list of image results)")
    return analysed_findings(raw, str(path))


def analysed_findings(raw: Any, where: str) -> tuple[ImageFinding, ...]:
    """As :func:`image_findings_from`, for a cross-check that was asked for: one with no
    analysed image to check against must not pass as clean, so it is one error line."""
    if not _analysed(raw, where):
        count = len(raw) if isinstance(raw, list) else 1
        what = f"none of its {count} image(s) was analysed" if count else "it holds no image"
        raise InputError(f"{where}: {what}: the image cross-check cannot run")
    return image_findings_from(raw, where)
