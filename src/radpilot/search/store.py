"""The archive's storage interface, its value types, and the named backends.

Callers (ingest, search, CLI) talk to an ``ArchiveStore`` only, so a PostgreSQL backend
can be added under a new name without touching them. The embedded default is SQLite
(``sqlite.v1``) at ``default_db_path()``, which is never created on import.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from radpilot.errors import InputError
from radpilot.search.analysis import Analysis
from radpilot.search.records import ReportRecord

ENV_DB = "RADPILOT_ARCHIVE"
ENV_HOME = "RADPILOT_HOME"


def default_db_path() -> Path:
    """``$RADPILOT_ARCHIVE``, else ``$RADPILOT_HOME/archive.db``, else
    ``$XDG_DATA_HOME/radpilot/archive.db`` (``~/.local/share/radpilot/archive.db``)."""
    if os.environ.get(ENV_DB):
        return Path(os.environ[ENV_DB]).expanduser()
    if os.environ.get(ENV_HOME):
        return Path(os.environ[ENV_HOME]).expanduser() / "archive.db"
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base).expanduser() / "radpilot" / "archive.db"


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


@dataclass(frozen=True, slots=True)
class Filters:
    since: str | None = None  # ISO dates, inclusive
    until: str | None = None
    patient: str | None = None
    modality: str | None = None
    body_part: str | None = None


@dataclass(frozen=True, slots=True)
class FindingClause:
    """Reports where one of ``findings`` has one of ``statuses``; the attributes, when
    set, must hold on one mention with such a status."""

    findings: tuple[str, ...]
    statuses: tuple[str, ...]
    laterality: str | None = None
    change: str | None = None
    location: str | None = None

    @property
    def has_attributes(self) -> bool:
        return bool(self.laterality or self.change or self.location)


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


class ArchiveStore(Protocol):
    """Everything the archive needs from a database."""

    location: str

    def existing(self, ids: Sequence[str]) -> dict[str, str]:
        """id -> content hash, for the ids already stored."""
        ...

    def write_batch(self, items: Sequence[IngestItem]) -> BatchResult:
        """Upsert in ONE transaction: all of the batch is stored, or none of it."""
        ...

    def candidates(self, q: CandidateQuery) -> list[tuple[int, float]]:
        """(rowid, drive score) best first: finding score, or -bm25 for a lexical drive."""
        ...

    def lexical_scores(self, rowids: Sequence[int], words: Sequence[str]) -> dict[int, float]:
        """rowid -> IDF-weighted share of ``words`` in the row's text, in [0, 1]."""
        ...

    def literal_hits(
        self, rowids: Sequence[int], findings: Sequence[str], status: str, head: str
    ) -> set[int]:
        """Rows with a ``status`` mention of one of ``findings`` whose words contain ``head``."""
        ...

    def finding_status(
        self, rowids: Sequence[int], findings: Sequence[str]
    ) -> dict[int, dict[str, tuple[str, float]]]:
        """rowid -> finding -> (report-level status, finding score), for stored pairs."""
        ...

    def reports(self, rowids: Sequence[int]) -> dict[int, StoredReport]: ...

    def mentions(
        self, rowids: Sequence[int], findings: Sequence[str] | None = None
    ) -> dict[int, list[StoredMention]]: ...

    def get(self, report_id: str) -> StoredReport | None: ...

    def versions(self, report_id: str) -> list[dict[str, Any]]:
        """Earlier versions, oldest first (the current one is ``get``)."""
        ...

    def present_findings(self, rowids: Sequence[int]) -> dict[int, list[str]]:
        """rowid -> the findings present in it, best score first."""
        ...

    def stats(self) -> StoreStats: ...

    def missing_embeddings(self, model: str, limit: int, after: int = 0) -> list[tuple[int, str]]:
        """Up to ``limit`` (rowid, text) without a ``model`` vector, rowid > ``after``."""
        ...

    def put_embeddings(self, model: str, rows: Sequence[tuple[int, np.ndarray]]) -> None: ...

    def embedding_count(self, model: str) -> int: ...

    def embeddings_for(self, model: str, rowids: Sequence[int]) -> dict[int, np.ndarray]: ...

    def iter_embeddings(
        self, model: str, chunk: int = 20000
    ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """(rowids, matrix float32) chunks of every stored vector of ``model``."""
        ...

    def close(self) -> None: ...


def _open_sqlite(location: str, *, readonly: bool = False) -> ArchiveStore:
    from radpilot.search.sqlite_store import SQLiteStore

    return SQLiteStore(Path(location), readonly=readonly)


BACKENDS: dict[str, Callable[..., ArchiveStore]] = {"sqlite.v1": _open_sqlite}


def backend_names() -> list[str]:
    return sorted(BACKENDS)


def open_store(
    location: str | Path | None = None, *, backend: str = "sqlite.v1", readonly: bool = False
) -> ArchiveStore:
    """Open (creating when writable and absent) the archive at ``location``."""
    if backend not in BACKENDS:
        raise InputError(
            f"unknown archive backend {backend!r}; valid: {', '.join(backend_names())}"
        )
    loc = str(location) if location is not None else str(default_db_path())
    return BACKENDS[backend](loc, readonly=readonly)
