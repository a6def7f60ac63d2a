"""The values the service's storage passes around (frozen), and its storage interface.

``ServiceStore`` is what the service needs from a database: users, issued tokens, a
secret, and the audit trail. SQLite (``sqlite.v1``, in the archive's own file, tables
prefixed ``service_``) is built in; another backend registers in
``radpilot.registry.service_backends`` and is chosen by the scheme of ``--db``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from radpilot.server.access import Role


@dataclass(frozen=True, slots=True)
class UserRecord:
    name: str
    role: Role
    password_hash: str
    disabled: bool
    created: str

    @classmethod
    def from_row(cls, r: Sequence[Any]) -> UserRecord:
        """A row of either store's user columns (name, role, hash, disabled, created)."""
        return cls(r[0], Role(r[1]), r[2], bool(r[3]), r[4])


@dataclass(frozen=True, slots=True)
class TokenRecord:
    """An issued token (an API bearer token or a web session), by its random id."""

    jti: str
    user: str
    kind: str  # "api" or "session"
    issued_at: float
    expires_at: float
    revoked: bool


@dataclass(frozen=True, slots=True)
class AuditEvent:
    """One read or write to record: who (user, role), what (action, target ids, outcome),
    from where (client address). ``target`` holds ids, never report text."""

    actor: str
    role: str
    action: str
    target: str
    client: str
    outcome: str = "ok"
    detail: str = ""

    def values(self) -> tuple[str, str, str, str, str, str, str]:
        """The fields in the order the hash covers them and the stores keep them."""
        return (
            self.actor,
            self.role,
            self.action,
            self.target,
            self.client,
            self.outcome,
            self.detail,
        )


@dataclass(frozen=True, slots=True)
class AuditEntry:
    seq: int
    at: str
    event: AuditEvent
    prev_hash: str
    hash: str

    @classmethod
    def from_row(cls, r: Sequence[Any]) -> AuditEntry:
        """A row of either store's audit columns: seq, at, the event's values, prev, hash."""
        return cls(int(r[0]), r[1], AuditEvent(*r[2:9]), r[9], r[10])

    def to_dict(self) -> dict[str, object]:
        e = self.event
        return {
            "seq": self.seq,
            "at": self.at,
            "actor": e.actor,
            "role": e.role,
            "action": e.action,
            "target": e.target,
            "client": e.client,
            "outcome": e.outcome,
            "detail": e.detail,
            "prev_hash": self.prev_hash,
            "hash": self.hash,
        }


class ServiceStore(Protocol):
    """Users, tokens, the signing secret and the audit trail of one service database."""

    location: str

    def add_user(self, name: str, role: Role, password_hash: str) -> None:
        """Add a user; ``InputError`` when the name is taken."""
        ...

    def user(self, name: str) -> UserRecord | None: ...

    def users(self) -> list[UserRecord]: ...

    def set_disabled(self, name: str, disabled: bool) -> bool:
        """False when there is no such user."""
        ...

    def set_password(self, name: str, password_hash: str) -> bool: ...

    def add_token(self, token: TokenRecord) -> None: ...

    def token(self, jti: str) -> TokenRecord | None: ...

    def revoke_token(self, jti: str) -> bool: ...

    def revoke_user_tokens(self, user: str) -> int: ...

    def secret(self) -> bytes:
        """The key tokens, sessions and pseudonyms are signed with; made on first use."""
        ...

    def append_audit(self, event: AuditEvent) -> AuditEntry:
        """Append one entry to the chain, atomically (the previous hash is read and the
        entry written in one transaction)."""
        ...

    def audit_entries(self, *, after: int = 0, limit: int | None = None) -> list[AuditEntry]:
        """Entries with ``seq > after``, oldest first."""
        ...

    def close(self) -> None: ...
