"""What a de-identified role (a researcher) sees: patient and report ids replaced by
keyed pseudonyms (HMAC-SHA256 under the service's secret: the same id gives the same
pseudonym on every request, so cohorts can be counted, and cannot be reversed without the
key), report text and sentence text withheld, dates cut to the year. Findings, their
certainty, laterality, change and character offsets stay.

This is a deliberately narrow scope: no free text reaches a researcher at all, so there is
nothing in it to de-identify. A text de-identifier (names, dates, places removed) can
replace the withholding through ``Pseudonymiser.text``.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from typing import Any

WITHHELD = "[withheld: de-identified view]"

_ID_KEYS = {"patient_id": "pt", "id": "rp", "report_id": "rp", "study_uid": "st", "accession": "ac"}
_TEXT_KEYS = {"text", "report_text", "sentence", "snippet", "title", "description"}
_DATE_KEYS = {"study_date", "date", "received", "ingested_at"}
_DROP_KEYS = {"path", "source", "patient_name", "sop_instance_uid", "series_uid"}


class Pseudonymiser:
    def __init__(self, secret: bytes, text: Callable[[str], str] | None = None) -> None:
        self._key = hmac.new(secret, b"radpilot.pseudonym.v1", hashlib.sha256).digest()
        self.text = text or (lambda _t: WITHHELD)

    def pseudonym(self, kind: str, value: str) -> str:
        mac = hmac.new(self._key, f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()
        return f"{kind}-{mac[:16]}"

    def view(self, obj: Any) -> Any:
        """A copy of a JSON value with ids pseudonymised, text withheld, dates to years."""
        if isinstance(obj, list):
            return [self.view(v) for v in obj]
        if not isinstance(obj, dict):
            return obj
        out: dict[str, Any] = {}
        for key, value in obj.items():
            if key in _DROP_KEYS:
                continue
            if key in _ID_KEYS and isinstance(value, str):
                out[key] = self.pseudonym(_ID_KEYS[key], value)
            elif key in _TEXT_KEYS and isinstance(value, str):
                out[key] = self.text(value)
            elif key in _DATE_KEYS and isinstance(value, str):
                out[key] = value[:4] or None
            else:
                out[key] = self.view(value)
        return out
