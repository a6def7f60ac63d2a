"""The OAuth2 password flow, token expiry and revocation, web sessions with CSRF, and the
login rate limit."""

from __future__ import annotations

import re
import time
from collections.abc import Callable

from fastapi.testclient import TestClient
from service_helpers import BOTH, PASSWORDS, Service, user_name

from radpilot.server.access import Role
from radpilot.server.accounts import disable_user

SERVICE_BACKENDS = BOTH  # each test below on SQLite and on PostgreSQL

RAD = Role.RADIOLOGIST


def _token(client: TestClient, name: str, password: str) -> int:
    return client.post("/api/token", data={"username": name, "password": password}).status_code


def test_token_flow(fresh_service: Callable[..., Service]) -> None:
    svc = fresh_service()
    r = svc.client.post("/api/token", data={"username": user_name(RAD), "password": PASSWORDS[RAD]})
    assert r.status_code == 200
    body = r.json()
    assert body["token_type"] == "bearer" and set(body) >= {"access_token", "token_type"}
    headers = {"Authorization": f"Bearer {body['access_token']}"}
    assert svc.client.get("/api/me", headers=headers).json() == {
        "name": user_name(RAD),
        "role": "radiologist",
        "via": "api",
    }
    assert _token(svc.client, user_name(RAD), "wrong-password") == 401
    assert _token(svc.client, "nobody", "wrong-password") == 401
    assert svc.client.post("/api/token", data={"username": user_name(RAD)}).status_code == 422
    # Revoked: the same token no longer works.
    assert svc.client.post("/api/token/revoke", headers=headers).json() == {"revoked": True}
    assert svc.client.get("/api/me", headers=headers).status_code == 401
    # Tampered: one character of the signature changed.
    token = svc.tokens[RAD]
    # (not the last character: its low bits are base64 padding, which decodes the same)
    i = len(token) - 5
    forged = token[:i] + ("A" if token[i] != "A" else "B") + token[i + 1 :]
    assert (
        svc.client.get("/api/me", headers={"Authorization": f"Bearer {forged}"}).status_code == 401
    )
    assert svc.client.get("/api/me", headers={"Authorization": f"Basic {token}"}).status_code == 401


def test_disabling_a_user_revokes_their_tokens(fresh_service: Callable[..., Service]) -> None:
    svc = fresh_service()
    assert svc.client.get("/api/me", headers=svc.auth(RAD)).status_code == 200
    assert disable_user(svc.app.state.ctx.store, user_name(RAD)) == 1
    assert svc.client.get("/api/me", headers=svc.auth(RAD)).status_code == 401
    assert _token(svc.client, user_name(RAD), PASSWORDS[RAD]) == 401


def test_tokens_expire(fresh_service: Callable[..., Service]) -> None:
    svc = fresh_service(token_ttl_seconds=1)
    assert svc.client.get("/api/me", headers=svc.auth(RAD)).status_code == 200
    time.sleep(2.1)
    assert svc.client.get("/api/me", headers=svc.auth(RAD)).status_code == 401


def _login_csrf(client: TestClient) -> str:
    page = client.get("/login")
    assert page.status_code == 200
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert found
    return found.group(1)


def test_web_session_with_csrf(fresh_service: Callable[..., Service]) -> None:
    svc = fresh_service()
    client = svc.client
    form = {"username": user_name(RAD), "password": PASSWORDS[RAD]}
    csrf = _login_csrf(client)
    assert client.post("/login", data=form, follow_redirects=False).status_code == 403
    assert (
        client.post(
            "/login", data={**form, "csrf_token": "x" + csrf}, follow_redirects=False
        ).status_code
        == 403
    )
    wrong = client.post("/login", data={**form, "password": "nope-nope", "csrf_token": csrf})
    assert wrong.status_code == 401 and "Wrong user name or password" in wrong.text
    ok = client.post("/login", data={**form, "csrf_token": csrf}, follow_redirects=False)
    assert ok.status_code == 303
    cookie = ok.headers["set-cookie"]
    assert "radpilot_session=" in cookie and "HttpOnly" in cookie
    assert "samesite=strict" in cookie.lower()
    home = client.get("/")
    assert home.status_code == 200 and user_name(RAD) in home.text
    session_csrf = re.search(r'name="csrf_token" value="([^"]+)"', home.text)
    assert session_csrf
    assert client.get("/api/me").json()["via"] == "session"
    # A state-changing request on the cookie alone (a cross-site forgery) is refused.
    assert client.post("/api/token/revoke").status_code == 403
    assert client.post("/api/token/revoke", headers={"X-CSRF-Token": "0" * 64}).status_code == 403
    assert (
        client.post("/api/label", json={"reports": [{"text": "No effusion."}]}).status_code == 403
    )
    good = client.post(
        "/api/label",
        json={"reports": [{"text": "No effusion."}]},
        headers={"X-CSRF-Token": session_csrf.group(1)},
    )
    assert good.status_code == 200
    # Logout through the page's form field: the session ends.
    out = client.post("/logout", data={"csrf_token": session_csrf.group(1)}, follow_redirects=False)
    assert out.status_code == 303
    client.cookies.clear()
    assert client.get("/api/me").status_code == 401


def test_login_rate_limited_per_user(fresh_service: Callable[..., Service]) -> None:
    svc = fresh_service()
    name = user_name(RAD)
    codes = [_token(svc.client, name, f"guess-{i}-xx") for i in range(5)]
    assert codes == [401] * 5
    r = svc.client.post("/api/token", data={"username": name, "password": PASSWORDS[RAD]})
    assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1
    # Another user from the same address is not locked out by these failures.
    other = Role.RESEARCHER
    assert _token(svc.client, user_name(other), PASSWORDS[other]) == 200
    actions = [(e.event.action, e.event.outcome) for e in svc.app.state.ctx.store.audit_entries()]
    assert ("login", "rate-limited") in actions and actions.count(("login", "refused")) == 5


def test_login_rate_limited_per_address(fresh_service: Callable[..., Service]) -> None:
    svc = fresh_service()
    ctx = svc.app.state.ctx
    limit = ctx.policy.limits.attempts_per_address
    already = 3  # the fixture's logins, one per role
    codes = [_token(svc.client, f"user{i}", "whatever-pass") for i in range(limit - already)]
    assert set(codes) == {401}
    assert _token(svc.client, user_name(RAD), PASSWORDS[RAD]) == 429
