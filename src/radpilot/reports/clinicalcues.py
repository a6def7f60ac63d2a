"""The strict loader of ``data/clinical_cues.json``: ConText cues for concepts in any
clinical text (targets mode, :mod:`radpilot.reports.targets`).

The rules follow the ConText tradition (Harkema et al., J Biomed Inform 2009): each cue
has a category (negation, uncertainty, historical, hypothetical, experiencer) and a
direction (forward: the concepts after it; backward: before it; bidirectional; pseudo: a
phrase that contains a cue but is none, such as "no increase", which is matched as a whole
so that the cue inside it never fires). A scope runs to the end of the sentence, to a
termination term of its dimension, or to ``max_scope_words`` words. Section headers
("Family history:", "Past medical history:") set an attribute for every concept under
them. The phrases were written for radpilot from the ConText literature and clinical
usage; no third-party rule file is copied.

>>> r = clinical_rules()
>>> sorted(r.dimensions)
['certainty', 'experiencer', 'historical', 'hypothetical']
>>> [(c.category.value, c.direction.value) for c in r.dimensions["certainty"].phrases["denies"]]
[('negation', 'forward')]
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cache
from itertools import product
from typing import Annotated, Any

from pydantic import Field, StrictBool, StrictInt

from radpilot.datafiles import DataDocument, DataFile, DataModel, parse
from radpilot.errors import VocabularyError
from radpilot.reports.rules import Slots, with_combinations
from radpilot.reports.vocabulary import Phrase, normalize_term


class TargetCategory(StrEnum):
    NEGATION = "negation"
    UNCERTAINTY = "uncertainty"
    HISTORICAL = "historical"
    HYPOTHETICAL = "hypothetical"
    EXPERIENCER = "experiencer"  # the concept is someone else's (family history, a relative)


class TargetDirection(StrEnum):
    FORWARD = "forward"
    BACKWARD = "backward"
    BIDIRECTIONAL = "bidirectional"
    PSEUDO = "pseudo"  # looks like a cue of its category, decides nothing


class Dimension(StrEnum):
    """What a cue decides. Negation and uncertainty share one (the nearest decides);
    pseudo cues and termination terms act within their dimension only."""

    CERTAINTY = "certainty"
    HISTORICAL = "historical"
    HYPOTHETICAL = "hypothetical"
    EXPERIENCER = "experiencer"


DIMENSION_OF = {
    TargetCategory.NEGATION: Dimension.CERTAINTY,
    TargetCategory.UNCERTAINTY: Dimension.CERTAINTY,
    TargetCategory.HISTORICAL: Dimension.HISTORICAL,
    TargetCategory.HYPOTHETICAL: Dimension.HYPOTHETICAL,
    TargetCategory.EXPERIENCER: Dimension.EXPERIENCER,
}

Words = Annotated[StrictInt, Field(ge=0)]


class CueRuleEntry(DataModel):
    category: TargetCategory
    direction: TargetDirection
    phrases: list[Phrase] = Field(min_length=1)
    combinations: list[Slots] = Field(
        default_factory=list,
        description="More phrases, each made of one alternative from every slot in order: "
        "[['return to'], ['the ed', 'clinic'], ['for', 'if']] is 'return to the ed for', ...",
    )
    max_scope_words: Words | None = Field(
        None, description="Words between the cue and the concept at most (null: the clause)."
    )
    opens_clause: StrictBool = Field(
        False,
        description="Forward rules only: the cue looks forward only where it opens its "
        "clause ('Neg Homans sign', 'ROS: negative Murphy sign'); after a concept it is that "
        "concept's answer ('Homans sign negative, calf tenderness present').",
    )


class TerminatorEntry(DataModel):
    applies_to: list[Dimension] = Field(min_length=1)
    phrases: list[Phrase] = Field(min_length=1)
    opens_clause: StrictBool = Field(
        False,
        description="The term ends a scope only where it opens its clause (after a comma, "
        "semicolon, colon, bracket or 'and'): 'denies A, still has B' ends the denial, "
        "'unsure whether she still takes B' keeps the hedge; an adverb inside a clause "
        "is no clause break.",
    )


class RelativesEntry(DataModel):
    """People other than the patient: experiencer cues both ways, and the phrases in which
    a relative only reports or brings the patient ("mother reports", "per his wife")."""

    phrases: list[Phrase] = Field(min_length=1)
    forward_max_words: Words | None = None
    backward_max_words: Words | None = None
    reporting_before: list[Phrase] = Field(
        default_factory=list, description="'per' + 'mother': pseudo, the mother only reports."
    )
    reporting_after: list[Phrase] = Field(
        default_factory=list, description="'mother' + 'states': pseudo."
    )


class SectionEntry(DataModel):
    sets: TargetCategory | None = Field(
        description="historical or experiencer for every concept under these headers; null: "
        "a header that only ends the section before it."
    )
    headers: list[Phrase] = Field(min_length=1)


class ClinicalSettings(DataModel):
    alternative_max_words: Words = Field(
        description="'A or B': other words allowed between two concepts beside the 'or'."
    )


class ClinicalCueFile(DataDocument):
    version: str
    settings: ClinicalSettings
    abbreviations: list[Phrase] = Field(description="Words whose period ends no sentence.")
    alternatives: list[Phrase] = Field(description="Words that join two concepts as one or other.")
    list_closers: list[Phrase] = Field(
        default_factory=list,
        description="What closes a list of alternatives after 'or' ('cellulitis, abscess, or "
        "both', 'a combination'): every concept of the comma list before it is one of them.",
    )
    rules: list[CueRuleEntry]
    relatives: RelativesEntry
    terminators: list[TerminatorEntry]
    sections: list[SectionEntry]
    item_affirmations: list[Phrase] = Field(
        default_factory=list,
        description="Words right after a concept that state it and close its list item ('no "
        "edema, pulses present'): a certainty cue before the item's comma does not reach it, "
        "unless the item goes on the list with 'or', 'and' or 'nor' ('no A, B, or C present').",
    )


CLINICAL_CUES = DataFile("radpilot.reports", "data/clinical_cues.json", ClinicalCueFile)


@dataclass(frozen=True, slots=True)
class Rule:
    category: TargetCategory
    direction: TargetDirection
    max_scope_words: int | None
    opens_clause: bool = False  # a forward cue that must open its clause ("Neg Homans sign")


@dataclass(frozen=True, slots=True)
class DimensionRules:
    """One dimension's cue table and its compiled pattern (longest phrase first)."""

    phrases: Mapping[str, tuple[Rule, ...]]  # normalized phrase -> its rules
    pattern: re.Pattern[str]


@dataclass(frozen=True, slots=True)
class ClinicalRules:
    version: str
    dimensions: Mapping[str, DimensionRules]
    terminators: Mapping[str, frozenset[Dimension]]  # normalized phrase -> dimensions it ends
    terminator_pattern: re.Pattern[str]
    sections: Mapping[str, TargetCategory | None]  # normalized header -> what it sets
    section_pattern: re.Pattern[str]
    abbreviations: frozenset[str]
    alternatives: frozenset[str]
    alternative_max_words: int
    list_closers: frozenset[str] = frozenset()  # "both", "a combination": after "or"
    relatives: frozenset[str] = frozenset()  # normalized relative phrases ("mother")
    # phrase -> dimensions it ends only where it opens its clause ("still", "only")
    clause_terminators: Mapping[str, frozenset[Dimension]] = field(default_factory=dict)
    # words after a concept that state it and close its list item ("present"), any case
    affirmation_pattern: re.Pattern[str] | None = None


def compile_phrases(keys: list[str]) -> re.Pattern[str]:
    """One pattern for normalized phrases: words at word edges, longest first; a phrase of
    punctuation ("?", ";") needs no edge."""
    from radpilot.reports.matcher import trie_regex

    worded = sorted(k for k in keys if any(ch.isalnum() for ch in k))
    marks = sorted((k for k in keys if not any(ch.isalnum() for ch in k)), key=len, reverse=True)
    parts = [rf"(?<!\w)(?:{trie_regex(worded)})(?!\w)"] if worded else []
    # a space in a normalized mark stands for spaces or hyphens, as in a worded phrase:
    # "(-)" is kept as "( )" and must still match "(-)"
    parts += [re.escape(m).replace(r"\ ", r"[\s\-]+") for m in marks]
    return re.compile("|".join(parts) or r"(?!x)x")


def _add(table: dict[str, list[Rule]], phrase: str, rule: Rule) -> None:
    rules = table.setdefault(normalize_term(phrase), [])
    if rule not in rules:
        rules.append(rule)


def build_clinical_rules(doc: ClinicalCueFile, where: str) -> ClinicalRules:
    """The compiled tables; a phrase listed as a trigger and as a pseudo cue of one
    category is an error (it could never fire)."""
    tables: dict[Dimension, dict[str, list[Rule]]] = {d: {} for d in Dimension}
    for entry in doc.rules:
        rule = Rule(entry.category, entry.direction, entry.max_scope_words, entry.opens_clause)
        for p in with_combinations(entry.phrases, entry.combinations):
            _add(tables[DIMENSION_OF[entry.category]], p, rule)
    rel = doc.relatives
    experiencer = tables[Dimension.EXPERIENCER]
    for p in rel.phrases:
        _add(
            experiencer,
            p,
            Rule(TargetCategory.EXPERIENCER, TargetDirection.FORWARD, rel.forward_max_words),
        )
        _add(
            experiencer,
            p,
            Rule(TargetCategory.EXPERIENCER, TargetDirection.BACKWARD, rel.backward_max_words),
        )
    pseudo = Rule(TargetCategory.EXPERIENCER, TargetDirection.PSEUDO, None)
    for a, b in (
        *product(rel.reporting_before, rel.phrases),
        *product(rel.phrases, rel.reporting_after),
    ):
        experiencer[normalize_term(f"{a} {b}")] = [pseudo]
    for dim, table in tables.items():
        for phrase, rules in table.items():
            cats = {(r.category, r.direction is TargetDirection.PSEUDO) for r in rules}
            both = {c for c, _ in cats if (c, True) in cats and (c, False) in cats}
            if both:
                raise VocabularyError(
                    f"{where}: {phrase!r} is both a {sorted(both)[0].value} cue and a pseudo "
                    f"{sorted(both)[0].value} cue ({dim.value})"
                )
    terminators, clause_terms = _terminators(doc.terminators)
    sections: dict[str, TargetCategory | None] = {}
    for s in doc.sections:
        for h in s.headers:
            sections[normalize_term(h)] = s.sets
    header_alt = compile_phrases(sorted(sections)).pattern
    return ClinicalRules(
        version=doc.version,
        dimensions={
            d.value: DimensionRules(
                {k: tuple(v) for k, v in table.items()}, compile_phrases(sorted(table))
            )
            for d, table in tables.items()
        },
        terminators={k: frozenset(v) for k, v in terminators.items()},
        terminator_pattern=compile_phrases(sorted({*terminators, *clause_terms})),
        sections=sections,
        # A header opens a line or a sentence and ends with a colon: "Family History: ..."
        section_pattern=re.compile(rf"(?:{header_alt})[ \t]*:"),
        abbreviations=frozenset(normalize_term(a) for a in doc.abbreviations),
        alternatives=frozenset(normalize_term(a) for a in doc.alternatives),
        alternative_max_words=doc.settings.alternative_max_words,
        list_closers=frozenset(normalize_term(p) for p in doc.list_closers),
        relatives=frozenset(normalize_term(p) for p in rel.phrases),
        clause_terminators={k: frozenset(v) for k, v in clause_terms.items()},
        affirmation_pattern=(
            re.compile(
                compile_phrases(sorted({normalize_term(p) for p in doc.item_affirmations})).pattern,
                re.IGNORECASE,
            )
            if doc.item_affirmations
            else None
        ),
    )


def _terminators(
    entries: list[TerminatorEntry],
) -> tuple[dict[str, set[Dimension]], dict[str, set[Dimension]]]:
    """Termination terms that end a scope anywhere, and those that end it only where they
    open a clause, each as phrase -> the dimensions it ends."""
    anywhere: dict[str, set[Dimension]] = {}
    clause: dict[str, set[Dimension]] = {}
    for t in entries:
        table = clause if t.opens_clause else anywhere
        for p in t.phrases:
            table.setdefault(normalize_term(p), set()).update(t.applies_to)
    for phrase, dims in anywhere.items():
        # The longest phrase wins a match: "now with" must also end what "now" ends.
        words = phrase.split(" ")
        for n in range(1, len(words)):
            dims.update(anywhere.get(" ".join(words[:n]), ()))
    return anywhere, clause


def clinical_rules_from_dict(raw: Any, where: str = CLINICAL_CUES.where) -> ClinicalRules:
    return build_clinical_rules(parse(raw, ClinicalCueFile, where), where)


@cache
def clinical_rules() -> ClinicalRules:
    """The packaged rules, loaded, checked and compiled once."""
    return build_clinical_rules(CLINICAL_CUES.load(), CLINICAL_CUES.where)
