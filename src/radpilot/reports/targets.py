"""Targets mode: the assertion of concepts found elsewhere, in any clinical text.

A pipeline that already finds concepts (scispaCy, cTAKES, MedCAT, a dictionary) hands over
character spans; radpilot says, for each, whether the text asserts it (``present``,
``absent``, ``uncertain``), whether it is ``historical`` or ``hypothetical``, and whose it
is (``experiencer``: ``patient`` or ``other``), with the cue phrases that decided.

The algorithm is ConText (Harkema et al., J Biomed Inform 2009), with the cues as data
(``data/clinical_cues.json``, :mod:`radpilot.reports.clinicalcues`):

* The text is split into sentences (end punctuation, except after an abbreviation; a line
  break before a capital, a digit or a list mark; a blank line). A cue's scope never
  leaves its sentence.
* Per dimension (certainty, historical, hypothetical, experiencer) the cues are matched
  longest first, so a pseudo-trigger ("no increase", "history of present illness") hides
  the trigger inside it, in its own dimension only ("mother denies fever": "mother denies"
  is no experiencer cue, "denies" still negates).
* A forward cue reaches the concepts after it, a backward cue those before it, to the
  sentence end, to a termination term of its dimension ("but", "however", "reports" for
  certainty; "now", "presents" for the historical; "the patient", "he" for the
  experiencer), to a section header ("PMH: HTN, HPI: chest pain"), or within
  ``max_scope_words`` words. A cue that can look both ways looks
  forward when another target follows it in its scope ("cough, likely pneumonia"). Some
  termination terms end a scope only where they open a clause ("denies A, still has B",
  but "unsure whether she still takes B").
* A word right after a target that states it ("present") closes its list item: "no
  edema, pulses present" does not negate the pulses.
* Certainty: the nearest negation or uncertainty cue in scope decides. Two targets joined
  by "or" / "versus" (and at most ``alternative_max_words`` other words) are uncertain,
  unless negated or hypothetical ("denies fever or chills").
* A section header sets an attribute for what is under it: "Family history:" makes every
  concept someone else's, "Past medical history:" historical, until the next header.

Conventions: "consistent with" states a finding (radpilot's reader does the same);
"history of X" is historical with the certainty its own cues give ("no history of X" is
absent and historical); "3-day history of cough" is no history (a pseudo cue).

>>> text = "Denies chest pain but reports cough. Mother has diabetes. History of asthma."
>>> [(a.certainty.value, a.historical, a.experiencer.value)
...  for a in read_targets(text, [(7, 17), (30, 35), (48, 56), (69, 75)])]
[('absent', False, 'patient'), ('present', False, 'patient'), ('present', False, 'other'), ('present', True, 'patient')]
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from radpilot.errors import InputError
from radpilot.reports.clinicalcues import (
    ClinicalRules,
    Dimension,
    TargetCategory,
    TargetDirection,
    clinical_rules,
)
from radpilot.reports.models import Certainty

MAX_TARGETS = 10_000  # per text: far above a real note, a guard against a runaway row

_WORD = re.compile(r"\w+")
_NORM = re.compile(r"[\s\-]+")
# Sentence ends: end punctuation before a space (the word before it is checked for an
# abbreviation); a line break before a capital, a digit or a list mark; a blank line.
_BOUNDARY = re.compile(
    r"(?P<punct>[.!?]+)(?=\s)|(?P<blank>\n[ \t]*\n)|(?P<line>\n(?=[ \t]*(?:[A-Z0-9]|[-*\u2022])))"
)
_WORD_BEFORE = re.compile(r"([A-Za-z][A-Za-z./]*|\d+)$")


class Experiencer(StrEnum):
    PATIENT = "patient"
    OTHER = "other"


@dataclass(frozen=True, slots=True)
class TargetAssertion:
    """What the text says of one target span (``start``/``end``: offsets into the text)."""

    start: int
    end: int
    certainty: Certainty
    historical: bool = False
    hypothetical: bool = False
    experiencer: Experiencer = Experiencer.PATIENT
    cues: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "start": self.start,
            "end": self.end,
            "certainty": self.certainty.value,
            "historical": self.historical,
            "hypothetical": self.hypothetical,
            "experiencer": self.experiencer.value,
            "cues": list(self.cues),
        }


@dataclass(frozen=True, slots=True)
class _Cue:
    start: int
    end: int
    key: str


@dataclass(slots=True)
class _Text:
    """Everything scanned once per text: sentences, cues per dimension, sections."""

    text: str
    sentence_starts: list[int]
    sentence_ends: list[int]
    cues: dict[str, list[_Cue]]
    cue_starts: dict[str, list[int]]
    terminators: list[_Cue]
    terminator_starts: list[int]
    sections: list[tuple[int, TargetCategory | None, str]]  # header start, what it sets, key
    section_starts: list[int]


def _matches(pattern: re.Pattern[str], text: str, lowered: str) -> list[_Cue]:
    source = lowered if len(lowered) == len(text) else text
    flags_pattern = pattern if source is lowered else re.compile(pattern.pattern, re.IGNORECASE)
    return [
        _Cue(m.start(), m.end(), _NORM.sub(" ", m.group().lower()))
        for m in flags_pattern.finditer(source)
    ]


def _sentences(text: str, rules: ClinicalRules) -> tuple[list[int], list[int]]:
    starts, ends = [0], []
    for m in _BOUNDARY.finditer(text):
        if m.group("punct") is not None:
            prev = _WORD_BEFORE.search(text, max(0, m.start() - 12), m.start())
            if prev is not None and m.group("punct") == ".":
                word = prev.group(1).lower()
                if word in rules.abbreviations or "." in word:
                    continue  # "Dr. Smith", "p.r.n. pain"
                if len(word) == 1 and word.isalpha():
                    continue  # an initial
            cut = m.end()
        else:
            cut = m.start() + 1
        ends.append(cut)
        starts.append(cut)
    ends.append(len(text))
    return starts, ends


def _scan(text: str, rules: ClinicalRules) -> _Text:
    lowered = text.lower()
    starts, ends = _sentences(text, rules)
    cues = {d: _matches(r.pattern, text, lowered) for d, r in rules.dimensions.items()}
    terms = _matches(rules.terminator_pattern, text, lowered)
    sections: list[tuple[int, TargetCategory | None, str]] = []
    source = lowered if len(lowered) == len(text) else text
    for m in rules.section_pattern.finditer(source):
        if not _opens_section(text, m.start()):
            continue
        key = _NORM.sub(" ", m.group().rstrip(": \t").lower())
        sections.append((m.start(), rules.sections.get(key), key))
    return _Text(
        text=text,
        sentence_starts=starts,
        sentence_ends=ends,
        cues=cues,
        cue_starts={d: [c.start for c in cs] for d, cs in cues.items()},
        terminators=terms,
        terminator_starts=[t.start for t in terms],
        sections=sections,
        section_starts=[s[0] for s in sections],
    )


def _opens_section(text: str, at: int) -> bool:
    """A header opens the text, a line or a sentence; in the middle of a line it is
    written with a capital ("... no fever. Family History: ...", "Meds: x  Allergies: y")."""
    before = text[:at].rstrip(" \t")
    if not before or before[-1] in ".:;\n":
        return True
    return text[at : at + 1].isupper() and text[at - 1 : at] in (" ", "\t")


def _words(text: str, lo: int, hi: int) -> int:
    return len(_WORD.findall(text, lo, hi)) if hi > lo else 0


def _terminated(scan: _Text, rules: ClinicalRules, dim: str, lo: int, hi: int) -> bool:
    """A termination term of ``dim``, or a section header, between ``lo`` and ``hi``: a
    header starts new items ("PMH: HTN, HPI: chest pain"), whatever the dimension."""
    h = bisect.bisect_left(scan.section_starts, lo)
    if h < len(scan.section_starts) and scan.section_starts[h] < hi:
        return True
    i = bisect.bisect_left(scan.terminator_starts, lo)
    while i < len(scan.terminators) and scan.terminators[i].start < hi:
        t = scan.terminators[i]
        i += 1
        if t.end > hi:
            continue
        if dim in rules.terminators.get(t.key, ()):
            return True
        if dim in rules.clause_terminators.get(t.key, ()) and _opens_item(scan.text, t.start):
            return True  # "denies A, still has B"; not "unsure whether she still takes B"
    return False


_AND_BEFORE = re.compile(r"(?<!\w)and$", re.IGNORECASE)


def _opens_item(text: str, at: int) -> bool:
    """Does the word at ``at`` open a clause or list item: after a comma, semicolon, colon,
    bracket or dash, or after "and" ("no fever and still coughing")?"""
    before = text[max(0, at - 8) : at].rstrip()
    return before == "" or before[-1] in ",;:(-" or _AND_BEFORE.search(before) is not None


@dataclass(frozen=True, slots=True)
class _Hit:
    words: int
    cue: _Cue
    category: TargetCategory


def _nearest(
    scan: _Text,
    rules: ClinicalRules,
    dim: str,
    span: tuple[int, int],
    window: tuple[int, int],
    others: Sequence[tuple[int, int]],
) -> _Hit | None:
    """The nearest cue of a dimension whose scope covers the target, within its sentence."""
    start, end = span
    lo_s, hi_s = window
    table = rules.dimensions[dim].phrases
    cues = scan.cues[dim]
    i = bisect.bisect_left(scan.cue_starts[dim], lo_s)
    best: _Hit | None = None
    while i < len(cues) and cues[i].start < hi_s:
        cue = cues[i]
        i += 1
        if cue.start < start < cue.end:
            # "no focal consolidation" for the target "focal consolidation": the longest
            # phrase ran into the target; the words before the target may be a cue.
            head = _before_target(scan.text, cue, start, table)
            if head is None:
                continue
            cue = head
        if cue.end > hi_s or (cue.start < end and start < cue.end):
            continue  # outside the sentence, or inside the target itself
        rule_list = table.get(cue.key, ())
        looks_ahead = _looks_ahead(scan, rules, dim, cue, rule_list, span, others, hi_s)
        for rule in rule_list:
            d = rule.direction
            if d is TargetDirection.PSEUDO:
                continue
            answer = d is TargetDirection.FORWARD and _answers(scan.text, cue, rule, window)
            if answer and cue.end <= start:
                continue  # "Fever: no, cough: yes": the answer is the fever's only
            if d is TargetDirection.FORWARD and rule.opens_clause:
                if not _opens_clause(scan.text, cue, window):
                    continue  # "Homans sign negative, calf tenderness present"
            if cue.end <= start and d in (TargetDirection.FORWARD, TargetDirection.BIDIRECTIONAL):
                lo, hi = cue.end, start
            elif cue.start >= end and d in (
                TargetDirection.BACKWARD,
                TargetDirection.BIDIRECTIONAL,
            ):
                if looks_ahead:
                    continue
                lo, hi = end, cue.start
            elif answer and scan.text[end : cue.start].strip() in (":", "-"):
                lo, hi = end, cue.start  # "Chest pain: no." negates the item it answers
            else:
                continue
            gap = _words(scan.text, lo, hi)
            if rule.max_scope_words is not None and gap > rule.max_scope_words:
                continue
            if _terminated(scan, rules, dim, lo, hi):
                continue
            if best is None or gap < best.words:
                best = _Hit(gap, cue, rule.category)
    return best


def _answers(text: str, cue: _Cue, rule: Any, window: tuple[int, int]) -> bool:
    """Is a negation a template's answer to the item before it ("Chest pain: no.", "Fever -
    no, cough: yes"): right after a colon or dash, its item ending right after it? The chest
    reader's rule too (``context._closes``)."""
    if rule.category is not TargetCategory.NEGATION:
        return False
    before = text[max(window[0], cue.start - 4) : cue.start].rstrip()[-1:]
    after = text[cue.end : min(window[1], cue.end + 4)].lstrip(" \t")[:1]
    return before in (":", "-") and after in ("", ".", ",", ";", "!")


def _opens_clause(text: str, cue: _Cue, window: tuple[int, int]) -> bool:
    """Does a cue open its clause: the sentence's first words, or right after a comma,
    semicolon, colon or bracket ("Neg Homans sign", "ROS: negative Murphy sign")?"""
    before = text[max(window[0], cue.start - 4) : cue.start].rstrip()
    return before == "" or before[-1] in ",;:(-"


def _before_target(text: str, cue: _Cue, start: int, table: Any) -> _Cue | None:
    """The part of a cue match before the target, when that part is a cue itself."""
    head = text[cue.start : start].rstrip(" \t\r\n-")
    key = _NORM.sub(" ", head.lower())
    if key in table:
        return _Cue(cue.start, cue.start + len(head), key)
    return None


def _looks_ahead(
    scan: _Text,
    rules: ClinicalRules,
    dim: str,
    cue: _Cue,
    rule_list: Sequence[Any],
    span: tuple[int, int],
    others: Sequence[tuple[int, int]],
    hi_s: int,
) -> bool:
    """A cue that can look both ways looks forward when another target follows it within
    its forward scope ("cough, likely pneumonia": the pneumonia is hedged, the cough not)."""
    if cue.start < span[1]:
        return False
    forward = [
        r
        for r in rule_list
        if r.direction is TargetDirection.FORWARD
        and (not r.opens_clause or _opens_clause(scan.text, cue, (0, len(scan.text))))
    ]
    if not forward or not any(r.direction is TargetDirection.BACKWARD for r in rule_list):
        return False
    reach = forward[0].max_scope_words
    for o_start, _o_end in others:
        if o_start >= cue.end and o_start < hi_s:
            gap = _words(scan.text, cue.end, o_start)
            if (reach is None or gap <= reach) and not _terminated(
                scan, rules, dim, cue.end, o_start
            ):
                return True
    return False


def _section(scan: _Text, start: int, sentence_start: int) -> tuple[TargetCategory | None, str]:
    i = bisect.bisect_right(scan.section_starts, start) - 1
    if i < 0:
        return None, ""
    at, sets, key = scan.sections[i]
    if "\n\n" in scan.text[at:sentence_start] or "\r\n\r\n" in scan.text[at:sentence_start]:
        return None, ""  # a blank line ends a section
    return sets, key


def _alternative(
    scan: _Text, rules: ClinicalRules, span: tuple[int, int], others: Sequence[tuple[int, int]]
) -> str | None:
    """The joining word when the target is one side of "A or B" with another target."""
    start, end = span
    after = [o for o in others if o[0] >= end]
    before = [o for o in others if o[1] <= start]
    # Only the targets right beside it: "tenderness without rebound or guarding" joins
    # the rebound and the guarding, not the tenderness.
    beside = ([min(after)] if after else []) + ([max(before, key=lambda o: o[1])] if before else [])
    for o_start, o_end in beside:
        lo, hi = (end, o_start) if o_start >= end else (o_end, start)
        if _terminated(scan, rules, Dimension.CERTAINTY.value, lo, hi):
            continue
        words = [w.lower() for w in re.findall(r"[\w/.]+", scan.text[lo:hi])]
        words = [w.rstrip(".") if w.rstrip(".") in rules.alternatives else w for w in words]
        joins = [w for w in words if w in rules.alternatives]
        if joins and len(words) - 1 <= rules.alternative_max_words:
            return joins[0]
    return _closed_list(scan, rules, span, others)


_COMMA = re.compile(r"\s*,\s*")


def _closed_list(
    scan: _Text, rules: ClinicalRules, span: tuple[int, int], others: Sequence[tuple[int, int]]
) -> str | None:
    """The joining word when the target is an item of a comma list that "or" closes: "A, B,
    or C" (A too, not only B and C beside the "or") and "A, B, or both" (a closing word of
    ``list_closers``), as the chest reader reads "atelectasis, pneumonia, or aspiration"."""
    text = scan.text
    chain = [span]
    items = sorted(o for o in others if o[0] >= span[1])
    for o in items:
        gap = text[chain[-1][1] : o[0]]
        if _COMMA.fullmatch(gap):
            chain.append(o)
            continue
        words = gap.replace(",", " ").lower().split()
        if len(chain) >= 2 and words and words[0] in rules.alternatives and len(words) == 1:
            return words[0]  # "A, B, or C": A is one of the alternatives
        break
    before = [o for o in others if o[1] <= span[0]]
    if len(chain) < 2 and not (before and _COMMA.fullmatch(text, max(before)[1], span[0])):
        return None  # "A or both" alone names no list
    rest = text[chain[-1][1] : chain[-1][1] + 40].lower().replace(",", " ").split()
    if len(rest) >= 2 and rest[0] in rules.alternatives:
        tail = " ".join(rest[1:]).rstrip(".;:)")
        if any(tail == c or tail.startswith(c + " ") for c in rules.list_closers):
            return rest[0]
    return None


def _assert(
    scan: _Text, rules: ClinicalRules, span: tuple[int, int], all_spans: Sequence[tuple[int, int]]
) -> TargetAssertion:
    start, end = span
    k = bisect.bisect_right(scan.sentence_starts, start) - 1
    s_lo = scan.sentence_starts[k]
    s_hi = max(scan.sentence_ends[k], end)
    others = [
        o
        for o in all_spans
        if o != span and s_lo <= o[0] < s_hi and not (o[0] < end and start < o[1])
    ]
    window = (s_lo, s_hi)
    cues: list[str] = []
    certainty = Certainty.PRESENT
    own_item = (_affirmed_item(scan, rules, span, s_lo), s_hi)
    hit = _nearest(scan, rules, Dimension.CERTAINTY.value, span, own_item, others)
    if hit is not None:
        certainty = (
            Certainty.ABSENT if hit.category is TargetCategory.NEGATION else Certainty.UNCERTAIN
        )
        cues.append(hit.cue.key)
    sets, header = _section(scan, start, s_lo)
    historical = _nearest(scan, rules, Dimension.HISTORICAL.value, span, window, others)
    hypothetical = _nearest(scan, rules, Dimension.HYPOTHETICAL.value, span, window, others)
    other = _nearest(scan, rules, Dimension.EXPERIENCER.value, span, window, others)
    if other is not None and _negated_list_item(scan, rules, other.cue, span, window, others):
        other = None
    for found in (historical, hypothetical, other):
        if found is not None:
            cues.append(found.cue.key)
    if sets is not None:
        cues.append(header)
    if certainty is Certainty.PRESENT and hypothetical is None:
        joined = _alternative(scan, rules, span, others)
        if joined is not None:
            certainty = Certainty.UNCERTAIN
            cues.append(joined)
    return TargetAssertion(
        start=start,
        end=end,
        certainty=certainty,
        historical=historical is not None or sets is TargetCategory.HISTORICAL,
        hypothetical=hypothetical is not None,
        experiencer=(
            Experiencer.OTHER
            if other is not None or sets is TargetCategory.EXPERIENCER
            else Experiencer.PATIENT
        ),
        cues=tuple(dict.fromkeys(cues)),
    )


_ITEM_BREAK = re.compile(r"[,;]")
_LIST_WORD = re.compile(r"(?<!\w)(?:or|and|nor)(?!\w)", re.IGNORECASE)


def _affirmed_item(scan: _Text, rules: ClinicalRules, span: tuple[int, int], s_lo: int) -> int:
    """Where the certainty cues of a target may start: its sentence's start, or, when a
    word right after it states it ("present", "positive"), its own list item's start ("no
    edema, pulses present": the pulses are present). An item that goes on the list with
    "or", "and" or "nor" ("no A, B, or C present", "no A, B or C present") is the list's."""
    pattern = rules.affirmation_pattern
    if pattern is None:
        return s_lo
    text = scan.text
    at = span[1]
    while text[at : at + 1] in (" ", "\t"):
        at += 1
    if pattern.match(text, at) is None:
        return s_lo
    breaks = [b.end() for b in _ITEM_BREAK.finditer(text, s_lo, span[0])]
    if not breaks or _LIST_WORD.search(text, breaks[-1], span[0]) is not None:
        return s_lo  # "no wheezes, rales or rhonchi present": the list goes on
    return breaks[-1]


_LIST_NEXT = re.compile(r"[ \t]*(?:,|(?:or|and|nor)(?!\w))", re.IGNORECASE)


def _negated_list_item(
    scan: _Text,
    rules: ClinicalRules,
    cue: _Cue,
    span: tuple[int, int],
    window: tuple[int, int],
    others: Sequence[tuple[int, int]],
) -> bool:
    """A relative before the target that is itself a negated item of a list ("denies
    travel, sick contacts, or fevers"): nobody is there for the next items to belong to.
    One followed by its concept ("no siblings with asthma") is no list item."""
    if cue.end > span[0] or cue.key not in rules.relatives:
        return False
    if _LIST_NEXT.match(scan.text, cue.end) is None:
        return False
    own = (cue.start, cue.end)
    hit = _nearest(scan, rules, Dimension.CERTAINTY.value, own, window, [*others, span])
    return hit is not None and hit.category is TargetCategory.NEGATION


def check_span(span: Any, length: int) -> str | None:
    """Why a target cannot be read against a text of ``length`` characters (None: it can).
    The reason names offsets only, never the text."""
    start, end = span
    if (
        isinstance(start, bool)
        or isinstance(end, bool)
        or not isinstance(start, int)
        or not isinstance(end, int)
    ):
        return "start and end must be integers"
    if start < 0:
        return f"start {start} is negative"
    if start >= end:
        return f"start {start} is not before end {end}"
    if end > length:
        return f"end {end} is past the end of the text ({length:,} characters)"
    return None


def read_targets(
    text: str, targets: Iterable[tuple[int, int]], *, rules: ClinicalRules | None = None
) -> tuple[TargetAssertion, ...]:
    """One assertion per target, in the order given (see the module docstring). Targets
    may overlap; a target that is not a span of ``text`` is an ``InputError`` naming its
    index (the batch labeller checks rows first and reports each bad target instead)."""
    if not isinstance(text, str):
        raise InputError(f"text must be a string, got {type(text).__name__}")
    spans = list(targets)
    if len(spans) > MAX_TARGETS:
        raise InputError(f"targets: {len(spans):,} given, at most {MAX_TARGETS:,} per text")
    for i, span in enumerate(spans):
        problem = (
            check_span(span, len(text))
            if isinstance(span, tuple) and len(span) == 2
            else ("a target is a (start, end) pair")
        )
        if problem is not None:
            raise InputError(f"targets[{i}]: {problem}")
    if not spans:
        return ()
    rules = rules or clinical_rules()
    scan = _scan(text, rules)
    ordered = sorted(set(spans))
    return tuple(_assert(scan, rules, span, ordered) for span in spans)
