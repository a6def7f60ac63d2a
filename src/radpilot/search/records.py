"""What ingest hands to the archive: one report record, or one bad-record error.

Every input format (CSV, JSONL, OpenI XML, FHIR, HL7 v2) is parsed into these, so the
archive never sees a format. A bad record is not an exception: it is a value the batch
reports (file and position, one line) and skips.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import date

from radpilot.errors import InputError

_DATE_PATTERNS = (
    re.compile(r"^(\d{4})-(\d{2})-(\d{2})(?:[T ].*)?$"),  # ISO date or datetime
    re.compile(r"^(\d{4})(\d{2})(\d{2})(?:\d{0,6}(?:\.\d+)?)?(?:[+-]\d{4})?$"),  # HL7 DTM
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


@dataclass(frozen=True, slots=True)
class RecordError:
    """A record that could not be used, with where it is and what is wrong."""

    file: str
    position: str  # "line 12", "message 3, segment 4 (OBX)", "entry 2"
    message: str

    def __str__(self) -> str:
        return f"{self.file}: {self.position}: {self.message}"


def normalise_date(value: str | None, *, field: str = "study_date") -> str | None:
    """``YYYY-MM-DD`` from ISO dates/datetimes or HL7 ``YYYYMMDD[HHMM[SS]]``; None when empty."""
    if value is None:
        return None
    text = str(value).strip()
    if not text:
        return None
    for pattern in _DATE_PATTERNS:
        m = pattern.match(text)
        if m:
            try:
                return date(int(m[1]), int(m[2]), int(m[3])).isoformat()
            except ValueError:
                break
    raise InputError(f"{field} {text!r} is not a date (use YYYY-MM-DD or HL7 YYYYMMDD)")


def make_record(
    *,
    rid: object,
    text: object,
    patient_id: object = None,
    study_date: object = None,
    modality: object = None,
    body_part: object = None,
    source: str = "",
) -> ReportRecord:
    """Validate and normalise one record's fields; raise InputError naming the bad field."""
    rid_s = _clean(rid)
    if not rid_s:
        raise InputError("missing report id (field 'id' or 'accession')")
    text_s = str(text).strip() if text is not None else ""
    if not text_s:
        raise InputError(f"report {rid_s!r} has no text")
    return ReportRecord(
        id=rid_s,
        text=text_s,
        patient_id=_clean(patient_id),
        study_date=normalise_date(_clean(study_date)),
        modality=(_clean(modality) or "").upper() or None,
        body_part=(_clean(body_part) or "").upper() or None,
        source=source,
    )


def _clean(value: object) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None
