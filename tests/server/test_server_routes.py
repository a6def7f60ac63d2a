"""Every route of the OpenAPI description: 401 without credentials, 403 for each role not
admitted, never 401/403 for an admitted one; only the public routes answer without."""

from __future__ import annotations

import logging
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from service_helpers import BOTH, Service

from radpilot.server.access import Role, policy

SERVICE_BACKENDS = BOTH  # each test below on SQLite and on PostgreSQL

PUBLIC = {("GET", "/api/health"), ("POST", "/api/token"), ("GET", "/login"), ("POST", "/login")}
REVOKING = {"/api/token/revoke", "/logout"}  # these end the token they carry
PATH_VALUES = {"report_id": "R1", "path": "reader/index.html", "name": "nobody"}


def _routes(service: Service) -> list[tuple[str, str, dict]]:
    spec = service.client.get("/openapi.json").json()
    out = []
    for path, methods in spec["paths"].items():
        for method, op in methods.items():
            out.append((method.upper(), path, op))
    return out


def _url(path: str) -> str:
    for key, value in PATH_VALUES.items():
        path = path.replace("{" + key + "}", value)
    return path


def test_openapi_and_docs_need_no_credentials(service: Service) -> None:
    assert service.client.get("/openapi.json").status_code == 200
    assert service.client.get("/docs").status_code == 200
    assert service.client.get("/api/health").json() == {"status": "ok"}


def test_every_route_is_public_or_names_its_roles(service: Service) -> None:
    spec = service.client.get("/openapi.json").json()
    scheme = spec["components"]["securitySchemes"]["OAuth2PasswordBearer"]
    assert scheme["flows"]["password"]["tokenUrl"] == "/api/token"
    routes = _routes(service)
    assert len(routes) >= 20
    for method, path, op in routes:
        if (method, path) in PUBLIC:
            assert "x-roles" not in op
            continue
        assert op.get("x-roles"), f"{method} {path} names no roles"
        assert op.get("security") == [{"OAuth2PasswordBearer": []}], f"{method} {path}"
        assert set(op["x-roles"]) == {r.value for r in policy().permission(op["x-permission"])}


def test_every_guarded_route_answers_401_without_credentials(service: Service) -> None:
    checked = 0
    for method, path, _op in _routes(service):
        if (method, path) in PUBLIC:
            continue
        r = service.client.request(method, _url(path))
        assert r.status_code == 401, f"{method} {path}: {r.status_code}"
        assert r.headers.get("www-authenticate") == "Bearer"
        bad = service.client.request(method, _url(path), headers={"Authorization": "Bearer x.y.z"})
        assert bad.status_code == 401, f"{method} {path} with a forged token"
        checked += 1
    assert checked >= 16


def test_every_guarded_route_answers_403_to_each_role_not_admitted(service: Service) -> None:
    refused = 0
    for method, path, op in _routes(service):
        if (method, path) in PUBLIC:
            continue
        admitted = set(op["x-roles"])
        for role in Role:
            auth = service.fresh_auth(role) if path in REVOKING else service.auth(role)
            r = service.client.request(method, _url(path), headers=auth)
            if role.value in admitted:
                assert r.status_code not in (401, 403), f"{method} {path} as {role}: {r.text}"
            else:
                assert r.status_code == 403, f"{method} {path} as {role}: {r.status_code}"
                refused += 1
    assert refused >= 15  # every patient-data route refuses the admin, admin routes the rest


@pytest.mark.parametrize("role", [Role.ADMIN, Role.RESEARCHER])
def test_least_privilege_of_patient_data(service: Service, role: Role) -> None:
    r = service.client.get("/api/archive/reports/R1", headers=service.auth(role))
    assert r.status_code == 403


def test_researcher_sees_pseudonyms_and_deidentified_text(service: Service) -> None:
    named = {
        "id": "R7",
        "patient_id": "P-007",
        "study_date": "2024-03-04",
        "text": "Compared with 2024-01-05, read by Dr. Okafor: small right pneumothorax "
        "(MRN 1234567, P-007).",
    }
    added = service.client.post(
        "/api/archive/reports", json={"reports": [named]}, headers=service.auth(Role.RADIOLOGIST)
    )
    assert added.status_code == 200 and added.json()["added"] == 1
    res = service.client.get(
        "/api/search", params={"q": "pneumothorax"}, headers=service.auth(Role.RESEARCHER)
    ).json()
    (hit,) = [h for h in res["hits"] if h["findings"] and h["findings"][0]["status"] == "present"]
    sentence = hit["findings"][0]["sentence"]["text"]
    assert "pneumothorax" in sentence and "[NAME]" in sentence
    for secret in ("Okafor", "1234567", "P-007", "2024-01-05", "R7"):
        assert secret not in str(hit)


def test_researcher_sees_pseudonyms(service: Service) -> None:
    rad = service.client.get(
        "/api/search", params={"q": "effusion"}, headers=service.auth(Role.RADIOLOGIST)
    ).json()
    res = service.client.get(
        "/api/search", params={"q": "effusion"}, headers=service.auth(Role.RESEARCHER)
    ).json()
    assert {h["id"] for h in rad["hits"]} == {"R1"}
    assert len(res["hits"]) == 1
    hit = res["hits"][0]
    assert hit["id"].startswith("rp-") and hit["patient_id"].startswith("pt-")
    assert hit["study_date"] == "2024"
    assert hit["findings"][0]["finding"] == "pleural_effusion"
    dumped = str(res)
    for secret in ("P-001", "'R1'", "2024-01-02"):
        assert secret not in dumped
    assert hit["findings"][0]["sentence"]["text"] == "Small left pleural effusion."
    again = service.client.get(
        "/api/search", params={"q": "effusion"}, headers=service.auth(Role.RESEARCHER)
    ).json()
    assert again["hits"][0]["patient_id"] == hit["patient_id"]  # stable pseudonyms
    by_patient = service.client.get(
        "/api/search", params={"q": "effusion patient:P-001"}, headers=service.auth(Role.RESEARCHER)
    )
    assert by_patient.status_code == 403


def test_radiologist_reads_a_report_with_its_findings(service: Service) -> None:
    r = service.client.get("/api/archive/reports/R1", headers=service.auth(Role.RADIOLOGIST))
    assert r.status_code == 200
    body = r.json()
    assert body["patient_id"] == "P-001" and body["text"].startswith("Small left")
    assert {m["finding"] for m in body["mentions"]} >= {"pleural_effusion", "pneumothorax"}
    missing = service.client.get(
        "/api/archive/reports/NOPE", headers=service.auth(Role.RADIOLOGIST)
    )
    assert missing.status_code == 404


def test_label_route(service: Service) -> None:
    r = service.client.post(
        "/api/label",
        json={"reports": [{"id": "a", "text": "No pneumothorax. Small right effusion."}]},
        headers=service.auth(Role.RESEARCHER),
    )
    assert r.status_code == 200
    labels = r.json()[0]["labels"]
    assert labels["Pneumothorax"] == 0.0 and labels["Pleural Effusion"] == 1.0
    bad = service.client.post(
        "/api/label", json={"reports": [{"txt": "x"}]}, headers=service.auth(Role.RESEARCHER)
    )
    assert bad.status_code == 422


def test_archive_add_names_bad_records_without_text(service: Service) -> None:
    r = service.client.post(
        "/api/archive/reports",
        json={"reports": [{"id": "R9", "text": "Clear lungs.", "study_date": "yesterday"}]},
        headers=service.auth(Role.RADIOLOGIST),
    )
    assert r.status_code == 200
    body = r.json()
    assert body["errors"] == 1 and body["added"] == 0
    assert body["problems"] == [
        "request: reports[0]: field 'study_date': not a date (use YYYY-MM-DD or HL7 YYYYMMDD)"
    ]


def test_bad_query_is_one_line_400(service: Service) -> None:
    r = service.client.get(
        "/api/search", params={"q": "since:notadate"}, headers=service.auth(Role.RADIOLOGIST)
    )
    assert r.status_code == 400
    assert "\n" not in r.json()["detail"]


def test_admin_manages_users_over_the_api(service: Service) -> None:
    admin = service.auth(Role.ADMIN)
    body = {"name": "new.res", "role": "researcher", "password": "a-long-password"}
    assert service.client.post("/api/users", json=body, headers=admin).status_code == 201
    assert service.client.post("/api/users", json=body, headers=admin).status_code == 409
    bad = service.client.post("/api/users", json={**body, "role": "root"}, headers=admin)
    assert bad.status_code == 422
    names = {u["name"]: u for u in service.client.get("/api/users", headers=admin).json()}
    assert names["new.res"]["role"] == "researcher" and "password_hash" not in str(names)
    r = service.client.post(
        "/api/token", data={"username": "new.res", "password": "a-long-password"}
    )
    assert r.status_code == 200
    off = service.client.post("/api/users/new.res/disable", headers=admin).json()
    assert off == {"name": "new.res", "disabled": True, "tokens_revoked": 1}
    gone = {"Authorization": f"Bearer {r.json()['access_token']}"}
    assert service.client.get("/api/me", headers=gone).status_code == 401
    trail = service.client.get("/api/audit", params={"limit": 1000}, headers=admin).json()
    assert {("users.add", "new.res"), ("users.disable", "new.res")} <= {
        (e["action"], e["target"]) for e in trail
    }


def test_denied_attempts_are_audited_and_headers_set(service: Service) -> None:
    r = service.client.get("/api/archive/reports/R2", headers=service.auth(Role.ADMIN))
    assert r.status_code == 403
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["cache-control"] == "no-store" and r.headers["x-frame-options"] == "DENY"
    last = service.app.state.ctx.store.audit_entries()[-1].event
    assert (last.actor, last.action, last.target, last.outcome) == (
        "admin1",
        "archive.read",
        "/api/archive/reports/R2",
        "denied",
    )


def test_errors_never_echo_text(
    fresh_service: Callable[..., Service],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    svc = fresh_service()
    auth = svc.auth(Role.RADIOLOGIST)
    bad = svc.client.post(
        "/api/label", json={"reports": [{"text": "Mr. Secretname", "x": 1}]}, headers=auth
    )
    assert bad.status_code == 422 and "Secretname" not in bad.text

    def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("Mr. Secretname has a pneumothorax")

    import radpilot.search.engine

    monkeypatch.setattr(radpilot.search.engine, "search", broken)
    client = TestClient(svc.app, raise_server_exceptions=False)
    with caplog.at_level(logging.INFO):
        r = client.get("/api/search", params={"q": "x"}, headers=auth)
    assert r.status_code == 500 and r.json() == {"detail": "internal error (RuntimeError)"}
    assert r.headers["cache-control"] == "no-store"
    assert "Secretname" not in caplog.text and "internal error (RuntimeError)" in caplog.text
