"""The checker-blind criterion of ``qa_injection.py``: the problems an untouched OpenI
report already has, as it was signed.

A checker must not be blamed for a real problem of a report as it was signed, nor may the
benchmark relabel its alarms by reading them. So the problems of an untouched report are
decided here, by a fixed criterion written with the injector's own word lists
(``qa_inject.py``) and blind to the checker; ``qa_injection.py`` reports the alarms it
confirms apart from the rest. Like the injector, it imports nothing of radpilot.
"""

from __future__ import annotations

import re

from qa_inject import (
    _BOTH_SIDES,
    _COMMUNICATION,
    _CRITICAL_WORDS,
    _HEDGED,
    _NEGATED,
    _SIDE,
    MUST_SUMMARISE,
    NOT_ACUTE,
    SIDED_NOUNS,
    SUMMARY_GROUPS,
    _offsets,
    _words_at,
    report_text,
    sentences,
)

_KNOWN = re.compile(
    r"\b(?:stable|unchanged|again|previous|prior|previously|known|residual|persistent|"
    r"decreas\w*|improv\w*|resolv\w*|smaller)\b",
    re.IGNORECASE,
)
_LARGE_EFFUSION = re.compile(r"\blarge\b[^.]*\beffusions?\b", re.IGNORECASE)


def _plain(section: str) -> list[tuple[int, int]]:
    """Sentences that neither negate nor hedge."""
    return [
        (s, e)
        for s, e in sentences(section)
        if not _NEGATED.search(section[s:e]) and not _HEDGED.search(section[s:e])
    ]


def confirmed(findings: str, impression: str) -> dict[str, tuple[tuple[int, int], ...]]:
    """Problems of the report as it is, by the checker-blind criterion: problem kind ->
    the spans of ``report_text`` it is about.

    * critical_not_communicated: no communication word anywhere, and a plain sentence
      naming a critical finding (the injector's critical words, or a large effusion) not
      said to be known, stable or improving;
    * missing_from_impression: a must-summarise noun stated plainly in FINDINGS, not old or
      trivial, and the IMPRESSION names no word of its group;
    * laterality_conflict: a sided noun every plain FINDINGS sentence naming it puts on one
      side only, and every IMPRESSION sentence naming it on the other side only.
    """
    text = report_text(findings, impression)
    f0, i0 = _offsets(findings)
    out: dict[str, tuple[tuple[int, int], ...]] = {}
    if not _COMMUNICATION.search(text):
        spans = [
            (s, e)
            for s, e in _plain(text)
            if (_CRITICAL_WORDS.search(text[s:e]) or _LARGE_EFFUSION.search(text[s:e]))
            and not _KNOWN.search(text[s:e])
        ]
        if spans:
            out["critical_not_communicated"] = tuple(spans)
    if findings and impression:
        missing = []
        for noun in MUST_SUMMARISE:
            group = {noun}.union(*(g for g in SUMMARY_GROUPS if noun in g))
            if any(_words_at(impression, w) for w in group):
                continue
            missing += [
                (f0 + s, f0 + e)
                for s, e in _plain(findings)
                if _words_at(findings[s:e], noun) and not NOT_ACUTE.search(findings[s:e])
            ]
        if missing:
            out["missing_from_impression"] = tuple(missing)
        sided = [
            span
            for noun in SIDED_NOUNS
            for span in _side_conflict(findings, impression, noun, f0, i0)
        ]
        if sided:
            out["laterality_conflict"] = tuple(sided)
    return out


def _side_conflict(
    findings: str, impression: str, noun: str, f0: int, i0: int
) -> list[tuple[int, int]]:
    def sides(section: str, plain: bool) -> tuple[set[str], list[tuple[int, int]]]:
        said: set[str] = set()
        where = []
        for s, e in _plain(section) if plain else sentences(section):
            piece = section[s:e]
            if not _words_at(piece, noun):
                continue
            if _BOTH_SIDES.search(piece):
                said.add("both")
            said |= {m.group(1).lower() for m in _SIDE.finditer(piece)} or {"none"}
            where.append((s, e))
        return said, where

    f_sides, f_where = sides(findings, True)
    i_sides, i_where = sides(impression, False)
    if len(f_sides) == 1 and len(i_sides) == 1 and f_sides | i_sides == {"left", "right"}:
        return [(f0 + s, f0 + e) for s, e in f_where] + [(i0 + s, i0 + e) for s, e in i_where]
    return []
