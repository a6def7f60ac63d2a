"""The write path of the SQLite archive: one ingest batch as one transaction, and removal.

``BEGIN IMMEDIATE`` takes the write lock before the batch reads the stored hashes, so no
other writer can change them between that read and the write; a killed ingest leaves the
archive as it was after its last whole batch. A replaced report keeps its rowid, so its
old FTS rows, mentions, findings and embeddings go in the same transaction as it does.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from radpilot.search.models import BatchResult, IngestItem
from radpilot.search.sqlite_schema import timestamp

_CHUNK = 500


@contextmanager
def _transaction(db: sqlite3.Connection) -> Iterator[None]:
    db.execute("BEGIN IMMEDIATE")
    try:
        yield
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise


@dataclass(slots=True)
class _Stored:
    rowid: int
    hash: str
    text: str
    tags: str


@dataclass(slots=True)
class _Plan:
    """Every row a batch adds, replaces or deletes, gathered before one executemany each."""

    new_rows: list[tuple[Any, ...]] = field(default_factory=list)
    upd_rows: list[tuple[Any, ...]] = field(default_factory=list)
    versions: list[tuple[str, int]] = field(default_factory=list)  # (replaced_at, rowid)
    fts_add: list[tuple[int, str]] = field(default_factory=list)
    fts_del: list[tuple[int, str]] = field(default_factory=list)
    tags_add: list[tuple[int, str]] = field(default_factory=list)
    tags_del: list[tuple[int, str]] = field(default_factory=list)
    stale: list[tuple[int]] = field(default_factory=list)
    mention_rows: list[tuple[Any, ...]] = field(default_factory=list)
    finding_rows: list[tuple[Any, ...]] = field(default_factory=list)
    unchanged: int = 0


def write_batch(db: sqlite3.Connection, items: Sequence[IngestItem]) -> BatchResult:
    """Upsert ``items`` in one transaction; the same content again is ``unchanged``."""
    with _transaction(db):
        current = _current(db, [it.record.id for it in items])
        next_rowid = (db.execute("SELECT max(rowid) FROM reports").fetchone()[0] or 0) + 1
        plan = _plan(items, current, next_rowid, timestamp())
        _apply(db, plan)
    return BatchResult(
        added=len(plan.new_rows), updated=len(plan.upd_rows), unchanged=plan.unchanged
    )


def _current(db: sqlite3.Connection, ids: list[str]) -> dict[str, _Stored]:
    current: dict[str, _Stored] = {}
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        marks = ",".join("?" * len(chunk))
        for rowid, rid, h, text, tags in db.execute(
            f"SELECT rowid, id, hash, text, tags FROM reports WHERE id IN ({marks})", chunk
        ):
            current[rid] = _Stored(rowid, h, text, tags)
    return current


def _plan(
    items: Sequence[IngestItem], current: dict[str, _Stored], next_rowid: int, now: str
) -> _Plan:
    plan = _Plan()
    for it in items:
        r, an = it.record, it.analysis
        prev = current.get(r.id)
        if prev is not None and prev.hash == it.hash:
            plan.unchanged += 1
            continue
        meta = (r.text, r.patient_id, r.study_date, r.modality, r.body_part, it.hash)
        if prev is None:
            rowid = next_rowid
            next_rowid += 1
            plan.new_rows.append((rowid, r.id, *meta, an.labels_json, now, an.tags))
        else:
            rowid = prev.rowid
            plan.upd_rows.append((*meta, an.labels_json, now, an.tags, rowid))
            plan.fts_del.append((rowid, prev.text))
            plan.tags_del.append((rowid, prev.tags))
            plan.stale.append((rowid,))
            plan.versions.append((now, rowid))
        current[r.id] = _Stored(rowid, it.hash, r.text, an.tags)
        plan.fts_add.append((rowid, r.text))
        plan.tags_add.append((rowid, an.tags))
        plan.mention_rows.extend((rowid, *m) for m in an.mentions)
        plan.finding_rows.extend((rowid, *f) for f in an.findings)
    return plan


def _apply(db: sqlite3.Connection, plan: _Plan) -> None:
    if plan.fts_del:
        # The old versions first: each is copied before its row is replaced.
        db.executemany(
            "INSERT INTO report_versions SELECT id, version, text, patient_id, study_date, "
            "modality, body_part, hash, ingested_at, ? FROM reports WHERE rowid = ?",
            plan.versions,
        )
        db.executemany(
            "INSERT INTO reports_fts(reports_fts, rowid, text) VALUES ('delete', ?, ?)",
            plan.fts_del,
        )
        db.executemany(
            "INSERT INTO finding_tags(finding_tags, rowid, tags) VALUES ('delete', ?, ?)",
            plan.tags_del,
        )
        _delete_derived(db, plan.stale)
        db.executemany(
            "UPDATE reports SET text=?, patient_id=?, study_date=?, modality=?, "
            "body_part=?, hash=?, labels=?, ingested_at=?, tags=?, version=version+1 "
            "WHERE rowid=?",
            plan.upd_rows,
        )
    db.executemany(
        "INSERT INTO reports(rowid, id, text, patient_id, study_date, modality, "
        "body_part, hash, labels, ingested_at, tags) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
        plan.new_rows,
    )
    db.executemany("INSERT INTO reports_fts(rowid, text) VALUES (?, ?)", plan.fts_add)
    db.executemany("INSERT INTO finding_tags(rowid, tags) VALUES (?, ?)", plan.tags_add)
    db.executemany(
        "INSERT OR IGNORE INTO mentions VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", plan.mention_rows
    )
    db.executemany("INSERT OR REPLACE INTO report_findings VALUES (?,?,?,?)", plan.finding_rows)


def _delete_derived(db: sqlite3.Connection, rowids: list[tuple[int]]) -> None:
    db.executemany("DELETE FROM mentions WHERE report_rowid = ?", rowids)
    db.executemany("DELETE FROM report_findings WHERE report_rowid = ?", rowids)
    db.executemany("DELETE FROM embeddings WHERE report_rowid = ?", rowids)


def remove_report(db: sqlite3.Connection, report_id: str, *, user: str, reason: str) -> bool:
    """Delete one report, its earlier versions and everything derived from it, and add an
    audit row, in one transaction; False (and nothing written) when it is not stored."""
    with _transaction(db):
        row = db.execute(
            "SELECT rowid, text, tags FROM reports WHERE id = ?", (report_id,)
        ).fetchone()
        if row is None:
            return False
        rowid, text, tags = row
        db.execute(
            "INSERT INTO reports_fts(reports_fts, rowid, text) VALUES ('delete', ?, ?)",
            (rowid, text),
        )
        db.execute(
            "INSERT INTO finding_tags(finding_tags, rowid, tags) VALUES ('delete', ?, ?)",
            (rowid, tags),
        )
        _delete_derived(db, [(rowid,)])
        db.execute("DELETE FROM report_versions WHERE report_id = ?", (report_id,))
        db.execute("DELETE FROM reports WHERE rowid = ?", (rowid,))
        db.execute(
            "INSERT INTO audit(at, user, action, report_id, reason) VALUES (?, ?, ?, ?, ?)",
            (timestamp(), user, "remove", report_id, reason),
        )
    return True
