"""The typed rows the batch labeller passes on: input rows, their problems, labelled rows.

A leaf module shared by the readers (``readers``), the labeller (``batch``) and the writers
(``writers``). A problem names the row and the line (or, for a file per report such as an
OpenI XML, the file): never the report text, never an identifier from inside it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

# Labelling a longer text is slow and never clinically useful in one report; the prefix
# keeps the findings and impression of any real report.
MAX_REPORT_CHARS = 100_000


class InputFormat(StrEnum):
    AUTO = "auto"  # OpenI for a folder, .xml, .tgz/.tar.gz/.tar; JSONL for '{'; else CSV
    CSV = "csv"
    JSONL = "jsonl"
    OPENI = "openi"  # OpenI XML: a folder of them, one file, or a .tgz (NLMCXR_reports.tgz)


class OutputFormat(StrEnum):
    CSV = "csv"  # the CheXpert labeler's output: Reports + one column per label
    JSONL = "jsonl"  # per row: id, labels, every mention with its evidence


class Severity(StrEnum):
    WARNING = "warning"  # the row was labelled anyway
    ERROR = "error"  # the row was left unlabelled


@dataclass(frozen=True, slots=True, init=False)
class RowProblem:
    row: int
    line: int
    severity: Severity
    message: str  # never the report text
    source: str | None = None  # the file a row came from, where that says more than a line

    def __init__(
        self, row: int, line: int, severity: Severity, message: str, source: str | None = None
    ) -> None:
        object.__setattr__(self, "row", row)
        object.__setattr__(self, "line", line)
        object.__setattr__(self, "severity", severity)
        object.__setattr__(self, "message", message)
        object.__setattr__(self, "source", source)

    def __str__(self) -> str:
        where = self.source if self.source is not None else f"line {self.line}"
        return f"row {self.row} ({where}): {self.message}"


def merge_problems(problems: Sequence[RowProblem]) -> RowProblem:
    """A row's problems as one (for one stderr line per row): the worst severity, the
    messages joined by '; '."""
    worst = (
        Severity.ERROR if any(p.severity is Severity.ERROR for p in problems) else Severity.WARNING
    )
    message = "; ".join(p.message for p in problems)
    first = problems[0]
    return RowProblem(first.row, first.line, worst, message, first.source)


@dataclass(frozen=True, slots=True)
class TargetSpan:
    """One caller-given target of a JSONL row (``"targets": [{"start", "end"}, ...]``), as
    read: a span to assert, or the reason it cannot be read (offsets only, never text)."""

    start: int | None
    end: int | None
    error: str | None = None

    def placeholder(self, error: str | None = None) -> dict[str, Any]:
        """The output entry of a target that was not read (in its place, in order)."""
        return {
            "start": self.start,
            "end": self.end,
            "certainty": None,
            "historical": None,
            "hypothetical": None,
            "experiencer": None,
            "cues": [],
            "error": error or self.error,
        }


@dataclass(frozen=True, slots=True, init=False)
class InputRow:
    row: int  # 1-based, the row's position in the output
    id: str
    text: str  # as read (control characters removed); "" when unusable
    problems: tuple[RowProblem, ...] = ()
    line: int = 0  # the file line the row starts on
    source: str | None = None  # the file it came from (OpenI XML), else None
    targets: tuple[TargetSpan, ...] | None = None  # a JSONL row's "targets", None: no key

    def __init__(
        self,
        row: int,
        id: str,
        text: str,
        problems: tuple[RowProblem, ...] = (),
        line: int = 0,
        source: str | None = None,
        targets: tuple[TargetSpan, ...] | None = None,
    ) -> None:
        object.__setattr__(self, "row", row)
        object.__setattr__(self, "id", id)
        object.__setattr__(self, "text", text)
        object.__setattr__(self, "problems", problems)
        object.__setattr__(self, "line", line)
        object.__setattr__(self, "source", source)
        object.__setattr__(self, "targets", targets)

    @property
    def usable(self) -> bool:
        return not any(p.severity is Severity.ERROR for p in self.problems)


@dataclass(frozen=True, slots=True, init=False)
class LabelledRow:
    """One output row. ``labels`` maps a label-set name to values in its column order
    (1.0 present, 0.0 absent, -1.0 uncertain, None not mentioned)."""

    row: int
    id: str
    text: str
    labels: dict[str, tuple[float | None, ...]]
    mentions: tuple[dict[str, Any], ...] | None = None
    problems: tuple[RowProblem, ...] = ()
    targets: tuple[dict[str, Any], ...] | None = None  # one per input target, in order
    # The mentions already written as a JSON array (``label_rows(mentions_json=True)``,
    # what the JSONL writer writes), in place of ``mentions``.
    mentions_json: str | None = None

    def __init__(
        self,
        row: int,
        id: str,
        text: str,
        labels: dict[str, tuple[float | None, ...]],
        mentions: tuple[dict[str, Any], ...] | None = None,
        problems: tuple[RowProblem, ...] = (),
        targets: tuple[dict[str, Any], ...] | None = None,
        mentions_json: str | None = None,
    ) -> None:
        object.__setattr__(self, "row", row)
        object.__setattr__(self, "id", id)
        object.__setattr__(self, "text", text)
        object.__setattr__(self, "labels", labels)
        object.__setattr__(self, "mentions", mentions)
        object.__setattr__(self, "problems", problems)
        object.__setattr__(self, "targets", targets)
        object.__setattr__(self, "mentions_json", mentions_json)

    @property
    def labelled(self) -> bool:
        return not any(p.severity is Severity.ERROR for p in self.problems)
