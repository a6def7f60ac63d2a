"""`radpilot analyze`: findings, heatmaps, boxes and urgency for chest radiographs."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

app = typer.Typer()


@app.command()
def analyze(
    paths: list[Path] = typer.Argument(
        ..., help="DICOM, PNG or JPEG files, or folders (searched recursively)."
    ),
    model: str = typer.Option(
        None, "--model", "-m", help="Image model name (see `radpilot models list`)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON list, one object per file."),
    out: Path = typer.Option(
        None, "--out", help="Folder for heatmap overlays, analysis.json and DICOM SR/SC."
    ),
    sr: bool = typer.Option(
        True, "--sr/--no-sr", help="With --out and DICOM input, write a DICOM SR and SC."
    ),
    all_heatmaps: bool = typer.Option(
        False, "--all-heatmaps", help="Heatmaps and boxes for every finding, not only positive."
    ),
) -> None:
    """Analyse chest radiographs: each finding's probability, the decision at the
    model's operating point, a heatmap and box for positive findings, an urgency tier.
    An AI-assist result for a radiologist, not a diagnosis."""
    from radpilot.imaging.analyze import analyze as run_analysis
    from radpilot.imaging.analyze import write_json

    results = run_analysis(paths, model=model, out=out, sr=sr, all_heatmaps=all_heatmaps)
    if out is not None:
        write_json(results, out / "analysis.json")
    if as_json:
        typer.echo(json.dumps([r.to_dict() for r in results], indent=2))
    else:
        console = Console()
        console.print(results_table(results, compact=console.width < 110))
        if out is not None:
            console.print(f"Outputs written under {out}/ (analysis.json, overlays, DICOM SR/SC).")
    if not any(r.analysed for r in results):
        raise typer.Exit(code=1)


def results_table(results: list, *, compact: bool = False) -> Table:  # type: ignore[type-arg]
    """A rich table: one row per finding of each file; errors and flag codes in place
    (the full flag messages are in the JSON). ``compact`` drops the threshold and box
    columns for narrow terminals."""
    table = Table(title="radpilot analyze (AI assist, not a diagnosis)")
    table.add_column("file", overflow="fold", max_width=28)
    table.add_column("finding", overflow="fold")
    table.add_column("p", justify="right", no_wrap=True)
    if not compact:
        table.add_column("thr", justify="right", no_wrap=True)
    table.add_column("decision", no_wrap=True)
    if not compact:
        table.add_column("box x,y,w,h", no_wrap=True)
    table.add_column("urgency", no_wrap=True)
    table.add_column("notes", overflow="fold")

    def row(*cells: str, thr: str = "", box: str = "") -> None:
        values = list(cells)
        if not compact:
            values.insert(3, thr)
            values.insert(5, box)
        table.add_row(*values)

    for r in results:
        name = Path(r.path).name
        if r.error is not None:
            row(name, "[red]error[/]", "", "", "", r.error)
            continue
        notes = ", ".join([f.code.value for f in r.flags] + list(r.warnings))
        if not r.findings:
            reason = "; ".join(f.message for f in r.flags if f.blocking) or "not analysed"
            row(name, "[yellow]skipped[/]", "", "", "", reason)
            continue
        for i, f in enumerate(r.findings):
            first = i == 0
            row(
                name if first else "",
                f.name,
                f"{f.probability:.3f}",
                "[bold red]positive[/]" if f.positive else "negative",
                r.urgency.tier.value if (first and r.urgency is not None) else "",
                notes if first else "",
                thr=f"{f.threshold:.3f}",
                box="" if f.box is None else f"{f.box.x},{f.box.y},{f.box.width},{f.box.height}",
            )
    return table
