"""`radpilot analyze` and `radpilot compare` through typer's CliRunner."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from radpilot import samples
from radpilot.cli import app
from radpilot.errors import InputError

runner = CliRunner()


def test_analyze_json_one_object_per_file_with_errors_in_place(tmp_path: Path) -> None:
    bad = tmp_path / "corrupt.dcm"
    bad.write_bytes(b"\x00" * 64)
    result = runner.invoke(
        app, ["analyze", str(samples.get("siim_monochrome2.dcm")), str(bad), "--json"]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert [Path(d["path"]).name for d in data] == ["siim_monochrome2.dcm", "corrupt.dcm"]
    good, broken = data
    assert good["model"] == "pneumoniamnist-v1" and good["error"] is None
    [finding] = good["findings"]
    assert finding["name"] == "Pneumonia"
    assert 0.0 <= finding["probability"] <= 1.0
    assert finding["positive"] == (finding["probability"] >= finding["threshold"])
    assert good["urgency"]["tier"] in ("urgent", "routine")
    assert good["metadata"]["view_position"] == "PA"
    assert broken["findings"] == [] and "not a DICOM file" in broken["error"]


def test_analyze_exit_code_is_1_when_nothing_was_analysed(tmp_path: Path) -> None:
    bad = tmp_path / "corrupt.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    result = runner.invoke(app, ["analyze", str(bad), "--json"])
    assert result.exit_code == 1
    assert json.loads(result.stdout)[0]["error"].startswith(str(bad))


def test_analyze_table_and_out_folder(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = runner.invoke(
        app,
        ["analyze", str(samples.get("siim_monochrome2.dcm")), "--out", str(out), "--all-heatmaps"],
    )
    assert result.exit_code == 0, result.output
    assert "Pneumonia" in result.output and "not a diagnosis" in result.output
    data = json.loads((out / "analysis.json").read_text())
    outputs = data[0]["outputs"]
    assert Path(outputs["sr"]).is_file() and Path(outputs["sc:Pneumonia"]).is_file()
    assert Path(data[0]["findings"][0]["heatmap"]).is_file()


def test_analyze_no_sr(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = runner.invoke(
        app, ["analyze", str(samples.get("siim_monochrome2.dcm")), "--out", str(out), "--no-sr"]
    )
    assert result.exit_code == 0
    assert not list(out.rglob("*.dcm"))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["analyze", "nope.png", "--model", "no-such-model"],
            "no image model named 'no-such-model'",
        ),
        (["analyze", "{empty}"], "no image files found"),
        (
            ["compare", "a.png", "b.png", "--transform", "elastic"],
            "--transform 'elastic' is not valid",
        ),
        (["compare", "{empty}/a.png", "b.png"], "no such file"),
    ],
)
def test_user_mistakes_raise_input_errors(tmp_path: Path, args: list[str], message: str) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    result = runner.invoke(app, [a.replace("{empty}", str(empty)) for a in args])
    assert isinstance(result.exception, InputError)
    assert message in str(result.exception)


def test_main_prints_one_line_and_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import sys

    from radpilot.cli import main

    argv = sys.argv
    sys.argv = ["radpilot", "analyze", str(tmp_path), "--model", "nope"]
    try:
        with pytest.raises(SystemExit) as info:
            main()
    finally:
        sys.argv = argv
    assert info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: no image files found") and "\n" not in err


def test_compare_json_and_out(tmp_path: Path) -> None:
    out = tmp_path / "cmp"
    result = runner.invoke(
        app,
        [
            "compare",
            str(samples.get("serial_p270_current_day-1.png")),
            str(samples.get("serial_p270_prior_day-23.png")),
            "--json",
            "--out",
            str(out),
            "--transform",
            "rigid",
        ],
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["registration"]["kind"] == "rigid"
    assert data["findings"][0]["change"] in {"new", "increased", "decreased", "resolved", "stable"}
    assert (out / "subtraction.png").is_file() and (out / "comparison.json").is_file()


def test_compare_table() -> None:
    result = runner.invoke(
        app,
        [
            "compare",
            str(samples.get("siim_monochrome2.dcm")),
            str(samples.get("siim_true_monochrome1.dcm")),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "stable" in result.output and "same study" in result.output


def test_imaging_demo_step(tmp_path: Path) -> None:
    from rich.console import Console

    from radpilot.imaging import demo

    console = Console(record=True, width=120)
    demo.run(tmp_path, console)
    text = console.export_text()
    assert "prior comparison" in text and "Registration good" in text
    analysis = json.loads((tmp_path / "imaging/analysis/analysis.json").read_text())
    assert len(analysis) == len(demo.ANALYSE) and all(r["analysed"] for r in analysis)
    assert len(list((tmp_path / "imaging/analysis").rglob("sr.dcm"))) == 3
    assert (tmp_path / "imaging/compare/subtraction.png").is_file()
