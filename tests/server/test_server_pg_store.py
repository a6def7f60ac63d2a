"""The service's store on a real PostgreSQL server (``postgres.v1``): users, tokens,
secret and the audit trail, append-only in the database, a chain that never forks under
concurrent appenders, tampering that shows, and the CLI with ``--db URL``."""

from __future__ import annotations

import io
import threading

import psycopg
import pytest

from pgserver import PASSWORD, Server
from radpilot.commands.main import run
from radpilot.errors import InputError
from radpilot.server.access import Role
from radpilot.server.audit import verify
from radpilot.server.models import AuditEvent, TokenRecord
from radpilot.server.pg_service import PostgresServiceStore
from radpilot.server.store import open_service_store


def _event(i: int) -> AuditEvent:
    return AuditEvent(f"user{i % 3}", "radiologist", "archive.read", f"R{i}", "127.0.0.1")


def test_users_tokens_secret(pg_server: Server) -> None:
    url = pg_server.new_database("svc")
    store = open_service_store(url)
    assert isinstance(store, PostgresServiceStore)
    try:
        store.add_user("b.rad", Role.RADIOLOGIST, "h1")
        store.add_user("a.res", Role.RESEARCHER, "h2")
        with pytest.raises(InputError, match="exists already"):
            store.add_user("b.rad", Role.ADMIN, "h3")
        assert [u.name for u in store.users()] == ["a.res", "b.rad"]
        assert store.set_disabled("a.res", True) and not store.set_disabled("nobody", True)
        got = store.user("a.res")
        assert got is not None and got.disabled and got.role is Role.RESEARCHER
        assert store.set_password("b.rad", "h9") and store.user("b.rad").password_hash == "h9"  # type: ignore[union-attr]
        store.add_token(TokenRecord("j1", "b.rad", "api", 1.0, 2.0, False))
        store.add_token(TokenRecord("j2", "b.rad", "session", 1.0, 2.0, False))
        assert store.token("j1") == TokenRecord("j1", "b.rad", "api", 1.0, 2.0, False)
        assert store.revoke_token("j1") and not store.revoke_token("nope")
        assert store.revoke_user_tokens("b.rad") == 1
        assert store.token("j2").revoked  # type: ignore[union-attr]
        secret = store.secret()
        assert len(secret) == 32
    finally:
        store.close()
    again = open_service_store(url)  # the secret is kept, not made anew
    try:
        assert again.secret() == secret
    finally:
        again.close()


def test_append_only_in_postgres(pg_server: Server) -> None:
    url = pg_server.new_database("svc")
    store = open_service_store(url)
    try:
        for i in range(3):
            store.append_audit(_event(i))
    finally:
        store.close()
    with psycopg.connect(url, autocommit=True) as db:  # a superuser, even
        for sql in (
            "UPDATE service.audit SET actor = 'x' WHERE seq = 2",
            "DELETE FROM service.audit WHERE seq = 2",
            "TRUNCATE service.audit",
        ):
            with pytest.raises(psycopg.Error, match="append-only"):
                db.execute(sql)


def test_concurrent_appenders_never_fork(pg_server: Server) -> None:
    """Two stores (two connections, as two server processes would have) and four threads
    appending at once: one chain, every entry in it, no gap."""
    url = pg_server.new_database("svc")
    stores = [open_service_store(url), open_service_store(url)]
    per_thread = 40

    def append(k: int) -> None:
        for i in range(per_thread):
            stores[k % 2].append_audit(_event(k * 1000 + i))

    threads = [threading.Thread(target=append, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    try:
        result = verify(stores[0], chunk=37)
        assert result.ok and result.entries == 4 * per_thread, result.problem
        targets = {e.event.target for e in stores[1].audit_entries()}
        assert len(targets) == 4 * per_thread
    finally:
        for s in stores:
            s.close()


@pytest.mark.parametrize(
    ("tamper", "bad", "words"),
    [
        ("UPDATE service.audit SET target = 'R2' WHERE seq = 5", 5, "content does not match"),
        ("DELETE FROM service.audit WHERE seq = 3", 4, "expected entry 3"),
        (
            "UPDATE service.audit SET hash = (CASE WHEN hash LIKE 'f%' THEN 'e' ELSE 'f' END)"
            " || substr(hash, 2) WHERE seq = 2",
            2,
            "content does not match",
        ),
    ],
)
def test_tampering_shows(
    pg_server: Server, capsys: pytest.CaptureFixture[str], tamper: str, bad: int, words: str
) -> None:
    url = pg_server.new_database("svc")
    store = open_service_store(url)
    try:
        for i in range(6):
            store.append_audit(_event(i))
    finally:
        store.close()
    assert run(["audit", "verify", "--db", url]) == 0
    assert "audit trail sound: 6 entries" in capsys.readouterr().out
    with psycopg.connect(url, autocommit=True) as db:  # a superuser drops the trigger first
        db.execute("DROP TRIGGER audit_no_update ON service.audit")
        db.execute(tamper)  # type: ignore[arg-type]
    assert run(["audit", "verify", "--db", url]) == 3
    err = capsys.readouterr().err
    assert f"audit trail broken at entry {bad}:" in err and words in err


def test_users_and_audit_cli_with_url(
    pg_server: Server, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    url = pg_server.new_database("svc")
    monkeypatch.setattr("sys.stdin", io.StringIO("a-long-Passw0rd-here\n"))
    assert (
        run(["users", "add", "dr.who", "--role", "radiologist", "--password-stdin", "--db", url])
        == 0
    )
    assert "added user dr.who (radiologist)" in capsys.readouterr().out
    assert run(["users", "disable", "dr.who", "--db", url]) == 0
    capsys.readouterr()
    assert run(["users", "list", "--db", url, "--json"]) == 0
    out = capsys.readouterr().out
    assert '"dr.who"' in out and "disabled" in out
    assert run(["audit", "list", "--db", url]) == 0
    assert run(["audit", "verify", "--db", url]) == 0


def test_unreachable_url_is_one_line_without_password(
    pg_server: Server, capsys: pytest.CaptureFixture[str]
) -> None:
    name = pg_server.create_database("svc")
    wrong = pg_server.password_url(name, "not-" + PASSWORD)
    assert run(["audit", "verify", "--db", wrong]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "not-" + PASSWORD not in err and "Traceback" not in err
    assert "cannot connect" in err
    gone = "postgresql://nobody:pw-xyz@127.0.0.1:1/none"
    assert run(["users", "list", "--db", gone]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "pw-xyz" not in err
