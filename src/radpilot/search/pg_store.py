"""The department archive backend: PostgreSQL through psycopg 3, full-text search in a
stored tsvector with a GIN index.

It answers every ``ArchiveStore`` call as the SQLite backend does (same rows, same row
ids, same order, same scores: BM25 is FTS5's formula computed in ``pg_query``), so
ingest, search, cohort, export and embeddings run unchanged on it.
The schema, its migrations and the checks on open live in ``pg_schema``,
the batch write and removal in ``pg_write``, the candidate queries in ``pg_query``.
Every database error becomes one ``ArchiveError`` line naming the URL without its
password (``_guarded``), never a traceback.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

import numpy as np
import psycopg

from radpilot.search import pg_query, pg_write
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
from radpilot.search.pg_schema import SCHEMA, connect, ensure_schema, reason, redact
from radpilot.search.sqlite_store import idf_of, word_pattern

_REPORT_COLS = (
    "rowid, id, text, patient_id, study_date, modality, body_part, version, hash, labels, "
    "ingested_at"
)
_MENTION_COLS = (
    "report_rowid, finding, status, certainty, laterality, locations, change, section, "
    "span_start, span_end, sentence_start, sentence_end, historical, term, sides"
)
_UNSTATED = sorted(UNSTATED)

F = TypeVar("F", bound=Callable[..., Any])


def _guarded(method: F) -> F:
    """Database errors (gone, refused, read-only) as one line naming the archive."""

    @functools.wraps(method)
    def wrapper(self: PostgresStore, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        except psycopg.errors.ReadOnlySqlTransaction:
            raise ArchiveError(f"{self.location}: opened read-only") from None
        except psycopg.Error as exc:
            raise ArchiveError(f"{self.location}: {reason(exc)}") from None

    return wrapper  # type: ignore[return-value]


def open_postgres(
    location: str, *, readonly: bool = False, create: bool = True, verify: bool = True
) -> PostgresStore:
    """The ``postgres.v1`` archive backend (registered in ``radpilot.registry``):
    ``location`` is a ``postgresql://`` URL. ``verify`` has nothing to skip here (the
    server keeps its own files sound); it is accepted for the common signature."""
    del verify
    return PostgresStore(location, readonly=readonly, create=create)


class PostgresStore:
    """``ArchiveStore`` on one PostgreSQL database (its ``archive`` schema)."""

    def __init__(self, url: str, *, readonly: bool = False, create: bool = True) -> None:
        self.location = redact(url)
        self.readonly = readonly
        self._db = connect(url, readonly=readonly)
        try:
            ensure_schema(self._db, url, readonly=readonly, create=create)
        except BaseException:
            self._db.close()
            raise
        # Rows this session wrote since the planner's statistics were last refreshed, and
        # how many the tables held then: a bulk load outruns autovacuum, and with no
        # statistics a finding query plans a nested loop ~20x slower.
        self._unanalysed = 0
        self._analysed_rows = 0

    # ---------------------------------------------------------------- ingest
    @_guarded
    def existing(self, ids: Sequence[str]) -> dict[str, str]:
        asked = {pg_write.pg_text(i): i for i in ids}
        rows = self._db.execute("SELECT id, hash FROM reports WHERE id = ANY(%s)", (list(asked),))
        return {asked.get(str(a), str(a)): str(b) for a, b in rows}

    @_guarded
    def write_batch(self, items: Sequence[IngestItem]) -> BatchResult:
        res = pg_write.write_batch(self._db, items)
        self._unanalysed += res.added + res.updated
        if self._unanalysed >= max(1000, self._analysed_rows):  # doubling: O(log n) runs
            self._analyse()
        return res

    def _analyse(self) -> None:
        # VACUUM too: it marks the loaded pages all-visible, so the index-only scans of a
        # finding's best reports need not visit the table (autovacuum would, later).
        self._db.execute("VACUUM (ANALYZE) reports, mentions, report_findings")
        row = self._db.execute(
            "SELECT reltuples FROM pg_class WHERE oid = 'reports'::regclass"
        ).fetchone()
        self._analysed_rows = int(row[0]) if row and row[0] > 0 else 0
        self._unanalysed = 0

    @_guarded
    def remove(self, report_id: str, *, user: str, reason: str) -> bool:
        rid, why = pg_write.pg_text(report_id), pg_write.pg_text(reason)
        return pg_write.remove_report(self._db, rid, user=pg_write.pg_text(user), reason=why)

    # ---------------------------------------------------------------- search
    @_guarded
    def candidates(self, q: CandidateQuery) -> list[tuple[int, float]]:
        # One snapshot for the whole query, as SQLite reads: BM25 takes the totals and the
        # phrase counts in separate statements, and a batch committed between them (ingest
        # running beside a search) would give more matching rows than rows.
        if self._db.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
            return pg_query.candidates(self._db, q)
        with self._db.transaction():
            self._db.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            return pg_query.candidates(self._db, q)

    @_guarded
    def word_idf(self, words: Sequence[str]) -> dict[str, float]:
        # As SQLite's: the document frequency from the full-text index, the archive size
        # as max(rowid).
        top = self._db.execute("SELECT max(rowid) FROM reports").fetchone()
        total = max(1, int(top[0]) if top and top[0] is not None else 1)
        return idf_of(words, total, self._doc_count)

    def _doc_count(self, word: str) -> int:
        row = self._db.execute(
            f"SELECT count(*) FROM reports WHERE tsv @@ {pg_query.PHRASE}",
            (pg_write.pg_text(word),),
        ).fetchone()
        return int(row[0]) if row else 0

    @_guarded
    def lexical_scores(
        self, rowids: Sequence[int], words: Sequence[str], *, asserted: bool = False
    ) -> dict[int, float]:
        # The same IDF weights as SQLite's (``word_idf``), the same whole-word match on
        # the rows' text.
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
        # The expression over what each row states, tokenised and stemmed by the
        # archive's own configuration: only negated and context sentences no longer count.
        texts = self._masked(rowids, stated_from_sentences)
        if not texts:
            return set()
        ts = pg_query.tsquery(fts)
        rows = self._db.execute(
            "SELECT t.rowid FROM unnest(%s::bigint[], %s::text[]) AS t(rowid, body) WHERE "
            f"archive.fts_vector(t.body) @@ {ts.sql}",
            (list(texts), [pg_write.pg_text(t) for t in texts.values()], *ts.args),
        )
        return {int(r[0]) for r in rows}

    @_guarded
    def asserted_texts(self, rowids: Sequence[int]) -> dict[int, str]:
        return self._masked(rowids, asserted_from_sentences)

    def _masked(
        self, rowids: Sequence[int], mask: Callable[[str, list[SentenceMask]], str]
    ) -> dict[int, str]:
        # As in SQLite: the sentences that hold an unstated mention, one row a sentence.
        ids = list(rowids)
        texts = {
            int(rid): str(text)
            for rid, text in self._db.execute(
                "SELECT rowid, text FROM reports WHERE rowid = ANY(%s)", (ids,)
            )
        }
        masks: dict[int, list[SentenceMask]] = {}
        having = "max(u) = 1" if mask is asserted_from_sentences else "min(u) = 1"
        for rid, a, b, every, spans in self._db.execute(
            "SELECT report_rowid, sentence_start, sentence_end, min(u), string_agg("
            "CASE WHEN u = 1 THEN span_start || ',' || span_end END, ' ' ORDER BY span_start, "
            "span_end) FROM (SELECT report_rowid, sentence_start, sentence_end, span_start, "
            "span_end, (status = ANY(%s))::int AS u FROM mentions WHERE report_rowid = ANY(%s)) "
            f"s GROUP BY report_rowid, sentence_start, sentence_end HAVING {having}",
            (_UNSTATED, ids),
        ):
            pairs = [p.split(",") for p in (spans or "").split()]
            masks.setdefault(int(rid), []).append(
                ((a, b), bool(every), [(int(x), int(y)) for x, y in pairs])
            )
        return {rid: mask(t, masks.get(rid, [])) for rid, t in texts.items()}

    @_guarded
    def literal_hits(
        self, rowids: Sequence[int], findings: Sequence[str], status: str, head: str
    ) -> set[int]:
        rows = self._db.execute(
            "SELECT DISTINCT report_rowid FROM mentions WHERE report_rowid = ANY(%s) AND "
            "finding = ANY(%s) AND status = %s AND strpos(term, %s) > 0",
            (list(rowids), list(findings), status, pg_write.pg_text(head)),
        )
        return {int(r[0]) for r in rows}

    @_guarded
    def finding_status(
        self, rowids: Sequence[int], findings: Sequence[str]
    ) -> dict[int, dict[str, tuple[str, float]]]:
        out: dict[int, dict[str, tuple[str, float]]] = {}
        if not findings:
            return out
        for rid, fid, status, score in self._db.execute(
            "SELECT report_rowid, finding, status, score FROM report_findings WHERE "
            "report_rowid = ANY(%s) AND finding = ANY(%s)",
            (list(rowids), list(findings)),
        ):
            out.setdefault(int(rid), {})[fid] = (status, float(score))
        return out

    @_guarded
    def reports(self, rowids: Sequence[int]) -> dict[int, StoredReport]:
        sql = f"SELECT {_REPORT_COLS} FROM reports WHERE rowid = ANY(%s)"
        reps = (StoredReport.from_row(row) for row in self._db.execute(sql, (list(rowids),)))
        return {rep.rowid: rep for rep in reps}

    @_guarded
    def texts(self, rowids: Sequence[int]) -> dict[int, str]:
        sql = "SELECT rowid, text FROM reports WHERE rowid = ANY(%s)"
        return {int(rid): text for rid, text in self._db.execute(sql, (list(rowids),))}

    @_guarded
    def mentions(
        self,
        rowids: Sequence[int],
        findings: Sequence[str] | None = None,
        statuses: Sequence[str] | None = None,
    ) -> dict[int, list[StoredMention]]:
        out: dict[int, list[StoredMention]] = {}
        sql = f"SELECT {_MENTION_COLS} FROM mentions WHERE report_rowid = ANY(%s)"
        args: list[Any] = [list(rowids)]
        if findings is not None:
            sql += " AND finding = ANY(%s)"
            args.append(list(findings))
        if statuses is not None:
            sql += " AND status = ANY(%s)"
            args.append(list(statuses))
        for row in self._db.execute(sql + " ORDER BY report_rowid, span_start", args):
            out.setdefault(int(row[0]), []).append(StoredMention.from_row(row))
        return out

    @_guarded
    def get(self, report_id: str) -> StoredReport | None:
        row = self._db.execute(
            f"SELECT {_REPORT_COLS} FROM reports WHERE id = %s", (pg_write.pg_text(report_id),)
        ).fetchone()
        return StoredReport.from_row(row) if row else None

    @_guarded
    def versions(self, report_id: str) -> list[dict[str, Any]]:
        cols = ("version", "text", "patient_id", "study_date", "modality", "body_part", "hash")
        rows = self._db.execute(
            f"SELECT {', '.join(cols)}, ingested_at, replaced_at FROM report_versions "
            "WHERE report_id = %s ORDER BY version",
            (pg_write.pg_text(report_id),),
        )
        return [dict(zip((*cols, "ingested_at", "replaced_at"), r, strict=True)) for r in rows]

    @_guarded
    def present_findings(self, rowids: Sequence[int]) -> dict[int, list[str]]:
        out: dict[int, list[str]] = {}
        for rid, fid in self._db.execute(
            "SELECT report_rowid, finding FROM report_findings WHERE report_rowid = ANY(%s) "
            "AND status = 'present' ORDER BY report_rowid, score DESC, finding",
            (list(rowids),),
        ):
            out.setdefault(int(rid), []).append(fid)
        return out

    def iter_reports(self, chunk: int = 1000) -> Iterator[StoredReport]:
        last = 0
        while True:
            rows = self._fetch(
                f"SELECT {_REPORT_COLS} FROM reports WHERE rowid > %s ORDER BY rowid LIMIT %s",
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
        def one(sql: str) -> Any:
            row = self._db.execute(sql).fetchone()
            assert row is not None
            return row

        emb = dict(self._db.execute("SELECT model, count(*) FROM embeddings GROUP BY model"))
        present = dict(
            self._db.execute(
                "SELECT finding, count(*) FROM report_findings WHERE status = 'present' "
                "GROUP BY finding ORDER BY count(*) DESC, finding"
            )
        )
        lo, hi = one("SELECT min(study_date), max(study_date) FROM reports")
        size = one(
            "SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class c JOIN "
            f"pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = '{SCHEMA}' "
            "AND c.relkind = 'r'"
        )[0]
        return StoreStats(
            reports=int(one("SELECT count(*) FROM reports")[0]),
            versions=int(one("SELECT count(*) FROM report_versions")[0]),
            mentions=int(one("SELECT count(*) FROM mentions")[0]),
            patients=int(one("SELECT count(DISTINCT patient_id) FROM reports")[0]),
            embeddings={str(k): int(v) for k, v in emb.items()},
            findings_present={str(k): int(v) for k, v in present.items()},
            date_range=(lo, hi),
            size_bytes=int(size),
        )

    @_guarded
    def audit(self) -> list[AuditEntry]:
        rows = self._db.execute(
            'SELECT at, "user", action, report_id, reason FROM audit ORDER BY seq'
        )
        return [AuditEntry(*r) for r in rows]

    # ------------------------------------------------------------ embeddings
    @_guarded
    def missing_embeddings(self, model: str, limit: int, after: int = 0) -> list[tuple[int, str]]:
        rows = self._db.execute(
            "SELECT r.rowid, r.text FROM reports r WHERE r.rowid > %s AND NOT EXISTS (SELECT 1 "
            "FROM embeddings e WHERE e.model = %s AND e.report_rowid = r.rowid) "
            "ORDER BY r.rowid LIMIT %s",
            (after, model, limit),
        )
        return [(int(a), str(b)) for a, b in rows]

    @_guarded
    def put_embeddings(self, model: str, rows: Sequence[tuple[int, np.ndarray]]) -> None:
        # float16 bytes, as SQLite stores them: the same vectors, the same scores.
        with self._db.transaction(), self._db.cursor() as cur:
            cur.execute(
                "DELETE FROM embeddings WHERE model = %s AND report_rowid = ANY(%s)",
                (model, [int(rid) for rid, _ in rows]),
            )
            with cur.copy("COPY embeddings (report_rowid, model, vec) FROM STDIN") as copy:
                for rid, v in rows:
                    copy.write_row((int(rid), model, np.asarray(v, dtype=np.float16).tobytes()))

    @_guarded
    def embedding_count(self, model: str) -> int:
        row = self._db.execute("SELECT count(*) FROM embeddings WHERE model = %s", (model,))
        got = row.fetchone()
        return int(got[0]) if got else 0

    @_guarded
    def embeddings_for(self, model: str, rowids: Sequence[int]) -> dict[int, np.ndarray]:
        out: dict[int, np.ndarray] = {}
        for rid, blob in self._db.execute(
            "SELECT report_rowid, vec FROM embeddings WHERE model = %s AND report_rowid = ANY(%s)",
            (model, list(rowids)),
        ):
            out[int(rid)] = np.frombuffer(blob, dtype=np.float16).astype(np.float32)
        return out

    def iter_embeddings(
        self, model: str, chunk: int = 20000
    ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        last = -1
        while True:
            rows = self._fetch(
                "SELECT report_rowid, vec FROM embeddings WHERE model = %s AND report_rowid > %s "
                "ORDER BY report_rowid LIMIT %s",
                (model, last, chunk),
            )
            if not rows:
                return
            ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
            mat = np.frombuffer(b"".join(bytes(r[1]) for r in rows), dtype=np.float16)
            yield ids, mat.reshape(len(rows), -1).astype(np.float32)
            last = int(ids[-1])

    # ------------------------------------------------------------- integrity
    def check(self) -> list[str]:
        """Rows of the derived tables that point at no report, and BM25's row and token
        totals against the reports; one line per problem (the full-text vector is a
        generated column, never out of step; the server keeps its own pages sound:
        ``pg_amcheck`` is the tool for those)."""
        errs: list[str] = []
        for table, what in (
            ("mentions", "mentions"),
            ("report_findings", "per-report findings"),
            ("embeddings", "embeddings"),
        ):
            try:
                row = self._db.execute(
                    f"SELECT count(*) FROM {table} t WHERE NOT EXISTS "
                    "(SELECT 1 FROM reports r WHERE r.rowid = t.report_rowid)"
                ).fetchone()
            except psycopg.Error as exc:
                errs.append(f"{table}: cannot be read ({reason(exc)})")
                continue
            if row and row[0]:
                errs.append(f"{row[0]} {what} without a report")
        try:
            kept = self._db.execute("SELECT rows, tokens FROM fts_totals").fetchone()
            real = self._db.execute("SELECT count(*), coalesce(sum(ntok), 0) FROM reports")
            counted = real.fetchone()
        except psycopg.Error as exc:
            return [*errs, f"fts_totals: cannot be read ({reason(exc)})"]
        if kept is None or counted is None or tuple(map(int, kept)) != tuple(map(int, counted)):
            errs.append("fts_totals: out of step with the reports (BM25 scores would drift)")
        return errs

    # ------------------------------------------------------------------ meta
    @_guarded
    def meta(self, key: str) -> str | None:
        row = self._db.execute("SELECT value FROM meta WHERE key = %s", (key,)).fetchone()
        return None if row is None else str(row[0])

    @_guarded
    def set_meta(self, key: str, value: str) -> None:
        self._db.execute(
            "INSERT INTO meta(key, value) VALUES (%s, %s) "
            "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
            (key, value),
        )

    def close(self) -> None:
        try:
            if self._unanalysed and not self._db.closed:
                self._analyse()
        except psycopg.Error:  # statistics only: autovacuum refreshes them later
            pass
        finally:
            self._db.close()
