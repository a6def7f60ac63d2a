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
    modals: list[Phrase] = Field(
        description="With an evaluative predicate after them ('would' + 'be of value'): "
        "a directive, like the directive list."
    )
    evaluative: list[Phrase] = Field(description="'help', 'be of value', 'be reasonable'.")
    reported: list[Phrase] = Field(
        description="A recommendation attributed to another report ('prior report', 'as "
        "recommended'): its strong and directive triggers are reported, not made."
    )
    reported_whose: list[Phrase] = Field(
        description="With a reported noun after it ('last' + 'report'): another report."
    )
    reported_nouns: list[Phrase]
    predicate_heads: list[Phrase] = Field(
        description="First words of a directive that is the clause's own verb ('is "
        "needed', 'could be performed'): no statement is about it."
    )
    statement_verbs: list[Phrase] = Field(
        description="A finite verb of finding ('shows', 'demonstrated') in the clause after a "
        "directive or leading cue makes the cue the subject of a statement ('Correlation "
        "with the prior CT shows ...', 'Follow-up CT at 6 months showed ...')."
    )
    subordinators: list[Phrase] = Field(
        description="A finding verb after one of these ('Correlate with the CT which "
        "showed ...') is in another clause: no statement about the cue."
    )


class NegationLists(DataModel):
    """'no' + up to ``window`` modifiers + a word: 'No dedicated follow-up imaging',
    'no definite CT correlate'."""

    words: list[Phrase] = Field(min_length=1)
    modifiers: list[Phrase]
    window: StrictInt = Field(ge=0)
    declined: list[Phrase] = Field(description="Negated, a declined follow-up.")
    masked: list[Phrase] = Field(description="Negated, no trigger ('no CT correlate').")


class ComparisonRequest(DataModel):
    """verb + preposition + fillers + a prior word + fillers + an imaging object:
    'comparison with all available prior radiographs' (and not 'prior surgical history')."""

    verbs: list[Phrase] = Field(min_length=1)
    prepositions: list[Phrase] = Field(min_length=1)
    fillers: list[Phrase]
    priors: list[Phrase] = Field(min_length=1)
    objects: list[Phrase] = Field(
        min_length=1, description="Imaging nouns; every modality word counts too."
    )


class Guidance(DataModel):
    """A modality that guides a procedure ('under CT guidance', 'ultrasound-guided')."""

    before: list[Phrase]
    after: list[Phrase]


class ActionLists(DataModel):
    imaging: list[Phrase] = Field(min_length=1, description="Follow-up imaging words.")
    evaluation: list[Phrase] = Field(
        min_length=1, description="'further evaluation': an action of no kind by itself."
    )
    comparison: list[Phrase] = Field(min_length=1)
    clinical: list[Phrase] = Field(min_length=1)
    services: list[Phrase] = Field(
        description="Clinicians and services ('referring physician', 'cardiology', 'ENT'): "
        "a follow-up or evaluation by one is clinical, where no modality is named."
    )
    generic: list[Phrase] = Field(
        description="Action words of no kind beside a service ('follow-up', 'evaluation')."
    )


class CommunicationLists(DataModel):
    cues: list[Phrase] = Field(min_length=1)
    pseudo: list[Phrase]
    not_about: list[Phrase] = Field(
        description="A sentence about consent or contact details documents no result "
        "communication ('risks and benefits were discussed')."
    )


class NamedInterval(DataModel):
    phrase: Phrase
    min_days: Days | None = Field(ge=0)
    max_days: Days | None = Field(ge=0)


class EndConditions(DataModel):
    """A wait for a treatment to end, no days: 'after' + 0-1 filler + an event ('following
    completion of therapy', 'post treatment'); named intervals built from words."""

    before: list[Phrase] = Field(min_length=1)
    fillers: list[Phrase]
    events: list[Phrase] = Field(min_length=1)

    def phrases(self) -> list[str]:
        fills = ["", *(f + " " for f in self.fillers)]
        return [f"{b} {f}{e}" for b in self.before for f in fills for e in self.events]


class IntervalGrammar(DataModel):
    units: dict[Phrase, Days] = Field(min_length=1, description="Unit word -> days.")
    numbers: dict[Phrase, Days] = Field(description="Number word -> value.")
    range_words: list[str] = Field(min_length=1)
    not_followed_by: list[Phrase] = Field(
        description="A number + unit followed by one of these is no interval ('2 years ago', "
        "'45-year-old')."
    )
    hour_units: list[Phrase] = Field(description="Hours: rounded up to whole days.")
    fractions: dict[str, Days] = Field(
        description="UK shorthand 'N/52' (weeks), 'N/12' (months), 'N/7' (days): the "
        "denominator -> days per unit."
    )
    date_words: list[Phrase] = Field(description="Before 'N/12', they make it a date ('on').")
    end_conditions: EndConditions
    named_negations: list[Phrase] = Field(
        description="Before a named interval, no interval: 'non-urgent', 'not urgent'."
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
    sections: list[Phrase] = Field(
        description="Section names (as the reader gives them) whose sentences recommend "
        "what they name ('RECOMMENDATION: Chest CT in 12 months.')."
    )
    negation: NegationLists
    comparison_request: ComparisonRequest
    modalities: dict[str, list[Phrase]]
    current_study: list[Phrase] = Field(
        description="Before a modality, the study being read ('this radiograph'): not the "
        "modality recommended."
    )
    guidance: Guidance
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
    (or hyphen) in a phrase matching any run of spaces, line breaks or hyphens, a word
    ending in '*' any word it begins."""
    keys = sorted({normalize_term(p).replace("-", " ") for p in phrases}, key=len, reverse=True)
    keys = [k for k in keys if k]
    if not keys:
        return re.compile(r"(?!x)x")  # matches nothing
    body = "|".join(_alternative(k) for k in keys)
    return re.compile(rf"(?<![\w/])(?:{body})(?![\w/])", re.IGNORECASE)


def _alternative(phrase: str) -> str:
    """A phrase's regex: a word ending in '*' stands for every inflection ('retract*')."""
    words = [
        re.escape(w[:-1]) + r"\w*" if w.endswith("*") else re.escape(w) for w in phrase.split(" ")
    ]
    return r"[\s\-]+".join(words)


@dataclass(frozen=True, slots=True)
class FollowupRules:
    """The compiled cues (one pattern per list)."""

    strong: re.Pattern[str]
    triggers: re.Pattern[str]
    needs_action: re.Pattern[str]
    pseudo: re.Pattern[str]
    declined: re.Pattern[str]
    reported: re.Pattern[str]
    statement: re.Pattern[str]
    subordinator: re.Pattern[str]
    predicate_head: re.Pattern[str]
    sections: frozenset[str]
    imperative: re.Pattern[str]
    leading: re.Pattern[str]
    actions: Mapping[str, re.Pattern[str]]
    any_action: re.Pattern[str]
    action_window_words: int
    modalities: tuple[tuple[str, re.Pattern[str]], ...]
    modality_any: re.Pattern[str]
    modality_word: Mapping[str, str]
    current_study: re.Pattern[str]
    guidance: re.Pattern[str]
    services: re.Pattern[str]
    generic: re.Pattern[str]
    conditional: re.Pattern[str]
    communication: re.Pattern[str]
    communication_pseudo: re.Pattern[str]
    communication_not_about: re.Pattern[str]
    grammar: IntervalGrammar
    body_parts: tuple[tuple[str, re.Pattern[str]], ...]
    modality_codes: Mapping[str, frozenset[str]]
    body_part_codes: Mapping[str, frozenset[str]]

    def modality_of(self, text: str) -> str:
        """The first modality named in ``text`` ('unspecified' when none), past the study
        being read ('on this radiograph')."""
        m = self.modality_any.search(self.current_study.sub(_blank, text))
        if m is None:
            return UNSPECIFIED
        return self.modality_word[_key(m.group(0))]

    def body_parts_of(self, text: str) -> tuple[str, ...]:
        """The body parts ``text`` names. A part named only inside a longer name of
        another is that one: "thoracic spine" is TSPINE, not also SPINE (which a lumbar
        study would close)."""
        found = [
            (part, [m.span() for m in pattern.finditer(text)]) for part, pattern in self.body_parts
        ]
        spans = [(part, s) for part, hits in found for s in hits]

        def inside(s: tuple[int, int], part: str) -> bool:
            return any(
                p != part and a <= s[0] and s[1] <= b and (b - a) > (s[1] - s[0])
                for p, (a, b) in spans
            )

        return tuple(
            part for part, hits in found if hits and not all(inside(s, part) for s in hits)
        )


def _key(words: str) -> str:
    return " ".join(re.split(r"[\s\-]+", words.lower()))


def _blank(m: re.Match[str]) -> str:
    return " " * len(m.group(0))


def _either(*patterns: re.Pattern[str]) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{p.pattern})" for p in patterns), re.IGNORECASE)


def _group(phrases: Iterable[str]) -> str:
    keys = sorted({normalize_term(p).replace("-", " ") for p in phrases}, key=len, reverse=True)
    return "(?:" + "|".join(_alternative(k) for k in keys if k) + ")"


def _sequence(*parts: tuple[Iterable[str], int, int]) -> re.Pattern[str]:
    """Word classes in order, each (phrases, fewest, most): 'no' + 0-2 modifiers + an
    object. A class with no phrases is skipped."""
    body = ""
    for phrases, low, high in parts:
        phrases = list(phrases)
        if not phrases:
            continue
        sep = r"[\s\-]+" if body else ""
        unit = (
            rf"{sep}{_group(phrases)}"
            if low == high == 1
            else rf"(?:[\s\-]+{_group(phrases)}){{{low},{high}}}"
        )
        body += unit
    return re.compile(rf"(?<![\w/]){body}(?![\w/])", re.IGNORECASE)


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
    modality_words = [w for words in f.modalities.values() for w in words]
    every_action += modality_words + f.actions.services
    t, neg, cmp = f.triggers, f.negation, f.comparison_request
    modal_directives = [f"{m} {e}" for m in t.modals for e in t.evaluative]
    request = _sequence(
        (cmp.verbs, 1, 1),
        (cmp.prepositions, 1, 1),
        (cmp.fillers, 0, 3),
        (cmp.priors, 1, 1),
        (cmp.fillers, 0, 2),
        ([*cmp.objects, *modality_words], 1, 1),
    )
    actions["comparison"] = _either(actions["comparison"], request)
    guided = [f"{m} {a}" for m in ["image", *modality_words] for a in f.guidance.after]
    guided += [f"{b} {m}" for b in f.guidance.before for m in modality_words]
    return FollowupRules(
        strong=phrase_pattern(t.strong),
        triggers=phrase_pattern([*t.directive, *modal_directives]),
        needs_action=phrase_pattern(t.needs_action_after),
        pseudo=_either(
            phrase_pattern(t.pseudo),
            _sequence((neg.words, 1, 1), (neg.modifiers, 0, neg.window), (neg.masked, 1, 1)),
        ),
        declined=_either(
            phrase_pattern(t.declined),
            _sequence((neg.words, 1, 1), (neg.modifiers, 0, neg.window), (neg.declined, 1, 1)),
        ),
        reported=phrase_pattern(
            [*t.reported, *(f"{w} {n}" for w in t.reported_whose for n in t.reported_nouns)]
        ),
        statement=phrase_pattern(t.statement_verbs),
        subordinator=phrase_pattern(t.subordinators),
        predicate_head=re.compile(rf"{_group(t.predicate_heads)}\b", re.IGNORECASE),
        sections=frozenset(normalize_term(x) for x in f.sections),
        imperative=phrase_pattern(f.imperatives),
        leading=phrase_pattern(f.leading_with_interval),
        actions=actions,
        any_action=phrase_pattern(every_action),
        action_window_words=f.action_window_words,
        modalities=tuple((m, phrase_pattern(w)) for m, w in f.modalities.items()),
        modality_any=phrase_pattern(w for words in f.modalities.values() for w in words),
        modality_word=modality_word,
        current_study=phrase_pattern(f"{d} {m}" for d in f.current_study for m in modality_words),
        guidance=phrase_pattern(guided),
        services=phrase_pattern(f.actions.services),
        generic=phrase_pattern(f.actions.generic),
        conditional=phrase_pattern(f.conditional),
        communication=phrase_pattern(f.communication.cues),
        communication_pseudo=phrase_pattern(f.communication.pseudo),
        communication_not_about=phrase_pattern(f.communication.not_about),
        grammar=f.intervals,
        body_parts=tuple((p, phrase_pattern(w)) for p, w in f.body_parts.items()),
        modality_codes={m: frozenset(c.upper() for c in v) for m, v in f.modality_codes.items()},
        body_part_codes={p: frozenset(c.upper() for c in v) for p, v in f.body_part_codes.items()},
    )
