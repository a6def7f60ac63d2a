"""The embedded archive backend: one SQLite file in WAL mode, FTS5 for BM25.

WAL lets searches run while an ingest writes. Each batch is one ``BEGIN IMMEDIATE``
transaction, so a killed ingest leaves the archive as it was after its last whole batch.
The schema and the checks on open live in ``sqlite_schema``, the batch write and removal
in ``sqlite_write``, the candidate queries in ``sqlite_query``; this module holds the
store itself, its read path and its integrity check. Every SQLite error becomes one
``ArchiveError`` line naming the archive (``_guarded``), never a traceback.
"""

from __future__ import annotations

import functools
import logging
import math
import re
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from radpilot.reports.morphology import stem
from radpilot.search import sqlite_query, sqlite_write
from radpilot.search.analysis import (
    UNSTATED,
    SentenceMask,
    asserted_from_sentences,
    stated_from_sentences,
)
from radpilot.search.models import (
    ArchiveError,
    AuditEntry,
    BatchResult,
    CandidateQuery,
    IngestItem,
    StoredMention,
    StoredReport,
    StoreStats,
)
from radpilot.search.sqlite_schema import connect, quick_check, record_verified

log = logging.getLogger(__name__)

_REPORT_COLS = (
    "rowid, id, text, patient_id, study_date, modality, body_part, version, hash, labels, "
    "ingested_at"
)
_MENTION_COLS = (
    "report_rowid, finding, status, certainty, laterality, locations, change, section, "
    "span_start, span_end, sentence_start, sentence_end, historical, term, sides"
)
_CHUNK = 500  # ids per IN (...) list: well under SQLite's bound-parameter limit
_HINTS = {
    "database is locked": "busy: another process holds the write lock (waited 60 s)",
    "malformed": "damaged; `radpilot archive check` lists the problems",
    "readonly": "read-only here (no permission to write the file or its folder)",
    "disk is full": "the disk is full",
}

F = TypeVar("F", bound=Callable[..., Any])
_UNSTATED = sorted(UNSTATED)  # the mention statuses that state nothing


def _reason(exc: sqlite3.Error) -> str:
    text = str(exc)
    return next((f"{text}: {hint}" for key, hint in _HINTS.items() if key in text), text)


def _guarded(method: F) -> F:
    """SQLite errors (locked, damaged, disk full) as one line naming the archive."""

    @functools.wraps(method)
    def wrapper(self: SQLiteStore, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        except sqlite3.Error as exc:
            damaged = "malformed" in str(exc) or "not a database" in str(exc)
            self.sound = self.sound and not damaged
            raise ArchiveError(f"{self.location}: {_reason(exc)}", damaged=damaged) from None

    return wrapper  # type: ignore[return-value]


def _chunks(values: Sequence[Any]) -> Iterator[list[Any]]:
    for start in range(0, len(values), _CHUNK):
        yield list(values[start : start + _CHUNK])


def _marks(values: Sequence[object]) -> str:
    return ",".join("?" * len(values))


def open_sqlite(
    location: str, *, readonly: bool = False, create: bool = True, verify: bool = True
) -> SQLiteStore:
    """The ``sqlite.v1`` archive backend (registered in ``radpilot.registry``)."""
    return SQLiteStore(Path(location), readonly=readonly, create=create, verify=verify)


def idf_of(
    words: Sequence[str], total: int, doc_count: Callable[[str], int | None]
) -> dict[str, float]:
    """``ArchiveStore.word_idf`` from a backend's count of the reports holding one word
    (None where its full-text syntax cannot read it), both backends alike."""
    out: dict[str, float] = {}
    for w in words:
        df = doc_count(w)
        if df:
            out[w] = math.log(1 + (total - df + 0.5) / (df + 0.5))
    return out


class SQLiteStore:
    """``ArchiveStore`` on one SQLite file."""

    def __init__(
        self, path: Path, *, readonly: bool = False, create: bool = True, verify: bool = True
    ) -> None:
        self.location = str(path)
        self.readonly = readonly
        self._path = path
        self._db = connect(path, readonly=readonly, create=create, verify=verify)
        # Checked (or unchanged since a sound session) and no damage met since: a clean
        # close records the file so that the next writable open need not check it again.
        self.sound = verify and not readonly

    # ---------------------------------------------------------------- ingest
    @_guarded
    def existing(self, ids: Sequence[str]) -> dict[str, str]:
        out: dict[str, str] = {}
        for chunk in _chunks(ids):
            sql = f"SELECT id, hash FROM reports WHERE id IN ({_marks(chunk)})"
            out.update(self._db.execute(sql, chunk))
        return out

    @_guarded
    def write_batch(self, items: Sequence[IngestItem]) -> BatchResult:
        return sqlite_write.write_batch(self._db, items)

    @_guarded
    def remove(self, report_id: str, *, user: str, reason: str) -> bool:
        return sqlite_write.remove_report(self._db, report_id, user=user, reason=reason)

    # ---------------------------------------------------------------- search
    @_guarded
    def candidates(self, q: CandidateQuery) -> list[tuple[int, float]]:
        return sqlite_query.candidates(self._db, q)

    @_guarded
    def word_idf(self, words: Sequence[str]) -> dict[str, float]:
        total = max(1, self._db.execute("SELECT max(rowid) FROM reports").fetchone()[0] or 1)
        return idf_of(words, total, self._doc_count)

    def _doc_count(self, word: str) -> int | None:
        expr = '"' + word.replace('"', '""') + '"'
        try:
            row = self._db.execute(
                "SELECT count(*) FROM reports_fts WHERE reports_fts MATCH ?", (expr,)
            ).fetchone()
        except sqlite3.OperationalError:
            return None  # a word FTS5 cannot read is in no report
        return int(row[0])

    @_guarded
    def lexical_scores(
        self, rowids: Sequence[int], words: Sequence[str], *, asserted: bool = False
    ) -> dict[int, float]:
        # FTS5's bm25() on a few hundred given rows costs ~0.3 ms a row (it loads every
        # position list); an IDF-weighted whole-word match on the rows' own text is ~100x
        # cheaper and ranks the same words the same way.
        weights = [(word_pattern(w), wt) for w, wt in self.word_idf(words).items()]
        norm = sum(wt for _, wt in weights)
        out: dict[int, float] = {}
        if not norm:
            return out
        mask = asserted_from_sentences if asserted else stated_from_sentences
        for rid, text in self._masked(rowids, mask).items():
            score = sum(wt for pat, wt in weights if pat.search(text))
            if score:
                out[rid] = score / norm
        return out

    @_guarded
    def stated_matches(self, rowids: Sequence[int], fts: str) -> set[int]:
        # The same FTS5 expression over what each row states, in an in-memory index with
        # the archive's own tokenizer: the match means what it means in the archive
        # (stems included), only negated and context sentences no longer count.
        db = self._db
        db.execute(
            "CREATE VIRTUAL TABLE IF NOT EXISTS temp.stated "
            "USING fts5(text, tokenize='porter unicode61')"
        )
        texts = self._masked(rowids, stated_from_sentences)
        db.execute("BEGIN")
        try:
            db.executemany("INSERT INTO temp.stated(rowid, text) VALUES (?, ?)", texts.items())
            rows = db.execute("SELECT rowid FROM temp.stated WHERE stated MATCH ?", (fts,))
            out = {int(r[0]) for r in rows}
        finally:
            db.execute("DELETE FROM temp.stated")
            db.execute("COMMIT")
        return out

    @_guarded
    def asserted_texts(self, rowids: Sequence[int]) -> dict[int, str]:
        return self._masked(rowids, asserted_from_sentences)

    def _masked(
        self, rowids: Sequence[int], mask: Callable[[str, list[SentenceMask]], str]
    ) -> dict[int, str]:
        # The masks only change sentences that hold an absent or context mention: SQLite
        # groups the mentions by sentence and returns those alone, one row a sentence
        # (stated words: only sentences whose every mention is unstated).
        texts: dict[int, str] = {}
        masks: dict[int, list[SentenceMask]] = {}
        having = "max(u) = 1" if mask is asserted_from_sentences else "min(u) = 1"
        for chunk in _chunks(rowids):
            marks = _marks(chunk)
            for rid, text in self._db.execute(
                f"SELECT rowid, text FROM reports WHERE rowid IN ({marks})", chunk
            ):
                texts[int(rid)] = text
            for rid, a, b, every, spans in self._db.execute(
                "SELECT report_rowid, sentence_start, sentence_end, min(u), group_concat("
                "CASE WHEN u THEN span_start || ',' || span_end END, ' ') FROM (SELECT "
                "report_rowid, sentence_start, sentence_end, span_start, span_end, status IN "
                f"({_marks(_UNSTATED)}) AS u FROM mentions WHERE report_rowid IN ({marks})) "
                f"GROUP BY report_rowid, sentence_start, sentence_end HAVING {having}",
                [*_UNSTATED, *chunk],
            ):
                pairs = [p.split(",") for p in spans.split()]
                masks.setdefault(int(rid), []).append(
                    ((a, b), bool(every), [(int(x), int(y)) for x, y in pairs])
                )
        return {rid: mask(t, masks.get(rid, [])) for rid, t in texts.items()}

    @_guarded
    def literal_hits(
        self, rowids: Sequence[int], findings: Sequence[str], status: str, head: str
    ) -> set[int]:
        out: set[int] = set()
        for chunk in _chunks(rowids):
            for (rid,) in self._db.execute(
                f"SELECT DISTINCT report_rowid FROM mentions WHERE report_rowid IN "
                f"({_marks(chunk)}) AND finding IN ({_marks(findings)}) AND status = ? "
                "AND instr(term, ?) > 0",
                [*chunk, *findings, status, head],
            ):
                out.add(int(rid))
        return out

    @_guarded
    def finding_status(
        self, rowids: Sequence[int], findings: Sequence[str]
    ) -> dict[int, dict[str, tuple[str, float]]]:
        out: dict[int, dict[str, tuple[str, float]]] = {}
        if not findings:
            return out
        for chunk in _chunks(rowids):
            for rid, fid, status, score in self._db.execute(
                "SELECT report_rowid, finding, status, score FROM report_findings WHERE "
                f"report_rowid IN ({_marks(chunk)}) AND finding IN ({_marks(findings)})",
                [*chunk, *findings],
            ):
                out.setdefault(int(rid), {})[fid] = (status, float(score))
        return out

    @_guarded
    def reports(self, rowids: Sequence[int]) -> dict[int, StoredReport]:
        out: dict[int, StoredReport] = {}
        for chunk in _chunks(rowids):
            sql = f"SELECT {_REPORT_COLS} FROM reports WHERE rowid IN ({_marks(chunk)})"
            for row in self._db.execute(sql, chunk):
                rep = StoredReport.from_row(row)
                out[rep.rowid] = rep
        return out

    @_guarded
    def texts(self, rowids: Sequence[int]) -> dict[int, str]:
        out: dict[int, str] = {}
        for chunk in _chunks(rowids):
            sql = f"SELECT rowid, text FROM reports WHERE rowid IN ({_marks(chunk)})"
            out.update((int(rid), text) for rid, text in self._db.execute(sql, chunk))
        return out

    @_guarded
    def mentions(
        self,
        rowids: Sequence[int],
        findings: Sequence[str] | None = None,
        statuses: Sequence[str] | None = None,
    ) -> dict[int, list[StoredMention]]:
        out: dict[int, list[StoredMention]] = {}
        for chunk in _chunks(rowids):
            sql = f"SELECT {_MENTION_COLS} FROM mentions WHERE report_rowid IN ({_marks(chunk)})"
            args: list[Any] = list(chunk)
            if findings is not None:
                sql += f" AND finding IN ({_marks(findings)})"
                args.extend(findings)
            if statuses is not None:
                sql += f" AND status IN ({_marks(statuses)})"
                args.extend(statuses)
            for row in self._db.execute(sql + " ORDER BY report_rowid, span_start", args):
                out.setdefault(int(row[0]), []).append(StoredMention.from_row(row))
        return out

    @_guarded
    def get(self, report_id: str) -> StoredReport | None:
        row = self._db.execute(
            f"SELECT {_REPORT_COLS} FROM reports WHERE id = ?", (report_id,)
        ).fetchone()
        return StoredReport.from_row(row) if row else None

    @_guarded
    def versions(self, report_id: str) -> list[dict[str, Any]]:
        cols = ("version", "text", "patient_id", "study_date", "modality", "body_part", "hash")
        rows = self._db.execute(
            f"SELECT {', '.join(cols)}, ingested_at, replaced_at FROM report_versions "
            "WHERE report_id = ? ORDER BY version",
            (report_id,),
        )
        return [dict(zip((*cols, "ingested_at", "replaced_at"), r, strict=True)) for r in rows]

    @_guarded
    def present_findings(self, rowids: Sequence[int]) -> dict[int, list[str]]:
        out: dict[int, list[str]] = {}
        for chunk in _chunks(rowids):
            for rid, fid in self._db.execute(
                f"SELECT report_rowid, finding FROM report_findings WHERE report_rowid IN "
                f"({_marks(chunk)}) AND status = 'present' ORDER BY report_rowid, score DESC",
                chunk,
            ):
                out.setdefault(int(rid), []).append(fid)
        return out

    def iter_reports(self, chunk: int = 1000) -> Iterator[StoredReport]:
        last = 0
        while True:
            rows = self._fetch(
                f"SELECT {_REPORT_COLS} FROM reports WHERE rowid > ? ORDER BY rowid LIMIT ?",
                (last, chunk),
            )
            if not rows:
                return
            yield from (StoredReport.from_row(r) for r in rows)
            last = int(rows[-1][0])

    @_guarded
    def _fetch(self, sql: str, args: Sequence[Any]) -> list[Any]:
        return self._db.execute(sql, args).fetchall()

    @_guarded
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

    @_guarded
    def audit(self) -> list[AuditEntry]:
        has = self._db.execute("SELECT 1 FROM sqlite_master WHERE name = 'audit'").fetchone()
        if not has:  # an archive from before the audit table that nothing has written to
            return []
        rows = self._db.execute(
            "SELECT at, user, action, report_id, reason FROM audit ORDER BY rowid"
        )
        return [AuditEntry(*r) for r in rows]

    # ------------------------------------------------------------ embeddings
    @_guarded
    def missing_embeddings(self, model: str, limit: int, after: int = 0) -> list[tuple[int, str]]:
        rows = self._db.execute(
            "SELECT r.rowid, r.text FROM reports r WHERE r.rowid > ? AND NOT EXISTS (SELECT 1 "
            "FROM embeddings e WHERE e.model = ? AND e.report_rowid = r.rowid) "
            "ORDER BY r.rowid LIMIT ?",
            (after, model, limit),
        )
        return [(int(a), str(b)) for a, b in rows]

    @_guarded
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

    @_guarded
    def embedding_count(self, model: str) -> int:
        row = self._db.execute("SELECT count(*) FROM embeddings WHERE model = ?", (model,))
        return int(row.fetchone()[0])

    @_guarded
    def embeddings_for(self, model: str, rowids: Sequence[int]) -> dict[int, np.ndarray]:
        out: dict[int, np.ndarray] = {}
        for chunk in _chunks(rowids):
            for rid, blob in self._db.execute(
                f"SELECT report_rowid, vec FROM embeddings WHERE model = ? AND report_rowid IN "
                f"({_marks(chunk)})",
                [model, *chunk],
            ):
                out[int(rid)] = np.frombuffer(blob, dtype=np.float16).astype(np.float32)
        return out

    def iter_embeddings(
        self, model: str, chunk: int = 20000
    ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        last = -1
        while True:
            rows = self._fetch(
                "SELECT report_rowid, vec FROM embeddings WHERE model = ? AND report_rowid > ? "
                "ORDER BY report_rowid LIMIT ?",
                (model, last, chunk),
            )
            if not rows:
                return
            ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
            mat = np.frombuffer(b"".join(r[1] for r in rows), dtype=np.float16)
            yield ids, mat.reshape(len(rows), -1).astype(np.float32)
            last = int(ids[-1])

    # ------------------------------------------------------------- integrity
    def check(self) -> list[str]:
        """SQLite's full integrity check, both full-text indexes against the reports, and
        rows of the derived tables that point at no report; one line per problem."""
        try:
            errs = [str(r[0]) for r in self._db.execute("PRAGMA integrity_check") if r[0] != "ok"]
        except sqlite3.DatabaseError as exc:
            return [f"integrity_check: {exc}", *quick_check(self._db)[:1]]
        for fts in ("reports_fts", "finding_tags"):
            if self.readonly:
                errs.append(f"{fts}: not checked (the archive is open read-only)")
                continue
            try:
                self._db.execute(f"INSERT INTO {fts}({fts}, rank) VALUES ('integrity-check', 1)")
            except sqlite3.DatabaseError as exc:
                errs.append(f"{fts}: out of step with the reports ({exc})")
        for table, what in (
            ("mentions", "mentions"),
            ("report_findings", "per-report findings"),
            ("embeddings", "embeddings"),
        ):
            try:
                n = self._db.execute(
                    f"SELECT count(*) FROM {table} t WHERE NOT EXISTS "
                    "(SELECT 1 FROM reports r WHERE r.rowid = t.report_rowid)"
                ).fetchone()[0]
            except sqlite3.DatabaseError as exc:
                errs.append(f"{table}: cannot be read ({exc})")
                continue
            if n:
                errs.append(f"{n} {what} without a report")
        return errs

    # ------------------------------------------------------------------ meta
    @_guarded
    def meta(self, key: str) -> str | None:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    @_guarded
    def set_meta(self, key: str, value: str) -> None:
        self._db.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (key, value))

    def close(self) -> None:
        self._db.close()
        if self.sound:
            record_verified(self._path)


def word_pattern(word: str) -> re.Pattern[str]:
    """A whole word or phrase, any ending ("fracture" finds "fractures", not "refracture")."""
    words = word.lower().split()
    if words:  # the stem both forms share: "opacities" and "opacity" -> "opacit"
        words[-1] = stem(words[-1])
    parts = [re.escape(p) for p in words]
    return re.compile(r"\b" + r"\s+".join(parts), re.IGNORECASE)
