"""Gold and prediction tables: the one input validator of the harness.

A table comes from a CSV path, a pandas DataFrame or a plain ``{column: values}`` dict.
Finding columns are canonical names (Effusion and Pleural Effusion are one finding, see
:mod:`radpilot.reports.labelnames`). A bad cell is a one-line error naming the file, the
line (or, in memory, the row), the column and what is wrong with it, never its content:
gold and labeler files hold report text, and ids may be accession numbers. How rows of
two tables are paired is :mod:`radpilot.evaluate.matching`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum, StrEnum
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from radpilot.errors import InputError
from radpilot.evaluate.inputs import Records, column_label, read_csv, safe_name, where
from radpilot.reports.labelnames import canonical_finding

BLANKS = frozenset({"", "nan", "na", "n/a", "none", "null"})
# Columns that hold text in a labeler's CSV, never a finding.
TEXT_COLUMNS = frozenset({"reports", "report", "text"})
FIRST_FEW = 5


class UncertainPolicy(StrEnum):
    """What an uncertain (-1) gold label becomes (CheXpert's U-Ones / U-Zeros / U-Ignore)."""

    ONES = "ones"
    ZEROS = "zeros"
    IGNORE = "ignore"


class BlankPolicy(StrEnum):
    """What a blank gold label becomes. CheXpert's labeler leaves a finding blank when the
    report does not mention it, which is read as negative."""

    ZEROS = "zeros"
    IGNORE = "ignore"


TableSource = str | Path | Mapping[str, Sequence[Any]] | Any  # Any: a pandas DataFrame


@dataclass(frozen=True)
class Range:
    """The values a numeric column may hold: a set of codes, or an interval."""

    allowed: tuple[float, ...] = ()
    low: float = -math.inf
    high: float = math.inf

    def describe(self) -> str:
        if self.allowed:
            return "not one of " + ", ".join(f"{v:g}" for v in self.allowed) + " or blank"
        return f"outside [{self.low:g}, {self.high:g}]"


LABEL_CODES = Range(allowed=(1.0, 0.0, -1.0))
PROBABILITY = Range(low=0.0, high=1.0)


@dataclass(frozen=True)
class Table:
    """A validated table: ids in file order and every other column as raw strings."""

    name: str  # how messages name it: the file path, or "gold"/"pred" for in-memory data
    ids: list[str]
    columns: dict[str, list[str]]  # canonical column name -> raw cell strings
    original: dict[str, str]  # canonical column name -> the name as written
    safe: dict[str, str]  # canonical column name -> the name as output shows it
    id_column: str | None
    lines: list[int] | None = None  # the file line of each row; None: rows in memory

    def where(self, row: int) -> str:
        """``line 7`` of a file, ``row 6`` of in-memory data (``row`` counts from 0)."""
        return where(self.lines, row)

    def label(self, column: str) -> str:
        """How a message names a column (see :func:`~radpilot.evaluate.inputs.safe_name`)."""
        safe = self.safe[column]
        return f"'{safe}'" if safe == self.original[column] else safe

    def shown_columns(self, columns: Iterable[str] | None = None) -> str:
        return ", ".join(self.label(c) for c in (self.columns if columns is None else columns))

    def numeric(self, column: str, *, valid: Range | None = None) -> NDArray[np.float64]:
        """The column as floats with NaN for blanks; the first bad cell is named."""
        import pandas as pd

        raw = pd.Series(self.columns[column], dtype=str).str.strip()
        blank = raw.str.lower().isin(BLANKS).to_numpy()
        out = np.array(pd.to_numeric(raw.where(~blank, "nan"), errors="coerce"), dtype=np.float64)
        problems = {
            "not a number": np.isnan(out) & ~blank,
            "infinite": np.isinf(out),
        }
        finite = np.isfinite(out)
        if valid is not None and valid.allowed:
            problems[valid.describe()] = finite & ~np.isin(out, valid.allowed)
        elif valid is not None:
            problems[valid.describe()] = finite & ((out < valid.low) | (out > valid.high))
        self._refuse(column, problems, out)
        out[blank] = np.nan
        return out

    def _refuse(
        self, column: str, problems: Mapping[str, NDArray[np.bool_]], values: NDArray[np.float64]
    ) -> None:
        bad = np.zeros(len(values), dtype=bool)
        for mask in problems.values():
            bad |= mask
        if not bad.any():
            return
        first = int(np.flatnonzero(bad)[0])
        kind = next(k for k, mask in problems.items() if mask[first])
        more = int(bad.sum()) - 1
        hint = ""
        if kind.startswith("outside") and np.all(values[bad] == -1.0):
            hint = " (-1 is a labeler's 'uncertain': convert labels to 0/1 calls first)"
        raise InputError(
            f"{self.name}: {self.where(first)}, column {self.label(column)}: {kind}"
            + (f" ({more:,} more such cell(s) in the column)" if more else "")
            + hint
        )


def _frame_like(source: Any) -> dict[str, list[Any]] | None:
    if hasattr(source, "to_dict") and hasattr(source, "columns"):
        return {str(c): source[c].tolist() for c in source.columns}
    if isinstance(source, Mapping):
        return {str(k): list(v) for k, v in source.items()}
    return None


def _cell(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return str(value)


def _in_memory(raw: dict[str, list[Any]], name: str) -> Records:
    lengths = {len(v) for v in raw.values()}
    if len(lengths) > 1:
        raise InputError(f"{name}: columns have different lengths {sorted(lengths)}")
    rows = [[_cell(v) for v in row] for row in zip(*raw.values(), strict=True)]
    return Records(name=name, header=list(raw), rows=rows, lines=None)


def read_table(
    source: TableSource, *, name: str, id_column: str | None = "id", by_order: bool = False
) -> Table:
    """Validate a gold or prediction table.

    ``by_order=True`` allows a table without the id column: rows are then numbered 0, 1, …
    (the CheXpert labeler's convention, one output row per input report).
    """
    raw = _frame_like(source)
    records = read_csv(Path(str(source))) if raw is None else _in_memory(raw, name)
    return table_from_records(records, id_column=id_column, by_order=by_order)


def _header_labels(records: Records) -> list[str]:
    labels = [column_label(h, i + 1) for i, h in enumerate(records.header)]
    seen: dict[str, int] = {}
    for i, h in enumerate(records.header):
        if h.strip() in seen:
            raise InputError(
                f"{records.name}: the header names columns {seen[h.strip()] + 1} and {i + 1} "
                f"the same ({labels[i]})"
            )
        seen[h.strip()] = i
    return labels


def _ids(records: Records, index: int) -> list[str]:
    ids = [row[index].strip() for row in records.rows]
    seen: dict[str, int] = {}
    for i, v in enumerate(ids):
        at = where(records.lines, i)
        if not v:
            raise InputError(f"{records.name}: {at}: the id is blank")
        if v in seen:
            raise InputError(
                f"{records.name}: {at} has the same id as {where(records.lines, seen[v])}; "
                "ids must be unique"
            )
        seen[v] = i
    return ids


def table_from_records(records: Records, *, id_column: str | None, by_order: bool) -> Table:
    """Check the header and the ids; keep every other column as strings."""
    name = records.name
    if not records.header:
        raise InputError(f"{name}: the table has no columns")
    if not records.rows:
        raise InputError(f"{name}: the table has no rows")
    labels = _header_labels(records)
    header = [h.strip() for h in records.header]
    id_index = header.index(id_column) if id_column is not None and id_column in header else None
    if id_index is not None:
        ids = _ids(records, id_index)
    elif by_order:
        ids = [str(i) for i in range(len(records.rows))]
    else:
        raise InputError(
            f"{name}: no id column '{id_column}'; its columns are {', '.join(labels[:20])}"
            + (" …" if len(labels) > 20 else "")
            + " (name the id column)"
        )
    columns: dict[str, list[str]] = {}
    original: dict[str, str] = {}
    safe: dict[str, str] = {}
    for j, col in enumerate(header):
        if j == id_index:
            continue
        canon = canonical_finding(col)
        if canon in columns:
            raise InputError(
                f"{name}: columns {labels[header.index(original[canon])]} and {labels[j]} both "
                f"mean '{canon}'; keep one"
            )
        columns[canon] = [row[j] for row in records.rows]
        original[canon], safe[canon] = col, safe_name(col, j + 1)
    return Table(
        name=name,
        ids=ids,
        columns=columns,
        original=original,
        safe=safe,
        id_column=None if id_index is None else header[id_index],
        lines=records.lines,
    )


def gold_labels(
    values: NDArray[np.float64],
    *,
    uncertain: UncertainPolicy,
    blank: BlankPolicy = BlankPolicy.ZEROS,
) -> tuple[NDArray[np.float64], dict[str, int]]:
    """1/0/-1/NaN gold values -> 1/0 with NaN for cases the policies exclude."""
    out = values.copy()
    n_uncertain = int(np.sum(values == -1))
    n_blank = int(np.sum(np.isnan(values)))
    if uncertain is UncertainPolicy.ONES:
        out[values == -1] = 1.0
    elif uncertain is UncertainPolicy.ZEROS:
        out[values == -1] = 0.0
    else:
        out[values == -1] = np.nan
    if blank is BlankPolicy.ZEROS:
        out[np.isnan(values)] = 0.0
    return out, {"n_uncertain": n_uncertain, "n_blank": n_blank}


def enum_value(enum: type[Enum], value: Any, *, option: str) -> Any:
    """A string from the user -> the Enum member, or an error listing the valid values."""
    if isinstance(value, enum):
        return value
    try:
        return enum(value)
    except ValueError:
        valid = ", ".join(str(m.value) for m in enum)
        raise InputError(f"{option} must be one of {valid}, got '{value}'") from None
