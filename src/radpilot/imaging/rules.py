"""The imaging rule files in ``radpilot/imaging/data/``, as strict data models.

Each file is loaded once through :mod:`radpilot.datafiles` (unknown keys, missing keys
and wrong types are one-line errors naming the file and the key path) and has its JSON
Schema published beside it. Finding names in these files are canonical label names
(:func:`radpilot.reports.labelnames.canonical_finding`): a file that spells a finding
another way, or names one no label set knows, does not load.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, Field, model_validator

from radpilot.datafiles import DataDocument, DataFile, DataModel
from radpilot.reports.labelnames import canonical_finding, is_known


def canonical_name(name: str) -> str:
    """A pydantic validator: ``name`` must be a known finding, spelled canonically."""
    if not is_known(name):
        raise ValueError(f"{name!r} is not a known finding label (reports/data/label_names.json)")
    canonical = canonical_finding(name)
    if canonical != name:
        raise ValueError(f"{name!r} must be spelled {canonical!r}, its canonical name")
    return name


FindingName = Annotated[str, AfterValidator(canonical_name)]


def _upper(values: list[str]) -> list[str]:
    return [v.strip().upper() for v in values]


UpperList = Annotated[list[str], AfterValidator(_upper)]


class AcquisitionRules(DataDocument):
    """``acquisition.json``: which acquisitions the chest models may read."""

    frontal_views: UpperList = Field(description="ViewPosition values of frontal views.")
    lateral_views: UpperList = Field(description="ViewPosition values of lateral views.")
    view_preference: UpperList = Field(
        description="Frontal views in the order a study's primary image is chosen."
    )
    chest_body_parts: UpperList = Field(description="BodyPartExamined values that are a chest.")
    radiograph_modalities: UpperList = Field(
        description="Modality values of projection radiographs."
    )


class UrgencyRule(DataDocument):
    """``urgency.json``: score = max over findings of weight x probability; urgent when a
    critical finding is positive or the score reaches ``urgent_score``."""

    default_weight: float = Field(ge=0.0, description="Weight of a finding not in `weights`.")
    urgent_score: float = Field(gt=0.0, description="Score at or above which a study is urgent.")
    critical: list[FindingName] = Field(
        description="Findings that make a study urgent whenever positive."
    )
    weights: dict[FindingName, Annotated[float, Field(ge=0.0)]] = Field(
        description="Canonical finding name -> how soon a radiologist should look (0..1)."
    )

    def weight(self, finding: str) -> float:
        return self.weights.get(canonical_finding(finding), self.default_weight)

    def is_critical(self, finding: str) -> bool:
        return canonical_finding(finding) in self.critical


class ChangeRule(DataDocument):
    """``change.json``: how a probability change between prior and current is named."""

    min_delta: float = Field(gt=0.0, lt=1.0, description="Smallest change called a change.")
    min_registration_ncc: float = Field(
        ge=-1.0, le=1.0, description="Registration below this NCC is reported as poor."
    )


ACQUISITION = DataFile("radpilot.imaging", "data/acquisition.json", AcquisitionRules)
URGENCY = DataFile("radpilot.imaging", "data/urgency.json", UrgencyRule)
CHANGE = DataFile("radpilot.imaging", "data/change.json", ChangeRule)


class QualityCheck(DataModel):
    """One check of the quality gate: the measure is computed in code
    (``radpilot.imaging.quality``), which way it fails is fixed there and said in
    ``description``; the threshold, whether it blocks, and the message are data."""

    limit: float = Field(description="The threshold the measure is compared with.")
    blocking: bool = Field(True, description="A failed blocking check keeps the model away.")
    message: str = Field(
        description="The flag's message: a str.format template with {value}, {limit}, {detail}."
    )
    description: str = Field(description="What is measured, which way it fails, and why.")

    @model_validator(mode="after")
    def _message_formats(self) -> QualityCheck:
        try:
            self.message.format(value=0.0, limit=0.0, detail="")
        except (KeyError, IndexError, ValueError) as exc:
            raise ValueError(
                f"message must use only {{value}}, {{limit}}, {{detail}}: {exc}"
            ) from None
        return self


class QualityChecks(DataModel):
    too_small: QualityCheck
    no_contrast: QualityCheck
    saturated: QualityCheck
    low_detail: QualityCheck
    noise_like: QualityCheck
    colour: QualityCheck
    not_chest_like: QualityCheck
    rotated: QualityCheck
    orientation_unclear: QualityCheck
    inverted: QualityCheck


class OrientationModelFile(DataModel):
    file: str = Field(description="Weights file in radpilot/imaging/weights/.")
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    negative_prior: float = Field(
        gt=0.0, lt=1.0, description="How likely a film is a photographic negative, a priori."
    )
    description: str


class QualityRules(DataDocument):
    """``quality.json``: the image-quality / out-of-distribution gate before the model."""

    thumbnail_side: int = Field(ge=16, le=512, description="Side of the exposure thumbnail.")
    orientation_model: OrientationModelFile
    checks: QualityChecks


QUALITY = DataFile("radpilot.imaging", "data/quality.json", QualityRules)
