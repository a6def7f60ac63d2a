"""The objects report QA passes around (problems, image findings, the report read once)
and the helpers its checks share (:mod:`radpilot.workflow.qa`, ``qachecks``, ``qaomissions``)."""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache
from typing import Any

from radpilot.reports.matcher import Token
from radpilot.reports.models import Laterality, Mention, Report, Span
from radpilot.workflow.qarules import QaRulesFile


class ProblemKind(StrEnum):
    LATERALITY_CONFLICT = "laterality_conflict"
    MISSING_FROM_IMPRESSION = "missing_from_impression"
    CRITICAL_NOT_COMMUNICATED = "critical_not_communicated"
    POSSIBLE_MISS = "possible_miss"
    POSSIBLE_OVERCALL = "possible_overcall"
    INTERNAL_CONTRADICTION = "internal_contradiction"
    SEX_INCONSISTENT = "sex_inconsistent"
    EXAM_INCONSISTENT = "exam_inconsistent"


class Severity(StrEnum):
    HIGH = "high"  # a wrong statement a clinician may act on (side, contradiction, critical)
    MEDIUM = "medium"  # an omission or a disagreement with the image model
    LOW = "low"  # worth a look


class Sex(StrEnum):
    FEMALE = "F"
    MALE = "M"


@dataclass(frozen=True, slots=True)
class Problem:
    """One problem: ``evidence`` are the exact words (spans of the report text) behind it;
    ``finding`` the vocabulary id it concerns, when one."""

    kind: ProblemKind
    message: str
    evidence: tuple[Span, ...]
    severity: Severity
    finding: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind.value,
            "message": self.message,
            "severity": self.severity.value,
            "finding": self.finding,
            "evidence": [e.to_dict() for e in self.evidence],
        }


@dataclass(frozen=True, slots=True)
class ImageFinding:
    """The image model's decision on one finding (``radpilot analyze``'s analysis.json),
    named as the report labels name it. ``side``: the patient's side the model's box lies
    on, when the box is wholly on one half of a frontal film."""

    label: str  # a CheXpert or ChestX-ray14 label name
    positive: bool
    probability: float
    threshold: float
    side: Laterality | None = None


@dataclass(frozen=True, slots=True)
class Facts:
    """What the checks share about one report: read once."""

    report: Report
    tokens: list[Token]
    rules: QaRulesFile


# -- helpers the checks share ----------------------------------------------------------


def stated(report: Report) -> list[Mention]:
    """Mentions about this chest film: not hypothetical, not another body part's."""
    return [m for m in report.mentions if not m.hypothetical and m.region is None]


def side_word(facts: Facts, m: Mention) -> Span:
    """The words that gave a mention its side: the nearest laterality phrase of its
    sentence with that side ("left" of "left lower lobe nodule"), or the mention's own
    words where its term says the side ("bibasilar atelectasis")."""
    if m.laterality is None:
        return m.span
    lo, hi = m.sentence.start, m.sentence.end
    best: Token | None = None
    for t in tokens_in(facts, lo, hi):
        if t.roles.laterality != m.laterality.value:
            continue
        if best is None or _gap(t, m.span) < _gap(best, m.span):
            best = t
    if best is None:
        return m.span
    return _side_in(facts.report.text, best.start, best.end, m.laterality)


def _start(t: Token) -> int:
    return t.start


def tokens_in(facts: Facts, lo: int, hi: int) -> list[Token]:
    """The known phrases wholly inside ``[lo, hi)`` (found by bisect: they are sorted)."""
    tokens = facts.tokens
    a, b = bisect_left(tokens, lo, key=_start), bisect_left(tokens, hi, key=_start)
    return [t for t in tokens[a:b] if t.end <= hi]


def _side_in(text: str, start: int, end: int, side: Laterality) -> Span:
    """The side word inside a longer phrase ("Right" of "Right lower lobe"), else the
    phrase."""
    from radpilot.reports.rules import modifiers

    words = tuple(modifiers().laterality_words[side])
    pattern = phrase_regex(words)
    hit = pattern.search(text, start, end) if pattern is not None else None
    if hit is None:
        return Span(start, end, text[start:end])
    return Span(hit.start(), hit.end(), hit.group())


def _gap(t: Token, span: Span) -> int:
    if t.end <= span.start:
        return span.start - t.end
    return max(0, t.start - span.end)


def unique_spans(spans: Iterable[Span]) -> tuple[Span, ...]:
    """Each span once, in text order."""
    return tuple(sorted({(s.start, s.end): s for s in spans}.values(), key=lambda s: s.start))


def spans_of(mentions: Iterable[Mention]) -> tuple[Span, ...]:
    seen: dict[tuple[int, int], Span] = {}
    for m in mentions:
        seen.setdefault((m.span.start, m.span.end), m.span)
    return tuple(sorted(seen.values(), key=lambda s: s.start))


def finding_name(finding: str) -> str:
    from radpilot.reports.vocabulary import load_vocabulary

    f = load_vocabulary().findings.get(finding)
    return f.name if f is not None else finding.replace("_", " ")


@lru_cache(maxsize=64)
def phrase_regex(phrases: tuple[str, ...], prefix: bool = False) -> re.Pattern[str] | None:
    """Phrases of a data file matched case-insensitively at word boundaries (``prefix``:
    a phrase may start a longer word, "esophag" in "esophagus")."""
    if not phrases:
        return None
    alt = "|".join(
        re.escape(p).replace(r"\ ", r"[\s-]+") for p in sorted(phrases, key=len, reverse=True)
    )
    tail = "" if prefix else r"(?![a-z0-9])"
    return re.compile(rf"(?<![a-z0-9])(?:{alt}){tail}", re.IGNORECASE)
