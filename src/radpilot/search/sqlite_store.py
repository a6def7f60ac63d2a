"""The embedded archive backend: one SQLite file in WAL mode, FTS5 for BM25.

WAL lets searches run while an ingest writes. Each batch is one ``BEGIN IMMEDIATE``
transaction, so a killed ingest leaves the archive as it was after its last whole batch.
The schema lives in ``sqlite_schema`` and the batch write in ``sqlite_write``; this
module holds the store itself and its read and query path.
"""

from __future__ import annotations

import json
import logging
import math
import re
import sqlite3
from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from radpilot.errors import InputError
from radpilot.search import sqlite_write
from radpilot.search.analysis import tag
from radpilot.search.sqlite_schema import prepare
from radpilot.search.store import (
    BatchResult,
    CandidateQuery,
    FindingClause,
    IngestItem,
    StoredMention,
    StoredReport,
    StoreStats,
)

log = logging.getLogger(__name__)

_REPORT_COLS = (
    "rowid, id, text, patient_id, study_date, modality, body_part, version, hash, labels, "
    "ingested_at"
)
_LIVE = ("present", "uncertain")
WALK_ROWS = 2000  # rows of a finding walked best-first before the tag index takes over


class SQLiteStore:
    """``ArchiveStore`` on one SQLite file."""

    def __init__(self, path: Path, *, readonly: bool = False) -> None:
        self.location = str(path)
        if readonly:
            if not path.exists():
                raise InputError(
                    f"{path}: no archive here (create one with `radpilot archive add`)"
                )
            uri = f"file:{path}?mode=ro"
            self._db = sqlite3.connect(uri, uri=True, isolation_level=None, timeout=30)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(str(path), isolation_level=None, timeout=60)
        try:
            prepare(self._db, self.location, readonly=readonly)
        except sqlite3.DatabaseError as exc:
            self._db.close()
            raise InputError(f"{path}: not a radpilot archive ({exc})") from None

    # ---------------------------------------------------------------- ingest
    def existing(self, ids: Sequence[str]) -> dict[str, str]:
        out: dict[str, str] = {}
        for start in range(0, len(ids), 500):
            chunk = list(ids[start : start + 500])
            marks = ",".join("?" * len(chunk))
            for rid, h in self._db.execute(
                f"SELECT id, hash FROM reports WHERE id IN ({marks})", chunk
            ):
                out[rid] = h
        return out

    def write_batch(self, items: Sequence[IngestItem]) -> BatchResult:
        return sqlite_write.write_batch(self._db, items)

    # ---------------------------------------------------------------- search
    def candidates(self, q: CandidateQuery) -> list[tuple[int, float]]:
        if q.filters.patient is not None and (q.drive is not None or q.fts):
            # One patient has few reports: start from them (patient index), check the rest.
            required = (q.drive, *q.required) if q.drive is not None else q.required
            scoped = replace(q, drive=None, fts=None, required=required)
            return self._drive(scoped, None, [], order="r.study_date DESC, r.rowid DESC", fts=q.fts)
        if q.drive is not None and len(q.drive.findings) > 1:
            # One indexed top-k per finding, merged: an IN list would sort every match.
            best: dict[int, float] = {}
            for fid in q.drive.findings:
                one = replace(q, drive=replace(q.drive, findings=(fid,)))
                for row, score in self.candidates(one):
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
            rows = self._drive(q, walk, [d.findings[0], *d.statuses, WALK_ROWS])
            if len(rows) >= q.limit or not self._walk_truncated(d):
                return rows
            tags = (
                "(SELECT f.report_rowid, f.score FROM report_findings f WHERE f.report_rowid IN "
                "(SELECT rowid FROM finding_tags WHERE finding_tags MATCH ?) AND f.finding = ?) d "
            )
            return self._drive(q, tags, [_tag_query(q), d.findings[0]])
        if q.fts:
            src = (
                "(SELECT rowid AS report_rowid, -bm25(reports_fts) AS score FROM reports_fts "
                "WHERE reports_fts MATCH ? ORDER BY bm25(reports_fts) LIMIT ?) d "
            )
            # Constraints after a bounded BM25 top-k: a lexical query asks for words first.
            return self._drive(q, src, [q.fts, max(q.limit * 10, 2000)])
        # Filters only: newest first, straight from the reports table and its indexes.
        return self._drive(q, None, [], order="r.study_date DESC, r.rowid DESC")

    def _walk_truncated(self, d: FindingClause) -> bool:
        row = self._db.execute(
            "SELECT count(*) FROM (SELECT 1 FROM report_findings WHERE finding = ? AND status "
            f"IN ({_marks(d.statuses)}) LIMIT ?)",
            [d.findings[0], *d.statuses, WALK_ROWS + 1],
        ).fetchone()
        return bool(row[0] > WALK_ROWS)

    def _drive(
        self,
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
        flt = q.filters
        for col, op, val in (
            ("study_date", ">=", flt.since),
            ("study_date", "<=", flt.until),
            ("patient_id", "=", flt.patient),
            ("modality", "=", flt.modality),
            ("body_part", "=", flt.body_part),
        ):
            if val is not None:
                conds.append(f"r.{col} {op} ?")
                args = [*args, val]
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
            rows = self._db.execute(sql, [*args, q.limit]).fetchall()
        except sqlite3.OperationalError as exc:
            if "fts5" in str(exc) or "MATCH" in str(exc):
                raise InputError(f"search words cannot be used ({exc})") from None
            raise
        return [(int(a), float(b)) for a, b in rows]

    def lexical_scores(self, rowids: Sequence[int], words: Sequence[str]) -> dict[int, float]:
        # FTS5's bm25() on a few hundred given rows costs ~0.3 ms a row (it loads every
        # position list); an IDF-weighted whole-word match on the rows' own text is ~100x
        # cheaper and ranks the same words the same way.
        weights: list[tuple[re.Pattern[str], float]] = []
        total = max(1, self._db.execute("SELECT max(rowid) FROM reports").fetchone()[0] or 1)
        for w in words:
            expr = '"' + w.replace('"', '""') + '"'
            try:
                df = self._db.execute(
                    "SELECT count(*) FROM reports_fts WHERE reports_fts MATCH ?", (expr,)
                ).fetchone()[0]
            except sqlite3.OperationalError:
                continue
            if df:
                weights.append((word_pattern(w), math.log(1 + (total - df + 0.5) / (df + 0.5))))
        norm = sum(wt for _, wt in weights)
        out: dict[int, float] = {}
        if not norm:
            return out
        for start in range(0, len(rowids), 500):
            chunk = list(rowids[start : start + 500])
            marks = ",".join("?" * len(chunk))
            for rid, text in self._db.execute(
                f"SELECT rowid, text FROM reports WHERE rowid IN ({marks})", chunk
            ):
                score = sum(wt for pat, wt in weights if pat.search(text))
                if score:
                    out[int(rid)] = score / norm
        return out

    def literal_hits(
        self, rowids: Sequence[int], findings: Sequence[str], status: str, head: str
    ) -> set[int]:
        out: set[int] = set()
        fm = ",".join("?" * len(findings))
        for start in range(0, len(rowids), 500):
            chunk = list(rowids[start : start + 500])
            marks = ",".join("?" * len(chunk))
            for (rid,) in self._db.execute(
                f"SELECT DISTINCT report_rowid FROM mentions WHERE report_rowid IN ({marks}) "
                f"AND finding IN ({fm}) AND status = ? AND instr(term, ?) > 0",
                [*chunk, *findings, status, head],
            ):
                out.add(int(rid))
        return out

    def finding_status(
        self, rowids: Sequence[int], findings: Sequence[str]
    ) -> dict[int, dict[str, tuple[str, float]]]:
        out: dict[int, dict[str, tuple[str, float]]] = {}
        if not findings:
            return out
        for start in range(0, len(rowids), 500):
            chunk = list(rowids[start : start + 500])
            for rid, fid, status, score in self._db.execute(
                "SELECT report_rowid, finding, status, score FROM report_findings WHERE "
                f"report_rowid IN ({_marks(chunk)}) AND finding IN ({_marks(findings)})",
                [*chunk, *findings],
            ):
                out.setdefault(int(rid), {})[fid] = (status, float(score))
        return out

    def reports(self, rowids: Sequence[int]) -> dict[int, StoredReport]:
        out: dict[int, StoredReport] = {}
        for start in range(0, len(rowids), 500):
            chunk = list(rowids[start : start + 500])
            marks = ",".join("?" * len(chunk))
            for row in self._db.execute(
                f"SELECT {_REPORT_COLS} FROM reports WHERE rowid IN ({marks})", chunk
            ):
                rep = _report(row)
                out[rep.rowid] = rep
        return out

    def mentions(
        self, rowids: Sequence[int], findings: Sequence[str] | None = None
    ) -> dict[int, list[StoredMention]]:
        out: dict[int, list[StoredMention]] = {}
        for start in range(0, len(rowids), 500):
            chunk = list(rowids[start : start + 500])
            sql = (
                "SELECT report_rowid, finding, status, certainty, laterality, locations, change, "
                "section, span_start, span_end, sentence_start, sentence_end, historical, term "
                f"FROM mentions WHERE report_rowid IN ({','.join('?' * len(chunk))})"
            )
            args: list[Any] = list(chunk)
            if findings is not None:
                sql += f" AND finding IN ({','.join('?' * len(findings))})"
                args.extend(findings)
            for row in self._db.execute(sql + " ORDER BY report_rowid, span_start", args):
                out.setdefault(int(row[0]), []).append(
                    StoredMention(
                        finding=row[1],
                        status=row[2],
                        certainty=row[3],
                        laterality=row[4],
                        locations=tuple(x for x in row[5].split("|") if x),
                        change=row[6],
                        section=row[7],
                        span=(row[8], row[9]),
                        sentence=(row[10], row[11]),
                        historical=bool(row[12]),
                        span_text=row[13],
                    )
                )
        return out

    def get(self, report_id: str) -> StoredReport | None:
        row = self._db.execute(
            f"SELECT {_REPORT_COLS} FROM reports WHERE id = ?", (report_id,)
        ).fetchone()
        return _report(row) if row else None

    def versions(self, report_id: str) -> list[dict[str, Any]]:
        cols = ("version", "text", "patient_id", "study_date", "modality", "body_part", "hash")
        rows = self._db.execute(
            f"SELECT {', '.join(cols)}, ingested_at, replaced_at FROM report_versions "
            "WHERE report_id = ? ORDER BY version",
            (report_id,),
        )
        return [dict(zip((*cols, "ingested_at", "replaced_at"), r, strict=True)) for r in rows]

    def present_findings(self, rowids: Sequence[int]) -> dict[int, list[str]]:
        out: dict[int, list[str]] = {}
        for start in range(0, len(rowids), 500):
            chunk = list(rowids[start : start + 500])
            marks = ",".join("?" * len(chunk))
            for rid, fid in self._db.execute(
                f"SELECT report_rowid, finding FROM report_findings WHERE report_rowid IN "
                f"({marks}) AND status = 'present' ORDER BY report_rowid, score DESC",
                chunk,
            ):
                out.setdefault(int(rid), []).append(fid)
        return out

    def stats(self) -> StoreStats:
        db = self._db
        one = lambda sql: db.execute(sql).fetchone()  # noqa: E731
        emb = dict(db.execute("SELECT model, count(*) FROM embeddings GROUP BY model").fetchall())
        present = dict(
            db.execute(
                "SELECT finding, count(*) FROM report_findings WHERE status = 'present' "
                "GROUP BY finding ORDER BY count(*) DESC"
            ).fetchall()
        )
        lo, hi = one("SELECT min(study_date), max(study_date) FROM reports")
        page = one("PRAGMA page_count")[0] * one("PRAGMA page_size")[0]
        return StoreStats(
            reports=one("SELECT count(*) FROM reports")[0],
            versions=one("SELECT count(*) FROM report_versions")[0],
            mentions=one("SELECT count(*) FROM mentions")[0],
            patients=one("SELECT count(DISTINCT patient_id) FROM reports")[0],
            embeddings=emb,
            findings_present=present,
            date_range=(lo, hi),
            size_bytes=page,
        )

    # ------------------------------------------------------------ embeddings
    def missing_embeddings(self, model: str, limit: int, after: int = 0) -> list[tuple[int, str]]:
        rows = self._db.execute(
            "SELECT r.rowid, r.text FROM reports r WHERE r.rowid > ? AND NOT EXISTS (SELECT 1 "
            "FROM embeddings e WHERE e.model = ? AND e.report_rowid = r.rowid) "
            "ORDER BY r.rowid LIMIT ?",
            (after, model, limit),
        )
        return [(int(a), str(b)) for a, b in rows]

    def put_embeddings(self, model: str, rows: Sequence[tuple[int, np.ndarray]]) -> None:
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            db.executemany(
                "INSERT OR REPLACE INTO embeddings(report_rowid, model, vec) VALUES (?, ?, ?)",
                [(rid, model, np.asarray(v, dtype=np.float16).tobytes()) for rid, v in rows],
            )
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    def embedding_count(self, model: str) -> int:
        row = self._db.execute("SELECT count(*) FROM embeddings WHERE model = ?", (model,))
        return int(row.fetchone()[0])

    def embeddings_for(self, model: str, rowids: Sequence[int]) -> dict[int, np.ndarray]:
        out: dict[int, np.ndarray] = {}
        for start in range(0, len(rowids), 500):
            chunk = list(rowids[start : start + 500])
            marks = ",".join("?" * len(chunk))
            for rid, blob in self._db.execute(
                f"SELECT report_rowid, vec FROM embeddings WHERE model = ? AND report_rowid IN "
                f"({marks})",
                [model, *chunk],
            ):
                out[int(rid)] = np.frombuffer(blob, dtype=np.float16).astype(np.float32)
        return out

    def iter_embeddings(
        self, model: str, chunk: int = 20000
    ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        last = -1
        while True:
            rows = self._db.execute(
                "SELECT report_rowid, vec FROM embeddings WHERE model = ? AND report_rowid > ? "
                "ORDER BY report_rowid LIMIT ?",
                (model, last, chunk),
            ).fetchall()
            if not rows:
                return
            ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
            mat = np.frombuffer(b"".join(r[1] for r in rows), dtype=np.float16)
            yield ids, mat.reshape(len(rows), -1).astype(np.float32)
            last = int(ids[-1])

    def integrity_errors(self) -> list[str]:
        """Cross-table consistency checks (used by tests and ``archive stats --check``)."""
        db = self._db
        errs = [r[0] for r in db.execute("PRAGMA integrity_check") if r[0] != "ok"]
        for fts in ("reports_fts", "finding_tags"):
            try:
                db.execute(f"INSERT INTO {fts}({fts}, rank) VALUES ('integrity-check', 1)")
            except sqlite3.DatabaseError as exc:
                errs.append(f"{fts}: {exc}")
        for what, sql in (
            (
                "mentions without a report",
                "SELECT count(*) FROM mentions m WHERE NOT EXISTS "
                "(SELECT 1 FROM reports r WHERE r.rowid = m.report_rowid)",
            ),
            (
                "findings without a report",
                "SELECT count(*) FROM report_findings f WHERE NOT "
                "EXISTS (SELECT 1 FROM reports r WHERE r.rowid = f.report_rowid)",
            ),
        ):
            n = db.execute(sql).fetchone()[0]
            if n:
                errs.append(f"{n} {what}")
        return errs

    def close(self) -> None:
        self._db.close()


def _report(row: tuple[Any, ...]) -> StoredReport:
    return StoredReport(
        rowid=int(row[0]),
        id=row[1],
        text=row[2],
        patient_id=row[3],
        study_date=row[4],
        modality=row[5],
        body_part=row[6],
        version=int(row[7]),
        hash=row[8],
        labels=json.loads(row[9]),
        ingested_at=row[10],
    )


def _mention_exists(rid: str, c: FindingClause) -> tuple[str, list[Any]]:
    conds = ["m.report_rowid = " + rid, f"m.finding IN ({','.join('?' * len(c.findings))})"]
    args: list[Any] = list(c.findings)
    conds.append(f"m.status IN ({','.join('?' * len(c.statuses))})")
    args.extend(c.statuses)
    if c.laterality:
        conds.append("+m.laterality = ?")  # unary +: probe by report, not by attribute
        args.append(c.laterality)
    if c.change:
        conds.append("+m.change = ?")
        args.append(c.change)
    if c.location:
        conds.append("m.locations LIKE ?")
        args.append(f"%{c.location.lower()}%")
    return f"EXISTS (SELECT 1 FROM mentions m WHERE {' AND '.join(conds)})", args


def word_pattern(word: str) -> re.Pattern[str]:
    """A whole word or phrase, any ending ("fracture" finds "fractures", not "refracture")."""
    parts = [re.escape(p) for p in word.lower().split()]
    if parts and len(parts[-1]) > 4 and parts[-1].endswith(("s", "y")):
        parts[-1] = parts[-1][:-1]
    return re.compile(r"\b" + r"\s+".join(parts), re.IGNORECASE)


def _marks(values: Sequence[object]) -> str:
    return ",".join("?" * len(values))


def _clause_tags(c: FindingClause) -> str:
    """FTS5 expression for one clause over the finding-tag index."""
    attrs = tuple(v for v in (c.laterality, c.change) if v)
    toks = [tag(f, s, *attrs) for f in c.findings for s in c.statuses]
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
