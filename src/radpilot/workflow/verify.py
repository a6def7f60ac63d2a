"""Verified generation: a draft is read back by the report reader and compared, finding by
finding, with what it was to state. Any finding dropped or added, or whose certainty,
laterality, change or severity ("small" made "large") differs, is a :class:`Difference`; a
draft is verified only with none.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from radpilot.reports import read
from radpilot.reports.models import Certainty
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
    report = read(text, vocabulary=vocabulary)
    return _collect(
        (
            m.finding,
            m.certainty.value,
            m.laterality.value if m.laterality else None,
            m.change.value if m.change else None,
            m.severity if m.certainty is not Certainty.ABSENT else None,
        )
        for m in report.mentions
        if m.section not in _CONTEXT_SECTIONS and not m.hypothetical and m.region is None
    )


def differences(
    text: str, statements: Sequence[Statement], *, vocabulary: Vocabulary | None = None
) -> tuple[Difference, ...]:
    """Every way the draft ``text``, read back, differs from ``statements``."""
    want = _collect(
        (
            s.finding,
            s.certainty.value,
            s.laterality.value if s.laterality else None,
            s.change.value if s.change else None,
            s.severity if s.certainty is not Certainty.ABSENT else None,
        )
        for s in statements
    )
    got = read_back(text, vocabulary=vocabulary)
    out: list[Difference] = []
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
