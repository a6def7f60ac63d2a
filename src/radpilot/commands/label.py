"""`radpilot label`: label a file of reports, CheXpert-labeler style."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from radpilot.reports.batch import (
    DEFAULT_CHUNK_SIZE,
    BatchSummary,
    LabelSet,
    label_file,
    summary_table,
)
from radpilot.reports.io import InputFormat, OutputFormat, RowProblem
from radpilot.reports.labels import DEFAULT_POLICY, UncertaintyPolicy


def print_summary(console: Console, summary: BatchSummary) -> None:
    console.print(summary_table(summary))
    console.print(
        f"rows read {summary.rows_read:,} · labelled {summary.labelled:,} · "
        f"errors {summary.errors:,} · warnings {summary.warnings:,} · "
        f"{summary.seconds:.1f} s · {summary.reports_per_second:,.0f} reports/s "
        f"(read as {summary.layout})",
        soft_wrap=True,
        highlight=False,
    )


app = typer.Typer()


@app.command()
def label(
    input: Path = typer.Argument(
        ...,
        help="Reports: headerless CSV (one per row), CSV with a header, or JSONL; '-': stdin.",
    ),
    output: str = typer.Option("-", "--output", "-o", help="Output file; '-' is stdout."),
    labels: LabelSet = typer.Option(LabelSet.CHEXPERT, "--labels", help="Label columns."),
    output_format: OutputFormat = typer.Option(
        OutputFormat.CSV,
        "--format",
        help="csv: the CheXpert labeler's output; jsonl: labels + every mention.",
    ),
    input_format: InputFormat = typer.Option(
        InputFormat.AUTO,
        "--input-format",
        help="auto: JSONL when the first line starts with '{', else CSV.",
    ),
    text_column: str | None = typer.Option(
        None, "--text-column", help="CSV header column / JSONL key holding the report."
    ),
    id_column: str | None = typer.Option(
        None, "--id-column", help="CSV header column / JSONL key holding the id."
    ),
    header: bool | None = typer.Option(
        None,
        "--header/--no-header",
        help="Whether the CSV has a header row (default: detect).",
        show_default=False,
    ),
    jobs: int = typer.Option(1, "--jobs", "-j", min=1, help="Worker processes."),
    chunk_size: int = typer.Option(
        DEFAULT_CHUNK_SIZE, "--chunk-size", min=1, help="Reports per worker task."
    ),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar or summary."),
    uncertainty: UncertaintyPolicy = typer.Option(
        DEFAULT_POLICY,
        "--uncertainty",
        help="radpilot: a diagnosis offered only as a possible explanation of a stated "
        "finding is no label; chexpert: every hedge is -1.0 (the CheXpert labeler).",
    ),
) -> None:
    """Label each report: one output row per input row, in input order.

    INPUT is JSONL when its first line starts with '{', else CSV. A CSV has a header
    when --header, --text-column or --id-column is given, or when a first-row cell is
    a known text name (report, reports, text, report_text, findings_impression, note);
    otherwise each row is one report. Reports over 100,000 characters are labelled on
    their first 100,000. A row that cannot be read gets an empty labels row. Row
    problems go to stderr as one line each (row and line number, never the text); the
    summary also goes to stderr, so `-o -` stays clean. Exit 2 only when nothing can be
    read.
    """
    err = Console(stderr=True)

    def on_problem(p: RowProblem) -> None:
        err.print(f"{p.severity.value}: {p}", soft_wrap=True, highlight=False, markup=False)

    show_bar = err.is_terminal and not quiet
    progress = Progress(
        TextColumn("labelling"),
        BarColumn(),
        DownloadColumn(),
        TextColumn("{task.fields[rows]:,} rows"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=err,
        disable=not show_bar,
        transient=True,
    )
    with progress:
        task = progress.add_task("label", total=None, rows=0)

        def on_progress(rows: int, done: int, total: int) -> None:
            progress.update(task, completed=done, total=total or None, rows=rows)

        summary = label_file(
            input,
            output,
            label_set=labels,
            output_format=output_format,
            input_format=input_format,
            text_column=text_column,
            id_column=id_column,
            header=header,
            jobs=jobs,
            chunk_size=chunk_size,
            on_problem=on_problem,
            on_progress=on_progress,
            uncertainty=uncertainty.value,
        )
    if not quiet:
        print_summary(err, summary)
