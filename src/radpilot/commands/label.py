"""`radpilot label`: label a file of reports, CheXpert-labeler style."""

from __future__ import annotations

import gc
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

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
from rich.table import Table

from radpilot import registry
from radpilot.commands.common import (
    DEFAULT_MAX_PROBLEMS,
    MAX_ERRORS_OPTION_HELP,
    ProblemLines,
    batch_exit,
    exit_with,
)
from radpilot.errors import RegistryError
from radpilot.reports import read
from radpilot.reports.batch import DEFAULT_CHUNK_SIZE, BatchSummary, label_file
from radpilot.reports.labelsets import LabelSet
from radpilot.reports.policy import UncertaintyPolicy
from radpilot.reports.rows import InputFormat, OutputFormat, RowProblem
from radpilot.reports.uservocab import describe, extended_vocabulary
from radpilot.reports.vocabulary import Vocabulary

T = TypeVar("T")


def _from_registry(names: registry.Registry[Any], kind: type[T]) -> Callable[[str | T], T]:
    """A typer parser: a registered name (--labels chexpert, --uncertainty radpilot) ->
    its object, converted once, here; an unknown name is a usage error listing the valid
    ones."""

    def parse(value: str | T) -> T:
        if isinstance(value, kind):
            return value
        try:
            found: T = names.get(str(value))
        except RegistryError as exc:
            raise typer.BadParameter(str(exc)) from None
        return found

    return parse


_label_set = _from_registry(registry.label_sets, LabelSet)
_policy = _from_registry(registry.uncertainty_policies, UncertaintyPolicy)


InputArg = Annotated[
    Path,
    typer.Argument(
        help="Reports: headerless CSV (one per row), CSV with a header, JSONL, or OpenI XML "
        "(a folder, an .xml, or NLMCXR_reports.tgz); '-': stdin.",
        show_default=False,
    ),
]
OutputOpt = Annotated[str, typer.Option("--output", "-o", help="Output file; '-' is stdout.")]
LabelsOpt = Annotated[
    LabelSet,
    typer.Option(
        "--labels",
        parser=_label_set,
        metavar="NAME",
        help="Label columns: chexpert (CheXpert's 14) or chestxray14 (ChestX-ray14's 14 + No "
        "Finding); any registered label set.",
    ),
]
FormatOpt = Annotated[
    OutputFormat,
    typer.Option(
        "--format", help="csv: the CheXpert labeler's output; jsonl: labels + every mention."
    ),
]
InputFormatOpt = Annotated[
    InputFormat,
    typer.Option(
        "--input-format",
        help="auto: OpenI for a folder/.xml/.tgz, JSONL when the first line starts with '{', "
        "else CSV.",
    ),
]
TextColumnOpt = Annotated[
    str | None,
    typer.Option("--text-column", help="CSV header column / JSONL key holding the report."),
]
IdColumnOpt = Annotated[
    str | None, typer.Option("--id-column", help="CSV header column / JSONL key holding the id.")
]
HeaderOpt = Annotated[
    bool | None,
    typer.Option(
        "--header/--no-header",
        help="Whether the CSV has a header row (default: detect).",
        show_default=False,
    ),
]
JobsOpt = Annotated[int, typer.Option("--jobs", "-j", min=1, help="Worker processes.")]
ChunkOpt = Annotated[int, typer.Option("--chunk-size", min=1, help="Reports per worker task.")]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar or summary.")]
PolicyOpt = Annotated[
    UncertaintyPolicy,
    typer.Option(
        "--uncertainty",
        parser=_policy,
        metavar="POLICY",
        help="radpilot: a possibility offered to explain a finding the report states (one it "
        "can explain) is no label; chexpert: every hedge is -1.0 (the CheXpert labeler).",
    ),
]
MaxErrorsOpt = Annotated[int, typer.Option("--max-errors", min=0, help=MAX_ERRORS_OPTION_HELP)]
VocabOpt = Annotated[
    Path | None,
    typer.Option(
        "--vocab",
        metavar="FILE",
        help="A vocabulary file (JSON or YAML) that adds or overrides findings: id, name, "
        "synonyms, parent, chexpert/cxr14 roll-ups, role, abnormal; remove_terms. Each bad "
        "entry is named (file, findings[i], id, key).",
        show_default=False,
    ),
]

EngineOpt = Annotated[
    str,
    typer.Option(
        "--engine",
        metavar="ENGINE",
        help="local: this process (and --jobs workers); spark: Apache Spark (extra [spark]); "
        "INPUT and OUTPUT may then also be Parquet (a .parquet file or a folder).",
    ),
]
MasterOpt = Annotated[
    str | None,
    typer.Option(
        "--master",
        metavar="URL",
        help="Spark master with --engine spark, e.g. local[2], spark://host:7077, yarn "
        "(default: what spark-submit set, else local[*]).",
        show_default=False,
    ),
]
ENGINES = ("local", "spark")

app = typer.Typer()


@app.command()
def label(
    input: InputArg,
    output: OutputOpt = "-",
    labels: LabelsOpt = "chexpert",  # type: ignore[assignment]  # parsed by _label_set
    output_format: FormatOpt = OutputFormat.CSV,
    input_format: InputFormatOpt = InputFormat.AUTO,
    text_column: TextColumnOpt = None,
    id_column: IdColumnOpt = None,
    header: HeaderOpt = None,
    jobs: JobsOpt = 1,
    chunk_size: ChunkOpt = DEFAULT_CHUNK_SIZE,
    quiet: QuietOpt = False,
    uncertainty: PolicyOpt = "radpilot",  # type: ignore[assignment]  # parsed by _policy
    max_errors: MaxErrorsOpt = DEFAULT_MAX_PROBLEMS,
    vocab: VocabOpt = None,
    engine: EngineOpt = "local",
    master: MasterOpt = None,
) -> None:
    """Label each report: one output row per input row, in input order.

    INPUT is OpenI XML when it is a folder, an .xml or a .tgz/.tar (one row per XML file,
    in report-id order, text = FINDINGS + IMPRESSION); JSONL when its first line starts
    with '{'; else CSV. A CSV has a header when --header, --text-column or --id-column is
    given, or when a first-row cell is a known text name (report, reports, text,
    report_text, findings_impression, note); otherwise each row is one report. Reports
    over 100,000 characters are labelled on their first 100,000 (a warning names the row);
    a CSV field may hold up to 10,000,000 characters. A quote that is never closed is
    named (its line) and the lines after it are read as rows of their own. A row that
    cannot be read gets an empty labels row. Row problems go to stderr as one line each
    (row and line or file, never the text), at most --max-errors of them; the summary also
    goes to stderr, so `-o -` stays clean.

    --vocab FILE merges a vocabulary file into the packaged one (new findings, more
    synonyms, other roll-ups); workers of --jobs N read with the same merged vocabulary.
    A JSONL row may carry "targets": [{"start": int, "end": int}, ...], character spans of
    concepts found elsewhere (any clinical text); with --format jsonl its output row then
    has "targets" in the same order, each with certainty, historical, hypothetical,
    experiencer and cues. A target that cannot be read keeps its place with an "error"
    and the row gets a warning naming its index.

    Exit status: 0 every row labelled (warnings allowed); 1 some rows left unlabelled,
    each named on stderr, the rest labelled and written; 2 nothing done: a usage error,
    an input that cannot be read or an output that cannot be written, or no row could be
    labelled; 130 interrupted.
    """
    err = Console(stderr=True)
    _check_engine(engine, master)
    problems = ProblemLines(max_errors, console=err)
    vocabulary = extended_vocabulary(vocab) if vocab is not None else None
    if vocabulary is not None and not quiet:
        err.print(describe(vocabulary), soft_wrap=True, highlight=False, markup=False)

    def on_problem(p: RowProblem) -> None:
        problems(f"{p.severity.value}: {p}", p.severity.value)

    with _progress(err, quiet) as progress:
        task = progress.add_task("label", total=None, rows=0)

        def on_progress(rows: int, done: int, total: int) -> None:
            progress.update(task, completed=done, total=total or None, rows=rows)

        common: dict[str, Any] = {
            "label_set": labels,
            "output_format": output_format,
            "input_format": input_format,
            "text_column": text_column,
            "id_column": id_column,
            "header": header,
            "on_problem": on_problem,
            "policy": uncertainty,
            "vocabulary": vocabulary,
        }
        with problems:
            if engine == "spark":
                summary = _label_on_spark(input, output, master, common)
            else:
                if jobs == 1:
                    _settle_reader(vocabulary)
                summary = label_file(
                    input,
                    output,
                    jobs=jobs,
                    chunk_size=chunk_size,
                    on_progress=on_progress,
                    **common,
                )
    _warn_targets(err, input, summary, output_format)
    if not quiet:
        print_summary(err, summary)
    exit_with(batch_exit(summary.labelled, summary.errors))


def _settle_reader(vocabulary: Vocabulary | None) -> None:
    """Compile the reader's rules now, then take every object alive (the rules, the
    modules) out of the cyclic garbage collector's walks: a batch allocates millions of
    short-lived objects, and each collection would walk the rules again (gc.freeze: about
    5% of a pass over distinct reports, BENCHMARKS.md). A frozen object is never freed as
    part of a garbage cycle; the rules live as long as the process anyway, and
    refcounting still frees the rest."""
    read("FINDINGS: no effusion.", vocabulary=vocabulary)
    gc.freeze()


def _warn_targets(
    err: Console, input: Path, summary: BatchSummary, output_format: OutputFormat
) -> None:
    """Say where caller-given targets were not used: CSV output, or a CSV column."""
    if summary.target_rows and output_format is not OutputFormat.JSONL:
        err.print(
            f"warning: {summary.target_rows:,} row(s) carry targets; --format csv has no place "
            "for them (use --format jsonl)",
            soft_wrap=True,
            highlight=False,
        )
    if summary.unread_targets_column is not None:
        err.print(
            f"warning: {input}: column {summary.unread_targets_column!r} is not read: "
            'caller-given targets are read from JSONL rows ("targets": [{"start", "end"}, '
            "...]); the reports were labelled without them",
            soft_wrap=True,
            highlight=False,
            markup=False,
        )


def _check_engine(engine: str, master: str | None) -> None:
    if engine not in ENGINES:
        raise typer.BadParameter(f"{engine!r}; valid: {', '.join(ENGINES)}", param_hint="--engine")
    if master is not None and engine != "spark":
        raise typer.BadParameter("--master needs --engine spark", param_hint="--master")


def _label_on_spark(
    input: Path, output: str, master: str | None, options: dict[str, Any]
) -> BatchSummary:
    from radpilot.spark.engine import label_file_spark  # pyspark only when asked for

    return label_file_spark(input, output, master=master, **options)


def _progress(err: Console, quiet: bool) -> Progress:
    return Progress(
        TextColumn("labelling"),
        BarColumn(),
        DownloadColumn(),
        TextColumn("{task.fields[rows]:,} rows"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=err,
        disable=quiet or not err.is_terminal,
        transient=True,
    )


def summary_table(summary: BatchSummary) -> Table:
    """Label counts per column: present / absent / uncertain."""
    table = Table(title=f"{summary.label_set} labels", title_justify="left")
    table.add_column("label")
    table.add_column("present (1.0)", justify="right")
    table.add_column("absent (0.0)", justify="right")
    table.add_column("uncertain (-1.0)", justify="right")
    for name in summary.label_names:
        c = summary.label_counts.get(name, {})
        table.add_row(name, *(f"{c.get(v, 0):,}" for v in (1.0, 0.0, -1.0)))
    return table


def print_summary(console: Console, summary: BatchSummary) -> None:
    console.print(summary_table(summary))
    console.print(
        f"rows read {summary.rows_read:,} · labelled {summary.labelled:,} · "
        f"errors {summary.errors:,} · warnings {summary.warnings:,} · "
        + (
            f"targets {summary.targets:,} asserted in {summary.target_rows:,} row(s) · "
            if summary.target_rows
            else ""
        )
        + f"{summary.seconds:.1f} s · {summary.reports_per_second:,.0f} reports/s "
        f"(read as {summary.layout})",
        soft_wrap=True,
        highlight=False,
    )
