"""Opening the service database named by ``--db``: a path (or ``sqlite:///path``) is the
archive's SQLite file; another scheme (``postgresql://...``) names a backend registered in
``radpilot.registry.service_backends`` (``postgresql`` -> ``postgres``)."""

from __future__ import annotations

from pathlib import Path

from radpilot import registry
from radpilot.errors import InputError, RegistryError
from radpilot.server.models import ServiceStore

_SCHEME_BACKENDS = {"sqlite": "sqlite", "postgres": "postgres", "postgresql": "postgres"}


def backend_for(location: str) -> tuple[str, str]:
    """(backend name, what to hand it) for a ``--db`` value."""
    scheme, sep, rest = location.partition("://")
    if not sep or len(scheme) < 2:  # "C:\\..." or a plain path
        return "sqlite", location
    base = scheme.split("+", 1)[0].lower()
    name = _SCHEME_BACKENDS.get(base, base)
    if name == "sqlite":
        return "sqlite", rest.removeprefix("/") if rest.startswith("//") else rest
    return name, location


def open_service_store(location: str | Path | None = None) -> ServiceStore:
    """The service database (default: the archive's default path)."""
    from radpilot.search.store import default_db_path

    loc = str(location) if location is not None else str(default_db_path())
    name, target = backend_for(loc)
    try:
        opener = registry.service_backends.get(name)
    except RegistryError:
        valid = ", ".join(registry.service_backends.names())
        raise InputError(
            f"--db: no service backend for {name!r} URLs in this installation; valid: {valid}"
        ) from None
    store: ServiceStore = opener(target)
    return store
