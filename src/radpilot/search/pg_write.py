"""The write path of the PostgreSQL archive: one ingest batch as one transaction (new
rows by COPY), and removal.

A batch first locks ``reports`` against other writers (``SHARE ROW EXCLUSIVE``: searches
go on), then reads the stored hashes, so no other writer can change them between that
read and the write; a killed ingest leaves the archive as it was after its last whole
batch. Row ids are given as SQLite gives them (one past the largest), so the same input
gives the same ids, and the same ties, in both backends. A replaced report keeps its
row id; its mentions, findings and embeddings are replaced in the same transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import psycopg

from radpilot.search.models import BatchResult, IngestItem
from radpilot.search.sqlite_schema import timestamp

_REPORT_COPY = (
    "COPY reports (rowid, id, text, patient_id, study_date, modality, body_part, hash, "
    "labels, ingested_at) FROM STDIN"
)
_MENTION_COPY = (
    "COPY mentions (report_rowid, finding, status, certainty, laterality, locations, change, "
    "section, span_start, span_end, sentence_start, sentence_end, historical, term, sides) "
    "FROM STDIN"
)
_FINDING_COPY = "COPY report_findings (report_rowid, finding, status, score) FROM STDIN"


def pg_text(value: str) -> str:
    """``value`` as PostgreSQL can store it: a text field cannot hold NUL, which SQLite
    keeps; it becomes U+FFFD, one character for one, so the reader's spans still point
    at the same characters (and the content hash, taken before, still matches the input)."""
    return value.replace("\x00", "\ufffd") if "\x00" in value else value


def _opt(value: str | None) -> str | None:
    return None if value is None else pg_text(value)


@dataclass(slots=True)
class _Plan:
    new_rows: list[tuple[Any, ...]] = field(default_factory=list)
    upd_rows: list[tuple[Any, ...]] = field(default_factory=list)
    replaced: list[int] = field(default_factory=list)
    # SQLite's INSERT OR IGNORE (mentions) and OR REPLACE (findings), keyed by primary key
    mentions: dict[tuple[Any, ...], tuple[Any, ...]] = field(default_factory=dict)
    findings: dict[tuple[int, str], tuple[Any, ...]] = field(default_factory=dict)
    unchanged: int = 0


def write_batch(db: psycopg.Connection[Any], items: Sequence[IngestItem]) -> BatchResult:
    """Upsert ``items`` in one transaction; the same content again is ``unchanged``."""
    with db.transaction():
        db.execute("LOCK TABLE reports IN SHARE ROW EXCLUSIVE MODE")
        ids = [pg_text(it.record.id) for it in items]
        current = {
            rid: (int(rowid), h)
            for rowid, rid, h in db.execute(
                "SELECT rowid, id, hash FROM reports WHERE id = ANY(%s)", (ids,)
            )
        }
        top = db.execute("SELECT coalesce(max(rowid), 0) FROM reports").fetchone()
        plan = _plan(items, current, int(top[0]) + 1 if top else 1, timestamp())
        old_tokens = _tokens(db, plan.replaced)
        _apply(db, plan)
        touched = plan.replaced + [int(r[0]) for r in plan.new_rows]
        db.execute(
            "UPDATE fts_totals SET rows = rows + %s, tokens = tokens + %s - %s",
            (len(plan.new_rows), _tokens(db, touched), old_tokens),
        )
    return BatchResult(
        added=len(plan.new_rows), updated=len(plan.upd_rows), unchanged=plan.unchanged
    )


def _tokens(db: psycopg.Connection[Any], rowids: list[int]) -> int:
    if not rowids:
        return 0
    row = db.execute(
        "SELECT coalesce(sum(ntok), 0) FROM reports WHERE rowid = ANY(%s)", (rowids,)
    ).fetchone()
    return int(row[0]) if row else 0


def _plan(
    items: Sequence[IngestItem], current: dict[str, tuple[int, str]], next_rowid: int, now: str
) -> _Plan:
    plan = _Plan()
    for it in items:
        r, an = it.record, it.analysis
        rid = pg_text(r.id)
        prev = current.get(rid)
        if prev is not None and prev[1] == it.hash:
            plan.unchanged += 1
            continue
        meta = (pg_text(r.text), *map(_opt, (r.patient_id, r.study_date, r.modality, r.body_part)))
        meta = (*meta, it.hash)
        if prev is None:
            rowid = next_rowid
            next_rowid += 1
            plan.new_rows.append((rowid, rid, *meta, an.labels_json, now))
        else:
            rowid = prev[0]
            plan.upd_rows.append((*meta, an.labels_json, now, rowid))
            plan.replaced.append(rowid)
        current[rid] = (rowid, it.hash)
        for m in an.mentions:
            plan.mentions.setdefault(
                (rowid, m[0], m[7], m[8]), (rowid, *m[:12], pg_text(m[12]), m[13])
            )
        for f in an.findings:
            plan.findings[(rowid, f[0])] = (rowid, *f)
    return plan


def _apply(db: psycopg.Connection[Any], plan: _Plan) -> None:
    now = plan.upd_rows[0][7] if plan.upd_rows else None
    with db.cursor() as cur:
        if plan.replaced:
            # The old versions first: each is copied before its row is replaced.
            cur.execute(
                "INSERT INTO report_versions SELECT id, version, text, patient_id, study_date, "
                "modality, body_part, hash, ingested_at, %s FROM reports WHERE rowid = ANY(%s)",
                (now, plan.replaced),
            )
            delete_derived(cur, plan.replaced)
            cur.executemany(
                "UPDATE reports SET text=%s, patient_id=%s, study_date=%s, modality=%s, "
                "body_part=%s, hash=%s, labels=%s, ingested_at=%s, version=version+1 "
                "WHERE rowid=%s",
                plan.upd_rows,
            )
        for sql, rows in (
            (_REPORT_COPY, plan.new_rows),
            (_MENTION_COPY, list(plan.mentions.values())),
            (_FINDING_COPY, list(plan.findings.values())),
        ):
            if rows:
                with cur.copy(sql) as copy:
                    for row in rows:
                        copy.write_row(row)


def delete_derived(cur: psycopg.Cursor[Any], rowids: list[int]) -> None:
    for table in ("mentions", "report_findings", "embeddings"):
        cur.execute(f"DELETE FROM {table} WHERE report_rowid = ANY(%s)", (rowids,))


def remove_report(db: psycopg.Connection[Any], report_id: str, *, user: str, reason: str) -> bool:
    """Delete one report, its earlier versions and everything derived from it, and add an
    audit row, in one transaction; False (and nothing written) when it is not stored."""
    with db.transaction(), db.cursor() as cur:
        cur.execute("LOCK TABLE reports IN SHARE ROW EXCLUSIVE MODE")
        row = cur.execute("SELECT rowid FROM reports WHERE id = %s", (report_id,)).fetchone()
        if row is None:
            return False
        rowid = int(row[0])
        cur.execute(
            "UPDATE fts_totals SET rows = rows - 1, tokens = tokens - "
            "(SELECT ntok FROM reports WHERE rowid = %s)",
            (rowid,),
        )
        delete_derived(cur, [rowid])
        cur.execute("DELETE FROM report_versions WHERE report_id = %s", (report_id,))
        cur.execute("DELETE FROM reports WHERE rowid = %s", (rowid,))
        cur.execute(
            'INSERT INTO audit(at, "user", action, report_id, reason) VALUES (%s, %s, %s, %s, %s)',
            (timestamp(), user, "remove", report_id, reason),
        )
    return True
