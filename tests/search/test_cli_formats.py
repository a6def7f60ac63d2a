"""`radpilot archive add` over every format at once, and the demo step (CLI commands)."""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Callable
from pathlib import Path

import pytest
from rich.console import Console

CliRun = Callable[..., tuple[int, str, str]]

HL7 = (
    "MSH|^~\\&|RIS|H|EMR|H|202401010000||ORU^R01|1|P|2.5\r"
    "PID|1||PH1\rOBR|1||H1||||20240101\rOBX|1|TX|X||FINDINGS: Small right pneumothorax.\r"
    "MSH|^~\\&|RIS|H|EMR|H|202401010000||ORU^R01|2|P|2.5\r"
    "PID|1||PH2\rOBR|1||H2||||20240102\rOB X|broken\r"
)


def test_add_every_format(tmp_path: Path, cli: CliRun) -> None:
    (tmp_path / "a.csv").write_text("id,text\nC1,Cardiomegaly.\n")
    (tmp_path / "b.jsonl").write_text(json.dumps({"id": "J1", "text": "No pneumothorax."}) + "\n")
    (tmp_path / "c.hl7").write_text(HL7)
    dr = {
        "resourceType": "DiagnosticReport",
        "id": "F1",
        "status": "final",
        "code": {"text": "XR"},
        "presentedForm": [
            {"contentType": "text/plain", "data": base64.b64encode(b"Left effusion.").decode()}
        ],
    }
    (tmp_path / "d.ndjson").write_text(json.dumps(dr) + "\n")
    xml = tmp_path / "openi"
    xml.mkdir()
    (xml / "7.xml").write_text(
        '<r><AbstractText Label="FINDINGS">Pleural effusion.</AbstractText></r>'
    )
    files = [str(tmp_path / n) for n in ("a.csv", "b.jsonl", "c.hl7", "d.ndjson", "openi")]
    db = str(tmp_path / "all.db")
    code, out, err = cli("archive", "add", *files, "--db", db, "--json")
    assert code == 1  # one HL7 message is malformed: partly done
    summary = json.loads(out.strip().splitlines()[-1])
    assert (summary["added"], summary["errors"]) == (5, 1)
    assert err.strip() == (
        f"skipped: {tmp_path / 'c.hl7'}: message 2, line 8: malformed segment "
        "(a 3-character segment id, then the field separator)"
    )
    code, out, _ = cli("search", "pneumothorax", "--db", db, "--json", "--no-semantic")
    assert [h["id"] for h in json.loads(out)] == ["H1"]
    # Nothing readable at all: nothing done.
    code, _, err = cli("archive", "add", str(tmp_path / "x.pdf"), "--db", db)
    assert code == 2 and err.strip() == f"skipped: {tmp_path / 'x.pdf'}: file: does not exist"


def test_demo_step_runs_cli_commands(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from radpilot.commands.demo import Command, run_demo

    buf = io.StringIO()
    run_demo(tmp_path, Console(file=buf, width=120), ["search"])
    printed = capsys.readouterr()  # the commands print to stdout and stderr
    out = buf.getvalue() + printed.out + printed.err
    assert "$ radpilot archive add " in out and "NLMCXR_reports.tgz --max-errors 3 --db" in out
    assert "... and 25 more problem line(s) not shown" in out
    assert "added 3927, updated 0, unchanged 0, errors 28" in out
    assert "$ radpilot search pneumothorax -n 5 --no-semantic --db" in out
    assert "$ radpilot archive check --db" in out and "integrity: ok" in out
    assert "unchanged 3927, errors 0" in out  # the export added back changes nothing
    cohort = tmp_path / "search" / "cohort_cardiomegaly_no_effusion.csv"
    assert cohort.stat().st_size > 1000
    export = (tmp_path / "search" / "archive.jsonl").read_text().splitlines()
    assert len(export) == 3927
    from radpilot.commands.demos.search import run

    steps = list(run(_context(tmp_path)))
    add = next(s for s in steps if isinstance(s, Command))
    assert add.argv[:2] == ("archive", "add") and add.ok == (1,)


def _context(tmp_path: Path):  # type: ignore[no-untyped-def]
    from radpilot.commands.demo import Context

    return Context(out=tmp_path / "again", shared=None, console=Console(file=io.StringIO()))
