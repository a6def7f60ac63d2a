"""FHIR R4 DiagnosticReport, as a JSON Bundle, one JSON resource, or NDJSON.

Each resource is validated with ``fhir.resources`` (the R4B models, which read R4
DiagnosticReports) before use. Text comes from ``presentedForm`` (base64 text/plain,
every such attachment, in order), else from ``conclusion``. Every resource in the input
is accounted for: a DiagnosticReport becomes a record or an error, any other resource
type an error line that names its position (a Bundle's entries are read one by one),
except an Observation that a DiagnosticReport of the same Bundle lists in ``result``: it is
part of that report (radpilot's own export, ``interop.fhir_export``, writes such Bundles).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Iterator
from pathlib import Path
from types import MappingProxyType
from typing import Any

from radpilot.errors import InputError
from radpilot.interop.records import RecordError, ReportRecord, make_record

Item = ReportRecord | RecordError
# The record fields as a DiagnosticReport holds them, for messages.
FHIR_FIELDS = MappingProxyType(
    {
        "id": "id (or identifier[0].value)",
        "text": "presentedForm (text/plain) or conclusion",
        "study_date": "effectiveDateTime (or issued)",
    }
)
_TYPE_NAME = re.compile(r"^[A-Z][a-z]+(?:[A-Z][a-z]+){0,5}$")  # a resource type name, safe to print
# pydantic error types whose message may quote the value it rejected
_VALUE_QUOTING = frozenset({"value_error", "assertion_error"})


def iter_fhir(path: Path) -> Iterator[Item]:
    """Every resource in the file, in order: a record or an error for each."""
    if path.name.lower().endswith(".ndjson"):
        with path.open(encoding="utf-8") as fh:
            for lineno, line in enumerate(fh, 1):
                if line.strip():
                    yield from _parsed(path, f"line {lineno}", line, lineno)
        return
    yield from _parsed(path, "resource", path.read_text(encoding="utf-8"), None)


def _parsed(path: Path, where: str, text: str, lineno: int | None) -> Iterator[Item]:
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as exc:
        at = where if lineno is not None else f"line {exc.lineno}"
        yield RecordError(str(path), at, f"not valid JSON ({exc.msg})")
        return
    except RecursionError:
        yield RecordError(str(path), where, "JSON nested too deeply to read")
        return
    if isinstance(obj, dict) and obj.get("resourceType") == "Bundle":
        yield from _bundle(path, where, obj)
    else:
        yield from _resource(path, where, obj)


def _bundle(path: Path, where: str, obj: dict[str, Any]) -> Iterator[Item]:
    prefix = "" if where == "resource" else f"{where}, "
    entries = obj.get("entry") or []
    if not isinstance(entries, list):
        yield RecordError(str(path), f"{prefix}Bundle.entry", "must be a list")
        return
    parts = _report_parts(entries)
    for n, entry in enumerate(entries):
        res = entry.get("resource") if isinstance(entry, dict) else None
        if _is_part(entry, res, parts):
            continue  # an Observation of a report in this Bundle: read with the report
        yield from _resource(path, f"{prefix}entry {n}", res)


def _report_parts(entries: list[Any]) -> set[str]:
    """The references (``urn:uuid:...``, ``Observation/id``) that the Bundle's
    DiagnosticReports list as their ``result``."""
    refs: set[str] = set()
    for entry in entries:
        res = entry.get("resource") if isinstance(entry, dict) else None
        if not isinstance(res, dict) or res.get("resourceType") != "DiagnosticReport":
            continue
        results = res.get("result")
        for item in results if isinstance(results, list) else []:
            if isinstance(item, dict) and isinstance(item.get("reference"), str):
                refs.add(item["reference"])
    return refs


def _is_part(entry: Any, res: Any, parts: set[str]) -> bool:
    if not parts or not isinstance(res, dict) or res.get("resourceType") != "Observation":
        return False
    url = entry.get("fullUrl") if isinstance(entry, dict) else None
    return (isinstance(url, str) and url in parts) or f"Observation/{res.get('id')}" in parts


def _resource(path: Path, where: str, obj: Any) -> Iterator[Item]:
    if not isinstance(obj, dict) or "resourceType" not in obj:
        yield RecordError(str(path), where, "not a FHIR resource (no resourceType)")
        return
    rtype = obj["resourceType"]
    if rtype != "DiagnosticReport":
        shown = repr(rtype) if isinstance(rtype, str) and _TYPE_NAME.match(rtype) else "unknown"
        yield RecordError(
            str(path), where, f"resourceType {shown} is not DiagnosticReport; not stored"
        )
        return
    try:
        yield from_resource(obj, source=f"{path}:{where}")
    except InputError as exc:
        yield RecordError(str(path), where, str(exc))
    except RecursionError:
        yield RecordError(str(path), where, "DiagnosticReport nested too deeply to read")


def _validated(obj: dict[str, Any]) -> Any:
    from fhir.resources.R4B.diagnosticreport import DiagnosticReport
    from pydantic import ValidationError

    try:
        return DiagnosticReport.model_validate(obj)
    except ValidationError as exc:
        first = exc.errors(include_url=False, include_input=False)[0]
        loc = ".".join(str(p) for p in first.get("loc", ())) or "resource"
        kind = str(first.get("type", ""))
        msg = kind if kind in _VALUE_QUOTING else " ".join(str(first.get("msg", kind)).split())
        raise InputError(f"invalid DiagnosticReport: {loc}: {msg}") from None


def from_resource(obj: dict[str, Any], *, source: str = "") -> ReportRecord:
    """A validated DiagnosticReport (as parsed JSON) to a ReportRecord."""
    dr = _validated(obj)
    texts: list[str] = []
    # Decode from the JSON itself: the models' own decoding of base64Binary differs
    # between fhir.resources versions.
    for n, form in enumerate(obj.get("presentedForm") or []):
        ctype = str(form.get("contentType") or "").split(";")[0].strip().lower()
        if ctype != "text/plain" or not form.get("data"):
            continue
        try:
            texts.append(base64.b64decode(str(form["data"]), validate=True).decode("utf-8"))
        except (binascii.Error, UnicodeDecodeError):
            raise InputError(f"presentedForm[{n}].data is not base64 UTF-8 text") from None
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
        fields=FHIR_FIELDS,
    )
