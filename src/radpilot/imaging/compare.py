"""Prior comparison behind ``radpilot compare``: the same patient's current and prior
radiographs, registered, subtracted, and each finding's probability change classified.

Change rule (data: ``imaging/data/change.json``), per finding with operating point t,
prior probability p and current probability c: NEW when p < t <= c; RESOLVED when
c < t <= p; otherwise INCREASED when c - p >= min_delta, DECREASED when
p - c >= min_delta, else STABLE. Warnings (not errors) when patient ids differ, when
the prior is dated after the current, or when registration quality is poor.

The subtraction image is current - prior (prior registered, then its mean and standard
deviation matched to the current's over the overlap), shown as mid-grey 0.5 + d/2:
brighter = denser now than before (e.g. new opacity), darker = less dense now.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from enum import StrEnum
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from radpilot.errors import InputError, RadpilotError
from radpilot.imaging import quality
from radpilot.imaging.decoder import PixelDecoder
from radpilot.imaging.dicomio import NotAnImage, iter_candidates, read_image
from radpilot.imaging.model_api import ImageMeta, ImageModel, Radiograph
from radpilot.imaging.pixels import ReadLimits
from radpilot.imaging.registration import Registration, TransformKind, register
from radpilot.imaging.results import Flag
from radpilot.imaging.rules import CHANGE, ChangeRule
from radpilot.imaging.studies import check_acquisition, group_studies
from radpilot.reports.models import Change

log = logging.getLogger(__name__)


class ComparisonWriter(Protocol):
    """Where a comparison's images and JSON go (``imaging.outputs.ComparisonOutputs``)."""

    def write(
        self, comparison: Comparison, current: Radiograph, reg: Registration
    ) -> Comparison: ...


class ProbabilityChange(StrEnum):
    NEW = "new"
    INCREASED = "increased"
    DECREASED = "decreased"
    RESOLVED = "resolved"
    STABLE = "stable"

    def to_report_change(self) -> Change:
        """The report-side vocabulary, for comparing with what a report states."""
        return {
            ProbabilityChange.NEW: Change.NEW,
            ProbabilityChange.INCREASED: Change.WORSE,
            ProbabilityChange.DECREASED: Change.BETTER,
            ProbabilityChange.RESOLVED: Change.RESOLVED,
            ProbabilityChange.STABLE: Change.STABLE,
        }[self]


def classify(rule: ChangeRule, prior: float, current: float, threshold: float) -> ProbabilityChange:
    """The change rule (``change.json``) for one finding."""
    was, now = prior >= threshold, current >= threshold
    if now and not was:
        return ProbabilityChange.NEW
    if was and not now:
        return ProbabilityChange.RESOLVED
    if current - prior >= rule.min_delta:
        return ProbabilityChange.INCREASED
    if prior - current >= rule.min_delta:
        return ProbabilityChange.DECREASED
    return ProbabilityChange.STABLE


def default_change_rule() -> ChangeRule:
    return CHANGE.load()


@dataclass(frozen=True)
class FindingChange:
    name: str
    prior_probability: float
    current_probability: float
    threshold: float
    change: ProbabilityChange

    @property
    def delta(self) -> float:
        return self.current_probability - self.prior_probability

    def sentence(self) -> str:
        p, c = self.prior_probability, self.current_probability
        what = {
            ProbabilityChange.NEW: "new",
            ProbabilityChange.RESOLVED: "resolved",
            ProbabilityChange.INCREASED: "increased",
            ProbabilityChange.DECREASED: "decreased",
            ProbabilityChange.STABLE: "stable",
        }[self.change]
        return f"{self.name}: {what} (p {p:.2f} -> {c:.2f}, operating point {self.threshold:.2f})"

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "prior_probability": round(self.prior_probability, 4),
            "current_probability": round(self.current_probability, 4),
            "delta": round(self.delta, 4),
            "threshold": round(self.threshold, 4),
            "change": self.change.value,
        }


@dataclass(frozen=True)
class Comparison:
    current: ImageMeta
    prior: ImageMeta
    model: str
    findings: tuple[FindingChange, ...]
    registration: Registration
    rule: ChangeRule
    warnings: tuple[str, ...] = ()
    outputs: dict[str, str] = field(default_factory=dict)
    notes: tuple[str, ...] = ()  # how each side's image was chosen from a study folder

    @property
    def registration_ok(self) -> bool:
        return self.registration.ncc_after >= self.rule.min_registration_ncc

    def summary(self) -> str:
        """Plain-language change summary, one sentence per finding."""
        parts = [f.sentence() for f in self.findings]
        reg = self.registration
        verdict = "good" if self.registration_ok else "POOR (do not trust the subtraction image)"
        parts.append(f"Registration {verdict}: NCC {reg.ncc_before:.2f} -> {reg.ncc_after:.2f}.")
        return " ".join(p if p.endswith(".") else p + "." for p in parts)

    def to_dict(self) -> dict[str, Any]:
        return {
            "current": _meta_dict(self.current),
            "prior": _meta_dict(self.prior),
            "model": self.model,
            "findings": [f.to_dict() for f in self.findings],
            "registration": {**self.registration.to_dict(), "ok": self.registration_ok},
            "rule": {
                "min_delta": self.rule.min_delta,
                "min_registration_ncc": self.rule.min_registration_ncc,
            },
            "summary": self.summary(),
            "warnings": list(self.warnings),
            "notes": list(self.notes),
            "outputs": dict(self.outputs),
            "note": "AI-assist comparison for a radiologist's review; not a diagnosis.",
        }


def _meta_dict(meta: ImageMeta) -> dict[str, Any]:
    return {
        "path": meta.path,
        "patient_id": meta.patient_id,
        "study_uid": meta.study_uid,
        "study_date": meta.study_date,
        "view_position": meta.view_position,
    }


def check_pair(current: ImageMeta, prior: ImageMeta) -> list[str]:
    """Warnings about whether these two images make a valid prior comparison."""
    warnings: list[str] = []
    if current.patient_id and prior.patient_id and current.patient_id != prior.patient_id:
        warnings.append(
            "patient IDs differ between current and prior; check that they are the same patient"
        )
    elif not (current.patient_id and prior.patient_id):
        warnings.append("patient ID unknown for at least one image; cannot check it is one patient")
    if current.study_date and prior.study_date and prior.study_date > current.study_date:
        warnings.append(
            f"the prior is dated after the current ({prior.study_date} > {current.study_date}); "
            "were the arguments swapped?"
        )
    if current.study_uid and current.study_uid == prior.study_uid:
        warnings.append("current and prior belong to the same study")
    for role, meta in (("current", current), ("prior", prior)):
        for flag in check_acquisition(meta):
            if flag.blocking:
                warnings.append(f"{role}: {flag.message}")
    return warnings


def compare_images(
    current: Radiograph,
    prior: Radiograph,
    model: ImageModel,
    *,
    rule: ChangeRule | None = None,
    kind: TransformKind | str = TransformKind.AFFINE,
) -> Comparison:
    """Predict both images, register the prior onto the current, classify each
    finding's change and check the pair."""
    rule = rule or default_change_rule()
    probs = np.asarray(model.predict([current, prior]), dtype=np.float64)
    findings = []
    for j, label in enumerate(model.labels):
        threshold = float(model.thresholds.get(label, 0.5))
        c, p = float(probs[0, j]), float(probs[1, j])
        findings.append(FindingChange(label, p, c, threshold, classify(rule, p, c, threshold)))
    reg = register(current.pixels, prior.pixels, kind=kind)
    warnings = check_pair(current.meta, prior.meta)
    if reg.ncc_after < rule.min_registration_ncc:
        warnings.append(
            f"registration quality is poor (NCC {reg.ncc_after:.2f} < "
            f"{rule.min_registration_ncc:.2f}); the subtraction image is unreliable"
        )
    return Comparison(
        current=current.meta,
        prior=prior.meta,
        model=model.name,
        findings=tuple(findings),
        registration=reg,
        rule=rule,
        warnings=tuple(warnings),
    )


def subtraction(current: np.ndarray, reg: Registration) -> np.ndarray:
    """current - matched prior on the registration grid, in [-1, 1]; 0 outside overlap."""
    from radpilot.imaging.registration import resize

    cur = resize(np.asarray(current, dtype=np.float64), reg.warped.shape)
    mask = reg.mask
    prior = reg.warped.copy()
    if mask.sum() > 1:
        pc, sc = cur[mask].mean(), cur[mask].std()
        pp, sp = prior[mask].mean(), prior[mask].std()
        prior = (prior - pp) * (sc / sp if sp > 0 else 1.0) + pc
    diff = np.where(mask, cur - prior, 0.0)
    return np.clip(diff, -1.0, 1.0)


def _gate(image: Radiograph, role: str) -> None:
    """A comparison with an image the quality gate blocks would be noise: refuse it."""
    blocking = [f for f in quality.check(image) if f.blocking]
    if blocking:
        codes = ", ".join(f.code.value for f in blocking)
        raise InputError(
            f"{image.meta.path}: the {role} image failed the quality gate ({codes}): {blocking[0].message}"
        )


def load_study_image(
    path: str | Path,
    *,
    role: str = "current",
    limits: ReadLimits | None = None,
    decoder: PixelDecoder | None = None,
) -> tuple[Radiograph, list[str]]:
    """A file gives that image. A folder must hold one study: its preferred frontal
    image is chosen (PA before AP; laterals, non-chest images and images the quality
    gate blocks never), and the notes say which one and why others were left out. Each
    file is read once (compressed DICOM pixels by ``decoder``, see ``read_image``)."""
    path = Path(path)
    if not path.is_dir():
        image = read_image(path, limits=limits, decoder=decoder)
        _gate(image, role)
        return image, []
    images: dict[str, Radiograph] = {}
    blocked: set[str] = set()
    notes: list[str] = []
    for file in iter_candidates([path]):
        try:
            image = read_image(file.path, limits=limits, optional=file.optional, decoder=decoder)
        except NotAnImage:
            continue
        except RadpilotError as exc:
            notes.append(f"skipped unreadable {exc}")
            continue
        images[image.meta.path] = image
        flags: list[Flag] = [*check_acquisition(image.meta)]
        if not any(f.blocking for f in flags):
            flags += quality.check(image)
        if any(f.blocking for f in flags):
            blocked.add(image.meta.path)
    if not images:
        raise InputError(f"{path}: no readable image in this folder")
    studies = group_studies([img.meta for img in images.values()], blocked)
    if len(studies) > 1:
        keys = ", ".join(s.key for s in studies[:5])
        raise InputError(
            f"{path}: holds {len(studies)} studies ({keys}); give one study's folder or a file"
        )
    study = studies[0]
    chosen = study.primary_meta
    if chosen is None:
        raise InputError(
            f"{path}: no image a frontal chest model can read (lateral, non-chest or "
            "failing the quality gate only)"
        )
    view = chosen.view_position or "unknown view"
    notes.append(
        f"{path}: chose {Path(chosen.path).name} ({view[:16]}) of {len(study.metas)} image(s) "
        "in the study"
    )
    return images[chosen.path], notes


def compare(
    current: str | Path,
    prior: str | Path,
    *,
    model: ImageModel | str | None = None,
    kind: TransformKind | str = TransformKind.AFFINE,
    limits: ReadLimits | None = None,
    writer: ComparisonWriter | None = None,
) -> Comparison:
    """One way: read both (a file, or a folder holding one study; each file once) ->
    check (quality gate) -> choose each study's image -> predict and register
    (:func:`compare_images`) -> the writer, if any (images and ``comparison.json``)."""
    from radpilot.imaging.analyze import resolve_model

    with PixelDecoder() as decoder:  # one decoder process for both studies
        current_image, current_notes = load_study_image(
            current, role="current", limits=limits, decoder=decoder
        )
        prior_image, prior_notes = load_study_image(
            prior, role="prior", limits=limits, decoder=decoder
        )
    result = compare_images(current_image, prior_image, resolve_model(model), kind=kind)
    result = replace(result, notes=tuple(current_notes + prior_notes))
    log.info("compared two images: %d findings", len(result.findings))
    if writer is not None:
        result = writer.write(result, current_image, result.registration)
    return result
