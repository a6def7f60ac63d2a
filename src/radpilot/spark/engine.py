"""``radpilot label --engine spark``: the whole file path on Spark.

Input: Parquet (a file or a folder) is read by the executors; CSV, JSONL and OpenI XML
are read by radpilot's file reader on the driver (the same rows, lines and problems as
the local engine) and staged as Parquet beside the output. Output: CSV or JSONL is one
file the driver writes in row order with the local engine's writers (the same bytes);
Parquet (``.parquet`` or a folder) is written by the executors, one part per task.
Nothing is lost: rows out == rows in, a bad row is an error row with its problem.
"""

from __future__ import annotations

import itertools
import json
import logging
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from radpilot.errors import InputError
from radpilot.reports.batch import BatchSummary, make_writer, targets_column
from radpilot.reports.labelsets import CHEXPERT, LabelSet
from radpilot.reports.policy import DEFAULT_POLICY, UncertaintyPolicy
from radpilot.reports.readers import ID_KEYS, TEXT_KEYS, ReportReader
from radpilot.reports.rows import (
    InputFormat,
    InputRow,
    LabelledRow,
    OutputFormat,
    RowProblem,
    Severity,
    merge_problems,
)
from radpilot.reports.vocabulary import Vocabulary
from radpilot.reports.writers import open_output
from radpilot.spark.files import STAGE_FILE_ROWS, is_parquet, stage_rows, storage_url
from radpilot.spark.labels import (
    LABELLED,
    MENTIONS,
    MENTIONS_JSON,
    PROBLEMS,
    find_column,
    run_job,
)
from radpilot.spark.session import get_session

__all__ = ["label_file_spark"]

log = logging.getLogger(__name__)

_TARGETS_NOTE = "its targets are asserted only by --engine local; labelled without them"


def _without_targets(rows: Iterator[InputRow]) -> Iterator[InputRow]:
    for r in rows:
        if r.targets is None:
            yield r
            continue
        note = RowProblem(r.row, r.line, Severity.WARNING, _TARGETS_NOTE, r.source)
        yield InputRow(r.row, r.id, r.text, (*r.problems, note), r.line, r.source, None)


def _parquet_input(
    spark: Any, path: Path | str, text_column: str | None, id_column: str | None
) -> tuple[Any, dict[str, str | None], str]:
    from pyspark.sql import functions as F

    try:
        df = spark.read.parquet(str(path))
    except Exception as exc:  # an AnalysisException names the path, never row content
        raise InputError(f"{path}: cannot read as Parquet ({type(exc).__name__})") from None
    text = find_column(df.columns, text_column, TEXT_KEYS)
    if text is None:
        wanted = repr(text_column) if text_column else "among " + ", ".join(TEXT_KEYS)
        raise InputError(f"{path}: no text column {wanted}; columns: {', '.join(df.columns)}")
    rid = find_column(df.columns, id_column, ID_KEYS)
    if id_column is not None and rid is None:
        raise InputError(f"{path}: no id column {id_column!r}; columns: {', '.join(df.columns)}")
    # a file's row index names a bad row (Parquet has no lines); rows keep file order
    df = df.select(
        F.col(f"`{text}`").alias("text"),
        (F.col(f"`{rid}`").cast("string") if rid else F.lit(None).cast("string")).alias("id"),
        (F.col("_metadata.row_index") + 1).alias("row"),
        F.col("_metadata.file_name").alias("source"),
    )
    layout = f"parquet, report column {text!r}" + (f", id column {rid!r}" if rid else "")
    return df, {"id_col": "id", "row_col": "row", "source_col": "source"}, layout


def _to_labelled(r: Any, set_name: str, names: tuple[str, ...], with_mentions: bool) -> LabelledRow:
    values = tuple(r[n] for n in names)
    problems = tuple(
        RowProblem(r["row"], p["line"] or 0, Severity(p["severity"]), p["message"], p["source"])
        for p in r[PROBLEMS]
    )
    labelled = r[LABELLED]
    mentions = None
    if with_mentions and r[MENTIONS_JSON] is not None:
        mentions = tuple(json.loads(r[MENTIONS_JSON]))
    labels = {set_name: values} if labelled else {}
    return LabelledRow(
        r["row"], r["id"] or str(r["row"]), r["text"] or "", labels, mentions, problems
    )


def _parts_in_order(folder: Path, keys: list[str]) -> tuple[list[Path], bool]:
    """The part files of a map-only job over one-split-per-task input, ordered by their
    first key, and whether their rows are then in key order throughout (each task read a
    contiguous split, so they are; checked, not assumed)."""
    import pyarrow.parquet as pq

    spans = []
    for f in folder.glob("*.parquet"):
        t = pq.read_table(f, columns=keys)
        if t.num_rows == 0:
            continue
        rows = list(zip(*(t.column(k).to_pylist() for k in keys), strict=True))
        ordered = all(x < y for x, y in itertools.pairwise(rows))
        spans.append((rows[0], rows[-1], ordered, f))
    spans.sort(key=lambda s: s[0])
    ok = all(s[2] for s in spans) and all(x[1] < y[0] for x, y in itertools.pairwise(spans))
    return [s[3] for s in spans], ok


def _rows_in_order(folder: Path, keys: list[str]) -> Iterator[dict[str, Any]]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    parts, ok = _parts_in_order(folder, keys)
    if ok:  # stream, part by part: flat memory
        for f in parts:
            for batch in pq.ParquetFile(f).iter_batches(batch_size=4096):
                yield from batch.to_pylist()
        return
    log.warning("labelled parts overlap; sorting %d part(s) in memory", len(parts))
    table = pa.concat_tables([pq.read_table(f) for f in parts])
    table = table.sort_by([(k, "ascending") for k in keys])
    for batch in table.to_batches(max_chunksize=4096):
        yield from batch.to_pylist()


def _write_file(
    labelled: Any,
    output: Path | str,
    input_path: Path,
    summary: BatchSummary,
    label_set: LabelSet,
    output_format: OutputFormat,
    on_problem: Callable[[RowProblem], None] | None,
    scratch: Path,
) -> None:
    # Executors write the labelled rows (one part per task, one labelling pass: a global
    # sort would label every row twice, once to sample its range bounds); the driver
    # then streams the parts in row order into the one output file.
    keys = ["source", "row"] if "source" in labelled.columns else ["row"]  # Parquet: by file
    names = tuple(label_set.labels)
    with_mentions = output_format is OutputFormat.JSONL
    with open_output(output, input_path=input_path) as fh:  # opened first: fails early
        t0 = time.perf_counter()
        labelled.write.mode("overwrite").parquet(str(scratch))
        log.info("spark: labelled on the executors in %.1f s", time.perf_counter() - t0)
        t0 = time.perf_counter()
        writer = make_writer(fh, output_format, label_set)
        for r in _rows_in_order(scratch, keys):
            row = _to_labelled(r, label_set.name, names, with_mentions)
            writer.write(row)
            summary.add(row)
            if on_problem is not None and row.problems:
                on_problem(merge_problems(row.problems))
        log.info("spark: the driver wrote the output in %.1f s", time.perf_counter() - t0)


def _write_parquet(
    labelled: Any,
    output: Path | str,
    summary: BatchSummary,
    label_set: LabelSet,
    on_problem: Callable[[RowProblem], None] | None,
) -> None:
    from pyspark.sql import functions as F

    if (
        isinstance(output, Path)
        and output.exists()
        and (not output.is_dir() or any(output.iterdir()))
    ):
        raise InputError(f"{output}: exists; choose another output or remove it")
    try:  # remote storage: Spark's own check ("path already exists")
        labelled.write.mode("overwrite" if isinstance(output, Path) else "errorifexists").parquet(
            str(output)
        )
    except Exception as exc:
        if "already exists" in str(exc).lower() or "PATH_ALREADY_EXISTS" in str(exc):
            raise InputError(f"{output}: exists; choose another output or remove it") from None
        raise
    done = labelled.sparkSession.read.parquet(str(output))  # counted from what was written
    names = label_set.labels
    aggs = [F.count(F.lit(1)).alias("rows"), F.sum(F.col(LABELLED).cast("long")).alias("ok")]
    aggs.append(F.sum((F.col(LABELLED) & (F.size(PROBLEMS) > 0)).cast("long")).alias("warn"))
    for i, n in enumerate(names):
        for j, v in enumerate((1.0, 0.0, -1.0)):
            aggs.append(F.sum((F.col(f"`{n}`") == v).cast("long")).alias(f"c{i}_{j}"))
    totals = done.agg(*aggs).first()
    summary.rows_read = totals["rows"]
    summary.labelled = totals["ok"] or 0
    summary.errors = summary.rows_read - summary.labelled
    summary.warnings = totals["warn"] or 0
    for i, n in enumerate(names):
        counts = {v: totals[f"c{i}_{j}"] or 0 for j, v in enumerate((1.0, 0.0, -1.0))}
        if any(counts.values()):
            summary.label_counts[n] = counts
    if on_problem is None:
        return
    order = ["source", "row"] if "source" in done.columns else ["row"]
    bad = done.where(F.size(PROBLEMS) > 0).select(*order, PROBLEMS).orderBy(*order)
    for r in bad.toLocalIterator():
        on_problem(
            merge_problems(
                [
                    RowProblem(
                        r["row"], p["line"] or 0, Severity(p["severity"]), p["message"], p["source"]
                    )
                    for p in r[PROBLEMS]
                ]
            )
        )


def _stage(
    input_path: Path | str,
    scratch: Path,
    summary: BatchSummary,
    file_rows: int,
    input_format: InputFormat,
    text_column: str | None,
    id_column: str | None,
    header: bool | None,
) -> Path:
    """CSV, JSONL or OpenI input read by radpilot's reader here, staged as Parquet."""
    source = Path(input_path)
    with ReportReader(
        input_path,
        input_format=input_format,
        text_column=text_column,
        id_column=id_column,
        header=header,
    ) as reader:
        summary.encoding, summary.input_format = reader.encoding, reader.format.value
        summary.layout = reader.layout
        summary.unread_targets_column = targets_column(reader.columns)
        staging = scratch / "input"
        staging.mkdir()
        t0 = time.perf_counter()
        staged = stage_rows(_without_targets(iter(reader)), staging, file_rows)
        log.info("spark: %d rows staged in %.1f s", staged, time.perf_counter() - t0)
        if staged == 0:
            raise InputError(f"{source}: no rows")
    return staging


def label_file_spark(
    input_path: Path | str,
    output: Path | str,
    *,
    label_set: LabelSet = CHEXPERT,
    output_format: OutputFormat = OutputFormat.CSV,
    input_format: InputFormat = InputFormat.AUTO,
    text_column: str | None = None,
    id_column: str | None = None,
    header: bool | None = None,
    master: str | None = None,
    on_problem: Callable[[RowProblem], None] | None = None,
    policy: UncertaintyPolicy = DEFAULT_POLICY,
    vocabulary: Vocabulary | None = None,
    stage_file_rows: int = STAGE_FILE_ROWS,
    session: Any = None,
) -> BatchSummary:
    """``label_file`` on Spark (see the module docstring for what runs where)."""
    summary = BatchSummary(label_set=label_set.name, label_names=label_set.labels)
    started = time.perf_counter()
    source = Path(input_path)
    out_url = storage_url(output)
    out_parquet = out_url is not None or (
        str(output) != "-" and (str(output).endswith("/") or is_parquet_output(Path(output)))
    )
    in_url = storage_url(input_path)
    if in_url is None and str(input_path) != "-" and not source.exists():
        raise InputError(f"{source}: no such file")
    parent = Path(output).parent if str(output) != "-" and out_url is None else None
    scratch = Path(tempfile.mkdtemp(prefix=".radpilot-spark-", dir=parent))
    t0 = time.perf_counter()
    spark = session or get_session(master)
    log.info("spark: session ready in %.1f s", time.perf_counter() - t0)
    # one file split per task (never two files packed into one): each task's rows are
    # then a contiguous run of the input, which the ordered output relies on
    saved = spark.conf.get("spark.sql.files.openCostInBytes")
    spark.conf.set(
        "spark.sql.files.openCostInBytes", spark.conf.get("spark.sql.files.maxPartitionBytes")
    )
    try:
        if in_url is not None or (
            str(input_path) != "-" and input_format is InputFormat.AUTO and is_parquet(source)
        ):
            df, columns, layout = _parquet_input(spark, in_url or source, text_column, id_column)
            summary.input_format, summary.layout = "parquet", layout
        else:
            staging = _stage(
                input_path,
                scratch,
                summary,
                stage_file_rows,
                input_format,
                text_column,
                id_column,
                header,
            )
            df = spark.read.parquet(str(staging))
            columns = {
                "id_col": "id",
                "row_col": "row",
                "line_col": "line",
                "source_col": "source",
                "problems_col": "problems",
            }
        mentions = MENTIONS if out_parquet else MENTIONS_JSON
        with_mentions = output_format is OutputFormat.JSONL
        # "source" is kept for Parquet input only: there it orders rows (file, row index)
        keep = (
            ("row", "id", "text", "source")
            if "problems_col" not in columns
            else ("row", "id", "text")
        )
        labelled = run_job(
            df,
            label_set=label_set,
            policy=policy,
            vocabulary=vocabulary,
            text_col="text",
            mentions=mentions if with_mentions else None,
            keep=keep,
            **columns,
        )
        if out_parquet:
            _write_parquet(labelled, out_url or Path(output), summary, label_set, on_problem)
        else:
            _write_file(
                labelled,
                output,
                source,
                summary,
                label_set,
                output_format,
                on_problem,
                scratch / "labelled",
            )
    finally:
        spark.conf.set("spark.sql.files.openCostInBytes", saved)
        shutil.rmtree(scratch, ignore_errors=True)
    summary.seconds = time.perf_counter() - started
    return summary


def is_parquet_output(path: Path) -> bool:
    return path.suffix.lower() in (".parquet", ".parq") or path.is_dir()
