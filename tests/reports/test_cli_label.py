"""`radpilot label` end to end through typer's CliRunner (and main() for exit codes)."""

from __future__ import annotations

import csv
import importlib.util
import io
import json
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from radpilot.cli import app, main

CHEXPERT = [
    "No Finding",
    "Enlarged Cardiomediastinum",
    "Cardiomegaly",
    "Lung Lesion",
    "Lung Opacity",
    "Edema",
    "Consolidation",
    "Pneumonia",
    "Atelectasis",
    "Pneumothorax",
    "Pleural Effusion",
    "Pleural Other",
    "Fracture",
    "Support Devices",
]
CXR14 = [
    "Atelectasis",
    "Cardiomegaly",
    "Effusion",
    "Infiltration",
    "Mass",
    "Nodule",
    "Pneumonia",
    "Pneumothorax",
    "Consolidation",
    "Edema",
    "Emphysema",
    "Fibrosis",
    "Pleural_Thickening",
    "Hernia",
    "No Finding",
]
REPORTS = [
    "Large right pleural effusion.",
    "No pneumothorax.",
    "FINDINGS: Heart size normal, lungs clear.\nIMPRESSION: No acute cardiopulmonary disease.",
    "Mild cardiomegaly. Possible left lower lobe pneumonia.",
]

runner = CliRunner()


def write_csv(path: Path, rows: list[str]) -> Path:
    with path.open("w", newline="") as f:
        csv.writer(f).writerows([r] for r in rows)
    return path


def read_out(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_default_output_is_the_chexpert_labeler_csv(tmp_path: Path) -> None:
    src = write_csv(tmp_path / "in.csv", REPORTS)
    out = tmp_path / "out.csv"
    res = runner.invoke(app, ["label", str(src), "-o", str(out)])
    assert res.exit_code == 0, res.output
    with out.open(newline="") as f:
        header = next(csv.reader(f))
    assert header == ["Reports", *CHEXPERT]
    rows = read_out(out.read_text())
    assert [r["Reports"] for r in rows] == REPORTS
    assert rows[0]["Pleural Effusion"] == "1.0"
    assert rows[1]["Pneumothorax"] == "0.0"
    assert {v for r in rows for k, v in r.items() if k != "Reports"} <= {"1.0", "0.0", "-1.0", ""}
    assert "rows read 4" in res.stderr and "reports/s" in res.stderr


def test_stdout_stays_clean(tmp_path: Path) -> None:
    src = write_csv(tmp_path / "in.csv", ["Edema.", "", "No edema."])
    res = runner.invoke(app, ["label", str(src), "-o", "-"])
    assert res.exit_code == 1  # partly done: one row left unlabelled
    rows = read_out(res.stdout)
    assert [r["Reports"] for r in rows] == ["Edema.", "", "No edema."]
    assert "error: row 2 (line 2): empty report; left unlabelled" in res.stderr
    assert "rows read" not in res.stdout


def test_chestxray14_columns(tmp_path: Path) -> None:
    src = write_csv(tmp_path / "in.csv", REPORTS)
    res = runner.invoke(app, ["label", str(src), "--labels", "chestxray14", "-q"])
    assert res.exit_code == 0
    assert next(csv.reader(io.StringIO(res.stdout))) == ["Reports", *CXR14]
    assert read_out(res.stdout)[0]["Effusion"] == "1.0"
    assert res.stderr == ""


def test_jsonl_output_has_mentions_with_evidence(tmp_path: Path) -> None:
    src = tmp_path / "in.jsonl"
    src.write_text(
        "\n".join(json.dumps({"id": f"r{i}", "text": t}) for i, t in enumerate(REPORTS)) + "\n"
    )
    res = runner.invoke(app, ["label", str(src), "--format", "jsonl", "-q"])
    assert res.exit_code == 0
    objs = [json.loads(line) for line in res.stdout.splitlines()]
    assert [o["id"] for o in objs] == ["r0", "r1", "r2", "r3"]
    assert [o["row"] for o in objs] == [1, 2, 3, 4]
    effusion = [m for m in objs[0]["mentions"] if m["certainty"] == "present"]
    assert effusion, objs[0]
    span = effusion[0]["span"]
    assert REPORTS[0][span["start"] : span["end"]] == span["text"]
    assert objs[0]["labels"]["Pleural Effusion"] == 1.0


def test_header_csv_with_named_columns(tmp_path: Path) -> None:
    src = tmp_path / "in.csv"
    with src.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["acc", "body", "site"])
        w.writerows([[f"A{i}", t, "x"] for i, t in enumerate(REPORTS)])
    res = runner.invoke(
        app, ["label", str(src), "--text-column", "body", "--id-column", "acc", "--format", "jsonl"]
    )
    assert res.exit_code == 0
    assert [json.loads(x)["id"] for x in res.stdout.splitlines()] == ["A0", "A1", "A2", "A3"]


def test_bad_rows_reported_one_line_each_and_never_dropped(tmp_path: Path) -> None:
    src = tmp_path / "bad.csv"
    src.write_bytes(
        b"Edema.\n"
        b"\n"
        b"\x00\x01\x02\x03\x04\x05binary\n"
        + "“Mild” edema.\n".encode("cp1252")
        + b'"quoted\nnewline, effusion."\n'
        + b"x" * 150_000
        + b"\nLast report.\n"
    )
    res = runner.invoke(app, ["label", str(src), "-o", str(tmp_path / "o.csv")])
    assert res.exit_code == 1
    rows = read_out((tmp_path / "o.csv").read_text())
    assert len(rows) == 7
    assert rows[-1]["Reports"] == "Last report."
    assert rows[4]["Reports"] == "quoted\nnewline, effusion."
    problems = [x for x in res.stderr.splitlines() if x.startswith(("error:", "warning:"))]
    assert [p.split(":")[1].split("(")[0].strip() for p in problems] == [
        "row 2",
        "row 3",
        "row 4",
        "row 6",
    ]
    assert "errors 2 · warnings 2" in res.stderr  # the 150,000-character row: labelled


def test_two_jobs_identical_to_one(tmp_path: Path) -> None:
    src = write_csv(tmp_path / "in.csv", [REPORTS[i % 4] + f" Study {i}." for i in range(300)])
    outs = []
    for jobs in ("1", "2"):
        res = runner.invoke(
            app,
            ["label", str(src), "--jobs", jobs, "--chunk-size", "16", "--format", "jsonl", "-q"],
        )
        assert res.exit_code == 0
        outs.append(res.stdout)
    assert outs[0] == outs[1]
    assert len(outs[0].splitlines()) == 300


@pytest.mark.parametrize(
    ("setup", "args", "message"),
    [
        (lambda p: None, [], "no such file"),
        (lambda p: p.mkdir(), [], "is a directory"),
        (lambda p: p.write_bytes(b""), [], "is empty"),
        (
            lambda p: p.write_bytes(b"id,body\n1,Edema.\n"),
            ["--text-column", "report"],
            "no text column",
        ),
    ],
    ids=["missing", "directory", "empty", "bad-text-column"],
)
def test_nothing_readable_exits_2_with_one_line(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    setup,
    args: list[str],
    message: str,
) -> None:
    src = tmp_path / "reports.csv"
    setup(src)
    out = tmp_path / "o.csv"
    monkeypatch.setattr(sys, "argv", ["radpilot", "label", str(src), "-o", str(out), *args])
    with pytest.raises(SystemExit) as exc:
        main()
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err and str(src) in err
    assert not out.exists()


def test_bad_option_values(tmp_path: Path) -> None:
    src = write_csv(tmp_path / "in.csv", REPORTS)
    res = runner.invoke(app, ["label", str(src), "--labels", "mimic"])
    assert res.exit_code == 2
    res = runner.invoke(app, ["label", str(src), "--jobs", "0"])
    assert res.exit_code == 2


def test_output_is_readable_by_the_reference_scorer(tmp_path: Path, shared_dir: Path) -> None:
    script = shared_dir / "data" / "openi" / "openi_gold.py"
    spec = importlib.util.spec_from_file_location("openi_gold_for_test", script)
    assert spec is not None and spec.loader is not None
    gold = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gold)
    src = write_csv(tmp_path / "in.csv", REPORTS)
    out = tmp_path / "out.csv"
    assert runner.invoke(app, ["label", str(src), "-o", str(out)]).exit_code == 0
    pred = gold.read_chexpert_csv(out, ["a", "b", "c", "d"])
    assert list(pred) == ["a", "b", "c", "d"]
    assert pred["a"]["Pleural Effusion"] == 1.0
    assert pred["b"]["Pneumothorax"] == 0.0
    assert set(pred["c"]) == set(gold.CHEXPERT14)


def test_stdin_input(tmp_path: Path) -> None:
    res = runner.invoke(app, ["label", "-", "-q"], input="Large right pleural effusion.\nEdema.\n")
    assert res.exit_code == 0
    rows = read_out(res.stdout)
    assert [r["Reports"] for r in rows] == ["Large right pleural effusion.", "Edema."]
    assert rows[0]["Pleural Effusion"] == "1.0"
