"""The annotation page in headless Chromium against a real uvicorn on loopback: a
radiologist logs in and annotates 20 report items with the keyboard only (a, f, r, j, n),
and the answers, their times and the blinding are checked in the store."""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from radpilot.datasets.assign import assign
from radpilot.datasets.create import create_dataset
from radpilot.datasets.models import Action, Task
from radpilot.datasets.store import open_datasets

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
if not Path(CHROMIUM).exists():
    pytest.skip("no chromium at /usr/bin/chromium", allow_module_level=True)

TEXTS = [
    "Small left pleural effusion. No pneumothorax.",
    "Heart size is enlarged. Possible right lower lobe pneumonia.",
    "No acute cardiopulmonary abnormality.",
    "Right upper lobe opacity, may represent atelectasis.",
    "Mild pulmonary edema. Cardiomegaly.",
]
N_ITEMS = 20
PASSWORD = "pw-annotator-1234"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    import uvicorn

    from radpilot.server.access import Role
    from radpilot.server.accounts import add_user
    from radpilot.server.app import create_app
    from radpilot.server.settings import Settings

    root = tmp_path_factory.mktemp("page")
    db = root / "archive.db"
    reports = root / "reports.jsonl"
    import json

    with open(reports, "w", encoding="utf-8") as fh:
        for i in range(N_ITEMS):
            fh.write(json.dumps({"id": f"R{i}", "text": TEXTS[i % len(TEXTS)]}) + "\n")
    store = open_datasets(db)
    ds = create_dataset(store, "page", Task.REPORT_LABELS, files=[reports]).dataset
    assign(store, ds, ["rad1", "rad2"])
    store.close()
    app = create_app(Settings(db=str(db)))
    for name in ("rad1", "rad2"):
        add_user(app.state.ctx.store, name, Role.RADIOLOGIST, PASSWORD)
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", access_log=False)
    )
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


def _login(page, base: str, user: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{base}/login")
    page.fill("input[name=username]", user)
    page.fill("input[name=password]", PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(f"{base}/")


def test_keyboard_only_annotation_of_20_items(served: tuple[str, Path]) -> None:
    from playwright.sync_api import sync_playwright

    base, db = served
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page()
        _login(page, base, "rad1")
        page.goto(f"{base}/datasets/page/annotate")
        seen: list[str] = []
        marked = 0
        for step in range(N_ITEMS):
            page.wait_for_selector("#proposals")
            seen.append(page.url)
            marked += page.locator("#report mark").count() > 0
            # first proposal: flip on even steps, reject on every fifth, else accept; the rest: accept
            first = "r" if step % 5 == 0 else ("f" if step % 2 == 0 else "a")
            page.keyboard.press(first)
            for _ in range(page.locator("#proposals li").count() - 1):
                page.keyboard.press("a")
            with page.expect_navigation():
                page.keyboard.press("n")
        page.wait_for_selector("#done")
        assert "20 of 20" in page.inner_text("#done")
        browser.close()
    assert len(set(seen)) == N_ITEMS  # every item once, none twice
    assert marked == N_ITEMS * 4 // 5  # evidence highlighted (one text in five is normal)

    store = open_datasets(db, readonly=True)
    ds = store.get("page")
    items = {it.id: it for it in store.items(ds)}
    got = store.annotations(ds, "rad1")
    assert len(got) == N_ITEMS
    assert all(a.seconds > 0 for a in got)
    for a in got:
        it = items[a.item_id]
        assert len(a.decisions) == len(it.proposals)
        actions = {d.action for d in a.decisions}
        assert actions <= {Action.ACCEPT, Action.FLIP, Action.REJECT}
    flips = [a for a in got if a.decisions and a.decisions[0].action is Action.FLIP]
    assert flips and all(a.decisions[0].value != items[a.item_id].proposals[0].value for a in flips)
    assert store.annotations(ds, "rad2") == []
    store.close()


def test_blinding_and_assignment(served: tuple[str, Path]) -> None:
    """rad2 sees radpilot's proposals only, never rad1's answers; a user with nothing
    assigned gets 403."""
    from playwright.sync_api import sync_playwright

    base, db = served
    store = open_datasets(db)
    ds = store.get("page")
    first = store.items(ds)[0]
    from radpilot.datasets.models import Annotation, Role, decide

    store.save(
        ds, Annotation(first.id, "rad1", Role.ANNOTATOR, (decide(first, 0, Action.FLIP),), 1.0)
    )
    store.close()
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page()
        _login(page, base, "rad2")
        page.goto(f"{base}/datasets/page/items/{first.id}")
        assert page.locator("#proposals .decision").first.inner_text() == ""
        assert "rad1" not in page.content()
        r = page.request.get(f"{base}/datasets/nosuch/annotate")
        assert r.status == 404
        browser.close()
