"""The audit trail: every read and write of patient data recorded (who, what, when, from
where), append-only, and a hash chain that shows an edit, an insertion or a deletion."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

import pytest
from service_helpers import REPORTS, Service, user_name

from radpilot.commands.main import run
from radpilot.server.access import Role
from radpilot.server.audit import verify

RAD = Role.RADIOLOGIST


def _trail(fresh_service: Callable[..., Service]) -> Service:
    svc = fresh_service()
    auth = svc.auth(RAD)
    assert (
        svc.client.post("/api/archive/reports", json={"reports": REPORTS}, headers=auth).status_code
        == 200
    )
    assert svc.client.get("/api/archive/reports/R1", headers=auth).status_code == 200
    assert (
        svc.client.get(
            "/api/search", params={"q": "effusion"}, headers=svc.auth(Role.RESEARCHER)
        ).status_code
        == 200
    )
    return svc


def test_reads_and_writes_are_recorded(fresh_service: Callable[..., Service]) -> None:
    svc = _trail(fresh_service)
    entries = svc.app.state.ctx.store.audit_entries()
    by_action = {e.event.action: e for e in entries}
    write, read, search = (by_action[a] for a in ("archive.write", "archive.read", "search"))
    assert write.event.actor == user_name(RAD) and write.event.role == "radiologist"
    assert write.event.target == "R1,R2" and write.event.detail == "2 item(s)"
    assert read.event.target == "R1" and read.event.client == "testclient"
    assert search.event.role == "researcher" and search.event.detail.endswith("de-identified")
    assert all(e.at.endswith("+00:00") for e in entries)
    assert [e.seq for e in entries] == list(range(1, len(entries) + 1))
    text = " ".join(str(e.to_dict()) for e in entries)
    assert "pleural effusion" not in text  # ids only, never report text
    assert verify(svc.app.state.ctx.store).ok


def test_append_only_in_sqlite(fresh_service: Callable[..., Service]) -> None:
    svc = _trail(fresh_service)
    db = sqlite3.connect(svc.db)
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        db.execute("UPDATE service_audit SET actor = 'someone' WHERE seq = 2")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        db.execute("DELETE FROM service_audit WHERE seq = 2")
    db.close()


@pytest.mark.parametrize(
    ("tamper", "bad", "words"),
    [
        ("UPDATE service_audit SET target = 'R2' WHERE seq = 5", 5, "content does not match"),
        ("DELETE FROM service_audit WHERE seq = 3", 4, "expected entry 3"),
        (
            "UPDATE service_audit SET hash = (CASE WHEN hash LIKE 'f%' THEN 'e' ELSE 'f' END) || substr(hash, 2) WHERE seq = 2",
            2,
            "content does not match",
        ),
    ],
)
def test_tampering_shows(
    fresh_service: Callable[..., Service],
    capsys: pytest.CaptureFixture[str],
    tamper: str,
    bad: int,
    words: str,
) -> None:
    svc = _trail(fresh_service)
    assert run(["audit", "verify", "--db", str(svc.db)]) == 0
    assert "audit trail sound" in capsys.readouterr().out
    db = sqlite3.connect(svc.db)
    db.execute("DROP TRIGGER service_audit_no_update")  # what an intruder with the file does
    db.execute("DROP TRIGGER service_audit_no_delete")
    db.execute(tamper)
    db.commit()
    db.close()
    assert run(["audit", "verify", "--db", str(svc.db)]) == 3
    err = capsys.readouterr().err
    assert f"audit trail broken at entry {bad}:" in err and words in err
    api = svc.client.get("/api/audit/verify", headers=svc.auth(Role.ADMIN)).json()
    assert api["ok"] is False and api["first_bad"] == bad


def test_audit_list_cli(
    fresh_service: Callable[..., Service], capsys: pytest.CaptureFixture[str]
) -> None:
    svc = _trail(fresh_service)
    assert run(["audit", "list", "--db", str(svc.db), "--json", "-n", "2"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 2 and '"seq": 1' in lines[0]
