"""The rules of report QA, as data (``workflow/data/qa_rules.json``, strict loader).

Which findings are significant enough that an IMPRESSION must name them, which are
critical results that must be documented as communicated, what a communication statement
looks like, which words narrow a negation so that it contradicts nothing ("no large
effusion", "no new opacity"), and which words belong to one sex's anatomy. Code reads these;
it never lists findings itself.

>>> rules = qa_rules()
>>> "pneumothorax" in {c.finding for c in rules.critical}
True
"""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field, field_validator

from radpilot.datafiles import DataDocument, DataFile, DataModel
from radpilot.reports.models import Change


class CriticalRule(DataModel):
    """A critical result: a present mention of ``finding`` (with one of ``severities``
    when given, and in a sentence holding one of ``requires_words`` when given)."""

    finding: str = Field(description="A finding id of the vocabulary (findings.json).")
    severities: list[str] = Field(
        default_factory=list,
        description="Severities that make it critical (modifiers.json names); empty: any.",
    )
    requires_words: list[str] = Field(
        default_factory=list,
        description="Words of which one must be in the mention's sentence (lower case; "
        "matched at word starts), e.g. a malposition for a tube; empty: none needed.",
    )
    name: str = Field(description="How a problem message names it.")


class SexWords(DataModel):
    female: list[str] = Field(description="Anatomy or procedures only a female patient has.")
    male: list[str] = Field(description="Anatomy or procedures only a male patient has.")


class QaRulesFile(DataDocument):
    version: str
    significant: list[str] = Field(
        description="Finding ids that an IMPRESSION must name when FINDINGS state them."
    )
    minor_severities: list[str] = Field(
        description="Severities whose FINDINGS mention the IMPRESSION need not repeat."
    )
    incidental_words: list[str] = Field(
        description="Words in a FINDINGS sentence that make its finding old or benign "
        "(the IMPRESSION need not repeat it); matched at word starts."
    )
    unconfirmed_words: list[str] = Field(
        default_factory=list,
        description="Phrases in a FINDINGS sentence that say this film does not show its "
        "finding well ('first rib fracture not well demonstrated'): the IMPRESSION need not "
        "name what the study cannot confirm; matched at word starts.",
    )
    relative_words: list[str] = Field(
        default_factory=list,
        description="Phrases that place a FINDINGS finding by another one after them ('pleural "
        "fluid deep to the fracture'): an IMPRESSION naming that other one names it too.",
    )
    known_words: list[str] = Field(
        default_factory=list,
        description="Words before a critical finding that make it a known one ('residual "
        "pneumoperitoneum', 'almost completely resolved pneumothorax'); matched at word "
        "starts. A known mention makes known every mention of that finding with its size and "
        "side.",
    )
    covers: dict[str, list[str]] = Field(
        default_factory=dict,
        description="Finding id -> other finding ids whose mention in the IMPRESSION names "
        "it too (a 'pneumonia' impression covers a 'consolidation' finding).",
    )
    laterality_groups: list[list[str]] = Field(
        default_factory=list,
        description="Findings that one side word may describe under another name in the "
        "other section (an opacity in FINDINGS, a pneumonia in IMPRESSION).",
    )
    negation_covers: dict[str, list[str]] = Field(
        default_factory=dict,
        description="Finding id -> findings its plain negation denies too ('no fracture': "
        "rib_fracture).",
    )
    critical: list[CriticalRule]
    not_new_changes: list[Change] = Field(
        description="Changes that make a critical finding a known one (no new result)."
    )
    communication_cues: list[str] = Field(
        description="Phrases of a communication (lower case), e.g. 'discussed with'."
    )
    communication_systems: list[str] = Field(
        description="Phrases that document a communication by themselves (a notification "
        "system), with no person or time needed."
    )
    recipient_words: list[str] = Field(
        description="Words naming who was told or when (one must follow a cue in its "
        "sentence); 'xxxx' is the OpenI redaction of a name."
    )
    narrowing_words: list[str] = Field(
        description="Words between a negation and its finding that narrow it ('no large "
        "effusion'): such a negation contradicts no present mention."
    )
    filler_words: list[str] = Field(
        description="Words between a negation cue and its finding that do not narrow it."
    )
    sex_words: SexWords
    location_zones: dict[str, list[str]] = Field(
        default_factory=dict,
        description="Zone -> location phrases of the reader (side words stripped) that lie in "
        "it ('lower': 'lower lobe', 'basilar'): where a section names a finding on both sides, "
        "the sides are compared zone by zone ('left lower lobe' and 'right upper lobe' "
        "opacities in FINDINGS, 'left upper lobe opacity' in IMPRESSION is a conflict).",
    )

    @field_validator("communication_cues", "communication_systems", "recipient_words")
    @classmethod
    def _lower(cls, v: list[str]) -> list[str]:
        bad = [p for p in v if p != p.lower() or not p.strip()]
        if bad:
            raise ValueError(f"phrases must be lower case and not empty: {bad[:3]}")
        return v


QA_RULES = DataFile("radpilot.workflow", "data/qa_rules.json", QaRulesFile)


@lru_cache(maxsize=1)
def qa_rules() -> QaRulesFile:
    """The packaged rules, checked against the vocabulary once."""
    return checked(QA_RULES.load(), QA_RULES.where)


def checked(rules: QaRulesFile, where: str) -> QaRulesFile:
    """``rules`` when every finding id it names is the vocabulary's; else one error line
    naming the file and the unknown ids."""
    from radpilot.errors import VocabularyError
    from radpilot.reports.vocabulary import load_vocabulary

    known = load_vocabulary().findings
    ids = [*rules.significant, *rules.covers, *(c.finding for c in rules.critical)]
    ids += [i for v in rules.covers.values() for i in v]
    ids += [i for g in rules.laterality_groups for i in g]
    ids += [*rules.negation_covers, *(i for v in rules.negation_covers.values() for i in v)]
    unknown = sorted({i for i in ids if i not in known})
    if unknown:
        raise VocabularyError(f"{where}: unknown finding id(s): {', '.join(unknown)}")
    return rules
