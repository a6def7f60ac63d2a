"""De-identification for dataset export: DICOM by the PS3.15 Annex E Basic Application
Level Confidentiality Profile, report text by ``interop.deid_text``.

The attribute action table is data (``interop/data/deid_dicom.json``: tag, keyword, the
Annex E code and the single action applied). Actions, applied at every depth (inside
sequences too):

- ``X`` remove; ``Z`` zero length; ``D`` a dummy value of the attribute's VR;
- ``K`` keep (a reference sequence: kept, its UIDs remapped like every UID below);
- ``C`` clean: the value de-identified as report text;
- ``U`` a new UID: ``2.25.<int>`` from an HMAC of the old one under the run's secret, so
  one source UID maps to one new UID for the whole run (study, series, references agree).

Private attributes are removed, and so are the repeating groups the table lists (curves,
overlay data); any other attribute with a person name (PN) is zeroed. The result says
PatientIdentityRemoved = YES, DeidentificationMethod and its code sequence (DCM 113100),
LongitudinalTemporalInformationModified = REMOVED (dates are zeroed, not shifted), and
BurnedInAnnotation is reported back: ``YES`` or absent means the pixels may show what the
header no longer does, and radpilot does not clean pixels (a note says so).
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from radpilot.datafiles import DataDocument, DataFile, DataModel
from radpilot.interop.deid_text import DateShifter, deidentify_text
from radpilot.interop.dicom_codes import Code

Action = Literal["D", "Z", "X", "K", "C", "U"]


class AttributeRule(DataModel):
    tag: str = Field(pattern=r"^[0-9A-F]{8}$")
    keyword: str
    action: Action
    annex_e: str = Field(description="The action code as Table E.1-1 gives it (X/Z/D ...).")

    @model_validator(mode="after")
    def _keyword_matches_tag(self) -> AttributeRule:
        from pydicom.datadict import keyword_for_tag

        if keyword_for_tag(int(self.tag, 16)) != self.keyword:
            raise ValueError(f"tag {self.tag} is not {self.keyword} in the DICOM dictionary")
        return self


class RepeatingRule(DataModel):
    mask: str = Field(pattern=r"^[0-9A-Fx]{8}$")
    meaning: str
    action: Literal["X"]


class DicomRules(DataDocument):
    """``deid_dicom.json``."""

    profile: Code
    method: str = Field(max_length=64)
    attributes: list[AttributeRule]
    repeating: list[RepeatingRule]
    dummy: dict[str, str]

    @field_validator("attributes")
    @classmethod
    def _unique(cls, value: list[AttributeRule]) -> list[AttributeRule]:
        seen: set[str] = set()
        for rule in value:
            if rule.tag in seen:
                raise ValueError(f"tag {rule.tag} ({rule.keyword}) is listed twice")
            seen.add(rule.tag)
        return value


DEID_DICOM = DataFile("radpilot.interop", "data/deid_dicom.json", DicomRules)


@lru_cache(maxsize=1)
def _rules() -> tuple[DicomRules, dict[int, Action], list[tuple[int, int]]]:
    rules = DEID_DICOM.load()
    actions = {int(r.tag, 16): r.action for r in rules.attributes}
    masks = []
    for r in rules.repeating:
        value = int(r.mask.replace("x", "0"), 16)
        care = int("".join("0" if c == "x" else "F" for c in r.mask), 16)
        masks.append((care, value))
    return rules, actions, masks


class UidMap:
    """Old UID -> new ``2.25`` UID, the same for one secret (consistent within a run)."""

    def __init__(self, secret: bytes) -> None:
        self.secret = secret

    def __call__(self, uid: str) -> str:
        digest = hmac.new(self.secret, uid.strip().encode("ascii", "replace"), hashlib.sha256)
        return f"2.25.{int.from_bytes(digest.digest()[:16], 'big')}"


@dataclass(frozen=True)
class DeidDicom:
    dataset: Any
    notes: tuple[str, ...]


# UIDs that name a kind of thing, not an instance: never remapped.
_KEEP_UIDS = frozenset(
    {"SOPClassUID", "ReferencedSOPClassUID", "MediaStorageSOPClassUID", "TransferSyntaxUID",
     "ImplementationClassUID", "CodingSchemeUID", "MappingResourceUID", "ContextUID",
     "AffectedSOPClassUID", "RequestedSOPClassUID"}
)  # fmt: skip


class _Cleaner:
    def __init__(self, uids: UidMap, shifter: DateShifter, patient_key: str) -> None:
        self.rules, self.actions, self.masks = _rules()
        self.uids = uids
        self.shifter = shifter
        self.patient_key = patient_key
        self.known: tuple[str, ...] = ()

    def dataset(self, ds: Any) -> None:
        for elem in list(ds):
            tag = int(elem.tag)
            if elem.tag.is_private or any(tag & care == value for care, value in self.masks):
                del ds[elem.tag]
                continue
            action = self.actions.get(tag)
            if action is None:
                self._unlisted(ds, elem)
            else:
                self._apply(ds, elem, action)

    def _unlisted(self, ds: Any, elem: Any) -> None:
        if elem.VR == "SQ":
            for item in elem.value or []:
                self.dataset(item)
        elif elem.VR == "PN":
            elem.value = ""
        elif elem.VR == "UI" and elem.keyword not in _KEEP_UIDS and elem.value:
            self._remap(elem)

    def _apply(self, ds: Any, elem: Any, action: str) -> None:
        if action == "X":
            del ds[elem.tag]
        elif action == "Z":
            elem.value = [] if elem.VR == "SQ" else ""
        elif action == "D":
            if elem.VR == "SQ":
                del ds[elem.tag]  # a dummy sequence would carry nothing a reader needs
            else:
                elem.value = self.rules.dummy.get(elem.VR, "ANONYMOUS")
        elif action == "U":
            self._remap(elem)
        elif action == "C" and isinstance(elem.value, str):
            elem.value = deidentify_text(
                elem.value, patient_key=self.patient_key, shifter=self.shifter, known=self.known
            ).text
        elif action == "K" and elem.VR == "SQ":
            for item in elem.value or []:
                self.dataset(item)

    def _remap(self, elem: Any) -> None:
        if elem.VM > 1:
            elem.value = [self.uids(str(v)) for v in elem.value]
        elif elem.value:
            elem.value = self.uids(str(elem.value))


def deidentify_dicom(
    ds: Any, *, uids: UidMap, shifter: DateShifter, patient_key: str | None = None
) -> DeidDicom:
    """De-identify ``ds`` (a pydicom Dataset, changed in place and returned)."""
    from pydicom.dataset import Dataset

    rules, _, _ = _rules()
    cleaner = _Cleaner(uids, shifter, patient_key or str(ds.get("PatientID", "") or ""))
    cleaner.known = tuple(
        str(v) for v in (ds.get("PatientName"), ds.get("PatientID"), ds.get("OtherPatientIDs")) if v
    )
    burned = str(ds.get("BurnedInAnnotation", "") or "").upper()
    cleaner.dataset(ds)
    meta = getattr(ds, "file_meta", None)
    if meta is not None:
        if "MediaStorageSOPInstanceUID" in meta:
            meta.MediaStorageSOPInstanceUID = uids(str(meta.MediaStorageSOPInstanceUID))
        if "SourceApplicationEntityTitle" in meta:
            del meta.SourceApplicationEntityTitle
    ds.PatientIdentityRemoved = "YES"
    ds.DeidentificationMethod = rules.method
    code = Dataset()
    code.CodeValue = rules.profile.value
    code.CodingSchemeDesignator = rules.profile.scheme
    code.CodeMeaning = rules.profile.meaning
    ds.DeidentificationMethodCodeSequence = [code]
    ds.LongitudinalTemporalInformationModified = "REMOVED"
    notes = []
    if burned != "NO":
        state = "YES" if burned == "YES" else "not stated"
        notes.append(
            f"BurnedInAnnotation {state}: the pixels may show identifiers; radpilot does not "
            "clean pixel data, so check the image before release"
        )
    return DeidDicom(ds, tuple(notes))


def is_dicom_name(name: str) -> bool:
    return bool(re.search(r"\.(dcm|dicom)$", name, re.IGNORECASE))
