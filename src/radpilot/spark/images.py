"""``analyze_dataframe``: the image pipeline of ``radpilot analyze`` over a DataFrame of
image paths (DICOM, PNG, JPEG on storage every executor can read), the model loaded once
per executor python process.

Each Arrow batch of paths goes through :func:`radpilot.imaging.analyze.analyze` as one
call (read, quality gate, predict, explain), so a result is the one the CLI's ``--json``
prints for that file, one per row, in the batch's order; a file that cannot be read is a
row with its ``error``. Study grouping (which image is a study's primary) is decided
within a batch: partition by patient (``df.repartition("patient_id")``) to keep a
patient's images together.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from radpilot.errors import InputError

__all__ = ["analyze_dataframe"]

_LOADS: dict[str, int] = {}  # model name -> loads in this process (tests read it)


@lru_cache(maxsize=2)
def _model(name: str) -> Any:
    from radpilot.imaging.analyze import resolve_model

    _LOADS[name] = _LOADS.get(name, 0) + 1
    return resolve_model(name)


@dataclass(frozen=True)
class _Analyse:
    path_col: str
    model: str
    keep: tuple[str, ...]
    arrow_schema: Any
    all_heatmaps: bool = False
    limits: Any = None  # radpilot.imaging.pixels.ReadLimits, or None for its defaults

    def __call__(self, batches: Iterator[Any]) -> Iterator[Any]:
        import pyarrow as pa

        from radpilot.imaging.analyze import analyze
        from radpilot.imaging.results import ImageResult

        net = _model(self.model)
        for batch in batches:
            paths = batch.column(self.path_col).to_pylist()
            results: list[dict[str, Any] | None] = [None] * len(paths)
            # a folder would expand to many results: one row stays one result
            given = [(i, p) for i, p in enumerate(paths) if p and not os.path.isdir(p)]
            for i, p in enumerate(paths):
                if p and os.path.isdir(p):
                    error = f"{p}: is a folder, not an image"
                    results[i] = ImageResult(path=p, model=net.name, error=error).to_dict()
            if given:
                found = analyze(
                    [p for _, p in given],
                    model=net,
                    all_heatmaps=self.all_heatmaps,
                    limits=self.limits,
                )
                for (i, _), r in zip(given, found, strict=True):
                    results[i] = r.to_dict()
            arrays = [batch.column(c) for c in self.keep]
            arrays.append(pa.array([json.dumps(r) if r else None for r in results], pa.string()))
            arrays.append(
                pa.array(
                    [(r or {}).get("error") or (None if r else "no path") for r in results],
                    pa.string(),
                )
            )
            yield pa.RecordBatch.from_arrays(arrays, schema=self.arrow_schema)


def analyze_dataframe(
    df: Any,
    *,
    path_col: str = "path",
    model: str | None = None,
    all_heatmaps: bool = False,
    limits: Any = None,
) -> Any:
    """``df`` with ``analysis`` (the file's result as ``radpilot analyze --json`` writes
    it, a JSON string) and ``error`` (null when the file was read), every input column
    kept, one row per input row."""
    from pyspark.sql import types as T
    from pyspark.sql.pandas.types import to_arrow_schema

    if path_col not in df.columns:
        raise InputError(f"no path column {path_col!r}; columns: {', '.join(df.columns)}")
    for taken in ("analysis", "error"):
        if taken in df.columns:
            raise InputError(f"the DataFrame already has a column {taken!r}; rename it first")
    model = _registered(model)
    schema = T.StructType(
        [
            *df.schema.fields,
            T.StructField("analysis", T.StringType(), True),
            T.StructField("error", T.StringType(), True),
        ]
    )
    job = _Analyse(
        path_col, model, tuple(df.columns), to_arrow_schema(schema), all_heatmaps, limits
    )
    return df.mapInArrow(job, schema)


def _registered(name: str | None) -> str:
    from radpilot.imaging import registry

    if name is None:
        return str(registry.DEFAULT_MODEL)
    if name not in registry.names():
        raise InputError(f"unknown image model {name!r}; valid: {', '.join(registry.names())}")
    return name
