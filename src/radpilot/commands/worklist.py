"""`radpilot worklist [add|mark]`: the unread studies, most urgent first, with reasons."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.table import Table

from radpilot.commands.common import (
    DEFAULT_MAX_PROBLEMS,
    MAX_ERRORS_OPTION_HELP,
    ProblemLines,
    batch_exit,
    exit_with,
)
from radpilot.errors import InputError

if TYPE_CHECKING:
    from radpilot.workflow.intake import Intake, ParsedAnalysis
    from radpilot.workflow.studies import StudyStore
    from radpilot.workflow.worklist import WorklistEntry

DB_HELP = (
    "Archive database that holds the studies: a file or a postgresql:// URL (default: $RADPILOT_ARCHIVE, "
    "$RADPILOT_HOME/archive.db or ~/.local/share/radpilot/archive.db)."
)
NOW_HELP = "Rank as at this UTC time (ISO, e.g. 2026-12-02T09:00:00Z; default: now)."

app = typer.Typer(
    name="worklist",
    help="The triaged worklist: unread studies ranked by urgency, each with its reasons.",
    invoke_without_command=True,
)


def _now(value: str | None) -> datetime:
    from radpilot.workflow.studies import parse_received

    return datetime.now(UTC) if value is None else parse_received(value, "--now")


@app.callback()
def show(
    ctx: typer.Context,
    db: str | None = typer.Option(None, "--db", help=DB_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON list, one entry a study."),
    now: str | None = typer.Option(None, "--now", help=NOW_HELP),
    limit: int | None = typer.Option(None, "--limit", min=1, help="Show the first N only."),
) -> None:
    """Unread studies (received or analysed) in reading order: critical findings, then
    image urgency and waiting time; a study that waited the ageing cap (240 min,
    workflow/data/worklist.json) comes first, so none waits forever. Triage, not a
    diagnosis."""
    if ctx.invoked_subcommand is not None:
        return
    from radpilot.workflow.studies import StudyFilter, open_studies
    from radpilot.workflow.worklist import worklist

    at = _now(now)
    with open_studies(db, readonly=True) as store:
        entries = worklist(store.list(StudyFilter(unread=True)), at)
    if limit is not None:
        entries = entries[:limit]
    if as_json:
        typer.echo(json.dumps([e.to_dict() for e in entries], indent=2))
        return
    Console().print(_table(entries, at))


def _table(entries: list[WorklistEntry], at: datetime) -> Table:
    table = Table(title=f"worklist at {at.isoformat(timespec='minutes')}: {len(entries)} unread")
    table.add_column("#", justify="right", no_wrap=True)
    table.add_column("study", overflow="fold", max_width=20)
    table.add_column("patient", overflow="fold", max_width=12)
    table.add_column("mod", no_wrap=True)
    table.add_column("tier", no_wrap=True)
    table.add_column("priority", justify="right", no_wrap=True)
    table.add_column("wait", justify="right", no_wrap=True)
    table.add_column("reasons", overflow="fold")
    for e in entries:
        r = e.ranked
        table.add_row(
            str(e.position),
            e.study.accession or e.study.study_uid,
            e.study.patient_id or "",
            e.study.modality or "",
            ("[bold red]OVERDUE[/] " if r.overdue else "") + r.case.tier,
            f"{r.priority:.1f}",
            f"{r.wait_minutes:.0f} min",
            "\n".join(r.reasons),
        )
    return table


@app.command("add")
def add(
    files: list[Path] = typer.Argument(
        ..., help="`radpilot analyze --json` files, or DICOM files of the studies."
    ),
    db: str | None = typer.Option(None, "--db", help=DB_HELP),
    analyse: bool = typer.Option(
        False, "--analyse", help="Analyse DICOM files with the image model before adding."
    ),
    model: str | None = typer.Option(None, "--model", "-m", help="Image model for --analyse."),
    received: str | None = typer.Option(
        None, "--received", help="When the studies arrived (UTC ISO; default: now)."
    ),
    max_errors: int = typer.Option(
        DEFAULT_MAX_PROBLEMS, "--max-errors", min=0, help=MAX_ERRORS_OPTION_HELP
    ),
) -> None:
    """Put studies on the worklist. A re-sent study is updated, never duplicated; its
    waiting time counts from its first arrival. Each file that cannot be used is one line
    on stderr. Exit 0: every file added; 1: some; 2: none."""
    from radpilot.workflow.studies import open_studies

    done = failed = 0
    counts = {"added": 0, "updated": 0, "unchanged": 0}
    with ProblemLines(max_errors) as problems, open_studies(db) as store:
        for path in files:
            try:
                parsed = _intakes(path, analyse=analyse, model=model, received=received)
            except InputError as exc:
                problems(f"skipped: {exc}")
                failed += 1
                continue
            for intake in parsed.intakes:
                counts[_store(store, intake)] += 1
            for line in parsed.skipped:
                problems(f"warning: {line}", "warning")
            done += 1
            failed += bool(parsed.skipped)
        typer.echo(
            f"studies added {counts['added']}, updated {counts['updated']}, unchanged "
            f"{counts['unchanged']}, files skipped {problems.by_severity.get('error', 0)}"
            f" -> {store.location}"
        )
    exit_with(batch_exit(done, failed))


def _intakes(
    path: Path, *, analyse: bool, model: str | None, received: str | None
) -> ParsedAnalysis:
    from dataclasses import replace

    from radpilot.imaging.dicomio import sniff_format
    from radpilot.workflow.intake import (
        Intake,
        ParsedAnalysis,
        parse_analysis,
        read_analysis_file,
        record_from_dicom,
    )

    if path.is_dir():
        raise InputError(f"{path}: is a folder; name the files")
    if not path.exists():
        raise InputError(f"{path}: no such file")
    kind = sniff_format(path)
    if kind in ("png", "jpeg"):
        raise InputError(
            f"{path}: a {kind.upper()} image carries no study UID; add its DICOM, or the "
            "`radpilot analyze --json` result of the DICOM"
        )
    if kind == "dicom":
        if analyse:
            from radpilot.imaging.analyze import analyze

            results = analyze([path], model=model)
            parsed = parse_analysis([r.to_dict() for r in results], str(path))
        else:
            parsed = ParsedAnalysis((Intake(record_from_dicom(path)),))
    else:
        parsed = read_analysis_file(path)
    if received is not None:
        # replace() constructs the record again, so the time is checked as on any record
        timed = (replace(i, record=replace(i.record, received=received)) for i in parsed.intakes)
        parsed = replace(parsed, intakes=tuple(timed))
    return parsed


def _store(store: StudyStore, intake: Intake) -> str:
    outcome = store.upsert(intake.record)
    if intake.analysis:
        store.attach_analysis(intake.record.study_uid, intake.analysis, intake.urgency)
        if outcome == "unchanged":
            outcome = "updated"
    return outcome


@app.command("mark")
def mark(
    study_uid: str = typer.Argument(..., help="The study's StudyInstanceUID."),
    status: str = typer.Argument(..., help="read or signed."),
    db: str | None = typer.Option(None, "--db", help=DB_HELP),
    report_id: str | None = typer.Option(
        None, "--report-id", help="The signed report's id in the archive."
    ),
) -> None:
    """Take a study off the worklist: read, or signed (optionally naming its report)."""
    from radpilot.workflow.studies import StudyStatus, open_studies, parse_status

    new = parse_status(status)
    if new not in (StudyStatus.READ, StudyStatus.SIGNED):
        raise InputError(f"status {status!r}: mark takes read or signed")
    with open_studies(db) as store:
        study = store.set_status(study_uid, new, report_id=report_id)
    typer.echo(f"{study.study_uid}: {study.status.value}")
