"""FHIR R4 export of a read report: a Bundle with one DiagnosticReport and one Observation
per finding mention, built and validated with ``fhir.resources`` (R4B models, which are
R4-compatible for these resources).

- DiagnosticReport: status ``preliminary`` (an AI-assist reading, not a signed report),
  category Radiology, code LOINC 18748-4, subject ``Patient/<id>``, effectiveDateTime, the
  report text as ``presentedForm`` (base64 text/plain UTF-8), ``result`` -> Observations.
- Observation per mention: code = radpilot's finding id (plus the SNOMED/DICOM concept the
  SR uses, when one is listed); valueCodeableConcept = present / absent / uncertain
  (SNOMED Present/Absent where they exist); bodySite = laterality (SNOMED) with the
  location words as text; the evidence span as an extension (start, end, text) and its
  sentence as a note; severity, change and hedge kind as components.

Codes are data (``interop/data/export_codes.json``). radpilot's own FHIR reader
(``interop.fhir``) reads the Bundle back: the Observations a DiagnosticReport references
are part of it, not separate records.
"""

from __future__ import annotations

import base64
import re
import uuid
from typing import Any

from radpilot.interop.dicom_codes import Code
from radpilot.interop.export_codes import ExportCodes, export_codes, standard_finding_code
from radpilot.interop.records import ReportRecord
from radpilot.reports.models import Mention, Report

_FHIR_ID = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")
DISCLAIMER = "AI-assist reading by radpilot for review by a radiologist; not a diagnosis."


def fhir_id(value: str) -> str | None:
    """``value`` when it is a valid FHIR id ([A-Za-z0-9-.]{1,64}), else None."""
    return value if _FHIR_ID.match(value) else None


def _coding(code: Code, codes: ExportCodes) -> dict[str, str]:
    return {"system": codes.system(code.scheme), "code": code.value, "display": code.meaning}


def _finding_concept(mention: Mention, report: Report, codes: ExportCodes) -> dict[str, Any]:
    name = mention.finding.replace("_", " ")
    vocab = report.vocabulary
    if vocab is not None and mention.finding in vocab.findings:
        name = vocab.findings[mention.finding].name
    coding = [
        {"system": codes.systems["radpilot-finding"], "code": mention.finding, "display": name}
    ]
    standard = standard_finding_code(name)
    if standard is not None:
        coding.append(_coding(standard, codes))
    return {"coding": coding, "text": name}


def _certainty(mention: Mention, codes: ExportCodes) -> dict[str, Any]:
    value = mention.certainty.value
    coding = [_coding(c, codes) for c in codes.certainty.get(mention.certainty, [])]
    coding.append({"system": codes.systems["radpilot-certainty"], "code": value, "display": value})
    return {"coding": coding, "text": value}


def _evidence(mention: Mention, codes: ExportCodes) -> dict[str, Any]:
    span = mention.span
    return {
        "url": codes.systems["radpilot-evidence"],
        "extension": [
            {"url": "start", "valueInteger": span.start},
            {"url": "end", "valueInteger": span.end},
            {"url": "text", "valueString": span.text},
        ],
    }


def _components(mention: Mention) -> list[dict[str, Any]]:
    pairs = [
        ("severity", mention.severity),
        ("change", mention.change.value if mention.change else None),
        ("hedge", mention.hedge.value if mention.hedge else None),
    ]
    return [{"code": {"text": k}, "valueString": v} for k, v in pairs if v]


def _observation(
    mention: Mention, report: Report, record: ReportRecord, subject: dict[str, Any] | None
) -> dict[str, Any]:
    codes = export_codes()
    obs: dict[str, Any] = {
        "resourceType": "Observation",
        "status": "preliminary",
        "category": [{"coding": [_coding(codes.category, codes)]}],
        "code": _finding_concept(mention, report, codes),
        "valueCodeableConcept": _certainty(mention, codes),
        "extension": [_evidence(mention, codes)],
        "note": [{"text": mention.sentence.text}],
        "method": {"text": DISCLAIMER},
    }
    if subject is not None:
        obs["subject"] = subject
    if record.study_date:
        obs["effectiveDateTime"] = record.study_date
    site: dict[str, Any] = {}
    if mention.laterality is not None and mention.laterality in codes.laterality:
        site["coding"] = [_coding(codes.laterality[mention.laterality], codes)]
    words = [mention.laterality.value] if mention.laterality else []
    words += list(mention.locations)
    if words:
        site["text"] = " ".join(words)
    if site:
        obs["bodySite"] = site
    components = _components(mention)
    if components:
        obs["component"] = components
    return obs


def to_bundle(record: ReportRecord, report: Report) -> dict[str, Any]:
    """The Bundle (type ``collection``) as JSON-ready dicts, validated by fhir.resources."""
    codes = export_codes()
    subject: dict[str, Any] | None = None
    if record.patient_id:
        pid = fhir_id(record.patient_id)
        subject = (
            {"reference": f"Patient/{pid}"} if pid else {"identifier": {"value": record.patient_id}}
        )
    observations = [_observation(m, report, record, subject) for m in report.mentions]
    urls = [f"urn:uuid:{uuid.uuid4()}" for _ in observations]
    dr: dict[str, Any] = {
        "resourceType": "DiagnosticReport",
        "identifier": [{"value": record.id}],
        "status": "preliminary",
        "category": [{"coding": [_coding(codes.category, codes)]}],
        "code": {"coding": [_coding(codes.report, codes)], "text": codes.report.meaning},
        "presentedForm": [
            {
                "contentType": "text/plain; charset=utf-8",
                "data": base64.b64encode(record.text.encode("utf-8")).decode("ascii"),
            }
        ],
        "result": [{"reference": u} for u in urls],
    }
    rid = fhir_id(record.id)
    if rid:
        dr["id"] = rid
    if subject is not None:
        dr["subject"] = subject
    if record.study_date:
        dr["effectiveDateTime"] = record.study_date
    if record.modality:
        dr["category"].append(
            {"coding": [{"system": codes.systems["DCM"], "code": record.modality}]}
        )
    entries = [{"fullUrl": f"urn:uuid:{uuid.uuid4()}", "resource": dr}]
    entries += [{"fullUrl": u, "resource": o} for u, o in zip(urls, observations, strict=True)]
    bundle = {"resourceType": "Bundle", "type": "collection", "entry": entries}
    validate(bundle)
    return bundle


def validate(bundle: dict[str, Any]) -> None:
    """Raise ``ValueError`` (pydantic's) unless fhir.resources accepts every resource."""
    from fhir.resources.R4B.bundle import Bundle

    Bundle.model_validate(bundle)
