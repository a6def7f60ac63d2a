"""Where a Spark labelling job reads and writes: Parquet read by the executors, or a
CSV/JSONL/OpenI input read by radpilot's own file reader on the driver and staged as
Parquet (the same rows, line numbers and problems as the local engine, in flat memory).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from radpilot.reports.rows import InputRow

STAGE_ROW_GROUP = 4096  # rows a Parquet row group (and so a split executors can share)
STAGE_FILE_ROWS = (
    4096  # rows a staged file: one task each (see engine); small, so tasks balance over cores
)

STAGED_COLUMNS = ("row", "id", "text", "line", "source", "problems")


_SCHEME = re.compile(r"^([a-zA-Z][\w+.-]+):/+")


def storage_url(path: Path | str) -> str | None:
    """``path`` as a Hadoop URL when it names remote storage (hdfs://, s3a://, abfss://,
    gs://, file:), else None. A ``Path`` folds ``//`` to ``/``: the authority's two slashes
    are put back (``file:`` keeps one, which Hadoop reads as the local root)."""
    match = _SCHEME.match(str(path))
    if match is None or len(match.group(1)) == 1:  # C:/ is a drive, not a scheme
        return None
    scheme, rest = match.group(1), str(path)[match.end() :]
    return f"file:/{rest}" if scheme == "file" else f"{scheme}://{rest}"


def is_parquet(path: Path | str) -> bool:
    """A ``.parquet`` file, or a folder of Parquet files (what Spark writes)."""
    p = Path(path)
    if storage_url(path) is not None or p.suffix.lower() in (".parquet", ".parq"):
        return True
    if p.is_dir():
        return any(p.glob("*.parquet")) or any(p.glob("**/*.parquet"))
    return False


def _staged_schema() -> Any:
    import pyarrow as pa

    problem = pa.struct(
        [
            pa.field("severity", pa.string(), False),
            pa.field("line", pa.int64()),
            pa.field("message", pa.string(), False),
            pa.field("source", pa.string()),
        ]
    )
    return pa.schema(
        [
            pa.field("row", pa.int64(), False),
            pa.field("id", pa.string(), False),
            pa.field("text", pa.string(), False),
            pa.field("line", pa.int64(), False),
            pa.field("source", pa.string()),
            pa.field("problems", pa.list_(pa.field("item", problem, False)), False),
        ]
    )


def stage_rows(rows: Iterable[InputRow], folder: Path, file_rows: int = STAGE_FILE_ROWS) -> int:
    """Write ``rows`` as Parquet files under ``folder``; returns how many rows."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = _staged_schema()
    count, part = 0, 0
    buf: list[InputRow] = []

    def flush() -> None:
        nonlocal part
        if not buf:
            return
        table = pa.Table.from_pydict(
            {
                "row": [r.row for r in buf],
                "id": [r.id for r in buf],
                "text": [r.text for r in buf],
                "line": [r.line for r in buf],
                "source": [r.source for r in buf],
                "problems": [
                    [
                        {
                            "severity": p.severity.value,
                            "line": p.line,
                            "message": p.message,
                            "source": p.source,
                        }
                        for p in r.problems
                    ]
                    for r in buf
                ],
            },
            schema=schema,
        )
        pq.write_table(table, folder / f"part-{part:05d}.parquet", row_group_size=STAGE_ROW_GROUP)
        part += 1
        buf.clear()

    for row in rows:
        buf.append(row)
        count += 1
        if len(buf) >= file_rows:
            flush()
    flush()
    return count
