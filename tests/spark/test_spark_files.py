"""Paths the Spark engine reads and writes (no JVM needed)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from radpilot.spark.files import is_parquet, storage_url


@pytest.mark.parametrize(
    ("given_path", "url"),
    [
        ("hdfs://nn:8020/reports/2026", "hdfs://nn:8020/reports/2026"),
        (Path("hdfs://nn/reports"), "hdfs://nn/reports"),  # a Path folds // to /
        (Path("s3a://bucket/key/part.parquet"), "s3a://bucket/key/part.parquet"),
        ("abfss://c@acct.dfs.core.windows.net/x", "abfss://c@acct.dfs.core.windows.net/x"),
        (Path("file:///tmp/x"), "file:/tmp/x"),
        ("reports.csv", None),
        ("/data/reports.parquet", None),
        ("C:/data/reports.csv", None),  # a drive letter is no scheme
        ("-", None),
    ],
)
def test_storage_url(given_path: str | Path, url: str | None) -> None:
    assert storage_url(given_path) == url


@given(st.from_regex(r"[a-z][a-z0-9+.-]{1,8}", fullmatch=True), st.text(min_size=1, max_size=40))
def test_a_url_survives_a_path_round_trip(scheme: str, rest: str) -> None:
    rest = rest.replace("\x00", "").lstrip("/") or "x"
    # a Path drops "." segments ("a0://./b" is "a0:/b"): no URL holding one survives it
    assume("." not in rest.split("/"))
    url = f"{scheme}://{rest}"
    got = storage_url(Path(url))
    assert got is not None and got.startswith(f"{scheme}:/")
    if scheme != "file" and "//" not in rest and not rest.endswith("/"):
        assert got == url


@given(st.text(max_size=60))
def test_storage_url_never_raises(text: str) -> None:
    got = storage_url(text.replace("\x00", ""))
    assert got is None or "://" in got or got.startswith("file:/")


def test_is_parquet(tmp_path: Path) -> None:
    (tmp_path / "ds").mkdir()
    (tmp_path / "ds" / "part-0.parquet").write_bytes(b"")
    (tmp_path / "xml").mkdir()
    (tmp_path / "xml" / "1.xml").write_text("<x/>")
    assert is_parquet(tmp_path / "ds") and is_parquet(tmp_path / "a.parquet")
    assert not is_parquet(tmp_path / "xml") and not is_parquet(tmp_path / "a.csv")
