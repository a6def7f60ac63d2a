"""The frozen objects the image route passes on: flags, findings, urgency, one image's
result, and the in-memory artefacts (heatmaps, rendered overlays) its writer needs.

A leaf module: it imports nothing from the stages that make or consume these objects
(reading, checks, prediction, the outputs writer, DICOM export), so every stage can
import it and the route stays one-way.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import numpy as np

from radpilot.imaging.model_api import ImageMeta, Radiograph

DISCLAIMER = "AI-assist result for a radiologist's review; not a diagnosis."


class FlagCode(StrEnum):
    """Why an image is flagged. Acquisition codes come from the DICOM header
    (``studies.check_acquisition``); quality codes from the pixels (``quality.check``)."""

    LATERAL_VIEW = "lateral_view"
    NON_CHEST = "non_chest"
    NOT_RADIOGRAPH = "not_radiograph"
    VIEW_UNKNOWN = "view_unknown"
    UNRECOGNISED_VIEW = "unrecognised_view"
    TOO_SMALL = "too_small"
    NO_CONTRAST = "no_contrast"
    SATURATED = "saturated"
    LOW_DETAIL = "low_detail"
    NOISE_LIKE = "noise_like"
    COLOUR = "colour"
    NOT_CHEST_LIKE = "not_chest_like"
    ROTATED = "rotated"
    ORIENTATION_UNCLEAR = "orientation_unclear"
    INVERTED = "inverted"


class CheckKind(StrEnum):
    ACQUISITION = "acquisition"  # DICOM header: view, body part, modality
    QUALITY = "quality"  # pixels: exposure, noise, colour, chest-like, orientation


@dataclass(frozen=True)
class Flag:
    """One failed check. A blocking flag keeps the image from the model (and so from
    any urgency tier); a non-blocking one is shown beside the result."""

    code: FlagCode
    message: str
    blocking: bool
    check: CheckKind = CheckKind.ACQUISITION
    value: float | None = None  # what was measured, for quality checks
    limit: float | None = None  # the threshold it failed

    def to_dict(self) -> dict[str, object]:
        out: dict[str, object] = {
            "code": self.code.value,
            "message": self.message,
            "blocking": self.blocking,
            "check": self.check.value,
        }
        if self.value is not None:
            out["value"] = round(self.value, 4)
            out["limit"] = None if self.limit is None else round(self.limit, 4)
        return out


@dataclass(frozen=True)
class Box:
    """x = column, y = row of the top-left corner, in the SOURCE image's pixels."""

    x: int
    y: int
    width: int
    height: int

    def to_dict(self) -> dict[str, int]:
        return {"x": self.x, "y": self.y, "width": self.width, "height": self.height}

    def corners(self) -> list[tuple[float, float]]:
        """Closed polyline (column, row) around the box, for a DICOM SCOORD POLYLINE."""
        x0, y0 = float(self.x), float(self.y)
        x1, y1 = float(self.x + self.width), float(self.y + self.height)
        return [(x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0)]

    def scaled(self, sx: float, sy: float) -> Box:
        """The box on a grid ``sx`` x ``sy`` times finer (working image -> source)."""
        if sx == 1.0 and sy == 1.0:
            return self
        x0, y0 = round(self.x * sx), round(self.y * sy)
        x1, y1 = round((self.x + self.width) * sx), round((self.y + self.height) * sy)
        return Box(x0, y0, max(1, x1 - x0), max(1, y1 - y0))


class UrgencyTier(StrEnum):
    URGENT = "urgent"
    ROUTINE = "routine"
    NOT_ASSESSED = "not_assessed"  # the image was not read by a model: never urgent


@dataclass(frozen=True)
class Urgency:
    tier: UrgencyTier
    score: float
    reasons: tuple[str, ...]

    def to_dict(self) -> dict[str, object]:
        return {
            "tier": self.tier.value,
            "score": round(self.score, 4),
            "reasons": list(self.reasons),
        }


@dataclass(frozen=True)
class FindingResult:
    name: str
    probability: float
    threshold: float
    positive: bool
    box: Box | None = None
    heatmap: str | None = None  # path of the overlay PNG, once written

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "probability": round(self.probability, 4),
            "positive": self.positive,
            "threshold": round(self.threshold, 4),
            "box": None if self.box is None else self.box.to_dict(),
            "heatmap": self.heatmap,
        }


def meta_dict(meta: ImageMeta) -> dict[str, Any]:
    """The JSON form of an image's metadata (no patient name is ever read)."""
    extra = meta.extra
    return {
        "format": meta.source_format,
        "patient_id": meta.patient_id,
        "study_uid": meta.study_uid,
        "series_uid": meta.series_uid,
        "sop_uid": meta.sop_uid,
        "study_date": meta.study_date,
        "modality": meta.modality,
        "view_position": meta.view_position,
        "body_part": meta.body_part,
        "photometric": meta.photometric,
        "rows": extra.get("rows"),
        "columns": extra.get("columns"),
        "scaling": extra.get("scaling"),
        "downsampled": extra.get("downsampled", 1),
    }


@dataclass(frozen=True)
class ImageResult:
    """One input file's result, in input order; ``error`` when it could not be read."""

    path: str
    model: str
    findings: tuple[FindingResult, ...] = ()
    urgency: Urgency | None = None
    meta: ImageMeta | None = None
    flags: tuple[Flag, ...] = ()
    study: str | None = None
    primary: bool = False
    outputs: dict[str, str] = field(default_factory=dict)
    error: str | None = None
    warnings: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()  # how the pixels were read (bit depth, downsampling)

    @property
    def analysed(self) -> bool:
        return self.error is None and bool(self.findings)

    @property
    def blocked(self) -> bool:
        return any(f.blocking for f in self.flags)

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "model": self.model,
            "analysed": self.analysed,
            "findings": [f.to_dict() for f in self.findings],
            "urgency": None if self.urgency is None else self.urgency.to_dict(),
            "study": self.study,
            "primary_view": self.primary,
            "flags": [f.to_dict() for f in self.flags],
            "metadata": None if self.meta is None else meta_dict(self.meta),
            "outputs": dict(self.outputs),
            "error": self.error,
            "warnings": list(self.warnings),
            "notes": list(self.notes),
            "note": DISCLAIMER,
        }


@dataclass(frozen=True)
class Explanation:
    """One finding's heatmap (working-image shape) and its overlay, rendered once, with
    the finding, probability, decision and disclaimer burned in."""

    label: str
    heatmap: np.ndarray
    overlay: np.ndarray  # uint8 RGB


@dataclass(frozen=True)
class ImageAnalysis:
    """What the outputs writer gets for one image: the result, the image as read (its
    DICOM dataset kept, so nothing is read twice) and the explanations."""

    result: ImageResult
    image: Radiograph | None = None
    explanations: tuple[Explanation, ...] = ()
    index: int = 0  # position in the batch, for output folder names
