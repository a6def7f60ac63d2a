"""The coded concepts radpilot's DICOM SR uses, as data (``interop/data/sr_codes.json``),
loaded by the shared strict loader. Findings are keyed by canonical label name, so a
model's "Effusion" and a report's "Pleural Effusion" get the same SNOMED CT code."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from radpilot.datafiles import DataDocument, DataFile, DataModel
from radpilot.imaging.rules import FindingName
from radpilot.reports.labelnames import canonical_finding


class Code(DataModel):
    """One coded concept (PS3.3 8.8): coding scheme, code value, code meaning."""

    scheme: str = Field(min_length=1, max_length=16)
    value: str = Field(min_length=1, max_length=16)  # Code Value is SH: 16 characters
    meaning: str = Field(min_length=1, max_length=64)  # Code Meaning is LO: 64 characters

    def concept(self) -> Any:
        import highdicom as hd

        return hd.sr.CodedConcept(
            value=self.value, scheme_designator=self.scheme, meaning=self.meaning
        )


class SrCodes(DataDocument):
    """``sr_codes.json``."""

    private_scheme: str = Field(pattern=r"^99[A-Z0-9_]+$", description="PS3.3 8.2: starts with 99.")
    procedure: Code
    probability: Code
    threshold: Code
    unit: Code
    findings: dict[FindingName, Code] = Field(description="Canonical finding name -> its code.")

    def finding(self, label: str) -> Code:
        """The finding's code; an unlisted finding gets a private one with the label as
        its meaning (never an invented standard code)."""
        spec = self.findings.get(canonical_finding(label))
        if spec is not None:
            return spec
        value = "RP-" + "".join(ch for ch in label.upper() if ch.isalnum())[:12]
        return Code(scheme=self.private_scheme, value=value, meaning=label[:64])


SR_CODES = DataFile("radpilot.interop", "data/sr_codes.json", SrCodes)


def sr_codes() -> SrCodes:
    return SR_CODES.load()
