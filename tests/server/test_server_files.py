"""Evaluation reports without path traversal; uploads bounded in size and count; the
image routes on real sample radiographs."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from service_helpers import Service

from radpilot import samples
from radpilot.server.access import Role

RAD = Role.RADIOLOGIST


def test_evaluation_reports_listed_and_served(service: Service) -> None:
    listed = service.client.get("/api/evaluations", headers=service.auth(Role.RESEARCHER)).json()
    assert listed == [
        {"path": "reader/index.html", "bytes": 39, "url": "/api/evaluations/reader/index.html"}
    ]
    r = service.client.get("/api/evaluations/reader/index.html", headers=service.auth(RAD))
    assert r.status_code == 200 and "reader report" in r.text
    assert r.headers["content-type"].startswith("text/html")


@pytest.mark.parametrize(
    "path",
    [
        "../secret.html",
        "reader/../../secret.html",
        "..%2Fsecret.html",
        "%2e%2e/secret.html",
        "%2e%2e%2fsecret.html",
        "reader/..%5C..%5Csecret.html",
        "%2Fetc%2Fpasswd",
        "//etc/passwd",
        "reader/%00index.html",
        "reader/.hidden.html",
        "C:%5Cwindows%5Cwin.ini",
        "nothere.html",
        "",
    ],
)
def test_path_traversal_refused(service: Service, path: str) -> None:
    r = service.client.get(f"/api/evaluations/{path}", headers=service.auth(RAD))
    assert r.status_code == 404
    assert "outside the reports folder" not in r.text


def test_symlink_out_of_the_reports_folder_refused(service: Service) -> None:
    root = service.app.state.ctx.settings.reports_dir
    link = root / "escape.html"
    os.symlink(root.parent / "secret.html", link)
    try:
        r = service.client.get("/api/evaluations/escape.html", headers=service.auth(RAD))
        assert r.status_code == 404
        listed = service.client.get("/api/evaluations", headers=service.auth(RAD)).json()
        assert [x["path"] for x in listed] == ["reader/index.html"]
    finally:
        link.unlink()


@pytest.fixture
def small(fresh_service: Callable[..., Service]) -> Service:
    return fresh_service(max_upload_bytes=200_000, max_body_bytes=4_000, max_upload_files=2)


def _file(name: str) -> tuple[str, bytes, str]:
    return (name, samples.get(name).read_bytes(), "application/octet-stream")


def test_oversized_uploads_refused(small: Service) -> None:
    big = ("big.dcm", b"\0" * 300_000, "application/dicom")
    r = small.client.post("/api/analyze", files=[("files", big)], headers=small.auth(RAD))
    assert r.status_code == 413 and "200,000 bytes" in r.json()["detail"]

    def chunks() -> Iterator[bytes]:  # no Content-Length: the limit applies as it streams
        for _ in range(40):
            yield b"x" * 10_000

    r = small.client.post(
        "/api/analyze",
        content=chunks(),
        headers={**small.auth(RAD), "content-type": "multipart/form-data; boundary=zz"},
    )
    assert r.status_code == 413
    three = [("files", _file("nih_normal.png"))] * 3
    r = small.client.post("/api/analyze", files=three, headers=small.auth(RAD))
    assert r.status_code == 413
    r = small.client.post(
        "/api/label", json={"reports": [{"text": "x" * 5_000}]}, headers=small.auth(RAD)
    )
    assert r.status_code == 413


def test_analyze_and_compare_uploads(service: Service, tmp_path: Path) -> None:
    files = [
        ("files", _file("siim_monochrome2.dcm")),
        (
            "files",
            ("../../x/evil name?.png", samples.get("nih_normal.png").read_bytes(), "image/png"),
        ),
    ]
    r = service.client.post("/api/analyze", files=files, headers=service.auth(RAD))
    assert r.status_code == 200, r.text
    results = r.json()
    assert [x["path"] for x in results] == ["siim_monochrome2.dcm", "evil name_.png"]
    assert all(x["findings"] for x in results)
    assert "radpilot-upload-" not in r.text
    r = service.client.post(
        "/api/compare",
        files={
            "current": _file("serial_p270_current_day-1.png"),
            "prior": _file("serial_p270_prior_day-23.png"),
        },
        headers=service.auth(RAD),
    )
    assert r.status_code == 200, r.text
    assert r.json()["findings"] and "radpilot-upload-" not in r.text
    junk = service.client.post(
        "/api/analyze",
        files=[("files", ("a.png", b"not an image", "image/png"))],
        headers=service.auth(RAD),
    )
    assert junk.status_code == 200 and junk.json()[0]["error"]
    audit = [e.event for e in service.app.state.ctx.store.audit_entries()]
    assert any(e.action == "images.compare" for e in audit)
