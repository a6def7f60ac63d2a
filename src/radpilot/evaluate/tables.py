"""Reading gold and prediction tables: the one input validator of the harness.

A table comes from a CSV path, a pandas DataFrame or a plain ``{column: values}`` dict.
Finding columns are matched across tables through the synonym data file (Effusion and
Pleural Effusion are one finding); rows are matched by id. Whatever cannot be matched is
reported (count and first few), never dropped silently. A bad cell is a one-line error that
names the file, the row, the column and the value.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum, StrEnum
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from radpilot.errors import InputError
from radpilot.evaluate.vocab import canonical_finding

log = logging.getLogger(__name__)

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
class Table:
    """A validated table: ids in file order and every other column as raw strings."""

    name: str  # how messages name it: the file path, or "gold"/"pred" for in-memory data
    ids: list[str]
    columns: dict[str, list[str]]  # canonical column name -> raw cell strings
    original: dict[str, str]  # canonical column name -> the name as written
    id_column: str | None
    line_offset: int = 2  # file line of data row 0 (header is line 1)

    def numeric(
        self, column: str, *, allowed: Iterable[float] | None = None
    ) -> NDArray[np.float64]:
        """The column as floats with NaN for blanks; a bad cell names its row and column."""
        import pandas as pd

        raw = pd.Series(self.columns[column], dtype=str).str.strip()
        blank = raw.str.lower().isin(BLANKS).to_numpy()
        out = np.array(pd.to_numeric(raw.where(~blank, "nan"), errors="coerce"), dtype=np.float64)
        allowed_set = None if allowed is None else set(allowed)
        ok = np.isfinite(out) | blank
        if allowed_set is not None:
            ok &= np.isin(out, list(allowed_set)) | blank
        out[blank] = np.nan
        bad = [
            f"line {i + self.line_offset} ('{self.columns[column][i]}')"
            for i in np.flatnonzero(~ok)[:3]
        ]
        n_bad = int(np.sum(~ok))
        if bad:
            expect = (
                "a finite number"
                if allowed_set is None
                else " / ".join(f"{v:g}" for v in sorted(allowed_set, reverse=True)) + " or blank"
            )
            raise InputError(
                f"{self.name}: column '{self.original[column]}' has {n_bad} value(s) that are "
                f"not {expect}, first at {', '.join(bad[:3])}"
            )
        return out


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


def _read_csv(path: Path) -> dict[str, list[str]]:
    import pandas as pd

    if not path.is_file():
        raise InputError(f"{path}: no such file")
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, na_filter=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(f"{path}: not a readable CSV ({first})") from None
    return {str(c): frame[c].tolist() for c in frame.columns}


def read_table(
    source: TableSource, *, name: str, id_column: str | None = "id", by_order: bool = False
) -> Table:
    """Validate a gold or prediction table.

    ``by_order=True`` allows a table without the id column: rows are then numbered 0, 1, …
    (the CheXpert labeler's convention, one output row per input report).
    """
    raw = _frame_like(source)
    label = name
    # CSV cells arrive as strings already; in-memory values (numbers, None, NaN) are converted.
    convert = raw is not None
    if raw is None:
        path = Path(str(source))
        raw = _read_csv(path)
        label = str(path)
    if not raw:
        raise InputError(f"{label}: the table has no columns")
    lengths = {len(v) for v in raw.values()}
    if len(lengths) != 1:
        raise InputError(f"{label}: columns have different lengths {sorted(lengths)}")
    n_rows = lengths.pop()
    if n_rows == 0:
        raise InputError(f"{label}: the table has no rows")

    id_col = None
    if id_column is not None and id_column in raw:
        id_col = id_column
        ids = [_cell(v).strip() for v in raw[id_col]]
        blank = [i for i, v in enumerate(ids) if not v]
        if blank:
            raise InputError(f"{label}: column '{id_col}' is blank at line {blank[0] + 2}")
        seen: dict[str, int] = {}
        for i, v in enumerate(ids):
            if v in seen:
                raise InputError(
                    f"{label}: id '{v}' appears twice (lines {seen[v] + 2} and {i + 2}); "
                    "ids must be unique"
                )
            seen[v] = i
    elif by_order:
        ids = [str(i) for i in range(n_rows)]
    else:
        raise InputError(
            f"{label}: no id column '{id_column}'; columns are {list(raw)[:20]} "
            "(name the id column with --id-column)"
        )

    columns: dict[str, list[str]] = {}
    original: dict[str, str] = {}
    for col, values in raw.items():
        if col == id_col:
            continue
        canon = canonical_finding(col)
        if canon in columns:
            raise InputError(
                f"{label}: columns '{original[canon]}' and '{col}' both mean '{canon}'; keep one"
            )
        columns[canon] = [_cell(v) for v in values] if convert else values
        original[canon] = col
    return Table(name=label, ids=ids, columns=columns, original=original, id_column=id_col)


@dataclass(frozen=True)
class IdMatch:
    """How two tables' rows were paired."""

    ids: list[str]  # matched ids, in the first table's order
    left_rows: NDArray[np.intp]
    right_rows: NDArray[np.intp]
    missing_in_right: list[str]
    missing_in_left: list[str]

    def summary(self, left: str, right: str) -> dict[str, Any]:
        return {
            "n_matched": len(self.ids),
            f"missing_in_{right}": {
                "count": len(self.missing_in_right),
                "first": self.missing_in_right[:FIRST_FEW],
            },
            f"missing_in_{left}": {
                "count": len(self.missing_in_left),
                "first": self.missing_in_left[:FIRST_FEW],
            },
        }


def match_ids(left: Table, right: Table) -> IdMatch:
    pos = {rid: i for i, rid in enumerate(right.ids)}
    lrows: list[int] = []
    rrows: list[int] = []
    missing_right: list[str] = []
    for i, rid in enumerate(left.ids):
        j = pos.get(rid)
        if j is None:
            missing_right.append(rid)
        else:
            lrows.append(i)
            rrows.append(j)
    left_set = set(left.ids)
    missing_left = [rid for rid in right.ids if rid not in left_set]
    if not lrows:
        raise InputError(
            f"{left.name} and {right.name} share no ids (first ids: {left.ids[:3]} vs "
            f"{right.ids[:3]}); check --id-column"
        )
    if missing_right or missing_left:
        log.info(
            "%d id(s) of %s are not in %s and %d of %s are not in %s; they are excluded",
            len(missing_right),
            left.name,
            right.name,
            len(missing_left),
            right.name,
            left.name,
        )
    return IdMatch(
        ids=[left.ids[i] for i in lrows],
        left_rows=np.asarray(lrows, dtype=np.intp),
        right_rows=np.asarray(rrows, dtype=np.intp),
        missing_in_right=missing_right,
        missing_in_left=missing_left,
    )


@dataclass(frozen=True)
class FindingColumns:
    findings: list[str]
    only_left: list[str] = field(default_factory=list)
    only_right: list[str] = field(default_factory=list)


def common_findings(
    left: Table,
    right: Table,
    *,
    exclude: Iterable[str] = (),
    wanted: Sequence[str] | None = None,
) -> FindingColumns:
    """Columns present in both tables (after synonyms), in the left table's order."""
    skip = {canonical_finding(c) for c in exclude} | {
        c for c in left.columns if c.lower() in TEXT_COLUMNS
    }
    shared = [c for c in left.columns if c in right.columns and c not in skip]
    if wanted:
        chosen = []
        for w in wanted:
            canon = canonical_finding(w)
            if canon not in shared:
                raise InputError(
                    f"finding '{w}' is not a column of both tables; shared findings: "
                    f"{', '.join(shared) or 'none'}"
                )
            chosen.append(canon)
        shared = chosen
    if not shared:
        raise InputError(
            f"{left.name} and {right.name} have no finding column in common "
            f"({left.name}: {list(left.original.values())[:15]}; "
            f"{right.name}: {list(right.original.values())[:15]})"
        )
    only_left = [left.original[c] for c in left.columns if c not in right.columns and c not in skip]
    only_right = [right.original[c] for c in right.columns if c not in left.columns]
    return FindingColumns(shared, only_left, only_right)


def gold_pred_matching(
    gold: Table, pred: Table, match: IdMatch, cols: FindingColumns
) -> dict[str, Any]:
    """The ``matching`` block of a gold-vs-prediction ``metrics.json``: what was paired,
    what was left out on either side, and which columns only one table had."""
    return {
        "gold": gold.name,
        "pred": pred.name,
        "n_gold": len(gold.ids),
        "n_pred": len(pred.ids),
        **match.summary("gold", "pred"),
        "findings": cols.findings,
        "gold_only_columns": cols.only_left,
        "pred_only_columns": cols.only_right,
    }


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
