"""The codes of radpilot's FHIR and HL7 v2 exports, as data (``interop/data/export_codes.json``):
code systems, the report's LOINC codes, certainty and laterality concepts."""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field

from radpilot.datafiles import DataDocument, DataFile
from radpilot.interop.dicom_codes import Code, sr_codes
from radpilot.reports.labelnames import canonical_finding
from radpilot.reports.models import Certainty, Laterality


class ExportCodes(DataDocument):
    """``export_codes.json``."""

    systems: dict[str, str] = Field(description="Scheme designator -> FHIR system URL.")
    hl7_private_scheme: str = Field(pattern=r"^99[A-Z0-9_]+$")
    report: Code
    narrative: Code
    category: Code
    certainty: dict[Certainty, list[Code]] = Field(
        description="Standard concepts for each certainty (empty: radpilot's code only)."
    )
    laterality: dict[Laterality, Code]

    def system(self, scheme: str) -> str:
        try:
            return self.systems[scheme]
        except KeyError:
            raise ValueError(f"no FHIR system for scheme {scheme!r} in export_codes.json") from None


EXPORT_CODES = DataFile("radpilot.interop", "data/export_codes.json", ExportCodes)


@lru_cache(maxsize=1)
def export_codes() -> ExportCodes:
    codes = EXPORT_CODES.load()
    for code in [codes.report, codes.narrative, codes.category, *codes.laterality.values()]:
        codes.system(code.scheme)  # every scheme used has a system
    return codes


def standard_finding_code(name: str) -> Code | None:
    """The SNOMED/DICOM concept the SR uses for a finding of this name, if one is listed
    (``sr_codes.json``); None rather than a guess."""
    try:
        return sr_codes().findings.get(canonical_finding(name))
    except (KeyError, ValueError, LookupError):
        return None
