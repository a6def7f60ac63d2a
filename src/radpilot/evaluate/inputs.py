"""Reading the harness's input files: CSV and JSONL, decoded strictly, each record with the
file line it starts on.

Every problem is one :class:`~radpilot.errors.InputError` line naming the file and the line
(a quoted report may span lines, so the line is where its record starts). No message
quotes a cell: gold and labeler files hold report text, ids may be accession numbers.
Accepted: UTF-8 (with or without a byte-order mark) and UTF-16 with a byte-order mark.
Refused with the line it happens on: other encodings, NUL bytes, a quote that never
closes, a row with more or fewer fields than the header.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from radpilot.errors import InputError
from radpilot.reports.labelnames import is_known

_BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
# A header cell shown in messages must look like a column name: a headerless file's first
# row is a report, and its text must never reach the terminal.
_NAME_LIKE = re.compile(r"[\w#%().+/-]{1,32}( [\w#%().+/-]{1,32})?")
# A labeler's CSV holds whole reports; the csv module's default limit (131,072 characters)
# would refuse a long one that `radpilot label` itself accepts.
MAX_FIELD_CHARS = 10_000_000


@dataclass(frozen=True)
class Records:
    """A table as read from a file: the header, the rows and the line each row starts on."""

    name: str  # how messages name the file
    header: list[str]
    rows: list[list[str]]
    lines: list[int] | None  # None: rows held in memory, not read from a file


def where(lines: list[int] | None, row: int) -> str:
    """``line 7`` of a file, ``row 6`` of in-memory data (``row`` counts from 0)."""
    return f"line {lines[row]}" if lines is not None else f"row {row + 1}"


def safe_name(name: str, position: int) -> str:
    """How output names a column: its name when that is a known finding or looks like a
    column name, else its position (``column 3``)."""
    if is_known(name) or (len(name) <= 32 and _NAME_LIKE.fullmatch(name)):
        return name
    return f"column {position}"


def column_label(name: str, position: int) -> str:
    """A column in a message: ``'Edema'``, or ``column 3`` for a name not to be shown."""
    safe = safe_name(name, position)
    return f"'{safe}'" if safe == name else safe


def read_bytes(path: Path) -> bytes:
    if path.is_dir():
        raise InputError(f"{path}: is a folder, expected a file")
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror or type(exc).__name__})") from None


def decode(data: bytes, where: str) -> str:
    """UTF-8 or BOM-marked UTF-16 bytes -> text; anything else names the first bad line."""
    body, encoding = data, "utf-8"
    for bom, name in _BOMS:
        if data.startswith(bom):
            body, encoding = data[len(bom) :], name
            break
    try:
        text = body.decode(encoding)
    except UnicodeDecodeError as exc:
        line = body[: exc.start].decode(encoding, errors="replace").count("\n") + 1
        raise InputError(
            f"{where}: line {line} is not {encoding.upper()} text (save the file as UTF-8)"
        ) from None
    nul = text.find("\x00")
    if nul >= 0:
        raise InputError(
            f"{where}: line {text.count(chr(10), 0, nul) + 1} holds a NUL byte: not a text "
            "file (or UTF-16 without a byte-order mark)"
        )
    return text


@contextmanager
def _field_limit() -> Iterator[None]:
    """Long fields allowed while one file is read. The csv module's limit is process-wide,
    so it is put back afterwards rather than left changed for every other reader."""
    before = csv.field_size_limit()
    csv.field_size_limit(max(before, MAX_FIELD_CHARS))
    try:
        yield
    finally:
        csv.field_size_limit(before)


def _csv_records(text: str, where: str) -> tuple[list[str], list[list[str]], list[int]]:
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    header: list[str] = []
    rows: list[list[str]] = []
    lines: list[int] = []
    start = 1
    try:
        for record in reader:
            if record and not header:
                header = record
            elif record and len(record) != len(header):
                raise InputError(
                    f"{where}: line {start} has {len(record)} field(s), the header has "
                    f"{len(header)}"
                )
            elif record:
                rows.append(record)
                lines.append(start)
            start = reader.line_num + 1
    except csv.Error as exc:
        if "unexpected end of data" in str(exc):
            raise InputError(
                f"{where}: line {start}: a quoted field opened here is never closed"
            ) from None
        raise InputError(f"{where}: line {reader.line_num}: not valid CSV ({exc})") from None
    return header, rows, lines


def read_csv(path: Path) -> Records:
    """A CSV file with a header row; blank lines are skipped."""
    where = str(path)
    text = decode(read_bytes(path), where)
    if not text.strip():
        raise InputError(f"{where}: the file is empty")
    with _field_limit():
        header, rows, lines = _csv_records(text, where)
    return Records(name=where, header=header, rows=rows, lines=lines)


_JSON_TYPES = {type(None): "null", bool: "true/false", dict: "an object", list: "an array"}


def _json_line(where: str, number: int, line: str) -> Any:
    try:
        return json.loads(line)
    except json.JSONDecodeError as exc:
        raise InputError(f"{where}: line {number} is not valid JSON ({exc.msg})") from None
    except RecursionError:
        raise InputError(f"{where}: line {number} is nested too deeply") from None


def read_jsonl(path: Path, keys: Sequence[str]) -> Records:
    """A JSON-lines file of objects, each holding ``keys`` (strings; a number is read as its
    text); the header is ``keys``."""
    where = str(path)
    text = decode(read_bytes(path), where)
    rows: list[list[str]] = []
    lines: list[int] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        obj = _json_line(where, number, line)
        if not isinstance(obj, dict):
            raise InputError(f"{where}: line {number} is not a JSON object")
        row = []
        for key in keys:
            value = obj.get(key)
            if isinstance(value, bool) or not isinstance(value, str | int):
                what = "nothing" if key not in obj else _JSON_TYPES.get(type(value), "a number")
                raise InputError(f"{where}: line {number}: '{key}' must be a string, got {what}")
            row.append(str(value))
        rows.append(row)
        lines.append(number)
    if not rows:
        raise InputError(f"{where}: the file has no records")
    return Records(name=where, header=list(keys), rows=rows, lines=lines)
