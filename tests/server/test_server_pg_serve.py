"""`radpilot serve --db postgresql://...` as a department runs it: users added with the
CLI, the server in its own process over the URL, the archive, studies and worklist
routes answering, every patient-data request in the audit trail, the chain sound."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import time

import httpx
import pytest
from service_helpers import REPORTS

from pgserver import Server
from radpilot.commands.main import run

PASSWORD = "serve-on-pg-password"


def _serve(url: str) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "radpilot.cli", "serve", "--db", url, "--port", "0"],
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    assert proc.stderr is not None
    line = proc.stderr.readline()  # "serving on http://127.0.0.1:PORT (OpenAPI ...)"
    if not line.startswith("serving on "):
        proc.kill()
        pytest.fail(f"serve did not start: {line!r}")
    return proc, line.split()[2]


def test_serve_over_postgres(
    pg_server: Server, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = pg_server.new_database("serve")
    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
    assert (
        run(["users", "add", "rad", "--role", "radiologist", "--password-stdin", "--db", url]) == 0
    )
    proc, base = _serve(url)
    try:
        with httpx.Client(base_url=base, timeout=30) as c:
            assert c.get("/api/health").status_code == 200
            assert c.get("/api/studies").status_code == 401
            tok = c.post("/api/token", data={"username": "rad", "password": PASSWORD})
            assert tok.status_code == 200, tok.text
            auth = {"Authorization": f"Bearer {tok.json()['access_token']}"}
            added = c.post("/api/archive/reports", json={"reports": REPORTS}, headers=auth)
            assert added.status_code == 200 and added.json()["added"] == 2, added.text
            hits = c.get("/api/search", params={"q": "effusion"}, headers=auth).json()["hits"]
            assert {h["id"] for h in hits} >= {"R1"}
            assert c.get("/api/archive/reports/R1", headers=auth).status_code == 200
            assert c.get("/api/studies", headers=auth).json() == []
            assert c.get("/api/worklist", headers=auth).status_code == 200
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    capsys.readouterr()
    assert run(["audit", "verify", "--db", url]) == 0
    out = capsys.readouterr().out
    assert out.startswith("audit trail sound:") and int(out.split()[3]) >= 4


def test_dicom_port_on_a_url_needs_a_store_folder(
    pg_server: Server, capsys: pytest.CaptureFixture[str]
) -> None:
    url = pg_server.new_database("serve")
    started = time.monotonic()
    assert run(["serve", "--db", url, "--port", "0", "--dicom-port", "1"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.endswith("needs --dicom-store FOLDER (where received instances are kept)")
    assert len(err.splitlines()) == 1 and time.monotonic() - started < 60
