"""`radpilot followups extract|overdue`: follow-up recommendations, the Fleischner 2017
check of nodule follow-ups, and the recommendations of an archive still waiting for
their study."""

from __future__ import annotations

import json
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

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
from radpilot.reports.rows import InputFormat

DB_HELP = "Archive database (default: $RADPILOT_ARCHIVE, $RADPILOT_HOME/archive.db or ~/.local/share/radpilot/archive.db)."


class ExtractFormat(StrEnum):
    JSONL = "jsonl"  # one object per report


app = typer.Typer(
    name="followups",
    help="Follow-up recommendations: extract them (kind, modality, interval, conditional, "
    "finding) with documented communications, check nodule follow-ups against the "
    "Fleischner Society 2017 guideline, list those of an archive that are overdue.",
    invoke_without_command=True,
)

InputArg = Annotated[
    Path,
    typer.Argument(
        help="Reports, as `radpilot label` reads them: CSV (with or without header), JSONL, "
        "OpenI XML (a folder, an .xml or NLMCXR_reports.tgz); '-': stdin.",
        show_default=False,
    ),
]
AsOfOpt = Annotated[
    str | None,
    typer.Option("--as-of", metavar="DATE", help="Today for the due dates (YYYY-MM-DD)."),
]


@app.callback()
def followups(
    ctx: typer.Context,
    overdue_flag: bool = typer.Option(
        False,
        "--overdue",
        help="Same as `followups overdue` (with --db, --as-of, --json, --all).",
    ),
    db: Path | None = typer.Option(None, "--db", help=DB_HELP),
    as_of: AsOfOpt = None,
    as_json: bool = typer.Option(False, "--json", help="With --overdue: JSON lines."),
    show_all: bool = typer.Option(
        False, "--all", help="With --overdue: also pending and done ones."
    ),
) -> None:
    """Follow-up recommendations in reports, and the overdue ones of an archive."""
    if ctx.invoked_subcommand is not None:
        return
    if not overdue_flag:
        # an option of --overdue alone is a half-typed command, not a request for help
        given = [
            n
            for n, v in (("--db", db), ("--as-of", as_of), ("--json", as_json), ("--all", show_all))
            if v
        ]
        if given:
            raise InputError(
                f"{', '.join(given)} without --overdue: add --overdue, or use "
                "`followups overdue` / `followups extract`"
            )
        typer.echo(ctx.get_help())
        raise typer.Exit(0)
    overdue(db=db, as_of=as_of, as_json=as_json, show_all=show_all)


@app.command("extract")
def extract_command(
    input: InputArg,
    output: str = typer.Option("-", "--output", "-o", help="Output file; '-' is stdout."),
    output_format: ExtractFormat = typer.Option(
        ExtractFormat.JSONL, "--format", help="jsonl: one object per report."
    ),
    guideline: bool = typer.Option(
        False,
        "--guideline",
        help='Add "nodules": each sized pulmonary nodule with its Fleischner 2017 rows '
        "and the recommendations that contradict them.",
    ),
    input_format: InputFormat = typer.Option(
        InputFormat.AUTO,
        "--input-format",
        help="auto: OpenI for a folder/.xml/.tgz, JSONL when the first line starts with '{', "
        "else CSV.",
    ),
    text_column: str | None = typer.Option(None, "--text-column", help="CSV/JSONL text key."),
    id_column: str | None = typer.Option(None, "--id-column", help="CSV/JSONL id key."),
    header: bool | None = typer.Option(
        None,
        "--header/--no-header",
        help="Whether the CSV has a header row (default: detect).",
        show_default=False,
    ),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No summary line."),
    max_errors: int = typer.Option(
        DEFAULT_MAX_PROBLEMS, "--max-errors", min=0, help=MAX_ERRORS_OPTION_HELP
    ),
) -> None:
    """Extract follow-up recommendations and communications, one JSON line per report.

    One JSON object per input row, in input order: {"id", "recommendations": [{"text",
    "span", "kind", "modality", "interval", "conditional", "finding"}], "communications":
    [{"text", "span"}]}. A row that cannot be read is one stderr line naming its row (never
    its text) and an output row with empty lists and "error". Exit 0: every row read; 1:
    some rows failed; 2: nothing could be read or written."""
    from radpilot.reports.readers import ReportReader
    from radpilot.reports.rows import merge_problems
    from radpilot.reports.writers import open_output

    assert output_format is ExtractFormat.JSONL  # the only format today; typer checks it
    err = Console(stderr=True)
    done = failed = recs = comms = conflicts = 0
    with (
        ProblemLines(max_errors, console=err) as problems,
        ReportReader(
            input,
            input_format=input_format,
            text_column=text_column,
            id_column=id_column,
            header=header,
        ) as reader,
        open_output(output, input_path=Path(input) if str(input) != "-" else None) as fh,
    ):
        for row in reader:
            if row.problems:
                p = merge_problems(row.problems)
                # the reader speaks of labels; here the row gives no follow-ups
                line = str(p).replace("; left unlabelled", "; no follow-ups read")
                problems(f"{p.severity.value}: {line}", p.severity.value)
            if not row.usable:
                failed += 1
                fh.write(json.dumps(_failed_row(row.id, guideline)) + "\n")
                continue
            obj = _extract_row(row.id, row.text, guideline)
            recs += len(obj["recommendations"])
            comms += len(obj["communications"])
            conflicts += sum(len(n["conflicts"]) for n in obj.get("nodules", []))
            fh.write(json.dumps(obj, ensure_ascii=False) + "\n")
            done += 1
    if not quiet:
        more = f" · guideline conflicts {conflicts}" if guideline else ""
        err.print(
            f"reports {done + failed:,} · read {done:,} · errors {failed:,} · recommendations "
            f"{recs:,} · communications {comms:,}{more}",
            soft_wrap=True,
            highlight=False,
        )
    exit_with(batch_exit(done, failed))


def _failed_row(row_id: str, guideline: bool) -> dict[str, Any]:
    out: dict[str, Any] = {"id": row_id, "recommendations": [], "communications": []}
    if guideline:
        out["nodules"] = []
    out["error"] = "row not read (see stderr)"
    return out


def _extract_row(row_id: str, text: str, guideline: bool) -> dict[str, Any]:
    from radpilot.reports import read
    from radpilot.workflow.fleischner import assess
    from radpilot.workflow.followups import extract_report

    report = read(text)
    found = extract_report(report)
    obj = found.as_dict(row_id)
    if guideline:
        obj["nodules"] = [a.as_dict() for a in assess(report, found)]
    return obj


def _as_of(value: str | None) -> date:
    if value is None:
        return date.today()
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(
            f"{value!r} is not a date (YYYY-MM-DD)", param_hint="--as-of"
        ) from None


@app.command("overdue")
def overdue_command(
    db: Path | None = typer.Option(None, "--db", help=DB_HELP),
    as_of: AsOfOpt = None,
    as_json: bool = typer.Option(False, "--json", help="One JSON object per recommendation."),
    show_all: bool = typer.Option(False, "--all", help="Also pending and done ones."),
) -> None:
    """List the overdue follow-up recommendations of an archive.

    Imaging recommendations of archived reports with no matching later study of the
    same patient (modality and body part) by their due date: report date + the stated
    interval (90 days where none is stated). Exit 0 always when the archive can be read
    (none overdue or some); 2 when it cannot."""
    overdue(db=db, as_of=as_of, as_json=as_json, show_all=show_all)


def overdue(*, db: Path | None, as_of: str | None, as_json: bool, show_all: bool) -> None:
    from radpilot.search.store import open_store
    from radpilot.workflow.tracking import Status, track

    today = _as_of(as_of)
    if db is not None and not db.exists():
        raise InputError(f"{db}: no such archive")
    store = open_store(db, readonly=True, create=False)
    try:
        result = track(store.iter_reports(), as_of=today)
    finally:
        store.close()
    items = [t for t in result.items if show_all or t.status is Status.OVERDUE]
    if as_json:
        for t in items:
            typer.echo(json.dumps(t.as_dict(today), ensure_ascii=False))
        return
    table = Table(title=f"follow-ups as of {today.isoformat()}", title_justify="left")
    for col in ("patient", "report", "date", "kind", "modality", "interval", "due", "status"):
        table.add_column(col)
    for t in items:
        r = t.recommendation
        status = t.status.value
        if t.status is Status.OVERDUE:
            status += f" {t.days_overdue(today)} d"
        elif t.closed_by:
            status += f" ({t.closed_by})"
        table.add_row(
            t.patient_id,
            t.report_id,
            t.study_date.isoformat(),
            f"{r.kind} (if)" if r.conditional else r.kind,  # overdue only if it held
            r.modality,
            r.interval.text if r.interval else "-",
            t.due.isoformat(),
            status,
        )
    # 110 columns at least: the eight columns fit on one line each, piped or not
    out = Console(soft_wrap=False, width=max(Console().width, 110))
    out.print(table)
    n_over = sum(t.status is Status.OVERDUE for t in result.items)
    n_if = sum(t.status is Status.OVERDUE and t.recommendation.conditional for t in result.items)
    untracked = (
        f" · untracked {result.untracked} (no patient id or date)" if result.untracked else ""
    )
    typer.echo(
        f"reports {result.reports:,} · imaging recommendations {len(result.items):,} · "
        f"overdue {n_over:,}{f' ({n_if:,} conditional)' if n_if else ''}{untracked}"
    )
