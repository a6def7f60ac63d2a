"""`radpilot users add|list|disable`: one line for each mistake, never a traceback."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pytest

from radpilot.commands.main import run
from radpilot.server.store import backend_for, open_service_store


def _add(monkeypatch: pytest.MonkeyPatch, db: Path, name: str, role: str, pw: str) -> int:
    monkeypatch.setattr(sys, "stdin", io.StringIO(pw + "\n"))
    return run(["users", "add", name, "--role", role, "--password-stdin", "--db", str(db)])


def test_users_cli(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "archive.db"
    assert _add(monkeypatch, db, "alice", "radiologist", "long-enough-pw") == 0
    assert "added user alice (radiologist)" in capsys.readouterr().out
    cases = [
        ("alice", "admin", "long-enough-pw", "error: user 'alice' exists already"),
        (
            "bob",
            "doctor",
            "long-enough-pw",
            "error: role 'doctor' is not a role; valid: radiologist, researcher, admin",
        ),
        ("bob", "admin", "short", "error: password: at least 8 characters"),
        ("../bob", "admin", "long-enough-pw", "error: user name: 1-64 letters"),
    ]
    for name, role, pw, line in cases:
        assert _add(monkeypatch, db, name, role, pw) == 2
        err = capsys.readouterr().err
        assert err.startswith(line) and err.count("\n") == 1 and pw not in err
    assert run(["users", "list", "--db", str(db)]) == 0
    assert capsys.readouterr().out.startswith("alice\tradiologist\tenabled\t")
    assert run(["users", "disable", "alice", "--db", str(db)]) == 0
    assert run(["users", "disable", "nobody", "--db", str(db)]) == 2
    assert "error: no user 'nobody'" in capsys.readouterr().err
    store = open_service_store(db)
    try:
        user = store.user("alice")
        assert user is not None and user.disabled and user.password_hash.startswith("$argon2id$")
    finally:
        store.close()
    # The file is still a radpilot archive.
    assert run(["archive", "stats", "--db", str(db)]) == 0
    # Another application's SQLite file is refused and left as it was.
    import sqlite3

    other = tmp_path / "other.sqlite"
    con = sqlite3.connect(other)
    con.execute("CREATE TABLE x (a)")
    con.commit()
    con.close()
    capsys.readouterr()
    assert _add(monkeypatch, other, "carol", "admin", "long-enough-pw") == 2
    assert "not a radpilot archive" in capsys.readouterr().err
    con = sqlite3.connect(other)
    assert con.execute("SELECT name FROM sqlite_master").fetchall() == [("x",)]
    con.close()


def test_db_urls(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert backend_for("/a/b.db") == ("sqlite", "/a/b.db")
    assert backend_for("sqlite:////a/b.db") == ("sqlite", "/a/b.db")
    assert backend_for("postgresql+psycopg://u@h/db") == ("postgres", "postgresql+psycopg://u@h/db")
    assert run(["users", "list", "--db", "postgresql://user:pw@localhost/x"]) == 2
    err = capsys.readouterr().err
    # a PostgreSQL backend is registered: nothing listens there, one line, no password
    assert "cannot connect" in err and "pw@" not in err and len(err.strip().splitlines()) == 1


def test_serve_on_a_taken_port_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code = run(["serve", "--db", str(tmp_path / "a.db"), "--port", str(port)])
    assert code == 2
    assert (
        capsys.readouterr().err
        == f"error: cannot listen on 127.0.0.1:{port}: Address already in use\n"
    )


def test_serve_refuses_what_is_no_archive(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "notes.txt").write_text("hello")
    assert run(["serve", "--db", str(tmp_path / "notes.txt")]) == 2
    assert "not a radpilot archive" in capsys.readouterr().err
    assert run(["serve", "--db", str(tmp_path), "--reports-dir", str(tmp_path / "none")]) == 2
    assert "--reports-dir" in capsys.readouterr().err
