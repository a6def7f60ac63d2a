"""One service per test session (a tmp archive, a user of each role, a token each), and a
factory for tests that need their own (fresh limiter, small limits, short token life)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from service_helpers import REPORTS, Service, make_service

from radpilot.server.access import Role
from radpilot.server.settings import Settings


@pytest.fixture(scope="session")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    root = tmp_path_factory.mktemp("service")
    reports = root / "reports"
    (reports / "reader").mkdir(parents=True)
    (reports / "reader" / "index.html").write_text("<html><body>reader report</body></html>")
    (root / "secret.html").write_text("<html>outside the reports folder</html>")
    svc = make_service(root / "archive.db", Settings(db="", reports_dir=reports))
    r = svc.client.post(
        "/api/archive/reports", json={"reports": REPORTS}, headers=svc.auth(Role.RADIOLOGIST)
    )
    assert r.status_code == 200 and r.json()["added"] == 2, r.text
    yield svc
    svc.client.close()
    svc.app.state.ctx.store.close()


@pytest.fixture
def fresh_service(tmp_path: Path) -> Iterator[Callable[..., Service]]:
    made: list[Service] = []

    def make(**settings: object) -> Service:
        svc = make_service(tmp_path / f"s{len(made)}.db", Settings(db="", **settings))  # type: ignore[arg-type]
        made.append(svc)
        return svc

    yield make
    for svc in made:
        svc.client.close()
        svc.app.state.ctx.store.close()
