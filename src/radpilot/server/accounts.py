"""Users, passwords (argon2id) and signed, expiring, revocable tokens.

A token is ``itsdangerous``-signed JSON ``{"sub": user, "jti": id, "k": kind}`` with a
timestamp: the signature and the age are checked first (no database read for a forged or
expired token), then the issued-token record (revoked?) and the user (still enabled?).
Disabling a user revokes every token they hold.
"""

from __future__ import annotations

import math
import re
import secrets
import time
from dataclasses import dataclass
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from radpilot.errors import InputError
from radpilot.server.access import Role
from radpilot.server.models import ServiceStore, TokenRecord, UserRecord

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")
MIN_PASSWORD = 8
MAX_PASSWORD = 1024  # argon2 hashes any length; a cap keeps a request's cost bounded

# argon2id at OWASP's recommended minimum (19 MiB, 2 passes, 1 lane): ~70 ms a login on
# one core; a stored hash made with other parameters is rehashed on the next good login.
_HASHER = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1)


@cache
def _dummy_hash() -> str:
    """A hash to verify against when the user does not exist, so timing does not tell."""
    return _HASHER.hash(secrets.token_hex(16))


def check_name(name: str) -> str:
    if not NAME_RE.match(name):
        raise InputError(
            "user name: 1-64 letters, digits or . _ @ - (starting with a letter or digit)"
        )
    return name


def check_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise InputError(f"password: at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        raise InputError(f"password: at most {MAX_PASSWORD} characters")
    return password


def hash_password(password: str) -> str:
    return _HASHER.hash(check_password(password))


def add_user(store: ServiceStore, name: str, role: Role, password: str) -> None:
    store.add_user(check_name(name), role, hash_password(password))


def disable_user(store: ServiceStore, name: str) -> int:
    """Disable ``name`` and revoke its tokens (how many); ``InputError`` if unknown."""
    if not store.set_disabled(name, True):
        raise InputError(f"no user {name!r}")
    return store.revoke_user_tokens(name)


def authenticate(store: ServiceStore, name: str, password: str) -> UserRecord | None:
    """The enabled user whose password this is, else None (same work either way)."""
    user = store.user(name) if NAME_RE.match(name) and len(password) <= MAX_PASSWORD else None
    try:
        _HASHER.verify(user.password_hash if user else _dummy_hash(), password)
    except (VerificationError, InvalidHashError):
        return None
    if user is None or user.disabled:
        return None
    if _HASHER.check_needs_rehash(user.password_hash):
        store.set_password(name, _HASHER.hash(password))
    return user


@dataclass(frozen=True, slots=True)
class Principal:
    """Who a request is made by, and with which token."""

    name: str
    role: Role
    jti: str
    kind: str


class Tokens:
    """Issues and checks the service's tokens (API bearer tokens and web sessions)."""

    def __init__(self, store: ServiceStore, secret: bytes, ttl_seconds: float) -> None:
        self.store = store
        self.ttl = ttl_seconds
        self._signer = URLSafeTimedSerializer(secret, salt="radpilot.token.v1")

    def issue(self, user: UserRecord, kind: str = "api") -> str:
        jti = secrets.token_urlsafe(18)
        now = time.time()
        self.store.add_token(TokenRecord(jti, user.name, kind, now, now + self.ttl, False))
        return str(self._signer.dumps({"sub": user.name, "jti": jti, "k": kind}))

    def check(self, token: str, kind: str | None = None) -> Principal | None:
        """The principal of a valid token (of ``kind``, if given), else None."""
        if len(token) > 512:
            return None
        try:
            data = self._signer.loads(token, max_age=math.ceil(self.ttl))
        except (SignatureExpired, BadSignature):
            return None
        if not isinstance(data, dict) or (kind is not None and data.get("k") != kind):
            return None
        record = self.store.token(str(data.get("jti")))
        if record is None or record.revoked or record.user != data.get("sub"):
            return None
        if record.expires_at < time.time():
            return None
        user = self.store.user(record.user)
        if user is None or user.disabled:
            return None
        return Principal(user.name, user.role, record.jti, record.kind)

    def revoke(self, jti: str) -> bool:
        return self.store.revoke_token(jti)
