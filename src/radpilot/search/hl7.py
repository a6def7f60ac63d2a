"""HL7 v2 ORU^R01 result messages: the report text from OBX-5, ids from PID/OBR.

Parsed here rather than with a library: the subset radpilot needs is small, and every
message must be checked so that one malformed message is one error line, not a crash.
Segments split on CR or LF; the MSH field separator and encoding characters are honoured
(escapes \\F\\ \\S\\ \\T\\ \\R\\ \\E\\ and \\.br\\ are decoded); MLLP framing is ignored.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from radpilot.errors import InputError
from radpilot.search.records import RecordError, ReportRecord, make_record

_SEGMENT_ID = re.compile(r"^[A-Z][A-Z0-9]{2}$")
_TEXT_TYPES = frozenset({"TX", "FT", "ST", "CE", "CWE", ""})
_FRAMING = str.maketrans("", "", "\x0b\x1c")


@dataclass(frozen=True, slots=True)
class Encoding:
    field: str = "|"
    component: str = "^"
    repetition: str = "~"
    escape: str = "\\"
    subcomponent: str = "&"

    def unescape(self, value: str) -> str:
        if self.escape not in value:
            return value
        e = re.escape(self.escape)
        table = {
            "F": self.field,
            "S": self.component,
            "T": self.subcomponent,
            "R": self.repetition,
            "E": self.escape,
            ".br": "\n",
        }

        def sub(m: re.Match[str]) -> str:
            return table.get(m[1], "")  # unknown escapes (highlighting, hex) are dropped

        return re.sub(f"{e}([^{e}]*){e}", sub, value)

    def first_component(self, value: str) -> str:
        return self.unescape(value.split(self.repetition)[0].split(self.component)[0]).strip()


def iter_hl7(path: Path) -> Iterator[ReportRecord | RecordError]:
    """Every ORU message in the file, one record each; bad messages become errors."""
    raw = path.read_text(encoding="utf-8", errors="strict").translate(_FRAMING)
    lines = [(n, s) for n, s in enumerate(re.split(r"\r\n|\r|\n", raw), 1) if s.strip()]
    message: list[tuple[int, str]] = []
    count = 0
    for lineno, seg in lines:
        if seg.startswith("MSH") and message:
            count += 1
            yield _one_message(path, count, message)
            message = []
        message.append((lineno, seg))
    if message:
        count += 1
        yield _one_message(path, count, message)


def _one_message(
    path: Path, number: int, segments: list[tuple[int, str]]
) -> ReportRecord | RecordError:
    where = f"message {number} (line {segments[0][0]})"
    try:
        return parse_message([s for _, s in segments], source=f"{path}:{where}")
    except _SegmentError as exc:
        lineno = segments[exc.index][0]
        return RecordError(str(path), f"message {number}, line {lineno}", exc.message)
    except InputError as exc:
        return RecordError(str(path), where, str(exc))


class _SegmentError(Exception):
    def __init__(self, index: int, message: str) -> None:
        super().__init__(message)
        self.index = index
        self.message = message


def parse_message(segments: list[str], *, source: str = "") -> ReportRecord:
    """One ORU^R01 message (its segments, MSH first) as a ReportRecord."""
    msh = segments[0]
    if not msh.startswith("MSH") or len(msh) < 8:
        raise _SegmentError(0, "a message must start with an MSH segment")
    enc = Encoding(msh[3], msh[4], msh[5], msh[6], msh[7] if msh[7] != msh[3] else "&")
    if enc.field.isalnum() or len(set(msh[3:8])) < 4:
        raise _SegmentError(0, f"MSH has invalid separators {msh[3:8]!r}")
    msh_fields = msh.split(enc.field)
    # MSH-1 is the separator itself, so MSH-9 sits at list index 8.
    mtype = msh_fields[8] if len(msh_fields) > 8 else ""
    parts = mtype.split(enc.component)
    if parts[0] != "ORU":
        raise _SegmentError(0, f"MSH-9 message type is {mtype or 'empty'!r}, expected ORU^R01")
    patient = accession = when = modality = None
    text_lines: list[str] = []
    for i, seg in enumerate(segments[1:], 1):
        name = seg[:3]
        if not _SEGMENT_ID.match(name) or (len(seg) > 3 and seg[3] != enc.field):
            raise _SegmentError(i, f"malformed segment {seg[:20]!r}")
        f = seg.split(enc.field)
        if name == "PID" and len(f) > 3:
            patient = enc.first_component(f[3]) or patient
        elif name == "OBR":
            filler = enc.first_component(f[3]) if len(f) > 3 else ""
            placer = enc.first_component(f[2]) if len(f) > 2 else ""
            accession = accession or filler or placer or None
            when = when or (enc.first_component(f[7]) if len(f) > 7 else None)
            modality = modality or (enc.first_component(f[24]) if len(f) > 24 else None)
        elif name == "OBX":
            vtype = f[2].strip().upper() if len(f) > 2 else ""
            if vtype not in _TEXT_TYPES:
                continue
            if len(f) <= 5:
                raise _SegmentError(i, "OBX has no OBX-5 observation value")
            for rep in f[5].split(enc.repetition):
                text_lines.append(enc.unescape(rep))
    if accession is None:
        raise InputError("no accession: OBR-3 and OBR-2 are both empty (or no OBR segment)")
    try:
        return make_record(
            rid=accession,
            text="\n".join(text_lines),
            patient_id=patient,
            study_date=when,
            modality=modality,
            source=source,
        )
    except InputError as exc:
        raise InputError(f"OBR-7/OBX: {exc}") from None
