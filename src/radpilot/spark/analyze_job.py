"""``radpilot analyze --engine spark``: the CLI's per-file results computed on Spark.

Input: files and folders (expanded here on the driver exactly as the local engine expands
them, then spread over the tasks), or one Parquet file or folder listing image paths in a
column (read by the executors; every executor must be able to open those paths). Each
task runs :func:`radpilot.spark.images.analyze_dataframe`, the model loaded once per
executor python process. The results come back to the driver and are returned in input
order, one per input row (rows out == rows in); a row without a path is an error result.

The results are collected (a few KB per image): right for up to a few million images on
one driver. Beyond that, call ``analyze_dataframe`` and write its DataFrame as Parquet.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from radpilot.errors import InputError
from radpilot.spark.files import is_parquet
from radpilot.spark.images import _registered, analyze_dataframe
from radpilot.spark.session import get_session

__all__ = ["analyze_on_spark"]

log = logging.getLogger(__name__)

DEFAULT_PATH_COLUMN = "path"


def _listed(spark: Any, source: Path, path_column: str | None) -> tuple[Any, str]:
    from pyspark.sql import functions as F

    try:
        df = spark.read.parquet(str(source))
    except Exception as exc:  # an AnalysisException names the path, never row content
        raise InputError(f"{source}: cannot read as Parquet ({type(exc).__name__})") from None
    col = path_column or DEFAULT_PATH_COLUMN
    if col not in df.columns:
        raise InputError(f"{source}: no path column {col!r}; columns: {', '.join(df.columns)}")
    df = df.select(
        F.col("_metadata.file_name").alias("_source"),
        F.col("_metadata.row_index").alias("_row"),
        F.col(f"`{col}`").cast("string").alias("path"),
    )
    return df, f"{source}: row"


def _expanded(spark: Any, paths: Sequence[Path]) -> tuple[Any, str]:
    from radpilot.imaging.dicomio import iter_image_files

    files = [str(p) for p in iter_image_files(paths)]
    if not files:
        raise InputError("no image files found in the given paths")
    slices = max(1, min(len(files), spark.sparkContext.defaultParallelism))
    rdd = spark.sparkContext.parallelize(
        [("", i, p) for i, p in enumerate(files)], numSlices=slices
    )
    return spark.createDataFrame(rdd, "_source string, _row long, path string"), "row"


def analyze_on_spark(
    paths: Sequence[Path],
    *,
    path_column: str | None = None,
    master: str | None = None,
    model: str | None = None,
    all_heatmaps: bool = False,
    limits: Any = None,
    session: Any = None,
) -> list[dict[str, Any]]:
    """Each input image's result as ``radpilot analyze --json`` writes it, in input order.

    ``paths``: files and folders, or exactly one Parquet file or folder whose
    ``path_column`` (default ``path``) lists the images.
    """
    from radpilot.imaging.results import ImageResult

    name = _registered(model)  # a bad model name fails before the JVM starts
    listed = len(paths) == 1 and is_parquet(paths[0])
    if path_column is not None and not listed:
        raise InputError("--path-column needs one Parquet file or folder as input")
    for p in paths:
        if not p.exists():
            raise InputError(f"{p}: no such file or folder")
    t0 = time.perf_counter()
    spark = session or get_session(master)
    log.info("spark: session ready in %.1f s", time.perf_counter() - t0)
    df, where = _listed(spark, paths[0], path_column) if listed else _expanded(spark, paths)
    t0 = time.perf_counter()
    # one pass: a sort on Spark would sample its range bounds by running the model twice
    rows = analyze_dataframe(
        df, path_col="path", model=name, all_heatmaps=all_heatmaps, limits=limits
    ).collect()
    log.info("spark: %d images analysed in %.1f s", len(rows), time.perf_counter() - t0)
    rows.sort(key=lambda r: (r["_source"], r["_row"]))
    out: list[dict[str, Any]] = []
    for r in rows:
        if r["analysis"] is not None:
            out.append(json.loads(r["analysis"]))
        else:
            error = f"{where} {r['_row'] + 1}: {r['error']}"
            out.append(ImageResult(path=r["path"] or "", model=name, error=error).to_dict())
    return out
