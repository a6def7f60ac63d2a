"""Compatibility characters read as their plain forms, with every offset kept.

A report pasted from a word processor, a PDF or an East Asian input method holds
characters that look like the plain ones and that no phrase matches: a fullwidth "Ｎo", a
non-breaking or thin space, curly quotes, an en dash. :func:`fold` replaces each such
character with its one-character NFKC form (Unicode's compatibility equivalence), and a
few punctuation marks NFKC leaves alone with their ASCII twins, one character for one, so
that every offset into the folded text is the same offset into the user's text:
:func:`restore` then puts the user's own characters back into the evidence spans.
A character whose plain form is longer or empty (the "ﬁ" ligature, a soft hyphen) is
left as written: folding it would move every offset after it.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import replace
from functools import lru_cache

from radpilot.reports.models import Mention, Section, Sentence, Span

# Punctuation that NFKC keeps as it is but that writes the same mark: typographic quotes
# and dashes, the minus sign. One character each, so no offset moves.
_PUNCTUATION = {
    "\u2018": "'",
    "\u2019": "'",
    "\u201a": "'",
    "\u201b": "'",
    "\u2032": "'",
    "\u201c": '"',
    "\u201d": '"',
    "\u201e": '"',
    "\u2033": '"',
    "\u2010": "-",
    "\u2011": "-",
    "\u2012": "-",
    "\u2013": "-",
    "\u2014": "-",
    "\u2015": "-",
    "\u2212": "-",
}


@lru_cache(maxsize=4096)
def _plain(ch: str) -> str:
    """The one-character plain form of a character, or the character itself."""
    hit = _PUNCTUATION.get(ch)
    if hit is not None:
        return hit
    folded = unicodedata.normalize("NFKC", ch)
    return folded if len(folded) == 1 else ch


def fold(text: str) -> str:
    """``text`` with compatibility characters replaced one for one (same length)."""
    if text.isascii():
        return text  # nearly every report: nothing to do
    return "".join(ch if ch.isascii() else _plain(ch) for ch in text)


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
