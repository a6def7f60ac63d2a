"""Run `radpilot label` in this process the way a user's shell does (through
``radpilot.commands.main.run``, so a traceback or an internal error would show), and read
back what it wrote. Shared by the label-path robustness suites."""

from __future__ import annotations

import contextlib
import io
import json
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from radpilot.commands.main import run

# Every generated report carries this word, so that a message quoting report text shows.
MARKER = "Zqxjv"


@dataclass
class LabelRun:
    code: int
    stderr: str
    rows: list[dict[str, Any]]  # the JSONL output, one object per row
    wrote: bool  # whether an output file was opened at all

    def problem_lines(self) -> list[str]:
        return [x for x in self.stderr.splitlines() if x.startswith(("error: ", "warning: "))]


def label(files: dict[str, bytes], target: str, *args: str) -> LabelRun:
    """Write ``files`` into a fresh folder, run ``radpilot label TARGET --format jsonl -q``
    (TARGET relative to that folder; "." is the folder itself) and read the output. Quiet:
    the summary table costs more than the small inputs; problem lines still print."""
    with tempfile.TemporaryDirectory() as d:
        root = Path(d)
        for name, data in files.items():
            (root / name).write_bytes(data)
        out = root.parent / f"{root.name}-out.jsonl"
        argv = ["label", str(root / target), "-o", str(out), "--format", "jsonl"]
        argv += ["--max-errors", "1000000", "-q", *args]
        stdout, stderr = io.StringIO(), io.StringIO()
        try:
            with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
                code = run(argv)
            out_existed = out.exists()
            rows = (
                [json.loads(x) for x in out.read_text("utf-8").splitlines()] if out_existed else []
            )
        finally:
            out.unlink(missing_ok=True)
    return LabelRun(code, stderr.getvalue(), rows, out_existed)


def check_batch(result: LabelRun, rows_in: int | None = None) -> None:
    """What holds for every input: no traceback or internal error, no report text on
    stderr, rows numbered 1..N in order (N == ``rows_in`` when known), every row left
    unlabelled named on stderr by its row number, every row with a problem named once, and
    the exit code the table in --help gives."""
    assert "Traceback" not in result.stderr, result.stderr
    assert "internal error" not in result.stderr, result.stderr
    assert MARKER not in result.stderr
    if not result.wrote:  # nothing could be read: one line, exit 2, no output
        assert result.code == 2
        assert result.stderr.count("\n") == 1 and result.stderr.startswith("error: ")
        return
    rows = result.rows
    if rows_in is not None:
        assert len(rows) == rows_in
    assert [r["row"] for r in rows] == list(range(1, len(rows) + 1))
    problems = result.problem_lines()
    named = [int(x.split()[2]) for x in problems]
    assert named == [r["row"] for r in rows if r["problems"]]  # one line each, in order
    errors = {int(x.split()[2]) for x in problems if x.startswith("error: ")}
    assert errors == {r["row"] for r in rows if not r["labelled"]}
    labelled = sum(r["labelled"] for r in rows)
    expected = 0 if not errors else (1 if labelled else 2)
    assert result.code == expected, (result.code, labelled, len(errors))
