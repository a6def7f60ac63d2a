"""Verified generation: a draft is read back by the report reader and compared, finding by
finding, with what it was to state. Any finding dropped or added, or whose certainty,
laterality, change or severity ("small" made "large") differs, is a :class:`Difference`; a
draft is verified only with none.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from radpilot.reports import read
from radpilot.reports.models import Certainty, Mention, Report
from radpilot.reports.vocabulary import Vocabulary
from radpilot.workflow.models import Difference, DifferenceKind, Statement

_CONTEXT_SECTIONS = frozenset({"indication", "history", "comparison", "technique", "examination"})


@dataclass
class _Seen:
    certainty: set[str] = field(default_factory=set)
    laterality: set[str] = field(default_factory=set)
    change: set[str] = field(default_factory=set)
    severity: set[str] = field(default_factory=set)


def _value(values: set[str]) -> str | None:
    return ", ".join(sorted(values)) if values else None


Reading = tuple[str, str, str | None, str | None, str | None]


def _collect(items: Iterable[Reading]) -> dict[str, _Seen]:
    """Per finding: every certainty, side, change and severity it is stated with."""
    out: dict[str, _Seen] = {}
    for finding, certainty, laterality, change, severity in items:
        seen = out.setdefault(finding, _Seen())
        seen.certainty.add(certainty)
        if laterality is not None:
            seen.laterality.add(laterality)
        if change is not None:
            seen.change.add(change)
        if severity is not None:
            seen.severity.add(severity)
    return out


def read_back(text: str, *, vocabulary: Vocabulary | None = None) -> dict[str, _Seen]:
    return _readings(read(text, vocabulary=vocabulary))


def _stated(report: Report) -> list[Mention]:
    return [
        m
        for m in report.mentions
        if m.section not in _CONTEXT_SECTIONS and not m.hypothetical and m.region is None
    ]


# a distance as written: "4 cm", "2.5cm", "10 mm"
_DISTANCE = re.compile(r"\b\d+(?:\.\d+)?\s*(?:cm|mm)\b", re.IGNORECASE)


def _distances(text: str) -> set[str]:
    return {re.sub(r"\s+", "", d.lower()) for d in _DISTANCE.findall(text)}


def _positions(report: Report, statements: Sequence[Statement]) -> list[Difference]:
    """A device whose typed position (its sites, a distance) the draft no longer states
    wherever it names the device: "Endotracheal tube." for "ET tube 4 cm above the
    carina" reads back as the same finding, but the position is lost."""
    out: list[Difference] = []
    mentions = _stated(report)
    for s in statements:
        if s.position is None:
            continue
        same = [m for m in mentions if m.finding == s.finding]
        sites = {x.lower() for m in same for x in m.locations}
        distances = set().union(*(_distances(m.sentence.text) for m in same))
        want_d = _distances(s.position)
        if not set(s.sites) <= sites or not want_d <= distances:
            expected = "; ".join(sorted(want_d) + list(s.sites))
            got = "; ".join(sorted(distances) + sorted(sites)) or None
            out.append(Difference(DifferenceKind.POSITION, s.finding, expected, got))
    return out


def _reading(m: Mention | Statement) -> tuple[str, str, str | None, str | None, str | None]:
    """What a draft's read-back must reproduce of a statement or a mention (severity only
    where the finding is not absent)."""
    return (
        m.finding,
        m.certainty.value,
        m.laterality.value if m.laterality else None,
        m.change.value if m.change else None,
        m.severity if m.certainty is not Certainty.ABSENT else None,
    )


def _readings(report: Report) -> dict[str, _Seen]:
    return _collect(_reading(m) for m in _stated(report))


def differences(
    text: str, statements: Sequence[Statement], *, vocabulary: Vocabulary | None = None
) -> tuple[Difference, ...]:
    """Every way the draft ``text``, read back, differs from ``statements``."""
    want = _collect(_reading(s) for s in statements)
    report = read(text, vocabulary=vocabulary)
    got = _readings(report)
    out: list[Difference] = _positions(report, statements)
    for finding in [*want, *(f for f in got if f not in want)]:
        w, g = want.get(finding), got.get(finding)
        if g is None:
            assert w is not None
            out.append(Difference(DifferenceKind.MISSING, finding, _value(w.certainty), None))
            continue
        if w is None:
            out.append(Difference(DifferenceKind.ADDED, finding, None, _value(g.certainty)))
            continue
        for kind, a, b in (
            (DifferenceKind.CERTAINTY, w.certainty, g.certainty),
            (DifferenceKind.LATERALITY, w.laterality, g.laterality),
            (DifferenceKind.CHANGE, w.change, g.change),
            (DifferenceKind.SEVERITY, w.severity, g.severity),
        ):
            if a != b:
                out.append(Difference(kind, finding, _value(a), _value(b)))
    return tuple(out)


# -- a language model's rewording against the template draft it rewords ------------------

_CHECKED_SECTIONS = ("findings", "impression")
_HEADER_SECTIONS = ("examination", "comparison")
_LIST_MARK = re.compile(r"(?m)^\s*\d+[.)]\s")  # "1. " numbers an impression item
_NUMBER = re.compile(r"\d+(?:[.:,]\d+)*")


def _section_readings(report: Report, section: str) -> dict[str, _Seen]:
    return _collect(
        _reading(m)
        for m in report.mentions
        if m.section == section and not m.hypothetical and m.region is None
    )


def _section_problems(want: Report, got: Report) -> list[str]:
    """The whole-report read-back cannot see a finding moved out of the IMPRESSION (it is
    still in FINDINGS): each section must read back as the template's does."""
    out: list[str] = []
    for section in _CHECKED_SECTIONS:
        w_all, g_all = _section_readings(want, section), _section_readings(got, section)
        where = section.upper()
        for finding in [*w_all, *(f for f in g_all if f not in w_all)]:
            w, g = w_all.get(finding), g_all.get(finding)
            if g is None:
                out.append(f"{finding}: dropped from the {where}")
            elif w is None:
                out.append(f"{finding}: added to the {where}")
            else:
                for name, a, b in (
                    ("certainty", w.certainty, g.certainty),
                    ("laterality", w.laterality, g.laterality),
                    ("change", w.change, g.change),
                    ("severity", w.severity, g.severity),
                ):
                    if a != b:
                        out.append(f"{finding}: {name} {_value(a)} -> {_value(b)} in the {where}")
    return out


def _header(report: Report, name: str) -> str | None:
    for s in report.sections:
        if s.name == name:
            body = report.text[s.start : s.end]
            if s.header and body.lower().startswith(s.header.lower()):
                body = body[len(s.header) :]
            return " ".join(body.strip(" :\n\t").rstrip(".").lower().split())
    return None


def _numbers(text: str) -> set[str]:
    return set(_NUMBER.findall(_LIST_MARK.sub("", text)))


def rewording_problems(
    candidate: str, template: str, *, vocabulary: Vocabulary | None = None
) -> list[str]:
    """What a rewording of the ``template`` draft changed beyond words, each named without
    quoting the text: a section's findings, the EXAMINATION or COMPARISON line, or a fact
    no finding carries and so no read-back sees (a communication, a recommendation, a
    number: a date, a time, a size, an identifier). Empty when it only rewords."""
    from radpilot.workflow.followups import extract

    want, got = read(template, vocabulary=vocabulary), read(candidate, vocabulary=vocabulary)
    out = _section_problems(want, got)
    for name in _HEADER_SECTIONS:
        if _header(want, name) != _header(got, name):
            out.append(f"the {name.upper()} line differs")
    before, after = extract(template), extract(candidate)
    if len(after.communications) > len(before.communications):
        out.append("adds a communication statement")
    if len(after.recommendations) > len(before.recommendations):
        out.append("adds a recommendation")
    if _numbers(candidate) - _numbers(template):
        out.append("adds a number (a date, time, size or identifier)")
    return out
