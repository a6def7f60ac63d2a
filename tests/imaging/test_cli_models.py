"""`radpilot models list|info|pull|import` through the real CLI app."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from radpilot.cli import app
from radpilot.errors import DownloadError, InputError, ModelNotAvailableError
from radpilot.imaging import registry
from radpilot.imaging.nets import PneumoniaNet

runner = CliRunner()


def test_list_table_and_json(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["models", "list", "--cache-dir", str(tmp_path)], env={"COLUMNS": "200"}
    )
    assert result.exit_code == 0, result.output
    assert "pneumoniamnist-v1 *" in result.output and "bundled" in result.output
    result = runner.invoke(app, ["models", "list", "--json", "--cache-dir", str(tmp_path)])
    rows = {r["name"]: r for r in json.loads(result.output)}
    assert set(rows) == set(registry.names())
    assert rows["pneumoniamnist-v1"]["status"] == "bundled"
    assert rows["densenet121-res224-all"]["status"] == "not installed"
    assert rows["densenet121-res224-all"]["accuracy_measured_here"] is False


@pytest.mark.parametrize("name", registry.names())
def test_info(name: str) -> None:
    result = runner.invoke(app, ["models", "info", name], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert name in result.output and "Intended use" in result.output
    card = json.loads(runner.invoke(app, ["models", "info", name, "--json"]).output)
    assert card == registry.card(name).model_dump(mode="json")


def test_unknown_model_names_valid_ones() -> None:
    result = runner.invoke(app, ["models", "info", "gpt-xray"])
    assert isinstance(result.exception, InputError)
    assert "valid names" in str(result.exception)


def test_pull_offline_is_one_clear_line(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}/weights.pt"
    args = ["models", "pull", "resnet50-res512-all", "--url", url, "--cache-dir", str(tmp_path)]
    result = runner.invoke(app, [*args, "--timeout", "5"])
    assert isinstance(result.exception, DownloadError)
    assert "models import resnet50-res512-all FILE" in str(result.exception)


def test_import_then_list_shows_installed(tmp_path: Path) -> None:
    import torchxrayvision as xrv

    weights = tmp_path / "densenet.pt"
    torch.save(xrv.models.DenseNet(weights=None, num_classes=18).state_dict(), weights)
    cache_dir = tmp_path / "cache"
    args = [
        "models",
        "import",
        "densenet121-res224-all",
        str(weights),
        "--cache-dir",
        str(cache_dir),
    ]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "installed densenet121-res224-all" in result.output
    listed = runner.invoke(app, ["models", "list", "--json", "--cache-dir", str(cache_dir)])
    rows = {r["name"]: r["status"] for r in json.loads(listed.output)}
    assert rows["densenet121-res224-all"] == "installed"
    assert (cache_dir / "pins.json").is_file()


def test_import_refuses_wrong_file(tmp_path: Path) -> None:
    weights = tmp_path / "not-densenet.pt"
    torch.save(PneumoniaNet(width=8).state_dict(), weights)
    result = runner.invoke(
        app, ["models", "import", "resnet50-res512-all", str(weights), "--cache-dir", str(tmp_path)]
    )
    assert isinstance(result.exception, ModelNotAvailableError)
    assert "do not fit" in str(result.exception)
    assert not (tmp_path / "pins.json").exists()


def test_main_prints_one_line_error(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from radpilot import cli

    monkeypatch.setattr("sys.argv", ["radpilot", "models", "import", "pneumoniamnist-v1", "x.pt"])
    with pytest.raises(SystemExit) as info:
        cli.main()
    assert info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "\n" not in err
