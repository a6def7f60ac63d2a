"""A department for the page tests: three real DICOM radiographs (the package's samples,
given their own study, patient and accession), analysed by the default image model and
put on the worklist with staggered arrival times, an archive with two signed reports, a
user of each role, and an evaluation reports folder."""

from __future__ import annotations

import io
import sys
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from radpilot import samples

PASSWORD = "correct horse battery"


@dataclass
class Live:
    """The server the browser talks to, and its database."""

    url: str
    db: Path
    app: object


USERS = {"dr.web": "radiologist", "res.web": "researcher", "adm.web": "admin"}
SOURCES = ("siim_monochrome2.dcm", "siim_true_monochrome1.dcm", "Fake_MONOHR1.dcm")
ARCHIVE = [
    {
        "id": "A-100",
        "text": "FINDINGS: Small left pleural effusion. No pneumothorax.\nIMPRESSION: Left effusion.",
        "patient_id": "PW-9",
        "study_date": "2024-03-04",
        "modality": "CR",
    },
    {
        "id": "A-200",
        "text": "FINDINGS: No pleural effusion. Heart size normal.\nIMPRESSION: Normal chest.",
        "patient_id": "PW-8",
        "study_date": "2025-06-07",
        "modality": "DX",
    },
]


def make_dicoms(folder: Path) -> list[Path]:
    import pydicom

    out = []
    for i, name in enumerate(SOURCES, 1):
        ds = pydicom.dcmread(str(samples.get(name)))
        ds.StudyInstanceUID = f"1.2.826.0.1.3680043.10.1234.{i}"
        ds.SeriesInstanceUID = f"1.2.826.0.1.3680043.10.1234.{i}.1"
        ds.SOPInstanceUID = f"1.2.826.0.1.3680043.10.1234.{i}.1.1"
        ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
        ds.PatientID = f"PW-{i}"
        ds.AccessionNumber = f"ACC{i:03d}"
        ds.StudyDescription = "CHEST PA"
        ds.StudyDate = f"2026120{i}"
        path = folder / f"study{i}.dcm"
        ds.save_as(str(path))
        out.append(path)
    return out


def make_department(root: Path) -> Path:
    """The database of the department (``root/archive.db``)."""
    from radpilot.commands.main import run
    from radpilot.imaging.analyze import analyze
    from radpilot.interop.records import make_record
    from radpilot.search.ingest import ingest_records
    from radpilot.search.store import open_store
    from radpilot.workflow.intake import parse_analysis, read_analysis_file
    from radpilot.workflow.studies import open_studies

    db = root / "archive.db"
    images = root / "images"
    images.mkdir()
    results = [r.to_dict() for r in analyze(make_dicoms(images))]
    intakes = parse_analysis(results, "pages fixture").intakes
    # The README's made-up pneumothorax study (its image is not shipped): urgent, newest.
    intakes += read_analysis_file(samples.get("ptx_analysis.json")).intakes
    now = datetime.now(UTC)
    store = open_studies(db)
    try:
        for i, intake in enumerate(intakes):
            minutes = 5 if i == len(intakes) - 1 else 20 + 35 * i
            received = (now - timedelta(minutes=minutes)).isoformat(timespec="seconds")
            record = replace(intake.record, received=received)
            store.upsert(record)
            store.attach_analysis(record.study_uid, intake.analysis, intake.urgency)
    finally:
        store.close()
    archive = open_store(db)
    try:
        ingest_records(
            archive,
            [
                make_record(
                    rid=r["id"],
                    text=r["text"],
                    patient_id=r["patient_id"],
                    study_date=r["study_date"],
                    modality=r["modality"],
                )
                for r in ARCHIVE
            ],
            jobs=1,
        )
    finally:
        archive.close()
    for name, role in USERS.items():
        old = sys.stdin
        sys.stdin = io.StringIO(PASSWORD + "\n")
        try:
            code = run(["users", "add", name, "--role", role, "--password-stdin", "--db", str(db)])
        finally:
            sys.stdin = old
        assert code == 0
    reports = root / "reports"
    (reports / "labeler").mkdir(parents=True)
    (reports / "labeler" / "index.html").write_text("<html><body>labeler evaluation</body></html>")
    return db
