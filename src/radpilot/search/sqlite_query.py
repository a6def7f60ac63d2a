"""The SQLite archive's candidate queries: which reports a query's index lookups propose.

Every constraint (statuses, attributes, filters, exclusions) is applied inside the SQL, so
a negated finding is never a candidate; ranking (``radpilot.search.engine``) only orders
what comes back.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from radpilot.errors import InputError
from radpilot.search.analysis import tag
from radpilot.search.models import CandidateQuery, FindingClause

_LIVE = ("present", "uncertain")
WALK_ROWS = 2000  # rows of a finding walked best-first before the tag index takes over


def candidates(db: sqlite3.Connection, q: CandidateQuery) -> list[tuple[int, float]]:
    if q.filters.patient is not None and (q.drive is not None or q.fts):
        # One patient has few reports: start from them (patient index), check the rest.
        required = (q.drive, *q.required) if q.drive is not None else q.required
        scoped = replace(q, drive=None, fts=None, required=required)
        return _drive(db, scoped, None, [], order="r.study_date DESC, r.rowid DESC", fts=q.fts)
    if q.drive is not None and len(q.drive.findings) > 1:
        # One indexed top-k per finding, merged: an IN list would sort every match.
        best: dict[int, float] = {}
        for fid in q.drive.findings:
            one = replace(q, drive=replace(q.drive, findings=(fid,)))
            for row, score in candidates(db, one):
                best[row] = max(score, best.get(row, score))
        ranked = sorted(best.items(), key=lambda kv: (-kv[1], -kv[0]))
        return ranked[: q.limit]
    if q.drive is not None:
        # Walk the finding's reports best-first for a bounded number of rows, checking
        # every constraint on each: right when the constraints are common. When they
        # are rare, the walk ends short, and the finding-tag index intersects instead.
        d = q.drive
        walk = (
            "(SELECT report_rowid, score FROM report_findings WHERE finding = ? AND status "
            f"IN ({_marks(d.statuses)}) ORDER BY score DESC, report_rowid DESC LIMIT ?) d "
        )
        rows = _drive(db, q, walk, [d.findings[0], *d.statuses, WALK_ROWS])
        if len(rows) >= q.limit or not _walk_truncated(db, d):
            return rows
        tags = (
            "(SELECT f.report_rowid, f.score FROM report_findings f WHERE f.report_rowid IN "
            "(SELECT rowid FROM finding_tags WHERE finding_tags MATCH ?) AND f.finding = ?) d "
        )
        return _drive(db, q, tags, [_tag_query(q), d.findings[0]])
    if q.fts:
        src = (
            "(SELECT rowid AS report_rowid, -bm25(reports_fts) AS score FROM reports_fts "
            "WHERE reports_fts MATCH ? ORDER BY bm25(reports_fts) LIMIT ?) d "
        )
        # Constraints after a bounded BM25 top-k: a lexical query asks for words first.
        return _drive(db, q, src, [q.fts, max(q.limit * 10, 2000)])
    # Filters only: newest first, straight from the reports table and its indexes.
    return _drive(db, q, None, [], order="r.study_date DESC, r.rowid DESC")


def _walk_truncated(db: sqlite3.Connection, d: FindingClause) -> bool:
    row = db.execute(
        "SELECT count(*) FROM (SELECT 1 FROM report_findings WHERE finding = ? AND status "
        f"IN ({_marks(d.statuses)}) LIMIT ?)",
        [d.findings[0], *d.statuses, WALK_ROWS + 1],
    ).fetchone()
    return bool(row[0] > WALK_ROWS)


def _drive(
    db: sqlite3.Connection,
    q: CandidateQuery,
    src: str | None,
    args: list[Any],
    order: str | None = None,
    fts: str | None = None,
) -> list[tuple[int, float]]:
    conds: list[str] = []
    rid = "d.report_rowid" if src is not None else "r.rowid"
    if fts:
        conds.append(f"{rid} IN (SELECT rowid FROM reports_fts WHERE reports_fts MATCH ?)")
        args = [*args, fts]
    if q.drive is not None and q.drive.has_attributes:
        c, a = _mention_exists(rid, q.drive)
        conds.append(c)
        args = [*args, *a]
    more, more_args = q.filters.conditions("?")
    conds += more
    args = [*args, *more_args]
    for clause in q.required:
        c, a = _finding_exists(rid, clause)
        conds.append(c)
        args = [*args, *a]
    if q.excluded_findings:
        conds.append(
            f"NOT EXISTS (SELECT 1 FROM report_findings x WHERE x.report_rowid = {rid} "
            f"AND x.finding IN ({_marks(q.excluded_findings)}) "
            "AND x.status IN ('present', 'uncertain'))"
        )
        args = [*args, *q.excluded_findings]
    if q.excluded_fts:
        conds.append(f"{rid} NOT IN (SELECT rowid FROM reports_fts WHERE reports_fts MATCH ?)")
        args = [*args, q.excluded_fts]
    if src is None:
        sql = "SELECT r.rowid, 0.0 FROM reports r "
    else:
        sql = f"SELECT d.report_rowid, d.score FROM {src} CROSS JOIN reports r ON r.rowid = {rid} "
    if conds:
        sql += "WHERE " + " AND ".join(conds) + " "
    sql += "ORDER BY " + (order or "d.score DESC, d.report_rowid DESC") + " LIMIT ?"
    try:
        rows = db.execute(sql, [*args, q.limit]).fetchall()
    except sqlite3.OperationalError as exc:
        if "fts5" in str(exc) or "MATCH" in str(exc):
            # fts_expression quotes every word, so this is a bug in radpilot, not the
            # user's query; the message may quote the query, so it is not passed on.
            raise InputError("search words cannot be used (a full-text syntax error)") from None
        raise
    return [(int(a), float(b)) for a, b in rows]


def _mention_exists(rid: str, c: FindingClause) -> tuple[str, list[Any]]:
    conds = ["m.report_rowid = " + rid, f"m.finding IN ({','.join('?' * len(c.findings))})"]
    args: list[Any] = list(c.findings)
    conds.append(f"m.status IN ({','.join('?' * len(c.statuses))})")
    args.extend(c.statuses)
    if c.sides:
        # The sides the report wrote ("bibasilar" is left and right too), not only the
        # reader's one side, and a bilateral one for a side (``FindingClause.sides``);
        # instr() probes by report, not by attribute.
        conds.append("(" + " OR ".join("instr(m.sides, ?) > 0" for _ in c.sides) + ")")
        args.extend(f"|{side}|" for side in c.sides)
    if c.change:
        conds.append("+m.change = ?")
        args.append(c.change)
    if c.location:
        conds.append("m.locations LIKE ?")
        args.append(f"%{c.location.lower()}%")
    return f"EXISTS (SELECT 1 FROM mentions m WHERE {' AND '.join(conds)})", args


def _marks(values: Sequence[object]) -> str:
    return ",".join("?" * len(values))


def _clause_tags(c: FindingClause) -> str:
    """FTS5 expression for one clause over the finding-tag index."""
    change = (c.change,) if c.change else ()
    sides: list[tuple[str, ...]] = [(x,) for x in c.sides] or [()]
    toks = [tag(f, s, *side, *change) for f in c.findings for s in c.statuses for side in sides]
    return "(" + " OR ".join(f'"{t}"' for t in toks) + ")"


def _tag_query(q: CandidateQuery) -> str:
    """Every finding constraint of a query as one FTS5 expression (locations excepted:
    they are checked on the rows)."""
    assert q.drive is not None
    expr = " AND ".join(_clause_tags(c) for c in (q.drive, *q.required))
    if q.excluded_findings:
        toks = [tag(f, s) for f in q.excluded_findings for s in _LIVE]
        expr += " NOT (" + " OR ".join(f'"{t}"' for t in toks) + ")"
    return expr


def _finding_exists(rid: str, c: FindingClause) -> tuple[str, list[Any]]:
    if c.has_attributes:
        return _mention_exists(rid, c)
    fm = ",".join("?" * len(c.findings))
    marks = ",".join("?" * len(c.statuses))
    return (
        f"EXISTS (SELECT 1 FROM report_findings y WHERE y.report_rowid = {rid} AND "
        f"y.finding IN ({fm}) AND y.status IN ({marks}))",
        [*c.findings, *c.statuses],
    )
