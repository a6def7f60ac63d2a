"""Report structure: sections from headers, sentences within sections.

Every offset indexes the original text, so a span shown to a radiologist is always the
text they wrote. Headers are data (``data/sections.json``); text before the first header
(or a report with none) is one ``body`` section.

>>> from radpilot.reports.sections import split_sections, split_sentences
>>> text = "FINDINGS: Heart is normal. Dr. Smith saw a 4.5 cm mass.\\nIMPRESSION: Mass."
>>> [s.name for s in split_sections(text)]
['findings', 'impression']
>>> [s.text for s in split_sentences(text)]
['Heart is normal.', 'Dr. Smith saw a 4.5 cm mass.', 'Mass.']
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from radpilot.reports.models import Section, Sentence
from radpilot.reports.rules import CHEST_REGION, section_rules


@lru_cache(maxsize=1)
def _header_regex() -> re.Pattern[str]:
    from radpilot.reports.matcher import trie_regex

    # Matched against the lower-cased text: a trie beats a case-insensitive alternation.
    # A header ends with a colon, or (at a line start, in capitals) with its line.
    alt = trie_regex(sorted(section_rules().headers))
    return re.compile(rf"(?<![\w-])(?P<name>{alt})[ \t]*(?P<end>:|(?=[ \t]*(?:\r?\n|$)))")


_SPACES = re.compile(r"[\s\-]+")  # a run of spaces or hyphens, as in the normalized names


def _line_start(text: str, pos: int) -> bool:
    i = pos - 1
    while i >= 0 and text[i] in " \t":
        i -= 1
    return i < 0 or text[i] == "\n"


def _after_sentence(text: str, pos: int) -> bool:
    """Does a capitalised header at ``pos`` open a sentence ("... rule out pneumonia.
    Findings: ..."), its first letter a capital after a full stop? A run-on report writes
    its headers so; a header word inside a sentence ("the findings: ...") is none."""
    if not text[pos].isupper():
        return False
    i = pos - 1
    while i >= 0 and text[i] in " \t":
        i -= 1
    return i >= 0 and text[i] == "." and i < pos - 1


def split_sections(text: str, lowered: str | None = None) -> tuple[Section, ...]:
    """The sections of a report, in order; text without headers is one ``body`` section."""
    headers = section_rules().headers
    if lowered is None:
        lowered = text.lower()
    if len(lowered) != len(text):  # a few characters change length when lowered
        lowered = "".join(ch if len(ch.lower()) != 1 else ch.lower() for ch in text)
    found: list[tuple[int, int, str, str]] = []  # header start, content start, name, header
    for m in _header_regex().finditer(lowered):
        name_start, name_end = m.span("name")
        header = text[name_start:name_end]
        at_line_start = _line_start(text, name_start)
        has_colon = m.group("end") == ":"
        if not has_colon and not (at_line_start and header.isupper()):
            continue
        if not at_line_start and not header.isupper() and not _after_sentence(text, name_start):
            continue
        canonical = headers[_SPACES.sub(" ", header.lower())]
        found.append((name_start, m.end(), canonical, header))
    sections: list[Section] = []
    first = found[0][0] if found else len(text)
    if text[:first].strip():
        sections.append(Section("body", None, 0, first))
    context = section_rules().context_sections
    last_findings = max((i for i, f in enumerate(found) if f[2] == "findings"), default=-1)
    for i, (start, content, name, header) in enumerate(found):
        end = found[i + 1][0] if i + 1 < len(found) else len(text)
        body = None
        if name in context:
            body = _template_body(lowered, content, end)
            if body is None and i > last_findings:
                body = _paragraph_end(text, content, end)
        if body is None:
            sections.append(Section(name, header, start, end))
        else:
            sections += (Section(name, header, start, body), Section("findings", None, body, end))
    return tuple(sections)


_SIDE = r"(?:(?:right|left|bilateral|both)\s+)?"  # "Right knee:", "Left shoulder:"


def _alternation(names: list[str]) -> str:
    """The normalized names as one regex alternative; a space matches spaces or hyphens."""
    return "|".join(re.escape(n).replace(r"\ ", r"[\s-]+") for n in names)


@lru_cache(maxsize=1)
def _template_regex() -> re.Pattern[str] | None:
    rules = section_rules()
    names = sorted({*rules.template_labels, *rules.regions}, key=len, reverse=True)
    if not names:
        return None
    return re.compile(rf"\n[ \t]*{_SIDE}(?:{_alternation(names)})[ \t]*:")


def _template_body(lowered: str, content: int, end: int) -> int | None:
    """Where a report's templated body starts inside a context section ("EXAM: CHEST 2
    VIEWS" then "Heart: Normal size." on the next line): the first line that opens with an
    anatomy label or a body region's sub-header (``sections.json`` template_labels,
    body_regions), or None. Without it the whole template would be read as the exam's
    context (hypothetical)."""
    pattern = _template_regex()
    m = pattern.search(lowered, content, end) if pattern is not None else None
    return None if m is None else m.start() + 1


# A context section's paragraph ends at a line break after end punctuation, or at a blank
# line, with more text after it.
_PARAGRAPH_END = re.compile(r"(?:[.?!][ \t]*\r?\n|\n[ \t]*\r?\n)\s*(?=\S)")


def _paragraph_end(text: str, content: int, end: int) -> int | None:
    """Where the findings start inside a context section that no FINDINGS header follows
    ("Clinical details: Fall, chest pain." then "No pneumothorax." on the next line): after
    its first paragraph, or None. Many departments write no findings header; without this
    the whole report would be read as the history (hypothetical). A header-less line
    wrapped inside the history ("cough and" / "fever.") does not end it."""
    m = _PARAGRAPH_END.search(text, content, end)
    return None if m is None else m.end()


def content_start(text: str, section: Section) -> int:
    """Where a section's content starts: after its header, the blanks and the colon."""
    if section.header is None:
        return section.start
    pos = section.start + len(section.header)
    while pos < section.end and text[pos] in " \t":
        pos += 1
    if pos < section.end and text[pos] == ":":
        pos += 1
    return pos


# A sentence may end at "." followed by space or the end, or at "?"/"!" before a capital
# ("? pneumonia" is a question mark inside a sentence); at a blank line; at a line
# break after end punctuation; or before a numbered/bulleted item starting a line.
_BOUNDARY = re.compile(
    r"(?P<punct>\.+[!?]*|[!?]+(?=\s*(?:$|[A-Z0-9\n])))(?=\s|$)|(?P<tight>\.(?<=[A-Za-z]{2}\.)(?=[A-Z][a-z]))|(?P<blank>\n[ \t]*\n)|(?P<item>\n(?=[ \t]*(?:\d{1,2}[.)]|[-*\u2022])[ \t]))"
)
_WORD_BEFORE = re.compile(r"([A-Za-z][A-Za-z.]*|\d+)$")
# Every boundary starts with one of these: looking for them first skips the rest of the
# text in C (a pattern that opens with named groups gets no such skip from ``re``).
_CANDIDATE = re.compile(r"[.!?\n]")
_ALNUM = re.compile(r"[^\W_]")  # exactly the characters str.isalnum() accepts
_OPENING = re.compile(r"\s*(?:\d{1,2}[.)]|[-*\u2022])?\s*")  # nothing yet, or an item's number


def _sentence_bounds(
    text: str, start: int, end: int, abbreviations: frozenset[str]
) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    cur = start
    match = _BOUNDARY.match
    after = start  # where the previous boundary ended
    # _BOUNDARY.finditer(text, start, end), but tried only where a boundary can start
    for c in _CANDIDATE.finditer(text, start, end):
        if c.start() < after:
            continue
        m = match(text, c.start(), end)
        if m is None:
            continue
        after = m.end()
        kind = m.lastgroup
        if kind == "tight":
            # "clear.In the left lung": a missing space after the period (not "Dr.Smith")
            prev = _WORD_BEFORE.search(text, max(cur, m.start() - 12), m.start())
            if prev is not None and prev.group(1).lower().rstrip(".") in abbreviations:
                continue
            cut = after
        elif kind == "punct":
            if m.group("punct")[0] in "?!" and _OPENING.fullmatch(text, cur, m.start()):
                continue  # "? Small pneumothorax": a question that opens a sentence ends none
            prev = _WORD_BEFORE.search(text, max(cur, m.start() - 12), m.start())
            if prev is not None:
                word = prev.group(1)
                if word.lower().rstrip(".") in abbreviations and m.group("punct") == ".":
                    continue
                if word.isdigit() and not text[cur : prev.start()].strip():
                    continue  # "1." opening a numbered item
            cut = after
        else:
            cut = m.start() + 1
        out.append((cur, cut))
        cur = cut
    out.append((cur, end))
    bounds: list[tuple[int, int]] = []
    for s, e in out:
        # Trimmed of white space; kept only when it holds a letter or digit.
        piece = text[s:e]
        if _ALNUM.search(piece) is None:
            continue
        lead = len(piece) - len(piece.lstrip())
        bounds.append((s + lead, s + len(piece.rstrip())))
    return bounds


# Sections repeat verbatim across reports (40% of the OpenI sections repeat an earlier one):
# the sentences of a section's content are found once per process. They depend only on the
# content, the two characters before it (the "tight" boundary looks behind its period) and
# the abbreviations, so the memo is keyed by those and forgotten when the rules change.
# Bounded: the oldest half is dropped when full.
_MAX_SECTIONS = 16_384
LOOK_BEHIND = 2  # characters before a section's content that its sentences depend on
_bounds_memo: dict[tuple[str, int], list[tuple[int, int, str]]] = {}
_bounds_rules: list[object] = [None]


def _sentences_of(text: str, start: int, end: int) -> list[tuple[int, int, str]]:
    """(start, end, text) of each sentence of ``text[start:end]``, offsets into the
    content's opening (add ``max(0, start - LOOK_BEHIND)`` for offsets into ``text``)."""
    rules = section_rules()
    _forget_if_changed(_bounds_memo, _bounds_rules, rules)
    lead = max(0, start - LOOK_BEHIND)
    piece = text[lead:end]
    key = (piece, start - lead)
    hit = _bounds_memo.get(key)
    if hit is None:
        bounds = _sentence_bounds(piece, start - lead, len(piece), rules.abbreviations)
        hit = [(s, e, piece[s:e]) for s, e in bounds]
        _bounded(_bounds_memo)[key] = hit
    return hit


def _forget_if_changed(memo: dict[Any, Any], seen: list[object], rules: object) -> None:
    """Empty ``memo`` when the rules it was filled under (``seen[0]``) are not ``rules``."""
    if seen[0] is not rules:
        memo.clear()
        seen[0] = rules


def _bounded(memo: dict[Any, Any]) -> dict[Any, Any]:
    """``memo``, its oldest half dropped when it holds ``_MAX_SECTIONS``."""
    if len(memo) >= _MAX_SECTIONS:
        for old in list(memo)[: _MAX_SECTIONS // 2]:
            memo.pop(old, None)  # another thread may have dropped it
    return memo


def section_sentences(text: str, section: Section, start: int) -> list[Sentence]:
    """The sentences of one section whose content starts at ``start``
    (:func:`content_start`), as spans of ``text``."""
    lead = max(0, start - LOOK_BEHIND)
    name = section.name
    return [
        Sentence(name, s + lead, e + lead, sentence)
        for s, e, sentence in _sentences_of(text, start, section.end)
    ]


def split_sentences(text: str, sections: tuple[Section, ...] | None = None) -> tuple[Sentence, ...]:
    """Sentences of every section (computed when not given), as spans of ``text``."""
    if sections is None:
        sections = split_sections(text)
    out: list[Sentence] = []
    for section in sections:
        out.extend(section_sentences(text, section, content_start(text, section)))
    return tuple(out)


_ITEM = re.compile(r"\d{1,2}[.)][ \t]")  # a numbered list item's opening


@lru_cache(maxsize=1)
def _region_regex() -> re.Pattern[str] | None:
    names = sorted(section_rules().regions, key=len, reverse=True)
    if not names:
        return None
    # "Right knee: ...", or a sentence that is only the region ("ABDOMEN.", "Hand 1.").
    return re.compile(
        rf"(?P<item>\d{{1,2}}[.)][ \t]*)?{_SIDE}(?P<name>{_alternation(names)})"
        r"(?:[ \t]*:|[ \t]*(?:\d{1,2}[ \t]*)?\.?[ \t]*$)",
        re.IGNORECASE,
    )


def sentence_regions(sentences: Sequence[Sentence], current: str | None = None) -> list[str | None]:
    """For each sentence, the body region other than the chest that a combined examination's
    sub-header put it under ("Right knee: small effusion."), or None. A region lasts from
    its header to the next one or the end of the section (``data/sections.json``,
    ``body_regions``).

    >>> text = "FINDINGS: Chest: No effusion. Right knee: Small joint effusion."
    >>> sentence_regions(split_sentences(text))
    [None, 'lower limb']

    ``current``: the region in force before the first sentence (where a run of sentences
    continues one of the same section).
    """
    if _region_regex() is None:
        return [None] * len(sentences)
    out: list[str | None] = []
    section = sentences[0].section if sentences else None
    in_item = False  # was the region in force opened inside a numbered item?
    for sentence in sentences:
        if sentence.section != section:
            section, current = sentence.section, None
        header, name, item = _region_header(sentence.text)
        if header:
            current = None if name == CHEST_REGION else name
            in_item = item
        elif in_item and item:
            # a region a numbered item opened ends at the next item ("2. Right shoulder:
            # ... 3. ..."); one that numbers its own items ("Hand 1. ... 2. ...") goes on
            current, in_item = None, False
        out.append(current)
    return out


# Sentences repeat (60% of OpenI's): what a sentence's opening says of regions is found once
# per process. Keyed by the text alone; forgotten when the rules change. Bounded as above.
_region_memo: dict[str, tuple[bool, str | None, bool]] = {}
_region_rules: list[object] = [None]


def _region_header(sentence: str) -> tuple[bool, str | None, bool]:
    """(is a region's sub-header, that region, opens with a numbered item): the item's
    number inside a header ("2. Right shoulder:"), or the item opening any other sentence."""
    rules = section_rules()
    _forget_if_changed(_region_memo, _region_rules, rules)
    hit = _region_memo.get(sentence)
    if hit is not None:
        return hit
    pattern = _region_regex()
    m = pattern.match(sentence) if pattern is not None else None
    if m is not None:
        name = rules.regions[_SPACES.sub(" ", m.group("name").lower())]
        hit = (True, name, m.group("item") is not None)
    else:
        hit = (False, None, _ITEM.match(sentence) is not None)
    _bounded(_region_memo)[sentence] = hit
    return hit
