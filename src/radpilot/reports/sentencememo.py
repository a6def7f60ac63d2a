"""Each distinct sentence is read once per process: the mentions of a repeated sentence are
the first reading's, moved to where the sentence sits.

Reports repeat sentences verbatim ("No pneumothorax.", "The lungs are clear."): 60% of the
sentences of the 3,955 OpenI reports repeat an earlier one. What the cue engine
(:func:`radpilot.reports.context.mentions_in_sentence`) returns for a sentence depends only
on the sentence's text and section, the phrases found in it (their offsets within it; their
roles follow from the text and the lexicon), and the rules; every offset it returns is an
offset into the sentence plus the sentence's start. So a memo keyed by (text, section,
phrase offsets), kept per lexicon and dropped whenever the rules objects change, gives the
same mentions as reading again, moved by the difference of the two starts.

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
    """The mentions of the sentences read so far with one lexicon (see the module doc)."""

    __slots__ = ("entries", "rules")

    def __init__(self) -> None:
        self.entries: dict[tuple[Any, ...], tuple[int, list[Mention]]] = {}
        self.rules: tuple[object, ...] = ()

    def mentions(
        self,
        sentence: Sentence,
        tokens: list[Token],
        text: str,
        rules: CueRules,
        mods: Modifiers,
        context_section: bool,
        unsized: frozenset[str],
    ) -> list[Mention]:
        """The mentions of one sentence (``tokens``: the phrases inside it, in order)."""
        held = self.rules
        if not held or held[0] is not rules or held[1] is not mods or held[2] is not unsized:
            self.entries.clear()  # rules reloaded: forget every reading
            self.rules = (rules, mods, unsized)
        start = sentence.start
        key = (
            sentence.text,
            sentence.section,
            context_section,
            tuple([t.start - start for t in tokens]),
            tuple([t.end - start for t in tokens]),
        )
        hit = self.entries.get(key)
        if hit is not None:
            first_start, found = hit
            if first_start == start:
                return list(found)
            return _moved(found, start - first_start, sentence)
        found = read_sentence(sentence, tokens, text, rules, mods, context_section, unsized)
        if len(self.entries) >= MAX_SENTENCES:
            for old in list(self.entries)[: MAX_SENTENCES // 2]:
                self.entries.pop(old, None)  # another thread may have evicted it
        self.entries[key] = (start, found)
        return list(found)


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
