"""A naive report checker, the baseline of ``qa_injection.py``: keywords and a "no ...
before the word in its sentence" negation, as a proofreading macro would do it. It shares
nothing with radpilot's reader or rules."""

from __future__ import annotations

import re
from dataclasses import dataclass

_NOUNS = (
    "effusion",
    "pneumothorax",
    "consolidation",
    "pneumonia",
    "atelectasis",
    "opacity",
    "opacities",
    "infiltrate",
    "nodule",
    "mass",
    "fracture",
    "edema",
    "cardiomegaly",
    "granuloma",
    "scarring",
    "airspace disease",
)
_SIGNIFICANT = (
    "effusion",
    "pneumothorax",
    "consolidation",
    "pneumonia",
    "edema",
    "mass",
    "nodule",
    "fracture",
)
_CRITICAL = re.compile(
    r"\b(?:pneumothorax|free air|pneumoperitoneum|pneumomediastinum|"
    r"mainstem|large (?:\w+ )?(?:pleural )?effusion)\b",
    re.I,
)
_TOLD = re.compile(
    r"\b(?:discussed|called|communicated|notified|paged|telephoned|conveyed|"
    r"informed)\b",
    re.I,
)
_NEG = re.compile(r"\b(?:no|not|without|negative)\b", re.I)
_SIDE = re.compile(r"\b(left|right)\b", re.I)


@dataclass(frozen=True)
class Span:
    start: int
    end: int


@dataclass(frozen=True)
class Kind:
    value: str


@dataclass(frozen=True)
class Flag:
    kind: Kind
    finding: str
    evidence: tuple[Span, ...]


def _sentences(text: str, lo: int, hi: int) -> list[tuple[int, int]]:
    out, start = [], lo
    for m in re.finditer(r"[.\n]", text[lo:hi]):
        end = lo + m.end()
        out.append((start, end))
        start = end
    out.append((start, hi))
    return [(s, e) for s, e in out if text[s:e].strip()]


def _hits(text: str, bounds: list[tuple[int, int]], noun: str) -> tuple[list[Span], list[Span]]:
    """(stated, negated) spans of a noun in these sentences."""
    stated, negated = [], []
    for s, e in bounds:
        for m in re.finditer(rf"\b{noun}\b", text[s:e], re.I):
            span = Span(s + m.start(), s + m.end())
            (negated if _NEG.search(text[s : s + m.start()]) else stated).append(span)
    return stated, negated


def naive_check(text: str) -> list[Flag]:
    i = text.find("IMPRESSION:")
    f_end = i if i >= 0 else len(text)
    findings = _sentences(text, 0, f_end)
    impression = _sentences(text, i, len(text)) if i >= 0 else []
    out: list[Flag] = []
    every = findings + impression
    for noun in _NOUNS:
        f_st, f_neg = _hits(text, findings, noun)
        i_st, i_neg = _hits(text, impression, noun)
        sides, side_words = [], []
        for spans, bounds in ((f_st, findings), (i_st, impression)):
            words = set()
            for sp in spans:
                s, e = next(b for b in bounds if b[0] <= sp.start < b[1])
                for m in _SIDE.finditer(text[s:e]):
                    words.add(m.group(1).lower())
                    side_words.append(Span(s + m.start(), s + m.end()))
            sides.append(words)
        if len(sides[0]) == 1 and len(sides[1]) == 1 and sides[0] != sides[1]:
            out.append(Flag(Kind("laterality_conflict"), noun, tuple(side_words)))
        if noun in _SIGNIFICANT and f_st and impression and not (i_st or i_neg):
            out.append(Flag(Kind("missing_from_impression"), noun, tuple(f_st)))
        if (f_st or i_st) and (f_neg or i_neg):
            out.append(
                Flag(Kind("internal_contradiction"), noun, tuple(f_st + i_st + f_neg + i_neg))
            )
    critical = [
        Span(s + m.start(), s + m.end())
        for s, e in every
        for m in _CRITICAL.finditer(text[s:e])
        if not _NEG.search(text[s : s + m.start()])
    ]
    if critical and not _TOLD.search(text):
        out.append(Flag(Kind("critical_not_communicated"), "critical", tuple(critical)))
    return out
