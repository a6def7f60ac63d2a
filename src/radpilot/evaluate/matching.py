"""Pairing the rows of a gold table with another table's, and accounting for every case.

Rows are paired by id (or, for a labeler's output, by order). Nothing is dropped
silently: a gold case the other table has no value for (no row with its id, or a blank
cell) is a *missing value*. By default a missing value is an error, because scoring only
the cases a model answered flatters the model; with ``allow_missing=True`` such cases are
left out and counted per finding in ``metrics.json`` (``"missing"``) and in a warning line.
Rows of the other table whose id is not in the gold are not cases: they are counted in
a note. Messages name files, lines and columns, never ids or cell contents.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from radpilot.errors import InputError
from radpilot.evaluate.tables import FIRST_FEW, TEXT_COLUMNS, Table
from radpilot.reports.labelnames import canonical_finding


class MissingValuesError(InputError):
    """Gold cases without a value in another table, and missing values were not allowed."""


@dataclass(frozen=True)
class Alignment:
    """Where each gold row is in another table."""

    gold: Table
    other: Table
    rows: NDArray[np.intp]  # per gold row: its row in ``other``, or -1
    extra: list[int]  # rows of ``other`` that no gold row pairs with

    @property
    def present(self) -> NDArray[np.bool_]:
        return self.rows >= 0

    @property
    def n_matched(self) -> int:
        return int(self.present.sum())

    def take(self, values: NDArray[np.float64]) -> NDArray[np.float64]:
        """``values`` (one per row of ``other``) in gold order; NaN where there is no row."""
        out = np.full(len(self.rows), np.nan)
        out[self.present] = values[self.rows[self.present]]
        return out

    def absent_rows(self) -> list[int]:
        return np.flatnonzero(~self.present).tolist()

    def summary(self, gold_key: str, other_key: str) -> dict[str, Any]:
        """Counts of paired and unpaired rows, and where the first unpaired ones are."""
        absent = self.absent_rows()
        return {
            "n_matched": self.n_matched,
            f"missing_in_{other_key}": {
                "count": len(absent),
                "first_at": [self.gold.where(i) for i in absent[:FIRST_FEW]],
            },
            f"missing_in_{gold_key}": {
                "count": len(self.extra),
                "first_at": [self.other.where(i) for i in self.extra[:FIRST_FEW]],
            },
        }

    def extra_note(self) -> str | None:
        if not self.extra:
            return None
        return (
            f"{self.other.name}: {len(self.extra):,} row(s) whose id is not in "
            f"{self.gold.name}, not scored (first at {self.other.where(self.extra[0])})"
        )


def align(gold: Table, other: Table) -> Alignment:
    """Pair rows by id, in the gold's order."""
    pos = {rid: i for i, rid in enumerate(other.ids)}
    rows = np.fromiter((pos.get(rid, -1) for rid in gold.ids), dtype=np.intp, count=len(gold.ids))
    if not (rows >= 0).any():
        raise InputError(
            f"{gold.name} and {other.name} share no ids; check that both name the same "
            "id column and the same cases"
        )
    paired = set(rows[rows >= 0].tolist())
    return Alignment(gold, other, rows, [j for j in range(len(other.ids)) if j not in paired])


def align_by_order(gold: Table, other: Table) -> Alignment:
    """Pair row i with row i (a labeler writes one output row per input report)."""
    if len(gold.ids) != len(other.ids):
        raise InputError(
            f"{gold.name} has {len(gold.ids):,} rows and {other.name} has {len(other.ids):,}: "
            "without an id column rows are paired by order, so the counts must agree "
            "(or name an id column)"
        )
    return Alignment(gold, other, np.arange(len(gold.ids), dtype=np.intp), [])


@dataclass(frozen=True)
class Missing:
    """Gold cases another table gives no value for, for one finding (or whole rows)."""

    table: str
    finding: str | None  # None: the whole row is missing, every finding of it
    no_row: int  # gold cases whose id has no row there
    blank: int  # gold cases whose row there has a blank cell
    first_at: str

    @property
    def count(self) -> int:
        return self.no_row + self.blank

    def to_dict(self) -> dict[str, Any]:
        return {
            "table": self.table,
            "finding": self.finding,
            "count": self.count,
            "no_row": self.no_row,
            "blank": self.blank,
            "first_at": self.first_at,
        }

    def warning(self, noun: str) -> str:
        what = f"'{self.finding}'" if self.finding else "every finding"
        return (
            f"{self.table}: {self.count:,} gold case(s) without a {noun} left out of {what} "
            f"({self.no_row:,} without a row, {self.blank:,} blank; first: {self.first_at})"
        )


def find_missing(
    al: Alignment,
    wanted: NDArray[np.bool_],
    values: NDArray[np.float64] | None = None,
    *,
    finding: str | None = None,
) -> Missing | None:
    """The gold rows in ``wanted`` that ``al.other`` has no value for. ``values`` is that
    table's column in gold order (NaN: blank or no row); without it only absent rows count."""
    no_row = wanted & ~al.present
    blank = wanted & al.present
    blank = blank & np.isnan(values) if values is not None else np.zeros_like(blank)
    either = no_row | blank
    if not either.any():
        return None
    i = int(np.flatnonzero(either)[0])
    first = (
        f"{al.gold.name} {al.gold.where(i)} has no row in {al.other.name}"
        if no_row[i]
        else f"{al.other.name} {al.other.where(int(al.rows[i]))} is blank"
    )
    return Missing(al.other.name, finding, int(no_row.sum()), int(blank.sum()), first)


@dataclass
class Accounting:
    """Every gold case that was not scored, and why; raises or warns once, for all."""

    noun: str  # "prediction", "label", "report"
    allow: bool
    missing: list[Missing] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(self, item: Missing | None) -> None:
        if item is not None:
            self.missing.append(item)

    def note(self, text: str | None) -> None:
        if text:
            self.notes.append(text)

    def check(self) -> None:
        """Raise one line for every missing value, unless they are allowed."""
        if not self.missing or self.allow:
            return
        first = self.missing[0]
        what = f" for '{first.finding}'" if first.finding else ""
        more = len(self.missing) - 1
        raise MissingValuesError(
            f"{first.table}: {first.count:,} gold case(s) have no {self.noun}{what} "
            f"(first: {first.first_at})"
            + (f"; {more} more finding(s) or file(s) miss {self.noun}s too" if more else "")
            + f"; allow missing {self.noun}s to score without them"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "allowed": self.allow,
            "n_values": sum(m.count for m in self.missing),
            "values": [m.to_dict() for m in self.missing],
        }

    def warnings(self) -> list[str]:
        return [m.warning(self.noun) for m in self.missing]


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
                    f"finding '{w}' is not a column of both {left.name} and {right.name}; "
                    f"shared findings: {', '.join(shared) or 'none'}"
                )
            chosen.append(canon)
        shared = chosen
    if not shared:
        raise InputError(
            f"{left.name} and {right.name} have no finding column in common "
            f"({left.name}: {left.shown_columns(list(left.columns)[:15])}; "
            f"{right.name}: {right.shown_columns(list(right.columns)[:15])})"
        )
    only_left = [left.safe[c] for c in left.columns if c not in right.columns and c not in skip]
    only_right = [
        right.safe[c]
        for c in right.columns
        if c not in left.columns and c.lower() not in TEXT_COLUMNS
    ]
    return FindingColumns(shared, only_left, only_right)


def column_notes(left: Table, right: Table, cols: FindingColumns) -> list[str]:
    """A note for each table's columns that the other lacks (a misspelled finding shows)."""
    out = []
    for table, other, only in ((left, right, cols.only_left), (right, left, cols.only_right)):
        if only:
            out.append(
                f"{table.name}: column(s) not in {other.name}, not scored: {', '.join(only)}"
            )
    return out


def gold_pred_matching(al: Alignment, cols: FindingColumns) -> dict[str, Any]:
    """The ``matching`` block of a gold-vs-prediction ``metrics.json``: what was paired,
    what was left out on either side, and which columns only one table had."""
    return {
        "gold": al.gold.name,
        "pred": al.other.name,
        "n_gold": len(al.gold.ids),
        "n_pred": len(al.other.ids),
        **al.summary("gold", "pred"),
        "findings": cols.findings,
        "gold_only_columns": cols.only_left,
        "pred_only_columns": cols.only_right,
    }
