"""What a de-identified role (a researcher) sees.

- Patient, report, study and accession ids: keyed pseudonyms (HMAC-SHA256 under the
  service's secret): the same id gives the same pseudonym on every request, so cohorts can
  be counted, and it cannot be reversed without the key.
- Text (evidence sentences and spans, descriptions): de-identified by
  ``radpilot.interop.deid_text`` (names, identifiers, places replaced by tokens, dates
  shifted by the patient's keyed offset), with the record's own patient and report ids
  removed wherever they appear. Its limits are that module's (a name in no list, with no
  title and beside no listed name, survives), so character offsets refer to the original
  text and the whole report text is never returned to such a role.
- Dates given as fields: the year only. Paths and image UIDs: dropped.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

_ID_KEYS = {"patient_id": "pt", "id": "rp", "report_id": "rp", "study_uid": "st", "accession": "ac"}
_TEXT_KEYS = {"text", "report_text", "sentence", "snippet", "title", "description"}
_DATE_KEYS = {"study_date", "date", "received", "ingested_at"}
_DROP_KEYS = {"path", "source", "patient_name", "sop_instance_uid", "series_uid"}


class Pseudonymiser:
    def __init__(self, secret: bytes) -> None:
        self._key = hmac.new(secret, b"radpilot.pseudonym.v1", hashlib.sha256).digest()
        self._dates = hmac.new(secret, b"radpilot.dateshift.v1", hashlib.sha256).digest()

    def pseudonym(self, kind: str, value: str) -> str:
        mac = hmac.new(self._key, f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()
        return f"{kind}-{mac[:16]}"

    def text(self, value: str, known: tuple[str, ...]) -> str:
        """``value`` de-identified, every ``known`` value (the record's ids) removed."""
        from radpilot.interop.deid_text import DateShifter, deidentify_text

        patient = known[0] if known else ""
        return deidentify_text(
            value, patient_key=patient, shifter=DateShifter(self._dates), known=known
        ).text

    def view(self, obj: Any, known: tuple[str, ...] = ()) -> Any:
        """A copy of a JSON value with ids pseudonymised, text de-identified, dates to
        years. The ids of an object apply to the text inside it (``known``)."""
        if isinstance(obj, list):
            return [self.view(v, known) for v in obj]
        if not isinstance(obj, dict):
            return obj
        ids = tuple(
            obj[k]
            for k in ("patient_id", "id", "report_id", "study_uid", "accession")
            if isinstance(obj.get(k), str) and obj[k]
        )
        known = (*ids, *known)
        out: dict[str, Any] = {}
        for key, value in obj.items():
            if key in _DROP_KEYS:
                continue
            if key in _ID_KEYS and isinstance(value, str):
                out[key] = self.pseudonym(_ID_KEYS[key], value)
            elif key in _TEXT_KEYS and isinstance(value, str):
                out[key] = self.text(value, known)
            elif key in _DATE_KEYS and isinstance(value, str):
                out[key] = value[:4] or None
            else:
                out[key] = self.view(value, known)
        return out
