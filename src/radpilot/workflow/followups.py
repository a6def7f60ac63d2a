"""Follow-up recommendations and documented communication in a report.

A sentence is a recommendation when it carries a trigger of ``followup_cues.json``: a
strong one ("recommend", "advised") by itself, a directive ("could be performed", "please",
"correlate") with an action word anywhere in the sentence, an ambiguous one ("suggest",
"consider") only with an action right after it, or an imperative at its start
("Correlate clinically."), or a follow-up word at its start with an interval ("Follow-up
CT in 3 months."), or a sentence of a RECOMMENDATION section that names an action. Pseudo
triggers are masked first, so "no opacity to suggest pneumonia" (a hedge) and "please see
the CT" are none; "no (further, dedicated) follow-up is needed" is a *declined* follow-up
(kept for the guideline check, never a recommendation). A recommendation attributed to
another report ("as recommended on the prior report") is not made here, and a cue that is
the subject of a finding verb ("Follow-up CT at 6 months showed ...") states, not directs.

Decisions (documented in BENCHMARKS.md beside the labelled set): clinical correlation, a
management action and a follow-up by a clinician or service are of kind ``clinical``; a statement of comparison ("compared to prior") is
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
from radpilot.reports.vocabulary import normalize_term
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


def _clause_after(text: str, end: int) -> str:
    """From ``end`` to the end of its clause (a comma, semicolon, colon or full stop)."""
    m = re.search(r"[,;:.](?:\s|$)", text[end:])
    return text[end : end + m.start()] if m else text[end:]


def _stated(text: str, m: re.Match[str], rules: FollowupRules) -> bool:
    """Whether a cue is the subject of a statement ("Correlation with the prior CT shows
    ..."): a finite verb of finding follows it in its clause. A predicate cue ("is
    needed") is itself the clause's verb, so what follows it is no statement about it."""
    if rules.predicate_head.match(m.group(0)):
        return False
    clause = _clause_after(text, m.end())
    sub = rules.subordinator.search(clause)
    return rules.statement.search(clause[: sub.start()] if sub else clause) is not None


def is_recommendation(
    sentence: str, rules: FollowupRules | None = None, section: str | None = None
) -> bool:
    """Whether one sentence recommends something (see the module docstring); ``section``
    is the reader's section name, for a RECOMMENDATION section's bare "Chest CT in 12
    months."."""
    rules = rules or followup_rules()
    if rules.declined.search(sentence):
        return False
    masked = _mask(sentence, rules.pseudo)
    # "as recommended on the prior report": a recommendation reported, not made
    made_here = rules.reported.search(masked) is None
    if made_here and rules.strong.search(masked):
        return True
    if made_here and rules.any_action.search(masked):
        if any(not _stated(masked, m, rules) for m in rules.triggers.finditer(masked)):
            return True
    for m in rules.needs_action.finditer(masked):
        if rules.any_action.search(_words_after(masked, m.end(), rules.action_window_words)):
            return True
    lead = masked.lstrip(" \t\r\n-*•0123456789.)")
    opening = rules.imperative.match(lead)
    if opening is not None and not _stated(lead, opening, rules):
        return True
    if section is not None and normalize_term(section) in rules.sections:
        if rules.any_action.search(masked) and rules.statement.search(masked) is None:
            return True
    head = rules.leading.match(lead)
    return head is not None and parse_interval(lead) is not None and not _stated(lead, head, rules)


def _conditions_masked(sentence: str, rules: FollowupRules) -> str:
    """``sentence`` without its conditional clauses ("in the absence of prior imaging, ...").
    Only a clause closed by punctuation: in "If outside images are available comparison
    is recommended" nothing says where the condition ends."""
    out = sentence
    for m in rules.conditional.finditer(sentence):
        end = m.end() + len(_clause_after(sentence, m.end()))
        if end < len(sentence.rstrip()) - 1:
            out = out[: m.start()] + " " * (end - m.start()) + out[end:]
    return out


def kind_of(sentence: str, rules: FollowupRules | None = None) -> str:
    """comparison (a request to compare) > imaging (a modality or follow-up word) >
    clinical (correlation, an action on the patient, a clinician or service) > imaging
    (only 'further evaluation'). A comparison word in a condition is no request; a
    modality guiding a procedure ("under CT guidance") is no study; beside a service,
    "follow-up" and "evaluation" are the service's."""
    rules = rules or followup_rules()
    if rules.actions["comparison"].search(_conditions_masked(sentence, rules)):
        return "comparison"
    # "physical examination" is a clinical action, not the "examination" of an image
    unclinical = _mask(sentence, rules.actions["clinical"])
    clinical = unclinical != sentence
    if clinical:
        unclinical = _mask(unclinical, rules.guidance)
    if rules.services.search(unclinical):
        clinical = True
        unclinical = _mask(_mask(unclinical, rules.services), rules.generic)
    if rules.modality_any.search(unclinical) or rules.actions["imaging"].search(unclinical):
        return "imaging"
    return "clinical" if clinical else "imaging"


def is_communication(sentence: str, rules: FollowupRules | None = None) -> bool:
    """A documented communication of results; consent and contact details are none."""
    rules = rules or followup_rules()
    if rules.communication_not_about.search(sentence):
        return False
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
        elif is_recommendation(text, rules, sentence.section):
            recs.append(_recommendation(report, i, sentence, rules))
    return Followups(tuple(recs), tuple(comms), tuple(declined))


def extract(text: str) -> Followups:
    """Read ``text`` and return its follow-up recommendations and communications."""
    return extract_report(read(text))
