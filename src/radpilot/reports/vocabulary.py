"""The chest finding vocabulary: canonical ids, synonyms, hierarchy and label roll-ups.

The vocabulary is data (``data/findings.json``), loaded lazily and strictly: an unknown
key, a missing key, a parent that does not exist, a cycle, or one term claimed by two
findings is a :class:`~radpilot.errors.VocabularyError` naming the file and the entry.

A user's file extends it (:mod:`radpilot.reports.uservocab`: ``extended_vocabulary(PATH)``):
the result is one :class:`Vocabulary` object, packaged entries merged with the user's, that
``read(text, vocabulary=...)`` reads with. It pickles as its digest and the user's entries,
so worker processes rebuild (once each) the same merged vocabulary.

>>> from radpilot.reports import vocabulary
>>> vocabulary.lookup("Pleural effusions")
'pleural_effusion'
>>> vocabulary.get("nodule").chexpert
'Lung Lesion'
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, field, replace
from enum import StrEnum
from functools import cache
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, StrictBool, field_validator, model_validator

from radpilot.datafiles import DataDocument, DataFile, DataModel, load_path, parse
from radpilot.errors import VocabularyError
from radpilot.reports import morphology
from radpilot.reports.labelsets import CHEXPERT_LABELS, CXR14_LABELS
from radpilot.reports.models import Certainty

_SPACES = re.compile(r"[\s\-]+")


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be blank")
    return value


def _matches(pattern: str, what: str) -> AfterValidator:
    compiled = re.compile(pattern)

    def check(value: str) -> str:
        if not compiled.fullmatch(value):
            raise ValueError(f"{value!r} is not {what}")
        return value

    return AfterValidator(check)


# A phrase or name in a data file: a string with something in it.
Phrase = Annotated[str, Field(min_length=1), AfterValidator(_not_blank)]
FindingId = Annotated[
    str,
    Field(json_schema_extra={"pattern": "^[a-z][a-z0-9_]*$"}),
    _matches(r"[a-z][a-z0-9_]*", "lower_snake_case"),
]
RadlexId = Annotated[
    str,
    Field(json_schema_extra={"pattern": "^RID[0-9]+$"}),
    _matches(r"RID[0-9]+", "a RadLex ID (RID followed by digits)"),
]


class FindingRole(StrEnum):
    """What a finding term names; the label policy of ``labels`` weighs hedges by it.

    OBSERVATION: what is seen on the image (opacity, effusion, nodule, enlarged heart, a tube).
    DIAGNOSIS: a disease inferred from what is seen (pneumonia, atelectasis, edema).
    ETIOLOGY: a cause named without a radiographic disease ("infection", "infectious
    process"): it may explain a finding but does not itself say which disease is there."""

    OBSERVATION = "observation"
    DIAGNOSIS = "diagnosis"
    ETIOLOGY = "etiology"


def _one_of(value: str | None, valid: tuple[str, ...]) -> str | None:
    if value is not None and value not in valid:
        raise ValueError(f"{value!r} unknown; valid: {', '.join(valid)}")
    return value


class FindingEntry(DataModel):
    """One finding of ``findings.json`` as written (see ``data/README.md``)."""

    id: FindingId
    name: Phrase
    synonyms: list[Phrase]
    parent: Phrase | None
    chexpert: str | None = Field(description="The CheXpert label it rolls up to, or null.")
    cxr14: str | None = Field(description="The ChestX-ray14 label it rolls up to, or null.")
    radlex: RadlexId | None = Field(description="RadLex ID, only where certain.")
    anchors: list[Phrase] = Field(default_factory=list)
    qualifiers: list[Phrase] = Field(default_factory=list)
    uncertain_qualifiers: list[Phrase] = Field(default_factory=list)
    normal_qualifiers: list[Phrase] = Field(
        default_factory=list,
        description="Words that say one of its anchors is normal and so name this finding "
        "absent, as a 'normal' cue does for the anchor's first finding, but said of this "
        "finding's anchors only ('costophrenic angles are clear': no effusion; 'clear' says "
        "nothing of the heart).",
    )
    abnormal: StrictBool = True
    label_certainty: Literal["present", "uncertain"] = "present"
    also_uncertain: list[str] = Field(default_factory=list)
    role: FindingRole = FindingRole.OBSERVATION
    refers_back: list[Phrase] = Field(
        default_factory=list,
        description="Synonyms that name a part of a device ('with tip'): they name this "
        "finding only when no other device is named before them in the sentence.",
    )
    any_region: StrictBool | list[Phrase] = Field(
        False,
        description="A finding of the chest even under another body region's sub-header of "
        "a combined examination (the abdomen's film shows the lung bases and the "
        "diaphragm): true for all its terms, or the synonyms that say so ('pleural "
        "effusion', not a knee's 'effusion').",
    )
    adjectives: list[Phrase] = Field(
        default_factory=list,
        description="Adjective forms ('edematous'): before each of the file's "
        "adjective_heads they name this finding ('no edematous changes'), unless another "
        "finding owns that phrase; alone only where also a synonym.",
    )
    historical_terms: list[Phrase] = Field(
        default_factory=list,
        description="Synonyms that name an old finding ('healed fracture', 'callus'): a "
        "mention by one of them is historical, as after 'old' or 'healed'.",
    )
    not_terms: list[Phrase] = Field(
        default_factory=list,
        description="Phrases that hold one of its words but name something else, anatomy "
        "or a sign ('thoracic cavity' for a cavity, 'mass effect' for a mass): read as one "
        "phrase that names nothing.",
    )

    placed: dict[str, FindingId] = Field(
        default_factory=dict,
        description="A location (a key of modifiers.json locations) -> the finding a mention "
        "of this one placed there is: a 'lesion' of a rib or the thoracic spine is a bone "
        "lesion, a 'fracture' of a rib a rib fracture, a 'deformity' of a rib a rib "
        "deformity. The first of the mention's places listed here decides.",
    )

    @field_validator("chexpert")
    @classmethod
    def _chexpert(cls, v: str | None) -> str | None:
        return _one_of(v, CHEXPERT_LABELS)

    @field_validator("cxr14")
    @classmethod
    def _cxr14(cls, v: str | None) -> str | None:
        return _one_of(v, CXR14_LABELS)

    @field_validator("also_uncertain")
    @classmethod
    def _also(cls, v: list[str]) -> list[str]:
        for label in v:
            _one_of(label, CHEXPERT_LABELS)
        return v

    @model_validator(mode="after")
    def _qualified(self) -> FindingEntry:
        if bool(self.anchors) != bool(self.qualifiers):
            raise ValueError(f"{self.id}: anchors and qualifiers must be given together")
        if not set(self.uncertain_qualifiers) <= set(self.qualifiers):
            raise ValueError(f"{self.id}: each uncertain_qualifiers entry must also be a qualifier")
        if self.normal_qualifiers and not self.anchors:
            raise ValueError(f"{self.id}: normal_qualifiers need anchors")
        if set(self.normal_qualifiers) & set(self.qualifiers):
            raise ValueError(f"{self.id}: a normal_qualifiers entry cannot also be a qualifier")
        if not set(self.refers_back) <= set(self.synonyms):
            raise ValueError(f"{self.id}: each refers_back entry must also be a synonym")
        if isinstance(self.any_region, list) and not set(self.any_region) <= set(self.synonyms):
            raise ValueError(f"{self.id}: each any_region entry must also be a synonym")
        if not set(self.historical_terms) <= set(self.synonyms):
            raise ValueError(f"{self.id}: each historical_terms entry must also be a synonym")
        if set(self.not_terms) & set(self.synonyms):
            raise ValueError(f"{self.id}: a not_terms entry cannot also be a synonym")
        return self


class FindingsFile(DataDocument):
    """``findings.json``: the chest finding vocabulary."""

    version: str
    adjective_heads: list[Phrase] = Field(
        default_factory=list,
        description="Nouns that a finding's adjective form names it with ('change', "
        "'process': 'atelectatic change', 'fibrotic process').",
    )
    findings: list[FindingEntry] = Field(min_length=1)


FINDINGS = DataFile("radpilot.reports", "data/findings.json", FindingsFile)


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
    normal_qualifiers: tuple[str, ...] = ()  # "costophrenic angles are clear": named absent
    abnormal: bool = True  # False for devices: they do not break "No Finding"
    # A present mention counts as this in labels ("vascular congestion" is uncertain edema).
    label_certainty: Certainty = Certainty.PRESENT
    also_uncertain: tuple[str, ...] = ()  # CheXpert labels a mention also makes uncertain
    role: FindingRole = FindingRole.OBSERVATION
    # Part phrases ("with tip") that name it only when no other device precedes them in the
    # sentence ("Pacemaker with tip in the right ventricle" names no central line).
    refers_back: tuple[str, ...] = ()
    adjectives: tuple[str, ...] = ()  # "edematous": names it before an adjective head
    # Terms that name it as the chest's under any region's sub-header ("pleural effusion")
    any_region: tuple[str, ...] = ()
    # Terms that name an old finding ("healed fracture"): their mentions are historical.
    historical_terms: tuple[str, ...] = ()
    # Phrases with one of its words that name anatomy ("thoracic cavity"): they name nothing.
    not_terms: tuple[str, ...] = ()
    placed: tuple[tuple[str, str], ...] = ()  # (location, finding id): "rib" -> rib_fracture


@dataclass(frozen=True, slots=True)
class Vocabulary:
    """Findings by id and the terms that name them. ``extensions`` are the user files
    merged into the packaged vocabulary, in order (``(where, document)`` pairs; empty for
    the packaged one); ``digest`` names the merged content, the same in every process."""

    version: str
    findings: Mapping[str, Finding]
    terms: Mapping[str, str]  # normalized term -> finding id
    extensions: tuple[tuple[str, Any], ...] = ()
    digest: str = ""
    # A module-level function (digest, extensions) -> Vocabulary that rebuilds a merged
    # vocabulary in another process (set by radpilot.reports.uservocab).
    rebuild: Any = field(default=None, compare=False, repr=False)

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        # A worker gets the digest and the user's entries, not every finding: it rebuilds
        # the merged vocabulary once and finds it again by digest for each later chunk.
        if self.rebuild is not None:
            return (self.rebuild, (self.digest, self.extensions))
        if not self.extensions and self.digest == PACKAGED_DIGEST:
            return (_packaged, ())
        return (_rebuilt_whole, (self.version, dict(self.findings), dict(self.terms), self.digest))

    @property
    def extended(self) -> bool:
        """Whether a user's file was merged in."""
        return bool(self.extensions)

    def get(self, finding_id: str) -> Finding:
        """One finding by id; an unknown id lists the valid ones."""
        try:
            return self.findings[finding_id]
        except KeyError:
            raise VocabularyError(
                f"unknown finding id {finding_id!r}; valid ids: {', '.join(sorted(self.findings))}"
            ) from None

    def lookup(self, term: str) -> str | None:
        """The finding id a phrase names ("Pleural effusions" -> "pleural_effusion"), or
        None; regular plurals are looked up by their singular."""
        key = normalize_term(term)
        hit = self.terms.get(key)
        if hit is None and len(key) > 3:
            for stem in morphology.singular_candidates(key):
                hit = self.terms.get(stem)
                if hit is not None:
                    break
        return hit

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


def _finding(entry: FindingEntry) -> Finding:
    return Finding(
        id=entry.id,
        name=entry.name,
        synonyms=tuple(entry.synonyms),
        parent=entry.parent,
        chexpert=entry.chexpert,
        cxr14=entry.cxr14,
        radlex=entry.radlex,
        anchors=tuple(entry.anchors),
        qualifiers=tuple(entry.qualifiers),
        uncertain_qualifiers=tuple(entry.uncertain_qualifiers),
        normal_qualifiers=tuple(entry.normal_qualifiers),
        abnormal=entry.abnormal,
        label_certainty=Certainty(entry.label_certainty),
        also_uncertain=tuple(entry.also_uncertain),
        role=entry.role,
        refers_back=tuple(normalize_term(t) for t in entry.refers_back),
        adjectives=tuple(normalize_term(a) for a in entry.adjectives),
        any_region=_any_region_terms(entry),
        historical_terms=tuple(normalize_term(t) for t in entry.historical_terms),
        not_terms=tuple(normalize_term(t) for t in entry.not_terms),
        placed=tuple(entry.placed.items()),
    )


def _any_region_terms(entry: FindingEntry) -> tuple[str, ...]:
    if entry.any_region is True:
        return tuple(dict.fromkeys(normalize_term(t) for t in (entry.name, *entry.synonyms)))
    if entry.any_region is False:
        return ()
    return tuple(normalize_term(t) for t in entry.any_region)


def build_vocabulary(doc: FindingsFile, where: str) -> Vocabulary:
    """The runtime vocabulary of a validated file, after the checks across entries: an id
    appears once, a term belongs to one finding, a parent exists, no parent chain cycles."""
    findings: dict[str, Finding] = {}
    terms: dict[str, str] = {}
    for entry in doc.findings:
        f = _finding(entry)
        if f.id in findings:
            raise VocabularyError(f"{where}: finding id {f.id!r} appears twice")
        findings[f.id] = f
        for term in (f.name, *f.synonyms):
            key = normalize_term(term)
            other = terms.get(key)
            if other is not None and other != f.id:
                raise VocabularyError(f"{where}: term {term!r} belongs to both {other} and {f.id}")
            terms[key] = f.id
    _add_adjective_terms(findings, terms, tuple(normalize_term(h) for h in doc.adjective_heads))
    check_parents(findings, where)
    return Vocabulary(version=doc.version, findings=findings, terms=terms, digest=PACKAGED_DIGEST)


def _add_adjective_terms(
    findings: Mapping[str, Finding], terms: dict[str, str], heads: tuple[str, ...]
) -> None:
    """Each adjective form before each head names its finding ("edematous changes"); a
    phrase a finding names explicitly ("consolidative opacity") keeps its owner."""
    for f in findings.values():
        for adjective in f.adjectives:
            for phrase in morphology.adjective_phrases(adjective, heads):
                terms.setdefault(phrase, f.id)


def check_parents(findings: Mapping[str, Finding], where: str) -> None:
    """Every parent is a finding id and no parent chain comes back on itself; every
    finding a ``placed`` entry names is one of the vocabulary, and not the finding itself."""
    for f in findings.values():
        for place, other in f.placed:
            if other not in findings or other == f.id:
                raise VocabularyError(
                    f"{where}: {f.id}.placed[{place!r}]: {other!r} is not another finding id"
                )
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


def vocabulary_from_dict(raw: Any, where: str = FINDINGS.where) -> Vocabulary:
    """Validate a whole vocabulary document (as parsed from JSON)."""
    return build_vocabulary(parse(raw, FindingsFile, where), where)


def load_vocabulary(path: Path | str | None = None) -> Vocabulary:
    """Load and validate a whole vocabulary file (JSON or YAML; default: the packaged one,
    cached). A user's file that adds to the packaged vocabulary is read by
    :func:`radpilot.reports.uservocab.extended_vocabulary`."""
    if path is None:
        return _packaged()
    vocab = build_vocabulary(load_path(path, FindingsFile), str(path))
    # A whole file of the user's is not the packaged one: give it a digest of its own.
    return replace(vocab, digest="file:" + _digest_of(vocab))


# What the packaged vocabulary is called across processes (its content is the same
# everywhere: it ships with the code).
PACKAGED_DIGEST = "packaged"

_RESTORED: dict[str, Vocabulary] = {}
_MAX_RESTORED = 8


def restored(digest: str) -> Vocabulary | None:
    """A merged vocabulary this process already built, by digest."""
    return _RESTORED.get(digest)


def remember(vocab: Vocabulary) -> None:
    """Keep a merged vocabulary findable by its digest in this process (a few at most)."""
    if len(_RESTORED) >= _MAX_RESTORED:
        _RESTORED.pop(next(iter(_RESTORED)))
    _RESTORED[vocab.digest] = vocab


def _digest_of(vocab: Vocabulary) -> str:
    """A content digest: the same findings and terms give the same digest anywhere."""
    content = {
        "version": vocab.version,
        "findings": [asdict(f) for f in vocab.findings.values()],
        "terms": sorted(vocab.terms.items()),
    }
    raw = json.dumps(content, sort_keys=True, default=str).encode("utf-8")
    return hashlib.sha256(raw).hexdigest()[:16]


def _rebuilt_whole(
    version: str, findings: dict[str, Finding], terms: dict[str, str], digest: str
) -> Vocabulary:
    return Vocabulary(version=version, findings=findings, terms=terms, digest=digest)


@cache
def _packaged() -> Vocabulary:
    return build_vocabulary(FINDINGS.load(), FINDINGS.where)


def vocabulary_of(report: Any) -> Vocabulary:
    """The vocabulary a report was read with (``read(text, vocabulary=...)``), else the
    packaged one."""
    vocab = getattr(report, "vocabulary", None)
    return vocab if vocab is not None else _packaged()


def findings() -> tuple[Finding, ...]:
    """Every finding of the packaged vocabulary, in file order."""
    return tuple(_packaged().findings.values())


def get(finding_id: str) -> Finding:
    """One finding of the packaged vocabulary by id; an unknown id lists the valid ones."""
    return _packaged().get(finding_id)


def lookup(term: str) -> str | None:
    """The finding id a phrase names in the packaged vocabulary ("Pleural effusions" ->
    "pleural_effusion"), or None (:meth:`Vocabulary.lookup` for a merged one)."""
    return _packaged().lookup(term)


def plural_variants(term: str) -> tuple[str, ...]:
    """A term and its regular plural, so that "opacity" also matches "opacities"
    (:func:`radpilot.reports.morphology.plural_variants` of the normalized term)."""
    return morphology.plural_variants(normalize_term(term))
