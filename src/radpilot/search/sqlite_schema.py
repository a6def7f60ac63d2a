"""The SQLite archive's tables, indexes, and how a connection is opened and checked.

An archive written by another schema version is refused, never read: its columns or
indexes may mean something else. A file that is not an SQLite database, an SQLite
database of another application, and a damaged archive are each refused with one line
before anything is read or written: the header is checked on every open, and a writable
open runs ``PRAGMA quick_check`` first, so ``archive add`` never writes into a damaged
file (``archive check`` opens without it, to report what is wrong).

``quick_check`` reads every page (seconds on a million reports), so it is skipped when the
file is exactly as a writable radpilot session left it after a sound session: on a clean
close the store records the file's size, times and inode beside it (``ARCHIVE-verified``);
a file changed since by anything else (a copy, a restore, an editor, an unfinished
session's write-ahead log) no longer matches and is checked again.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from radpilot.errors import InputError
from radpilot.search.models import ArchiveError

log = logging.getLogger(__name__)

SQLITE_HEADER = b"SQLite format 3\x00"

SCHEMA_VERSION = "2"
UPGRADABLE = frozenset({"1"})  # older schemas a writable open upgrades (``schema_sides``)
SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS reports (
    rowid INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    text TEXT NOT NULL,
    patient_id TEXT, study_date TEXT, modality TEXT, body_part TEXT,
    hash TEXT NOT NULL,
    version INTEGER NOT NULL DEFAULT 1,
    labels TEXT NOT NULL DEFAULT '{}',
    ingested_at TEXT NOT NULL,
    tags TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS reports_patient ON reports(patient_id, study_date);
CREATE INDEX IF NOT EXISTS reports_date ON reports(study_date);
CREATE TABLE IF NOT EXISTS report_versions (
    report_id TEXT NOT NULL, version INTEGER NOT NULL,
    text TEXT NOT NULL, patient_id TEXT, study_date TEXT, modality TEXT, body_part TEXT,
    hash TEXT NOT NULL, ingested_at TEXT NOT NULL, replaced_at TEXT NOT NULL,
    PRIMARY KEY (report_id, version)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS mentions (
    report_rowid INTEGER NOT NULL, finding TEXT NOT NULL, status TEXT NOT NULL,
    certainty TEXT NOT NULL, laterality TEXT, locations TEXT NOT NULL, change TEXT,
    section TEXT NOT NULL, span_start INTEGER NOT NULL, span_end INTEGER NOT NULL,
    sentence_start INTEGER NOT NULL, sentence_end INTEGER NOT NULL, historical INTEGER NOT NULL,
    term TEXT NOT NULL, sides TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (report_rowid, finding, span_start, span_end)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS report_findings (
    report_rowid INTEGER NOT NULL, finding TEXT NOT NULL, status TEXT NOT NULL,
    score REAL NOT NULL,
    PRIMARY KEY (report_rowid, finding)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS findings_rank ON report_findings(finding, score DESC, report_rowid DESC, status);
CREATE VIRTUAL TABLE IF NOT EXISTS reports_fts USING fts5(
    text, content='reports', content_rowid='rowid', tokenize='porter unicode61'
);
CREATE VIRTUAL TABLE IF NOT EXISTS finding_tags USING fts5(
    tags, content='reports', content_rowid='rowid', tokenize="unicode61 tokenchars '_'"
);
CREATE TABLE IF NOT EXISTS embeddings (
    report_rowid INTEGER NOT NULL, model TEXT NOT NULL, vec BLOB NOT NULL,
    PRIMARY KEY (model, report_rowid)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS audit (
    at TEXT NOT NULL, user TEXT NOT NULL, action TEXT NOT NULL,
    report_id TEXT NOT NULL, reason TEXT NOT NULL
);
"""


def timestamp() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def connect(path: Path, *, readonly: bool, create: bool, verify: bool) -> sqlite3.Connection:
    """An open, tuned connection to the archive at ``path``; ``ArchiveError`` (one line)
    for a path that cannot hold an archive, a file that is not one, or a damaged one."""
    _check_path(path, must_exist=readonly or not create)
    verify = verify and not readonly and not unchanged_since_verified(path)
    try:
        if readonly:
            db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, isolation_level=None, timeout=30)
        else:
            db = sqlite3.connect(str(path), isolation_level=None, timeout=60)
    except sqlite3.Error as exc:
        raise ArchiveError(f"{path}: cannot open the archive ({exc})") from None
    try:
        prepare(db, str(path), readonly=readonly)
        if verify:
            problems = quick_check(db)
            if problems:
                raise ArchiveError(
                    f"{path}: the archive is damaged ({problems[0]}); nothing was written. "
                    "`radpilot archive check` lists the problems; restore it from a backup",
                    damaged=True,
                )
        if not readonly:
            upgrade(db)
    except sqlite3.DatabaseError as exc:
        db.close()
        raise ArchiveError(
            f"{path}: the archive is damaged or not an archive ({exc}); nothing was written",
            damaged=True,
        ) from None
    except BaseException:
        db.close()
        raise
    return db


def _check_path(path: Path, *, must_exist: bool) -> None:
    if path.is_dir():
        raise ArchiveError(f"{path}: is a folder; name the archive file (e.g. {path}/archive.db)")
    if not path.exists():
        if must_exist:
            raise ArchiveError(f"{path}: no archive here (create one with `radpilot archive add`)")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ArchiveError(
                f"{path}: cannot create the archive's folder ({exc.strerror or exc})"
            ) from None
        return
    try:
        with path.open("rb") as fh:
            head = fh.read(len(SQLITE_HEADER))
    except OSError as exc:
        raise ArchiveError(f"{path}: cannot read the archive ({exc.strerror or exc})") from None
    if head and head != SQLITE_HEADER:
        raise ArchiveError(f"{path}: not a radpilot archive (not an SQLite database)")


def _stamp_file(path: Path) -> Path:
    return path.with_name(path.name + "-verified")


def _stamp(path: Path) -> dict[str, int]:
    st = path.stat()
    return {
        "size": st.st_size,
        "mtime_ns": st.st_mtime_ns,
        "ctime_ns": st.st_ctime_ns,
        "inode": st.st_ino,
        "device": st.st_dev,
    }


def unchanged_since_verified(path: Path) -> bool:
    """True when ``path`` is byte for byte the file a sound radpilot session closed: the
    same size, times and inode as recorded then, and no write-ahead log left over."""
    try:
        wal = path.with_name(path.name + "-wal")
        if wal.exists() and wal.stat().st_size > 0:
            return False
        recorded = json.loads(_stamp_file(path).read_text(encoding="utf-8"))
        return bool(recorded == _stamp(path))
    except (OSError, ValueError):
        return False


def record_verified(path: Path) -> None:
    """After a sound writable session closed: the file as it is now needs no check."""
    target = _stamp_file(path)
    tmp = target.with_name(target.name + ".tmp")
    try:
        tmp.write_text(json.dumps(_stamp(path)), encoding="utf-8")
        os.replace(tmp, target)
    except OSError as exc:  # a read-only folder: the next open checks again
        log.debug("cannot record %s (%s)", target, exc.strerror or exc)


def quick_check(db: sqlite3.Connection) -> list[str]:
    """SQLite's structural check of every page (not index contents); [] when sound."""
    try:
        rows = db.execute("PRAGMA quick_check").fetchall()
    except sqlite3.DatabaseError as exc:
        return [str(exc)]
    return [str(r[0]) for r in rows if r[0] != "ok"]


def prepare(db: sqlite3.Connection, location: str, *, readonly: bool) -> None:
    """Tune a fresh connection; check that it is a radpilot archive of this schema version
    and, when writable, create the schema in a new file."""
    db.execute("PRAGMA busy_timeout = 60000")
    db.execute("PRAGMA temp_store = MEMORY")
    db.execute("PRAGMA cache_size = -65536")  # 64 MiB page cache
    db.execute("PRAGMA mmap_size = 268435456")
    tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    if tables and "meta" not in tables:
        raise ArchiveError(
            f"{location}: not a radpilot archive (an SQLite database of another kind)"
        )
    if "meta" in tables:
        row = db.execute("SELECT value FROM meta WHERE key='schema'").fetchone()
        if row and row[0] != SCHEMA_VERSION and (readonly or row[0] not in UPGRADABLE):
            hint = (
                f"; upgrade it with `radpilot archive migrate --db {location}`"
                if row[0] in UPGRADABLE
                else ""
            )
            raise InputError(
                f"{location}: archive schema {row[0]}, this radpilot reads {SCHEMA_VERSION}{hint}"
            )
    if readonly:
        if not tables:
            raise ArchiveError(f"{location}: not a radpilot archive (an empty file)")
        return
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA synchronous = NORMAL")  # WAL + NORMAL: durable at checkpoints, never corrupt
    # One script, one transaction: a new archive gets every table or none. (executescript
    # takes no parameters; the timestamp is ISO digits and punctuation only.)
    db.executescript(
        f"BEGIN IMMEDIATE;\n{SCHEMA}\nINSERT OR IGNORE INTO meta(key, value) VALUES "
        f"('schema', '{SCHEMA_VERSION}'), ('created', '{timestamp()}');\nCOMMIT;"
    )


def schema_of(db: sqlite3.Connection) -> str | None:
    row = db.execute("SELECT value FROM meta WHERE key='schema'").fetchone()
    return None if row is None else str(row[0])


def upgrade(db: sqlite3.Connection) -> None:
    """Bring an archive of an older schema to ``SCHEMA_VERSION`` (after the soundness
    check: nothing is written into a damaged file)."""
    if schema_of(db) in UPGRADABLE:
        from radpilot.search.schema_sides import upgrade_sqlite

        upgrade_sqlite(db)
