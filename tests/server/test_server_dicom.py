"""``radpilot serve --dicom-port``: what the Storage SCP receives lands on the studies
store, and ``GET /api/studies`` shows it analysed."""

from __future__ import annotations

import time
from pathlib import Path

from pydicom.uid import ExplicitVRLittleEndian
from pynetdicom import AE
from service_helpers import BOTH, Service

from dicom_cases import CR, DX, radiograph  # from the SCP's own tests
from radpilot.commands.serve import start_dicom
from radpilot.server.access import Role

SERVICE_BACKENDS = BOTH  # each test below on SQLite and on PostgreSQL


def test_received_studies_are_listed(service: Service, tmp_path: Path) -> None:
    settings = service.app.state.ctx.settings
    handle = start_dicom(0, settings, host="127.0.0.1", store_dir=tmp_path / "dicom")
    try:
        uid = "1.2.826.0.1.3680043.8.498.77"
        sent = [
            radiograph(sop_class=CR, study_uid=uid, patient_id="PAT-9"),
            radiograph(sop_class=DX, study_uid=uid, patient_id="PAT-9", seed=3),
        ]
        ae = AE(ae_title="MODALITY")
        ae.add_requested_context(CR, [ExplicitVRLittleEndian])
        ae.add_requested_context(DX, [ExplicitVRLittleEndian])
        assoc = ae.associate("127.0.0.1", handle.port, ae_title="RADPILOT")
        assert assoc.is_established
        for ds in sent:
            assert assoc.send_c_store(ds).Status == 0
        assoc.release()
        assert handle.wait_idle(180)
    finally:
        handle.stop()
    deadline = time.monotonic() + 10
    while True:
        rows = service.client.get("/api/studies", headers=service.auth(Role.RADIOLOGIST)).json()
        study = next((r for r in rows if r["study_uid"] == uid), None)
        if (study and study["status"] == "analysed") or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert study is not None and study["patient_id"] == "PAT-9"
    assert study["status"] == "analysed" and study["findings"]
    assert study["urgency"]["tier"] in ("urgent", "routine")
