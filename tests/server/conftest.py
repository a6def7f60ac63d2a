"""One service per test session (a tmp archive, a user of each role, a token each), and a
factory for tests that need their own (fresh limiter, small limits, short token life)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from service_helpers import REPORTS, Service, make_service

from radpilot.server.access import Role
from radpilot.server.settings import Settings


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """A module that sets ``SERVICE_BACKENDS = BOTH`` runs its service tests on the SQLite
    archive and on a real PostgreSQL database (skipped, with the reason, without one)."""
    backends = getattr(metafunc.module, "SERVICE_BACKENDS", None)
    if backends and "service_backend" in metafunc.fixturenames:
        metafunc.parametrize("service_backend", backends, indirect=True, scope="session")


@pytest.fixture(scope="session")
def service_backend(request: pytest.FixtureRequest) -> str:
    return str(getattr(request, "param", "sqlite"))


def _service_db(request: pytest.FixtureRequest, backend: str, path: Path) -> str | Path:
    if backend == "postgres":
        return str(request.getfixturevalue("pg_server").new_database("svc"))
    return path


@pytest.fixture(scope="session")
def service(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest, service_backend: str
) -> Iterator[Service]:
    root = tmp_path_factory.mktemp("service")
    reports = root / "reports"
    (reports / "reader").mkdir(parents=True)
    (reports / "reader" / "index.html").write_text("<html><body>reader report</body></html>")
    (root / "secret.html").write_text("<html>outside the reports folder</html>")
    db = _service_db(request, service_backend, root / "archive.db")
    svc = make_service(db, Settings(db="", reports_dir=reports))
    r = svc.client.post(
        "/api/archive/reports", json={"reports": REPORTS}, headers=svc.auth(Role.RADIOLOGIST)
    )
    assert r.status_code == 200 and r.json()["added"] == 2, r.text
    yield svc
    svc.client.close()
    svc.app.state.ctx.store.close()


@pytest.fixture
def fresh_service(
    tmp_path: Path, request: pytest.FixtureRequest, service_backend: str
) -> Iterator[Callable[..., Service]]:
    made: list[Service] = []

    def make(**settings: object) -> Service:
        db = _service_db(request, service_backend, tmp_path / f"s{len(made)}.db")
        svc = make_service(db, Settings(db="", **settings))  # type: ignore[arg-type]
        made.append(svc)
        return svc

    yield make
    for svc in made:
        svc.client.close()
        svc.app.state.ctx.store.close()
