"""What every input format hands on: one report record, a bad-record error, or a note.

CSV, JSONL, OpenI XML, FHIR and HL7 v2 are all parsed into these, so the archive never
sees a format. A bad record is not an exception: it is a value the batch reports (file and
position, one line) and skips. Messages name the file, the position and the field, never
a field's value: values are report text, identifiers or dates.

>>> make_record(rid="A1", text="No pneumothorax.", study_date="20240302").study_date
'2024-03-02'
>>> make_record(rid="A1", text=" ")
Traceback (most recent call last):
...
radpilot.interop.records.FieldError: field 'text': empty (no report text)
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from types import MappingProxyType

from radpilot.errors import InputError

_DATE_PATTERNS = (
    re.compile(r"^(\d{4})-(\d{2})-(\d{2})(?:[T ].*)?$"),  # ISO date or datetime
    re.compile(r"^(\d{4})(\d{2})(\d{2})(?:\d{0,6}(?:\.\d+)?)?(?:[+-]\d{4})?$"),  # HL7 DTM
)

# What each format calls the fields of a record, for messages ("OBR-7", "effectiveDateTime").
PLAIN_FIELDS: Mapping[str, str] = MappingProxyType(
    {"id": "id", "text": "text", "study_date": "study_date"}
)


@dataclass(frozen=True, slots=True)
class ReportRecord:
    """One report as ingested. ``study_date`` is ISO ``YYYY-MM-DD`` or None."""

    id: str
    text: str
    patient_id: str | None = None
    study_date: str | None = None
    modality: str | None = None
    body_part: str | None = None
    source: str = ""  # "file:position", for messages only; not part of the content

    def content_hash(self) -> str:
        """Identity of the content: the same report re-ingested hashes the same."""
        payload = json.dumps(
            [self.text, self.patient_id, self.study_date, self.modality, self.body_part],
            ensure_ascii=False,
        )
        return hashlib.sha256(payload.encode("utf-8")).hexdigest()

    @property
    def where(self) -> tuple[str, str]:
        """``(file, position)`` of the record, from ``source``."""
        file, sep, position = self.source.rpartition(":")
        return (file, position) if sep else (self.source, "record")


@dataclass(frozen=True, slots=True)
class RecordError:
    """A record (or a whole file) that could not be used: where it is and what is wrong."""

    file: str
    position: str  # "line 12", "message 3, line 4", "entry 2", "file"
    message: str

    def __str__(self) -> str:
        return f"{self.file}: {self.position}: {self.message}"


@dataclass(frozen=True, slots=True)
class RecordNote:
    """Something to know about records that were read and used ("decoded as cp1252")."""

    file: str
    position: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}: {self.position}: {self.message}"


Item = ReportRecord | RecordError | RecordNote


class FieldError(InputError):
    """One field of a record is unusable; the message names the field, never its value."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"field {field!r}: {problem}")
        self.field = field
        self.problem = problem


def normalise_date(value: object, *, field: str = "study_date") -> str | None:
    """``YYYY-MM-DD`` from ISO dates/datetimes or HL7 ``YYYYMMDD[HHMM[SS]]``; None when empty.

    >>> normalise_date("20240302101100+0100")
    '2024-03-02'
    """
    text = _clean(value)
    if text is None:
        return None
    for pattern in _DATE_PATTERNS:
        m = pattern.match(text)
        if m:
            try:
                return date(int(m[1]), int(m[2]), int(m[3])).isoformat()
            except ValueError:
                break
    raise FieldError(field, "not a date (use YYYY-MM-DD or HL7 YYYYMMDD)")


def make_record(
    *,
    rid: object,
    text: object,
    patient_id: object = None,
    study_date: object = None,
    modality: object = None,
    body_part: object = None,
    source: str = "",
    fields: Mapping[str, str] = PLAIN_FIELDS,
) -> ReportRecord:
    """Validate and normalise one record; a bad field raises ``FieldError`` naming it as
    ``fields`` (the format's own names: ``{"study_date": "OBR-7", ...}``) calls it."""
    rid_s = _clean(rid)
    if not rid_s:
        raise FieldError(fields["id"], "empty (every report needs an id)")
    text_s = str(text).strip() if text is not None else ""
    if not text_s:
        raise FieldError(fields["text"], "empty (no report text)")
    return ReportRecord(
        id=rid_s,
        text=text_s,
        patient_id=_clean(patient_id),
        study_date=normalise_date(study_date, field=fields["study_date"]),
        modality=(_clean(modality) or "").upper() or None,
        body_part=(_clean(body_part) or "").upper() or None,
        source=source,
    )


def _clean(value: object) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None
