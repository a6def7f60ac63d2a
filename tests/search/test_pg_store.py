"""The PostgreSQL backend on its own: the same answers as SQLite on the same archive,
full-text matches equal to FTS5's, migrations (on open, `archive migrate`, a newer
schema refused), and the one-line errors for a server that cannot be used, never with
the password in them."""

from __future__ import annotations

import importlib
import json
import re
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from radpilot.errors import InputError
from radpilot.interop.records import make_record
from radpilot.search.engine import fts_expression, search
from radpilot.search.ingest import ingest_records
from radpilot.search.models import ArchiveError, CandidateQuery
from radpilot.search.store import ArchiveStore, open_store

psycopg = pytest.importorskip("psycopg", reason="psycopg is not installed (the [postgres] extra)")
from radpilot.search.pg_query import tsquery  # noqa: E402 (needs psycopg)
from radpilot.search.pg_schema import HEAD, MIGRATIONS, redact  # noqa: E402

CliRun = Callable[..., tuple[int, str, str]]

# Reports that exercise the tokenizer: numbers with points, hyphens, apostrophes,
# underscores, upper case, plurals and the short words Porter would shorten.
EXTRA = {
    "T1": "FINDINGS: A 2.5 cm nodule in the right upper lobe. Post-operative changes. "
    "IMPRESSION: Right upper lobe nodule, as before.",
    "T2": "FINDINGS: Patient's left-sided effusions are larger. No pneumothorax. "
    "IMPRESSION: Enlarging left pleural effusions.",
    "T3": "FINDINGS: NG_tube tip in the stomach. Lines and tubes unchanged. Heart is normal.",
    "T4": "FINDINGS: Opacities at both bases, possibly atelectasis versus pneumonia.",
    "T5": "FINDINGS: Stable 5 mm granuloma. No acute process. IMPRESSION: No change since 2019.",
}

QUERIES = [
    # finding-driven: the same hits, in the same order, with the same scores
    "pneumothorax",
    "+pneumothorax",
    "absent:pneumothorax",
    "left pneumothorax",
    "new left pneumothorax",
    "cardiomegaly -effusion",
    "cardiomegaly absent:effusion",
    "right pleural effusion since:2023-01-01",
    'loc:"upper lobe" granuloma',
    "nodule right upper lobe",
    "effusion larger",
    "pneumonia -atelectasis",
    "pneumothorax patient:P1",
    "patient:P1",
    "pleural effusion stomach",
    "granuloma -stable",
]
LEXICAL = ["central", "stomach tube", "2 5 cm", "operative", "bases", "as before", "heart normal"]


@pytest.fixture(scope="module")
def both(
    pg_server: Any, tmp_path_factory: pytest.TempPathFactory, session_report_records: Any
) -> Iterator[tuple[ArchiveStore, ArchiveStore]]:
    # (a fixture, not `from conftest import`: under xdist "conftest" may be another folder's)
    recs = [*session_report_records] + [make_record(rid=k, text=v) for k, v in EXTRA.items()]
    lite = open_store(tmp_path_factory.mktemp("same") / "same.db")
    pg = open_store(pg_server.new_database("same"))
    for store in (lite, pg):
        ingest_records(store, recs, jobs=1, batch_size=4)
    yield lite, pg
    lite.close()
    pg.close()


def _hits(store: ArchiveStore, query: str) -> list[tuple[str, float]]:
    res = search(store, query, semantic=False, limit=50)
    return [(h.report.id, round(h.score, 9)) for h in res.hits]


@pytest.mark.parametrize("query", QUERIES + LEXICAL)
def test_queries_answer_the_same(both: tuple[ArchiveStore, ArchiveStore], query: str) -> None:
    """The same hits in the same order with the same scores: finding queries, and words
    alone (BM25 computed in PostgreSQL as FTS5 computes it)."""
    lite, pg = both
    assert _hits(pg, query) == _hits(lite, query)


def test_the_queries_find_something(both: tuple[ArchiveStore, ArchiveStore]) -> None:
    """So that the identity above is not the identity of empty pages."""
    found = [q for q in QUERIES + LEXICAL if _hits(both[0], q)]
    assert len(found) >= len(QUERIES + LEXICAL) - 3


def test_bm25_scores_are_fts5s(both: tuple[ArchiveStore, ArchiveStore]) -> None:
    lite, pg = both
    for words in (["effusion"], ["right upper lobe", "nodule"], ["as", "before"], ["no"]):
        for op in ("OR", "AND"):
            cq = CandidateQuery(fts=fts_expression(words, op), limit=100)
            assert pg.candidates(cq) == lite.candidates(cq)


def test_rows_stats_and_reads_are_the_same(both: tuple[ArchiveStore, ArchiveStore]) -> None:
    lite, pg = both
    a, b = list(lite.iter_reports(chunk=3)), list(pg.iter_reports(chunk=3))
    assert [(r.rowid, r.id, r.text, r.labels) for r in a] == [
        (r.rowid, r.id, r.text, r.labels) for r in b
    ]
    rowids = [r.rowid for r in a]
    assert lite.mentions(rowids) == pg.mentions(rowids)
    assert lite.asserted_texts(rowids) == pg.asserted_texts(rowids)
    sa, sb = lite.stats(), pg.stats()
    assert (sa.reports, sa.mentions, sa.patients, sa.date_range) == (
        sb.reports,
        sb.mentions,
        sb.patients,
        sb.date_range,
    )
    assert sa.findings_present == sb.findings_present
    assert pg.check() == []


_TEXT_WORDS = {w.strip(".,:'").lower() for t in EXTRA.values() for w in t.split()} - {""}
_CORPUS_WORDS = [*sorted(_TEXT_WORDS), "pneumothorax", "effusion", "effusions", "is", "as", "x-ray"]


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.lists(
        st.one_of(
            st.sampled_from(_CORPUS_WORDS),
            st.lists(st.sampled_from(_CORPUS_WORDS), min_size=2, max_size=3).map(" ".join),
            st.text(
                st.characters(max_codepoint=0x17F, blacklist_characters="\x00"),
                min_size=1,
                max_size=8,
            ),
        ),
        min_size=1,
        max_size=3,
    ),
    st.sampled_from(["OR", "AND"]),
)
@example(words=["2.5", "_"], op="AND")  # a phrase with no word beside AND: FTS5 finds nothing
@example(words=["\u017f"], op="OR")  # the long s: an "s" to FTS5 (migration 0005)
@example(words=["5 \u00b5g"], op="OR")  # the micro sign: the Greek mu to FTS5
def test_full_text_matches_equal_fts5(
    both: tuple[ArchiveStore, ArchiveStore], words: list[str], op: str
) -> None:
    """Any words and phrases, quoted as the engine quotes them: PostgreSQL's tsvector
    match finds exactly the reports SQLite's FTS5 finds, and ranks them as FTS5 does."""
    lite, pg = both
    expr = fts_expression(words, op)
    if expr is None:
        return
    con = sqlite3.connect(lite.location)
    try:
        want = {
            r[0]
            for r in con.execute("SELECT rowid FROM reports_fts WHERE reports_fts MATCH ?", (expr,))
        }
    finally:
        con.close()
    ts = tsquery(expr)
    with psycopg.connect(_admin_url(pg)) as db:
        db.execute("SET search_path TO archive, public")
        got = {
            r[0] for r in db.execute(f"SELECT rowid FROM reports WHERE tsv @@ {ts.sql}", ts.args)
        }
    assert got == want
    cq = CandidateQuery(fts=expr, limit=50)  # and BM25: the same scores, the same order
    assert pg.candidates(cq) == lite.candidates(cq)


def _admin_url(store: ArchiveStore) -> str:
    return store.location  # the test server's URLs carry no password


@given(st.text(max_size=40))
def test_tsquery_parses_or_refuses_in_one_line(expr: str) -> None:
    try:
        out = tsquery(expr)
    except InputError as exc:
        assert str(exc) == "search words cannot be used (a full-text syntax error)"
        return
    assert out.sql.count("%s") == len(out.args) >= 1


@given(st.lists(st.text(min_size=1, max_size=10), min_size=1, max_size=4))
@example(words=[" OR "])  # a word that holds the operator is one quoted term, not two
def test_tsquery_takes_every_engine_expression(words: list[str]) -> None:
    expr = fts_expression(words)
    if expr is not None:
        terms = [w for w in words if re.search(r"\w", w)]  # the words the engine quotes
        assert len(tsquery(expr).args) == len(terms)


def test_head_is_the_last_migration() -> None:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    assert ScriptDirectory.from_config(cfg).get_current_head() == HEAD


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql://u:secret@h:5/db", "postgresql://u@h:5/db"),
        ("postgresql://u@h/db?password=secret&x=1", "postgresql://u@h/db?password=***&x=1"),
        ("postgres://:secret@/db", "postgres://@/db"),
    ],
)
def test_redact(url: str, shown: str) -> None:
    assert redact(url) == shown


def _needs_own_cluster(server: Any) -> None:
    if server.port is None:
        pytest.skip("needs the tests' own cluster (a role with a password on loopback)")


def _one_error_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    return lines[0]


def test_cli_on_a_url_end_to_end(
    pg_server: Any, tmp_path: Path, cli: CliRun, capsys: pytest.CaptureFixture[str]
) -> None:
    """With the password in the URL: add, search, stats, check, remove, export; the
    password is never printed."""
    from pgserver import PASSWORD

    _needs_own_cluster(pg_server)
    name = pg_server.create_database("cli")
    with psycopg.connect(pg_server.url(name), autocommit=True) as db:
        db.execute(f"GRANT ALL ON DATABASE {name} TO radpilot_pw")
        db.execute("GRANT ALL ON SCHEMA public TO radpilot_pw")
    url = pg_server.password_url(name, PASSWORD)
    src = tmp_path / "r.jsonl"
    src.write_text(
        "".join(json.dumps({"id": k, "text": v}) + "\n" for k, v in EXTRA.items()), "utf-8"
    )
    outputs = []
    code, out, err = cli("archive", "add", str(src), "--db", url)
    outputs.append(out + err)
    assert code == 0 and "added 5" in out, err
    code, out, err = cli("search", "granuloma", "--db", url, "--json", "--no-semantic")
    outputs.append(out + err)
    assert code == 0 and [h["id"] for h in json.loads(out)] == ["T5"]
    code, out, err = cli("archive", "check", "--db", url)
    outputs.append(out + err)
    assert (code, out) == (0, "integrity: ok\n")
    code, out, err = cli("archive", "remove", "T3", "--reason", "test", "--db", url)
    outputs.append(out + err)
    assert code == 0
    code, out, err = cli("archive", "stats", "--db", url, "--json")
    outputs.append(out + err)
    assert json.loads(out)["reports"] == 4
    code, out, err = cli("archive", "migrate", "--db", url)
    outputs.append(out + err)
    assert code == 0 and out.startswith(f"archive schema {HEAD}: up to date")
    assert all(PASSWORD not in o for o in outputs)


def test_connection_errors_are_one_line_without_the_password(pg_server: Any, cli: CliRun) -> None:
    from pgserver import PASSWORD

    _needs_own_cluster(pg_server)
    wrong = pg_server.password_url("postgres", "not-" + PASSWORD)
    code, _, err = cli("search", "effusion", "--db", wrong)
    line = _one_error_line(err)
    assert code == 2 and "password authentication failed" in line and "not-" not in line
    assert line.startswith(f"error: {redact(wrong)}: cannot connect")
    refused = "postgresql://u:pw@127.0.0.1:9/nodb"  # port 9 (discard): nothing listens
    code, _, err = cli("archive", "stats", "--db", refused)
    line = _one_error_line(err)
    assert code == 2 and ":pw@" not in line and "cannot connect" in line


def test_schema_states_on_open(pg_server: Any, cli: CliRun, tmp_path: Path) -> None:
    empty = pg_server.new_database("empty")
    code, _, err = cli("search", "effusion", "--db", empty)
    assert code == 2 and "no radpilot archive in this database" in _one_error_line(err)
    code, out, _ = cli("archive", "migrate", "--db", empty)
    assert code == 0 and out.startswith(f"archive schema none -> {HEAD}")
    with psycopg.connect(empty, autocommit=True) as db:
        db.execute("UPDATE archive.alembic_version SET version_num = '0099_future'")
    code, _, err = cli("archive", "stats", "--db", empty)
    line = _one_error_line(err)
    assert code == 2 and "archive schema 0099_future is newer than this radpilot" in line
    code, _, err = cli("archive", "migrate", "--db", empty)
    assert code == 2 and "newer" in _one_error_line(err)
    other = pg_server.new_database("other")
    with psycopg.connect(other, autocommit=True) as db:
        db.execute("CREATE SCHEMA archive; CREATE TABLE archive.meta (k text)")
    with pytest.raises(ArchiveError, match="is not a radpilot archive"):
        open_store(other)
    # A file path is an SQLite archive: migrate upgrades one, never makes one.
    missing = tmp_path / "x.db"
    code, _, err = cli("archive", "migrate", "--db", str(missing))
    assert code == 2 and "no archive here" in _one_error_line(err) and not missing.exists()


def test_writable_open_creates_and_batches_are_atomic(pg_server: Any) -> None:
    url = pg_server.new_database("atomic")
    store = open_store(url)
    recs = [make_record(rid=k, text=v) for k, v in EXTRA.items()]
    ingest_records(store, recs[:2], jobs=1)

    class Boom(Exception):
        pass

    def exploding() -> Iterator[Any]:
        yield from recs[2:4]
        raise Boom

    with pytest.raises(Boom):
        ingest_records(store, exploding(), jobs=1, batch_size=2)
    assert store.stats().reports == 4 and store.check() == []
    reader = open_store(url, readonly=True)
    with pytest.raises(ArchiveError, match="read-only"):
        reader.set_meta("x", "y")
    reader.close()
    store.close()


def test_nul_in_a_record_is_stored_and_the_record_is_unchanged_again(pg_server: Any) -> None:
    """PostgreSQL text cannot hold NUL (SQLite's can): it is stored as U+FFFD, the
    spans still fit, and the same input again is unchanged."""
    store = open_store(pg_server.new_database("nul"))
    rec = make_record(rid="N\x001", text="Small\x00 left effusion.", patient_id="P\x00")
    assert ingest_records(store, [rec], jobs=1).added == 1
    assert ingest_records(store, [rec], jobs=1).unchanged == 1
    got = store.get("N\x001")
    assert got is not None and got.text == "Small\ufffd left effusion."
    (m,) = store.mentions([got.rowid])[got.rowid]
    assert got.text[m.span[0] : m.span[1]] == "effusion"
    assert [h.report.rowid for h in search(store, "effusion\x00", semantic=False).hits] == [
        got.rowid
    ]
    store.close()


def _pg_count(url: str) -> int:
    try:
        with psycopg.connect(url, connect_timeout=5) as db:
            row = db.execute("SELECT count(*) FROM archive.reports").fetchone()
            return int(row[0]) if row else 0
    except psycopg.Error:  # not created yet
        return 0


def test_kill_9_mid_ingest_then_rerun(pg_server: Any, tmp_path: Path) -> None:
    """kill -9 of `archive add --db URL`: whole batches only (COPY inside the batch's
    transaction); rerunning adds the rest and changes nothing stored."""
    import os
    import signal
    import subprocess
    import sys
    import time

    from test_archive import synthetic_jsonl

    n, batch = 3000, 100
    src = tmp_path / "big.jsonl"
    synthetic_jsonl(src, n)
    url = pg_server.new_database("kill")
    cmd = [sys.executable, "-c", "from radpilot.cli import main; main()", "archive", "add"]
    cmd += [str(src), "--db", url, "--batch-size", str(batch), "--jobs", "1"]
    proc = subprocess.Popen(
        cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True
    )
    deadline = time.monotonic() + 90
    while _pg_count(url) < 2 * batch and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    assert proc.poll() is None, "ingest finished before it could be killed; raise n"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert proc.stderr is not None and b"Traceback" not in proc.stderr.read()
    time.sleep(0.5)  # the server notices the dropped connection and rolls its batch back
    partial = _pg_count(url)
    assert 0 < partial < n and partial % batch == 0
    res = subprocess.run([*cmd, "--json"], capture_output=True, text=True, check=True)
    summary = json.loads(res.stdout.strip().splitlines()[-1])
    assert (summary["added"], summary["unchanged"], summary["updated"]) == (n - partial, partial, 0)
    store = open_store(url, readonly=True)
    st_ = store.stats()
    assert st_.reports == n and st_.versions == 0 and store.check() == []
    store.close()


def test_check_finds_rows_behind_the_archives_back(pg_server: Any, cli: CliRun) -> None:
    url = pg_server.new_database("behind")
    store = open_store(url)
    ingest_records(store, [make_record(rid=k, text=v) for k, v in EXTRA.items()], jobs=1)
    edited = make_record(rid="T1", text="FINDINGS: Small right pleural effusion.")
    ingest_records(store, [edited], jobs=1)
    assert store.remove("T2", user="u", reason="r") and store.check() == []
    store.close()
    with psycopg.connect(url, autocommit=True) as db:
        db.execute("DELETE FROM archive.reports WHERE id = 'T3'")
    code, out, _ = cli("archive", "check", "--db", url)
    assert code == 3 and "mentions without a report" in out and "fts_totals: out of step" in out


def test_an_archive_from_before_0005_finds_the_long_s_once_migrated(
    pg_server: Any, cli: CliRun
) -> None:
    url = pg_server.new_database("fold")
    store = open_store(url)
    ingest_records(store, [make_record(rid="L1", text="FINDINGS: Lungſ clear. 5 \u00b5g.")], jobs=1)
    store.close()
    down = importlib.import_module("radpilot.search.pg_migrations.versions.0005_fts_fold_v1")
    with psycopg.connect(url, autocommit=True) as db:  # as an archive written before 0005
        db.execute(down._words(down._FIRST.UNACCENT.format(col="t")))
        db.execute(down._HELD)
        db.execute("UPDATE archive.alembic_version SET version_num = '0004_mention_sides_v1'")
    matches = "SELECT count(*) FROM archive.reports WHERE tsv @@ archive.fts_phrase(%s)"
    with psycopg.connect(url) as db:
        assert db.execute(matches, ("lungs",)).fetchone() == (0,)
    code, _, _ = cli("archive", "migrate", "--db", url)
    assert code == 0
    with psycopg.connect(url) as db:
        assert db.execute(matches, ("lungs",)).fetchone() == (1,)
        assert db.execute(matches, ("5 \u03bcg",)).fetchone() == (1,)


def test_two_first_opens_at_once_make_one_archive(pg_server: Any) -> None:
    """Threads of one process and two processes open an empty database at once: one
    migrates, the others wait for it (a lock each way) and find the archive made."""
    import subprocess
    import sys
    import threading

    url = pg_server.new_database("race")
    code = f"from radpilot.search.store import open_store; open_store({url!r}).close()"
    procs = [subprocess.Popen([sys.executable, "-c", code], stderr=subprocess.PIPE) for _ in "ab"]
    errors: list[BaseException] = []

    def first_open() -> None:
        try:
            open_store(url).close()
        except BaseException as exc:  # surfaced by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=first_open) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    outs = [p.communicate(timeout=120)[1] for p in procs]
    assert not errors and all(p.returncode == 0 for p in procs), outs
    with psycopg.connect(url) as db:
        assert db.execute("SELECT version_num FROM archive.alembic_version").fetchall() == [(HEAD,)]


def test_every_openi_word_stems_into_the_same_class(pg_server: Any) -> None:
    """Every distinct word of the 3,955 OpenI reports: two words share a lexeme in
    PostgreSQL exactly when they share a term in FTS5 (so a word matches the same
    reports), Porter's departures and FTS5's unstemmed short words included."""
    import collections
    import re

    from radpilot.reports.openi import iter_reports

    words: set[str] = set()
    for r in iter_reports():
        for part in (r.findings, r.impression, r.indication or ""):
            words.update(w.lower() for w in re.findall(r"[^\W_]+", part))
    ordered = sorted(words)
    con = sqlite3.connect(":memory:")
    con.execute("CREATE VIRTUAL TABLE f USING fts5(w, tokenize='porter unicode61')")
    con.executemany("INSERT INTO f(rowid, w) VALUES (?, ?)", list(enumerate(ordered, 1)))
    con.execute("CREATE VIRTUAL TABLE v USING fts5vocab(f, 'instance')")
    lite = {ordered[doc - 1]: term for term, doc in con.execute("SELECT term, doc FROM v")}
    con.close()
    url = pg_server.new_database("vocab")
    open_store(url).close()
    with psycopg.connect(url) as db:
        pg = dict(
            db.execute(
                "SELECT w, (SELECT string_agg(lexeme, ' ') FROM unnest(archive.fts_vector(w))) "
                "FROM unnest(%s::text[]) w",
                (ordered,),
            ).fetchall()
        )

    def classes(stems: dict[str, str]) -> dict[str, frozenset[str]]:
        by: dict[str, set[str]] = collections.defaultdict(set)
        for w, s in stems.items():
            by[s].add(w)
        return {w: frozenset(by[s]) for w, s in stems.items()}

    a, b = classes(lite), classes(pg)
    assert len(a) > 2500  # 2,817 distinct lower-cased words
    assert [w for w in ordered if a.get(w) != b.get(w)] == []
