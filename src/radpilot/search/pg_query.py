"""The PostgreSQL archive's candidate queries, and FTS5 expressions as tsqueries.

The engine speaks FTS5 MATCH expressions (``engine.fts_expression``: quoted phrases
joined by AND / OR); ``tsquery`` turns one into a tsquery built in PostgreSQL from the
same words (``archive.fts_phrase``: the archive's own split and stemming), so a
phrase matches the reports it matches in SQLite. Every constraint is applied inside the
SQL, as in ``sqlite_query``; the answers are the same rows in the same order, with the
same scores: a lexical drive is ranked by FTS5's BM25 formula computed here
(``bm25_source``) from the same counts FTS5 keeps (rows, tokens, phrase instances).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import psycopg

from radpilot.errors import InputError
from radpilot.search.models import CandidateQuery, FindingClause

PHRASE = "archive.fts_phrase(%s)"
# A phrase with no word in it ("_", "--") matches no report in FTS5, even beside AND; a
# tsquery without lexemes is dropped from an AND instead, so it becomes one that never
# matches ('x' and not 'x').
_ATOM = f"coalesce(nullif({PHRASE}, ''::tsquery), to_tsquery('simple', 'x & !x'))"
_TOKEN = re.compile(r'\s*(?:"((?:[^"]|"")*)"|(\()|(\))|([^\s()"]+))')
_SYNTAX = "search words cannot be used (a full-text syntax error)"


@dataclass(frozen=True, slots=True)
class TsQuery:
    """A tsquery as SQL and its parameters (one per phrase)."""

    sql: str
    args: tuple[str, ...]


def tsquery(expr: str) -> TsQuery:
    """An FTS5 expression of quoted phrases, AND, OR, NOT and parentheses as a tsquery
    (FTS5's precedence: NOT binds tightest, then AND, then OR; a bare word is a phrase);
    ``InputError`` for anything else."""
    tokens = _tokens(expr)
    parser = _Parser(tokens)
    out = parser.parse_or()
    if parser.pos != len(tokens):
        raise InputError(_SYNTAX)
    return out


def _tokens(expr: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    pos = 0
    while pos < len(expr):
        if expr[pos:].strip() == "":
            break
        m = _TOKEN.match(expr, pos)
        if m is None or m.end() == pos:
            raise InputError(_SYNTAX)
        quoted, opening, closing, bare = m.groups()
        if quoted is not None:
            out.append(("phrase", _no_nul(quoted.replace('""', '"'))))
        elif opening:
            out.append(("(", "("))
        elif closing:
            out.append((")", ")"))
        elif bare in ("AND", "OR", "NOT"):
            out.append((bare, bare))
        else:
            out.append(("phrase", _no_nul(bare)))
        pos = m.end()
    return out


def _no_nul(text: str) -> str:
    return text.replace("\x00", " ")  # a separator, as the archive stores it (pg_write)


class _Parser:
    def __init__(self, tokens: list[tuple[str, str]]) -> None:
        self.tokens = tokens
        self.pos = 0

    def _peek(self) -> str | None:
        return self.tokens[self.pos][0] if self.pos < len(self.tokens) else None

    def parse_or(self) -> TsQuery:
        left = self.parse_and()
        while self._peek() == "OR":
            self.pos += 1
            right = self.parse_and()
            left = TsQuery(f"({left.sql} || {right.sql})", left.args + right.args)
        return left

    def parse_and(self) -> TsQuery:
        left = self.parse_not()
        while self._peek() in ("AND", "phrase", "("):  # FTS5: juxtaposition is AND
            if self._peek() == "AND":
                self.pos += 1
            right = self.parse_not()
            left = TsQuery(f"({left.sql} && {right.sql})", left.args + right.args)
        return left

    def parse_not(self) -> TsQuery:
        left = self.parse_atom()
        while self._peek() == "NOT":
            self.pos += 1
            right = self.parse_atom()
            left = TsQuery(f"({left.sql} && !!{right.sql})", left.args + right.args)
        return left

    def parse_atom(self) -> TsQuery:
        kind = self._peek()
        if kind == "phrase":
            text = self.tokens[self.pos][1]
            self.pos += 1
            return TsQuery(_ATOM, (text,))
        if kind == "(":
            self.pos += 1
            inner = self.parse_or()
            if self._peek() != ")":
                raise InputError(_SYNTAX)
            self.pos += 1
            return TsQuery(f"({inner.sql})", inner.args)
        raise InputError(_SYNTAX)


def candidates(db: psycopg.Connection[Any], q: CandidateQuery) -> list[tuple[int, float]]:
    if q.filters.patient is not None and (q.drive is not None or q.fts):
        # One patient has few reports: start from them (patient index), check the rest.
        required = (q.drive, *q.required) if q.drive is not None else q.required
        scoped = replace(q, drive=None, fts=None, required=required)
        return _drive(db, scoped, None, [], order=_NEWEST, fts=q.fts)
    if q.drive is not None and len(q.drive.findings) > 1:
        # One indexed top-k per finding, merged, as SQLite does: the same ties.
        best: dict[int, float] = {}
        for fid in q.drive.findings:
            one = replace(q, drive=replace(q.drive, findings=(fid,)))
            for row, score in candidates(db, one):
                best[row] = max(score, best.get(row, score))
        ranked = sorted(best.items(), key=lambda kv: (-kv[1], -kv[0]))
        return ranked[: q.limit]
    if q.drive is not None:
        # As in SQLite: walk the finding's reports best-first for a bounded number of
        # rows, checking every constraint on each (common constraints: done); when the
        # walk ends short, the whole finding is joined instead. Both give the best rows
        # that meet every constraint, so the answer is the same either way.
        d = q.drive
        head = "SELECT report_rowid, score FROM report_findings WHERE finding = %s AND status = ANY(%s)"
        walk = f"({head} ORDER BY score DESC, report_rowid DESC LIMIT %s) d "
        rows = _drive(db, q, walk, [d.findings[0], list(d.statuses), WALK_ROWS])
        if len(rows) >= q.limit or not _walk_truncated(db, d):
            return rows
        return _drive(db, q, f"({head}) d ", [d.findings[0], list(d.statuses)])
    if q.fts:
        # Constraints after a bounded BM25 top-k: a lexical query asks for words first.
        src, args = bm25_source(db, q.fts, max(q.limit * 10, 2000))
        return _drive(db, q, src, args)
    return _drive(db, q, None, [], order=_NEWEST)


_NEWEST = "r.study_date DESC NULLS LAST, r.rowid DESC"  # SQLite sorts NULL lowest
WALK_ROWS = 2000  # rows of a finding walked best-first before the whole finding is joined


def _walk_truncated(db: psycopg.Connection[Any], d: FindingClause) -> bool:
    row = db.execute(
        "SELECT count(*) FROM (SELECT 1 FROM report_findings WHERE finding = %s AND status "
        "= ANY(%s) LIMIT %s) s",
        (d.findings[0], list(d.statuses), WALK_ROWS + 1),
    ).fetchone()
    return bool(row and row[0] > WALK_ROWS)


# FTS5's bm25() (fts5_aux.c), term for term and in its order of operations, so that the
# scores are the same doubles: idf * (f * (k1 + 1)) / (f + k1 * (1 - b + b * D / avgdl)).
_BM25_TERM = (
    "%s::float8 * ((f{i} * (1.2::float8 + 1.0::float8)) / (f{i} + 1.2::float8 * "
    "(1::float8 - 0.75::float8 + 0.75::float8 * d / %s::float8)))"
)


def bm25_source(db: psycopg.Connection[Any], fts: str, k: int) -> tuple[str, list[Any]]:
    """The ``k`` best rows matching ``fts`` by FTS5's BM25 (k1 1.2, b 0.75, the IDF of
    each phrase over the whole archive, floored at 1e-6), as a ``d`` source for
    ``_drive``: the score SQLite's ``-bm25()`` gives, from the same counts."""
    ts = tsquery(fts)
    totals = db.execute("SELECT rows, tokens FROM fts_totals").fetchone()
    n_rows, n_tokens = (int(totals[0]), int(totals[1])) if totals else (0, 0)
    avgdl = n_tokens / n_rows if n_rows else 1.0
    freqs: list[tuple[str, list[str]]] = []
    terms: list[tuple[str, float, float]] = []
    args: list[Any] = []
    for i, phrase in enumerate(ts.args):
        toks = phrase_lexemes(db, phrase)
        if not toks:  # FTS5: a phrase of no words matches nothing, adds nothing
            continue
        row = db.execute(f"SELECT count(*) FROM reports WHERE tsv @@ {PHRASE}", (phrase,))
        got = row.fetchone()
        hits = int(got[0]) if got else 0
        idf = math.log((n_rows - hits + 0.5) / (hits + 0.5))
        freqs.append((f"archive.phrase_freq(tsv, %s::text[])::float8 AS f{i}", toks))
        terms.append((_BM25_TERM.format(i=i), idf if idf > 0.0 else 1e-6, avgdl))
    score = "0.0::float8" + "".join(f" + {t}" for t, _, _ in terms)
    cols = "".join(f", {c}" for c, _ in freqs)
    sql = (
        f"(SELECT rowid AS report_rowid, {score} AS score FROM (SELECT rowid, ntok::float8 AS d"
        f"{cols} FROM reports WHERE tsv @@ {ts.sql}) s ORDER BY 2 DESC, 1 DESC LIMIT %s) d "
    )
    for _, idf, avg in terms:
        args += [idf, avg]
    args += [toks for _, toks in freqs] + list(ts.args) + [k]
    return sql, args


def phrase_lexemes(db: psycopg.Connection[Any], phrase: str) -> list[str]:
    """The phrase's words as the archive indexes them, in order."""
    rows = db.execute("SELECT lex FROM archive.fts_lexemes(%s) ORDER BY pos", (phrase,))
    return [str(lex) for (lex,) in rows]


def _drive(
    db: psycopg.Connection[Any],
    q: CandidateQuery,
    src: str | None,
    args: list[Any],
    order: str | None = None,
    fts: str | None = None,
) -> list[tuple[int, float]]:
    conds: list[str] = []
    rid = "d.report_rowid" if src is not None else "r.rowid"
    if fts:
        ts = tsquery(fts)
        conds.append(f"r.tsv @@ {ts.sql}")
        args = [*args, *ts.args]
    if q.drive is not None and q.drive.has_attributes:
        c, a = _mention_exists(rid, q.drive)
        conds.append(c)
        args = [*args, *a]
    more, more_args = q.filters.conditions("%s")
    conds += more
    args = [*args, *more_args]
    for clause in q.required:
        c, a = _finding_exists(rid, clause)
        conds.append(c)
        args = [*args, *a]
    if q.excluded_findings:
        conds.append(
            f"NOT EXISTS (SELECT 1 FROM report_findings x WHERE x.report_rowid = {rid} "
            "AND x.finding = ANY(%s) AND x.status IN ('present', 'uncertain'))"
        )
        args = [*args, list(q.excluded_findings)]
    if q.excluded_fts:
        ts = tsquery(q.excluded_fts)
        conds.append(f"NOT (r.tsv @@ {ts.sql})")
        args = [*args, *ts.args]
    if src is None:
        sql = "SELECT r.rowid, 0.0 FROM reports r "
    else:
        sql = f"SELECT d.report_rowid, d.score FROM {src} JOIN reports r ON r.rowid = {rid} "
    if conds:
        sql += "WHERE " + " AND ".join(conds) + " "
    sql += "ORDER BY " + (order or "d.score DESC, d.report_rowid DESC") + " LIMIT %s"
    rows = db.execute(sql, [*args, q.limit]).fetchall()
    return [(int(a), float(b)) for a, b in rows]


def _mention_exists(rid: str, c: FindingClause) -> tuple[str, list[Any]]:
    conds = [f"m.report_rowid = {rid}", "m.finding = ANY(%s)", "m.status = ANY(%s)"]
    args: list[Any] = [list(c.findings), list(c.statuses)]
    if c.sides:  # the written sides, as in sqlite_query
        conds.append("(" + " OR ".join("strpos(m.sides, %s) > 0" for _ in c.sides) + ")")
        args.extend(f"|{side}|" for side in c.sides)
    if c.change:
        conds.append("m.change = %s")
        args.append(c.change)
    if c.location:
        conds.append("m.locations ILIKE %s")  # SQLite's LIKE ignores ASCII case
        args.append(f"%{c.location.lower()}%")
    return f"EXISTS (SELECT 1 FROM mentions m WHERE {' AND '.join(conds)})", args


def _finding_exists(rid: str, c: FindingClause) -> tuple[str, list[Any]]:
    if c.has_attributes:
        return _mention_exists(rid, c)
    return (
        f"EXISTS (SELECT 1 FROM report_findings y WHERE y.report_rowid = {rid} AND "
        "y.finding = ANY(%s) AND y.status = ANY(%s))",
        [list(c.findings), list(c.statuses)],
    )


def marks(values: Sequence[object]) -> str:
    return ",".join(["%s"] * len(values))
