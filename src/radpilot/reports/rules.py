"""Strict loaders for the reader's rule data: ConText cues, attribute words, section headers.

Each file lives in ``radpilot/reports/data/`` with its JSON Schema beside it, is described
by a :mod:`radpilot.datafiles` model (unknown keys and values are rejected with the file,
the key path and the allowed values) and is parsed once, on first use, into the frozen
tables the reader uses per report. Numbers that are rules (scope windows) are settings in
``cues.json``, as medspaCy's ``max_scope``.

>>> cue_rules().alternative_scope_chars
40
>>> modifiers().laterality["bibasilar"]
<Laterality.BILATERAL: 'bilateral'>
>>> modifiers().laterality_words[Laterality.LEFT][:3]
('left', 'left sided', 'lt')
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cache
from typing import Annotated, Any, Literal

from pydantic import Field, StrictBool, StrictInt, model_validator

from radpilot.datafiles import DataDocument, DataFile, DataModel, parse
from radpilot.errors import VocabularyError
from radpilot.reports.models import Hedge, Laterality
from radpilot.reports.vocabulary import Phrase, normalize_term


class CueCategory(StrEnum):
    NEGATION = "negation"
    UNCERTAINTY = "uncertainty"
    ALTERNATIVE = "alternative"  # "or": uncertain only between two findings, never over a negation
    DIFFERENTIAL = "differential"  # "versus": the findings right beside it are uncertain
    PSEUDO = "pseudo"  # looks like a cue ("no change") but decides nothing
    TERMINATOR = "terminator"
    HISTORICAL = "historical"
    HYPOTHETICAL = "hypothetical"
    CHANGE_NEW = "change_new"
    CHANGE_WORSE = "change_worse"
    CHANGE_BETTER = "change_better"
    CHANGE_STABLE = "change_stable"
    CHANGE_RESOLVED = "change_resolved"
    NORMAL = "normal"  # "heart size is normal": decides an anchored finding is absent
    # "consistent with pneumonia": decides nothing (the finding stays present) but records
    # its hedge kind (Hedge.CONSISTENT) on the mention.
    STATEMENT = "statement"


# Categories whose rules say which kind of hedge they are (``"hedge"`` in cues.json).
HEDGE_CATEGORIES = frozenset(
    {
        CueCategory.UNCERTAINTY,
        CueCategory.ALTERNATIVE,
        CueCategory.DIFFERENTIAL,
        CueCategory.STATEMENT,
    }
)


class Direction(StrEnum):
    FORWARD = "forward"
    BACKWARD = "backward"
    BIDIRECTIONAL = "bidirectional"
    NONE = "none"


SectionName = Literal[
    "findings",
    "impression",
    "indication",
    "history",
    "comparison",
    "technique",
    "examination",
    "recommendation",
    "addendum",
    "body",
]
SECTION_NAMES = frozenset(SectionName.__args__)  # type: ignore[attr-defined]
CHEST_REGION = "chest"

Chars = Annotated[StrictInt, Field(gt=0)]


# -- the files as written ----------------------------------------------------------------


class CueSettings(DataModel):
    forward_scope_chars: Chars = Field(description="A forward cue reaches this far.")
    backward_scope_chars: Chars = Field(description="A backward cue reaches this far back.")
    modifier_scope_chars: Chars = Field(
        description="Laterality, location, severity and size words attach this far away."
    )
    anchor_scope_chars: Chars = Field(
        description="An anchor ('heart') and its qualifier ('enlarged') stand this close."
    )
    alternative_scope_chars: Chars = Field(
        description="'or' / 'versus' join findings this close to them."
    )


# A phrase made of slots: one alternative of each, in order (two slots at least).
Slots = Annotated[list[Annotated[list[Phrase], Field(min_length=1)]], Field(min_length=2)]


class CueRule(DataModel):
    category: CueCategory
    direction: Direction
    phrases: list[Phrase]
    combinations: list[Slots] = Field(
        default_factory=list,
        description="More phrases, each made of one alternative from every slot in order: "
        "[['may', 'can'], ['be missed']] is 'may be missed', 'can be missed'.",
    )
    hedge: Hedge | None = Field(
        None, description="The hedge kind: required for uncertainty, alternative, differential."
    )
    hedge_before: Hedge | None = Field(
        None,
        description="Differential rules only: the hedge kind of the finding before the cue "
        "('atelectasis is favored over pneumonia': probable; default alternative), where "
        "'hedge' is that of the finding after it.",
    )
    adjacent: StrictBool = Field(
        False,
        description="Forward rules only: the cue reaches a finding only when one stands "
        "right after it (and the list it opens): 'lungs are clear airspace disease' is a "
        "dropped 'of', 'clear with a small effusion' negates nothing.",
    )

    devices_only: StrictBool = Field(
        False,
        description="Hypothetical rules only: the cue reaches only devices. A recommended or "
        "planned device is not in place ('recommend chest tube placement'), while "
        "'recommend CT of the nodule' still states the nodule.",
    )

    @model_validator(mode="after")
    def _hedge_iff_hedging(self) -> CueRule:
        if self.category in HEDGE_CATEGORIES and self.hedge is None:
            raise ValueError(
                f"hedge: missing key ({self.category.value} rules name their hedge kind)"
            )
        if self.category not in HEDGE_CATEGORIES and self.hedge is not None:
            raise ValueError(
                f"hedge: {self.category.value} rules are no hedge (only uncertainty, "
                "alternative, differential and statement rules have one)"
            )
        if self.adjacent and self.direction is not Direction.FORWARD:
            raise ValueError("adjacent: only forward rules reach the finding right after them")
        if self.devices_only and self.category is not CueCategory.HYPOTHETICAL:
            raise ValueError("devices_only: only hypothetical rules are limited to devices")
        if self.hedge_before is not None and self.category is not CueCategory.DIFFERENTIAL:
            raise ValueError(
                f"hedge_before: {self.category.value} rules have no finding before them to "
                "hedge (only differential rules do)"
            )
        return self


class CueFile(DataDocument):
    version: str
    settings: CueSettings
    rules: list[CueRule]
    openings: list[Phrase] = Field(
        description="Words that, right after a cue, continue its phrase: a terminator that "
        "begins there ('possibly with a small effusion') does not end the cue's scope."
    )
    predicates: list[Phrase] = Field(
        description="Words that, right after a hedge that looks both ways, go on saying "
        "where or that the finding before it is ('consolidation is likely in the left "
        "base', 'effusions are probably present'): the hedge looks back."
    )


class ModifierFile(DataDocument):
    version: str
    laterality: dict[Laterality, list[Phrase]]
    locations: dict[str, list[Phrase]]
    severity: dict[str, list[Phrase]]
    units: dict[str, Annotated[float, Field(gt=0, strict=True)]] = Field(
        description="Unit -> millimetres per unit."
    )
    spellings: dict[Phrase, Phrase] = Field(
        default_factory=dict,
        description="American spelling fragment -> its British/Australian spelling ('edema' -> "
        "'oedema', 'favor' -> 'favour'): every phrase the reader matches (finding terms, cue "
        "phrases, modifiers) that holds the fragment is also matched spelled the other way, "
        "with the same meaning.",
    )
    splits: list[Phrase] = Field(
        default_factory=list,
        description="Word prefixes that dictation writes apart from the rest of the word "
        "('pneumo thorax', 'cardio megaly'): every finding term with a word that opens with "
        "one (and goes on at least four letters) is also matched split there, with the same "
        "meaning.",
    )
    misheard: dict[Phrase, list[Phrase]] = Field(
        default_factory=dict,
        description="A word -> how voice recognition writes it when it mishears it "
        "('pneumothorax' -> 'numo thorax', 'pleural' -> 'plural'): every finding term and "
        "anchor holding the word is also matched so written, with the same meaning, unless "
        "another phrase already owns that spelling.",
    )
    location_sides: dict[str, Literal["left", "right"]] = Field(
        default_factory=dict,
        description="A location (a key of locations) -> the side it lies on ('right upper "
        "lobe' -> right, 'lingula' -> left): a finding placed there without a side word "
        "is on that side ('RUL opacity'), and one placed on both sides is bilateral "
        "('granulomas in the right upper lobe and left lower lobe'). Only the lungs' "
        "places: a device's tip in the right atrium says nothing of the device's side.",
    )
    location_regions: dict[str, Annotated[str, Field(min_length=1)]] = Field(
        default_factory=dict,
        description="A location (a key of locations) -> the body region of sections.json "
        "body_regions it lies in, other than the chest ('liver' -> abdomen, 'thyroid' -> head "
        "and neck): a finding placed only at such places is that region's, as under its "
        "sub-header ('left thyroid nodule', 'cyst in the right hepatic lobe'); a device's "
        "tip placed there is still the chest's device, and a finding whose own words name "
        "the organ ('dilated bowel') stays the chest film's.",
    )
    views: list[Phrase] = Field(
        default_factory=list,
        description="Phrases that name an image or its projection ('lateral view', 'frontal "
        "radiograph'): each is read whole and means nothing, so that a place word inside one "
        "('lateral') places no finding.",
    )
    characters: dict[
        Annotated[str, Field(min_length=1, max_length=1)],
        Annotated[str, Field(min_length=1, max_length=1)],
    ] = Field(
        default_factory=dict,
        description="A character -> the plain one it writes, for marks Unicode's compatibility "
        "folding (NFKC) leaves as they are: typographic quotes and dashes, the minus sign. One "
        "character for one, so no offset into the report moves.",
    )

    @model_validator(mode="after")
    def _known_locations(self) -> ModifierFile:
        for name, table in (
            ("location_sides", self.location_sides),
            ("location_regions", self.location_regions),
        ):
            unknown = [k for k in table if k not in self.locations]
            if unknown:
                raise ValueError(f"{name}: {', '.join(unknown)}: not a key of locations")
        if CHEST_REGION in self.location_regions.values():
            raise ValueError(f"location_regions: {CHEST_REGION!r} is no other region")
        return self


class SectionFile(DataDocument):
    version: str
    headers: dict[SectionName, list[Phrase]]
    context_sections: list[SectionName]
    abbreviations: list[Phrase]
    body_regions: dict[str, list[Phrase]] = Field(
        default_factory=dict,
        description="Region name -> the sub-headers of a combined examination that name it "
        "('Right knee:', 'ABDOMEN.'); 'chest' is the region a chest report is about, what "
        "follows any other region's header is not.",
    )
    template_labels: list[Phrase] = Field(
        default_factory=list,
        description="The anatomy labels of a templated report ('Heart:', 'Lungs:', 'Pleura:'): "
        "a line opening with one (or with a body region's sub-header) after a one-line "
        "context header ('EXAM: CHEST 2 VIEWS', 'Technique: PA and lateral.') starts the "
        "report's body there, label included.",
    )

    @model_validator(mode="after")
    def _chest_region(self) -> SectionFile:
        if self.body_regions and CHEST_REGION not in self.body_regions:
            raise ValueError(f"body_regions: needs a {CHEST_REGION!r} entry (the chest itself)")
        return self


CUES = DataFile("radpilot.reports", "data/cues.json", CueFile)
MODIFIERS = DataFile("radpilot.reports", "data/modifiers.json", ModifierFile)
SECTIONS = DataFile("radpilot.reports", "data/sections.json", SectionFile)


# -- what the reader uses ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Cue:
    phrase: str  # normalized
    category: CueCategory
    direction: Direction


@dataclass(frozen=True, slots=True)
class CueRules:
    version: str
    cues: tuple[Cue, ...]
    hedges: Mapping[str, Hedge]  # normalized hedge phrase -> its kind
    # differential phrase -> the kind of the finding before it ("favored over": probable)
    hedges_before: Mapping[str, Hedge]
    forward_scope_chars: int
    backward_scope_chars: int
    modifier_scope_chars: int
    anchor_scope_chars: int
    alternative_scope_chars: int
    openings: frozenset[str] = frozenset()  # normalized; see CueFile.openings
    predicates: frozenset[str] = frozenset()  # normalized; see CueFile.predicates
    adjacent: frozenset[str] = frozenset()  # forward cues that reach only what follows them
    devices_only: frozenset[str] = frozenset()  # hypothetical cues that reach only devices


@dataclass(frozen=True, slots=True)
class Modifiers:
    version: str
    laterality: Mapping[str, Laterality]  # normalized phrase -> side
    # side -> its phrases, normalized (a space stands for spaces or hyphens), in file order
    laterality_words: Mapping[Laterality, tuple[str, ...]]
    locations: Mapping[str, str]  # normalized phrase -> canonical location
    severity: Mapping[str, str]  # normalized phrase -> canonical severity
    units: Mapping[str, float]  # unit -> millimetres per unit
    spellings: Mapping[str, str] = field(default_factory=dict)  # US fragment -> UK fragment
    splits: tuple[str, ...] = ()  # word prefixes dictation writes apart ("pneumo thorax")
    misheard: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # "pleural" -> "plural"
    characters: Mapping[str, str] = field(default_factory=dict)  # "’" -> "'", one for one
    views: tuple[str, ...] = ()  # phrases naming an image's projection ("lateral view")
    location_sides: Mapping[str, Laterality] = field(default_factory=dict)  # "lingula" -> left
    location_regions: Mapping[str, str] = field(default_factory=dict)  # "liver" -> abdomen


@dataclass(frozen=True, slots=True)
class SectionRules:
    version: str
    headers: Mapping[str, str]  # normalized header -> canonical section name
    context_sections: frozenset[str]
    abbreviations: frozenset[str]
    regions: Mapping[str, str]  # normalized region header -> region name ("chest", "knee")
    template_labels: frozenset[str] = frozenset()  # normalized ("heart", "lungs")


def _phrase_table(raw: Mapping[Any, list[str]]) -> dict[str, Any]:
    """Normalized phrase -> the name it is listed under (the first, if listed twice)."""
    table: dict[str, Any] = {}
    for name, phrases in raw.items():
        for p in phrases:
            table.setdefault(normalize_term(p), name)
    return table


def with_combinations(phrases: list[str], combinations: list[list[list[str]]]) -> list[str]:
    """``phrases``, then those the combinations make (one alternative of every slot, in
    order), in order: the cue files of the chest reader and of targets mode both write so."""
    out = list(phrases)
    for slots in combinations:
        out.extend(" ".join(parts) for parts in itertools.product(*slots))
    return out


def _phrases(rule: CueRule) -> list[str]:
    """A rule's phrases, then those its combinations make, in order."""
    return with_combinations(rule.phrases, rule.combinations)


def build_cue_rules(doc: CueFile, where: str) -> CueRules:
    """The reader's cue table; a phrase named as two different hedge kinds is an error."""
    cues: list[Cue] = []
    hedges: dict[str, Hedge] = {}
    before: dict[str, Hedge] = {}
    adjacent: set[str] = set()
    devices_only: set[str] = set()
    for i, rule in enumerate(doc.rules):
        for phrase in (normalize_term(p) for p in _phrases(rule)):
            cues.append(Cue(phrase, rule.category, rule.direction))
            if rule.adjacent:
                adjacent.add(phrase)
            if rule.devices_only:
                devices_only.add(phrase)
            if rule.hedge_before is not None:
                before[phrase] = rule.hedge_before
            if rule.hedge is not None and hedges.setdefault(phrase, rule.hedge) is not rule.hedge:
                raise VocabularyError(
                    f"{where}: rules[{i}].phrases: {phrase!r} is already a "
                    f"{hedges[phrase].value} hedge; one phrase has one hedge kind"
                )
    s = doc.settings
    return CueRules(
        version=doc.version,
        cues=tuple(cues),
        hedges=hedges,
        hedges_before=before,
        forward_scope_chars=s.forward_scope_chars,
        backward_scope_chars=s.backward_scope_chars,
        modifier_scope_chars=s.modifier_scope_chars,
        anchor_scope_chars=s.anchor_scope_chars,
        alternative_scope_chars=s.alternative_scope_chars,
        openings=frozenset(normalize_term(p) for p in doc.openings),
        predicates=frozenset(normalize_term(p) for p in doc.predicates),
        adjacent=frozenset(adjacent),
        devices_only=frozenset(devices_only),
    )


def build_modifiers(doc: ModifierFile) -> Modifiers:
    words = {
        side: tuple(dict.fromkeys(normalize_term(p) for p in doc.laterality.get(side, ())))
        for side in Laterality
    }
    return Modifiers(
        version=doc.version,
        laterality=_phrase_table(doc.laterality),
        laterality_words=words,
        locations=_phrase_table(doc.locations),
        severity=_phrase_table(doc.severity),
        units={normalize_term(k): float(v) for k, v in doc.units.items()},
        spellings={normalize_term(k): normalize_term(v) for k, v in doc.spellings.items()},
        splits=tuple(normalize_term(p) for p in doc.splits),
        misheard={
            normalize_term(k): tuple(normalize_term(v) for v in vs)
            for k, vs in doc.misheard.items()
        },
        characters=dict(doc.characters),
        views=tuple(dict.fromkeys(normalize_term(p) for p in doc.views)),
        location_sides={k: Laterality(v) for k, v in doc.location_sides.items()},
        location_regions=dict(doc.location_regions),
    )


def build_section_rules(doc: SectionFile) -> SectionRules:
    return SectionRules(
        version=doc.version,
        headers=_phrase_table(doc.headers),
        context_sections=frozenset(doc.context_sections),
        abbreviations=frozenset(normalize_term(a) for a in doc.abbreviations),
        regions=_phrase_table(doc.body_regions),
        template_labels=frozenset(normalize_term(t) for t in doc.template_labels),
    )


def cue_rules_from_dict(raw: Any, where: str = CUES.where) -> CueRules:
    return build_cue_rules(parse(raw, CueFile, where), where)


def modifiers_from_dict(raw: Any, where: str = MODIFIERS.where) -> Modifiers:
    return build_modifiers(parse(raw, ModifierFile, where))


def section_rules_from_dict(raw: Any, where: str = SECTIONS.where) -> SectionRules:
    return build_section_rules(parse(raw, SectionFile, where))


@cache
def cue_rules() -> CueRules:
    return build_cue_rules(CUES.load(), CUES.where)


@cache
def modifiers() -> Modifiers:
    """Laterality, location, severity words and units. ``laterality`` (phrase -> side) and
    ``laterality_words`` (side -> phrases) are radpilot's one laterality vocabulary: the
    search query language reads its side words from here too."""
    return build_modifiers(MODIFIERS.load())


@cache
def section_rules() -> SectionRules:
    return build_section_rules(SECTIONS.load())
