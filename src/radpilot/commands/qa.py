"""`radpilot qa`: QA of a signed report (a second reader's problems, each with its words)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape

from radpilot.commands.common import ExitCode, exit_with
from radpilot.errors import InputError

app = typer.Typer()


def _read(report: str) -> tuple[str, str]:
    from radpilot.workflow.qa import report_text

    if report == "-":
        return report_text(sys.stdin.buffer.read(), "<stdin>"), "<stdin>"
    path = Path(report)
    if path.is_dir():
        raise InputError(f"{path}: is a folder, not a report file")
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    return report_text(data, str(path)), str(path)


@app.command()
def qa(
    report: str = typer.Argument(..., help="The signed report: a text file, or - for stdin."),
    image_findings: Path = typer.Option(
        None,
        "--image-findings",
        help="analysis.json of `radpilot analyze` for the same study (its model's decisions).",
    ),
    exam: str = typer.Option(
        None,
        "--exam",
        help='The examination, e.g. "LEFT RIBS 2 VIEWS" (its side and the body regions it '
        "images are checked); default: the report's EXAMINATION line.",
    ),
    sex: str = typer.Option(None, "--sex", help="The patient's sex as registered: M or F."),
    as_json: bool = typer.Option(False, "--json", help="Print the problems as a JSON list."),
) -> None:
    """Check a signed report: laterality conflicts, significant findings missing from the
    IMPRESSION, critical results without documented communication, contradictions,
    disagreements with the image model, statements inconsistent with the patient's sex or
    the examination.
    Each problem names the exact words behind it. An aid to a radiologist, not a verdict.

    Exit status: 0 no problem found; 3 problems found; 2 nothing checked (an unreadable
    report or analysis file, an analysis with no analysed image, a usage error).
    """
    from radpilot.workflow.qa import Sex, check
    from radpilot.workflow.qaimage import image_findings as read_image_findings

    if sex is not None and sex.upper() not in ("M", "F"):
        raise InputError(f"--sex: {sex!r} is not M or F")
    text, where = _read(report)
    image = read_image_findings(image_findings) if image_findings is not None else ()
    problems = check(
        text, image=image, exam=exam, sex=Sex(sex.upper()) if sex is not None else None
    )
    if as_json:
        typer.echo(json.dumps([p.to_dict() for p in problems], indent=2))
    else:
        console = Console(highlight=False)
        if not problems:
            console.print(f"{escape(where)}: no problems found", soft_wrap=True)
        for p in problems:
            words = ", ".join(f"{e.start}-{e.end} '{e.text}'" for e in p.evidence) or "-"
            console.print(
                f"{p.severity.value:<6} {p.kind.value}: {escape(p.message)}\n"
                f"       evidence: {escape(words)}",
                soft_wrap=True,
            )
        if problems:
            console.print(f"{escape(where)}: {len(problems)} problem(s)", soft_wrap=True)
    exit_with(ExitCode.CHECK_FAILED if problems else ExitCode.DONE)
