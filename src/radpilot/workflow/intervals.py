"""Follow-up intervals in report text: "in 3 months", "at 6-12 months", "in two to three
weeks", "short-term", "annual". The grammar (units, number words, range words, named
intervals) is data (``followup_cues.json`` ``intervals``); this module only builds the
pattern from it.

>>> parse_interval("Recommend CT in 3-6 months.")
Interval(text='3-6 months', start=16, end=26, min_days=90, max_days=180, named=False)
>>> parse_interval("Follow-up in two to three weeks").max_days
21
>>> parse_interval("No interval here.") is None
True
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import cache

from radpilot.workflow.followup_rules import IntervalGrammar, followup_rules, phrase_pattern


@dataclass(frozen=True, slots=True)
class Interval:
    """An interval as stated; days are None where the text gives none ("after treatment")."""

    text: str
    start: int
    end: int
    min_days: int | None
    max_days: int | None
    named: bool = False  # a phrase of the grammar ("short-term", "to resolution")

    def as_dict(self) -> dict[str, object]:
        return {
            "text": self.text,
            "span": {"start": self.start, "end": self.end},
            "min_days": self.min_days,
            "max_days": self.max_days,
        }


@dataclass(frozen=True, slots=True)
class _Grammar:
    numeric: re.Pattern[str]
    named: re.Pattern[str]
    named_days: dict[str, tuple[int | None, int | None]]
    numbers: dict[str, int]
    units: dict[str, int]
    hours: frozenset[str]
    fraction: re.Pattern[str]
    fractions: dict[str, int]
    date_before: re.Pattern[str]
    named_negated: re.Pattern[str]


def _alternatives(words: list[str]) -> str:
    ordered = sorted(words, key=len, reverse=True)
    return "|".join(r"[\s\-]+".join(re.escape(p) for p in w.split()) for w in ordered)


@cache
def _grammar() -> _Grammar:
    g: IntervalGrammar = followup_rules().grammar
    numbers = {k.lower(): v for k, v in g.numbers.items()}
    units = {k.lower(): v for k, v in g.units.items()}
    hours = frozenset(h.lower() for h in g.hour_units)
    # a number word ends on a word boundary: "an" + "d" is not "1 day" ("and")
    number = rf"(?:\d+(?:\.\d+)?|(?:{_alternatives(list(numbers))})\b)"
    joiner = "|".join(
        rf"\s*{re.escape(w)}\s*" if not w.isalpha() else rf"\s+{re.escape(w)}\s+"
        for w in g.range_words
    )
    numeric = re.compile(
        rf"(?<![\w.])(?P<low>{number})(?:(?:{joiner})(?P<high>{number}))?[\s\-]*"
        rf"(?P<unit>{_alternatives([*units, *hours])})(?![\w])"
        rf"(?![\s\-]+(?:{_alternatives([w.lower() for w in g.not_followed_by])})\b)",
        re.IGNORECASE,
    )
    named_days: dict[str, tuple[int | None, int | None]] = {
        " ".join(n.phrase.lower().replace("-", " ").split()): (n.min_days, n.max_days)
        for n in g.named
    }
    for phrase in g.end_conditions.phrases():
        named_days.setdefault(" ".join(phrase.lower().split()), (None, None))
    # "6/52": six weeks, the UK shorthand; "3/12/2024" is a date
    fraction = re.compile(
        rf"(?<![\w./])(?P<low>\d+)(?:\s*[-–]\s*(?P<high>\d+))?/(?P<den>{_alternatives(list(g.fractions))})(?![\w/])"
    )
    date_before = re.compile(rf"(?:{_alternatives(g.date_words)})\s*$", re.IGNORECASE)
    negated = re.compile(rf"\b(?:{_alternatives(g.named_negations)})[\s\-]*$", re.IGNORECASE)
    return _Grammar(
        numeric,
        phrase_pattern(named_days),
        named_days,
        numbers,
        units,
        hours,
        fraction,
        dict(g.fractions),
        date_before,
        negated,
    )


def _days(unit: str, g: _Grammar, low: float, high: float) -> tuple[int, int]:
    if unit in g.hours:  # hours round up to whole days: "within 48 hours" is 2 days
        return max(1, math.ceil(low / 24)), max(1, math.ceil(high / 24))
    days = g.units[unit]
    return round(low * days), round(high * days)


def _value(word: str, numbers: dict[str, int]) -> float:
    key = " ".join(word.lower().replace("-", " ").split())
    return float(numbers[key]) if key in numbers else float(word)


def iter_intervals(text: str) -> list[Interval]:
    """Every interval stated in ``text``, in order (numeric ones before named ones at the
    same place)."""
    g = _grammar()
    found: list[Interval] = []
    for m in g.numeric.finditer(text):
        low = _value(m.group("low"), g.numbers)
        high = _value(m.group("high"), g.numbers) if m.group("high") else low
        lo, hi = _days(" ".join(m.group("unit").lower().split()), g, low, high)
        if high < low or hi > 36500:
            continue  # "6-3 months" or a century: not an interval anyone recommends
        found.append(Interval(m.group(0), m.start(), m.end(), lo, hi))
    for m in g.fraction.finditer(text):
        if g.date_before.search(text[: m.start()]):
            continue  # "on 3/12": a date
        per = g.fractions[m.group("den")]
        low = float(m.group("low"))
        high = float(m.group("high")) if m.group("high") else low
        if high >= low:
            found.append(
                Interval(m.group(0), m.start(), m.end(), round(low * per), round(high * per))
            )
    taken = [(i.start, i.end) for i in found]
    for m in g.named.finditer(text):
        if any(s < m.end() and m.start() < e for s, e in taken):
            continue
        if g.named_negated.search(text[: m.start()]):
            continue  # "non-urgent"
        days = g.named_days[" ".join(m.group(0).lower().replace("-", " ").split())]
        found.append(Interval(m.group(0), m.start(), m.end(), *days, named=True))
    return sorted(found, key=lambda i: i.start)


def parse_interval(text: str) -> Interval | None:
    """The first interval with a number in ``text`` (a named one, "short-term", only
    where none has: "short-term CT in 3 to 4 months" is 3 to 4 months), or None."""
    found = iter_intervals(text)
    numeric = [i for i in found if not i.named]
    chosen = numeric or found
    return chosen[0] if chosen else None
