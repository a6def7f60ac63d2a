"""`radpilot evaluate …` through typer's CliRunner, and the demo step."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from radpilot.cli import app
from radpilot.errors import InputError

runner = CliRunner()


@pytest.fixture()
def files(tmp_path: Path) -> dict[str, Path]:
    rng = np.random.default_rng(0)
    n = 120
    y = (rng.random(n) < 0.3).astype(int)
    s = 1 / (1 + np.exp(-(rng.normal(size=n) + 2 * y - 1)))
    r = np.where(y == 1, rng.random(n) < 0.8, rng.random(n) > 0.9).astype(int)
    rows = [f"c{i}" for i in range(n)]
    out = {}
    for name, header, cols in (
        ("gold", "id,Effusion,sex", [y, rng.choice(["F", "M"], n)]),
        ("pred", "id,Pleural Effusion", [np.round(s, 4)]),
        ("reader", "id,Effusion", [r]),
    ):
        lines = [header] + [
            ",".join([rid, *(str(c[i]) for c in cols)]) for i, rid in enumerate(rows)
        ]
        out[name] = tmp_path / f"{name}.csv"
        out[name].write_text("\n".join(lines) + "\n")
    return out


def test_classification_writes_metrics_and_report(files: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = runner.invoke(
        app,
        [
            "evaluate",
            "classification",
            "--gold",
            str(files["gold"]),
            "--pred",
            str(files["pred"]),
            "--subgroup",
            "sex",
            "--at-sensitivity",
            "0.9",
            "--bootstrap",
            "100",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "Effusion" in result.output and "AUROC" in result.output
    metrics = json.loads((out / "metrics.json").read_text())
    r = metrics["findings"]["Pleural Effusion"]
    for key in ("auroc", "auroc_ci", "auprc", "sensitivity", "specificity", "f1", "n"):
        assert key in r
    html = (out / "report.html").read_text()
    assert html.count("data:image/png;base64,") >= 4  # ROC, PR, calibration, forest
    # Self-contained: no scripts, no linked stylesheets, no remote images.
    assert "<script" not in html and "<link" not in html and 'src="http' not in html


@pytest.mark.parametrize("command", ["compare", "readers", "labeler"])
def test_other_commands_run(command: str, files: dict[str, Path], tmp_path: Path) -> None:
    args = {
        "compare": ["--gold", files["gold"], "--pred", files["pred"], "--pred-b", files["reader"]],
        "readers": ["--gold", files["gold"], "--reader", files["reader"], "--pred", files["pred"]],
        "labeler": ["--gold", files["gold"], "--pred", files["reader"], "--id-column", "id"],
    }[command]
    out = tmp_path / command
    result = runner.invoke(
        app, ["evaluate", command, *map(str, args), "--bootstrap", "50", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    task = {"compare": "classification", "readers": "readers", "labeler": "labeler"}[command]
    assert json.loads((out / "metrics.json").read_text())["task"] == task


def test_reports_and_dataset_commands(tmp_path: Path) -> None:
    ref = tmp_path / "ref.csv"
    ref.write_text('id,text\n1,"IMPRESSION: No pleural effusion."\n2,"IMPRESSION: Cardiomegaly."\n')
    result = runner.invoke(
        app, ["evaluate", "reports", "--ref", str(ref), "--hyp", str(ref), "--bootstrap", "20"]
    )
    assert result.exit_code == 0, result.output
    assert "BLEU-4" in result.output
    listing = runner.invoke(app, ["evaluate", "dataset"])
    assert listing.exit_code == 0 and "nih-google2019" in listing.output


def test_user_mistakes_raise_one_line_errors(files: dict[str, Path], tmp_path: Path) -> None:
    result = runner.invoke(
        app,
        [
            "evaluate",
            "classification",
            "--gold",
            str(tmp_path / "missing.csv"),
            "--pred",
            str(files["pred"]),
        ],
    )
    assert isinstance(result.exception, InputError)
    assert "missing.csv: no such file" in str(result.exception)
    bad = runner.invoke(app, ["evaluate", "dataset", "mimic", "-o", str(tmp_path / "g.csv")])
    assert isinstance(bad.exception, InputError) and "valid names" in str(bad.exception)
    usage = runner.invoke(
        app, ["evaluate", "classification", "--gold", "g", "--pred", "p", "--uncertain", "maybe"]
    )
    assert usage.exit_code == 2


def test_main_prints_errors_on_one_line(
    files: dict[str, Path], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from radpilot import cli

    monkeypatch.setattr(
        "sys.argv",
        ["radpilot", "evaluate", "labeler", "--gold", str(files["gold"]), "--pred", "nope.csv"],
    )
    with pytest.raises(SystemExit) as info:
        cli.main()
    assert info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err == "error: nope.csv: no such file"


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    from radpilot.commands.main import run

    code = run(argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_exit_codes_for_missing_predictions(
    files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = files["pred"].read_text().splitlines()
    pred = tmp_path / "holes.csv"
    # Two cases have no prediction: one row gone, one cell blank.
    pred.write_text("\n".join([lines[0], f"{lines[1].split(',')[0]},", *lines[3:]]) + "\n")
    base = ["evaluate", "classification", "--gold", str(files["gold"]), "--pred", str(pred)]
    code, out, err = _run([*base, "--bootstrap", "0"], capsys)
    assert code == 2 and out == ""
    assert err == (
        f"error: {pred}: 2 gold case(s) have no prediction for 'Pleural Effusion' (first: "
        f"{pred} line 2 is blank); allow missing predictions to score without them "
        "(--allow-missing)\n"
    )
    code, out, err = _run(
        [*base, "--bootstrap", "0", "--allow-missing", "-o", str(tmp_path / "o")], capsys
    )
    assert code == 1
    assert err.splitlines()[0] == (
        f"warning: {pred}: 2 gold case(s) without a prediction left out of 'Pleural Effusion' "
        f"(1 without a row, 1 blank; first: {pred} line 2 is blank)"
    )
    metrics = json.loads((tmp_path / "o" / "metrics.json").read_text())
    assert metrics["findings"]["Pleural Effusion"]["n"] == 118
    assert metrics["missing"]["n_values"] == 2


def test_exit_codes_for_unusable_inputs_and_outputs(
    files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("id,Effusion\nc0,0.2\nc1,7\n")
    base = ["evaluate", "classification", "--gold", str(files["gold"]), "--bootstrap", "0"]
    code, _, err = _run([*base, "--pred", str(bad)], capsys)
    assert (code, err) == (2, f"error: {bad}: line 3, column 'Effusion': outside [0, 1]\n")
    blocker = tmp_path / "file"
    blocker.write_text("x")
    code, _, err = _run([*base, "--pred", str(files["pred"]), "-o", str(blocker / "out")], capsys)
    assert code == 2 and err.startswith(f"error: {blocker / 'out'}: cannot create the output")
    code, _, err = _run([*base, "--pred", str(files["pred"]), "--bootstrap", "-3"], capsys)
    assert code == 2 and "--bootstrap" in err


def test_problem_lines_are_capped(
    files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    header, *rows = files["pred"].read_text().splitlines()
    pred = tmp_path / "pred.csv"
    # Three notes: a row the gold lacks, a gold column and a prediction column not scored.
    pred.write_text("\n".join([f"{header},Extra", *(f"{r},1" for r in rows), "zz,0.5,1"]) + "\n")
    argv = ["evaluate", "classification", "--gold", str(files["gold"]), "--pred", str(pred)]
    code, _, err = _run([*argv, "--bootstrap", "0", "--max-errors", "1"], capsys)
    assert code == 0
    assert err.splitlines() == [
        f"note: {pred}: 1 row(s) whose id is not in {files['gold']}, not scored (first at line 122)",
        "... and 2 more problem line(s) not shown (--max-errors N shows more)",
    ]


def test_dataset_command_needs_an_output(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(["evaluate", "dataset", "nih"], capsys)
    assert (code, err) == (2, "error: give -o FILE to write the 'nih' gold CSV\n")
    code, _, err = _run(["evaluate", "dataset", "mimic"], capsys)
    assert code == 2 and "unknown dataset 'mimic'; valid names:" in err


def _openi_reference(shared_dir: Path, folder: Path) -> dict:
    from radpilot.devdata import load_script

    module = load_script(shared_dir / "data" / "openi" / "openi_gold.py", "openi_gold_cli_t")
    dev = [r for r in module.load() if r["split"] == "dev"]
    ids = [r["id"] for r in dev]
    pred = module.read_chexpert_csv(folder / "reader.csv", ids)
    return module.score({r["id"]: set(r["positive"]) for r in dev}, pred) | {"n": len(dev)}


def _check_image_model(out: Path) -> None:
    # The embedded image model needs no development data: it is scored on the test split
    # shipped in the package, and the harness must reproduce its model card's figure.
    from radpilot.imaging import registry

    folder = out / "evaluate" / registry.DEFAULT_MODEL
    metrics = json.loads((folder / "metrics.json").read_text())
    (card_auc,) = [
        f.value
        for f in registry.card(registry.DEFAULT_MODEL).measured
        if f.metric == "auc" and f.split == "test"
    ]
    pneumonia = metrics["findings"]["Pneumonia"]
    assert pneumonia["n"] == 624
    assert abs(pneumonia["auroc"] - card_auc) < 1e-3
    assert pneumonia["auroc_ci"][0] < pneumonia["auroc"] < pneumonia["auroc_ci"][1]
    assert pneumonia["threshold"] == registry.get(registry.DEFAULT_MODEL).thresholds["Pneumonia"]
    assert (folder / "report.html").is_file()


def test_demo_step(
    shared_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from rich.console import Console

    from radpilot.commands.demo import run_demo

    monkeypatch.setenv("RADPILOT_SHARED", str(shared_dir))
    console = Console(record=True, width=100)
    run_demo(tmp_path, console, ["evaluate"])
    shown = console.export_text()
    # The step runs the commands a user would type, through the CLI.
    for command in (
        "$ radpilot label",
        "$ radpilot evaluate labeler",
        "$ radpilot evaluate classification",
    ):
        assert command in shown
    folder = tmp_path / "evaluate" / "report_reader"
    metrics = json.loads((folder / "metrics.json").read_text())
    reference = _openi_reference(shared_dir, folder)
    assert metrics["macro"]["present"]["f1"] == pytest.approx(reference["macro_f1"], abs=1e-9)
    assert metrics["micro"]["present"]["f1"] == pytest.approx(reference["micro_f1"], abs=1e-9)
    assert metrics["matching"]["n_matched"] == reference["n"] == 1430
    assert (folder / "report.html").stat().st_size > 10_000
    assert f"scorer on the same labels says {reference['macro_f1']:.3f}" in shown
    cxr14 = json.loads((tmp_path / "evaluate" / "report_reader_cxr14" / "metrics.json").read_text())
    # NegBio's gold spells findings the ChestX-ray14 way; synonyms must match all 15 columns.
    assert len(cxr14["matching"]["findings"]) == 15
    assert cxr14["findings"]["Pleural Effusion"]["hard_labels"] is True
    assert cxr14["matching"]["n_matched"] == 1387
    _check_image_model(tmp_path)


def test_demo_without_shared_data(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from rich.console import Console

    from radpilot.commands.demo import run_demo

    monkeypatch.setenv("RADPILOT_SHARED", str(tmp_path / "absent"))
    console = Console(record=True, width=100)
    run_demo(tmp_path, console, ["evaluate"])
    assert "skipping the report-reader evaluation" in console.export_text()
    assert not (tmp_path / "evaluate" / "report_reader").exists()
    _check_image_model(tmp_path)
