"""The studies store: every imaging study the department received, and where it stands.

A study moves ``received`` -> ``analysed`` -> ``read`` -> ``signed`` and never back: the
worklist shows the unread ones (``received``, ``analysed``), the DICOM receiver and the
service's ``POST``/``GET /api/studies`` put studies here and read them back.

Interface (:class:`StudyStore`, a Protocol, so a PostgreSQL backend can be added under
another name without touching its callers):

- ``upsert(record)`` -> ``"added" | "updated" | "unchanged"``: idempotent on
  ``study_uid``. A re-sent study is never duplicated; it keeps its first ``received``
  time (waiting time counts from the first arrival) and its status; header fields the
  new copy states replace the stored ones, fields it leaves empty keep theirs.
- ``get(study_uid)`` -> :class:`Study` or ``None``.
- ``list(StudyFilter(...))`` -> studies, oldest ``received`` first.
- ``set_status(study_uid, status, report_id=None)``: forward only (``read`` on a signed
  study is an error, the same status again is a no-op); ``signed`` may name the report.
- ``attach_analysis(study_uid, analysis, urgency)``: the ``radpilot analyze --json``
  result (one object per image, :meth:`radpilot.imaging.results.ImageResult.to_dict`)
  and the study's urgency; a ``received`` study becomes ``analysed``.

The embedded backend (:class:`SQLiteStudyStore`, ``open_studies(path)``) keeps its own
table ``studies`` in the archive's SQLite file (``--db``, default
:func:`radpilot.search.store.default_db_path`): the file is opened as an archive (the
archive's tables are created when absent, the same header and schema checks refuse a
file that is not one), so ``radpilot archive`` and the studies share one file and one
write-ahead log. Every write is one ``BEGIN IMMEDIATE`` transaction, so concurrent
writers (the receiver, the service, the CLI) queue on SQLite's lock instead of losing
updates. The table's version is ``meta.studies_schema``; another version is refused.
"""

from __future__ import annotations

import functools
import json
import sqlite3
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal, Protocol, TypeVar

from radpilot.errors import InputError
from radpilot.search.models import ArchiveError
from radpilot.search.sqlite_schema import connect

STUDIES_SCHEMA_VERSION = "1"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS studies (
    study_uid TEXT PRIMARY KEY,
    patient_id TEXT, accession TEXT, description TEXT, modality TEXT, body_part TEXT,
    study_date TEXT,
    received TEXT NOT NULL,
    updated TEXT NOT NULL,
    status TEXT NOT NULL,
    analysis TEXT,
    urgency_tier TEXT, urgency_score REAL,
    reasons TEXT NOT NULL DEFAULT '[]',
    report_id TEXT
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS studies_status ON studies(status, received);
CREATE INDEX IF NOT EXISTS studies_patient ON studies(patient_id, study_date);
"""
_HEADER_FIELDS = ("patient_id", "accession", "description", "modality", "body_part", "study_date")
_COLUMNS = (
    "study_uid, patient_id, accession, description, modality, body_part, study_date, "
    "received, updated, status, analysis, urgency_tier, urgency_score, reasons, report_id"
)
MAX_UID = 64  # DICOM UI: at most 64 characters


class StudyError(InputError):
    """A study or a studies store that cannot be used as asked; one line naming the
    store and the study UID, never report text or a patient identifier."""


class StudyStatus(StrEnum):
    RECEIVED = "received"
    ANALYSED = "analysed"
    READ = "read"
    SIGNED = "signed"

    @property
    def rank(self) -> int:
        return list(StudyStatus).index(self)

    @property
    def unread(self) -> bool:
        return self in (StudyStatus.RECEIVED, StudyStatus.ANALYSED)


def parse_status(value: str) -> StudyStatus:
    try:
        return StudyStatus(value.strip().lower())
    except ValueError:
        valid = ", ".join(s.value for s in StudyStatus)
        raise StudyError(f"status {value!r} is not one of {valid}") from None


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def parse_received(value: str, where: str = "received") -> datetime:
    """A UTC ISO time (``2026-12-02T03:00:00+00:00`` or ``...Z``); naive times are UTC."""
    try:
        when = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except (ValueError, AttributeError):
        raise StudyError(f"{where}: {value!r} is not an ISO date-time") from None
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


@dataclass(frozen=True)
class StudyUrgency:
    """A study's urgency from its images (``radpilot.imaging.urgency``): tier, score and
    the reasons that decided it."""

    tier: str
    score: float
    reasons: tuple[str, ...] = ()


@dataclass(frozen=True)
class StudyRecord:
    """What a sender knows of a study: its header (from DICOM or an analysis JSON)."""

    study_uid: str
    patient_id: str | None = None
    accession: str | None = None
    description: str | None = None
    modality: str | None = None
    body_part: str | None = None
    study_date: str | None = None  # YYYYMMDD as in DICOM, or ISO YYYY-MM-DD
    received: str | None = None  # UTC ISO; None: now

    def __post_init__(self) -> None:
        uid = (self.study_uid or "").strip()
        if not uid:
            raise StudyError("study_uid: empty; every study needs its StudyInstanceUID")
        if len(uid) > MAX_UID:
            raise StudyError(f"study_uid: {len(uid)} characters, a DICOM UID has at most 64")
        object.__setattr__(self, "study_uid", uid)
        if self.received is not None:
            iso = parse_received(self.received).isoformat(timespec="seconds")
            object.__setattr__(self, "received", iso)


@dataclass(frozen=True)
class Study:
    """A stored study: its header, where it stands, and what the model found."""

    study_uid: str
    received: str
    updated: str
    status: StudyStatus
    patient_id: str | None = None
    accession: str | None = None
    description: str | None = None
    modality: str | None = None
    body_part: str | None = None
    study_date: str | None = None
    analysis: tuple[Mapping[str, Any], ...] | None = None
    urgency: StudyUrgency | None = None
    report_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "study_uid": self.study_uid,
            "patient_id": self.patient_id,
            "accession": self.accession,
            "description": self.description,
            "modality": self.modality,
            "body_part": self.body_part,
            "study_date": self.study_date,
            "received": self.received,
            "updated": self.updated,
            "status": self.status.value,
            "urgency": None
            if self.urgency is None
            else {
                "tier": self.urgency.tier,
                "score": round(self.urgency.score, 4),
                "reasons": list(self.urgency.reasons),
            },
            "report_id": self.report_id,
            "analysis": None if self.analysis is None else [dict(a) for a in self.analysis],
        }


@dataclass(frozen=True)
class StudyFilter:
    statuses: tuple[StudyStatus, ...] = ()  # empty: any
    patient_id: str | None = None
    modality: str | None = None
    since: str | None = None  # received at or after (UTC ISO)
    limit: int | None = None
    unread: bool = False  # only received or analysed


UpsertOutcome = Literal["added", "updated", "unchanged"]


class StudyStore(Protocol):
    """Everything the worklist, the receiver and the service need from a database."""

    location: str

    def upsert(self, record: StudyRecord) -> UpsertOutcome: ...

    def get(self, study_uid: str) -> Study | None: ...

    def list(self, filters: StudyFilter | None = None) -> list[Study]: ...

    def set_status(
        self, study_uid: str, status: StudyStatus, *, report_id: str | None = None
    ) -> Study: ...

    def attach_analysis(
        self,
        study_uid: str,
        analysis: Sequence[Mapping[str, Any]],
        urgency: StudyUrgency | None,
    ) -> Study: ...

    def close(self) -> None: ...


class StudyStoreHandle(StudyStore, Protocol):
    """A :class:`StudyStore` that is its own context manager (``with open_studies(...)``)."""

    def __enter__(self) -> StudyStoreHandle: ...

    def __exit__(self, *exc: object) -> None: ...


F = TypeVar("F", bound=Callable[..., Any])


def _guarded(method: F) -> F:
    """SQLite errors (locked, damaged, disk full) as one line naming the store."""

    @functools.wraps(method)
    def wrapper(self: SQLiteStudyStore, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        except sqlite3.Error as exc:
            raise StudyError(f"{self.location}: studies: {exc}") from None

    return wrapper  # type: ignore[return-value]


def is_postgres_url(location: str | Path) -> bool:
    scheme, sep, _ = str(location).partition("://")
    return bool(sep) and scheme.split("+", 1)[0].lower() in ("postgres", "postgresql")


def open_studies(
    location: str | Path | None = None, *, readonly: bool = False, create: bool = True
) -> StudyStoreHandle:
    """The studies in the archive at ``location`` (default: the archive's default): an
    SQLite file, or a ``postgresql://`` URL (:mod:`radpilot.workflow.pg_studies`)."""
    if location is None:
        from radpilot.search.store import default_db_path

        location = default_db_path()
    if is_postgres_url(location):
        from radpilot import registry

        # Registered (not imported here): the PostgreSQL store is built on this module.
        opener = registry.study_backends.get("postgres")
        store: StudyStoreHandle = opener(str(location), readonly=readonly, create=create)
        return store
    return SQLiteStudyStore(Path(location), readonly=readonly, create=create)


class SQLiteStudyStore:
    """:class:`StudyStore` on the archive's SQLite file (its own ``studies`` table)."""

    def __init__(self, path: Path, *, readonly: bool = False, create: bool = True) -> None:
        self.location = str(path)
        self.readonly = readonly
        # verify=False: the archive's full page check is its own business (archive add /
        # check); the header and schema checks still run on every open.
        if readonly and not path.exists():
            raise StudyError(
                f"{path}: no archive here (put studies on it with `radpilot worklist add`)"
            )
        try:
            self._db = connect(path, readonly=readonly, create=create, verify=False)
        except ArchiveError as exc:
            raise StudyError(str(exc)) from None
        try:
            self._prepare()
        except sqlite3.Error as exc:
            self._db.close()
            raise StudyError(f"{self.location}: studies: {exc}") from None
        except BaseException:
            self._db.close()
            raise

    def _prepare(self) -> None:
        db = self._db
        row = db.execute("SELECT value FROM meta WHERE key='studies_schema'").fetchone()
        if row is not None and row[0] != STUDIES_SCHEMA_VERSION:
            raise StudyError(
                f"{self.location}: studies schema {row[0]}, this radpilot reads "
                f"{STUDIES_SCHEMA_VERSION}"
            )
        if self.readonly:
            return
        db.executescript(
            f"BEGIN IMMEDIATE;\n{_SCHEMA}\nINSERT OR IGNORE INTO meta(key, value) VALUES "
            f"('studies_schema', '{STUDIES_SCHEMA_VERSION}');\nCOMMIT;"
        )

    def _has_table(self) -> bool:
        row = self._db.execute(
            "SELECT 1 FROM sqlite_master WHERE type='table' AND name='studies'"
        ).fetchone()
        return row is not None

    def _write(self, fn: Callable[[sqlite3.Connection], Any]) -> Any:
        if self.readonly:
            raise StudyError(f"{self.location}: opened read-only; the studies cannot change")
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            out = fn(db)
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")
        return out

    @_guarded
    def upsert(self, record: StudyRecord) -> UpsertOutcome:
        def write(db: sqlite3.Connection) -> UpsertOutcome:
            now = utc_now()
            old = db.execute(
                f"SELECT {', '.join(_HEADER_FIELDS)} FROM studies WHERE study_uid = ?",
                (record.study_uid,),
            ).fetchone()
            new = [getattr(record, f) for f in _HEADER_FIELDS]
            if old is None:
                db.execute(
                    f"INSERT INTO studies(study_uid, {', '.join(_HEADER_FIELDS)}, received, "
                    "updated, status) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (record.study_uid, *new, record.received or now, now, "received"),
                )
                return "added"
            merged = [n if n not in (None, "") else o for n, o in zip(new, old, strict=True)]
            if merged == list(old):
                return "unchanged"
            sets = ", ".join(f"{f} = ?" for f in _HEADER_FIELDS)
            db.execute(
                f"UPDATE studies SET {sets}, updated = ? WHERE study_uid = ?",
                (*merged, now, record.study_uid),
            )
            return "updated"

        outcome: UpsertOutcome = self._write(write)
        return outcome

    @_guarded
    def get(self, study_uid: str) -> Study | None:
        if not self._has_table():
            return None
        row = self._db.execute(
            f"SELECT {_COLUMNS} FROM studies WHERE study_uid = ?", (study_uid.strip(),)
        ).fetchone()
        return None if row is None else self._study(row)

    @_guarded
    def list(self, filters: StudyFilter | None = None) -> list[Study]:
        if not self._has_table():
            return []
        sql, args = list_query(filters or StudyFilter(), "?")
        return [self._study(r) for r in self._db.execute(sql, args)]

    @_guarded
    def set_status(
        self, study_uid: str, status: StudyStatus, *, report_id: str | None = None
    ) -> Study:
        uid = study_uid.strip()

        def write(db: sqlite3.Connection) -> None:
            row = db.execute("SELECT status FROM studies WHERE study_uid = ?", (uid,)).fetchone()
            if row is None:
                raise StudyError(f"{self.location}: no study {uid} in the studies store")
            current = StudyStatus(row[0])
            if status.rank < current.rank:
                raise StudyError(
                    f"study {uid}: is {current.value}; a study never goes back to {status.value}"
                )
            if status is current and report_id is None:
                return
            db.execute(
                "UPDATE studies SET status = ?, updated = ?, report_id = coalesce(?, report_id) "
                "WHERE study_uid = ?",
                (status.value, utc_now(), report_id, uid),
            )

        self._write(write)
        study = self.get(uid)
        assert study is not None
        return study

    @_guarded
    def attach_analysis(
        self,
        study_uid: str,
        analysis: Sequence[Mapping[str, Any]],
        urgency: StudyUrgency | None,
    ) -> Study:
        uid = study_uid.strip()
        try:
            blob = json.dumps([dict(a) for a in analysis], sort_keys=True)
        except (TypeError, ValueError) as exc:
            raise StudyError(f"study {uid}: analysis is not JSON ({exc})") from None

        def write(db: sqlite3.Connection) -> None:
            row = db.execute("SELECT status FROM studies WHERE study_uid = ?", (uid,)).fetchone()
            if row is None:
                raise StudyError(f"{self.location}: no study {uid} in the studies store")
            status = StudyStatus(row[0])
            if status is StudyStatus.RECEIVED:
                status = StudyStatus.ANALYSED
            db.execute(
                "UPDATE studies SET analysis = ?, urgency_tier = ?, urgency_score = ?, "
                "reasons = ?, status = ?, updated = ? WHERE study_uid = ?",
                (
                    blob,
                    None if urgency is None else urgency.tier,
                    None if urgency is None else float(urgency.score),
                    json.dumps([] if urgency is None else list(urgency.reasons)),
                    status.value,
                    utc_now(),
                    uid,
                ),
            )

        self._write(write)
        study = self.get(uid)
        assert study is not None
        return study

    def _study(self, row: Sequence[Any]) -> Study:
        return study_from_row(row)

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> SQLiteStudyStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def list_query(f: StudyFilter, mark: str) -> tuple[str, list[Any]]:
    """The SELECT of :meth:`StudyStore.list` and its arguments; ``mark`` is the driver's
    placeholder (``?`` for SQLite, ``%s`` for psycopg)."""
    where: list[str] = []
    args: list[Any] = []
    statuses = list(f.statuses)
    if f.unread:
        statuses = [s for s in (statuses or list(StudyStatus)) if s.unread]
    if statuses:
        where.append(f"status IN ({','.join([mark] * len(statuses))})")
        args.extend(s.value for s in statuses)
    for column, value in (("patient_id", f.patient_id), ("modality", f.modality)):
        if value is not None:
            where.append(f"{column} = {mark}")
            args.append(value)
    if f.since is not None:
        where.append(f"received >= {mark}")
        args.append(parse_received(f.since, "since").isoformat(timespec="seconds"))
    sql = f"SELECT {_COLUMNS} FROM studies"
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += " ORDER BY received, study_uid"
    if f.limit is not None:
        sql += f" LIMIT {int(f.limit)}"
    return sql, args


def study_from_row(row: Sequence[Any]) -> Study:
    """A :class:`Study` from a row of ``_COLUMNS`` (both backends store the same)."""
    (uid, patient, accession, description, modality, body_part, study_date) = row[:7]
    received, updated, status, analysis, tier, score, reasons, report_id = row[7:]
    urgency = None
    if tier is not None:
        urgency = StudyUrgency(str(tier), float(score or 0.0), tuple(json.loads(reasons)))
    return Study(
        study_uid=uid,
        received=received,
        updated=updated,
        status=StudyStatus(status),
        patient_id=patient,
        accession=accession,
        description=description,
        modality=modality,
        body_part=body_part,
        study_date=study_date,
        analysis=None if analysis is None else tuple(json.loads(analysis)),
        urgency=urgency,
        report_id=report_id,
    )


__all__ = [
    "SQLiteStudyStore",
    "Study",
    "StudyError",
    "StudyFilter",
    "StudyRecord",
    "StudyStatus",
    "StudyStore",
    "StudyStoreHandle",
    "StudyUrgency",
    "is_postgres_url",
    "open_studies",
    "parse_status",
]
