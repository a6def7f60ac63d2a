"""The strict loader of ``data/followup_cues.json``: what makes a sentence a follow-up
recommendation or a documented communication, the modality and body-part words, and the
interval grammar.

Every phrase list becomes one compiled pattern (longest phrase first, word boundaries, a
space matching any run of spaces, line breaks or hyphens), so the cues stay data and the
code only asks "where does a cue of this list occur".

>>> r = followup_rules()
>>> r.modality_of("Recommend chest CT in 3 months.")
'CT'
>>> [m.group(0) for m in r.triggers.finditer("CT could be obtained.")]
['could be obtained']
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache

from pydantic import Field, StrictInt, model_validator

from radpilot.datafiles import DataDocument, DataFile, DataModel
from radpilot.reports.vocabulary import Phrase, normalize_term

KINDS = ("imaging", "comparison", "clinical")
MODALITIES = ("CT", "radiograph", "MRI", "PET", "ultrasound", "fluoroscopy", "nuclear")
UNSPECIFIED = "unspecified"

Days = StrictInt


class TriggerLists(DataModel):
    strong: list[Phrase] = Field(
        min_length=1,
        description="Make a sentence a recommendation by themselves ('XXXX "
        "recommended': the de-identified action is still one).",
    )
    directive: list[Phrase] = Field(
        min_length=1, description="Make a sentence a recommendation when an action is in it."
    )
    needs_action_after: list[Phrase] = Field(
        description="Ambiguous triggers ('suggest', 'consider'): only with an action within "
        "action_window_words after them."
    )
    pseudo: list[Phrase] = Field(description="Contain a trigger but are none ('to suggest').")
    declined: list[Phrase] = Field(
        description="'No follow-up is needed': a statement that none is recommended."
    )


class ActionLists(DataModel):
    imaging: list[Phrase] = Field(min_length=1, description="Follow-up imaging words.")
    evaluation: list[Phrase] = Field(
        min_length=1, description="'further evaluation': an action of no kind by itself."
    )
    comparison: list[Phrase] = Field(min_length=1)
    clinical: list[Phrase] = Field(min_length=1)


class CommunicationLists(DataModel):
    cues: list[Phrase] = Field(min_length=1)
    pseudo: list[Phrase]


class NamedInterval(DataModel):
    phrase: Phrase
    min_days: Days | None = Field(ge=0)
    max_days: Days | None = Field(ge=0)


class IntervalGrammar(DataModel):
    units: dict[Phrase, Days] = Field(min_length=1, description="Unit word -> days.")
    numbers: dict[Phrase, Days] = Field(description="Number word -> value.")
    range_words: list[str] = Field(min_length=1)
    not_followed_by: list[Phrase] = Field(
        description="A number + unit followed by one of these is no interval ('2 years ago', "
        "'45-year-old')."
    )
    named: list[NamedInterval]
    default_due_days: Days = Field(
        gt=0, description="Tracking: the due date of a recommendation that states no interval."
    )


def _keys(table: Mapping[str, object]) -> set[str]:
    return set(table)


class FollowupCueFile(DataDocument):
    version: str
    triggers: TriggerLists
    actions: ActionLists
    imperatives: list[Phrase] = Field(
        description="A sentence that starts with one of these is a directive ('Correlate "
        "clinically.')."
    )
    leading_with_interval: list[Phrase] = Field(
        description="A sentence that starts with one of these and states an interval is a "
        "recommendation ('Follow-up chest radiograph in 6 weeks.')."
    )
    action_window_words: StrictInt = Field(gt=0)
    modalities: dict[str, list[Phrase]]
    conditional: list[Phrase] = Field(min_length=1)
    communication: CommunicationLists
    intervals: IntervalGrammar
    body_parts: dict[str, list[Phrase]] = Field(
        description="Body-part words in a recommendation -> the archive's body_part."
    )
    modality_codes: dict[str, list[str]] = Field(
        description="A modality -> the archive's modality values (DICOM codes) that match it."
    )
    body_part_codes: dict[str, list[str]] = Field(
        description="A body part -> the archive's body_part values that match it."
    )

    @model_validator(mode="after")
    def _known_modalities(self) -> FollowupCueFile:
        for key in ("modalities", "modality_codes"):
            unknown = _keys(getattr(self, key)) - set(MODALITIES)
            if unknown:
                raise ValueError(
                    f"{key}: unknown modality {sorted(unknown)[0]!r}; valid: {', '.join(MODALITIES)}"
                )
        missing = _keys(self.body_parts) - _keys(self.body_part_codes)
        if missing:
            raise ValueError(f"body_part_codes: no entry for body part {sorted(missing)[0]!r}")
        return self


FOLLOWUP_CUES = DataFile("radpilot.workflow", "data/followup_cues.json", FollowupCueFile)


def phrase_pattern(phrases: Iterable[str]) -> re.Pattern[str]:
    """One case-insensitive pattern for a phrase list: longest first, whole words, a space
    (or hyphen) in a phrase matching any run of spaces, line breaks or hyphens."""
    keys = sorted({normalize_term(p).replace("-", " ") for p in phrases}, key=len, reverse=True)
    keys = [k for k in keys if k]
    if not keys:
        return re.compile(r"(?!x)x")  # matches nothing
    body = "|".join(r"[\s\-]+".join(re.escape(w) for w in k.split(" ")) for k in keys)
    return re.compile(rf"(?<![\w/])(?:{body})(?![\w/])", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class FollowupRules:
    """The compiled cues (one pattern per list)."""

    strong: re.Pattern[str]
    triggers: re.Pattern[str]
    needs_action: re.Pattern[str]
    pseudo: re.Pattern[str]
    declined: re.Pattern[str]
    imperative: re.Pattern[str]
    leading: re.Pattern[str]
    actions: Mapping[str, re.Pattern[str]]
    any_action: re.Pattern[str]
    action_window_words: int
    modalities: tuple[tuple[str, re.Pattern[str]], ...]
    modality_any: re.Pattern[str]
    modality_word: Mapping[str, str]
    conditional: re.Pattern[str]
    communication: re.Pattern[str]
    communication_pseudo: re.Pattern[str]
    grammar: IntervalGrammar
    body_parts: tuple[tuple[str, re.Pattern[str]], ...]
    modality_codes: Mapping[str, frozenset[str]]
    body_part_codes: Mapping[str, frozenset[str]]

    def modality_of(self, text: str) -> str:
        """The first modality named in ``text`` ('unspecified' when none)."""
        m = self.modality_any.search(text)
        if m is None:
            return UNSPECIFIED
        return self.modality_word[_key(m.group(0))]

    def body_parts_of(self, text: str) -> tuple[str, ...]:
        return tuple(part for part, pattern in self.body_parts if pattern.search(text))


def _key(words: str) -> str:
    return " ".join(re.split(r"[\s\-]+", words.lower()))


@cache
def followup_rules() -> FollowupRules:
    """The packaged cues, compiled once."""
    f = FOLLOWUP_CUES.load()
    modality_word: dict[str, str] = {}
    for modality, words in f.modalities.items():
        for w in words:
            modality_word.setdefault(_key(normalize_term(w).replace("-", " ")), modality)
    actions = {
        "imaging": phrase_pattern(f.actions.imaging),
        "evaluation": phrase_pattern(f.actions.evaluation),
        "comparison": phrase_pattern(f.actions.comparison),
        "clinical": phrase_pattern(f.actions.clinical),
    }
    every_action = [
        *f.actions.imaging,
        *f.actions.evaluation,
        *f.actions.comparison,
        *f.actions.clinical,
    ]
    every_action += [w for words in f.modalities.values() for w in words]
    return FollowupRules(
        strong=phrase_pattern(f.triggers.strong),
        triggers=phrase_pattern(f.triggers.directive),
        needs_action=phrase_pattern(f.triggers.needs_action_after),
        pseudo=phrase_pattern(f.triggers.pseudo),
        declined=phrase_pattern(f.triggers.declined),
        imperative=phrase_pattern(f.imperatives),
        leading=phrase_pattern(f.leading_with_interval),
        actions=actions,
        any_action=phrase_pattern(every_action),
        action_window_words=f.action_window_words,
        modalities=tuple((m, phrase_pattern(w)) for m, w in f.modalities.items()),
        modality_any=phrase_pattern(w for words in f.modalities.values() for w in words),
        modality_word=modality_word,
        conditional=phrase_pattern(f.conditional),
        communication=phrase_pattern(f.communication.cues),
        communication_pseudo=phrase_pattern(f.communication.pseudo),
        grammar=f.intervals,
        body_parts=tuple((p, phrase_pattern(w)) for p, w in f.body_parts.items()),
        modality_codes={m: frozenset(c.upper() for c in v) for m, v in f.modality_codes.items()},
        body_part_codes={p: frozenset(c.upper() for c in v) for p, v in f.body_part_codes.items()},
    )
