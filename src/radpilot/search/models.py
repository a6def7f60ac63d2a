"""The archive's value types: what ingest hands the store and what the store hands back.

A leaf module (it imports no other archive module), so the store interface, its backends
and the search engine all import these without importing each other.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from radpilot.errors import InputError
from radpilot.interop.records import ReportRecord
from radpilot.search.analysis import Analysis, answering_sides


class ArchiveError(InputError):
    """The archive cannot be used as asked: missing, damaged, busy, not an archive, or a
    path that cannot hold one. The message names the archive, never report content;
    ``damaged`` tells a damaged archive from one that is not there or not an archive."""

    def __init__(self, message: str, *, damaged: bool = False) -> None:
        super().__init__(message)
        self.damaged = damaged


@dataclass(frozen=True, slots=True)
class IngestItem:
    record: ReportRecord
    hash: str
    analysis: Analysis


@dataclass(frozen=True, slots=True)
class BatchResult:
    added: int = 0
    updated: int = 0
    unchanged: int = 0


@dataclass(frozen=True, slots=True)
class StoredReport:
    rowid: int
    id: str
    text: str
    patient_id: str | None
    study_date: str | None
    modality: str | None
    body_part: str | None
    version: int
    hash: str
    labels: dict[str, float | None]
    ingested_at: str

    @classmethod
    def from_row(cls, row: Sequence[Any]) -> StoredReport:
        """A row of either backend's report columns, in the order both select them."""
        return cls(
            rowid=int(row[0]),
            id=row[1],
            text=row[2],
            patient_id=row[3],
            study_date=row[4],
            modality=row[5],
            body_part=row[6],
            version=int(row[7]),
            hash=row[8],
            labels=json.loads(row[9]),
            ingested_at=row[10],
        )


@dataclass(frozen=True, slots=True)
class StoredMention:
    finding: str
    status: str
    certainty: str
    laterality: str | None
    locations: tuple[str, ...]
    change: str | None
    section: str
    span: tuple[int, int]
    sentence: tuple[int, int]
    historical: bool
    span_text: str = ""  # lower-cased words that named the finding
    # the sides as written (``analysis.written_sides``): "bibasilar" is left and right too
    sides: tuple[str, ...] = ()

    @classmethod
    def from_row(cls, row: Sequence[Any]) -> StoredMention:
        """A row of either backend's mention columns (``report_rowid`` first)."""
        return cls(
            finding=row[1],
            status=row[2],
            certainty=row[3],
            laterality=row[4],
            locations=tuple(x for x in row[5].split("|") if x),
            change=row[6],
            section=row[7],
            span=(row[8], row[9]),
            sentence=(row[10], row[11]),
            historical=bool(row[12]),
            span_text=row[13],
            sides=tuple(x for x in row[14].split("|") if x),
        )


@dataclass(frozen=True, slots=True)
class Filters:
    since: str | None = None  # ISO dates, inclusive
    until: str | None = None
    patient: str | None = None
    modality: str | None = None
    body_part: str | None = None

    def conditions(self, placeholder: str) -> tuple[list[str], list[str]]:
        """SQL conditions on the reports table ``r`` and their arguments, with the
        backend's parameter ``placeholder`` (SQLite ``?``, PostgreSQL ``%s``)."""
        conds: list[str] = []
        args: list[str] = []
        for col, op, val in (
            ("study_date", ">=", self.since),
            ("study_date", "<=", self.until),
            ("patient_id", "=", self.patient),
            ("modality", "=", self.modality),
            ("body_part", "=", self.body_part),
        ):
            if val is not None:
                conds.append(f"r.{col} {op} {placeholder}")
                args.append(val)
        return conds, args


@dataclass(frozen=True, slots=True)
class FindingClause:
    """Reports where one of ``findings`` has one of ``statuses``; the attributes, when
    set, must hold on one mention with such a status."""

    findings: tuple[str, ...]
    statuses: tuple[str, ...]
    laterality: str | None = None
    change: str | None = None
    location: str | None = None
    # A bilateral mention answers a one-sided clause (``analysis.answering_sides``);
    # False: only a mention written on that side (how the ranking tells them apart).
    bilateral_answers: bool = True

    @property
    def has_attributes(self) -> bool:
        return bool(self.laterality or self.change or self.location)

    @property
    def sides(self) -> tuple[str, ...]:
        """The written sides any one of which a matching mention must have."""
        if not self.laterality:
            return ()
        return answering_sides(self.laterality) if self.bilateral_answers else (self.laterality,)


@dataclass(frozen=True, slots=True)
class CandidateQuery:
    """What to fetch: a driving clause (finding, lexical, or neither) plus constraints."""

    drive: FindingClause | None = None
    fts: str | None = None  # FTS5 MATCH expression for a lexical drive
    required: tuple[FindingClause, ...] = ()
    excluded_findings: tuple[str, ...] = ()  # present or uncertain anywhere -> excluded
    excluded_fts: str | None = None
    filters: Filters = field(default_factory=Filters)
    limit: int = 400


@dataclass(frozen=True, slots=True)
class StoreStats:
    reports: int
    versions: int
    mentions: int
    patients: int
    embeddings: dict[str, int]
    findings_present: dict[str, int]
    date_range: tuple[str | None, str | None]
    size_bytes: int


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One action recorded in the archive: who (OS user), when (UTC), what, which id, why."""

    at: str
    user: str
    action: str
    report_id: str
    reason: str
