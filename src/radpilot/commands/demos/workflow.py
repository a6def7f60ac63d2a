"""The workflow step of `radpilot demo`: a verified draft, QA of a signed report, follow-up
recommendations and the overdue ones, the triaged worklist, a patient's timeline, FHIR and
HL7 exports and de-identification, all as CLI commands on bundled (made-up) samples.

Writes below ``OUT/workflow/``: ``draft.json``, ``followups.jsonl``, ``workflow.db`` (an
archive with its studies), ``p9.png``, ``reports.fhir.json``, ``reports.hl7``, ``deid/``.
"""

from __future__ import annotations

from collections.abc import Iterator

from radpilot import samples
from radpilot.commands.common import ExitCode
from radpilot.commands.demo import Command, Context, Note

FINDINGS = "small left pleural effusion; cardiomegaly; no pneumothorax"


def run(ctx: Context) -> Iterator[Command | Note]:
    folder = ctx.folder("workflow")
    db = folder / "workflow.db"
    for stale in (db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")):
        stale.unlink(missing_ok=True)
    archive = ("--db", str(db))
    yield Note("A draft from typed findings, read back by the reader before it is shown:")
    yield Command(("draft", "--findings", FINDINGS, "--exam", "CHEST 2 VIEWS"))
    yield Note("QA of a signed report with planted slips (exit 3: problems found):")
    yield Command(("qa", str(samples.get("signed_report.txt"))), ok=(ExitCode.CHECK_FAILED,))
    yield Note("Follow-up recommendations; the sample's last row is empty on purpose (exit 1):")
    followups = samples.get("followups.jsonl")
    out = folder / "followups.jsonl"
    extract = ("followups", "extract", str(followups), "--guideline", "-o", str(out))
    yield Command(extract, ok=(ExitCode.PARTLY_DONE,))
    yield Command(("archive", "add", str(followups), *archive), ok=(ExitCode.PARTLY_DONE,))
    yield Command(("followups", "overdue", "--as-of", "2026-06-01", "--all", *archive))
    yield Note("The worklist: a pneumothorax study waits less than a routine one:")
    received = "2026-12-02T09:40:00Z"
    add = ("worklist", "add", str(samples.get("ptx_analysis.json")), "--received", received)
    yield Command((*add, *archive))
    routine = ("worklist", "add", str(samples.get("siim_monochrome2.dcm")))
    yield Command((*routine, "--received", "2026-12-02T08:00:00Z", *archive))
    yield Command(("worklist", "--now", "2026-12-02T10:00:00Z", *archive))
    yield Note("A patient's findings over time (reports and the analysed study):")
    yield Command(("archive", "add", str(samples.get("patient_history.csv")), *archive))
    yield Command(("timeline", "P9", "--png", str(folder / "p9.png"), *archive))
    notes = str(samples.get("notes.jsonl"))
    yield Command(("export", "fhir", notes, "-o", str(folder / "reports.fhir.json")))
    hl7 = ("export", "hl7", notes, "--patient", "P9", "--study-date", "2024-03-02")
    yield Command((*hl7, "-o", str(folder / "reports.hl7")))
    yield Note("De-identified copies for a dataset (no secret given: a random one, noted):")
    phi = str(samples.get("phi_reports.jsonl"))
    yield Command(("deidentify", phi, "-o", str(folder / "deid")))
