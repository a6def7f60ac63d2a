"""The frozen objects drafting passes on: what is to be stated, how a read-back differs,
and the draft with its verdict. A leaf module (it imports only the reader's enums)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from radpilot.reports.models import Certainty, Change, Hedge, Laterality


class Source(StrEnum):
    """Where a statement came from."""

    FINDINGS = "findings"  # a phrase the radiologist typed (--findings)
    ANALYSIS = "analysis"  # a positive image finding (--analysis)
    TEMPLATE = "template"  # a pertinent negative of the template


@dataclass(frozen=True, slots=True)
class Statement:
    """One finding the draft must state, with every attribute the read-back checks."""

    finding: str
    certainty: Certainty
    words: str  # the words that name it ("pleural effusion")
    laterality: Laterality | None = None
    change: Change | None = None
    severity: str | None = None
    location: str | None = None  # "right lower lobe", "basilar"
    size: str | None = None  # as written, "8 mm"
    hedge: Hedge | None = None
    source: Source = Source.FINDINGS
    text: str | None = None  # fixed wording (a template's pertinent negative)
    # a device's position as typed ("4 cm above the carina", "with tip in the SVC") and the
    # sites the reader finds in it ("trachea", "svc"): restated, and read back
    position: str | None = None
    sites: tuple[str, ...] = ()

    @property
    def shown(self) -> bool:
        """Whether the IMPRESSION lists it: present or uncertain now, or just resolved."""
        return self.certainty is not Certainty.ABSENT or self.change is Change.RESOLVED


class DifferenceKind(StrEnum):
    MISSING = "missing"  # to be stated, not read back
    ADDED = "added"  # read back, never asked for
    CERTAINTY = "certainty"
    LATERALITY = "laterality"
    CHANGE = "change"
    SEVERITY = "severity"
    POSITION = "position"  # a device's tip site or distance lost or changed


@dataclass(frozen=True, slots=True)
class Difference:
    """How a draft, read back, differs from what it was to state (values as the reader
    names them; None for "not stated")."""

    kind: DifferenceKind
    finding: str
    expected: str | None
    got: str | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind.value,
            "finding": self.finding,
            "expected": self.expected,
            "got": self.got,
        }

    def describe(self) -> str:
        if self.kind is DifferenceKind.MISSING:
            return f"{self.finding}: dropped (expected {self.expected})"
        if self.kind is DifferenceKind.ADDED:
            return f"{self.finding}: added ({self.got})"
        return f"{self.finding}: {self.kind.value} {self.expected} -> {self.got}"


@dataclass(frozen=True, slots=True)
class Rejection:
    """A language-model draft that was not used, and why."""

    backend: str
    reason: str
    differences: tuple[Difference, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "backend": self.backend,
            "reason": self.reason,
            "differences": [d.to_dict() for d in self.differences],
        }


@dataclass(frozen=True, slots=True)
class Draft:
    report: str
    verified: bool
    differences: tuple[Difference, ...]
    backend: str
    statements: tuple[Statement, ...] = ()
    rejected: Rejection | None = None
    notes: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        """The ``--json`` form: report, verified, differences, backend; ``rejected`` is
        added only when a language model was asked and its draft not used."""
        out: dict[str, Any] = {
            "report": self.report,
            "verified": self.verified,
            "differences": [d.to_dict() for d in self.differences],
            "backend": self.backend,
        }
        if self.rejected is not None:
            out["rejected"] = self.rejected.to_dict()
        return out
