"""`radpilot timeline PATIENT`: a patient's findings across reports and images over time."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.table import Table

from radpilot.commands.common import ExitCode, exit_with
from radpilot.commands.llmopts import LLM, LLM_CONFIG, LLM_MODEL, LLM_URL, llm_config
from radpilot.errors import InputError

if TYPE_CHECKING:
    from radpilot.search.store import ArchiveStore
    from radpilot.workflow.archive_qa import Answer
    from radpilot.workflow.timeline import Timeline

DB_HELP = (
    "Archive database with the reports and studies (default: $RADPILOT_ARCHIVE, "
    "$RADPILOT_HOME/archive.db or ~/.local/share/radpilot/archive.db)."
)

app = typer.Typer()


@app.command()
def timeline(
    patient: str = typer.Argument(..., help="The patient id (as archived)."),
    db: Path | None = typer.Option(None, "--db", help=DB_HELP),
    png: Path | None = typer.Option(None, "--png", metavar="OUT.png", help="Write a chart."),
    as_json: bool = typer.Option(False, "--json", help="Print the timeline as JSON."),
    negatives: bool = typer.Option(
        False, "--negatives", help="Also list findings never seen (pertinent negatives only)."
    ),
    summary: bool = typer.Option(
        False,
        "--summary",
        help="Add a summary of the history citing report ids (--llm: "
        "written by a language model; without: the reports' own finding sentences).",
    ),
    summary_reports: int = typer.Option(
        8, "--summary-reports", min=1, max=50, help="The latest N reports the summary reads."
    ),
    llm: str = LLM,
    llm_url: str = LLM_URL,
    llm_model: str = LLM_MODEL,
    llm_config_file: Path = LLM_CONFIG,
) -> None:
    """Every finding of a patient across archived reports and image analyses: first seen,
    the changes reports state, resolved, current status; a table, JSON, or a PNG chart.

    With --summary, a summary of the history: every sentence cites report ids and is
    checked (each cited id must be one of the patient's reports given, each finding it
    states must be stated in a report it cites); a sentence that fails is dropped and
    listed on stderr. Exit 0 done; 2 nothing of the patient in the archive (or an
    unusable archive); 3 the summary had sentences dropped."""
    from radpilot.search.store import default_db_path, open_store
    from radpilot.workflow.studies import open_studies
    from radpilot.workflow.timeline import build_timeline
    from radpilot.workflow.timeline_plot import plot_timeline

    if png is not None and not png.parent.exists():
        # as every -o of radpilot: a mistyped folder is an error, never created silently
        raise InputError(f"{png}: no such folder {png.parent}; create it first")
    location = db or default_db_path()
    archive = open_store(location, readonly=True)
    told = None
    try:
        with open_studies(location, readonly=True) as studies:
            result = build_timeline(patient, archive, studies, negatives=negatives)
        if summary or llm or llm_url or llm_model or llm_config_file:
            told = _summary(
                archive,
                result.patient,
                summary_reports,
                llm_config(llm, llm_url, llm_model, llm_config_file),
            )
    finally:
        archive.close()
    if png is not None:
        plot_timeline(result, png)
    if as_json:
        data = result.to_dict()
        if told is not None:
            data["summary"] = told.to_dict()
        typer.echo(json.dumps(data, indent=2))
    else:
        console = Console()
        console.print(_table(result))
        if told is not None:
            console.print(f"summary ({told.backend}, every sentence checked against its reports):")
            for s in told.answer.kept:
                console.print(f"  {s.text}", markup=False, highlight=False)
        if png is not None:
            console.print(f"chart -> {png}")
    if told is not None:
        err = Console(stderr=True, highlight=False, soft_wrap=True)
        for f in told.answer.flagged:
            err.print(f"dropped: {f.reason}", markup=False)
        if told.error is not None:
            err.print(f"warning: language model: {told.error}; summary is extractive", markup=False)
        if told.answer.flagged:
            exit_with(ExitCode.CHECK_FAILED)


def _summary(archive: ArchiveStore, patient: str, limit: int, config: object) -> Answer:
    from radpilot.workflow.archive_qa import answer
    from radpilot.workflow.llm import LLMConfig, open_model

    model = open_model(config) if isinstance(config, LLMConfig) else None
    try:
        return answer(archive, None, patient=patient, model=model, limit=limit)
    finally:
        if model is not None:
            model.close()


def _table(t: Timeline) -> Table:
    n_reports = sum(1 for _, kind, _ in t.sources if kind == "report")
    n_images = len(t.sources) - n_reports
    title = f"patient {t.patient}: {n_reports} report(s), {n_images} analysed study(ies)"
    if t.undated:
        title += f", {t.undated} report(s) without a date not placed"
    table = Table(title=title)
    for col in ("finding", "first seen", "last seen", "changes", "resolved", "now"):
        table.add_column(col, overflow="fold")
    for h in t.findings:
        changes = "; ".join(f"{o.date} {o.change} ({o.source_id})" for o in h.changes)
        side = f" ({h.laterality})" if h.laterality else ""
        table.add_row(
            h.finding.replace("_", " ") + side,
            h.first_seen or "never",
            h.last_seen or "",
            changes,
            f"{h.resolved} ({h.resolved_by})" if h.resolved else "",
            h.current,
        )
    return table
