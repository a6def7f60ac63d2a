"""The service's tables in the archive's SQLite file (``sqlite.v1``).

Tables ``service_users``, ``service_tokens``, ``service_meta`` and ``service_audit`` sit
beside the archive's own (the archive's schema and checks ignore them). The audit table is
append-only inside SQLite too: triggers refuse UPDATE and DELETE, so only someone who
drops the triggers (or edits the file) can change it, and the hash chain shows that.

One connection serves every thread, behind a lock: the service's writes are small
(a user, a token, an audit entry), and SQLite serialises writers anyway.
"""

from __future__ import annotations

import secrets
import sqlite3
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from radpilot.errors import InputError
from radpilot.server.access import Role
from radpilot.server.audit import GENESIS, entry_hash
from radpilot.server.models import AuditEntry, AuditEvent, ServiceStore, TokenRecord, UserRecord

SCHEMA = """
CREATE TABLE IF NOT EXISTS service_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS service_users (
    name TEXT PRIMARY KEY, role TEXT NOT NULL, password_hash TEXT NOT NULL,
    disabled INTEGER NOT NULL DEFAULT 0, created TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS service_tokens (
    jti TEXT PRIMARY KEY, user TEXT NOT NULL, kind TEXT NOT NULL,
    issued_at REAL NOT NULL, expires_at REAL NOT NULL, revoked INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS service_tokens_user ON service_tokens(user);
CREATE TABLE IF NOT EXISTS service_audit (
    seq INTEGER PRIMARY KEY, at TEXT NOT NULL, actor TEXT NOT NULL, role TEXT NOT NULL,
    action TEXT NOT NULL, target TEXT NOT NULL, client TEXT NOT NULL, outcome TEXT NOT NULL,
    detail TEXT NOT NULL, prev_hash TEXT NOT NULL, hash TEXT NOT NULL
);
CREATE TRIGGER IF NOT EXISTS service_audit_no_update BEFORE UPDATE ON service_audit
BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
CREATE TRIGGER IF NOT EXISTS service_audit_no_delete BEFORE DELETE ON service_audit
BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
"""

_AUDIT_COLUMNS = "seq, at, actor, role, action, target, client, outcome, detail, prev_hash, hash"


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


def open_sqlite_service(location: str) -> SQLiteServiceStore:
    """The service tables in the archive at ``location``. The archive is opened first (and
    created when absent): a file that is not a radpilot archive is refused, one line, and
    nothing is written into it."""
    from radpilot.search.store import open_store

    path = Path(location).expanduser()
    open_store(path, verify=False).close()  # ArchiveError (an InputError): one line
    return SQLiteServiceStore(path)


class SQLiteServiceStore:
    def __init__(self, path: Path) -> None:
        self.location = str(path)
        try:
            db = sqlite3.connect(
                str(path), isolation_level=None, timeout=60, check_same_thread=False
            )
            db.execute("PRAGMA busy_timeout = 60000")
            db.execute("PRAGMA journal_mode = WAL")
            db.executescript(f"BEGIN IMMEDIATE;\n{SCHEMA}\nCOMMIT;")
        except sqlite3.DatabaseError as exc:
            raise InputError(f"{path}: cannot use it as the service database ({exc})") from None
        self._db = db
        self._lock = threading.Lock()

    def _all(self, sql: str, args: tuple[Any, ...] = ()) -> list[Any]:
        with self._lock:
            return self._db.execute(sql, args).fetchall()

    def _run(self, sql: str, args: tuple[Any, ...] = ()) -> int:
        with self._lock:
            return self._db.execute(sql, args).rowcount

    # -- users ---------------------------------------------------------------------------
    def add_user(self, name: str, role: Role, password_hash: str) -> None:
        try:
            self._run(
                "INSERT INTO service_users(name, role, password_hash, created) VALUES (?,?,?,?)",
                (name, role.value, password_hash, now_iso()),
            )
        except sqlite3.IntegrityError:
            raise InputError(f"user {name!r} exists already") from None

    def user(self, name: str) -> UserRecord | None:
        rows = self._all(
            "SELECT name, role, password_hash, disabled, created FROM service_users WHERE name = ?",
            (name,),
        )
        return UserRecord.from_row(rows[0]) if rows else None

    def users(self) -> list[UserRecord]:
        rows = self._all(
            "SELECT name, role, password_hash, disabled, created FROM service_users ORDER BY name"
        )
        return [UserRecord.from_row(r) for r in rows]

    def set_disabled(self, name: str, disabled: bool) -> bool:
        return (
            self._run("UPDATE service_users SET disabled = ? WHERE name = ?", (int(disabled), name))
            > 0
        )

    def set_password(self, name: str, password_hash: str) -> bool:
        sql = "UPDATE service_users SET password_hash = ? WHERE name = ?"
        return self._run(sql, (password_hash, name)) > 0

    # -- tokens --------------------------------------------------------------------------
    def add_token(self, token: TokenRecord) -> None:
        self._run(
            "INSERT INTO service_tokens(jti, user, kind, issued_at, expires_at, revoked) "
            "VALUES (?,?,?,?,?,?)",
            (token.jti, token.user, token.kind, token.issued_at, token.expires_at, token.revoked),
        )

    def token(self, jti: str) -> TokenRecord | None:
        rows = self._all(
            "SELECT jti, user, kind, issued_at, expires_at, revoked FROM service_tokens "
            "WHERE jti = ?",
            (jti,),
        )
        if not rows:
            return None
        r = rows[0]
        return TokenRecord(r[0], r[1], r[2], r[3], r[4], bool(r[5]))

    def revoke_token(self, jti: str) -> bool:
        return self._run("UPDATE service_tokens SET revoked = 1 WHERE jti = ?", (jti,)) > 0

    def revoke_user_tokens(self, user: str) -> int:
        sql = "UPDATE service_tokens SET revoked = 1 WHERE user = ? AND revoked = 0"
        return self._run(sql, (user,))

    def secret(self) -> bytes:
        with self._lock:
            self._db.execute(
                "INSERT OR IGNORE INTO service_meta(key, value) VALUES ('secret', ?)",
                (secrets.token_hex(32),),
            )
            row = self._db.execute("SELECT value FROM service_meta WHERE key='secret'").fetchone()
        return bytes.fromhex(row[0])

    # -- audit ---------------------------------------------------------------------------
    def append_audit(self, event: AuditEvent) -> AuditEntry:
        with self._lock:
            db = self._db
            db.execute("BEGIN IMMEDIATE")
            try:
                last = db.execute(
                    "SELECT seq, hash FROM service_audit ORDER BY seq DESC LIMIT 1"
                ).fetchone()
                seq, prev = (last[0] + 1, last[1]) if last else (1, GENESIS)
                at = now_iso()
                digest = entry_hash(prev, seq, at, event)
                db.execute(
                    f"INSERT INTO service_audit({_AUDIT_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                    (seq, at, *event.values(), prev, digest),
                )
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
        return AuditEntry(seq, at, event, prev, digest)

    def audit_entries(self, *, after: int = 0, limit: int | None = None) -> list[AuditEntry]:
        rows = self._all(
            f"SELECT {_AUDIT_COLUMNS} FROM service_audit WHERE seq > ? ORDER BY seq LIMIT ?",
            (after, -1 if limit is None else limit),
        )
        return [AuditEntry.from_row(r) for r in rows]

    def close(self) -> None:
        with self._lock:
            self._db.close()


def _conforms(store: SQLiteServiceStore) -> ServiceStore:
    return store  # mypy checks here that the SQLite store is a whole ServiceStore
