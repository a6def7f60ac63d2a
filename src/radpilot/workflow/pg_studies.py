"""The studies store on PostgreSQL: table ``workflow.studies`` in the archive's
database (made by the archive's Alembic migrations, ``0003_studies_v1``), chosen by
``open_studies("postgresql://...")``.

It keeps every rule of the SQLite backend (:mod:`radpilot.workflow.studies`): upsert is
idempotent on ``study_uid`` (``INSERT ... ON CONFLICT DO NOTHING``, then the stored row
locked ``FOR UPDATE`` while the header is merged, so two senders of one study at once
make one row), and status goes forward only (the row is locked while it is checked).
Every database error is one :class:`StudyError` line naming the URL without its password.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

import psycopg

from radpilot.search.models import ArchiveError
from radpilot.search.pg_schema import connect, ensure_schema, reason, redact
from radpilot.workflow.studies import (
    _COLUMNS,
    _HEADER_FIELDS,
    Study,
    StudyError,
    StudyFilter,
    StudyRecord,
    StudyStatus,
    StudyStore,
    StudyUrgency,
    UpsertOutcome,
    list_query,
    study_from_row,
    utc_now,
)

SCHEMA = "workflow"
F = TypeVar("F", bound=Callable[..., Any])


def _guarded(method: F) -> F:
    @functools.wraps(method)
    def wrapper(self: PostgresStudyStore, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        except psycopg.errors.ReadOnlySqlTransaction:
            raise StudyError(
                f"{self.location}: opened read-only; the studies cannot change"
            ) from None
        except psycopg.Error as exc:
            raise StudyError(f"{self.location}: studies: {reason(exc)}") from None

    return wrapper  # type: ignore[return-value]


class PostgresStudyStore:
    """:class:`StudyStore` on schema ``workflow`` of a PostgreSQL archive database."""

    def __init__(self, url: str, *, readonly: bool = False, create: bool = True) -> None:
        self.location = redact(url)
        self.readonly = readonly
        try:
            self._db = connect(url, readonly=readonly)
        except ArchiveError as exc:
            raise StudyError(str(exc)) from None
        try:
            ensure_schema(self._db, url, readonly=readonly, create=create)
            self._db.execute(f"SET search_path TO {SCHEMA}")
        except ArchiveError as exc:
            self._db.close()
            raise StudyError(str(exc)) from None
        except psycopg.Error as exc:
            self._db.close()
            raise StudyError(f"{self.location}: studies: {reason(exc)}") from None

    def _locked_status(self, uid: str) -> StudyStatus:
        row = self._db.execute(
            "SELECT status FROM studies WHERE study_uid = %s FOR UPDATE", (uid,)
        ).fetchone()
        if row is None:
            raise StudyError(f"{self.location}: no study {uid} in the studies store")
        return StudyStatus(row[0])

    def _check_writable(self) -> None:
        if self.readonly:
            raise StudyError(f"{self.location}: opened read-only; the studies cannot change")

    @_guarded
    def upsert(self, record: StudyRecord) -> UpsertOutcome:
        self._check_writable()
        db, uid = self._db, record.study_uid
        new = [getattr(record, f) for f in _HEADER_FIELDS]
        with db.transaction():
            now = utc_now()
            added = db.execute(
                f"INSERT INTO studies(study_uid, {', '.join(_HEADER_FIELDS)}, received, updated,"
                " status) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, 'received')"
                " ON CONFLICT (study_uid) DO NOTHING RETURNING study_uid",
                (uid, *new, record.received or now, now),
            ).fetchone()
            if added is not None:
                return "added"
            old = db.execute(
                f"SELECT {', '.join(_HEADER_FIELDS)} FROM studies WHERE study_uid = %s FOR UPDATE",
                (uid,),
            ).fetchone()
            assert old is not None  # rows are never deleted
            merged = [n if n not in (None, "") else o for n, o in zip(new, old, strict=True)]
            if merged == list(old):
                return "unchanged"
            sets = ", ".join(f"{f} = %s" for f in _HEADER_FIELDS)
            db.execute(
                f"UPDATE studies SET {sets}, updated = %s WHERE study_uid = %s",
                (*merged, now, uid),
            )
            return "updated"

    @_guarded
    def get(self, study_uid: str) -> Study | None:
        row = self._db.execute(
            f"SELECT {_COLUMNS} FROM studies WHERE study_uid = %s", (study_uid.strip(),)
        ).fetchone()
        return None if row is None else study_from_row(row)

    @_guarded
    def list(self, filters: StudyFilter | None = None) -> list[Study]:
        sql, args = list_query(filters or StudyFilter(), "%s")
        return [study_from_row(r) for r in self._db.execute(sql, args)]  # type: ignore[arg-type]

    @_guarded
    def set_status(
        self, study_uid: str, status: StudyStatus, *, report_id: str | None = None
    ) -> Study:
        self._check_writable()
        uid = study_uid.strip()
        with self._db.transaction():
            current = self._locked_status(uid)
            if status.rank < current.rank:
                raise StudyError(
                    f"study {uid}: is {current.value}; a study never goes back to {status.value}"
                )
            if status is not current or report_id is not None:
                self._db.execute(
                    "UPDATE studies SET status = %s, updated = %s, "
                    "report_id = coalesce(%s, report_id) WHERE study_uid = %s",
                    (status.value, utc_now(), report_id, uid),
                )
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
        self._check_writable()
        uid = study_uid.strip()
        try:
            blob = json.dumps([dict(a) for a in analysis], sort_keys=True)
        except (TypeError, ValueError) as exc:
            raise StudyError(f"study {uid}: analysis is not JSON ({exc})") from None
        with self._db.transaction():
            status = self._locked_status(uid)
            if status is StudyStatus.RECEIVED:
                status = StudyStatus.ANALYSED
            self._db.execute(
                "UPDATE studies SET analysis = %s, urgency_tier = %s, urgency_score = %s, "
                "reasons = %s, status = %s, updated = %s WHERE study_uid = %s",
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
        study = self.get(uid)
        assert study is not None
        return study

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> PostgresStudyStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _conforms(store: PostgresStudyStore) -> StudyStore:
    return store  # mypy checks here that the PostgreSQL store is a whole StudyStore
