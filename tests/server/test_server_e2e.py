"""The service under a real uvicorn on loopback: users made with the CLI, a token by the
OAuth2 password flow, reports added, searched and read over HTTP, raw requests that
try to climb out of the evaluation reports folder, and the audit trail verified."""

from __future__ import annotations

import io
import socket
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn
from service_helpers import REPORTS

from radpilot.commands.main import run
from radpilot.server.app import create_app
from radpilot.server.settings import Settings


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    root = tmp_path_factory.mktemp("live")
    db = root / "archive.db"
    (root / "reports").mkdir()
    (root / "reports" / "eval.html").write_text("<html>evaluation</html>")
    (root / "private.html").write_text("PRIVATE")
    for name, role in (("dr.smith", "radiologist"), ("admin", "admin")):
        old = sys.stdin
        sys.stdin = io.StringIO("correct horse battery\n")
        try:
            assert (
                run(["users", "add", name, "--role", role, "--password-stdin", "--db", str(db)])
                == 0
            )
        finally:
            sys.stdin = old
    app = create_app(Settings(db=str(db), reports_dir=root / "reports"))
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}", db
    server.should_exit = True
    thread.join(timeout=10)
    assert not thread.is_alive()


def _token(http: httpx.Client, name: str) -> dict[str, str]:
    r = http.post("/api/token", data={"username": name, "password": "correct horse battery"})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def test_end_to_end_on_loopback(live: tuple[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    url, db = live
    with httpx.Client(base_url=url, timeout=60) as http:
        assert http.get("/api/health").json() == {"status": "ok"}
        assert http.get("/api/search", params={"q": "effusion"}).status_code == 401
        auth = _token(http, "dr.smith")
        added = http.post("/api/archive/reports", json={"reports": REPORTS}, headers=auth).json()
        assert added["added"] == 2
        hits = http.get("/api/search", params={"q": "effusion -pneumothorax"}, headers=auth)
        assert hits.status_code == 200
        got = http.get("/api/archive/reports/R2", headers=auth).json()
        assert got["patient_id"] == "P-002"
        assert http.get("/api/users", headers=auth).status_code == 403
        admin = _token(http, "admin")
        assert http.get("/api/archive/reports/R2", headers=admin).status_code == 403
        assert http.get("/api/audit/verify", headers=admin).json()["ok"] is True
        spec = http.get("/openapi.json").json()
        assert spec["info"]["title"] == "radpilot" and "/api/studies" in spec["paths"]
    assert run(["audit", "verify", "--db", str(db)]) == 0
    assert "audit trail sound" in capsys.readouterr().out


def _raw_get(url: str, target: str, token: str) -> tuple[int, bytes]:
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as s:
        s.sendall(
            f"GET {target} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\n"
            "Connection: close\r\n\r\n".encode()
        )
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    return int(data.split(b" ", 2)[1]), data


@pytest.mark.parametrize(
    "target",
    [
        "/api/evaluations/../private.html",
        "/api/evaluations/..%2fprivate.html",
        "/api/evaluations/%2e%2e/private.html",
        "/api/evaluations/..\\private.html",
        "/api/evaluations/eval.html/../../private.html",
    ],
)
def test_raw_traversal_requests(live: tuple[str, Path], target: str) -> None:
    url, _db = live
    with httpx.Client(base_url=url, timeout=60) as http:
        token = _token(http, "dr.smith")["Authorization"].split()[1]
    status, data = _raw_get(url, target, token)
    assert status in (400, 404) and b"PRIVATE" not in data
    ok, data = _raw_get(url, "/api/evaluations/eval.html", token)
    assert ok == 200 and b"evaluation" in data


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_radpilot_serve_process(tmp_path: Path) -> None:
    """`radpilot serve --dicom-port` as a process: HTTP and DICOM answer, SIGTERM stops both."""
    import subprocess

    from pynetdicom import AE

    port, dicom_port = _free_port(), _free_port()
    db = tmp_path / "dept.db"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "radpilot.cli",
            "serve",
            "--db",
            str(db),
            "--port",
            str(port),
            "--dicom-port",
            str(dicom_port),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert proc.poll() is None, proc.communicate()[1]
            assert time.monotonic() < deadline, "radpilot serve did not start"
            time.sleep(0.2)
        assert httpx.get(f"http://127.0.0.1:{port}/api/studies").status_code == 401
        ae = AE(ae_title="TESTSCU")
        ae.add_requested_context("1.2.840.10008.1.1")
        assoc = ae.associate("127.0.0.1", dicom_port, ae_title="RADPILOT")
        assert assoc.is_established and assoc.send_c_echo().Status == 0
        assoc.release()
    finally:
        proc.terminate()
        _out, err = proc.communicate(timeout=60)
    # uvicorn ends by re-raising the SIGTERM it handled (after a clean shutdown)
    assert proc.returncode in (0, -15), err
    assert "Traceback" not in err
    assert (tmp_path / "dept.db.dicom").is_dir()
