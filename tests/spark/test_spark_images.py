"""analyze_dataframe: the CLI's per-file results on Spark, the model loaded once per
executor process, one row per input row."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from radpilot import samples
from radpilot.errors import InputError


@pytest.mark.slow  # torch and the model load in an executor's python: ~20-70 s on 2 cores
def test_analyze_dataframe_gives_the_local_results(spark: Any, tmp_path: Path) -> None:
    from radpilot.imaging.analyze import analyze
    from radpilot.spark.images import analyze_dataframe

    paths = [str(samples.get("nih_cardiomegaly.png")), str(samples.get("nih_normal.png"))]
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not a png")
    rows = [(f"img{i}", p) for i, p in enumerate([*paths, str(broken), None])]
    df = spark.createDataFrame(rows, "id string, path string").coalesce(1)
    got = {r["id"]: r for r in analyze_dataframe(df).collect()}
    assert len(got) == 4
    want = [r.to_dict() for r in analyze([*paths, str(broken)])]
    for i in range(2):
        result = json.loads(got[f"img{i}"]["analysis"])
        assert result["findings"] == want[i]["findings"]
        assert got[f"img{i}"]["error"] is None
    assert got["img2"]["error"] == want[2]["error"] and got["img2"]["error"]
    assert got["img3"]["analysis"] is None and got["img3"]["error"] == "no path"


def test_analyze_dataframe_names_bad_arguments(spark: Any) -> None:
    from radpilot.spark.images import analyze_dataframe

    df = spark.createDataFrame([("a.png",)], "file string")
    with pytest.raises(InputError, match="no path column 'path'"):
        analyze_dataframe(df)
    with pytest.raises(InputError, match="unknown image model 'nope'"):
        analyze_dataframe(df, path_col="file", model="nope")
