"""The PostgreSQL archive's connection, its schema version and how an open is checked.

Everything lives in one schema, ``archive``, so the archive can share a department's
database with other applications (the service's users, the worklist). The tables are
made and changed by Alembic migrations shipped in the package (``pg_migrations``): a
writable open runs the missing ones, so ``archive add --db URL`` on an empty database
creates the archive; a database migrated by a newer radpilot is refused (its columns may
mean something else), and so is one that holds no archive where one must exist.

Every error names the database by its URL without the password (``redact``).
"""

from __future__ import annotations

import re
import threading
from pathlib import Path
from typing import Any

import psycopg

from radpilot.search.models import ArchiveError

SCHEMA = "archive"
# The migration every archive this code reads must be at. tests/search/test_pg_store.py
# checks that it is the head of ``pg_migrations``, so a new migration updates it.
HEAD = "0005_fts_fold_v1"
MIGRATIONS = Path(__file__).resolve().parent / "pg_migrations"

# Alembic's ``context`` is one global per process: threads migrate one at a time (other
# processes wait on the database's advisory lock, ``pg_migrations/env.py``).
_MIGRATING = threading.Lock()
_PASSWORD_IN_NETLOC = re.compile(r"(://[^:/@?#]*):[^@/?#]*@")
_PASSWORD_IN_QUERY = re.compile(r"([?&]password=)[^&#]*", re.IGNORECASE)


def redact(url: str) -> str:
    """The URL without its password (``postgresql://u:secret@h/db`` -> ``postgresql://u@h/db``)."""
    out = _PASSWORD_IN_NETLOC.sub(r"\1@", url)
    return _PASSWORD_IN_QUERY.sub(r"\1***", out)


def reason(exc: BaseException) -> str:
    """psycopg's message, first line only, without the password should it quote it."""
    text = str(exc).strip().splitlines()
    first = text[0] if text else type(exc).__name__
    first = re.sub(r"^connection failed: ", "", first)
    return redact(first)


def connect(url: str, *, readonly: bool) -> psycopg.Connection[Any]:
    """An autocommit connection whose ``search_path`` is the archive's schema."""
    where = redact(url)
    try:
        db = psycopg.connect(url, autocommit=True, connect_timeout=10)
    except psycopg.Error as exc:
        raise ArchiveError(f"{where}: cannot connect ({reason(exc)})") from None
    except (ValueError, UnicodeError) as exc:  # a URL psycopg cannot parse
        raise ArchiveError(f"{where}: not a PostgreSQL URL ({reason(exc)})") from None
    try:
        db.execute(f"SET search_path TO {SCHEMA}, public")
        if readonly:
            db.execute("SET default_transaction_read_only = on")
    except psycopg.Error as exc:
        db.close()
        raise ArchiveError(f"{where}: {reason(exc)}") from None
    return db


def revision(db: psycopg.Connection[Any]) -> str | None:
    """The archive's Alembic revision; None when the database holds no archive yet."""
    row = db.execute(
        "SELECT to_regclass(%s) IS NOT NULL, to_regclass(%s) IS NOT NULL",
        (f"{SCHEMA}.alembic_version", f"{SCHEMA}.meta"),
    ).fetchone()
    assert row is not None
    has_version, has_meta = row
    if not has_version:
        if has_meta:
            raise ArchiveError(f"schema {SCHEMA!r} is not a radpilot archive (no schema version)")
        return None
    got = db.execute(f"SELECT version_num FROM {SCHEMA}.alembic_version").fetchone()
    return None if got is None else str(got[0])


def known_revisions() -> set[str]:
    return {p.stem for p in (MIGRATIONS / "versions").glob("*.py") if not p.stem.startswith("_")}


def ensure_schema(db: psycopg.Connection[Any], url: str, *, readonly: bool, create: bool) -> None:
    """Refuse an archive of a newer schema or none where one must be; migrate an older or
    absent one when the open is writable (and ``create`` allows a new one)."""
    where = redact(url)
    try:
        have = revision(db)
    except ArchiveError as exc:
        raise ArchiveError(f"{where}: {exc}") from None
    except psycopg.Error as exc:
        raise ArchiveError(f"{where}: {reason(exc)}") from None
    if have == HEAD:
        return
    if have is not None and have not in known_revisions():
        raise ArchiveError(
            f"{where}: archive schema {have} is newer than this radpilot reads ({HEAD}); "
            "upgrade radpilot"
        )
    if have is None and (readonly or not create):
        raise ArchiveError(
            f"{where}: no radpilot archive in this database (create one with "
            "`radpilot archive add --db URL` or `radpilot archive migrate --db URL`)"
        )
    if readonly:
        raise ArchiveError(
            f"{where}: archive schema {have}, this radpilot reads {HEAD}; "
            "run `radpilot archive migrate --db URL`"
        )
    migrate(url)


def migrate(url: str) -> tuple[str | None, str]:
    """Run the missing migrations; (revision before, revision after)."""
    from alembic import command
    from alembic.config import Config
    from sqlalchemy import create_engine
    from sqlalchemy.pool import NullPool

    where = redact(url)
    db = connect(url, readonly=False)
    try:
        before = revision(db)
    finally:
        db.close()
    if before is not None and before not in known_revisions():
        raise ArchiveError(
            f"{where}: archive schema {before} is newer than this radpilot reads ({HEAD}); "
            "upgrade radpilot"
        )
    engine = create_engine(
        "postgresql+psycopg://", creator=lambda: psycopg.connect(url), poolclass=NullPool
    )
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    try:
        with _MIGRATING, engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")
    except psycopg.Error as exc:
        raise ArchiveError(f"{where}: migration failed ({reason(exc)})") from None
    except Exception as exc:  # SQLAlchemy wraps the driver's error
        orig = getattr(exc, "orig", None)
        if isinstance(orig, psycopg.Error):
            raise ArchiveError(f"{where}: migration failed ({reason(orig)})") from None
        raise
    finally:
        engine.dispose()
    return before, HEAD
