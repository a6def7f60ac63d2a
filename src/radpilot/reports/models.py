"""Typed objects the report reader hands to every later stage.

Report -> Section -> Sentence -> Mention. All frozen: stages never mutate each
other's output. Offsets are character offsets into ``Report.text``.

Each class writes its own ``__init__`` (``init=False``). Compiled by mypyc (``native.py``),
an explicit ``__init__`` whose ``object.__setattr__`` calls name the field is native code
that stores the fields directly; the one ``dataclasses`` generates stays interpreted and,
frozen, goes through ``object.__setattr__`` by name: 12x slower to build, and a report
builds dozens of these. ``tests/reports/test_inits.py`` holds each ``__init__`` to its
fields (names, order, defaults).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from radpilot.reports.kinds import Certainty, Change, Hedge, Laterality

__all__ = [
    "Certainty",
    "Change",
    "Hedge",
    "Laterality",
    "Measurement",
    "Mention",
    "Report",
    "Section",
    "Sentence",
    "Span",
]


@dataclass(frozen=True, slots=True, init=False)
class Span:
    start: int
    end: int
    text: str

    def __init__(self, start: int, end: int, text: str) -> None:
        object.__setattr__(self, "start", start)
        object.__setattr__(self, "end", end)
        object.__setattr__(self, "text", text)

    def to_dict(self) -> dict[str, Any]:
        return {"start": self.start, "end": self.end, "text": self.text}


@dataclass(frozen=True, slots=True, init=False)
class Measurement:
    """A size as written, normalised to millimetres where the unit allows."""

    value: float
    unit: str
    mm: float | None
    span: Span

    def __init__(self, value: float, unit: str, mm: float | None, span: Span) -> None:
        object.__setattr__(self, "value", value)
        object.__setattr__(self, "unit", unit)
        object.__setattr__(self, "mm", mm)
        object.__setattr__(self, "span", span)

    def to_dict(self) -> dict[str, Any]:
        return {"value": self.value, "unit": self.unit, "mm": self.mm, "span": self.span.to_dict()}


@dataclass(frozen=True, slots=True, init=False)
class Section:
    """A report section. ``name`` is canonical (findings, impression, indication,
    history, comparison, technique, examination, recommendation, addendum, body)."""

    name: str
    header: str | None
    start: int
    end: int

    def __init__(self, name: str, header: str | None, start: int, end: int) -> None:
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "header", header)
        object.__setattr__(self, "start", start)
        object.__setattr__(self, "end", end)


@dataclass(frozen=True, slots=True, init=False)
class Sentence:
    section: str
    start: int
    end: int
    text: str

    def __init__(self, section: str, start: int, end: int, text: str) -> None:
        object.__setattr__(self, "section", section)
        object.__setattr__(self, "start", start)
        object.__setattr__(self, "end", end)
        object.__setattr__(self, "text", text)


@dataclass(frozen=True, slots=True, init=False)
class Mention:
    """One finding named in one sentence, with every attribute and its evidence."""

    finding: str  # canonical finding id from the vocabulary, e.g. "pneumothorax"
    certainty: Certainty
    span: Span  # the words that name the finding
    sentence: Span  # the whole sentence, for a radiologist to check in a second
    section: str
    laterality: Laterality | None = None
    locations: tuple[str, ...] = ()
    severity: str | None = None
    size: Measurement | None = None
    change: Change | None = None
    historical: bool = False
    hypothetical: bool = False
    cues: tuple[str, ...] = ()  # the cue phrases that decided certainty/change
    # For an uncertain mention: the kind of hedge that decided it; for a present one,
    # CONSISTENT when it was stated through "consistent with" (else None).
    hedge: Hedge | None = None
    # The other body part of a combined examination it was found under ("Right knee: small
    # effusion" -> "lower limb"); None for the chest. Such a mention sets no chest label.
    region: str | None = None

    def __init__(
        self,
        finding: str,
        certainty: Certainty,
        span: Span,
        sentence: Span,
        section: str,
        laterality: Laterality | None = None,
        locations: tuple[str, ...] = (),
        severity: str | None = None,
        size: Measurement | None = None,
        change: Change | None = None,
        historical: bool = False,
        hypothetical: bool = False,
        cues: tuple[str, ...] = (),
        hedge: Hedge | None = None,
        region: str | None = None,
    ) -> None:
        object.__setattr__(self, "finding", finding)
        object.__setattr__(self, "certainty", certainty)
        object.__setattr__(self, "span", span)
        object.__setattr__(self, "sentence", sentence)
        object.__setattr__(self, "section", section)
        object.__setattr__(self, "laterality", laterality)
        object.__setattr__(self, "locations", locations)
        object.__setattr__(self, "severity", severity)
        object.__setattr__(self, "size", size)
        object.__setattr__(self, "change", change)
        object.__setattr__(self, "historical", historical)
        object.__setattr__(self, "hypothetical", hypothetical)
        object.__setattr__(self, "cues", cues)
        object.__setattr__(self, "hedge", hedge)
        object.__setattr__(self, "region", region)

    def to_dict(self) -> dict[str, Any]:
        # Written out rather than through Span.to_dict, and ``_value_`` rather than the
        # ``value`` property of the enums: a JSONL row holds dozens of these.
        span, sent, size = self.span, self.sentence, self.size
        laterality, change, hedge = self.laterality, self.change, self.hedge
        return {
            "finding": self.finding,
            "certainty": self.certainty._value_,
            "span": {"start": span.start, "end": span.end, "text": span.text},
            "sentence": {"start": sent.start, "end": sent.end, "text": sent.text},
            "section": self.section,
            "laterality": laterality._value_ if laterality else None,
            "locations": list(self.locations),
            "severity": self.severity,
            "size": size.to_dict() if size else None,
            "change": change._value_ if change else None,
            "historical": self.historical,
            "hypothetical": self.hypothetical,
            "cues": list(self.cues),
            "hedge": hedge._value_ if hedge else None,
            "region": self.region,
        }


@dataclass(frozen=True, slots=True, init=False)
class Report:
    """A read report. ``vocabulary`` is the user's merged vocabulary it was read with
    (``read(text, vocabulary=...)``), or None for the packaged one; it is no part of the
    report's value (not compared, not in ``to_dict``)."""

    text: str
    sections: tuple[Section, ...] = ()
    sentences: tuple[Sentence, ...] = ()
    mentions: tuple[Mention, ...] = ()
    vocabulary: Any = field(default=None, compare=False, repr=False)

    def __init__(
        self,
        text: str,
        sections: tuple[Section, ...] = (),
        sentences: tuple[Sentence, ...] = (),
        mentions: tuple[Mention, ...] = (),
        vocabulary: Any = None,
    ) -> None:
        object.__setattr__(self, "text", text)
        object.__setattr__(self, "sections", sections)
        object.__setattr__(self, "sentences", sentences)
        object.__setattr__(self, "mentions", mentions)
        object.__setattr__(self, "vocabulary", vocabulary)

    def to_dict(self) -> dict[str, Any]:
        return {
            "sections": [
                {"name": s.name, "header": s.header, "start": s.start, "end": s.end}
                for s in self.sections
            ],
            "mentions": [m.to_dict() for m in self.mentions],
        }
