"""The write path of the SQLite archive: one ingest batch as one transaction.

``BEGIN IMMEDIATE`` takes the write lock before the batch reads the stored hashes, so no
other writer can change them between that read and the write; a killed ingest leaves the
archive as it was after its last whole batch. A replaced report keeps its rowid, so its
old FTS rows, mentions, findings and embeddings go in the same transaction as it does.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any

from radpilot.search.sqlite_schema import timestamp
from radpilot.search.store import BatchResult, IngestItem


def write_batch(db: sqlite3.Connection, items: Sequence[IngestItem]) -> BatchResult:
    now = timestamp()
    db.execute("BEGIN IMMEDIATE")
    try:
        current: dict[str, tuple[int, str, str]] = {}
        old_tags: dict[int, str] = {}
        ids = [it.record.id for it in items]
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            for rowid, rid, h, text, tags in db.execute(
                f"SELECT rowid, id, hash, text, tags FROM reports WHERE id IN ({marks})", chunk
            ):
                current[rid] = (rowid, h, text)
                old_tags[rowid] = tags
        next_rowid = (db.execute("SELECT max(rowid) FROM reports").fetchone()[0] or 0) + 1
        new_rows, upd_rows, fts_add, fts_del, stale = [], [], [], [], []
        tags_add: list[tuple[int, str]] = []
        tags_del: list[tuple[int, str]] = []
        mention_rows: list[tuple[Any, ...]] = []
        finding_rows: list[tuple[Any, ...]] = []
        unchanged = 0
        for it in items:
            r = it.record
            prev = current.get(r.id)
            if prev is not None and prev[1] == it.hash:
                unchanged += 1
                continue
            meta = (r.text, r.patient_id, r.study_date, r.modality, r.body_part, it.hash)
            if prev is None:
                rowid = next_rowid
                next_rowid += 1
                new_rows.append(
                    (rowid, r.id, *meta, it.analysis.labels_json, now, it.analysis.tags)
                )
            else:
                rowid = prev[0]
                upd_rows.append((*meta, it.analysis.labels_json, now, it.analysis.tags, rowid))
                fts_del.append((rowid, prev[2]))
                tags_del.append((rowid, old_tags.get(rowid, "")))
                stale.append((rowid,))
                db.execute(
                    "INSERT INTO report_versions SELECT id, version, text, patient_id, "
                    "study_date, modality, body_part, hash, ingested_at, ? "
                    "FROM reports WHERE rowid = ?",
                    (now, rowid),
                )
            current[r.id] = (rowid, it.hash, r.text)
            fts_add.append((rowid, r.text))
            tags_add.append((rowid, it.analysis.tags))
            old_tags[rowid] = it.analysis.tags
            mention_rows.extend((rowid, *m) for m in it.analysis.mentions)
            finding_rows.extend((rowid, *f) for f in it.analysis.findings)
        if fts_del:
            db.executemany(
                "INSERT INTO reports_fts(reports_fts, rowid, text) VALUES ('delete', ?, ?)",
                fts_del,
            )
            db.executemany(
                "INSERT INTO finding_tags(finding_tags, rowid, tags) VALUES ('delete', ?, ?)",
                tags_del,
            )
            db.executemany("DELETE FROM mentions WHERE report_rowid = ?", stale)
            db.executemany("DELETE FROM report_findings WHERE report_rowid = ?", stale)
            db.executemany("DELETE FROM embeddings WHERE report_rowid = ?", stale)
            db.executemany(
                "UPDATE reports SET text=?, patient_id=?, study_date=?, modality=?, "
                "body_part=?, hash=?, labels=?, ingested_at=?, tags=?, version=version+1 "
                "WHERE rowid=?",
                upd_rows,
            )
        db.executemany(
            "INSERT INTO reports(rowid, id, text, patient_id, study_date, modality, "
            "body_part, hash, labels, ingested_at, tags) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            new_rows,
        )
        db.executemany("INSERT INTO reports_fts(rowid, text) VALUES (?, ?)", fts_add)
        db.executemany("INSERT INTO finding_tags(rowid, tags) VALUES (?, ?)", tags_add)
        db.executemany(
            "INSERT OR IGNORE INTO mentions VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)", mention_rows
        )
        db.executemany("INSERT OR REPLACE INTO report_findings VALUES (?,?,?,?)", finding_rows)
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise
    return BatchResult(added=len(new_rows), updated=len(upd_rows), unchanged=unchanged)
