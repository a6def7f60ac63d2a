"""HL7 v2.7 ORU^R01 export of a read report: MSH, PID, OBR, one OBX (TX) with the report
text, then one OBX (CNE) per finding mention with an NTE holding its evidence span.

- OBX-5 of the text OBX holds one repetition per line of the report; every delimiter in
  a value is escaped (``\\F\\ \\S\\ \\T\\ \\R\\ \\E\\``) and other control characters become
  spaces (HL7 v2 has no way to carry them that every receiver reads).
- A finding OBX: OBX-3 = radpilot's finding id in the ``99RADPILOT`` scheme, OBX-4 = the
  mention's number, OBX-5 = present / absent / uncertain, OBX-11 = ``P`` (preliminary: an
  AI-assist reading, not a signed result), OBX-20 = laterality (SNOMED, ``SCT``).
  CNE, not CWE, so a reader taking text from TX/FT/ST/CE/CWE (radpilot's own, for one)
  does not mix the codes into the report text.

radpilot's reader (``interop.hl7``) reads the message back: same id, patient, date, text.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from radpilot.interop.dicom_codes import Code
from radpilot.interop.export_codes import export_codes
from radpilot.interop.records import ReportRecord
from radpilot.reports.models import Mention, Report

FIELD, COMPONENT, REPETITION, ESCAPE, SUBCOMPONENT = "|", "^", "~", "\\", "&"
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def escape(value: str) -> str:
    """A value with HL7's delimiters escaped (the escape character first).

    >>> escape("a|b^c~d&e\\\\f")
    'a\\\\F\\\\b\\\\S\\\\c\\\\R\\\\d\\\\T\\\\e\\\\E\\\\f'
    """
    value = _CONTROL.sub(" ", value.replace("\r\n", "\n").replace("\r", "\n"))
    return (
        value.replace(ESCAPE, "\\E\\")
        .replace(FIELD, "\\F\\")
        .replace(COMPONENT, "\\S\\")
        .replace(REPETITION, "\\R\\")
        .replace(SUBCOMPONENT, "\\T\\")
    )


def _text_value(text: str) -> str:
    return REPETITION.join(escape(line) for line in text.replace("\r\n", "\n").split("\n"))


def _ce(code: Code) -> str:
    return COMPONENT.join(escape(v) for v in (code.value, code.meaning, code.scheme))


def _segment(name: str, *fields: str) -> str:
    out = list(fields)
    while out and not out[-1]:
        out.pop()
    return FIELD.join([name, *out])


def _finding_obx(n: int, sub: int, mention: Mention, report: Report) -> list[str]:
    codes = export_codes()
    name = mention.finding.replace("_", " ")
    vocab = report.vocabulary
    if vocab is not None and mention.finding in vocab.findings:
        name = vocab.findings[mention.finding].name
    scheme = codes.hl7_private_scheme
    certainty = mention.certainty.value
    site = ""
    if mention.laterality is not None and mention.laterality in codes.laterality:
        site = _ce(codes.laterality[mention.laterality])
    fields = [""] * 20
    fields[0] = str(n)  # OBX-1 set id
    fields[1] = "CNE"
    fields[2] = COMPONENT.join([escape(mention.finding), escape(name), scheme])
    fields[3] = str(sub)
    fields[4] = COMPONENT.join([certainty, certainty, scheme])
    fields[10] = "P"
    fields[19] = site  # OBX-20 observation site
    span = mention.span
    note = f"evidence {span.start}-{span.end}: {span.text}"
    return [_segment("OBX", *fields), _segment("NTE", str(sub), "L", escape(note))]


def to_oru(record: ReportRecord, report: Report, *, control_id: str = "1") -> str:
    """One ORU^R01 message, segments joined by CR (and a CR at the end)."""
    codes = export_codes()
    now = datetime.now(UTC).strftime("%Y%m%d%H%M%S")
    date = (record.study_date or "").replace("-", "")
    msh = FIELD.join(
        [
            "MSH",
            COMPONENT + REPETITION + ESCAPE + SUBCOMPONENT,
            "RADPILOT",
            "RADPILOT",
            "",
            "",
            now,
            "",
            "ORU^R01^ORU_R01",
            escape(control_id),
            "P",
            "2.7",
            "",
            "",
            "",
            "",
            "",
            "UNICODE UTF-8",
        ]
    )
    pid = _segment("PID", "1", "", escape(record.patient_id or ""))
    obr = [""] * 25
    obr[0] = "1"
    obr[2] = escape(record.id)  # OBR-3 filler order number (the accession)
    obr[3] = _ce(codes.report)
    obr[6] = date  # OBR-7 observation date/time
    obr[23] = escape(record.modality or "")  # OBR-24 diagnostic service section
    obr[24] = "P"  # OBR-25 result status: preliminary
    segments = [msh, pid, _segment("OBR", *obr)]
    segments.append(
        _segment(
            "OBX",
            "1",
            "TX",
            _ce(codes.narrative),
            "",
            _text_value(record.text),
            "",
            "",
            "",
            "",
            "",
            "P",
        )
    )
    for sub, mention in enumerate(report.mentions, 1):
        segments += _finding_obx(sub + 1, sub, mention, report)
    return "\r".join(segments) + "\r"
