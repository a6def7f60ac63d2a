"""Writing labelled rows: the CheXpert labeler's CSV, or JSON Lines with every mention."""

from __future__ import annotations

import csv
import io
import json
import re
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import IO

from radpilot.errors import InputError
from radpilot.reports.models import Mention
from radpilot.reports.rows import LabelledRow


def _fmt(value: float | None) -> str:
    return "" if value is None else repr(float(value))


# Not 0.0: -0.0 == 0.0 would find it, and repr tells them apart.
_CELLS: dict[float | None, str] = {v: _fmt(v) for v in (1.0, -1.0, None)}


def _cells(values: tuple[float | None, ...]) -> list[str]:
    """The CSV cells of one row's label values (the usual ones looked up)."""
    cells = _CELLS
    return [cells[v] if v in cells else _fmt(v) for v in values]


# One encoder for every row (what json.dumps(obj, ensure_ascii=False) writes, less the
# check for circular references that plain row dicts cannot have).
_ENCODE = json.JSONEncoder(ensure_ascii=False, check_circular=False).encode


def mentions_array(mentions: Sequence[Mention]) -> str:
    """``mentions`` as the JSON array ``json.dumps([m.to_dict() ...], ensure_ascii=False)``
    writes (a string pickles to the parent far faster than the dicts)."""
    return "[" + ", ".join([_ENCODE(m.to_dict()) for m in mentions]) + "]"


def _csv_line(cells: list[str]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerow(cells)
    return out.getvalue()


_NEEDS_QUOTES = re.compile(r'[,"\n]')  # what the csv module's default dialect quotes


def _quoted(text: str) -> str:
    """``text`` as the csv module writes it in a row of several cells."""
    if _NEEDS_QUOTES.search(text) is None:
        return text
    return '"' + text.replace('"', '""') + '"'


@lru_cache(maxsize=1)
def _quoting_matches_csv() -> bool:
    """Does ``_quoted`` write every ASCII character (alone and in text) as this Python's
    csv module does? If not, rows go through ``csv.writer`` (slower, the same bytes)."""
    for code in range(128):
        for text in (chr(code), f"a{chr(code)}b", f"{chr(code)} x", f'"{chr(code)}"'):
            if _csv_line([text, "1.0", ""]) != f"{_quoted(text)},1.0,\n":
                return False
    return True


class ChexpertCsvWriter:
    """The CheXpert labeler's output: ``Reports`` then one column per label, one row per
    input row in input order; values ``1.0``, ``0.0``, ``-1.0`` or empty. Rows are written
    as ``csv.writer`` writes them (its default dialect, ``\\n`` line ends), without its
    per-character pass over each report's cells when ``_quoting_matches_csv``."""

    def __init__(self, fh: IO[str], label_set: str, label_names: Sequence[str]) -> None:
        self._fh = fh
        self._w = csv.writer(fh, lineterminator="\n")
        self._set = label_set
        self._empty = [""] * len(label_names)
        self._fast = bool(label_names) and _quoting_matches_csv()
        self._w.writerow(["Reports", *label_names])

    def write(self, row: LabelledRow) -> None:
        values = row.labels.get(self._set)
        cells = _cells(values) if values else self._empty
        if self._fast:  # label cells never need quotes
            self._fh.write(f"{_quoted(row.text)},{','.join(cells)}\n")
        else:
            self._w.writerow([row.text, *cells])


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
        labels = dict(zip(self._names, values or (None,) * len(self._names), strict=True))
        problems = [
            {"severity": p.severity.value, "line": p.line, "message": p.message}
            for p in row.problems
        ]
        if row.mentions_json is not None:  # spliced in where the encoder would write it
            head = {"row": row.row, "id": row.id, "labelled": row.labelled}
            head |= {"label_set": self._set, "labels": labels}
            rest: dict[str, object] = {"problems": problems}
            if row.targets is not None:
                rest["targets"] = list(row.targets)
            line = f'{_ENCODE(head)[:-1]}, "mentions": {row.mentions_json}, {_ENCODE(rest)[1:]}\n'
            self._fh.write(line)
            return
        obj = {
            "row": row.row,
            "id": row.id,
            "labelled": row.labelled,
            "label_set": self._set,
            "labels": labels,
            "mentions": list(row.mentions or ()),
            "problems": problems,
        }
        if row.targets is not None:  # only rows that carried "targets" (targets mode)
            obj["targets"] = list(row.targets)
        self._fh.write(_ENCODE(obj) + "\n")


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
