"""Citations a language model gives, checked against the archive: every cited report id
must be one the model was given, and every finding a sentence claims must be stated, with
the same polarity, in a report it cites. A sentence that fails is dropped from the answer
and listed with the reason; nothing the model says is passed on unchecked.

>>> reports = {"R1": "FINDINGS: Small left pleural effusion."}
>>> a = verify_answer("A left effusion was seen [R1]. A pneumothorax too [R1].", reports)
>>> [s.text for s in a.kept], [f.reason for f in a.flagged]
(['A left effusion was seen [R1].'], ['pneumothorax is not stated in R1'])
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from radpilot.reports import read
from radpilot.reports.models import Certainty, Change
from radpilot.reports.vocabulary import Vocabulary, load_vocabulary

_CITATION = re.compile(r"\[([^\[\]]{1,200})\]")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")
_CONTEXT_SECTIONS = frozenset({"indication", "history", "comparison", "technique", "examination"})


@dataclass(frozen=True, slots=True)
class Claim:
    finding: str
    present: bool  # False: the sentence says it is absent or resolved


@dataclass(frozen=True, slots=True)
class CitedSentence:
    text: str
    citations: tuple[str, ...]
    claims: tuple[Claim, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "citations": list(self.citations),
            "findings": [{"finding": c.finding, "present": c.present} for c in self.claims],
        }


@dataclass(frozen=True, slots=True)
class Flagged:
    sentence: CitedSentence
    reason: str  # with the report ids ("pneumothorax is not stated in R1"), for the output
    why: str = ""  # the same without ids, for problem lines on stderr
    ids: tuple[str, ...] = ()  # the report ids it is about
    position: int = 0  # which sentence of the model's answer (1-based)

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.sentence.to_dict(),
            "reason": self.reason,
            "ids": list(self.ids),
            "position": self.position,
        }


@dataclass(frozen=True, slots=True)
class CheckedAnswer:
    kept: tuple[CitedSentence, ...]
    flagged: tuple[Flagged, ...]

    @property
    def text(self) -> str:
        return " ".join(s.text for s in self.kept)

    @property
    def verified(self) -> bool:
        return bool(self.kept) and not self.flagged


def citations_of(sentence: str) -> tuple[str, ...]:
    ids: list[str] = []
    for group in _CITATION.findall(sentence):
        for part in re.split(r"[,;]\s*|\s+and\s+", group):
            part = part.strip().removeprefix("report ").removeprefix("id:").strip()
            if part and part not in ids:
                ids.append(part)
    return tuple(ids)


def claims_of(text: str, vocabulary: Vocabulary | None = None) -> tuple[Claim, ...]:
    out: dict[tuple[str, bool], Claim] = {}
    for m in read(text, vocabulary=vocabulary).mentions:
        if m.hypothetical or m.certainty is Certainty.UNCERTAIN:
            continue  # a hedge claims nothing a report must hold
        present = m.certainty is Certainty.PRESENT and m.change is not Change.RESOLVED
        out.setdefault((m.finding, present), Claim(m.finding, present))
    return tuple(out.values())


def _stated(
    report_text: str, vocab: Vocabulary, vocabulary: Vocabulary | None
) -> dict[bool, set[str]]:
    """Findings a report states present / absent, each with its ancestors (a claim of
    "effusion" is backed by a report of "pleural effusion" and a parent by its child)."""
    out: dict[bool, set[str]] = {True: set(), False: set()}
    for m in read(report_text, vocabulary=vocabulary).mentions:
        if m.section in _CONTEXT_SECTIONS or m.hypothetical:
            continue
        present = m.certainty is not Certainty.ABSENT and m.change is not Change.RESOLVED
        out[present].add(m.finding)
        if m.finding in vocab.findings:
            out[present].update(vocab.ancestors(m.finding))
    return out


def split_sentences(answer: str) -> list[str]:
    return [s.strip() for s in _SENTENCE_END.split(answer) if s.strip()]


def verify_answer(
    answer: str,
    reports: Mapping[str, str],
    *,
    vocabulary: Vocabulary | None = None,
    require_citation: bool = True,
) -> CheckedAnswer:
    """Check each sentence of ``answer`` against ``reports`` (id -> text, the reports the
    model was given)."""
    vocab = vocabulary or load_vocabulary()
    stated: dict[str, dict[bool, set[str]]] = {}
    kept: list[CitedSentence] = []
    flagged: list[Flagged] = []
    for position, text in enumerate(split_sentences(answer), 1):
        s = CitedSentence(text, citations_of(text), claims_of(_CITATION.sub(" ", text), vocabulary))
        unknown = [c for c in s.citations if c not in reports]
        if unknown:
            flagged.append(
                Flagged(
                    s,
                    "cites a report id that was not given: " + ", ".join(unknown),
                    "cites a report id that was not given",
                    tuple(unknown),
                    position,
                )
            )
            continue
        if not s.citations:
            if not require_citation:
                kept.append(s)
                continue
            # a statement with no finding is still a statement ("the patient is
            # improving"): nothing is passed on that no report backs
            why = "states a finding without citing a report" if s.claims else "cites no report"
            flagged.append(Flagged(s, why, why, (), position))
            continue
        for rid in s.citations:
            if rid not in stated:
                stated[rid] = _stated(reports[rid], vocab, vocabulary)
        missing = [
            c.finding
            for c in s.claims
            if not any(c.finding in stated[rid][c.present] for rid in s.citations)
        ]
        if missing:
            what = ", ".join(missing)
            flagged.append(
                Flagged(
                    s,
                    f"{what} is not stated in {', '.join(s.citations)}",
                    f"{what} is not stated in the reports cited",
                    s.citations,
                    position,
                )
            )
        else:
            kept.append(s)
    return CheckedAnswer(tuple(kept), tuple(flagged))
