"""Remake docs/web-study.jpg, the README's screenshot of the study page:
``PYTHONPATH=src python docs/web_screenshot.py`` (Debian's chromium; the page tests'
department: the package's sample radiographs, analysed)."""

from __future__ import annotations

import io
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests" / "pages"))


def main() -> None:
    import uvicorn
    from pages_fixture import PASSWORD, make_department
    from PIL import Image
    from playwright.sync_api import sync_playwright

    from radpilot.server.app import create_app
    from radpilot.server.settings import Settings

    with tempfile.TemporaryDirectory() as tmp:
        db = make_department(Path(tmp))
        server = uvicorn.Server(
            uvicorn.Config(create_app(Settings(db=str(db))), port=0, log_level="warning")
        )
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        while not server.started:
            time.sleep(0.05)
        url = f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}"
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.goto(url + "/login")
            page.get_by_label("User name").fill("dr.web")
            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_role("button", name="Log in").click()
            page.goto(url + "/worklist")
            page.keyboard.press("j")
            page.keyboard.press("Enter")
            page.wait_for_function("document.getElementById('view').dataset.draws >= '1'")
            page.keyboard.press("w")
            page.keyboard.press("h")
            page.wait_for_function("document.getElementById('view').dataset.heat === 'on'")
            page.keyboard.press("e")
            page.keyboard.press("Control+End")
            page.keyboard.type("\nRight pleural effusion.")
            page.wait_for_function("document.getElementById('qa-status').dataset.count >= '1'")
            page.keyboard.press("Escape")
            shot = page.screenshot()
            browser.close()
        server.should_exit = True
        thread.join(timeout=10)
    out = HERE / "web-study.jpg"
    Image.open(io.BytesIO(shot)).convert("RGB").save(out, quality=80, optimize=True)
    print(f"wrote {out} ({out.stat().st_size // 1024} KB)")


if __name__ == "__main__":
    main()
