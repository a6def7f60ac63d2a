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
    _image_dataset(store, root)
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


def _image_dataset(store, root: Path) -> None:  # type: ignore[no-untyped-def]
    """One 1024 x 1024 image item with a boxed proposal, made by hand (no model run): the
    page shows it at 512 px, so a drag maps to source pixels at twice its length."""
    import numpy as np
    from PIL import Image

    from radpilot.datasets.models import Box, ItemKind, Proposal
    from radpilot.datasets.store import NewItem

    path = root / "film.png"
    Image.fromarray(np.full((1024, 1024), 90, np.uint8)).save(path)
    ds = store.create("films", Task.IMAGE_REGIONS, "image-model", ["Pneumonia"], "test", "CC0-1.0")
    meta = {"format": "png", "rows": 1024, "columns": 1024}
    prop = Proposal("Pneumonia", 1.0, "image", score=0.9, threshold=0.5, box=Box(10, 10, 50, 50))
    store.add_items(ds, [NewItem(ItemKind.IMAGE, "film.png", "", str(path), meta, (prop,))])
    assign(store, store.get("films"), ["rad1"])


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


def test_box_redrawn_by_drag(served: tuple[str, Path]) -> None:
    from playwright.sync_api import sync_playwright

    from radpilot.datasets.models import Box

    base, db = served
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page()
        _login(page, base, "rad1")
        page.goto(f"{base}/datasets/films/annotate")
        page.wait_for_function("document.getElementById('image').complete")
        assert page.locator("#figure .box").count() == 1  # radpilot's box, shown
        r = page.locator("#image").bounding_box()
        assert r is not None and round(r["width"]) == 512
        page.mouse.move(r["x"] + 100, r["y"] + 50)
        page.mouse.down()
        page.mouse.move(r["x"] + 300, r["y"] + 150, steps=5)
        page.mouse.up()
        with page.expect_navigation():
            page.keyboard.press("n")
        page.wait_for_selector("#done")
        browser.close()
    store = open_datasets(db, readonly=True)
    (answer,) = store.annotations(store.get("films"), "rad1")
    store.close()
    (d,) = answer.decisions
    assert d.action is Action.BOX and d.value == 1.0
    assert d.box is not None
    got = (d.box.x, d.box.y, d.box.width, d.box.height)
    # the image's page offset is fractional: within 2 source pixels (1 on the page)
    assert all(abs(a - b) <= 2 for a, b in zip(got, (200, 100, 400, 200), strict=True)), got
    assert isinstance(d.box, Box)
