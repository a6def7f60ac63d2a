"""FHIR R4 DiagnosticReport, as a JSON Bundle, one JSON resource, or NDJSON.

Each resource is validated with ``fhir.resources`` (the R4B models, which read R4
DiagnosticReports) before use. Text comes from ``presentedForm`` (base64 text/plain,
every such attachment, in order), else from ``conclusion``.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from radpilot.errors import InputError
from radpilot.search.records import RecordError, ReportRecord, make_record


def iter_fhir(path: Path) -> Iterator[ReportRecord | RecordError]:
    """Every DiagnosticReport in the file; other resource types are skipped silently."""
    if path.name.lower().endswith(".ndjson"):
        with path.open(encoding="utf-8") as fh:
            for lineno, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                where = f"line {lineno}"
                try:
                    obj = json.loads(line)
                except json.JSONDecodeError as exc:
                    yield RecordError(str(path), where, f"not valid JSON ({exc.msg})")
                    continue
                yield from _resource(path, where, obj)
        return
    try:
        obj = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        yield RecordError(str(path), f"line {exc.lineno}", f"not valid JSON ({exc.msg})")
        return
    if isinstance(obj, dict) and obj.get("resourceType") == "Bundle":
        entries = obj.get("entry") or []
        if not isinstance(entries, list):
            yield RecordError(str(path), "Bundle.entry", "must be a list")
            return
        for n, entry in enumerate(entries):
            res = entry.get("resource") if isinstance(entry, dict) else None
            yield from _resource(path, f"entry {n}", res)
    else:
        yield from _resource(path, "resource", obj)


def _resource(path: Path, where: str, obj: Any) -> Iterator[ReportRecord | RecordError]:
    if not isinstance(obj, dict) or "resourceType" not in obj:
        yield RecordError(str(path), where, "not a FHIR resource (no resourceType)")
        return
    if obj["resourceType"] != "DiagnosticReport":
        return
    try:
        yield from_resource(obj, source=f"{path}:{where}")
    except InputError as exc:
        yield RecordError(str(path), where, str(exc))


def from_resource(obj: dict[str, Any], *, source: str = "") -> ReportRecord:
    """A validated DiagnosticReport (as parsed JSON) to a ReportRecord."""
    from fhir.resources.R4B.diagnosticreport import DiagnosticReport
    from pydantic import ValidationError

    try:
        dr = DiagnosticReport.model_validate(obj)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = ".".join(str(p) for p in first.get("loc", ())) or "resource"
        raise InputError(
            f"invalid DiagnosticReport: {loc}: {first.get('msg', 'invalid')}"
        ) from None
    texts: list[str] = []
    # Decode from the JSON itself: the models' own decoding of base64Binary differs
    # between fhir.resources versions.
    for form in obj.get("presentedForm") or []:
        ctype = str(form.get("contentType") or "").split(";")[0].strip().lower()
        if ctype != "text/plain" or not form.get("data"):
            continue
        try:
            texts.append(base64.b64decode(str(form["data"]), validate=True).decode("utf-8"))
        except (binascii.Error, UnicodeDecodeError):
            raise InputError("presentedForm.data is not base64 UTF-8 text") from None
    if not texts and dr.conclusion:
        texts.append(dr.conclusion)
    rid = dr.id
    if not rid and dr.identifier:
        rid = dr.identifier[0].value
    patient = None
    if dr.subject is not None and dr.subject.reference:
        patient = dr.subject.reference.rsplit("/", 1)[-1]
    when = obj.get("effectiveDateTime") or obj.get("issued")
    modality = None
    for cat in dr.category or []:
        for coding in cat.coding or []:
            if coding.system and "dicom.nema.org" in coding.system and coding.code:
                modality = coding.code
    return make_record(
        rid=rid,
        text="\n".join(texts),
        patient_id=patient,
        study_date=when,
        modality=modality,
        source=source,
    )
