"""The SQLite archive's tables, indexes and connection settings.

An archive written by another schema version is refused, never read: its columns or
indexes may mean something else.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime

from radpilot.errors import InputError

SCHEMA_VERSION = "1"
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
    term TEXT NOT NULL,
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
"""


def timestamp() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def prepare(db: sqlite3.Connection, location: str, *, readonly: bool) -> None:
    """Tune a fresh connection; when writable, also create the schema or check its version."""
    db.execute("PRAGMA busy_timeout = 60000")
    db.execute("PRAGMA temp_store = MEMORY")
    db.execute("PRAGMA cache_size = -65536")  # 64 MiB page cache
    db.execute("PRAGMA mmap_size = 268435456")
    if readonly:
        return
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA synchronous = NORMAL")  # WAL + NORMAL: durable at checkpoints, never corrupt
    have = db.execute(
        "SELECT name FROM sqlite_master WHERE type='table' AND name='meta'"
    ).fetchone()
    if have:
        row = db.execute("SELECT value FROM meta WHERE key='schema'").fetchone()
        if row and row[0] != SCHEMA_VERSION:
            raise InputError(
                f"{location}: archive schema {row[0]}, this radpilot reads {SCHEMA_VERSION}"
            )
    db.execute("BEGIN IMMEDIATE")
    try:
        db.executescript(SCHEMA)
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("BEGIN IMMEDIATE")
    db.execute(
        "INSERT OR IGNORE INTO meta(key, value) VALUES ('schema', ?), ('created', ?)",
        (SCHEMA_VERSION, timestamp()),
    )
    db.execute("COMMIT")
