"""The workflow step of `radpilot demo`: every command runs as a user would type it and
leaves its outputs."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from rich.console import Console


def test_demo_workflow_step(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from radpilot.commands.demo import run_demo

    buf = io.StringIO()
    run_demo(tmp_path, Console(file=buf, width=160), ["workflow"])
    printed = capsys.readouterr()
    out = buf.getvalue() + printed.out + printed.err
    assert "verified: read back by the report reader" in out
    assert "laterality_conflict" in out and "signed_report.txt: 4 problem(s)" in out
    assert "overdue 2" in out
    folder = tmp_path / "workflow"
    rows = [json.loads(x) for x in (folder / "followups.jsonl").read_text().splitlines()]
    assert rows[0]["recommendations"][0]["modality"] == "CT"
    assert (folder / "p9.png").stat().st_size > 5000
    bundle = json.loads((folder / "reports.fhir.json").read_text())
    assert bundle["resourceType"] == "Bundle"
    assert (folder / "reports.hl7").read_bytes().startswith(b"MSH|")
    (deid,) = list((folder / "deid").glob("*.jsonl"))
    assert "[NAME]" in deid.read_text()
