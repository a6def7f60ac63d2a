"""The chest finding vocabulary: canonical ids, synonyms, hierarchy and label roll-ups.

The vocabulary is data (``data/findings.json``), loaded lazily and strictly: an unknown
key, a missing key, a parent that does not exist, a cycle, or one term claimed by two
findings is a :class:`~radpilot.errors.VocabularyError` naming the file and the entry.

>>> from radpilot.reports import vocabulary
>>> vocabulary.lookup("Pleural effusions")
'pleural_effusion'
>>> vocabulary.get("nodule").chexpert
'Lung Lesion'
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from radpilot.errors import VocabularyError
from radpilot.reports.labelsets import CHEXPERT_LABELS, CXR14_LABELS
from radpilot.reports.models import Certainty

DATA_PACKAGE = "radpilot.reports"  # files live in its data/ folder (no __init__ needed)
FINDINGS_FILE = "findings.json"

_TOP_KEYS = {"version", "description", "findings"}
_REQUIRED = ("id", "name", "synonyms", "parent", "chexpert", "cxr14", "radlex")
_OPTIONAL = (
    "anchors",
    "qualifiers",
    "uncertain_qualifiers",
    "abnormal",
    "label_certainty",
    "also_uncertain",
    "role",
)
_LABEL_CERTAINTY = (Certainty.PRESENT, Certainty.UNCERTAIN)
_ID_RE = re.compile(r"^[a-z][a-z0-9_]*$")
_RADLEX_RE = re.compile(r"^RID\d+$")
_SPACES = re.compile(r"[\s\-]+")


class FindingRole(StrEnum):
    """What a finding term names; the label policy of ``labels`` weighs hedges by it.

    OBSERVATION: what is seen on the image (opacity, effusion, nodule, enlarged heart, a tube).
    DIAGNOSIS: a disease inferred from what is seen (pneumonia, atelectasis, edema).
    ETIOLOGY: a cause named without a radiographic disease ("infection", "infectious
    process"): it may explain a finding but does not itself say which disease is there."""

    OBSERVATION = "observation"
    DIAGNOSIS = "diagnosis"
    ETIOLOGY = "etiology"


def normalize_term(term: str) -> str:
    """The key a phrase is looked up by: lower case, hyphens and runs of spaces as one space."""
    return _SPACES.sub(" ", term.strip().lower())


@dataclass(frozen=True, slots=True)
class Finding:
    """One canonical chest finding."""

    id: str
    name: str
    synonyms: tuple[str, ...]
    parent: str | None
    chexpert: str | None  # the CheXpert observation it rolls up to
    cxr14: str | None  # the ChestX-ray14 label it rolls up to
    radlex: str | None  # RadLex ID, only where certain
    anchors: tuple[str, ...] = ()  # words that name it only with a qualifier ("heart" + "enlarged")
    qualifiers: tuple[str, ...] = ()
    uncertain_qualifiers: tuple[str, ...] = ()  # "heart size is stable": named, but uncertain
    abnormal: bool = True  # False for devices: they do not break "No Finding"
    # A present mention counts as this in labels ("vascular congestion" is uncertain edema).
    label_certainty: Certainty = Certainty.PRESENT
    also_uncertain: tuple[str, ...] = ()  # CheXpert labels a mention also makes uncertain
    role: FindingRole = FindingRole.OBSERVATION


@dataclass(frozen=True, slots=True)
class Vocabulary:
    version: str
    findings: Mapping[str, Finding]
    terms: Mapping[str, str]  # normalized term -> finding id

    def __iter__(self) -> Iterator[Finding]:
        return iter(self.findings.values())

    def __len__(self) -> int:
        return len(self.findings)

    def ancestors(self, finding_id: str) -> tuple[str, ...]:
        """Parent, grandparent, ... of a finding (nearest first)."""
        out: list[str] = []
        parent = self.findings[finding_id].parent
        while parent is not None:
            out.append(parent)
            parent = self.findings[parent].parent
        return tuple(out)


def _str_list(value: Any, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise VocabularyError(f"{where}: must be a list of non-empty strings")
    return tuple(value)


def _opt_str(value: Any, where: str) -> str | None:
    if value is not None and (not isinstance(value, str) or not value.strip()):
        raise VocabularyError(f"{where}: must be a non-empty string or null")
    return value


def finding_from_dict(raw: Any, where: str) -> Finding:
    """Build one :class:`Finding`, rejecting unknown or missing keys."""
    if not isinstance(raw, dict):
        raise VocabularyError(f"{where}: each finding must be a JSON object")
    unknown = sorted(set(raw) - set(_REQUIRED) - set(_OPTIONAL))
    if unknown:
        raise VocabularyError(
            f"{where}: unknown key(s) {', '.join(unknown)}; allowed: {', '.join(_REQUIRED + _OPTIONAL)}"
        )
    missing = [k for k in _REQUIRED if k not in raw]
    if missing:
        raise VocabularyError(f"{where}: missing key(s) {', '.join(missing)}")
    fid = raw["id"]
    if not isinstance(fid, str) or not _ID_RE.match(fid):
        raise VocabularyError(f"{where}: id {fid!r} must be lower_snake_case")
    where = f"{where} ({fid})"
    name = _opt_str(raw["name"], f"{where}.name")
    if name is None:
        raise VocabularyError(f"{where}.name: must be a non-empty string")
    radlex = _opt_str(raw["radlex"], f"{where}.radlex")
    if radlex is not None and not _RADLEX_RE.match(radlex):
        raise VocabularyError(
            f"{where}.radlex: {radlex!r} is not a RadLex ID (RID followed by digits)"
        )
    anchors = _str_list(raw.get("anchors", []), f"{where}.anchors")
    qualifiers = _str_list(raw.get("qualifiers", []), f"{where}.qualifiers")
    if bool(anchors) != bool(qualifiers):
        raise VocabularyError(f"{where}: anchors and qualifiers must be given together")
    uncertain_q = _str_list(raw.get("uncertain_qualifiers", []), f"{where}.uncertain_qualifiers")
    if not set(uncertain_q) <= set(qualifiers):
        raise VocabularyError(f"{where}.uncertain_qualifiers: each must also be a qualifier")
    raw_certainty = raw.get("label_certainty", "present")
    if raw_certainty not in [c.value for c in _LABEL_CERTAINTY]:
        valid = ", ".join(c.value for c in _LABEL_CERTAINTY)
        raise VocabularyError(
            f"{where}.label_certainty: {raw_certainty!r} is not valid; valid: {valid}"
        )
    label_certainty = Certainty(raw_certainty)
    abnormal = raw.get("abnormal", True)
    if not isinstance(abnormal, bool):
        raise VocabularyError(f"{where}.abnormal: must be true or false")
    raw_role = raw.get("role", FindingRole.OBSERVATION.value)
    if raw_role not in [r.value for r in FindingRole]:
        valid = ", ".join(r.value for r in FindingRole)
        raise VocabularyError(f"{where}.role: {raw_role!r} is not valid; valid: {valid}")
    return Finding(
        id=fid,
        name=name,
        synonyms=_str_list(raw["synonyms"], f"{where}.synonyms"),
        parent=_opt_str(raw["parent"], f"{where}.parent"),
        chexpert=_opt_str(raw["chexpert"], f"{where}.chexpert"),
        cxr14=_opt_str(raw["cxr14"], f"{where}.cxr14"),
        radlex=radlex,
        anchors=anchors,
        qualifiers=qualifiers,
        uncertain_qualifiers=uncertain_q,
        abnormal=abnormal,
        label_certainty=label_certainty,
        also_uncertain=_str_list(raw.get("also_uncertain", []), f"{where}.also_uncertain"),
        role=FindingRole(raw_role),
    )


def vocabulary_from_dict(raw: Any, where: str = FINDINGS_FILE) -> Vocabulary:
    """Validate a whole vocabulary document (as parsed from JSON)."""
    if not isinstance(raw, dict):
        raise VocabularyError(f"{where}: top level must be a JSON object")
    unknown = sorted(set(raw) - _TOP_KEYS)
    if unknown:
        raise VocabularyError(
            f"{where}: unknown key(s) {', '.join(unknown)}; allowed: {', '.join(sorted(_TOP_KEYS))}"
        )
    if not isinstance(raw.get("version"), str):
        raise VocabularyError(f"{where}: 'version' must be a string")
    items = raw.get("findings")
    if not isinstance(items, list) or not items:
        raise VocabularyError(f"{where}: 'findings' must be a non-empty list")
    findings: dict[str, Finding] = {}
    terms: dict[str, str] = {}
    for i, item in enumerate(items):
        f = finding_from_dict(item, f"{where}: findings[{i}]")
        if f.id in findings:
            raise VocabularyError(f"{where}: finding id {f.id!r} appears twice")
        if f.chexpert is not None and f.chexpert not in CHEXPERT_LABELS:
            raise VocabularyError(
                f"{where}: {f.id}.chexpert {f.chexpert!r} unknown; valid: {', '.join(CHEXPERT_LABELS)}"
            )
        if f.cxr14 is not None and f.cxr14 not in CXR14_LABELS:
            raise VocabularyError(
                f"{where}: {f.id}.cxr14 {f.cxr14!r} unknown; valid: {', '.join(CXR14_LABELS)}"
            )
        for extra in f.also_uncertain:
            if extra not in CHEXPERT_LABELS:
                raise VocabularyError(
                    f"{where}: {f.id}.also_uncertain {extra!r} unknown; valid: {', '.join(CHEXPERT_LABELS)}"
                )
        findings[f.id] = f
        for term in (f.name, *f.synonyms):
            key = normalize_term(term)
            other = terms.get(key)
            if other is not None and other != f.id:
                raise VocabularyError(f"{where}: term {term!r} belongs to both {other} and {f.id}")
            terms[key] = f.id
    for f in findings.values():
        if f.parent is not None and f.parent not in findings:
            raise VocabularyError(f"{where}: {f.id}.parent {f.parent!r} is not a finding id")
        seen = {f.id}
        parent = f.parent
        while parent is not None:
            if parent in seen:
                raise VocabularyError(
                    f"{where}: {f.id}: the parent chain has a cycle at {parent!r}"
                )
            seen.add(parent)
            parent = findings[parent].parent
    return Vocabulary(version=raw["version"], findings=findings, terms=terms)


def load_json(filename: str) -> Any:
    """Parse one packaged data file, naming it in any error."""
    try:
        text = resources.files(DATA_PACKAGE).joinpath("data", filename).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise VocabularyError(f"{filename}: packaged data file is missing") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise VocabularyError(f"{filename}: not valid JSON ({exc})") from None


def load_vocabulary(path: Path | None = None) -> Vocabulary:
    """Load and validate a vocabulary file (default: the packaged one, cached)."""
    if path is None:
        return _packaged()
    try:
        raw = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise VocabularyError(f"{path}: cannot read ({exc.strerror})") from None
    except json.JSONDecodeError as exc:
        raise VocabularyError(f"{path}: not valid JSON ({exc})") from None
    return vocabulary_from_dict(raw, str(path))


@lru_cache(maxsize=1)
def _packaged() -> Vocabulary:
    return vocabulary_from_dict(load_json(FINDINGS_FILE), FINDINGS_FILE)


def findings() -> tuple[Finding, ...]:
    """Every finding of the packaged vocabulary, in file order."""
    return tuple(_packaged().findings.values())


def get(finding_id: str) -> Finding:
    """One finding by id; an unknown id lists the valid ones."""
    vocab = _packaged()
    try:
        return vocab.findings[finding_id]
    except KeyError:
        raise VocabularyError(
            f"unknown finding id {finding_id!r}; valid ids: {', '.join(sorted(vocab.findings))}"
        ) from None


def lookup(term: str) -> str | None:
    """The finding id a phrase names ("Pleural effusions" -> "pleural_effusion"), or None."""
    terms = _packaged().terms
    key = normalize_term(term)
    hit = terms.get(key)
    if hit is None and len(key) > 3:
        for stem in _singulars(key):
            hit = terms.get(stem)
            if hit is not None:
                break
    return hit


def _singulars(key: str) -> Iterator[str]:
    if key.endswith("ies"):
        yield key[:-3] + "y"
    if key.endswith("es"):
        yield key[:-2]
    if key.endswith("s"):
        yield key[:-1]


def plural_variants(term: str) -> tuple[str, ...]:
    """A term and its regular plural, so that "opacity" also matches "opacities"."""
    key = normalize_term(term)
    last = key.rsplit(" ", 1)[-1]
    if not last.isalpha() or len(last) < 4 or last.endswith("s"):
        return (key,)
    if last.endswith("y") and last[-2] not in "aeiou":
        return (key, key[:-1] + "ies")
    if last.endswith(("x", "ch", "sh")):
        return (key, key + "es")
    return (key, key + "s")
