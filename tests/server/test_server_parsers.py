"""Property tests of what reads request input: --db URLs, evaluation paths, tokens,
the de-identified view, the login limiter, and JSON bodies of the label route."""

from __future__ import annotations

import json
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from service_helpers import Service

from radpilot.server.access import LoginLimits, Role
from radpilot.server.privacy import Pseudonymiser
from radpilot.server.ratelimit import LoginLimiter
from radpilot.server.routes_admin import safe_path
from radpilot.server.routes_images import _label
from radpilot.server.store import backend_for

SEGMENT = st.sampled_from(["..", ".", "", "a", "b.html", "..%2f", "\\..", "x:y", "\x00", "~", "/"])


@given(st.text(max_size=80))
def test_backend_for_any_text(location: str) -> None:
    name, target = backend_for(location)
    assert name and isinstance(target, str)
    if "://" not in location:
        assert (name, target) == ("sqlite", location)


@given(st.lists(SEGMENT, max_size=8).map("/".join) | st.text(max_size=40))
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=200)
def test_safe_path_never_leaves_the_root(tmp_path: Path, relative: str) -> None:
    root = (tmp_path / "root").resolve()
    (root / "a").mkdir(parents=True, exist_ok=True)
    (root / "b.html").write_text("ok")
    (tmp_path / "b.html").write_text("outside")
    found = safe_path(root, relative)
    if found is not None:
        assert found.is_relative_to(root) and found.is_file()


@given(st.text(max_size=600))
def test_token_check_of_any_string(token: str) -> None:
    from radpilot.server.accounts import Tokens

    class NoStore:
        def token(self, jti: str) -> None:
            raise AssertionError("a forged token reached the database")

    tokens = Tokens(NoStore(), b"k" * 32, 60)  # type: ignore[arg-type]
    assert tokens.check(token) is None


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(
            st.sampled_from(["id", "text", "patient_id", "study_date", "x", "span"]),
            inner,
            max_size=5,
        )
    ),
    max_leaves=20,
)


@given(JSON)
def test_deidentified_view_keeps_no_text_or_id(value: object) -> None:
    p = Pseudonymiser(b"s" * 32)
    seen = p.view(value)
    json.dumps(seen)

    def walk(a: object, b: object, ids: tuple[str, ...] = ()) -> None:
        if isinstance(a, dict) and isinstance(b, dict):
            ids = (*[a[k] for k in ("id", "patient_id") if isinstance(a.get(k), str)], *ids)
            for k, v in a.items():
                if k == "text" and isinstance(v, str):
                    for known in ids:  # the record's own ids never survive in its text
                        if len(known.strip()) >= 2 and known.strip().isalnum():
                            assert known.strip().lower() not in b[k].lower().split()
                elif k in ("id", "patient_id") and isinstance(v, str):
                    assert b[k] != v and b[k].startswith(("rp-", "pt-"))
                elif k == "study_date" and isinstance(v, str):
                    assert b[k] == (v[:4] or None)
                else:
                    walk(v, b[k], ids)
        elif isinstance(a, list) and isinstance(b, list):
            for x, y in zip(a, b, strict=True):
                walk(x, y, ids)

    walk(value, seen)


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["u1", "u2", "U1"]),
            st.sampled_from(["a", "b"]),
            st.booleans(),
            st.floats(0, 50),
        ),
        max_size=60,
    )
)
def test_login_limiter_bounds(events: list[tuple[str, str, bool, float]]) -> None:
    now = [0.0]
    limits = LoginLimits(window_seconds=100, failures_per_user=3, attempts_per_address=5)
    limiter = LoginLimiter(limits, clock=lambda: now[0])
    admitted: dict[str, list[float]] = {}
    for user, address, ok, step in events:
        now[0] += step
        wait = limiter.attempt(user, address)
        if wait is None:
            admitted.setdefault(address, []).append(now[0])
            limiter.succeeded(user) if ok else limiter.failed(user)
        else:
            assert wait >= 1
    for times in admitted.values():  # never more than the limit inside one window
        for i, t in enumerate(times):
            assert sum(1 for u in times[i:] if u - t < 100) <= 5


@given(JSON)
@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
def test_label_route_any_json(service: Service, body: object) -> None:
    r = service.client.post("/api/label", json=body, headers=service.auth(Role.RESEARCHER))
    assert r.status_code in (200, 422)
    if r.status_code == 422:
        assert isinstance(r.json()["detail"], list)


@given(st.text(max_size=200))
@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
def test_search_route_any_query(service: Service, q: str) -> None:
    r = service.client.get(
        "/api/search", params={"q": q, "semantic": "false"}, headers=service.auth(Role.RADIOLOGIST)
    )
    assert r.status_code in (200, 400, 422), r.text
    if r.status_code == 400:
        assert "\n" not in r.json()["detail"]


@given(st.one_of(st.none(), st.text(max_size=300)), st.integers(1, 99))
def test_upload_display_names(name: str | None, i: int) -> None:
    shown = _label(name, i)
    assert 0 < len(shown) <= 100 and "/" not in shown and "\\" not in shown
    assert all(c.isalnum() or c in "._ -" for c in shown)


@given(st.text(max_size=30))
def test_role_parse(text: str) -> None:
    from radpilot.errors import InputError

    try:
        role = Role.parse(text)
    except InputError as exc:
        assert str(exc).endswith("valid: radiologist, researcher, admin")
    else:
        assert role.value == text.strip().lower()
