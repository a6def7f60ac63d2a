"""Reading report files one row at a time, and writing labelled rows.

Input is a file of reports in one of three shapes, streamed (never held whole):

* a headerless CSV with one report per row (the CheXpert labeler's input);
* a CSV whose first row is a header naming a text column (and maybe an id column);
* JSON Lines, one object per line, the report under a text key.

Auto-detection rule (``InputFormat.AUTO``): if the first non-blank line starts with
``{`` the file is JSON Lines, otherwise CSV. A CSV has a header when ``header=True``,
when ``text_column``/``id_column`` is given, or when a cell of its first row is one of
``TEXT_KEYS`` (case-insensitive, e.g. ``report``, ``text``, ``Reports``); otherwise it
is headerless and the report is the row (fields split by unquoted commas are joined
back with ``,``, and the row is reported).

Bytes are decoded by BOM (UTF-8, UTF-16, UTF-32), else by a UTF-16 NUL-pattern sniff,
else as UTF-8 line by line, where a line that is not UTF-8 falls back to cp1252 and then
latin-1 (reported per row): decoding never fails.

Nothing is dropped: every row read gives exactly one ``InputRow``, and a row that
cannot be labelled carries an ERROR ``RowProblem`` (its labels are left empty). A
report longer than ``MAX_REPORT_CHARS`` is labelled on its first ``MAX_REPORT_CHARS``
characters and reported as a warning. Problems name the row and line, never the text.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import os
import re
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import IO, Any, cast

from radpilot.errors import InputError

# Labelling a longer text is slow and never clinically useful in one report; the prefix
# keeps the findings and impression of any real report.
MAX_REPORT_CHARS = 100_000
TEXT_KEYS = ("report", "reports", "text", "report_text", "findings_impression", "note")
ID_KEYS = ("id", "report_id", "study_id", "accession", "accession_number", "uid")

_SNIFF_BYTES = 1 << 16
_BOMS = (  # longest first: the UTF-32-LE BOM starts with the UTF-16-LE one
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
# C0 controls except tab/newline/CR, DEL, C1 controls, and U+FFFD: never in a real report.
_BAD_RE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffd]")
_CONTROL_RE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_NON_ASCII_RE = re.compile("[^\x00-\x7f]")


class InputFormat(StrEnum):
    AUTO = "auto"
    CSV = "csv"
    JSONL = "jsonl"


class OutputFormat(StrEnum):
    CSV = "csv"  # the CheXpert labeler's output: Reports + one column per label
    JSONL = "jsonl"  # per row: id, labels, every mention with its evidence


class Severity(StrEnum):
    WARNING = "warning"  # the row was labelled anyway
    ERROR = "error"  # the row was left unlabelled


@dataclass(frozen=True, slots=True)
class RowProblem:
    row: int
    line: int
    severity: Severity
    message: str  # never the report text

    def __str__(self) -> str:
        return f"row {self.row} (line {self.line}): {self.message}"


def merge_problems(problems: Sequence[RowProblem]) -> RowProblem:
    """A row's problems as one (for one stderr line per row): the worst severity, the
    messages joined by '; '."""
    worst = (
        Severity.ERROR if any(p.severity is Severity.ERROR for p in problems) else Severity.WARNING
    )
    message = "; ".join(p.message for p in problems)
    return RowProblem(problems[0].row, problems[0].line, worst, message)


@dataclass(frozen=True, slots=True)
class InputRow:
    row: int  # 1-based, the row's position in the output
    id: str
    text: str  # as read (control characters removed); "" when unusable
    problems: tuple[RowProblem, ...] = ()
    line: int = 0  # the file line the row starts on

    @property
    def usable(self) -> bool:
        return not any(p.severity is Severity.ERROR for p in self.problems)


@dataclass(frozen=True, slots=True)
class LabelledRow:
    """One output row. ``labels`` maps a label-set name to values in its column order
    (1.0 present, 0.0 absent, -1.0 uncertain, None not mentioned)."""

    row: int
    id: str
    text: str
    labels: dict[str, tuple[float | None, ...]]
    mentions: tuple[dict[str, Any], ...] | None = None
    problems: tuple[RowProblem, ...] = ()

    @property
    def labelled(self) -> bool:
        return not any(p.severity is Severity.ERROR for p in self.problems)


@dataclass
class _Lines:
    """Decoded lines of a binary file, with the notes of lines that needed a fallback."""

    fh: IO[bytes]
    encoding: str
    bytes_read: int = 0
    notes: list[str] = field(default_factory=list)

    def __iter__(self) -> Iterator[str]:
        if self.encoding in ("utf-8", "utf-8-sig"):
            yield from self._utf8_lines()
        else:
            yield from self._wide_lines()

    def _utf8_lines(self) -> Iterator[str]:
        first = self.encoding == "utf-8-sig"
        for raw in self.fh:
            self.bytes_read += len(raw)
            if first:
                raw = raw.removeprefix(codecs.BOM_UTF8)
                first = False
            try:
                yield raw.decode("utf-8")
            except UnicodeDecodeError:
                try:
                    text = raw.decode("cp1252")
                    self.notes.append("not valid UTF-8; decoded as cp1252")
                except UnicodeDecodeError:
                    text = raw.decode("latin-1")
                    self.notes.append("not valid UTF-8 or cp1252; decoded as latin-1")
                yield text

    def _wide_lines(self) -> Iterator[str]:
        text = io.TextIOWrapper(self.fh, encoding=self.encoding, errors="replace", newline="")  # type: ignore[type-var]
        for line in text:
            self.bytes_read = self.fh.tell()
            if "\ufffd" in line:
                self.notes.append(f"bytes that are not {self.encoding} were replaced")
            yield line


def sniff_encoding(head: bytes) -> str:
    """The encoding to read a file by, from its first bytes (see the module docstring)."""
    for bom, name in _BOMS:
        if head.startswith(bom):
            return name
    sample = head[:4096]
    if len(sample) >= 4:
        even, odd = sample[0::2], sample[1::2]
        # ASCII text in UTF-16 has a NUL in every other byte.
        if odd.count(0) > 0.4 * len(odd) and even.count(0) < 0.05 * len(even):
            return "utf-16-le"
        if even.count(0) > 0.4 * len(even) and odd.count(0) < 0.05 * len(odd):
            return "utf-16-be"
    return "utf-8"


def clean_text(text: str) -> tuple[str, str | None, bool]:
    """Control characters removed; a note of what was wrong; whether it is binary junk."""
    if _BAD_RE.search(text) is None:  # the fast path: nearly every report
        return text, None, False
    n = len(text)
    bad = len(_BAD_RE.findall(text))
    non_ascii = len(_NON_ASCII_RE.findall(text))
    if bad >= 2 and (bad > 0.10 * n or non_ascii > 0.30 * n):
        return "", f"looks like binary data ({bad} control bytes in {n} characters)", True
    cleaned = _CONTROL_RE.sub("", text)
    if cleaned == text:  # only U+FFFD: undecodable bytes, already reported per line
        return text, None, False
    return cleaned, f"removed {n - len(cleaned)} control/NUL character(s)", False


class ReportReader:
    """Iterate a report file as ``InputRow`` objects, in file order, in flat memory.

    Opening validates the file (missing, a directory, unreadable, empty: ``InputError``)
    and reads only its first bytes. Use as a context manager.
    """

    def __init__(
        self,
        path: Path | str,
        *,
        input_format: InputFormat = InputFormat.AUTO,
        text_column: str | None = None,
        id_column: str | None = None,
        header: bool | None = None,
        max_chars: int = MAX_REPORT_CHARS,
    ) -> None:
        self.path = Path(path)
        self.text_column = text_column
        self.id_column = id_column
        self.header = header
        self.max_chars = max_chars
        self.rows_read = 0
        self._owns_fh = str(path) != "-"
        self.size = 0  # unknown (a pipe)
        if not self._owns_fh:
            self.path = Path("<stdin>")
            raw = sys.stdin.buffer
            # peek() needs a buffered stream; test harnesses hand over a bare BytesIO
            self._fh = cast(
                io.BufferedReader,
                raw if hasattr(raw, "peek") else io.BufferedReader(raw),  # type: ignore[arg-type]
            )
        elif not self.path.exists():
            raise InputError(f"{self.path}: no such file")
        elif self.path.is_dir():
            raise InputError(f"{self.path}: is a directory, expected a CSV or JSONL file")
        try:
            if self._owns_fh:
                self._fh = cast(io.BufferedReader, open(self.path, "rb", buffering=_SNIFF_BYTES))
                self.size = os.fstat(self._fh.fileno()).st_size
            # peek, not read+seek: pipes (stdin, /dev/fd/N) cannot seek
            head = self._fh.peek(_SNIFF_BYTES)[:_SNIFF_BYTES]
        except OSError as exc:
            raise InputError(f"{self.path}: cannot read ({exc.strerror or exc})") from None
        self.encoding = sniff_encoding(head)
        sample = head.decode(self.encoding, errors="replace") if head else ""
        sample = sample.lstrip("\ufeff\x00 \t\r\n")
        if not sample:
            self.close()
            raise InputError(f"{self.path}: is empty, expected one report per row")
        if input_format is InputFormat.AUTO:
            input_format = InputFormat.JSONL if sample.startswith("{") else InputFormat.CSV
        self.format = input_format
        self._lines = _Lines(self._fh, self.encoding)
        self.columns: list[str] | None = None
        self._layout = "jsonl" if input_format is InputFormat.JSONL else "csv, no header row"
        try:
            self._rows = (
                self._jsonl_rows() if input_format is InputFormat.JSONL else self._csv_rows()
            )
        except BaseException:
            self.close()
            raise

    @property
    def layout(self) -> str:
        """How the file was read, e.g. "csv, header row, report column 'report'"."""
        return f"{self._layout}, {self.encoding}"

    @property
    def bytes_read(self) -> int:
        return self._lines.bytes_read

    def close(self) -> None:
        if self._owns_fh:
            self._fh.close()

    def __enter__(self) -> ReportReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __iter__(self) -> Iterator[InputRow]:
        return self._rows

    # -- shared --------------------------------------------------------------------

    def _make_row(
        self, line: int, rid: str | None, text: str, notes: list[tuple[Severity, str]]
    ) -> InputRow:
        self.rows_read += 1
        row = self.rows_read
        decode = list(dict.fromkeys(self._lines.notes))  # a multi-line row: say it once
        notes = [(Severity.WARNING, n) for n in decode] + notes
        self._lines.notes.clear()
        if not any(sev is Severity.ERROR for sev, _ in notes):
            text, note, junk = clean_text(text)
            if note:
                notes.append(
                    (
                        Severity.ERROR if junk else Severity.WARNING,
                        note + ("; left unlabelled" if junk else ""),
                    )
                )
            if not junk and not text.strip():
                notes.append((Severity.ERROR, "empty report; left unlabelled"))
            elif len(text) > self.max_chars:
                notes.append(
                    (
                        Severity.WARNING,
                        f"report has {len(text):,} characters, over the {self.max_chars:,} "
                        f"limit; labelled its first {self.max_chars:,}",
                    )
                )
        else:
            text = ""
        problems = tuple(RowProblem(row, line, sev, msg) for sev, msg in notes)
        return InputRow(
            row=row, id=rid if rid else str(row), text=text, problems=problems, line=line
        )

    # -- CSV -----------------------------------------------------------------------

    def _csv_rows(self) -> Iterator[InputRow]:
        # Eager: a bad header must fail before the caller opens (truncates) its output.
        reader = csv.reader(iter(self._lines))
        first = self._next_record(reader)
        if first is None:
            return iter(())
        fields, _, err = first
        has_header = self.header
        if has_header is None:
            has_header = (
                self.text_column is not None
                or self.id_column is not None
                or any(c.strip().lower() in TEXT_KEYS for c in fields)
            )
        if not has_header:
            return self._csv_body(reader, first, False, 0, None, 1)
        if err is not None:
            raise InputError(f"{self.path}: cannot parse the header row ({err})")
        self._lines.notes.clear()
        text_i, id_i = self._header_indexes(fields)
        self.columns = list(fields)
        self._layout = f"csv, header row, report column {fields[text_i]!r}" + (
            f", id column {fields[id_i]!r}" if id_i is not None else ""
        )
        return self._csv_body(reader, self._next_record(reader), True, text_i, id_i, len(fields))

    def _csv_body(
        self,
        reader: Any,
        nxt: tuple[list[str], int, str | None] | None,
        has_header: bool,
        text_i: int,
        id_i: int | None,
        width: int,
    ) -> Iterator[InputRow]:
        while nxt is not None:
            fields, line, err = nxt
            yield self._csv_row(fields, line, err, has_header, text_i, id_i, width)
            nxt = self._next_record(reader)

    @staticmethod
    def _next_record(reader: Any) -> tuple[list[str], int, str | None] | None:
        start = reader.line_num + 1
        try:
            return next(reader), start, None
        except StopIteration:
            return None
        except csv.Error as exc:
            # The reader resets itself on the next call; the rest of the bad line is lost.
            return [], start, str(exc).split(" - ")[0]

    def _header_indexes(self, header: list[str]) -> tuple[int, int | None]:
        lowered = [h.strip().lower() for h in header]

        def find(name: str) -> int | None:
            if name in header:
                return header.index(name)
            if name.strip().lower() in lowered:
                return lowered.index(name.strip().lower())
            return None

        if self.text_column is not None:
            text_i = find(self.text_column)
        else:
            text_i = next((i for i, h in enumerate(lowered) if h in TEXT_KEYS), None)
        if text_i is None:
            raise InputError(
                f"{self.path}: no text column "
                + (
                    f"{self.text_column!r} "
                    if self.text_column
                    else f"among {', '.join(TEXT_KEYS)} "
                )
                + f"in the header row; {self._describe_header(header)}"
            )
        if self.id_column is not None:
            id_i = find(self.id_column)
            if id_i is None:
                raise InputError(
                    f"{self.path}: no id column {self.id_column!r} in the header row; "
                    + self._describe_header(header)
                )
        else:
            id_i = next((i for i, h in enumerate(lowered) if h in ID_KEYS), None)
        return text_i, id_i

    @staticmethod
    def _describe_header(header: list[str]) -> str:
        # A headerless file's first row is a report: never echo long cells (PHI).
        if all(len(h) <= 40 and h.count(" ") <= 3 for h in header) and len(header) <= 50:
            return "its columns: " + ", ".join(repr(h) for h in header)
        return "the first row does not look like a header (omit the column options for a headerless file)"

    def _csv_row(
        self,
        fields: list[str],
        line: int,
        err: str | None,
        has_header: bool,
        text_i: int,
        id_i: int | None,
        width: int,
    ) -> InputRow:
        notes: list[tuple[Severity, str]] = []
        if err is not None:
            notes.append((Severity.ERROR, f"cannot parse as CSV ({err}); left unlabelled"))
            return self._make_row(line, None, "", notes)
        if not fields:
            notes.append((Severity.ERROR, "empty row; left unlabelled"))
            return self._make_row(line, None, "", notes)
        if not has_header:
            if len(fields) > 1:
                notes.append(
                    (
                        Severity.WARNING,
                        f"{len(fields)} fields in a headerless file; joined them with ',' "
                        "(quote reports that contain commas)",
                    )
                )
            return self._make_row(line, None, ",".join(fields), notes)
        rid = fields[id_i].strip() if id_i is not None and id_i < len(fields) else None
        if len(fields) > width:
            if text_i == width - 1:
                text = ",".join(fields[text_i:])
                what = "joined the extra fields into the report (last column)"
            else:
                text = fields[text_i]
                what = "extra fields ignored"
            notes.append(
                (Severity.WARNING, f"{len(fields)} fields, the header has {width}; {what}")
            )
            return self._make_row(line, rid, text, notes)
        if text_i >= len(fields):
            notes.append(
                (
                    Severity.ERROR,
                    f"{len(fields)} fields, the header has {width}; no report field; left unlabelled",
                )
            )
            return self._make_row(line, rid, "", notes)
        if len(fields) < width:
            notes.append((Severity.WARNING, f"{len(fields)} fields, the header has {width}"))
        return self._make_row(line, rid, fields[text_i], notes)

    # -- JSON Lines ----------------------------------------------------------------

    def _jsonl_rows(self) -> Iterator[InputRow]:
        for line_no, line in enumerate(self._lines, start=1):
            yield self._jsonl_row(line_no, line)

    def _jsonl_row(self, line_no: int, line: str) -> InputRow:
        notes: list[tuple[Severity, str]] = []
        if not line.strip():
            notes.append((Severity.ERROR, "empty line; left unlabelled"))
            return self._make_row(line_no, None, "", notes)
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            notes.append(
                (Severity.ERROR, f"not valid JSON ({exc.msg}, column {exc.colno}); left unlabelled")
            )
            return self._make_row(line_no, None, "", notes)
        if not isinstance(obj, dict):
            notes.append(
                (
                    Severity.ERROR,
                    f"expected a JSON object, got {type(obj).__name__}; left unlabelled",
                )
            )
            return self._make_row(line_no, None, "", notes)
        rid = self._jsonl_id(obj, notes)
        keys = (self.text_column,) if self.text_column else TEXT_KEYS
        key = next((k for k in keys if k in obj), None)
        if key is None:
            shown = ", ".join(repr(k)[:40] for k in list(obj)[:20])
            notes.append(
                (
                    Severity.ERROR,
                    f"no text field (looked for {', '.join(keys)}); its keys: {shown or 'none'}; left unlabelled",
                )
            )
            return self._make_row(line_no, rid, "", notes)
        value = obj[key]
        if value is None:
            value = ""
        if not isinstance(value, str):
            notes.append(
                (
                    Severity.ERROR,
                    f"field {key!r} is a {type(value).__name__}, expected a string; left unlabelled",
                )
            )
            return self._make_row(line_no, rid, "", notes)
        return self._make_row(line_no, rid, value, notes)

    def _jsonl_id(self, obj: dict[str, Any], notes: list[tuple[Severity, str]]) -> str | None:
        if self.id_column is not None:
            if self.id_column not in obj:
                notes.append(
                    (Severity.WARNING, f"no id field {self.id_column!r}; used the row number")
                )
                return None
            value = obj[self.id_column]
        else:
            key = next((k for k in ID_KEYS if k in obj), None)
            if key is None:
                return None
            value = obj[key]
        return None if value is None else str(value)


# -- writers -------------------------------------------------------------------------


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
    attributes and evidence spans, and the row's problems."""

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
