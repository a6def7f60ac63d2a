"""`radpilot export fhir|hl7 REPORTS -o OUT`: read reports, write them as FHIR R4 Bundles
(DiagnosticReport + Observations) or HL7 v2 ORU^R01 messages."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from enum import StrEnum
from pathlib import Path

import typer

from radpilot.commands.common import ProblemLines, batch_exit, exit_with

app = typer.Typer()


class ExportFormat(StrEnum):
    FHIR = "fhir"
    HL7 = "hl7"


def _records(
    path: Path,
    patient: str | None,
    study_date: str | None,
    modality: str | None,
    problems: ProblemLines,
) -> Iterator[tuple[object, object]]:
    from radpilot.errors import InputError
    from radpilot.interop.records import make_record
    from radpilot.reports import read
    from radpilot.reports.readers import ReportReader

    with ReportReader(path) as reader:
        for row in reader:
            for p in row.problems:
                problems(f"{p.severity.value}: {p}", p.severity.value)
            if not row.usable:
                continue
            try:
                record = make_record(
                    rid=row.id,
                    text=row.text,
                    patient_id=patient,
                    study_date=study_date,
                    modality=modality,
                )
            except InputError as exc:
                problems(f"error: row {row.row} (line {row.line}): {exc}")
                continue
            yield record, read(record.text)


@app.command()
def export(
    fmt: ExportFormat = typer.Argument(..., help="fhir (R4 Bundle) or hl7 (v2 ORU^R01)."),
    reports: Path = typer.Argument(
        ..., help="Reports as `radpilot label` reads them (CSV, JSONL, OpenI XML; - for stdin)."
    ),
    out: Path = typer.Option(
        Path("-"),
        "--out",
        "-o",
        help="Output file (- for stdout). fhir: .json holds one report's Bundle, "
        ".ndjson one Bundle per line; hl7: the messages one after another.",
    ),
    patient: str = typer.Option(None, "--patient", help="Patient id for every report."),
    study_date: str = typer.Option(None, "--study-date", help="YYYY-MM-DD for every report."),
    modality: str = typer.Option(None, "--modality", help="DICOM modality (CR, DX, ...)."),
    max_errors: int = typer.Option(50, "--max-errors", min=0, help="Problem lines shown."),
) -> None:
    """Read each report and export it with its findings (one Observation / OBX per
    mention: finding, present/absent/uncertain, laterality, evidence span). An AI-assist
    reading: every result is marked preliminary. Exit status 0 all exported, 1 some,
    2 none."""
    from radpilot.errors import InputError
    from radpilot.interop.fhir_export import to_bundle
    from radpilot.interop.hl7_export import to_oru

    problems = ProblemLines(max_errors)
    ndjson = out.suffix.lower() == ".ndjson"
    chunks: list[str] = []
    done = 0
    for record, report in _records(reports, patient, study_date, modality, problems):
        if fmt is ExportFormat.HL7:
            chunks.append(to_oru(record, report, control_id=str(done + 1)))  # type: ignore[arg-type]
        else:
            bundle = to_bundle(record, report)  # type: ignore[arg-type]
            chunks.append(json.dumps(bundle, ensure_ascii=False, indent=None if ndjson else 1))
        done += 1
    problems.close()
    failed = problems.by_severity.get("error", 0)
    if fmt is ExportFormat.FHIR and not ndjson and done > 1:
        raise InputError(f"{out}: {done} reports; write several as .ndjson (one Bundle per line)")
    text = ("\n".join(chunks) + "\n") if fmt is ExportFormat.FHIR and chunks else "".join(chunks)
    if done:
        if str(out) == "-":
            sys.stdout.write(text)
        else:
            try:
                out.write_text(text, encoding="utf-8", newline="")
            except OSError as exc:
                raise InputError(f"{out}: cannot write ({exc.strerror or exc})") from None
    typer.echo(f"exported {done} report(s) as {fmt.value}", err=True)
    exit_with(batch_exit(done, failed))
