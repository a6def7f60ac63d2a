"""`radpilot archive add|check|stats|show|remove|export` through the real entry point:
exit codes, capped error lines, damaged archives and unusable paths (one line, no
traceback), the audit of a removal, and exports that round-trip."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from radpilot.search.store import open_store

CliRun = Callable[..., tuple[int, str, str]]
Table = list[tuple[str, str, str, str, str]]

CSV_GOOD = (
    "id,patient_id,study_date,text\n"
    'C1,P1,2024-01-01,"FINDINGS: Small left pleural effusion. No pneumothorax."\n'
)


def _reports_csv(path: Path, table: Table) -> Path:
    lines = ["id,patient_id,study_date,modality,text"]
    for rid, pid, date, mod, text in table:
        lines.append(f'{rid},{pid},{date},{mod},"{text}"')
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture
def sqlite_archive(tmp_path: Path, cli: CliRun, report_table: Table) -> Path:
    db = tmp_path / "a.db"
    src = _reports_csv(tmp_path / "r.csv", report_table)
    code, _, err = cli("archive", "add", str(src), "--db", str(db))
    assert code == 0, err
    return db


@pytest.fixture
def archive(
    tmp_path: Path, cli: CliRun, report_table: Table, new_archive: Callable[[str], str]
) -> str:
    """The same archive on each backend (``--db`` a file or a PostgreSQL URL)."""
    db = new_archive("cli")
    src = _reports_csv(tmp_path / "r.csv", report_table)
    code, _, err = cli("archive", "add", str(src), "--db", db)
    assert code == 0, err
    return db


def _one_error_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert "Traceback" not in err
    return lines[0]


def test_add_exit_codes_and_lines(tmp_path: Path, cli: CliRun) -> None:
    db = str(tmp_path / "cli.db")
    src = tmp_path / "r.csv"
    src.write_text(CSV_GOOD + "C2,P2,2024-01-02\n")
    code, out, err = cli("archive", "add", str(src), "--db", db)
    assert code == 1  # partly done: one record skipped
    assert "added 1, updated 0, unchanged 0, errors 1" in out
    assert err.strip() == f"skipped: {src}: line 3: row has 3 fields, the header has 4"
    code, out, _ = cli("archive", "add", str(src), "--db", db)
    assert code == 1 and "unchanged 1" in out
    good = tmp_path / "good.csv"
    good.write_text(CSV_GOOD)
    code, out, err = cli("archive", "add", str(good), "--db", db)
    assert (code, err) == (0, "") and "unchanged 1, errors 0" in out
    bad = tmp_path / "bad.csv"
    bad.write_text("id,text\nX1,\nX2,  \n")
    code, out, err = cli("archive", "add", str(bad), "--db", db)
    assert code == 2 and "added 0" in out and err.count("skipped:") == 2


def test_add_caps_error_lines(tmp_path: Path, cli: CliRun) -> None:
    src = tmp_path / "many.csv"
    src.write_text(CSV_GOOD + "".join(f"E{i},P,2024-01-01,\n" for i in range(120)))
    db = str(tmp_path / "m.db")
    code, out, err = cli("archive", "add", str(src), "--db", db)
    lines = err.strip().splitlines()
    assert code == 1 and "errors 120" in out
    assert len(lines) == 51 and sum(x.startswith("skipped: ") for x in lines) == 50
    assert lines[-1] == "... and 70 more problem line(s) not shown (--max-errors N shows more)"
    code, _, err = cli("archive", "add", str(src), "--db", db, "--max-errors", "5")
    assert err.strip().splitlines()[-1].startswith("... and 115 more")


def test_headerless_csv_error_never_shows_the_text(tmp_path: Path, cli: CliRun) -> None:
    src = tmp_path / "headerless.csv"
    src.write_text("heart size is normal zqxsecret,lungs clear\nsecond report zqxsecret\n")
    code, _, err = cli("archive", "add", str(src), "--db", str(tmp_path / "h.db"))
    assert code == 2
    assert "zqxsecret" not in err and "heart size" not in err
    assert "line 1: the first row has no 'id' or 'accession' column (2 field(s))" in err


def test_identifiers_and_values_never_in_error_lines(tmp_path: Path, cli: CliRun) -> None:
    src = tmp_path / "r.jsonl"
    rows = [
        {"id": "ACC123", "text": "", "patient_id": "MRN999"},
        {"id": "ACC124", "text": "Effusion zqxsecret.", "study_date": "MRN999-notadate"},
        {"id": "", "text": "zqxsecret report"},
    ]
    src.write_text("".join(json.dumps(r) + "\n" for r in rows))
    code, _, err = cli("archive", "add", str(src), "--db", str(tmp_path / "i.db"))
    assert code == 2
    for secret in ("ACC123", "ACC124", "MRN999", "zqxsecret"):
        assert secret not in err
    assert err.strip().splitlines() == [
        f"skipped: {src}: line 1: field 'text (or a section column)': empty (no report text)",
        f"skipped: {src}: line 2: field 'study_date': not a date (use YYYY-MM-DD or HL7 YYYYMMDD)",
        f"skipped: {src}: line 3: field 'id': empty (every report needs an id)",
    ]


def test_db_path_that_cannot_hold_an_archive(tmp_path: Path, cli: CliRun) -> None:
    src = tmp_path / "r.csv"
    src.write_text(CSV_GOOD)
    a_file = tmp_path / "file.txt"
    a_file.write_text("x")
    code, _, err = cli("archive", "add", str(src), "--db", str(a_file / "a.db"))
    assert code == 2
    assert _one_error_line(err).startswith(
        f"error: {a_file / 'a.db'}: cannot create the archive's folder"
    )
    code, _, err = cli("archive", "add", str(src), "--db", str(tmp_path))
    assert code == 2 and "is a folder" in _one_error_line(err)
    code, _, err = cli("search", "pneumothorax", "--db", str(tmp_path / "none.db"))
    assert code == 2 and "no archive here" in _one_error_line(err)


def _damage(db: Path) -> bytes:
    """Overwrite the middle of the file (never its header) with junk; the new bytes."""
    con = sqlite3.connect(db)
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    data = bytearray(db.read_bytes())
    mid = len(data) // 2
    data[mid - 4096 : mid + 4096] = b"\xa5" * 8192
    db.write_bytes(bytes(data))
    return bytes(data)


def test_damaged_archive_is_refused_and_checked(
    sqlite_archive: Path, tmp_path: Path, cli: CliRun
) -> None:
    damaged = _damage(sqlite_archive)
    src = tmp_path / "more.csv"
    src.write_text("id,text\nM1,Cardiomegaly.\n")
    code, _, err = cli("archive", "add", str(src), "--db", str(sqlite_archive))
    assert code == 2 and "damaged" in _one_error_line(err)
    assert hashlib.sha256(sqlite_archive.read_bytes()).digest() == hashlib.sha256(damaged).digest()
    code, out, err = cli("archive", "check", "--db", str(sqlite_archive))
    assert code == 3 and out.startswith("integrity: ") and "problem(s)" in out, (out, err)
    assert "Traceback" not in out + err
    code, out, err = cli("archive", "stats", "--check", "--db", str(sqlite_archive))
    assert code == 3 and "Traceback" not in out + err
    code, out, err = cli("search", "cardiomegaly", "--db", str(sqlite_archive), "--no-semantic")
    assert code != 70 and "Traceback" not in out + err
    if code:
        assert code == 2 and "damaged" in _one_error_line(err)


def test_full_page_check_only_when_the_file_changed(
    sqlite_archive: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file exactly as a sound session closed it opens without reading every page; one
    changed by anything else (or with a write-ahead log left over) is checked again."""
    from radpilot.search import sqlite_schema

    calls: list[int] = []
    real = sqlite_schema.quick_check

    def counted(db: sqlite3.Connection) -> list[str]:
        calls.append(1)
        return real(db)

    monkeypatch.setattr(sqlite_schema, "quick_check", counted)
    open_store(sqlite_archive).close()
    assert calls == []
    with sqlite_archive.open("r+b") as fh:  # the same bytes written again: a new mtime
        head = fh.read(100)
        fh.seek(0)
        fh.write(head)
    open_store(sqlite_archive).close()
    assert calls == [1]
    open_store(sqlite_archive).close()  # that session was sound and closed: recorded again
    assert calls == [1]
    con = sqlite3.connect(sqlite_archive)  # another program's write, left in the log
    con.execute("INSERT INTO meta(key, value) VALUES ('x', 'y')")
    con.commit()
    open_store(sqlite_archive).close()
    con.close()
    assert calls == [1, 1]
    open_store(sqlite_archive, verify=False).close()  # not checked: nothing recorded
    open_store(sqlite_archive).close()
    assert calls == [1, 1, 1]


def test_not_sqlite_and_foreign_sqlite(tmp_path: Path, cli: CliRun) -> None:
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"not a database at all " * 50)
    other = tmp_path / "other.db"
    con = sqlite3.connect(other)
    con.execute("CREATE TABLE t (x)")
    con.commit()
    con.close()
    for path, why in (
        (junk, "not an SQLite database"),
        (other, "an SQLite database of another kind"),
    ):
        for argv in (("archive", "check"), ("archive", "stats"), ("search", "x")):
            code, _, err = cli(*argv, "--db", str(path))
            assert code == 2 and why in _one_error_line(err), argv
    assert junk.read_bytes() == b"not a database at all " * 50


def test_check_stats_show(archive: str, cli: CliRun, report_table: Table) -> None:
    n = len(report_table)
    code, out, _ = cli("archive", "check", "--db", str(archive))
    assert (code, out) == (0, "integrity: ok\n")
    code, out, _ = cli("archive", "check", "--db", str(archive), "--json")
    assert json.loads(out) == {"archive": str(archive), "reports": n, "problems": []}
    code, out, _ = cli("archive", "stats", "--db", str(archive), "--json", "--check")
    data = json.loads(out)
    assert code == 0 and data["reports"] == n and data["integrity_errors"] == []
    code, out, _ = cli("archive", "show", "A4", "--db", str(archive), "--json")
    shown = json.loads(out)
    assert {(f["finding"], f["status"]) for f in shown["findings"]} == {
        ("cardiomegaly", "present"),
        ("pleural_effusion", "absent"),
        ("pneumothorax", "absent"),
    }
    code, _, err = cli("archive", "show", "NOPE", "--db", str(archive))
    assert code == 2 and "NOPE" not in err
    assert _one_error_line(err) == f"error: no report with that id in {archive}"


def test_check_finds_an_out_of_step_index(sqlite_archive: Path, cli: CliRun) -> None:
    con = sqlite3.connect(sqlite_archive)
    con.execute("DELETE FROM reports WHERE id = 'A3'")  # behind the indexes' back
    con.commit()
    con.close()
    code, out, _ = cli("archive", "check", "--db", str(sqlite_archive))
    assert code == 3
    assert "mentions without a report" in out and "reports_fts: out of step" in out


def test_remove_with_audit(archive: str, cli: CliRun) -> None:
    import getpass

    code, out, err = cli(
        "archive", "remove", "A1", "--reason", "wrong patient", "--db", str(archive)
    )
    assert code == 0 and "removed 1 report" in out and "A1" not in out + err
    store = open_store(archive, readonly=True)
    assert store.get("A1") is None
    (entry,) = store.audit()
    assert (entry.user, entry.action, entry.report_id, entry.reason) == (
        getpass.getuser(),
        "remove",
        "A1",
        "wrong patient",
    )
    assert entry.at.endswith("+00:00")
    store.close()
    code, out, _ = cli("search", "pneumothorax", "--db", str(archive), "--json", "--no-semantic")
    assert sorted(h["id"] for h in json.loads(out)) == ["A5", "A6"]
    assert cli("archive", "check", "--db", str(archive))[0] == 0
    code, _, err = cli("archive", "remove", "A1", "--reason", "again", "--db", str(archive))
    assert code == 2 and "nothing removed" in _one_error_line(err)
    code, _, err = cli("archive", "remove", "A2", "--db", str(archive))
    assert code == 2 and "--reason" in err  # required: a removal says why


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_export_round_trips(
    archive: str, tmp_path: Path, cli: CliRun, fmt: str, report_table: Table
) -> None:
    n = len(report_table)
    out_file = tmp_path / f"export.{fmt}"
    code, out, _ = cli(
        "archive", "export", "-o", str(out_file), "--format", fmt, "--db", str(archive)
    )
    assert code == 0 and out == f"exported {n} reports ({fmt}) -> {out_file}\n"
    code, out, err = cli("archive", "add", str(out_file), "--db", str(archive), "--json")
    summary = json.loads(out)
    assert code == 0 and err == ""
    assert (summary["added"], summary["updated"], summary["unchanged"]) == (0, 0, n)
    fresh = tmp_path / "fresh.db"
    assert cli("archive", "add", str(out_file), "--db", str(fresh))[0] == 0
    a, b = open_store(archive, readonly=True), open_store(fresh, readonly=True)
    ids = [r[0] for r in report_table]
    assert a.existing(ids) == b.existing(ids) and len(a.existing(ids)) == n
    a.close()
    b.close()


def test_export_refuses_a_folder_and_bad_format(archive: str, tmp_path: Path, cli: CliRun) -> None:
    code, _, err = cli("archive", "export", "-o", str(tmp_path), "--db", str(archive))
    assert code == 2 and "is a folder" in _one_error_line(err)
    code, _, err = cli(
        "archive", "export", "-o", str(tmp_path / "x"), "--format", "xml", "--db", str(archive)
    )
    assert code == 2 and "Invalid value" in err
