"""``GET /api/studies``: what the studies store holds, per role."""

from __future__ import annotations

from service_helpers import BOTH, Service

from radpilot.server.access import Role
from radpilot.workflow.studies import StudyRecord, StudyUrgency, open_studies

SERVICE_BACKENDS = BOTH  # each test below on SQLite and on PostgreSQL

UID_A, UID_B = "1.2.826.0.1.3680043.8.498.1", "1.2.826.0.1.3680043.8.498.2"


def test_studies_per_role(service: Service) -> None:
    store = open_studies(service.db)
    try:
        store.upsert(
            StudyRecord(
                UID_A,
                patient_id="P-001",
                accession="ACC1",
                modality="CR",
                description="CHEST PA",
                study_date="20240102",
            )
        )
        store.upsert(StudyRecord(UID_B, patient_id="P-002", modality="DX"))
        analysis = [
            {
                "findings": [
                    {"name": "Effusion", "probability": 0.8, "positive": True},
                    {"name": "Pneumothorax", "probability": 0.1, "positive": False},
                ]
            },
            {"findings": [{"name": "Effusion", "probability": 0.6, "positive": False}]},
        ]
        store.attach_analysis(UID_A, analysis, StudyUrgency("urgent", 0.8, ("Effusion",)))
    finally:
        store.close()
    rows = service.client.get("/api/studies", headers=service.auth(Role.RADIOLOGIST)).json()
    by_uid = {r["study_uid"]: r for r in rows}
    a, b = by_uid[UID_A], by_uid[UID_B]
    assert a["patient_id"] == "P-001" and a["status"] == "analysed" and a["received"]
    assert a["findings"] == [
        {"name": "Effusion", "probability": 0.8, "positive": True},
        {"name": "Pneumothorax", "probability": 0.1, "positive": False},
    ]
    assert a["urgency"]["tier"] == "urgent"
    assert b["status"] == "received" and b["findings"] is None
    unread = service.client.get(
        "/api/studies", params={"status": "received"}, headers=service.auth(Role.RADIOLOGIST)
    ).json()
    assert UID_B in {r["study_uid"] for r in unread} and UID_A not in {
        r["study_uid"] for r in unread
    }
    bad = service.client.get(
        "/api/studies", params={"status": "lost"}, headers=service.auth(Role.RADIOLOGIST)
    )
    assert bad.status_code == 400 and "lost" in bad.json()["detail"]
    hidden = service.client.get("/api/studies", headers=service.auth(Role.RESEARCHER)).json()
    assert len(hidden) == len(rows) >= 2
    text = str(hidden)
    for secret in ("P-001", "P-002", UID_A, UID_B, "ACC1"):
        assert secret not in text
    pseudonyms = {service.app.state.ctx.pseudonyms.pseudonym("st", u) for u in (UID_A, UID_B)}
    mine = [r for r in hidden if r["study_uid"] in pseudonyms]
    assert len(mine) == 2 and {r["findings"] is None for r in mine} == {True, False}
    audit = [e.event for e in service.app.state.ctx.store.audit_entries()]
    assert any(e.action == "studies.read" and UID_A in e.target for e in audit)
