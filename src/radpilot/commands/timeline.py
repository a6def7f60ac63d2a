"""`radpilot timeline PATIENT`: a patient's findings across reports and images over time."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:
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
) -> None:
    """Every finding of a patient across archived reports and image analyses: first seen,
    the changes reports state, resolved, current status; a table, JSON, or a PNG chart.
    Exit 2 when the archive holds nothing of the patient."""
    from radpilot.search.store import default_db_path, open_store
    from radpilot.workflow.studies import open_studies
    from radpilot.workflow.timeline import build_timeline
    from radpilot.workflow.timeline_plot import plot_timeline

    location = db or default_db_path()
    archive = open_store(location, readonly=True)
    try:
        with open_studies(location, readonly=True) as studies:
            result = build_timeline(patient, archive, studies, negatives=negatives)
    finally:
        archive.close()
    if png is not None:
        plot_timeline(result, png)
    if as_json:
        typer.echo(json.dumps(result.to_dict(), indent=2))
    else:
        console = Console()
        console.print(_table(result))
        if png is not None:
            console.print(f"chart -> {png}")


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
            h.resolved or "",
            h.current,
        )
    return table
