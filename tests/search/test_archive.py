"""The archive: upsert by id with versions, transactional batches, kill -9 recovery,
reads during an ingest, and the `radpilot archive` commands."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from radpilot.errors import RegistryError
from radpilot.interop.records import make_record
from radpilot.search.engine import search
from radpilot.search.ingest import ingest_files, ingest_records
from radpilot.search.models import ArchiveError
from radpilot.search.store import default_db_path, open_store

NewArchive = Callable[[str], str]  # conftest's ``new_archive``: a fresh archive of a backend

SENTENCES = [
    "No pneumothorax.",
    "Small left pleural effusion.",
    "The heart is enlarged.",
    "Lungs are clear.",
    "Possible right lower lobe pneumonia.",
    "Mild pulmonary edema.",
    "Stable calcified granuloma.",
    "No focal consolidation.",
]


def synthetic_jsonl(path: Path, n: int, offset: int = 0) -> None:
    with path.open("w") as fh:
        for i in range(offset, offset + n):
            text = " ".join(SENTENCES[(i + k) % len(SENTENCES)] for k in range(3))
            fh.write(json.dumps({"id": f"S{i}", "text": text, "patient_id": f"P{i % 50}"}) + "\n")


def test_default_path_is_env_driven_and_not_created(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("RADPILOT_ARCHIVE", raising=False)
    monkeypatch.setenv("RADPILOT_HOME", str(tmp_path / "home"))
    assert default_db_path() == tmp_path / "home" / "archive.db"
    assert not (tmp_path / "home").exists()
    monkeypatch.setenv("RADPILOT_ARCHIVE", str(tmp_path / "x.db"))
    assert default_db_path() == tmp_path / "x.db"


def test_unknown_backend_lists_valid(tmp_path: Path) -> None:
    with pytest.raises(
        RegistryError,
        match=r"no archive backend named 'postgres.v9'; valid: postgres\.v1, sqlite\.v1$",
    ):
        open_store(tmp_path / "a.db", backend="postgres.v9")
    assert not (tmp_path / "a.db").exists()


def test_backend_comes_from_the_registry(tmp_path: Path) -> None:
    from radpilot import registry
    from radpilot.search.sqlite_store import SQLiteStore, open_sqlite

    assert registry.archive_backends.get("sqlite") is open_sqlite
    store = open_store(tmp_path / "a.db", backend="sqlite.v1")
    assert isinstance(store, SQLiteStore)
    store.close()


def test_readonly_missing_archive_is_clear(tmp_path: Path) -> None:
    with pytest.raises(ArchiveError, match="no archive here"):
        open_store(tmp_path / "none.db", readonly=True)


def test_not_an_archive(tmp_path: Path) -> None:
    p = tmp_path / "junk.db"
    p.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(ArchiveError, match="not a radpilot archive"):
        open_store(p)


def test_upsert_unchanged_and_versions(new_archive: NewArchive, report_records: list) -> None:
    store = open_store(new_archive("a"))
    recs = report_records
    s1 = ingest_records(store, recs, jobs=1)
    assert (s1.added, s1.updated, s1.unchanged) == (len(recs), 0, 0)
    s2 = ingest_records(store, recs, jobs=1)
    assert (s2.added, s2.updated, s2.unchanged) == (0, 0, len(recs))
    edited = make_record(
        rid="A2",
        patient_id="P2",
        study_date="2024-05-10",
        text="FINDINGS: Large right pneumothorax.",
    )
    s3 = ingest_records(store, [edited, make_record(rid="NEW", text="Cardiomegaly.")], jobs=1)
    assert (s3.added, s3.updated, s3.unchanged) == (1, 1, 0)
    cur = store.get("A2")
    assert cur is not None and cur.version == 2 and "Large right" in cur.text
    old = store.versions("A2")
    assert [v["version"] for v in old] == [1] and "No pneumothorax" in old[0]["text"]
    # The old version's findings are gone from the index; the new one's are in.
    hits = [h.report.id for h in search(store, "pneumothorax", semantic=False).hits]
    assert "A2" in hits
    hits = [h.report.id for h in search(store, "absent:pneumothorax", semantic=False).hits]
    assert "A2" not in hits
    st = store.stats()
    assert st.reports == len(recs) + 1 and st.versions == 1
    assert store.check() == []
    store.close()


def test_same_id_twice_in_one_file_keeps_both_versions(new_archive: NewArchive) -> None:
    store = open_store(new_archive("a"))
    a = make_record(rid="D1", text="No pneumothorax.")
    b = make_record(rid="D1", text="Small pneumothorax.")
    s = ingest_records(store, [a, b, a], jobs=1, batch_size=100)
    assert (s.added, s.updated) == (1, 2)
    assert store.get("D1").version == 3  # type: ignore[union-attr]
    assert len(store.versions("D1")) == 2
    store.close()


def test_batch_is_all_or_nothing(new_archive: NewArchive, report_records: list) -> None:
    store = open_store(new_archive("a"))
    ingest_records(store, report_records[:3], jobs=1)

    class Boom(Exception):
        pass

    def exploding():
        yield from report_records[3:6]
        raise Boom

    with pytest.raises(Boom):
        ingest_records(store, exploding(), jobs=1, batch_size=2)
    st = store.stats()
    # The whole batch of 2 was written before the third record was read; never a part.
    assert st.reports == 5
    assert store.check() == []
    store.close()


def test_multiprocess_ingest_matches_single(tmp_path: Path, new_archive: NewArchive) -> None:
    src = tmp_path / "r.jsonl"
    synthetic_jsonl(src, 300)
    a, b = open_store(new_archive("a")), open_store(new_archive("b"))
    sa = ingest_files(a, [src], jobs=1, batch_size=64)
    sb = ingest_files(b, [src], jobs=2, batch_size=64)
    assert sa.added == sb.added == 300
    assert a.stats().mentions == b.stats().mentions > 300
    a.close()
    b.close()


def _count(db: Path) -> int:
    try:
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
        try:
            return int(con.execute("SELECT count(*) FROM reports").fetchone()[0])
        finally:
            con.close()
    except sqlite3.Error:
        return 0


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.mark.parametrize("jobs", [1, 2])
def test_kill_9_mid_ingest_then_rerun(tmp_path: Path, jobs: int) -> None:
    """kill -9 of `archive add`: whole batches only; with --jobs 2 its reader processes
    (and the fork server) exit on their own, silently; rerunning finishes the job."""
    n = 6000
    src = tmp_path / "big.jsonl"
    synthetic_jsonl(src, n)
    db = tmp_path / "k.db"
    cmd = [sys.executable, "-c", "from radpilot.cli import main; main()", "archive", "add"]
    cmd += [str(src), "--db", str(db), "--batch-size", "100", "--jobs", str(jobs)]
    err = (tmp_path / "stderr.txt").open("w")
    # A session of its own: every process it starts stays in its process group.
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err, start_new_session=True)
    deadline = time.monotonic() + 90
    while _count(db) < 300 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.02)
    assert proc.poll() is None, "ingest finished before it could be killed; raise n"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    deadline = time.monotonic() + 30
    while _group_alive(proc.pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    orphans = _group_alive(proc.pid)
    if orphans:
        os.killpg(proc.pid, signal.SIGKILL)
    err.close()
    stderr = (tmp_path / "stderr.txt").read_text()
    assert not orphans, "worker processes outlived the killed ingest"
    assert "Traceback" not in stderr and "BrokenPipeError" not in stderr, stderr
    partial = _count(db)
    assert 0 < partial < n and partial % 100 == 0  # whole batches only
    res = subprocess.run([*cmd, "--json"], capture_output=True, text=True, check=True)
    summary = json.loads(res.stdout.strip().splitlines()[-1])
    assert summary["added"] == n - partial and summary["unchanged"] == partial
    assert summary["updated"] == 0 and summary["errors"] == 0
    store = open_store(db)
    assert store.check() == []
    st = store.stats()
    assert st.reports == n and st.versions == 0
    con = sqlite3.connect(db)
    assert con.execute("SELECT count(DISTINCT id) FROM reports").fetchone()[0] == n
    dup = con.execute(
        "SELECT count(*) FROM (SELECT report_rowid, span_start, finding FROM mentions "
        "GROUP BY 1, 2, 3 HAVING count(*) > 1)"
    ).fetchone()[0]
    assert dup == 0
    con.close()
    store.close()


@pytest.mark.parametrize("jobs", [1, 2])
def test_versions_of_one_id_across_batches(new_archive: NewArchive, jobs: int) -> None:
    """B then A again of an id stored as A, in one run, the two in different batches:
    three versions, A current. The hash checked before a batch is read is stale by the
    time A is checked: with jobs 2 the id is still being read (in flight), with jobs 1
    B's batch has just been written."""
    store = open_store(new_archive("a"))
    a = make_record(rid="D1", text="No pneumothorax.")
    b = make_record(rid="D1", text="Small pneumothorax.")
    ingest_records(store, [a], jobs=1)
    filler = [make_record(rid=f"F{i}", text="Lungs are clear.") for i in range(4)]
    s = ingest_records(store, [b, *filler, a], jobs=jobs, batch_size=4)
    assert (s.added, s.updated, s.unchanged) == (4, 2, 0)
    cur = store.get("D1")
    assert cur is not None and cur.version == 3 and cur.text == a.text
    store.close()


def test_search_works_while_ingest_runs(
    tmp_path: Path, new_archive: NewArchive, report_records: list
) -> None:
    db = new_archive("c")
    store = open_store(db)
    ingest_records(store, report_records, jobs=1)
    src = tmp_path / "more.jsonl"
    synthetic_jsonl(src, 3000)
    errors: list[BaseException] = []

    def writer() -> None:
        try:
            w = open_store(db)
            ingest_files(w, [src], jobs=1, batch_size=50)
            w.close()
        except BaseException as exc:  # surfaced by the assertion below
            errors.append(exc)

    t = threading.Thread(target=writer)
    t.start()
    reader = open_store(db, readonly=True)
    searches = 0
    seen_growth = set()
    while t.is_alive():
        hits = search(reader, "pneumothorax", semantic=False, limit=5).hits
        assert hits and all(h.report.id != "A2" for h in hits)  # "No pneumothorax" never
        seen_growth.add(reader.stats().reports)
        searches += 1
    t.join()
    assert not errors
    assert searches > 3 and len(seen_growth) > 1
    reader.close()
    store.close()


def test_reader_failure_on_one_report_is_an_error_line(
    new_archive: NewArchive, monkeypatch: pytest.MonkeyPatch, report_records: list
) -> None:
    from radpilot.search import ingest

    real = ingest.read_and_analyse

    def flaky(text: str):  # type: ignore[no-untyped-def]
        if "Cardiomegaly." in text:
            raise ValueError("boom")
        return real(text)

    monkeypatch.setattr(ingest, "read_and_analyse", flaky)
    errors: list = []
    store = open_store(new_archive("a"))
    recs = [
        make_record(rid=r.id, text=r.text, source=f"r.csv:line {i}")
        for i, r in enumerate(report_records, 2)
    ]
    s = ingest_records(store, recs, jobs=1, on_problem=errors.append)
    assert s.errors == len(errors) == 1 and s.added == len(report_records) - 1
    # The file and line, and the exception's type: never its message, the id or the text.
    assert str(errors[0]) == "r.csv: line 5: the report reader failed (ValueError)"
    store.close()


def test_broken_vocabulary_stops_the_ingest_once(
    new_archive: NewArchive, monkeypatch: pytest.MonkeyPatch, report_records: list
) -> None:
    from radpilot.errors import VocabularyError
    from radpilot.search import ingest

    def broken(text: str):  # type: ignore[no-untyped-def]
        raise VocabularyError("findings.json: bad entry")

    monkeypatch.setattr(ingest, "read_and_analyse", broken)
    store = open_store(new_archive("a"))
    with pytest.raises(VocabularyError, match="bad entry"):
        ingest_records(store, report_records, jobs=1)
    assert store.stats().reports == 0
    store.close()
