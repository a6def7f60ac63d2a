"""The studies store on a real SQLite file: idempotent upserts, forward-only status,
analysis attached, reopen, concurrent writers in separate processes, and living beside
the archive's tables in one file."""

from __future__ import annotations

import multiprocessing
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from radpilot.search.store import open_store
from radpilot.workflow.studies import (
    StudyError,
    StudyFilter,
    StudyRecord,
    StudyStatus,
    StudyUrgency,
    open_studies,
    parse_received,
)

UID = "1.2.826.0.1.3680043.8.498.1"


@pytest.fixture(params=["sqlite", "postgres"])
def new_db(request: pytest.FixtureRequest, tmp_path: Path) -> Callable[[], str]:
    """A fresh archive location of each backend: an SQLite file, or a new database on
    the session's PostgreSQL server (skipped, with the reason, where there is none)."""
    if request.param == "postgres":
        server = request.getfixturevalue("pg_server")
        return lambda: str(server.new_database("studies"))
    names = iter(range(1_000))
    return lambda: str(tmp_path / f"a{next(names)}.db")


def test_upsert_is_idempotent_and_keeps_first_arrival(new_db: Callable[[], str]) -> None:
    db = new_db()
    with open_studies(db) as store:
        first = StudyRecord(UID, patient_id="P1", modality="CR", received="2026-12-01T08:00:00Z")
        assert store.upsert(first) == "added"
        assert store.upsert(first) == "unchanged"
        # re-sent later with an accession and no patient: merged, not duplicated
        again = StudyRecord(UID, accession="ACC9", received="2026-12-01T09:30:00Z")
        assert store.upsert(again) == "updated"
        studies = store.list()
        assert len(studies) == 1
        s = studies[0]
        assert (s.patient_id, s.accession, s.modality) == ("P1", "ACC9", "CR")
        assert s.received == "2026-12-01T08:00:00+00:00"
        assert s.status is StudyStatus.RECEIVED


def test_status_moves_forward_only(new_db: Callable[[], str]) -> None:
    with open_studies(new_db()) as store:
        store.upsert(StudyRecord(UID))
        urgency = StudyUrgency("urgent", 0.91, ("critical finding Pneumothorax positive",))
        s = store.attach_analysis(UID, [{"path": "x.dcm", "findings": []}], urgency)
        assert s.status is StudyStatus.ANALYSED and s.urgency == urgency
        assert s.analysis == ({"path": "x.dcm", "findings": []},)
        assert store.set_status(UID, StudyStatus.READ).status is StudyStatus.READ
        signed = store.set_status(UID, StudyStatus.SIGNED, report_id="R-77")
        assert (signed.status, signed.report_id) == (StudyStatus.SIGNED, "R-77")
        with pytest.raises(StudyError, match="never goes back to read"):
            store.set_status(UID, StudyStatus.READ)
        # a re-sent signed study stays signed
        store.upsert(StudyRecord(UID, modality="DX"))
        assert store.get(UID).status is StudyStatus.SIGNED  # type: ignore[union-attr]
        # analysis after reading keeps the status
        assert store.attach_analysis(UID, [], None).status is StudyStatus.SIGNED


def test_unknown_study_and_bad_records(new_db: Callable[[], str]) -> None:
    with open_studies(new_db()) as store:
        with pytest.raises(StudyError, match=r"no study 9\.9 in the studies store"):
            store.set_status("9.9", StudyStatus.READ)
        assert store.get("9.9") is None
    with pytest.raises(StudyError, match="study_uid: empty"):
        StudyRecord("  ")
    with pytest.raises(StudyError, match="at most 64"):
        StudyRecord("1." * 40)
    with pytest.raises(StudyError, match="not an ISO date-time"):
        StudyRecord(UID, received="yesterday")


def test_filters_and_reopen(new_db: Callable[[], str]) -> None:
    db = new_db()
    with open_studies(db) as store:
        for i, (pid, t) in enumerate([("P1", "08:00"), ("P2", "07:00"), ("P1", "09:00")]):
            store.upsert(StudyRecord(f"1.2.{i}", patient_id=pid, received=f"2026-12-01T{t}Z"))
        store.set_status("1.2.0", StudyStatus.READ)
    with open_studies(db, readonly=True) as store:
        assert [s.study_uid for s in store.list()] == ["1.2.1", "1.2.0", "1.2.2"]
        assert [s.study_uid for s in store.list(StudyFilter(unread=True))] == ["1.2.1", "1.2.2"]
        assert [s.study_uid for s in store.list(StudyFilter(patient_id="P1"))] == ["1.2.0", "1.2.2"]
        since = StudyFilter(since="2026-12-01T08:30:00+00:00")
        assert [s.study_uid for s in store.list(since)] == ["1.2.2"]
        assert len(store.list(StudyFilter(limit=1))) == 1
        with pytest.raises(StudyError, match="read-only"):
            store.upsert(StudyRecord("1.2.9"))


def test_shares_the_archive_file(tmp_path: Path) -> None:
    db = tmp_path / "a.db"
    with open_studies(db) as store:
        store.upsert(StudyRecord(UID))
    archive = open_store(db)  # the archive opens it (and checks it) as one of its own
    assert archive.check() == []
    assert archive.stats().reports == 0
    archive.close()
    with open_studies(db) as store:
        assert store.get(UID) is not None


def test_refuses_foreign_files(tmp_path: Path) -> None:
    other = tmp_path / "other.db"
    con = sqlite3.connect(other)
    con.execute("CREATE TABLE t (x)")
    con.commit()
    con.close()
    with pytest.raises(StudyError, match="another kind"):
        open_studies(other)
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    with pytest.raises(StudyError, match="not an SQLite database"):
        open_studies(text)
    with pytest.raises(StudyError, match="no archive here"):
        open_studies(tmp_path / "missing.db", readonly=True)


def test_refuses_other_schema_version(tmp_path: Path) -> None:
    db = tmp_path / "a.db"
    open_studies(db).close()
    con = sqlite3.connect(db)
    con.execute("UPDATE meta SET value = '99' WHERE key = 'studies_schema'")
    con.commit()
    con.close()
    with pytest.raises(StudyError, match="studies schema 99"):
        open_studies(db)


def _writer(db: str, worker: int, n: int) -> None:
    with open_studies(db) as store:
        for i in range(n):
            # every worker sends the same studies (a re-sending modality) and its own
            store.upsert(StudyRecord(f"1.3.{i}", patient_id=f"W{worker}"))
            store.upsert(StudyRecord(f"1.4.{worker}.{i}"))


def test_concurrent_writers_lose_nothing(new_db: Callable[[], str]) -> None:
    db = new_db()
    open_studies(db).close()
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(db, w, 25)) for w in range(3)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    with open_studies(db) as store:
        uids = [s.study_uid for s in store.list()]
    assert len(uids) == len(set(uids)) == 25 + 3 * 25


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=40))
def test_received_parser_never_crashes(text: str) -> None:
    try:
        when = parse_received(text)
    except StudyError as exc:
        assert "\n" not in str(exc)
    else:
        assert when.utcoffset() is not None and when.utcoffset().total_seconds() == 0


def test_postgres_studies_share_the_archive_database(pg_server: Any) -> None:
    url = pg_server.new_database("studies")
    with open_studies(url) as store:
        store.upsert(StudyRecord(UID))
    archive = open_store(url)  # the archive's migrations made the studies' table too
    assert archive.stats().reports == 0
    archive.close()
    with open_studies(url, readonly=True) as store:
        assert store.get(UID) is not None
    with pytest.raises(StudyError, match="no radpilot archive"):
        open_studies(pg_server.new_database("empty"), readonly=True)
    gone = "postgresql://nobody:pw-xyz@127.0.0.1:1/none"
    with pytest.raises(StudyError, match="cannot connect") as info:
        open_studies(gone)
    assert "pw-xyz" not in str(info.value)
