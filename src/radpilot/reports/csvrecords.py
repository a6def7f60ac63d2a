"""CSV records with the line each starts on, read so that a broken quote loses nothing.

Python's ``csv`` module, in its default (lenient) mode, reads a quote that is never closed
as the start of one field that runs to the next quote character of the file, or to its end:
every report after it silently becomes part of one. Here records are read in strict mode,
which stops at exactly those places ("unexpected end of data", "',' expected after '\"'"),
and the lines of the record being read are kept, so that such a record is read again:

* one line (``"Heart normal, lungs clear`` as the last line, ``"Large" effusion``): read
  again leniently, as the default mode would, with a warning when its quote never closes;
* several lines, ending at the end of the file, or at a line where a field opens with a
  quote (the next report's opening quote closed the broken one), or past
  ``MAX_FIELD_CHARS``: the
  quote that opened on the record's first line is never closed. That line is read alone
  (a warning names it) and the lines after it are read again as records of their own, so
  rows out == rows in;
* several lines ending in text after a closing quote (``"two\\nlines" x``): read
  leniently as one record, as before.

A field may hold up to ``MAX_FIELD_CHARS`` characters (the ``csv`` default, 131,072, is
far below a long report; the labeller reads the first ``MAX_REPORT_CHARS`` of any field);
a longer one on one line is an error record.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

MAX_FIELD_CHARS = 10_000_000
# A record (all its lines) longer than this is treated as a broken quote too, so that the
# lines kept for a re-read stay bounded.
MAX_RECORD_CHARS = 2 * MAX_FIELD_CHARS


@dataclass(frozen=True, slots=True, init=False)
class Record:
    fields: list[str]
    line: int  # the line it starts on
    error: str | None = None  # it cannot be read: the row is an error row
    warning: str | None = None  # read, but something was off

    def __init__(
        self, fields: list[str], line: int, error: str | None = None, warning: str | None = None
    ) -> None:
        object.__setattr__(self, "fields", fields)
        object.__setattr__(self, "line", line)
        object.__setattr__(self, "error", error)
        object.__setattr__(self, "warning", warning)


class _RecordTooLong(Exception):
    pass


class _LineFeed:
    """The lines the csv reader pulls, numbered; keeps those of the current record and
    takes lines back to be read again."""

    def __init__(self, lines: Iterable[str]) -> None:
        self._lines = iter(lines)
        self._back: list[tuple[int, str]] = []  # to be read again, last first
        self._next_number = 1
        self.record: list[tuple[int, str]] = []
        self._chars = 0

    def __iter__(self) -> _LineFeed:
        return self

    def __next__(self) -> str:
        if self._back:
            item = self._back.pop()
        else:
            item = (self._next_number, next(self._lines))
            self._next_number += 1
        self.record.append(item)
        if len(self.record) > 1:  # only a multi-line record can grow without bound
            self._chars += len(item[1])
            if self._chars > MAX_RECORD_CHARS:
                raise _RecordTooLong
        return item[1]

    def begin(self) -> None:
        self.record.clear()
        self._chars = 0

    def read_again(self, items: list[tuple[int, str]]) -> None:
        self._back.extend(reversed(items))

    @property
    def next_line(self) -> int:
        return self._back[-1][0] if self._back else self._next_number


def _ensure_field_limit() -> None:
    # The limit is process-wide in the csv module; raising it never breaks another reader.
    if csv.field_size_limit() < MAX_FIELD_CHARS:
        csv.field_size_limit(MAX_FIELD_CHARS)


def _lenient(text: str) -> list[str]:
    """One line (or the lines of one record) as the csv module's default mode reads it."""
    fields = next(csv.reader([text]), [])
    if fields and fields[-1].endswith("\n"):  # a quote left open swallowed the line end
        fields[-1] = fields[-1].rstrip("\r\n")
    return fields


def _lines(first: int, last: int) -> str:
    return f"line {first}" if first == last else f"lines {first}-{last}"


class CsvRecords:
    """Iterate the records of decoded CSV lines (see the module docstring)."""

    def __init__(self, lines: Iterable[str]) -> None:
        _ensure_field_limit()
        self._feed = _LineFeed(lines)
        self._reader = csv.reader(self._feed, strict=True)

    def __iter__(self) -> Iterator[Record]:
        feed = self._feed
        reader = self._reader
        while True:
            feed.begin()
            try:
                fields = next(reader)
            except StopIteration:
                if not feed.record:
                    return
                yield self._recover("unexpected end of data")  # a line the reader left open
                continue
            except _RecordTooLong:
                yield self._recover("field larger than field limit")
                continue
            except csv.Error as exc:
                yield self._recover(str(exc))
                continue
            yield Record(fields, feed.record[0][0] if feed.record else feed.next_line)

    def _recover(self, error: str) -> Record:
        items = list(self._feed.record)
        self._feed.begin()
        first_line, first = items[0]
        too_long = error.startswith("field larger than field limit")
        if len(items) == 1:
            if too_long:
                return Record(
                    [],
                    first_line,
                    error=f"a field over the {MAX_FIELD_CHARS:,}-character limit",
                )
            unclosed = error == "unexpected end of data"
            warning = f"a quote opened on line {first_line} is never closed" if unclosed else None
            return self._lenient_record(first, first_line, warning)
        last_line = items[-1][1]
        # The quote that "closed" the broken field opened a field of a later row: it starts
        # the line or follows a comma. A real closing quote follows text ('lines" x').
        opens_a_field = last_line.startswith('"') or ',"' in last_line
        broken = too_long or error == "unexpected end of data" or opens_a_field
        if not broken:  # text after a closing quote: read leniently, as one record
            return self._lenient_record("".join(t for _, t in items), first_line, None)
        self._feed.read_again(items[1:])
        why = (
            f"runs over {MAX_FIELD_CHARS:,} characters"
            if too_long
            else f"is never closed (it would swallow {_lines(first_line + 1, items[-1][0])})"
        )
        return self._lenient_record(
            first,
            first_line,
            f"a quote opened on line {first_line} {why}; read line {first_line} alone",
        )

    @staticmethod
    def _lenient_record(text: str, line: int, warning: str | None) -> Record:
        try:
            return Record(_lenient(text), line, warning=warning)
        except csv.Error as exc:
            # The reason only ("new-line character seen in unquoted field"): never the text.
            return Record([], line, error=f"cannot parse as CSV ({str(exc).split(' - ')[0]})")
