"""Follow-up recommendations and documented communication in a report.

A sentence is a recommendation when it carries a trigger of ``followup_cues.json``: a
strong one ("recommend", "advised") by itself, a directive ("could be performed", "please",
"correlate") with an action word anywhere in the sentence, an ambiguous one ("suggest",
"consider") only with an action right after it, or an imperative at its start
("Correlate clinically."), or a follow-up word at its start with an interval ("Follow-up
CT in 3 months."). Pseudo triggers are masked first, so "no opacity to suggest
pneumonia" (a hedge) and "please see the CT" are none; "no follow-up is needed" is a
*declined* follow-up (kept for the guideline check, never a recommendation).

Decisions (documented in BENCHMARKS.md beside the labelled set): clinical correlation is a
recommendation of kind ``clinical``; a statement of comparison ("compared to prior") is
none, a request to compare ("recommend comparison with outside films") is ``comparison``;
one sentence gives at most one recommendation (its first modality, its first interval).

>>> r = extract("FINDINGS: 7 mm nodule in the right upper lobe. IMPRESSION: Recommend chest "
...             "CT in 6-12 months. Findings discussed with Dr. XXXX at 3 pm.")
>>> [(x.kind, x.modality, x.interval.max_days, x.finding) for x in r.recommendations]
[('imaging', 'CT', 360, 'nodule')]
>>> [c.text for c in r.communications]
['Findings discussed with Dr. XXXX at 3 pm.']
>>> extract("No focal airspace opacity to suggest pneumonia.").recommendations
()
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from radpilot.reports import read
from radpilot.reports.models import Certainty, Report, Sentence
from radpilot.workflow.followup_rules import UNSPECIFIED, FollowupRules, followup_rules
from radpilot.workflow.intervals import Interval, parse_interval

# How far back a recommendation without a finding of its own looks ("Recommend follow-up
# to resolution." after the sentence that names the pneumonia).
FINDING_LOOKBACK_SENTENCES = 2


@dataclass(frozen=True, slots=True)
class Recommendation:
    text: str
    start: int
    end: int
    kind: str  # imaging | comparison | clinical
    modality: str  # CT | radiograph | MRI | PET | ultrasound | fluoroscopy | nuclear | unspecified
    interval: Interval | None
    conditional: bool
    finding: str | None  # the vocabulary id of the finding it is about, where one is named
    body_parts: tuple[str, ...] = ()  # named in the sentence (tracking); not in the output

    def as_dict(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "span": {"start": self.start, "end": self.end},
            "kind": self.kind,
            "modality": self.modality,
            "interval": self.interval.as_dict() if self.interval is not None else None,
            "conditional": self.conditional,
            "finding": self.finding,
        }


@dataclass(frozen=True, slots=True)
class Communication:
    text: str
    start: int
    end: int

    def as_dict(self) -> dict[str, Any]:
        return {"text": self.text, "span": {"start": self.start, "end": self.end}}


@dataclass(frozen=True, slots=True)
class Followups:
    """What one report recommends and documents. ``declined`` are the sentences that say
    no follow-up is needed (their spans); the guideline check reads them."""

    recommendations: tuple[Recommendation, ...] = ()
    communications: tuple[Communication, ...] = ()
    declined: tuple[tuple[int, int], ...] = ()

    def as_dict(self, report_id: str) -> dict[str, Any]:
        return {
            "id": report_id,
            "recommendations": [r.as_dict() for r in self.recommendations],
            "communications": [c.as_dict() for c in self.communications],
        }


def _mask(text: str, pattern: re.Pattern[str]) -> str:
    """``text`` with every match of ``pattern`` blanked (same length: offsets hold)."""
    return pattern.sub(lambda m: " " * len(m.group(0)), text)


def _words_after(text: str, end: int, n: int) -> str:
    return " ".join(text[end:].split()[:n])


def is_recommendation(sentence: str, rules: FollowupRules | None = None) -> bool:
    """Whether one sentence recommends something (see the module docstring)."""
    rules = rules or followup_rules()
    if rules.declined.search(sentence):
        return False
    masked = _mask(sentence, rules.pseudo)
    if rules.strong.search(masked):
        return True
    if rules.triggers.search(masked) and rules.any_action.search(masked):
        return True
    for m in rules.needs_action.finditer(masked):
        if rules.any_action.search(_words_after(masked, m.end(), rules.action_window_words)):
            return True
    lead = masked.lstrip(" \t\r\n-*•0123456789.)")
    if rules.imperative.match(lead) is not None:
        return True
    return rules.leading.match(lead) is not None and parse_interval(lead) is not None


def kind_of(sentence: str, rules: FollowupRules | None = None) -> str:
    """comparison (a request to compare) > imaging (a modality or follow-up word) >
    clinical (correlation, an action on the patient) > imaging (only 'further evaluation')."""
    rules = rules or followup_rules()
    if rules.actions["comparison"].search(sentence):
        return "comparison"
    # "physical examination" is a clinical action, not the "examination" of an image
    unclinical = _mask(sentence, rules.actions["clinical"])
    if rules.modality_any.search(unclinical) or rules.actions["imaging"].search(unclinical):
        return "imaging"
    if rules.actions["clinical"].search(sentence):
        return "clinical"
    return "imaging"


def is_communication(sentence: str, rules: FollowupRules | None = None) -> bool:
    rules = rules or followup_rules()
    return rules.communication.search(_mask(sentence, rules.communication_pseudo)) is not None


def _finding(report: Report, index: int) -> str | None:
    """The first finding stated (present or possible) in sentence ``index``, else in the
    sentences just before it."""
    sentences = report.sentences
    for i in range(index, max(-1, index - FINDING_LOOKBACK_SENTENCES - 1), -1):
        s = sentences[i]
        for m in report.mentions:
            if (
                m.sentence.start == s.start
                and m.certainty is not Certainty.ABSENT
                and not m.historical
            ):
                return m.finding
    return None


def _recommendation(
    report: Report, index: int, sentence: Sentence, rules: FollowupRules
) -> Recommendation:
    text = sentence.text
    kind = kind_of(text, rules)
    interval = parse_interval(text)
    if interval is not None:
        interval = Interval(
            interval.text,
            interval.start + sentence.start,
            interval.end + sentence.start,
            interval.min_days,
            interval.max_days,
            interval.named,
        )
    return Recommendation(
        text=text,
        start=sentence.start,
        end=sentence.end,
        kind=kind,
        modality=rules.modality_of(text) if kind != "clinical" else UNSPECIFIED,
        interval=interval,
        conditional=rules.conditional.search(text) is not None,
        finding=_finding(report, index),
        body_parts=rules.body_parts_of(text),
    )


def extract_report(report: Report) -> Followups:
    """The follow-ups of a report already read by :func:`radpilot.reports.read`."""
    rules = followup_rules()
    recs: list[Recommendation] = []
    comms: list[Communication] = []
    declined: list[tuple[int, int]] = []
    for i, sentence in enumerate(report.sentences):
        text = sentence.text
        if is_communication(text, rules):
            comms.append(Communication(text, sentence.start, sentence.end))
        if rules.declined.search(text):
            declined.append((sentence.start, sentence.end))
        elif is_recommendation(text, rules):
            recs.append(_recommendation(report, i, sentence, rules))
    return Followups(tuple(recs), tuple(comms), tuple(declined))


def extract(text: str) -> Followups:
    """Read ``text`` and return its follow-up recommendations and communications."""
    return extract_report(read(text))
