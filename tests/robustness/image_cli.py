"""Run `radpilot analyze` in-process the way a user does, and check the contract every
input must meet: no traceback, one result per file, every file analysed, not analysed
for a named reason, or one error line; the exit code matches; stderr never holds a
header value that identifies a patient."""

from __future__ import annotations

import contextlib
import io
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

# Values planted in DICOM headers: none may ever appear on stderr.
PHI = ("Doe^Secret", "PID-SECRET-4711", "ACC-SECRET-0815", "Secret Hospital")
PROBLEM_PREFIXES = ("error: ", "not analysed: ", "warning: ", "... and ")


def run_analyze(paths: Sequence[Path], *extra: str) -> tuple[int, list[dict[str, Any]], str]:
    from radpilot.commands.main import run

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = run(["analyze", *map(str, paths), "--json", "--max-errors", "1000", *extra])
    records = json.loads(out.getvalue()) if out.getvalue().strip() else []
    return code, records, err.getvalue()


def run_blobs(blobs: Sequence[bytes], suffix: str) -> None:
    """Write each blob to its own file, analyse them in one batch, check the contract."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        paths = []
        for i, blob in enumerate(blobs):
            path = Path(tmp) / f"in{i}{suffix}"
            path.write_bytes(blob)
            paths.append(path)
        code, records, stderr = run_analyze(paths)
        check_contract(paths, code, records, stderr)


def check_contract(
    paths: Sequence[Path], code: int, records: list[dict[str, Any]], stderr: str
) -> None:
    assert "Traceback" not in stderr and "internal error" not in stderr, stderr
    for value in PHI:
        assert value not in stderr, f"{value!r} leaked to stderr"
    assert [Path(r["path"]) for r in records] == list(paths)  # rows out == rows in, in order
    done = sum(r["analysed"] for r in records)
    for r in records:
        blocked = any(f["blocking"] for f in r["flags"])
        assert r["analysed"] or r["error"] or blocked, r
        assert not (r["analysed"] and r["error"])
        if blocked:
            assert r["findings"] == [] and r["urgency"]["tier"] == "not_assessed"
    lines = stderr.splitlines()
    assert all(line.startswith(PROBLEM_PREFIXES) for line in lines), lines
    failed = [ln for ln in lines if ln.startswith(("error: ", "not analysed: "))]
    assert len(failed) == len(records) - done  # one line per file not analysed
    expected = 0 if done == len(records) else (1 if done else 2)
    assert code == expected, (code, done, len(records))
