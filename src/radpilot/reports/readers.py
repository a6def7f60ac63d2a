"""Reading a file of reports one row at a time, in flat memory.

Input is one of four shapes:

* a headerless CSV with one report per row (the CheXpert labeler's input);
* a CSV whose first row is a header naming a text column (and maybe an id column);
* JSON Lines, one object per line, the report under a text key (and optionally
  ``"targets": [{"start", "end"}, ...]``, spans to assert: :mod:`radpilot.reports.targetrows`);
* OpenI XML (a folder, one ``.xml`` or a ``.tgz`` such as ``NLMCXR_reports.tgz``): one
  row per file, id = report id, text = FINDINGS then IMPRESSION (``openiinput``).

Auto-detection (``InputFormat.AUTO``): a folder, ``.xml``, ``.tgz``, ``.tar.gz`` or ``.tar``
is OpenI; else a file whose first non-blank line starts with ``{`` is JSON Lines; else CSV.
A CSV has a header when ``header=True``, when ``text_column``/``id_column`` is given, or
when a cell of its first row is one of ``TEXT_KEYS`` (case-insensitive, e.g. ``report``,
``text``, ``Reports``); otherwise it is headerless and the report is the row (fields split
by unquoted commas are joined back with ``,``, and the row is reported). CSV records are
read by :mod:`radpilot.reports.csvrecords`: a quote that is never closed is caught and
named, never a silent merge of the rest of the file. Decoding never fails
(:mod:`radpilot.reports.textfile`).

Nothing is dropped: every row read gives exactly one ``InputRow``, and a row that cannot
be labelled carries an ERROR ``RowProblem`` (its labels are left empty). A report longer
than ``MAX_REPORT_CHARS`` is labelled on its first ``MAX_REPORT_CHARS`` characters and
reported as a warning. Problems name the row and line (or file), never the text, never
an identifier.
"""

from __future__ import annotations

import io
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

from radpilot.errors import InputError
from radpilot.reports.csvrecords import CsvRecords, Record
from radpilot.reports.openiinput import is_openi_path, read_openi
from radpilot.reports.rows import (
    MAX_REPORT_CHARS,
    InputFormat,
    InputRow,
    RowProblem,
    Severity,
    TargetSpan,
)
from radpilot.reports.targetrows import read_targets_field
from radpilot.reports.textfile import SNIFF_BYTES, DecodedLines, clean_text, sniff_encoding

TEXT_KEYS = ("report", "reports", "text", "report_text", "findings_impression", "note")
ID_KEYS = ("id", "report_id", "study_id", "accession", "accession_number", "uid")

Notes = list[tuple[Severity, str]]
_NO_TARGETS: Any = object()  # a JSONL row without a "targets" key (output: none either)
MAX_TARGET_OFFSET = 1 << 62  # offsets of an unusable row's targets are not checked


class ReportReader:
    """Iterate a report file as ``InputRow`` objects, in file order, in flat memory.

    Opening validates the file (missing, unreadable, empty, no text column: ``InputError``)
    and reads only its first bytes (OpenI input: every file). Use as a context manager.
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
        self.size = 0  # bytes, 0 when unknown (a pipe)
        self.columns: list[str] | None = None
        self.encoding = ""
        self._owns_fh = False
        self._lines: DecodedLines | None = None
        stdin = str(path) == "-"
        if stdin:
            self.path = Path("<stdin>")
        elif not self.path.exists():
            raise InputError(f"{self.path}: no such file")
        if input_format is InputFormat.OPENI or (
            input_format is InputFormat.AUTO and not stdin and is_openi_path(self.path)
        ):
            self.format = InputFormat.OPENI
            self._rows = self._openi_rows()
            return
        if self.path.is_dir():
            raise InputError(f"{self.path}: is a directory, expected a CSV or JSONL file")
        self._open_text(stdin, input_format)

    def _open_text(self, stdin: bool, input_format: InputFormat) -> None:
        if stdin:
            raw = sys.stdin.buffer
            # peek() needs a buffered stream; test harnesses hand over a bare BytesIO
            self._fh = cast(
                io.BufferedReader,
                raw if hasattr(raw, "peek") else io.BufferedReader(raw),  # type: ignore[arg-type]
            )
        try:
            if not stdin:
                self._fh = cast(io.BufferedReader, open(self.path, "rb", buffering=SNIFF_BYTES))
                self._owns_fh = True
                self.size = os.fstat(self._fh.fileno()).st_size
            # peek, not read+seek: pipes (stdin, /dev/fd/N) cannot seek
            head = self._fh.peek(SNIFF_BYTES)[:SNIFF_BYTES]
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
        self._lines = DecodedLines(self._fh, self.encoding)
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
        """How the file was read, e.g. "csv, header row, report column 'report', utf-8"."""
        if self.format is InputFormat.OPENI:
            return self._layout
        return f"{self._layout}, {self.encoding}"

    @property
    def bytes_read(self) -> int:
        return self._lines.bytes_read if self._lines is not None else 0

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
        self,
        line: int,
        rid: str | None,
        text: str,
        notes: Notes,
        source: str | None = None,
        targets: Any = _NO_TARGETS,
    ) -> InputRow:
        self.rows_read += 1
        row = self.rows_read
        if self._lines is not None and self._lines.notes:
            decode = list(dict.fromkeys(self._lines.notes))  # a multi-line row: say it once
            notes = [(Severity.WARNING, n) for n in decode] + notes
            self._lines.notes.clear()
        has_targets = targets is not _NO_TARGETS
        if not any(sev is Severity.ERROR for sev, _ in notes):
            text = self._check_text(text, notes, keep_length=has_targets)
        else:
            text = ""
        spans = self._targets(targets, text, notes) if has_targets else None
        problems = tuple(RowProblem(row, line, sev, msg, source) for sev, msg in notes)
        return InputRow(row, rid if rid else str(row), text, problems, line, source, spans)

    def _targets(self, raw: Any, text: str, notes: Notes) -> tuple[TargetSpan, ...]:
        """A row's targets against its text as labelled; an unusable row's keep their place."""
        if any(sev is Severity.ERROR for sev, _ in notes):
            spans, _ = read_targets_field(raw, MAX_TARGET_OFFSET, MAX_TARGET_OFFSET)
            return tuple(TargetSpan(s.start, s.end, "the row was left unlabelled") for s in spans)
        spans, note = read_targets_field(raw, len(text), self.max_chars)
        if note is not None:
            notes.append((Severity.WARNING, note))
        return spans

    def _check_text(self, text: str, notes: Notes, *, keep_length: bool = False) -> str:
        return check_text(text, notes, self.max_chars, keep_length=keep_length)

    # -- OpenI XML -----------------------------------------------------------------

    def _openi_rows(self) -> Iterator[InputRow]:
        # Eager: an unreadable archive must fail before the caller opens its output.
        items = read_openi(self.path)
        self._layout = f"openi xml, {len(items):,} files"
        return self._openi_body(items)

    def _openi_body(self, items: list[Any]) -> Iterator[InputRow]:
        for n, item in enumerate(items, start=1):
            notes: Notes = []
            if item.error is not None:
                notes.append((Severity.ERROR, f"{item.error}; left unlabelled"))
            yield self._make_row(n, item.id, item.text, notes, item.where)

    # -- CSV -----------------------------------------------------------------------

    def _csv_rows(self) -> Iterator[InputRow]:
        # Eager: a bad header must fail before the caller opens (truncates) its output.
        assert self._lines is not None
        records = iter(CsvRecords(self._lines))
        first = next(records, None)
        if first is None:
            return iter(())
        known = any(c.strip().lower() in TEXT_KEYS for c in first.fields)
        has_header = self.header
        if has_header is None:
            has_header = self.text_column is not None or self.id_column is not None or known
        if not has_header:
            return self._csv_body(records, first, False, 0, None, 1)
        if first.error is not None:
            raise InputError(f"{self.path}: cannot parse the header row ({first.error})")
        self._lines.notes.clear()
        fields = first.fields
        text_i, id_i = self._header_indexes(fields, known)
        self.columns = list(fields)
        self._layout = f"csv, header row, report column {fields[text_i]!r}" + (
            f", id column {fields[id_i]!r}" if id_i is not None else ""
        )
        return self._csv_body(records, next(records, None), True, text_i, id_i, len(fields))

    def _csv_body(
        self,
        records: Iterator[Record],
        nxt: Record | None,
        has_header: bool,
        text_i: int,
        id_i: int | None,
        width: int,
    ) -> Iterator[InputRow]:
        while nxt is not None:
            yield self._csv_row(nxt, has_header, text_i, id_i, width)
            nxt = next(records, None)

    def _header_indexes(self, header: list[str], known: bool) -> tuple[int, int | None]:
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
            wanted = (
                f"{self.text_column!r} (text_column)"
                if self.text_column
                else f"among {', '.join(TEXT_KEYS)}"
            )
            raise InputError(
                f"{self.path}: no text column {wanted} in the header row; "
                + self._describe_header(header, known)
            )
        id_i: int | None
        if self.id_column is not None:
            id_i = find(self.id_column)
            if id_i is None:
                raise InputError(
                    f"{self.path}: no id column {self.id_column!r} (id_column) in the header "
                    "row; " + self._describe_header(header, known)
                )
        else:
            id_i = next((i for i, h in enumerate(lowered) if h in ID_KEYS), None)
        return text_i, id_i

    @staticmethod
    def _describe_header(header: list[str], known: bool) -> str:
        # Only a row that names a known text column is surely a header: any other first
        # row may be a report or hold an accession number, so its cells are never shown.
        if known and len(header) <= 50 and all(len(h) <= 40 for h in header):
            return "its columns: " + ", ".join(repr(h) for h in header)
        return (
            f"the first row has {len(header)} field(s), not shown (it may be a report; "
            "a headerless file needs no column names)"
        )

    def _csv_row(
        self, record: Record, has_header: bool, text_i: int, id_i: int | None, width: int
    ) -> InputRow:
        fields, line = record.fields, record.line
        notes: Notes = []
        if record.warning is not None:
            notes.append((Severity.WARNING, record.warning))
        if record.error is not None:
            notes.append((Severity.ERROR, f"{record.error}; left unlabelled"))
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
        assert self._lines is not None
        for line_no, line in enumerate(self._lines, start=1):
            yield self._jsonl_row(line_no, line)

    def _jsonl_row(self, line_no: int, line: str) -> InputRow:
        notes: Notes = []
        obj = self._parse_json(line, notes)
        if not isinstance(obj, dict):
            return self._make_row(line_no, None, "", notes)
        rid = self._jsonl_id(obj, notes)
        targets = obj.get("targets", _NO_TARGETS)
        if targets is not _NO_TARGETS and line.count('"targets"') > 1:
            _note_repeated_targets(line, notes)
        keys = (self.text_column,) if self.text_column else TEXT_KEYS
        key = next((k for k in keys if k in obj), None)
        if key is None:
            # Keys are not shown: a JSON object can be keyed by an accession number.
            notes.append(
                (
                    Severity.ERROR,
                    f"no text field (looked for {', '.join(keys)}); the object has "
                    f"{len(obj)} key(s); left unlabelled",
                )
            )
            return self._make_row(line_no, rid, "", notes, targets=targets)
        value = obj[key]
        if value is None:
            value = ""
        if not isinstance(value, str):
            notes.append(
                (
                    Severity.ERROR,
                    f"field {key!r} is {_json_type(value)}, expected a string; left unlabelled",
                )
            )
            return self._make_row(line_no, rid, "", notes, targets=targets)
        return self._make_row(line_no, rid, value, notes, targets=targets)

    @staticmethod
    def _parse_json(line: str, notes: Notes) -> Any:
        """The line's JSON object, or None with an ERROR note saying why not."""
        if not line.strip():
            notes.append((Severity.ERROR, "empty line; left unlabelled"))
            return None
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            notes.append(
                (Severity.ERROR, f"not valid JSON ({exc.msg}, column {exc.colno}); left unlabelled")
            )
            return None
        except RecursionError:
            notes.append((Severity.ERROR, "JSON nested too deeply to read; left unlabelled"))
            return None
        except ValueError as exc:  # e.g. a number of more than 4,300 digits
            notes.append(
                (Severity.ERROR, f"not readable JSON ({type(exc).__name__}); left unlabelled")
            )
            return None
        if not isinstance(obj, dict):
            notes.append(
                (
                    Severity.ERROR,
                    f"expected a JSON object, got {_json_type(obj)}; left unlabelled",
                )
            )
            return None
        return obj

    def _jsonl_id(self, obj: dict[str, Any], notes: Notes) -> str | None:
        if self.id_column is not None:
            if self.id_column not in obj:
                notes.append(
                    (Severity.WARNING, f"no id field {self.id_column!r}; used the row number")
                )
                return None
            key = self.id_column
        else:
            found = next((k for k in ID_KEYS if k in obj), None)
            if found is None:
                return None
            key = found
        value = obj[key]
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            notes.append(
                (
                    Severity.WARNING,
                    f"id field {key!r} is {_json_type(value)}; used the row number",
                )
            )
            return None
        return str(value)


def _note_repeated_targets(line: str, notes: Notes) -> None:
    """JSON keeps the last of two equal keys, so a first list of targets would be lost
    without a word; the (rare) line that names "targets" twice is parsed again to count."""
    seen = 0

    def count(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        nonlocal seen
        seen = sum(1 for k, _ in pairs if k == "targets")  # the outermost object is last
        return dict(pairs)

    json.loads(line, object_pairs_hook=count)
    if seen > 1:
        notes.append(
            (Severity.WARNING, f'the key "targets" is given {seen} times; the last one was read')
        )


def _json_type(value: Any) -> str:
    """The JSON name of a value's type with its article (``dict`` -> "an object")."""
    names = {dict: "an object", list: "an array", str: "a string", bool: "a boolean"}
    return names.get(type(value), "null" if value is None else "a number")


def check_text(text: str, notes: Notes, max_chars: int, *, keep_length: bool = False) -> str:
    """A report's text as labelled (control characters removed), its problems appended to
    ``notes``: one rule for every reader (files here, DataFrame rows in radpilot.spark)."""
    text, note, junk = clean_text(text, keep_length=keep_length)
    if note:
        severity = Severity.ERROR if junk else Severity.WARNING
        notes.append((severity, note + ("; left unlabelled" if junk else "")))
    if not junk and not text.strip():
        notes.append((Severity.ERROR, "empty report; left unlabelled"))
    elif len(text) > max_chars:
        notes.append(
            (
                Severity.WARNING,
                f"report has {len(text):,} characters, over the {max_chars:,} "
                f"limit; labelled its first {max_chars:,}",
            )
        )
    return text
