"""`radpilot compare`: a current radiograph against the same patient's prior."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from radpilot.commands.analyze import DECODE_TIMEOUT_HELP, MAX_PIXELS_HELP
from radpilot.imaging.pixels import DEFAULT_DECODE_SECONDS, DEFAULT_MAX_PIXELS
from radpilot.imaging.registration import TransformKind

app = typer.Typer()


@app.command()
def compare(
    current: Path = typer.Argument(
        ..., help="The current image (DICOM, PNG, JPEG) or a folder holding one study."
    ),
    prior: Path = typer.Argument(
        ..., help="The prior image, or study folder, of the same patient."
    ),
    model: str = typer.Option(None, "--model", "-m", help="Image model name."),
    as_json: bool = typer.Option(False, "--json", help="Print the comparison as JSON."),
    out: Path = typer.Option(
        None, "--out", help="Folder for subtraction.png, prior_registered.png, comparison.json."
    ),
    transform: TransformKind = typer.Option(
        TransformKind.AFFINE, "--transform", help="Registration transform."
    ),
    max_pixels: int = typer.Option(DEFAULT_MAX_PIXELS, "--max-pixels", min=1, help=MAX_PIXELS_HELP),
    decode_timeout: float = typer.Option(
        DEFAULT_DECODE_SECONDS, "--decode-timeout", min=0.001, help=DECODE_TIMEOUT_HELP
    ),
) -> None:
    """Compare CURRENT with PRIOR: register the prior onto the current, save a
    subtraction image, and say per finding whether it is new, increased, decreased,
    resolved or stable. An AI-assist result, not a diagnosis.

    Both images pass the quality gate first (as in `radpilot analyze`); a comparison with
    an image that fails it is refused. Exit status: 0 compared; 2 not compared (an image
    unreadable or failing the gate, or a usage error).
    """
    from radpilot.imaging.compare import compare as run_compare
    from radpilot.imaging.outputs import ComparisonOutputs
    from radpilot.imaging.pixels import ReadLimits

    writer = None if out is None else ComparisonOutputs(out)
    result = run_compare(
        current,
        prior,
        model=model,
        kind=transform,
        limits=ReadLimits(max_pixels=max_pixels, decode_seconds=decode_timeout),
        writer=writer,
    )
    if as_json:
        typer.echo(json.dumps(result.to_dict(), indent=2))
        return
    console = Console()
    console.print(comparison_table(result))
    console.print(result.summary())
    for note in result.notes:
        console.print(f"note: {note}")
    for warning in result.warnings:
        console.print(f"[yellow]warning:[/] {warning}")
    if out is not None:
        console.print(f"Outputs written under {out}/")


def comparison_table(result: object) -> Table:
    from radpilot.imaging.compare import Comparison

    assert isinstance(result, Comparison)
    table = Table(title="radpilot compare (AI assist, not a diagnosis)")
    for column in ("finding", "prior p", "current p", "delta", "thr", "change"):
        table.add_column(column, justify="right" if column not in ("finding", "change") else "left")
    for f in result.findings:
        table.add_row(
            f.name,
            f"{f.prior_probability:.3f}",
            f"{f.current_probability:.3f}",
            f"{f.delta:+.3f}",
            f"{f.threshold:.3f}",
            f.change.value,
        )
    return table
