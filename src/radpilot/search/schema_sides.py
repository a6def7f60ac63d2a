"""Archive schema 2 (SQLite) / ``0004_mention_sides_v1`` (PostgreSQL): each mention keeps
the sides its report wrote (``analysis.written_sides``: "bibasilar" is the left and the
right base too), and sided queries match those.

An archive written before has no such column. Its rows hold everything the sides are
made of (the reader's side, the span, the sentence and the report text), so the upgrade
computes them from the stored rows in the same transaction as it adds the column, without
reading a report again, and an upgraded archive answers exactly as a re-ingested one.
SQLite upgrades on a writable open (``radpilot archive migrate --db FILE`` does only
that); PostgreSQL in its Alembic migration.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator

from radpilot.search.analysis import sides_of, tags_of, written_sides

# (report rowid, finding, span_start, span_end, sentence_start, sentence_end, laterality,
# report text): a stored mention with a side, and its report's text
SideRow = tuple[int, str, int, int, int, int, str, str]
# (sides, report rowid, finding, span_start, span_end): one mention's new sides
SideUpdate = tuple[str, int, str, int, int]

SIDED_MENTIONS = (
    "SELECT m.report_rowid, m.finding, m.span_start, m.span_end, m.sentence_start, "
    "m.sentence_end, m.laterality, r.text FROM mentions m JOIN reports r "
    "ON r.rowid = m.report_rowid WHERE m.laterality IS NOT NULL"
)


def side_updates(rows: Iterable[SideRow]) -> Iterator[SideUpdate]:
    """The written sides of each stored mention with a side."""
    for rid, fid, a, b, s0, s1, lat, text in rows:
        yield written_sides(text[s0:s1], s0, (a, b), lat), rid, fid, a, b


def upgrade_sqlite(db: sqlite3.Connection) -> None:
    """Schema 1 -> 2 in one transaction: the column, every mention's sides, and the
    finding tags of the reports whose sides grew (a new side needs its tag)."""
    db.execute("BEGIN IMMEDIATE")
    try:
        row = db.execute("SELECT value FROM meta WHERE key='schema'").fetchone()
        if row is None or row[0] != "1":  # another process upgraded it meanwhile
            db.execute("ROLLBACK")
            return
        db.execute("ALTER TABLE mentions ADD COLUMN sides TEXT NOT NULL DEFAULT ''")
        updates = list(side_updates(db.execute(SIDED_MENTIONS)))
        db.executemany(
            "UPDATE mentions SET sides = ? WHERE report_rowid = ? AND finding = ? AND "
            "span_start = ? AND span_end = ?",
            updates,
        )
        _retag(db, sorted({u[1] for u in updates if len(sides_of(u[0])) > 1}))
        db.execute("UPDATE meta SET value = '2' WHERE key = 'schema'")
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise


def _retag(db: sqlite3.Connection, rowids: list[int]) -> None:
    for rid in rowids:
        (old,) = db.execute("SELECT tags FROM reports WHERE rowid = ?", (rid,)).fetchone()
        findings = db.execute(
            "SELECT finding, status, score FROM report_findings WHERE report_rowid = ?", (rid,)
        ).fetchall()
        ments = db.execute(
            "SELECT finding, status, sides, change FROM mentions WHERE report_rowid = ?", (rid,)
        ).fetchall()
        new = tags_of(findings, ments)
        if new != old:
            db.execute(
                "INSERT INTO finding_tags(finding_tags, rowid, tags) VALUES ('delete', ?, ?)",
                (rid, old),
            )
            db.execute("UPDATE reports SET tags = ? WHERE rowid = ?", (new, rid))
            db.execute("INSERT INTO finding_tags(rowid, tags) VALUES (?, ?)", (rid, new))
