"""One department and one real uvicorn server on loopback for the page tests, and one
headless Chromium (Debian's, driven by Playwright) for the whole session."""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from pages_fixture import Live, make_department

CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="session")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    import uvicorn

    from radpilot.server.app import create_app
    from radpilot.server.settings import Settings

    root = tmp_path_factory.mktemp("pages")
    db = make_department(root)
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
    yield Live(f"http://127.0.0.1:{port}", db, app)
    server.should_exit = True
    thread.join(timeout=10)
    assert not thread.is_alive()


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    if not Path(CHROMIUM).exists() and shutil.which("chromium") is None:
        pytest.skip(f"no Chromium at {CHROMIUM} (Debian package 'chromium') for the page tests")
    sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright for Python missing")
    with sync_api.sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        yield b
        b.close()
