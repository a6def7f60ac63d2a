"""The radiologist's pages end to end in headless Chromium against a real uvicorn server:
login, the worklist in the workflow's reading order, a study opened and read with the
keyboard only (window presets and the heatmap change the canvas's pixels, measured on
screenshots), the draft edited until live QA warns with its evidence highlighted, signed
(the archive has the report, the audit trail the signature), search with facets, the
evaluation reports, and what a researcher sees."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pytest
from pages_fixture import PASSWORD, Live

CONFLICT = "FINDINGS: Small left pleural effusion.\nIMPRESSION: Right pleural effusion."


def pixels(png: bytes) -> np.ndarray:
    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), dtype=np.int16)


def login(browser: Any, live: Live, name: str) -> Any:
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(20_000)
    page = context.new_page()
    page.goto(live.url + "/login")
    page.get_by_label("User name").fill(name)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(live.url + "/")
    return page


@pytest.fixture(scope="module")
def doctor(browser: Any, live: Live) -> Iterator[Any]:
    page = login(browser, live, "dr.web")
    yield page
    page.context.close()


def expected_order(live: Live) -> list[str]:
    from radpilot.workflow.studies import StudyFilter, open_studies
    from radpilot.workflow.worklist import worklist

    store = open_studies(live.db, readonly=True)
    try:
        studies = store.list(StudyFilter())
    finally:
        store.close()
    return [e.study.study_uid for e in worklist(studies, datetime.now(UTC))]


def test_wrong_password_stays_on_login(browser: Any, live: Live) -> None:
    context = browser.new_context()
    page = context.new_page()
    page.goto(live.url + "/worklist")
    assert page.url == live.url + "/login"  # no session: sent to the login form
    page.get_by_label("User name").fill("dr.web")
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Log in").click()
    assert page.get_by_role("alert").inner_text() == "Wrong user name or password."
    context.close()


def test_worklist_in_reading_order(doctor: Any, live: Live) -> None:
    doctor.goto(live.url + "/worklist")
    keys = doctor.locator("#worklist tbody tr[data-key]").evaluate_all(
        "rows => rows.map(r => r.dataset.key)"
    )
    assert keys == expected_order(live) and len(keys) == 4
    first = doctor.locator("#worklist tbody tr").first
    assert "urgent" in first.get_attribute("class")  # the pneumothorax, newest of all
    assert "pneumothorax" in first.inner_text().lower()
    assert "PW-" in doctor.locator("#worklist").inner_text()  # a radiologist sees ids


def test_study_read_with_the_keyboard(doctor: Any, live: Live) -> None:
    doctor.goto(live.url + "/worklist")
    doctor.keyboard.press("j")  # the second study: the first with its image stored
    key = doctor.locator("#worklist tr.selected").get_attribute("data-key")
    doctor.keyboard.press("Enter")
    doctor.wait_for_url(f"**/studies/{key}")
    canvas = doctor.locator("#view")
    doctor.wait_for_function("document.getElementById('view').dataset.draws >= '1'")
    before = pixels(canvas.screenshot())
    assert before.std() > 10  # a radiograph, not a blank canvas

    doctor.keyboard.press("w")  # as read -> lung window
    doctor.wait_for_function("document.getElementById('view').dataset.window === '40,60'")
    doctor.wait_for_function("document.getElementById('view').dataset.draws >= '2'")
    lung = pixels(canvas.screenshot())
    assert np.abs(lung - before).mean() > 5
    assert lung.std() > before.std()  # a narrower window: more contrast

    doctor.keyboard.press("h")
    doctor.wait_for_function("document.getElementById('view').dataset.heat === 'on'")
    heat = pixels(canvas.screenshot())
    colour = np.abs(heat[..., 0] - heat[..., 2]) > 30  # grey has R == B; jet does not
    assert colour.mean() > 0.01, "the heatmap overlay added no colour"
    doctor.keyboard.press("h")
    doctor.wait_for_function("document.getElementById('view').dataset.heat === 'off'")
    assert (np.abs(pixels(canvas.screenshot()) - lung) > 8).mean() < 0.001  # back as it was

    doctor.keyboard.press("+")
    zoomed = pixels(canvas.screenshot())
    assert np.abs(zoomed - lung).mean() > 3
    doctor.keyboard.press("0")

    doctor.keyboard.press("?")
    assert doctor.locator("#help").is_visible()
    doctor.keyboard.press("Escape")
    assert not doctor.locator("#help").is_visible()


def test_draft_qa_and_sign(doctor: Any, live: Live) -> None:
    from radpilot.search.store import open_store
    from radpilot.server.store import open_service_store

    uid = expected_order(live)[1]
    doctor.goto(f"{live.url}/studies/{uid}")
    draft = doctor.locator("#draft")
    assert "IMPRESSION:" in draft.input_value()  # drafted from the image findings
    doctor.wait_for_function("document.getElementById('qa-status').dataset.count === '0'")
    doctor.keyboard.press("e")
    doctor.keyboard.press("Control+a")
    doctor.keyboard.type(CONFLICT, delay=0)
    doctor.wait_for_function("document.getElementById('qa-status').dataset.count === '1'")
    warning = doctor.locator("#qa-list li").first.inner_text()
    assert "left" in warning and "Right" in warning
    marks = doctor.locator("#qa-preview mark").all_inner_texts()
    assert marks == ["left", "Right"]  # the evidence spans, highlighted in the text

    doctor.keyboard.press("Escape")
    asked: list[str] = []
    doctor.once("dialog", lambda d: (asked.append(d.message), d.accept()))
    doctor.keyboard.press("s")
    doctor.wait_for_function("document.querySelector('.study').dataset.status === 'signed'")
    assert asked and "Sign this report" in asked[0]

    archive = open_store(live.db, readonly=True)
    try:
        report = archive.get(uid)
    finally:
        archive.close()
    assert report is not None and report.text.strip() == CONFLICT
    store = open_service_store(str(live.db))
    try:
        signed = [e for e in store.audit_entries() if e.event.action == "report.sign"]
    finally:
        store.close()
    assert [(e.event.actor, e.event.target) for e in signed] == [("dr.web", uid)]
    assert uid not in expected_order(live)
    doctor.goto(live.url + "/worklist")
    assert doctor.locator(f"#worklist tr[data-key='{uid}']").count() == 0


def test_search_with_facets(doctor: Any, live: Live) -> None:
    doctor.goto(live.url + "/worklist")
    doctor.keyboard.press("/")
    doctor.wait_for_url("**/search")
    doctor.get_by_label("Finding").fill("effusion")
    doctor.get_by_label("Certainty").select_option("present")
    doctor.get_by_label("Side").select_option("left")
    doctor.get_by_role("button", name="Search").click()
    doctor.wait_for_url("**/search?*")
    hits = doctor.locator("#hits .hit")
    ids = [t.split(" ", 1)[0] for t in hits.all_inner_texts()]
    # A-100 and the report signed above state a left effusion; A-200 negates one.
    assert "A-100" in ids and "A-200" not in ids and len(ids) == 2
    for i in range(hits.count()):
        assert "effusion" in " ".join(hits.nth(i).locator("mark").all_inner_texts()).lower()
    doctor.get_by_label("Certainty").select_option("absent")
    doctor.get_by_label("Side").select_option("")
    doctor.get_by_role("button", name="Search").click()
    doctor.wait_for_url("**certainty=absent*")
    assert doctor.locator("#hits .hit").all_inner_texts()[0].startswith("A-200")


def test_evaluation_reports(doctor: Any, live: Live) -> None:
    doctor.goto(live.url + "/evaluations")
    link = doctor.get_by_role("link", name="labeler/index.html")
    with doctor.context.expect_page() as opened:
        link.click()
    assert "labeler evaluation" in opened.value.content()
    opened.value.close()


def test_researcher_sees_deidentified_data(browser: Any, live: Live) -> None:
    page = login(browser, live, "res.web")
    try:
        page.goto(live.url + "/worklist")
        text = page.locator("#worklist").inner_text()
        assert "PW-" not in text and "pt-" in text
        page.keyboard.press("Enter")
        page.wait_for_url("**/studies/st-*")
        assert page.locator("#view").count() == 0 and page.locator("#draft").count() == 0
        assert "1.2.826" not in page.content()
    finally:
        page.context.close()


def test_worklist_refreshes_itself(doctor: Any, live: Live) -> None:
    from radpilot.workflow.studies import StudyRecord, open_studies

    doctor.goto(live.url + "/worklist?refresh=1")
    rows = doctor.locator("#worklist tbody tr[data-key]")
    before = rows.count()
    doctor.evaluate("window.sameDocument = true")
    uid = "1.2.826.0.1.3680043.10.1234.99"
    store = open_studies(live.db)
    try:
        store.upsert(StudyRecord(uid, patient_id="PW-99", modality="DX"))
    finally:
        store.close()
    doctor.wait_for_function(f"document.querySelector(\"tr[data-key='{uid}']\") !== null")
    assert rows.count() == before + 1
    assert doctor.evaluate("window.sameDocument === true")  # rows swapped in, no reload
