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
from dataclasses import dataclass, field
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from radpilot.errors import InputError
from radpilot.imaging.dicomio import read_image
from radpilot.imaging.model_api import ImageMeta, ImageModel, Radiograph
from radpilot.imaging.overlay import save_png, to_uint8
from radpilot.imaging.registration import Registration, TransformKind, register
from radpilot.imaging.rulefiles import check_rules, load_rules
from radpilot.imaging.studies import check_acquisition
from radpilot.reports.models import Change

log = logging.getLogger(__name__)

_SCHEMA: dict[str, type | tuple[type, ...]] = {
    "min_delta": (int, float),
    "min_registration_ncc": (int, float),
}


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


@dataclass(frozen=True)
class ChangeRule:
    min_delta: float
    min_registration_ncc: float

    @classmethod
    def from_dict(cls, data: object, source: str = "change.json") -> ChangeRule:
        body = check_rules(source, data, _SCHEMA)
        delta = float(body["min_delta"])
        if not 0.0 < delta < 1.0:
            raise InputError(f"imaging/data/{source}: min_delta must be in (0, 1), got {delta}")
        return cls(min_delta=delta, min_registration_ncc=float(body["min_registration_ncc"]))

    def classify(self, prior: float, current: float, threshold: float) -> ProbabilityChange:
        was, now = prior >= threshold, current >= threshold
        if now and not was:
            return ProbabilityChange.NEW
        if was and not now:
            return ProbabilityChange.RESOLVED
        if current - prior >= self.min_delta:
            return ProbabilityChange.INCREASED
        if prior - current >= self.min_delta:
            return ProbabilityChange.DECREASED
        return ProbabilityChange.STABLE


@lru_cache(maxsize=1)
def default_change_rule() -> ChangeRule:
    return ChangeRule.from_dict(load_rules("change.json", _SCHEMA))


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
        quality = "good" if self.registration_ok else "POOR (do not trust the subtraction image)"
        parts.append(f"Registration {quality}: NCC {reg.ncc_before:.2f} -> {reg.ncc_after:.2f}.")
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
    out: Path | None = None,
) -> Comparison:
    rule = rule or default_change_rule()
    probs = np.asarray(model.predict([current, prior]), dtype=np.float64)
    findings = []
    for j, label in enumerate(model.labels):
        threshold = float(model.thresholds.get(label, 0.5))
        c, p = float(probs[0, j]), float(probs[1, j])
        findings.append(FindingChange(label, p, c, threshold, rule.classify(p, c, threshold)))
    reg = register(current.pixels, prior.pixels, kind=kind)
    warnings = check_pair(current.meta, prior.meta)
    if reg.ncc_after < rule.min_registration_ncc:
        warnings.append(
            f"registration quality is poor (NCC {reg.ncc_after:.2f} < "
            f"{rule.min_registration_ncc:.2f}); the subtraction image is unreliable"
        )
    outputs: dict[str, str] = {}
    if out is not None:
        outputs = write_images(current, reg, out)
    return Comparison(
        current=current.meta,
        prior=prior.meta,
        model=model.name,
        findings=tuple(findings),
        registration=reg,
        rule=rule,
        warnings=tuple(warnings),
        outputs=outputs,
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


def write_images(current: Radiograph, reg: Registration, out: Path) -> dict[str, str]:
    from radpilot.imaging.registration import resize

    out.mkdir(parents=True, exist_ok=True)
    diff = subtraction(current.pixels, reg)
    cur = resize(current.pixels, reg.warped.shape)
    return {
        "subtraction": str(save_png(to_uint8(0.5 + diff / 2.0), out / "subtraction.png")),
        "prior_registered": str(save_png(to_uint8(reg.warped), out / "prior_registered.png")),
        "current": str(save_png(to_uint8(cur), out / "current.png")),
    }


def load_study_image(path: str | Path) -> tuple[Radiograph, list[str]]:
    """A file gives that image. A folder must hold one study: its preferred frontal
    image is chosen (PA before AP; laterals and non-chest images never), and the notes
    say which one and why others were left out."""
    from radpilot.errors import RadpilotError
    from radpilot.imaging.dicomio import iter_image_files
    from radpilot.imaging.studies import group_studies

    path = Path(path)
    if not path.is_dir():
        return read_image(path), []
    images: dict[str, Radiograph] = {}
    notes: list[str] = []
    for file in iter_image_files([path]):
        try:
            image = read_image(file)
        except RadpilotError as exc:
            notes.append(f"skipped unreadable {exc}")
            continue
        images[image.meta.path] = image
    if not images:
        raise InputError(f"{path}: no readable image in this folder")
    studies = group_studies([img.meta for img in images.values()])
    if len(studies) > 1:
        keys = ", ".join(s.key for s in studies[:5])
        raise InputError(
            f"{path}: holds {len(studies)} studies ({keys}); give one study's folder or a file"
        )
    study = studies[0]
    chosen = study.primary_meta
    if chosen is None:
        raise InputError(
            f"{path}: no image a frontal chest model can read (lateral or non-chest only)"
        )
    view = chosen.view_position or "unknown view"
    notes.append(
        f"{path}: chose {Path(chosen.path).name} ({view}) of {len(study.metas)} image(s) in the study"
    )
    return images[chosen.path], notes


def compare(
    current: str | Path,
    prior: str | Path,
    *,
    model: ImageModel | str | None = None,
    out: Path | None = None,
    kind: TransformKind | str = TransformKind.AFFINE,
) -> Comparison:
    """Read both (a file, or a folder holding one study), then :func:`compare_images`
    with a registry model by name."""
    from radpilot.imaging.analyze import resolve_model

    current_image, current_notes = load_study_image(current)
    prior_image, prior_notes = load_study_image(prior)
    result = compare_images(current_image, prior_image, resolve_model(model), kind=kind, out=out)
    log.info("compared two images: %d findings", len(result.findings))
    notes = tuple(current_notes + prior_notes)
    if not notes:
        return result
    return Comparison(
        current=result.current,
        prior=result.prior,
        model=result.model,
        findings=result.findings,
        registration=result.registration,
        rule=result.rule,
        warnings=result.warnings,
        outputs=result.outputs,
        notes=notes,
    )
