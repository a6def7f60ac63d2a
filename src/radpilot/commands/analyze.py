"""`radpilot analyze`: findings, heatmaps, boxes and urgency for chest radiographs."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

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
from radpilot.imaging.pixels import DEFAULT_DECODE_SECONDS, DEFAULT_MAX_PIXELS

if TYPE_CHECKING:
    from radpilot.imaging.results import ImageResult

app = typer.Typer()

ENGINES = ("local", "spark")
ENGINE_HELP = (
    "local: this process; spark: Apache Spark (extra [spark]), the model loaded once per "
    "executor; PATHS may then be one Parquet file or folder listing image paths. Spark "
    "prints JSON Lines (one result a line, input order), or with --json the local JSON list."
)
MASTER_HELP = (
    "Spark master with --engine spark, e.g. local[2], spark://host:7077, yarn "
    "(default: what spark-submit set, else local[*])."
)

MAX_PIXELS_HELP = (
    "Refuse images above N decoded pixels (default 100,000,000 = 10,000 x 10,000); larger "
    "sides than 4,096 px are reduced while decoding."
)
DECODE_TIMEOUT_HELP = (
    "Stop decoding a compressed DICOM image after SECONDS (default 120); it is reported and "
    "the batch goes on. Compressed pixels are decoded in a separate process, so a decoder "
    "that crashes or hangs costs one file."
)


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
    max_pixels: int = typer.Option(DEFAULT_MAX_PIXELS, "--max-pixels", min=1, help=MAX_PIXELS_HELP),
    decode_timeout: float = typer.Option(
        DEFAULT_DECODE_SECONDS, "--decode-timeout", min=0.001, help=DECODE_TIMEOUT_HELP
    ),
    max_errors: int = typer.Option(
        DEFAULT_MAX_PROBLEMS, "--max-errors", min=0, help=MAX_ERRORS_OPTION_HELP
    ),
    engine: str = typer.Option("local", "--engine", metavar="ENGINE", help=ENGINE_HELP),
    master: str = typer.Option(None, "--master", metavar="URL", help=MASTER_HELP),
    path_column: str = typer.Option(
        None,
        "--path-column",
        metavar="NAME",
        help="With --engine spark and one Parquet input: the column of image paths "
        "(default: path).",
    ),
) -> None:
    """Analyse chest radiographs: each finding's probability, the decision at the
    model's operating point, a heatmap and box for positive findings, an urgency tier.
    An AI-assist result for a radiologist, not a diagnosis.

    Every image first passes a quality gate (readable exposure, not noise, grey, chest-like,
    upright; header checks for lateral, non-chest, non-radiograph): an image that fails a
    blocking check is not read by the model and is never urgent.

    Each file that could not be read, or was not read because it failed a check, gets one
    line on stderr. Exit status: 0 every file analysed; 1 some files analysed and some not
    (each named on stderr); 2 no file analysed, or a usage error.
    """
    from radpilot.imaging.analyze import analyze as run_analysis
    from radpilot.imaging.outputs import ImageOutputs
    from radpilot.imaging.pixels import ReadLimits
    from radpilot.interop.dicom_outputs import DicomOutputs

    limits = ReadLimits(max_pixels=max_pixels, decode_seconds=decode_timeout)
    if engine not in ENGINES:
        raise typer.BadParameter(f"{engine!r}; valid: {', '.join(ENGINES)}", param_hint="--engine")
    if engine == "local" and (master is not None or path_column is not None):
        raise typer.BadParameter("needs --engine spark", param_hint="--master/--path-column")
    if engine == "spark":
        if out is not None:
            raise typer.BadParameter("--out needs --engine local", param_hint="--out")
        _analyze_on_spark(
            paths, model, as_json, all_heatmaps, limits, master, path_column, max_errors
        )
        return
    writer = None if out is None else ImageOutputs(out, dicom=DicomOutputs() if sr else None)
    results = run_analysis(
        paths,
        model=model,
        all_heatmaps=all_heatmaps,
        limits=limits,
        writer=writer,
    )
    if as_json:
        typer.echo(json.dumps([r.to_dict() for r in results], indent=2))
    else:
        console = Console()
        console.print(results_table(results, compact=console.width < 110))
        if out is not None:
            console.print(f"Outputs written under {out}/ (analysis.json, overlays, DICOM SR/SC).")
    with ProblemLines(max_errors) as problems:
        for line in problem_lines(results):
            problems(line)
    done = sum(r.analysed for r in results)
    exit_with(batch_exit(done, len(results) - done))


def _analyze_on_spark(
    paths: list[Path],
    model: str | None,
    as_json: bool,
    all_heatmaps: bool,
    limits: object,
    master: str | None,
    path_column: str | None,
    max_errors: int,
) -> None:
    from radpilot.spark.analyze_job import analyze_on_spark  # pyspark only when asked for

    found = analyze_on_spark(
        paths,
        path_column=path_column,
        master=master,
        model=model,
        all_heatmaps=all_heatmaps,
        limits=limits,
    )
    if as_json:
        typer.echo(json.dumps(found, indent=2))
    else:  # JSON Lines: one result a line, in input order
        for r in found:
            typer.echo(json.dumps(r))
    with ProblemLines(max_errors) as problems:
        for line in dict_problem_lines(found):
            problems(line)
    done = sum(bool(r["analysed"]) for r in found)
    exit_with(batch_exit(done, len(found) - done))


def problem_lines(results: Sequence[ImageResult]) -> list[str]:
    """One line per file not analysed (why), and the warnings of those that were. The
    lines name files and checks, never a header value or a patient identifier."""
    return dict_problem_lines([r.to_dict() for r in results])


def dict_problem_lines(results: Sequence[dict[str, Any]]) -> list[str]:
    """:func:`problem_lines` over results in their JSON form (what Spark returns)."""
    lines = []
    for r in results:
        path, flags = r["path"], r["flags"]
        blocking = [f for f in flags if f["blocking"]]
        if r["error"] is not None:
            lines.append(f"error: {r['error']}")
        elif blocking:
            codes = ", ".join(f["code"] for f in blocking)
            lines.append(f"not analysed: {path}: {codes}: {blocking[0]['message']}")
        for flag in flags:
            if not flag["blocking"] and flag["check"] == "quality":
                lines.append(f"warning: {path}: {flag['code']}: {flag['message']}")
        lines.extend(f"warning: {path}: {w}" for w in r["warnings"])
    return lines


def results_table(results: Sequence[ImageResult], *, compact: bool = False) -> Table:
    """A rich table: one row per finding of each file, a row for each file not analysed
    (its flag codes; the messages are on stderr and in the JSON). ``compact`` drops the
    threshold and box columns for narrow terminals."""
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
            row(name, "[red]error[/]", "", "", "", "see stderr")
            continue
        notes = ", ".join(f.code.value for f in r.flags)
        if not r.findings:
            tier = r.urgency.tier.value if r.urgency is not None else ""
            row(name, "[yellow]not analysed[/]", "", "", tier, notes)
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
