"""Compatibility characters read as their plain forms, with every offset kept.

A report pasted from a word processor, a PDF or an East Asian input method holds
characters that look like the plain ones and that no phrase matches: a fullwidth "Ｎo", a
non-breaking or thin space, curly quotes, an en dash. :func:`fold` replaces each such
character with its one-character NFKC form (Unicode's compatibility equivalence), and the
punctuation marks NFKC leaves alone with their ASCII twins (modifiers.json's
``characters``), one character for one, so that every offset into the folded text is the
same offset into the user's text:
:func:`restore` then puts the user's own characters back into the evidence spans.
A character whose plain form is longer or empty (the "ﬁ" ligature, a soft hyphen) is
left as written: folding it would move every offset after it.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import replace
from functools import lru_cache

from radpilot.reports.models import Mention, Section, Sentence, Span
from radpilot.reports.rules import modifiers


@lru_cache(maxsize=4096)
def _plain(ch: str) -> str:
    """The one-character NFKC form of a character, or the character itself."""
    folded = unicodedata.normalize("NFKC", ch)
    return folded if len(folded) == 1 else ch


def fold(text: str, characters: Mapping[str, str] | None = None) -> str:
    """``text`` with compatibility characters replaced one for one (same length).
    ``characters``: the marks NFKC keeps that also write a plain one (modifiers.json's
    ``characters``; the packaged table when None)."""
    if text.isascii():
        return text  # nearly every report: nothing to do
    table = modifiers().characters if characters is None else characters
    return "".join(ch if ch.isascii() else table.get(ch) or _plain(ch) for ch in text)


def restore(
    original: str,
    sections: Sequence[Section],
    sentences: Sequence[Sentence],
    mentions: Sequence[Mention],
) -> tuple[tuple[Section, ...], list[Sentence], list[Mention]]:
    """The parts of a report read from ``fold(original)``, with the texts they quote taken
    from ``original`` again: a span's offsets index both, its text is the user's."""

    def span(s: Span) -> Span:
        return replace(s, text=original[s.start : s.end])

    secs = tuple(
        replace(s, header=original[s.start : s.start + len(s.header)]) if s.header else s
        for s in sections
    )
    sents = [replace(s, text=original[s.start : s.end]) for s in sentences]
    out = [
        replace(
            m,
            span=span(m.span),
            sentence=span(m.sentence),
            size=replace(m.size, span=span(m.size.span)) if m.size else None,
        )
        for m in mentions
    ]
    return secs, sents, out
