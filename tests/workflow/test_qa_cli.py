"""`radpilot qa` end to end: text and JSON output, stdin, exit codes, one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from radpilot.cli import app
from radpilot.commands.main import run

runner = CliRunner()
BAD = "FINDINGS: Large right pneumothorax.\nIMPRESSION: Large left pneumothorax.\n"
CLEAN = "FINDINGS: Lungs clear. No effusion.\nIMPRESSION: No acute disease.\n"


def test_text_output_and_exit_3(tmp_path: Path) -> None:
    report = tmp_path / "r.txt"
    report.write_text(BAD)
    res = runner.invoke(app, ["qa", str(report)])
    assert res.exit_code == 3, res.output
    assert "laterality_conflict: pneumothorax: FINDINGS say right, IMPRESSION says left" in (
        res.output
    )
    assert "evidence: 16-21 'right', 54-58 'left'" in res.output
    assert "critical_not_communicated" in res.output
    assert res.output.rstrip().endswith("2 problem(s)")


def test_json_output(tmp_path: Path) -> None:
    report = tmp_path / "r.txt"
    report.write_text(BAD)
    res = runner.invoke(app, ["qa", str(report), "--json"])
    assert res.exit_code == 3
    problems = json.loads(res.output)
    assert [p["kind"] for p in problems] == ["laterality_conflict", "critical_not_communicated"]
    assert set(problems[0]) == {"kind", "message", "severity", "finding", "evidence"}
    for p in problems:
        for e in p["evidence"]:
            assert BAD[e["start"] : e["end"]] == e["text"]


def test_clean_report_exit_0(tmp_path: Path) -> None:
    report = tmp_path / "r.txt"
    report.write_text(CLEAN)
    res = runner.invoke(app, ["qa", str(report), "--json"])
    assert res.exit_code == 0 and json.loads(res.output) == []
    res = runner.invoke(app, ["qa", str(report)])
    assert res.exit_code == 0 and "no problems found" in res.output


def test_stdin_and_options(tmp_path: Path) -> None:
    res = runner.invoke(app, ["qa", "-", "--json"], input=BAD)
    assert res.exit_code == 3 and len(json.loads(res.output)) == 2
    prostate = "INDICATION: Prostate cancer.\nFINDINGS: Lungs clear.\n"
    res = runner.invoke(app, ["qa", "-", "--sex", "f", "--json"], input=prostate)
    assert res.exit_code == 3 and json.loads(res.output)[0]["kind"] == "sex_inconsistent"
    ribs = "FINDINGS: Right 5th rib fracture.\nIMPRESSION: Right rib fracture.\n"
    res = runner.invoke(app, ["qa", "-", "--exam", "LEFT RIBS", "--json"], input=ribs)
    assert res.exit_code == 3 and json.loads(res.output)[0]["kind"] == "laterality_conflict"
    analysis = tmp_path / "analysis.json"
    analysis.write_text(
        json.dumps(
            [
                {
                    "findings": [
                        {
                            "name": "Pneumothorax",
                            "probability": 0.1,
                            "threshold": 0.5,
                            "positive": False,
                        }
                    ]
                }
            ]
        )
    )
    res = runner.invoke(app, ["qa", "-", "--image-findings", str(analysis), "--json"], input=BAD)
    assert "possible_overcall" in [p["kind"] for p in json.loads(res.output)]


def test_utf16_report(tmp_path: Path) -> None:
    report = tmp_path / "r.txt"
    report.write_bytes(BAD.encode("utf-16"))
    res = runner.invoke(app, ["qa", str(report), "--json"])
    assert res.exit_code == 3 and len(json.loads(res.output)) == 2


@pytest.mark.parametrize(
    ("make", "args", "message"),
    [
        (lambda d: None, ["missing.txt"], "missing.txt: no such file"),
        (lambda d: (d / "empty.txt").write_text("  \n"), ["empty.txt"], "the report is empty"),
        (lambda d: (d / "bin.txt").write_bytes(bytes(range(256)) * 8), ["bin.txt"], "binary"),
        (lambda d: (d / "sub").mkdir(), ["sub"], "is a folder"),
        (lambda d: (d / "r.txt").write_text(BAD), ["r.txt", "--sex", "X"], "not M or F"),
        (
            lambda d: ((d / "r.txt").write_text(BAD), (d / "a.json").write_text("{nope")),
            ["r.txt", "--image-findings", "a.json"],
            "a.json: not valid JSON",
        ),
        (
            lambda d: ((d / "r.txt").write_text(BAD), (d / "a.json").write_text('"x"')),
            ["r.txt", "--image-findings", "a.json"],
            "not radpilot analyze output",
        ),
        (
            lambda d: ((d / "r.txt").write_text(BAD), (d / "a.json").write_text("[{}, 5]")),
            ["r.txt", "--image-findings", "a.json"],
            "image [1]",
        ),
    ],
)
def test_bad_input_is_one_line_exit_2(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    make,
    args,
    message,  # type: ignore[no-untyped-def]
) -> None:
    make(tmp_path)
    monkeypatch.chdir(tmp_path)
    assert run(["qa", *args]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and err.startswith("error: ") and message in err
    assert "pneumothorax" not in err.lower()  # never the report's text


def test_console_script_exit_code(tmp_path: Path) -> None:
    report = tmp_path / "r.txt"
    report.write_text(BAD)
    proc = subprocess.run(
        [sys.executable, "-m", "radpilot.cli", "qa", str(report), "--json"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 3, proc.stderr
