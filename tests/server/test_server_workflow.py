"""The workflow routes (QA, follow-ups, overdue, worklist, timeline) give what the
library gives, per role, and audit the reads of stored patient data."""

from __future__ import annotations

from service_helpers import BOTH, Service

from radpilot.server.access import Role
from radpilot.workflow.qa import check
from radpilot.workflow.studies import StudyRecord, open_studies

SERVICE_BACKENDS = BOTH  # each test below on SQLite and on PostgreSQL

SIGNED = (
    "FINDINGS: Large right pneumothorax. Small nodule in the left lung.\n"
    "IMPRESSION: Large left pneumothorax."
)


def test_qa_route_gives_the_library_problems(service: Service) -> None:
    r = service.client.post(
        "/api/qa", json={"text": SIGNED}, headers=service.auth(Role.RADIOLOGIST)
    )
    assert r.status_code == 200, r.text
    got = r.json()
    assert got == [p.to_dict() for p in check(SIGNED)]
    kinds = {p["kind"] for p in got}
    assert {"laterality_conflict", "critical_not_communicated", "missing_from_impression"} <= kinds


def test_qa_route_clean_report_and_bad_input(service: Service) -> None:
    clean = "FINDINGS: No left effusion; small right effusion.\nIMPRESSION: Small right effusion."
    r = service.client.post("/api/qa", json={"text": clean}, headers=service.auth(Role.RESEARCHER))
    assert r.status_code == 200 and r.json() == []
    r = service.client.post(
        "/api/qa", json={"text": clean, "sex": "X"}, headers=service.auth(Role.RADIOLOGIST)
    )
    assert r.status_code == 422
    assert clean not in r.text  # validation errors never echo the report


def test_qa_route_refuses_an_image_cross_check_with_no_analysed_image(service: Service) -> None:
    clean = "FINDINGS: Lungs clear.\nIMPRESSION: Normal chest."
    for images in ([], [{"findings": [], "error": "cannot read"}]):
        r = service.client.post(
            "/api/qa",
            json={"text": clean, "image_findings": images},
            headers=service.auth(Role.RADIOLOGIST),
        )
        assert r.status_code == 400, r.text
        assert "image cross-check cannot run" in r.text and clean not in r.text


def test_followups_route_with_the_guideline(service: Service) -> None:
    text = "8 mm solid nodule in the right upper lobe. Recommend CT chest in 6-12 months."
    r = service.client.post(
        "/api/followups",
        json={"reports": [{"id": "N1", "text": text}], "guideline": True},
        headers=service.auth(Role.RADIOLOGIST),
    )
    assert r.status_code == 200, r.text
    (row,) = r.json()
    (rec,) = row["recommendations"]
    assert (row["id"], rec["modality"], rec["interval"]["max_days"]) == ("N1", "CT", 360)
    assert row["nodules"][0]["size_mm"] == 8 and row["nodules"][0]["conflicts"] == []


def test_overdue_and_timeline_read_the_archive(service: Service) -> None:
    rad = service.auth(Role.RADIOLOGIST)
    add = {
        "reports": [
            {
                "id": "W1",
                "text": "Right lower lobe nodule. Recommend chest CT in 3 months.",
                "patient_id": "P-W",
                "study_date": "2024-01-05",
                "modality": "CR",
                "body_part": "CHEST",
            }
        ]
    }
    assert service.client.post("/api/archive/reports", json=add, headers=rad).status_code == 200
    r = service.client.get("/api/followups/overdue?as_of=2024-06-01", headers=rad)
    assert r.status_code == 200, r.text
    items = [i for i in r.json()["items"] if i["report_id"] == "W1"]
    assert [i["status"] for i in items] == ["overdue"] and items[0]["due"] == "2024-04-04"
    r = service.client.get("/api/timeline/P-W", headers=rad)
    assert r.status_code == 200, r.text
    assert [f["finding"] for f in r.json()["findings"]] == ["nodule"]
    assert service.client.get("/api/timeline/NOBODY", headers=rad).status_code == 404
    for role in (Role.RESEARCHER, Role.ADMIN):
        assert (
            service.client.get("/api/timeline/P-W", headers=service.auth(role)).status_code == 403
        )


def test_worklist_route_ranks_and_pseudonymises(service: Service) -> None:
    with open_studies(service.db) as store:
        store.upsert(
            StudyRecord(study_uid="1.2.3.9", patient_id="P-WL", received="2024-03-01T08:00:00Z")
        )
    r = service.client.get("/api/worklist", headers=service.auth(Role.RADIOLOGIST))
    assert r.status_code == 200, r.text
    mine = [e for e in r.json() if e["study_uid"] == "1.2.3.9"]
    assert mine and mine[0]["patient_id"] == "P-WL" and mine[0]["reasons"]
    r = service.client.get("/api/worklist", headers=service.auth(Role.RESEARCHER))
    assert r.status_code == 200
    assert "P-WL" not in r.text and "1.2.3.9" not in r.text


def test_draft_route_verifies_and_compares_with_an_archived_prior(service: Service) -> None:
    rad = service.auth(Role.RADIOLOGIST)
    body = {"findings": ["small left pleural effusion", "no pneumothorax"], "prior_id": "R1"}
    r = service.client.post("/api/draft", json=body, headers=rad)
    assert r.status_code == 200, r.text
    got = r.json()
    assert set(got) == {"report", "verified", "differences", "backend"}
    assert got["verified"] is True and got["differences"] == []
    assert got["backend"] == "template.v1"
    assert "Unchanged small left pleural effusion" in got["report"]
    assert "Prior report of 2024-01-02" in got["report"]
    r = service.client.post("/api/draft", json={"findings": []}, headers=rad)
    assert r.status_code == 400 and "nothing to draft" in r.text
    r = service.client.post("/api/draft", json={"findings": ["x"], "prior_id": "NOPE"}, headers=rad)
    assert r.status_code == 404
    r = service.client.post("/api/draft", json=body, headers=service.auth(Role.RESEARCHER))
    assert r.status_code == 403


def test_draft_route_from_an_analysis(service: Service) -> None:
    analysis = [{"findings": [{"name": "Cardiomegaly", "probability": 0.9, "positive": True}]}]
    r = service.client.post(
        "/api/draft", json={"analysis": analysis}, headers=service.auth(Role.RADIOLOGIST)
    )
    assert r.status_code == 200, r.text
    assert r.json()["verified"] and "ardiomegaly" in r.json()["report"]


def test_a_browser_without_a_session_is_sent_to_the_login_form(service: Service) -> None:
    html = {"Accept": "text/html,application/xhtml+xml"}
    r = service.client.get("/worklist", headers=html, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login"
    # an API client keeps its plain 401, as does a page asked for without HTML
    assert service.client.get("/api/worklist", headers=html).status_code == 401
    assert service.client.get("/worklist", follow_redirects=False).status_code == 401
