"""Each distinct sentence is read once per process: the mentions of a repeated sentence are
the first reading's, moved to where the sentence sits.

Reports repeat sentences verbatim ("No pneumothorax.", "The lungs are clear."): 60% of the
sentences of the 3,955 OpenI reports repeat an earlier one. What the reader finds in a
sentence (:func:`radpilot.reports.reader.read_sentence_afresh`: its phrases, scanned within
it, then the cue engine, :func:`radpilot.reports.context.mentions_in_sentence`) depends only
on the sentence's text, the one character before it (a phrase's opening looks behind at
it), its section, whether cues reach in from its header, and the rules; every offset it
returns is an offset into the sentence plus the sentence's start. So a memo keyed by those,
kept per lexicon and dropped whenever a rules object changes, gives the same mentions as
reading again, moved by the difference of the two starts; a repeated sentence is not even
scanned.

Bounded: at most ``MAX_SENTENCES`` sentences per lexicon (the oldest half is dropped when
full), a few MB.
"""

from __future__ import annotations

from typing import Any

from radpilot.reports.context import mentions_in_sentence
from radpilot.reports.matcher import Lexicon, Token
from radpilot.reports.models import Measurement, Mention, Sentence, Span
from radpilot.reports.rules import CueRules, Modifiers

# A guard, not a reading rule (so it stays in code, unlike the cue scopes in cues.json):
# cue scopes are pairwise within a sentence, and a run-on "sentence" (a pasted table, a
# corrupt file) must not stall a batch. 96 phrases is far above a real sentence (OpenI's
# longest has ~30), so no real report is read differently for it.
MAX_TOKENS_PER_WINDOW = 96
MAX_SENTENCES = 16_384


class SentenceMemo:
    """The mentions of the sentences read so far with one lexicon (see the module doc).

    Each entry keeps two readings of its sentence: as read (for a sentence under a body
    region's sub-header, which the reader then assigns to that region) and with another
    body part named in a mention's own phrase made its region (every other sentence)."""

    __slots__ = ("entries", "rules")

    def __init__(self) -> None:
        self.entries: dict[tuple[Any, ...], tuple[int, list[Mention], list[Mention]]] = {}
        self.rules: tuple[object, ...] = ()

    def check(self, rules: tuple[object, ...]) -> None:
        """Forget every reading when any rules object is not the one they were read with."""
        held = self.rules
        if len(held) != len(rules) or any(a is not b for a, b in zip(held, rules, strict=True)):
            self.entries.clear()
            self.rules = rules

    def get(
        self, sentence: Sentence, before: str, context_section: bool, placed: bool
    ) -> list[Mention] | None:
        """The mentions of a sentence read before (``before``: the character before it;
        ``placed``: the reading with body parts placed), moved to where this one sits."""
        hit = self.entries.get((sentence.text, before, sentence.section, context_section))
        if hit is None:
            return None
        first_start, plain, named = hit
        found = named if placed else plain
        if first_start == sentence.start:
            return list(found)
        return _moved(found, sentence.start - first_start, sentence)

    def put(
        self,
        sentence: Sentence,
        before: str,
        context_section: bool,
        plain: list[Mention],
        named: list[Mention],
    ) -> None:
        """Keep the two readings of a sentence just read."""
        if len(self.entries) >= MAX_SENTENCES:
            for old in list(self.entries)[: MAX_SENTENCES // 2]:
                self.entries.pop(old, None)  # another thread may have evicted it
        key = (sentence.text, before, sentence.section, context_section)
        self.entries[key] = (sentence.start, plain, named)


def read_sentence(
    sentence: Sentence,
    tokens: list[Token],
    text: str,
    rules: CueRules,
    mods: Modifiers,
    context_section: bool,
    unsized: frozenset[str],
) -> list[Mention]:
    """The cue engine on one sentence; a run-on one is read in windows of
    ``MAX_TOKENS_PER_WINDOW`` phrases."""
    out: list[Mention] = []
    for w in range(0, len(tokens), MAX_TOKENS_PER_WINDOW):
        out.extend(
            mentions_in_sentence(
                sentence,
                tokens[w : w + MAX_TOKENS_PER_WINDOW],
                text,
                rules,
                mods,
                context_section,
                unsized,
            )
        )
    return out


def _span(s: Span, delta: int) -> Span:
    return Span(s.start + delta, s.end + delta, s.text)


def _moved(found: list[Mention], delta: int, sentence: Sentence) -> list[Mention]:
    """Copies of ``found`` with every offset moved by ``delta`` (every other field kept)."""
    sent_span = Span(sentence.start, sentence.end, sentence.text)
    return [_copy(m, delta, sent_span) for m in found]


def shifted(found: list[Mention], delta: int) -> list[Mention]:
    """Copies of ``found`` (mentions of any sentences) with every offset moved by ``delta``;
    mentions of one sentence share its moved span, as a reading's do."""
    out: list[Mention] = []
    last: Span | None = None
    moved_sent: Span | None = None
    for m in found:
        sent = m.sentence
        if sent is not last or moved_sent is None:
            last, moved_sent = sent, _span(sent, delta)
        out.append(_copy(m, delta, moved_sent))
    return out


def _copy(m: Mention, delta: int, sentence: Span) -> Mention:
    """``m`` with its offsets moved by ``delta`` and ``sentence`` as its sentence span.

    Every field by position: a direct call in the compiled build (the slot-setting copy
    the source once made cannot write a compiled class). A field added to Mention must be
    added here; test_a_moved_mention_keeps_every_field_and_moves_every_offset fails until it is."""
    size = m.size
    if size is not None:
        size = Measurement(size.value, size.unit, size.mm, _span(size.span, delta))
    return Mention(
        m.finding,
        m.certainty,
        _span(m.span, delta),
        sentence,
        m.section,
        m.laterality,
        m.locations,
        m.severity,
        size,
        m.change,
        m.historical,
        m.hypothetical,
        m.cues,
        m.hedge,
        m.region,
    )


def memo_of(lex: Lexicon) -> SentenceMemo:
    """The sentence memo kept with a compiled lexicon."""
    memo = lex.memo
    if memo is None:
        memo = lex.memo = SentenceMemo()
    return memo  # type: ignore[no-any-return]
