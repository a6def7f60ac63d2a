"""HL7 v2 ORU^R01 result messages: the report text from OBX-5, ids from PID/OBR.

Parsed here rather than with a library: the subset radpilot needs is small, and every
message must be checked so that one malformed message is one error line, not a crash.
Segments split on CR or LF; the MSH field separator and encoding characters are honoured
(escapes \\F\\ \\S\\ \\T\\ \\R\\ \\E\\ and \\.br\\ are decoded); MLLP framing is ignored.

Each message is decoded by the character set its MSH-18 declares (``data/hl7_charsets.json``);
one whose MSH-18 is empty, unknown or does not fit its bytes is decoded as UTF-8, else
cp1252, else latin-1, with a note saying which, so one Latin-1 byte never costs a file.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType

from pydantic import Field, field_validator

from radpilot.datafiles import DataDocument, DataFile
from radpilot.errors import InputError
from radpilot.interop.records import FieldError, RecordError, RecordNote, ReportRecord, make_record

_SEGMENT_ID = re.compile(r"^[A-Z][A-Z0-9]{2}$")
_TEXT_TYPES = frozenset({"TX", "FT", "ST", "CE", "CWE", ""})
_FRAMING = b"\x0b\x1c"  # MLLP start and end bytes
# A message type and trigger event ("ADT^A01^ADT_A01"): a code, safe to print. Nothing
# else from a message is ever printed: a damaged message can shift any field anywhere.
_MESSAGE_TYPE = re.compile(r"^[A-Z]{3}(\^[A-Z][0-9]{2}(\^[A-Z]{3}_[A-Z][0-9]{2})?)?$")
# The record fields as an ORU message holds them, for messages.
HL7_FIELDS = MappingProxyType({"id": "OBR-3 (or OBR-2)", "text": "OBX-5", "study_date": "OBR-7"})


class CharsetFile(DataDocument):
    """``hl7_charsets.json``: MSH-18 names -> Python codecs, and the fallback order."""

    charsets: dict[str, str] = Field(description="MSH-18 value (upper case) -> Python codec.")
    fallbacks: list[str] = Field(
        min_length=1,
        description="Codecs tried in order when MSH-18 is empty, unknown or wrong; the last "
        "must decode every byte (latin-1).",
    )

    @field_validator("charsets")
    @classmethod
    def _known_codecs(cls, value: dict[str, str]) -> dict[str, str]:
        for name, codec in value.items():
            _check_codec(codec)
            if name != name.upper():
                raise ValueError(f"{name!r}: write MSH-18 names in upper case")
        return value

    @field_validator("fallbacks")
    @classmethod
    def _last_never_fails(cls, value: list[str]) -> list[str]:
        for codec in value:
            _check_codec(codec)
        try:
            bytes(range(256)).decode(value[-1])
        except UnicodeDecodeError:
            raise ValueError(f"the last fallback {value[-1]!r} must decode every byte") from None
        return value


def _check_codec(codec: str) -> None:
    try:
        codecs.lookup(codec)
    except LookupError:
        raise ValueError(f"{codec!r} is not a Python codec") from None


CHARSETS = DataFile("radpilot.interop", "data/hl7_charsets.json", CharsetFile)


@lru_cache(maxsize=1)
def _charsets() -> CharsetFile:
    return CHARSETS.load()


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


def iter_hl7(path: Path) -> Iterator[ReportRecord | RecordError | RecordNote]:
    """Every message in the file: a record for each ORU, an error for each bad or other
    message, and a note where a message had to be decoded by a fallback."""
    raw = path.read_bytes().translate(None, _FRAMING)
    lines = [(n, s) for n, s in enumerate(re.split(rb"\r\n|\r|\n", raw), 1) if s.strip()]
    message: list[tuple[int, bytes]] = []
    count = 0
    for lineno, seg in lines:
        if seg.startswith(b"MSH") and message:
            count += 1
            yield from _one_message(path, count, message)
            message = []
        message.append((lineno, seg))
    if message:
        count += 1
        yield from _one_message(path, count, message)


def decode_message(segments: list[bytes]) -> tuple[list[str], str | None]:
    """The segments as text, by MSH-18 or the fallbacks; and a note when a fallback was
    needed (None when the declared set fit, or UTF-8 did with nothing declared).

    >>> msh, obx = b"MSH|^~#&|RIS||||||ORU^R01", "OBX|1|TX|||Épanchement".encode("cp1252")
    >>> decode_message([msh, obx])[1]
    'MSH-18 is empty; not valid UTF-8: decoded as cp1252'
    """
    cfg = _charsets()
    declared = _msh18(segments[0]) if segments else ""
    codec = cfg.charsets.get(declared.upper()) if declared else None
    if codec is not None:
        try:
            return [s.decode(codec) for s in segments], None
        except UnicodeDecodeError:
            why = [f"not valid {declared} as MSH-18 declares"]
    elif declared:
        why = ["MSH-18 names a character set radpilot does not know"]
    else:
        why = ["MSH-18 is empty"]
    for n, fallback in enumerate(cfg.fallbacks):
        try:
            text = [s.decode(fallback) for s in segments]
        except UnicodeDecodeError:
            why.append(f"not valid {fallback.upper()}")
            continue
        if n == 0 and not declared:
            return text, None  # nothing declared, and the default fit: nothing to say
        return text, f"{'; '.join(why)}: decoded as {fallback}"
    raise AssertionError("the last fallback decodes every byte")  # checked by CharsetFile


def _msh18(msh: bytes) -> str:
    if len(msh) < 4 or not msh.startswith(b"MSH"):
        return ""
    fields = msh.split(msh[3:4])
    # MSH-1 is the separator itself, so MSH-18 sits at list index 17; the first repetition
    # is the message's default character set.
    value = fields[17] if len(fields) > 17 else b""
    rep = msh[5:6] if len(msh) > 5 else b"~"
    return value.split(rep)[0].decode("ascii", errors="replace").strip()


def _one_message(
    path: Path, number: int, segments: list[tuple[int, bytes]]
) -> Iterator[ReportRecord | RecordError | RecordNote]:
    where = f"message {number} (line {segments[0][0]})"
    texts, note = decode_message([s for _, s in segments])
    if note is not None:
        yield RecordNote(str(path), where, note)
    try:
        yield parse_message(texts, source=f"{path}:{where}")
    except _SegmentError as exc:
        lineno = segments[exc.index][0]
        yield RecordError(str(path), f"message {number}, line {lineno}", exc.message)
    except InputError as exc:
        yield RecordError(str(path), where, str(exc))


class _SegmentError(Exception):
    def __init__(self, index: int, message: str) -> None:
        super().__init__(message)
        self.index = index
        self.message = message


def _encoding(msh: str) -> Encoding:
    if not msh.startswith("MSH") or len(msh) < 8:
        raise _SegmentError(0, "a message must start with an MSH segment")
    enc = Encoding(msh[3], msh[4], msh[5], msh[6], msh[7] if msh[7] != msh[3] else "&")
    if enc.field.isalnum() or len(set(msh[3:8])) < 4:
        raise _SegmentError(0, "MSH-1/MSH-2 separators are invalid (need 4 distinct characters)")
    mtype = msh.split(enc.field)[8] if msh.count(enc.field) >= 8 else ""
    if mtype.split(enc.component)[0] != "ORU":
        shown = repr(mtype) if _MESSAGE_TYPE.match(mtype) else "not ORU"
        raise _SegmentError(0, f"MSH-9 message type is {shown}, expected ORU^R01")
    return enc


def parse_message(segments: list[str], *, source: str = "") -> ReportRecord:
    """One ORU^R01 message (its segments, MSH first) as a ReportRecord."""
    enc = _encoding(segments[0])
    patient = accession = when = modality = None
    text_lines: list[str] = []
    for i, seg in enumerate(segments[1:], 1):
        name = seg[:3]
        if not _SEGMENT_ID.match(name) or (len(seg) > 3 and seg[3] != enc.field):
            raise _SegmentError(
                i, "malformed segment (a 3-character segment id, then the field separator)"
            )
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
        raise FieldError(HL7_FIELDS["id"], "empty in every OBR segment (or no OBR segment)")
    return make_record(
        rid=accession,
        text="\n".join(text_lines),
        patient_id=patient,
        study_date=when,
        modality=modality,
        source=source,
        fields=HL7_FIELDS,
    )
