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
    assert result.exit_code == 1, result.output  # partly done: one file failed
    assert result.stderr.splitlines() == [
        f"error: {bad}: not a DICOM file (no 'DICM' marker at byte 128; a file without the Part 10 header is not supported)"
    ]
    data = json.loads(result.stdout)
    assert [Path(d["path"]).name for d in data] == ["siim_monochrome2.dcm", "corrupt.dcm"]
    good, broken = data
    assert good["model"] == "pneumoniamnist-v1" and good["error"] is None
    [finding] = good["findings"]
    assert finding["name"] == "Pneumonia"
    assert 0.0 <= finding["probability"] <= 1.0
    assert finding["positive"] == (finding["probability"] >= finding["threshold"])
    assert good["urgency"]["tier"] == ("urgent" if finding["probability"] >= 0.875 else "routine")
    assert good["metadata"]["view_position"] == "PA"
    assert broken["findings"] == [] and "not a DICOM file" in broken["error"]


def test_analyze_exit_code_is_2_when_nothing_was_analysed(tmp_path: Path) -> None:
    bad = tmp_path / "corrupt.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    result = runner.invoke(app, ["analyze", str(bad), "--json"])
    assert result.exit_code == 2
    assert json.loads(result.stdout)[0]["error"].startswith(str(bad))
    assert result.stderr.startswith(f"error: {bad}: ")


def test_gated_images_are_named_on_stderr_capped_and_never_urgent(tmp_path: Path) -> None:
    from PIL import Image

    for i in range(4):
        Image.new("L", (256, 256), 255).save(tmp_path / f"white{i}.png")
    args = ["analyze", str(samples.get("nih_normal.png")), str(tmp_path), "--json"]
    result = runner.invoke(app, [*args, "--max-errors", "2"])
    assert result.exit_code == 1, result.output
    lines = result.stderr.splitlines()
    assert lines[0].startswith(f"not analysed: {tmp_path / 'white0.png'}: no_contrast, saturated")
    assert len(lines) == 3 and lines[2].startswith("... and 2 more problem line(s) not shown")
    white = json.loads(result.stdout)[1]
    assert white["findings"] == [] and white["urgency"]["tier"] == "not_assessed"
    assert "failed the gate (no_contrast, saturated" in white["urgency"]["reasons"][0]


def test_output_folder_that_cannot_be_created_is_one_line(tmp_path: Path) -> None:

    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    for command in (
        ["analyze", str(samples.get("nih_normal.png")), "--out", str(blocker / "out")],
        ["compare", str(samples.get("nih_normal.png")), str(samples.get("nih_normal.png")),
         "--out", str(blocker / "out")],
        ["analyze", str(samples.get("nih_normal.png")), "--out", str(blocker)],
    ):  # fmt: skip
        result = runner.invoke(app, command)
        assert isinstance(result.exception, InputError), command
        assert str(result.exception).startswith(f"{command[-1]}: cannot create the output folder")


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
        (["compare", "{empty}/a.png", "b.png"], "no such file"),
    ],
)
def test_user_mistakes_raise_input_errors(tmp_path: Path, args: list[str], message: str) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    result = runner.invoke(app, [a.replace("{empty}", str(empty)) for a in args])
    assert isinstance(result.exception, InputError)
    assert message in str(result.exception)


def test_transform_is_checked_by_the_cli() -> None:
    result = runner.invoke(app, ["compare", "a.png", "b.png", "--transform", "elastic"])
    assert result.exit_code == 2 and "'elastic' is not one of" in result.output


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


def test_compare_refuses_an_image_the_gate_blocks(tmp_path: Path) -> None:
    import numpy as np
    from PIL import Image

    film = np.asarray(Image.open(samples.get("nih_normal.png")).convert("L"))
    Image.fromarray(np.rot90(film, 2).copy()).save(tmp_path / "upside_down.png")
    result = runner.invoke(
        app, ["compare", str(samples.get("nih_normal.png")), str(tmp_path / "upside_down.png")]
    )
    assert isinstance(result.exception, InputError)
    assert "the prior image failed the quality gate (rotated)" in str(result.exception)


def test_imaging_demo_step_runs_the_cli(tmp_path: Path) -> None:
    from rich.console import Console

    from radpilot.commands.demo import Command, Context
    from radpilot.commands.demos import imaging

    result = runner.invoke(app, ["demo", "--step", "imaging", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "$ radpilot analyze" in result.output and "$ radpilot compare" in result.output
    assert "Registration good" in result.output
    analysis = json.loads((tmp_path / "imaging/analysis/analysis.json").read_text())
    assert len(analysis) == len(imaging.ANALYSE) and all(r["analysed"] for r in analysis)
    assert len(list((tmp_path / "imaging/analysis").rglob("sr.dcm"))) == 3
    assert (tmp_path / "imaging/compare/subtraction.png").is_file()
    # The step is CLI commands only, each with its expected exit code.
    items = list(imaging.run(Context(out=tmp_path, shared=None, console=Console())))
    commands = [i for i in items if isinstance(i, Command)]
    assert [c.argv[0] for c in commands] == ["analyze", "analyze", "compare"]
    assert [c.ok for c in commands] == [(0,), (1,), (0,)]
