"""Each distinct section is read once per process: the sentences and mentions of a repeated
section are the first reading's, moved to where the section sits.

Sections repeat verbatim across reports far more than whole reports do ("IMPRESSION: No
acute cardiopulmonary abnormality."; 40% of the OpenI sections repeat an earlier one), and
a report's reading is its sections' readings in order. What the reader finds in one section
(:func:`radpilot.reports.reader.read_section`) depends only on: the section's content and
the ``LOOK_BEHIND`` characters before it (its sentences), its name (the sentences' section,
whether cues reach in from its header; its phrases are scanned sentence by sentence,
within each sentence, so they follow from the text), the body region in force when
it starts (a combined examination's sub-header carries on into a following section of the
same name), and the rules. Every offset it returns is an offset into the content's opening
plus where that opening sits. So a memo keyed by those,
dropped whenever a rules object changes, gives the same sentences and mentions as reading
again, moved by the difference.

A reading is kept from a section's second sighting on: the first only notes its text. Kept
readings are objects the garbage collector walks again and again, and a section that never
recurs would cost that for nothing (a few percent of a pass over reports that repeat
little); one that recurs is read twice, then never again.

Bounded: at most ``MAX_SECTIONS`` readings and as many sightings per lexicon (the oldest
half is dropped when full), a few MB. The sentence memo (:mod:`radpilot.reports.sentencememo`) still serves the
sentences of sections seen for the first time.
"""

from __future__ import annotations

from typing import Any

from radpilot.reports.matcher import Lexicon
from radpilot.reports.models import Mention, Sentence
from radpilot.reports.sentencememo import shifted

MAX_SECTIONS = 8_192

# One section's reading: its sentences, its mentions, the body region in force after it.
Reading = tuple[list[Sentence], list[Mention], str | None]


class SectionMemo:
    """The readings of the sections read so far with one lexicon (see the module doc),
    keyed by the section's text, name and incoming region."""

    __slots__ = ("entries", "rules", "sighted")

    def __init__(self) -> None:
        self.entries: dict[tuple[Any, ...], tuple[int, Reading]] = {}
        self.sighted: dict[tuple[Any, ...], None] = {}  # seen once, not kept (an ordered set)
        self.rules: tuple[object, ...] = ()

    def check(self, rules: tuple[object, ...]) -> None:
        """Forget every reading when any rules object is not the one they were read with."""
        held = self.rules
        if len(held) != len(rules) or any(a is not b for a, b in zip(held, rules, strict=True)):
            self.entries.clear()
            self.sighted.clear()
            self.rules = rules

    def get(self, key: tuple[Any, ...], lead: int) -> Reading | None:
        """The reading stored under ``key``, moved to a section whose opening is at ``lead``."""
        hit = self.entries.get(key)
        if hit is None:
            return None
        first_lead, (sentences, found, region) = hit
        delta = lead - first_lead
        if delta == 0:
            return hit[1]
        moved = [Sentence(s.section, s.start + delta, s.end + delta, s.text) for s in sentences]
        return moved, shifted(found, delta), region

    def put(self, key: tuple[Any, ...], lead: int, reading: Reading) -> None:
        """Keep a reading just made, if its section was sighted before (else note it)."""
        if key not in self.entries:
            if key not in self.sighted:
                _bounded(self.sighted)[key] = None  # the first sighting
                return
            self.sighted.pop(key, None)  # another thread may have evicted it
        _bounded(self.entries)[key] = (lead, reading)


def _bounded(table: dict[Any, Any]) -> dict[Any, Any]:
    """``table``, its oldest half dropped when it holds ``MAX_SECTIONS``."""
    if len(table) >= MAX_SECTIONS:
        for old in list(table)[: MAX_SECTIONS // 2]:
            table.pop(old, None)  # another thread may have evicted it
    return table


def section_memo_of(lex: Lexicon) -> SectionMemo:
    """The section memo kept with a compiled lexicon."""
    memo = lex.section_memo
    if memo is None:
        memo = lex.section_memo = SectionMemo()
    return memo  # type: ignore[no-any-return]
