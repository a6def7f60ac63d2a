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
    assert json.loads((out / "metrics.json").read_text())["task"] in {command, "classification"}


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


def test_demo_step(shared_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from rich.console import Console

    from radpilot.evaluate import demo

    monkeypatch.setenv("RADPILOT_SHARED", str(shared_dir))
    console = Console(record=True, width=100)
    demo.run(tmp_path, console)
    folder = tmp_path / "evaluate" / "report_reader"
    metrics = json.loads((folder / "metrics.json").read_text())
    assert metrics["macro"]["present"]["f1"] == pytest.approx(
        metrics["source"]["openi_gold_py_macro_f1"], abs=1e-9
    )
    assert metrics["matching"]["n_matched"] == metrics["source"]["n_reports"] > 1000
    assert (folder / "report.html").stat().st_size > 10_000
    assert "openi_gold.py says" in console.export_text()
    cxr14 = json.loads((tmp_path / "evaluate" / "report_reader_cxr14" / "metrics.json").read_text())
    # NegBio's gold spells findings the ChestX-ray14 way; synonyms must match all 15 columns.
    assert len(cxr14["matching"]["findings"]) == 15
    assert cxr14["findings"]["Pleural Effusion"]["hard_labels"] is True


def test_demo_without_shared_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from rich.console import Console

    from radpilot.evaluate import demo

    monkeypatch.setenv("RADPILOT_SHARED", str(tmp_path / "absent"))
    console = Console(record=True, width=100)
    demo.run(tmp_path, console)
    assert "skipping" in console.export_text()
    assert not (tmp_path / "evaluate" / "report_reader").exists()
    # The embedded image model needs no development data: it is scored on the test split
    # shipped in the package, and the harness must reproduce its model card's figure.
    from radpilot.imaging import registry

    metrics = json.loads(
        (tmp_path / "evaluate" / registry.DEFAULT_MODEL / "metrics.json").read_text()
    )
    (card_auc,) = [
        f.value
        for f in registry.card(registry.DEFAULT_MODEL).measured
        if f.metric == "auc" and f.split == "test"
    ]
    pneumonia = metrics["findings"]["Pneumonia"]
    assert pneumonia["n"] == 624
    assert abs(pneumonia["auroc"] - card_auc) < 1e-3
    assert pneumonia["auroc_ci"][0] < pneumonia["auroc"] < pneumonia["auroc_ci"][1]
    assert (tmp_path / "evaluate" / registry.DEFAULT_MODEL / "report.html").is_file()
