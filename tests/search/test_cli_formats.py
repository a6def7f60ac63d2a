"""`radpilot archive add` over every format at once, and the demo step."""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path

from rich.console import Console
from typer.testing import CliRunner

from radpilot.cli import app

runner = CliRunner()

HL7 = (
    "MSH|^~\\&|RIS|H|EMR|H|202401010000||ORU^R01|1|P|2.5\r"
    "PID|1||PH1\rOBR|1||H1||||20240101\rOBX|1|TX|X||FINDINGS: Small right pneumothorax.\r"
    "MSH|^~\\&|RIS|H|EMR|H|202401010000||ORU^R01|2|P|2.5\r"
    "PID|1||PH2\rOBR|1||H2||||20240102\rOB X|broken\r"
)


def test_add_every_format(tmp_path: Path) -> None:
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
    res = runner.invoke(app, ["archive", "add", *files, "--db", db, "--json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout.strip().splitlines()[-1])["added"] == 5
    assert "c.hl7: message 2, line 8: malformed segment" in res.stderr
    res = runner.invoke(app, ["search", "pneumothorax", "--db", db, "--json"])
    assert [h["id"] for h in json.loads(res.stdout)] == ["H1"]
    # Nothing readable at all is a failed run; some bad records among good ones are not.
    res = runner.invoke(app, ["archive", "add", str(tmp_path / "x.pdf"), "--db", db])
    assert res.exit_code == 1 and "does not exist" in res.stderr


def test_demo_step(tmp_path: Path) -> None:
    from radpilot.search.demo import run

    buf = io.StringIO()
    run(tmp_path, Console(file=buf, width=120))
    out = buf.getvalue()
    assert "added 39" in out and "radpilot search 'pneumothorax'" in out
    hits = json.loads((tmp_path / "search" / "pneumothorax.json").read_text())
    assert len(hits) == 5
    for h in hits:
        assert any(
            f["finding"] == "pneumothorax" and f["certainty"] != "absent" for f in h["findings"]
        )
    assert (tmp_path / "search" / "cohort_cardiomegaly_no_effusion.csv").stat().st_size > 1000
