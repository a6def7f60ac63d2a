"""Text from a file of reports, decoded so that decoding never fails.

Bytes are decoded by BOM (UTF-8, UTF-16, UTF-32), else by a UTF-16 NUL-pattern sniff,
else as UTF-8 line by line, where a line that is not UTF-8 falls back to cp1252 and then
latin-1 (noted for its row): a stray byte never ends a batch. ``clean_text`` removes
control characters and tells binary junk from text.
"""

from __future__ import annotations

import codecs
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import IO

SNIFF_BYTES = 1 << 16
# A line longer than this is read on its first MAX_LINE_BYTES (the rest is skipped and the
# row says so): memory stays bounded whatever a file holds. It fits a CSV field at its
# limit (readers.MAX_FIELD_CHARS, 10 million characters) in any UTF-8.
MAX_LINE_BYTES = 40_000_000
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


@dataclass
class DecodedLines:
    """Decoded lines of a binary file, with the notes of lines that needed a fallback."""

    fh: IO[bytes]
    encoding: str
    bytes_read: int = 0
    notes: list[str] = field(default_factory=list)
    max_line_bytes: int = MAX_LINE_BYTES

    def __iter__(self) -> Iterator[str]:
        if self.encoding in ("utf-8", "utf-8-sig"):
            yield from self._utf8_lines()
        else:
            yield from self._wide_lines()

    def _utf8_lines(self) -> Iterator[str]:
        first = self.encoding == "utf-8-sig"
        limit = self.max_line_bytes
        readline = self.fh.readline
        while raw := readline(limit):
            self.bytes_read += len(raw)
            if len(raw) == limit and not raw.endswith(b"\n"):
                raw = self._skip_rest(raw)
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

    def _skip_rest(self, head: bytes) -> bytes:
        """Skip the rest of a line over the limit; keep its head (cut at a character edge)."""
        skipped = 0
        while more := self.fh.readline(self.max_line_bytes):
            skipped += len(more)
            if more.endswith(b"\n"):
                break
        self.bytes_read += skipped
        self.notes.append(
            f"line over {self.max_line_bytes:,} bytes; read its first {self.max_line_bytes:,}"
        )
        for cut in range(4):  # a multi-byte character cut by the limit: drop its start
            end = len(head) - cut
            try:
                head[:end].decode("utf-8")
            except UnicodeDecodeError:
                continue
            return head[:end] + b"\n"
        return head + b"\n"  # not UTF-8 anyway: the caller's fallback decodes it

    def _wide_lines(self) -> Iterator[str]:
        text = io.TextIOWrapper(self.fh, encoding=self.encoding, errors="replace", newline="")  # type: ignore[type-var]
        limit = self.max_line_bytes // 2  # characters: at least two bytes each
        while line := text.readline(limit):
            if len(line) == limit and not line.endswith("\n"):
                while (more := text.readline(limit)) and not more.endswith("\n"):
                    pass
                self.notes.append(f"line over {limit:,} characters; read its first {limit:,}")
                line += "\n"
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


def clean_text(text: str, *, keep_length: bool = False) -> tuple[str, str | None, bool]:
    """Control characters removed (``keep_length``: replaced by spaces, so that offsets
    into the text, such as a row's targets, still hold); a note of what was wrong;
    whether it is binary junk."""
    if _BAD_RE.search(text) is None:  # the fast path: nearly every report
        return text, None, False
    n = len(text)
    bad = len(_BAD_RE.findall(text))
    non_ascii = len(_NON_ASCII_RE.findall(text))
    if bad >= 2 and (bad > 0.10 * n or non_ascii > 0.30 * n):
        return "", f"looks like binary data ({bad} control bytes in {n} characters)", True
    cleaned = _CONTROL_RE.sub(" " if keep_length else "", text)
    if cleaned == text:  # only U+FFFD: undecodable bytes, already reported per line
        return text, None, False
    if keep_length:
        changed = len(_CONTROL_RE.findall(text))
        return cleaned, f"replaced {changed} control/NUL character(s) by spaces", False
    return cleaned, f"removed {n - len(cleaned)} control/NUL character(s)", False
