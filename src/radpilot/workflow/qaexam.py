"""Statements an examination cannot support: a chest finding on a head or knee study, a
lateral view on a one-view study (``exam_inconsistent``; rules in ``data/exam_regions.json``).

The exam comes from ``--exam`` or the report's own EXAMINATION line. Precision first: an
exam no type of the data matches is never flagged, a region the exam may show in part
(the lung apex on a shoulder film) is listed as imaged, and only a present, certain
finding outside any combined-exam sub-header ("Chest:") counts.

>>> from radpilot.reports.matcher import scan
>>> from radpilot.reports.reader import read
>>> from radpilot.workflow.qarules import qa_rules
>>> text = "FINDINGS: Small left pleural effusion.\\nIMPRESSION: No acute intracranial process."
>>> facts = Facts(read(text), scan(text), qa_rules())
>>> [(p.kind.value, [e.text for e in p.evidence]) for p in exam_inconsistent(facts, "CT HEAD")]
[('exam_inconsistent', ['pleural effusion'])]
"""

from __future__ import annotations

import re
from functools import lru_cache

from pydantic import Field, field_validator

from radpilot.datafiles import DataDocument, DataFile, DataModel
from radpilot.reports.models import Certainty, Span
from radpilot.workflow.qatypes import Facts, Problem, ProblemKind, Severity, phrase_regex


def _lower(v: list[str]) -> list[str]:
    bad = [p for p in v if p != p.lower() or not p.strip()]
    if bad:
        raise ValueError(f"phrases must be lower case and not empty: {bad[:3]}")
    return v


class ExamType(DataModel):
    name: str = Field(description="How a problem message names the exam type.")
    words: list[str] = Field(min_length=1, description="Exam-name words that select it.")
    regions: list[str] = Field(min_length=1, description="The body regions it images.")
    _check = field_validator("words")(_lower)


class RegionFinding(DataModel):
    finding: str = Field(description="A finding id of the vocabulary (findings.json).")
    words: list[str] = Field(
        default_factory=list,
        description="Words of which one must be in the mention's words; empty: none needed.",
    )
    _check = field_validator("words")(_lower)


class SingleView(DataModel):
    exam_words: list[str] = Field(description="Exam-name words of a one-view study.")
    statements: list[str] = Field(description="Phrases that need a second view.")
    negations: list[str] = Field(
        description="Words that, in the statement's sentence, say the view is missing."
    )
    _check = field_validator("exam_words", "statements", "negations")(_lower)


class ExamRegionsFile(DataDocument):
    version: str
    exams: list[ExamType]
    findings: dict[str, list[RegionFinding]]
    single_view: SingleView


EXAM_REGIONS = DataFile("radpilot.workflow", "data/exam_regions.json", ExamRegionsFile)


@lru_cache(maxsize=1)
def exam_regions() -> ExamRegionsFile:
    """The packaged rules, their finding ids checked against the vocabulary once."""
    from radpilot.errors import VocabularyError
    from radpilot.reports.vocabulary import load_vocabulary

    rules = EXAM_REGIONS.load()
    known = load_vocabulary().findings
    ids = {f.finding for fs in rules.findings.values() for f in fs}
    unknown = sorted(i for i in ids if i not in known)
    if unknown:
        raise VocabularyError(f"{EXAM_REGIONS.where}: unknown finding id(s): {', '.join(unknown)}")
    return rules


def _has(words: list[str], text: str) -> bool:
    pattern = phrase_regex(tuple(words))
    return pattern is not None and pattern.search(text) is not None


def exam_regions_of(exam: str) -> tuple[list[str], list[str]]:
    """The types an exam name holds and the regions they image, together ("CT HEAD AND
    CHEST" images both); ``([], [])`` when no type matches."""
    name = " ".join(re.findall(r"[a-z0-9]+", exam.lower()))
    kinds = [t for t in exam_regions().exams if _has(t.words, name)]
    return [t.name for t in kinds], sorted({r for t in kinds for r in t.regions})


def exam_inconsistent(facts: Facts, exam: str) -> list[Problem]:
    """Findings of a region the exam does not image, and second-view statements on a
    one-view exam."""
    return _outside(facts, exam) + _second_view(facts, exam)


def _outside(facts: Facts, exam: str) -> list[Problem]:
    names, imaged = exam_regions_of(exam)
    if not names:
        return []
    out: list[Problem] = []
    for region, findings in exam_regions().findings.items():
        if region in imaged:
            continue
        for m in facts.report.mentions:
            if m.certainty is not Certainty.PRESENT or m.region is not None:
                continue
            if m.section not in ("findings", "impression") or m.hypothetical or m.historical:
                continue
            rule = next((f for f in findings if f.finding == m.finding), None)
            if rule is None or (rule.words and not _has(rule.words, m.span.text.lower())):
                continue
            out.append(
                Problem(
                    ProblemKind.EXAM_INCONSISTENT,
                    f"a {region} finding ({m.finding}) in the report of a {' and '.join(names)} "
                    "examination, which does not image it",
                    (m.span,),
                    Severity.MEDIUM,
                    m.finding,
                )
            )
    return out


def _second_view(facts: Facts, exam: str) -> list[Problem]:
    rules = exam_regions().single_view
    name = " ".join(re.findall(r"[a-z0-9]+", exam.lower()))
    if not _has(rules.exam_words, name):
        return []
    pattern = phrase_regex(tuple(rules.statements))
    if pattern is None:
        return []
    text = facts.report.text
    bodies = [
        (s.start, s.end) for s in facts.report.sections if s.name in ("findings", "impression")
    ]
    out: list[Problem] = []
    for hit in pattern.finditer(text):
        s, e = hit.span()
        if not any(a <= s < b for a, b in bodies) or _negated(facts, s, rules.negations):
            continue
        out.append(
            Problem(
                ProblemKind.EXAM_INCONSISTENT,
                "a statement about a second view in the report of a one-view examination",
                (Span(s, e, text[s:e]),),
                Severity.LOW,
            )
        )
    return out


def _negated(facts: Facts, start: int, negations: list[str]) -> bool:
    """ "No lateral view was obtained": the sentence says the view is missing."""
    for sent in facts.report.sentences:
        if sent.start <= start < sent.end:
            return _has(negations, sent.text)
    return False
