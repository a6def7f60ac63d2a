"""The archive's storage interface and how a named backend is opened.

Callers (ingest, search, CLI) talk to an ``ArchiveStore`` only, so a PostgreSQL backend
can be added under a new name without touching them: backends are registered in
``radpilot.registry.archive_backends`` (built-in: ``sqlite.v1`` and ``postgres.v1``;
others through the ``radpilot.archive_backends`` entry-point group). The embedded default
is SQLite at ``default_db_path()``, which is never created on import; a ``postgresql://``
URL in its place selects PostgreSQL. The value types are in
``radpilot.search.models``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from radpilot import registry
from radpilot.search.models import (
    AuditEntry,
    BatchResult,
    CandidateQuery,
    IngestItem,
    StoredMention,
    StoredReport,
    StoreStats,
)

ENV_DB = "RADPILOT_ARCHIVE"
ENV_HOME = "RADPILOT_HOME"


URL_SCHEMES = ("postgresql://", "postgres://")


def is_database_url(location: str | Path | None) -> bool:
    """A PostgreSQL URL, not a file path (``--db postgresql://user@host/db``)."""
    return isinstance(location, str) and location.lower().startswith(URL_SCHEMES)


def default_db_path() -> Path:
    """``$RADPILOT_ARCHIVE``, else ``$RADPILOT_HOME/archive.db``, else
    ``$XDG_DATA_HOME/radpilot/archive.db`` (``~/.local/share/radpilot/archive.db``)."""
    if os.environ.get(ENV_DB):
        return Path(os.environ[ENV_DB]).expanduser()
    if os.environ.get(ENV_HOME):
        return Path(os.environ[ENV_HOME]).expanduser() / "archive.db"
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base).expanduser() / "radpilot" / "archive.db"


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

    def word_idf(self, words: Sequence[str]) -> dict[str, float]:
        """word -> its BM25 IDF in the archive (log(1 + (N - df + 0.5) / (df + 0.5)), N
        the archive's size, df the reports whose full text holds the word or phrase);
        words in no report are left out."""
        ...

    def lexical_scores(
        self, rowids: Sequence[int], words: Sequence[str], *, asserted: bool = False
    ) -> dict[int, float]:
        """rowid -> IDF-weighted share of ``words`` in what the row states (a negated or
        context sentence keeps only its mentions' own words: ``analysis.stated_words_text``;
        with ``asserted``, not even those: ``analysis.asserted_text``), in [0, 1]; rows
        that state none of the words are left out."""
        ...

    def stated_matches(self, rowids: Sequence[int], fts: str) -> set[int]:
        """The rows whose stated words (``lexical_scores``) match the FTS5 expression."""
        ...

    def asserted_texts(self, rowids: Sequence[int]) -> dict[int, str]:
        """rowid -> the report text without its negated and context statements
        (``analysis.asserted_text``): what embeddings and ``similar`` are made of."""
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

    def texts(self, rowids: Sequence[int]) -> dict[int, str]:
        """rowid -> the report's text only (ranking reads many; ``reports`` is whole)."""
        ...

    def mentions(
        self,
        rowids: Sequence[int],
        findings: Sequence[str] | None = None,
        statuses: Sequence[str] | None = None,
    ) -> dict[int, list[StoredMention]]:
        """rowid -> its mentions (of ``findings``, with one of ``statuses``), in text order."""
        ...

    def get(self, report_id: str) -> StoredReport | None: ...

    def versions(self, report_id: str) -> list[dict[str, Any]]:
        """Earlier versions, oldest first (the current one is ``get``)."""
        ...

    def present_findings(self, rowids: Sequence[int]) -> dict[int, list[str]]:
        """rowid -> the findings present in it, best score first."""
        ...

    def stats(self) -> StoreStats: ...

    def check(self) -> list[str]:
        """Integrity problems, one line each (an empty list: the archive is sound)."""
        ...

    def remove(self, report_id: str, *, user: str, reason: str) -> bool:
        """Delete a report with its versions, mentions and vectors, and record who removed
        it, when and why in the audit table; False when no such report is stored."""
        ...

    def audit(self) -> list[AuditEntry]:
        """The audit records (removals), oldest first."""
        ...

    def iter_reports(self, chunk: int = 1000) -> Iterator[StoredReport]:
        """Every current report, in the order they were first stored."""
        ...

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

    def meta(self, key: str) -> str | None:
        """A value the archive keeps about itself (``vocabulary``: what it was read with)."""
        ...

    def set_meta(self, key: str, value: str) -> None: ...

    def close(self) -> None: ...


BackendOpener = Callable[..., ArchiveStore]


def backend_names() -> list[str]:
    """Every registered archive backend (``postgres.v1``, ``sqlite.v1``, and any from
    entry points)."""
    return registry.archive_backends.names()


def open_store(
    location: str | Path | None = None,
    *,
    backend: str = "sqlite",
    readonly: bool = False,
    create: bool = True,
    verify: bool = True,
) -> ArchiveStore:
    """Open the archive at ``location`` (default: ``default_db_path()``). Writable opens
    create it when absent unless ``create`` is False, and first check that it is sound
    unless ``verify`` is False (``archive check`` opens without, to list the problems);
    an unknown ``backend`` lists the registered ones. A ``postgresql://`` URL (in
    ``location`` or ``$RADPILOT_ARCHIVE``) selects ``postgres`` when ``backend`` is the
    default."""
    env = os.environ.get(ENV_DB, "")
    default = env if is_database_url(env) else str(default_db_path())
    loc = str(location) if location is not None else default
    if backend == "sqlite" and is_database_url(loc):
        backend = "postgres"
    opener: BackendOpener = registry.archive_backends.get(backend)
    return opener(loc, readonly=readonly, create=create, verify=verify)
