"""Writing labelled rows: the CheXpert labeler's CSV, or JSON Lines with every mention."""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from radpilot.errors import InputError
from radpilot.reports.rows import LabelledRow


def _fmt(value: float | None) -> str:
    return "" if value is None else repr(float(value))


class ChexpertCsvWriter:
    """The CheXpert labeler's output: ``Reports`` then one column per label, one row per
    input row in input order; values ``1.0``, ``0.0``, ``-1.0`` or empty."""

    def __init__(self, fh: IO[str], label_set: str, label_names: Sequence[str]) -> None:
        self._w = csv.writer(fh, lineterminator="\n")
        self._set = label_set
        self._empty = [""] * len(label_names)
        self._w.writerow(["Reports", *label_names])

    def write(self, row: LabelledRow) -> None:
        values = row.labels.get(self._set)
        self._w.writerow([row.text, *(map(_fmt, values) if values else self._empty)])


class MentionsJsonlWriter:
    """One JSON object per input row: row number, id, labels, every mention with its
    attributes and evidence spans, the row's problems, and, for a row that carried
    ``targets``, one assertion per target in the same order (``start``, ``end``,
    ``certainty``, ``historical``, ``hypothetical``, ``experiencer``, ``cues``; a target
    that could not be read has nulls and its ``error``)."""

    def __init__(self, fh: IO[str], label_set: str, label_names: Sequence[str]) -> None:
        self._fh = fh
        self._set = label_set
        self._names = tuple(label_names)

    def write(self, row: LabelledRow) -> None:
        values = row.labels.get(self._set)
        obj = {
            "row": row.row,
            "id": row.id,
            "labelled": row.labelled,
            "label_set": self._set,
            "labels": dict(zip(self._names, values or (None,) * len(self._names), strict=True)),
            "mentions": list(row.mentions or ()),
            "problems": [
                {"severity": p.severity.value, "line": p.line, "message": p.message}
                for p in row.problems
            ],
        }
        if row.targets is not None:  # only rows that carried "targets" (targets mode)
            obj["targets"] = list(row.targets)
        self._fh.write(json.dumps(obj, ensure_ascii=False) + "\n")


@contextmanager
def open_output(target: Path | str, *, input_path: Path | None = None) -> Iterator[IO[str]]:
    """A text file to write (``-`` is stdout), UTF-8, refusing to overwrite the input."""
    if str(target) == "-":
        yield sys.stdout
        sys.stdout.flush()
        return
    path = Path(target)
    if input_path is not None and path.exists() and path.resolve() == input_path.resolve():
        raise InputError(f"{path}: is the input file; choose another output")
    if path.is_dir():
        raise InputError(f"{path}: is a directory, expected an output file name")
    try:
        fh = open(path, "w", encoding="utf-8", newline="")
    except OSError as exc:
        raise InputError(f"{path}: cannot write ({exc.strerror or exc})") from None
    with fh:
        yield fh
