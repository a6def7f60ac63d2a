"""`radpilot analyze --engine spark`: the local engine's results, in input order, from a
folder and from a Parquet list of paths, against the real JVM (the session fixture)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from radpilot import samples
from radpilot.cli import app
from radpilot.errors import InputError

runner = CliRunner()
SAMPLES = ("nih_cardiomegaly.png", "nih_normal.png")
# what the local engine decides across the whole input, Spark within each task's batch
_GROUPING = ("study", "primary_view")


def _comparable(r: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in r.items() if k not in _GROUPING}


@pytest.fixture(scope="module")
def images(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("images")
    for name in SAMPLES:
        shutil.copy(samples.get(name), folder / name)
    (folder / "broken.png").write_bytes(b"not a png")
    return folder


@pytest.fixture(scope="module")
def local_results(images: Path) -> list[dict[str, Any]]:
    result = runner.invoke(app, ["analyze", str(images), "--json"])
    assert result.exit_code == 1, result.output  # some analysed, one not
    return list(json.loads(result.stdout))


def test_a_folder_gives_the_local_results_in_order(
    spark: Any, images: Path, local_results: list[dict[str, Any]]
) -> None:
    result = runner.invoke(app, ["analyze", str(images), "--json", "--engine", "spark"])
    assert result.exit_code == 1, result.output
    got = json.loads(result.stdout)
    assert [_comparable(r) for r in got] == [_comparable(r) for r in local_results]
    assert [r["path"] for r in got] == sorted(str(p) for p in images.iterdir())
    assert "broken.png" in result.stderr and "Traceback" not in result.stderr


def test_a_parquet_list_keeps_every_row(
    spark: Any, images: Path, local_results: list[dict[str, Any]], tmp_path: Path
) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    listed = [str(images / n) for n in reversed(SAMPLES)] + [None, str(images)]
    pq.write_table(pa.table({"file": listed}), tmp_path / "paths.parquet")
    args = ["analyze", str(tmp_path / "paths.parquet"), "--engine", "spark"]
    result = runner.invoke(app, [*args, "--path-column", "file"])
    assert result.exit_code == 1, result.output
    got = [json.loads(line) for line in result.stdout.splitlines()]  # JSON Lines
    assert len(got) == len(listed)
    by_path = {r["path"]: _comparable(r) for r in local_results}
    assert [_comparable(r) for r in got[:2]] == [by_path[p] for p in listed[:2]]
    assert got[2]["error"] == f"{tmp_path / 'paths.parquet'}: row 3: no path"
    assert got[3]["error"] == f"{images}: is a folder, not an image"
    assert not any(r["analysed"] for r in got[2:])


def test_bad_spark_arguments_are_one_line(spark: Any, images: Path, tmp_path: Path) -> None:
    from radpilot.spark.analyze_job import analyze_on_spark

    with pytest.raises(InputError, match="no path column 'path'"):
        import pyarrow as pa
        import pyarrow.parquet as pq

        pq.write_table(pa.table({"file": ["a.png"]}), tmp_path / "p.parquet")
        analyze_on_spark([tmp_path / "p.parquet"], session=spark)
    with pytest.raises(InputError, match="--path-column needs one Parquet"):
        analyze_on_spark([images], path_column="file", session=spark)
    result = runner.invoke(app, ["analyze", str(images), "--master", "local[1]"])
    assert result.exit_code == 2 and "needs --engine spark" in result.output
    out = ["analyze", str(images), "--engine", "spark", "--out", str(tmp_path / "o")]
    result = runner.invoke(app, out)
    assert result.exit_code == 2 and "--out needs --engine local" in result.output
