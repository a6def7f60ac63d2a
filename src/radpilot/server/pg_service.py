"""The service's tables on PostgreSQL (``postgres.v1``): schema ``service`` in the
archive's database, made by the archive's Alembic migrations (``0002_service_v1``).

It answers every ``ServiceStore`` call as the SQLite backend does. The audit trail is
append-only in the database (triggers refuse UPDATE, DELETE, TRUNCATE), and appenders
are serialised by a transaction-scoped advisory lock taken before the head is read, so
two servers (or two threads) on one database never write two entries after the same
head: the chain cannot fork. One connection serves every thread of a process, behind a
lock (the service's writes are small); other processes wait on the advisory lock.

Every database error is one line naming the URL without its password.
"""

from __future__ import annotations

import functools
import secrets
import threading
from collections.abc import Callable
from typing import Any, TypeVar

import psycopg

from radpilot.errors import InputError, RadpilotError
from radpilot.server.access import Role
from radpilot.server.audit import GENESIS, entry_hash
from radpilot.server.models import AuditEntry, AuditEvent, ServiceStore, TokenRecord, UserRecord
from radpilot.server.sqlite_service import now_iso

SCHEMA = "service"
# "rpaud": the one lock every appender of this database's audit trail takes.
AUDIT_LOCK = 0x7270617564
_AUDIT_COLUMNS = "seq, at, actor, role, action, target, client, outcome, detail, prev_hash, hash"

F = TypeVar("F", bound=Callable[..., Any])


class ServiceDatabaseError(RadpilotError):
    """The service database failed during a request (gone, refused): the service answers
    503 with this line, which names the URL without its password."""


def _guarded(method: F) -> F:
    @functools.wraps(method)
    def wrapper(self: PostgresServiceStore, *args: Any, **kwargs: Any) -> Any:
        from radpilot.search.pg_schema import reason

        try:
            return method(self, *args, **kwargs)
        except psycopg.Error as exc:
            raise ServiceDatabaseError(f"{self.location}: {reason(exc)}") from None

    return wrapper  # type: ignore[return-value]


def open_postgres_service(location: str) -> PostgresServiceStore:
    """The service tables in the PostgreSQL database at the URL ``location``. The archive
    is opened first (and migrated, or created when the database is empty), as the SQLite
    backend opens its file: a database that holds something else is refused, one line."""
    from radpilot.search.pg_store import open_postgres

    open_postgres(location, verify=False).close()  # ArchiveError (an InputError): one line
    return PostgresServiceStore(location)


class PostgresServiceStore:
    def __init__(self, url: str) -> None:
        from radpilot.search.pg_schema import connect, redact

        self.location = redact(url)
        db = connect(url, readonly=False)
        try:
            db.execute(f"SET search_path TO {SCHEMA}")
        except psycopg.Error as exc:
            db.close()
            raise InputError(f"{self.location}: cannot use it as the service database") from exc
        self._db = db
        self._lock = threading.Lock()

    def _all(self, sql: str, args: tuple[Any, ...] = ()) -> list[Any]:
        with self._lock:
            return self._db.execute(sql, args).fetchall()

    def _run(self, sql: str, args: tuple[Any, ...] = ()) -> int:
        with self._lock:
            return self._db.execute(sql, args).rowcount

    # -- users ---------------------------------------------------------------------------
    @_guarded
    def add_user(self, name: str, role: Role, password_hash: str) -> None:
        try:
            self._run(
                "INSERT INTO users(name, role, password_hash, created) VALUES (%s,%s,%s,%s)",
                (name, role.value, password_hash, now_iso()),
            )
        except psycopg.errors.UniqueViolation:
            raise InputError(f"user {name!r} exists already") from None

    @_guarded
    def user(self, name: str) -> UserRecord | None:
        rows = self._all(
            "SELECT name, role, password_hash, disabled, created FROM users WHERE name = %s",
            (name,),
        )
        return UserRecord.from_row(rows[0]) if rows else None

    @_guarded
    def users(self) -> list[UserRecord]:
        rows = self._all(
            'SELECT name, role, password_hash, disabled, created FROM users ORDER BY name COLLATE "C"'
        )
        return [UserRecord.from_row(r) for r in rows]

    @_guarded
    def set_disabled(self, name: str, disabled: bool) -> bool:
        return self._run("UPDATE users SET disabled = %s WHERE name = %s", (disabled, name)) > 0

    @_guarded
    def set_password(self, name: str, password_hash: str) -> bool:
        sql = "UPDATE users SET password_hash = %s WHERE name = %s"
        return self._run(sql, (password_hash, name)) > 0

    # -- tokens --------------------------------------------------------------------------
    @_guarded
    def add_token(self, token: TokenRecord) -> None:
        self._run(
            'INSERT INTO tokens(jti, "user", kind, issued_at, expires_at, revoked) '
            "VALUES (%s,%s,%s,%s,%s,%s)",
            (token.jti, token.user, token.kind, token.issued_at, token.expires_at, token.revoked),
        )

    @_guarded
    def token(self, jti: str) -> TokenRecord | None:
        rows = self._all(
            'SELECT jti, "user", kind, issued_at, expires_at, revoked FROM tokens WHERE jti = %s',
            (jti,),
        )
        if not rows:
            return None
        r = rows[0]
        return TokenRecord(r[0], r[1], r[2], r[3], r[4], bool(r[5]))

    @_guarded
    def revoke_token(self, jti: str) -> bool:
        return self._run("UPDATE tokens SET revoked = true WHERE jti = %s", (jti,)) > 0

    @_guarded
    def revoke_user_tokens(self, user: str) -> int:
        sql = 'UPDATE tokens SET revoked = true WHERE "user" = %s AND NOT revoked'
        return self._run(sql, (user,))

    @_guarded
    def secret(self) -> bytes:
        with self._lock:
            self._db.execute(
                "INSERT INTO meta(key, value) VALUES ('secret', %s) ON CONFLICT DO NOTHING",
                (secrets.token_hex(32),),
            )
            row = self._db.execute("SELECT value FROM meta WHERE key = 'secret'").fetchone()
        assert row is not None
        return bytes.fromhex(row[0])

    # -- audit ---------------------------------------------------------------------------
    @_guarded
    def append_audit(self, event: AuditEvent) -> AuditEntry:
        with self._lock, self._db.transaction():
            db = self._db
            # Taken before the head is read: the next appender reads this entry as its head.
            db.execute("SELECT pg_advisory_xact_lock(%s)", (AUDIT_LOCK,))
            last = db.execute("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
            seq, prev = (int(last[0]) + 1, str(last[1])) if last else (1, GENESIS)
            at = now_iso()
            digest = entry_hash(prev, seq, at, event)
            db.execute(
                f"INSERT INTO audit({_AUDIT_COLUMNS}) VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s)",
                (seq, at, *event.values(), prev, digest),
            )
        return AuditEntry(seq, at, event, prev, digest)

    @_guarded
    def audit_entries(self, *, after: int = 0, limit: int | None = None) -> list[AuditEntry]:
        rows = self._all(
            f"SELECT {_AUDIT_COLUMNS} FROM audit WHERE seq > %s ORDER BY seq LIMIT %s",
            (after, limit),
        )
        return [AuditEntry.from_row(r) for r in rows]

    def close(self) -> None:
        with self._lock:
            self._db.close()


def _conforms(store: PostgresServiceStore) -> ServiceStore:
    return store  # mypy checks here that the PostgreSQL store is a whole ServiceStore
