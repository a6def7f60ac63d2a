"""Every ingest format, with bad records reported (file + position) and skipped."""

from __future__ import annotations

import base64
import json
import tarfile
from pathlib import Path

import pytest

from radpilot.errors import InputError
from radpilot.interop.hl7 import iter_hl7
from radpilot.interop.records import RecordError, RecordNote, ReportRecord, normalise_date
from radpilot.search.sources import SourceFormat, detect_format, iter_file


def split(items: list) -> tuple[list[ReportRecord], list[RecordError]]:
    recs = [i for i in items if isinstance(i, ReportRecord)]
    errs = [i for i in items if isinstance(i, RecordError)]
    assert len(recs) + len(errs) == len(items)
    return recs, errs


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2024-03-02", "2024-03-02"),
        ("2024-03-02T10:11:00Z", "2024-03-02"),
        ("20240302", "2024-03-02"),
        ("202403021011", "2024-03-02"),
        ("20240302101100+0100", "2024-03-02"),
        ("", None),
        (None, None),
    ],
)
def test_normalise_date(value: str | None, expected: str | None) -> None:
    assert normalise_date(value) == expected


@pytest.mark.parametrize("value", ["2024-13-01", "yesterday", "2024-02-30", "24-01-01"])
def test_normalise_date_rejects(value: str) -> None:
    with pytest.raises(InputError, match="not a date"):
        normalise_date(value)


@pytest.mark.parametrize(
    ("name", "fmt"),
    [
        ("a.csv", SourceFormat.CSV),
        ("a.jsonl", SourceFormat.JSONL),
        ("a.json", SourceFormat.FHIR),
        ("a.ndjson", SourceFormat.FHIR),
        ("a.hl7", SourceFormat.HL7),
        ("a.tgz", SourceFormat.OPENI),
        ("a.xml", SourceFormat.OPENI),
    ],
)
def test_detect_format(name: str, fmt: SourceFormat) -> None:
    assert detect_format(Path(name)) is fmt


def test_unknown_format_is_one_error(tmp_path: Path) -> None:
    p = tmp_path / "a.docx"
    p.write_text("x")
    recs, errs = split(list(iter_file(p)))
    assert not recs and len(errs) == 1 and "unknown input format" in errs[0].message


def test_missing_file_is_one_error(tmp_path: Path) -> None:
    _, errs = split(list(iter_file(tmp_path / "nope.csv")))
    assert errs[0].message == "does not exist"


def test_csv_text_and_sections_with_bad_rows(tmp_path: Path) -> None:
    p = tmp_path / "r.csv"
    p.write_text(
        "accession,patient_id,study_date,modality,findings,impression,extra\n"
        "X1,P1,2024-01-02,cr,No pneumothorax.,Normal.,z\n"
        "X2,P2,2024-01-03,CR,Small effusion.\n"  # ragged: too few fields
        ",P3,2024-01-04,CR,Clear.,Normal.,z\n"  # no id
        "X4,P4,2024-99-04,CR,Clear.,Normal.,z\n"  # bad date
        "X5,P5,,CR,,,z\n"  # no text
        '"X6",P6,2024-01-05,CR,"Line one,\nline two.",Fine.,z\n'
    )
    recs, errs = split(list(iter_file(p)))
    assert [r.id for r in recs] == ["X1", "X6"]
    assert recs[0].text == "FINDINGS: No pneumothorax.\nIMPRESSION: Normal."
    assert recs[0].modality == "CR" and recs[0].study_date == "2024-01-02"
    assert [e.position for e in errs] == ["line 3", "line 4", "line 5", "line 6"]
    assert "5 fields, the header has 7" in errs[0].message
    assert errs[1].message == "field 'id': empty (every report needs an id)"
    assert "not a date" in errs[2].message
    assert errs[3].message == "field 'text (or a section column)': empty (no report text)"
    assert all(str(e).startswith(str(p)) for e in errs)


def test_csv_without_id_column(tmp_path: Path) -> None:
    p = tmp_path / "r.csv"
    p.write_text("text\nNo pneumothorax.\n")
    _, errs = split(list(iter_file(p)))
    assert len(errs) == 1 and "no 'id' or 'accession' column" in errs[0].message


def test_jsonl(tmp_path: Path) -> None:
    p = tmp_path / "r.jsonl"
    p.write_text(
        json.dumps({"id": "J1", "text": "Cardiomegaly.", "patient_id": 7}) + "\n"
        "{broken\n"
        "[1, 2]\n"
        "\n" + json.dumps({"id": "J2", "findings": "Effusion.", "study_date": "20240101"}) + "\n"
    )
    recs, errs = split(list(iter_file(p)))
    assert [(r.id, r.patient_id) for r in recs] == [("J1", "7"), ("J2", None)]
    assert recs[1].text == "FINDINGS: Effusion." and recs[1].study_date == "2024-01-01"
    assert [e.position for e in errs] == ["line 2", "line 3"]
    assert "not valid JSON" in errs[0].message and "JSON object" in errs[1].message


OPENI_XML = """<?xml version="1.0"?><eCitation><MedlineCitation><Article><Abstract>
<AbstractText Label="FINDINGS">No pneumothorax.</AbstractText>
<AbstractText Label="IMPRESSION">Normal chest.</AbstractText>
</Abstract></Article></MedlineCitation><MeSH><major>normal</major></MeSH></eCitation>"""


def test_openi_folder_and_tgz_with_broken_xml(tmp_path: Path) -> None:
    folder = tmp_path / "xml"
    folder.mkdir()
    (folder / "1.xml").write_text(OPENI_XML)
    (folder / "2.xml").write_text("<eCitation><unclosed>")
    recs, errs = split(list(iter_file(folder)))
    assert [r.id for r in recs] == ["1"]
    assert recs[0].text == "FINDINGS: No pneumothorax.\nIMPRESSION: Normal chest."
    assert len(errs) == 1 and (errs[0].file, errs[0].position) == (str(folder), "2.xml")
    assert errs[0].message.startswith("not well-formed XML")
    tgz = tmp_path / "r.tgz"
    with tarfile.open(tgz, "w:gz") as tf:
        tf.add(folder / "1.xml", arcname="ecgen/1.xml")
        tf.add(folder / "2.xml", arcname="ecgen/2.xml")
    recs2, errs2 = split(list(iter_file(tgz)))
    assert [r.id for r in recs2] == ["1"] and len(errs2) == 1


def test_openi_corrupt_tgz_is_one_error(tmp_path: Path) -> None:
    p = tmp_path / "r.tgz"
    p.write_bytes(b"not a tar file at all")
    _, errs = split(list(iter_file(p)))
    assert len(errs) == 1 and errs[0].message == "not a tar archive (plain, gzip, bzip2 or xz)"


def _dr(rid: str, text: str | None = None, conclusion: str | None = None) -> dict:
    res: dict = {
        "resourceType": "DiagnosticReport",
        "id": rid,
        "status": "final",
        "code": {"text": "XR chest"},
        "subject": {"reference": "Patient/P9"},
        "effectiveDateTime": "2024-04-05T08:00:00Z",
    }
    if text is not None:
        data = base64.b64encode(text.encode()).decode()
        res["presentedForm"] = [{"contentType": "text/plain", "data": data}]
    if conclusion is not None:
        res["conclusion"] = conclusion
    return res


def test_fhir_bundle(tmp_path: Path) -> None:
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {"resource": _dr("F1", text="FINDINGS: Left pleural effusion.")},
            {"resource": _dr("F2", conclusion="No pneumothorax.")},
            {"resource": {"resourceType": "Patient", "id": "P9"}},  # not a report: an error
            {"resource": {**_dr("F3", text="x"), "subject": 12}},  # invalid
            {"resource": _dr("F4")},  # no text
        ],
    }
    p = tmp_path / "b.json"
    p.write_text(json.dumps(bundle))
    recs, errs = split(list(iter_file(p)))
    assert [(r.id, r.patient_id, r.study_date) for r in recs] == [
        ("F1", "P9", "2024-04-05"),
        ("F2", "P9", "2024-04-05"),
    ]
    assert recs[0].text == "FINDINGS: Left pleural effusion."
    assert recs[1].text == "No pneumothorax."
    assert [e.position for e in errs] == ["entry 2", "entry 3", "entry 4"]
    assert errs[0].message == "resourceType 'Patient' is not DiagnosticReport; not stored"
    assert "invalid DiagnosticReport: subject" in errs[1].message
    assert "empty (no report text)" in errs[2].message


def test_fhir_ndjson_and_broken_json(tmp_path: Path) -> None:
    p = tmp_path / "r.ndjson"
    p.write_text(json.dumps(_dr("N1", text="Cardiomegaly.")) + "\n{oops\n" + '{"a": 1}\n')
    recs, errs = split(list(iter_file(p)))
    assert [r.id for r in recs] == ["N1"]
    assert [e.position for e in errs] == ["line 2", "line 3"]
    q = tmp_path / "bad.json"
    q.write_text("{not json")
    _, errs = split(list(iter_file(q)))
    assert len(errs) == 1 and "not valid JSON" in errs[0].message


HL7 = (
    "MSH|^~\\&|RIS|HOSP|EMR|HOSP|202403020830||ORU^R01|MSG1|P|2.5\r"
    "PID|1||PAT1^^^HOSP^MR||DOE^JANE\r"
    "OBR|1|PLC1|ACC1|71046^XR CHEST 2V|||20240302080000|||||||||||||||||CR\r"
    "OBX|1|TX|71046^IMPRESSION||FINDINGS: Small left pleural effusion \\T\\ atelectasis.~No pneumothorax.\r"
    "OBX|2|TX|71046^IMPRESSION||IMPRESSION: Effusion\\.br\\left side.\r"
    "OBX|3|NM|HR||72\r"
    "MSH|^~\\&|RIS|HOSP|EMR|HOSP|202403020831||ADT^A01|MSG2|P|2.5\r"
    "PID|1||PAT2\r"
    "MSH|^~\\&|RIS|HOSP|EMR|HOSP|202403020832||ORU^R01|MSG3|P|2.5\n"
    "PID|1||PAT3\n"
    "OBR|1|PLC3||71046\n"
    "OBX|1|TX|X||Cardiomegaly.\n"
    "bad segment here\n"
    "MSH|^~\\&|RIS|HOSP|EMR|HOSP|202403020833||ORU^R01|MSG4|P|2.5\r"
    "PID|1||PAT4\r"
    "OBR|1|||71046\r"
    "OBX|1|TX|X||No text id.\r"
)


def test_hl7_messages(tmp_path: Path) -> None:
    p = tmp_path / "m.hl7"
    p.write_text(HL7)
    recs, errs = split(list(iter_hl7(p)))
    assert len(recs) == 1
    r = recs[0]
    assert (r.id, r.patient_id, r.study_date, r.modality) == ("ACC1", "PAT1", "2024-03-02", "CR")
    assert r.text == (
        "FINDINGS: Small left pleural effusion & atelectasis.\nNo pneumothorax.\n"
        "IMPRESSION: Effusion\nleft side."
    )
    assert len(errs) == 3
    assert "ADT^A01" in errs[0].message and errs[0].position.startswith("message 2")
    assert "malformed segment" in errs[1].message and errs[1].position == "message 3, line 13"
    assert errs[2].message == (
        "field 'OBR-3 (or OBR-2)': empty in every OBR segment (or no OBR segment)"
    )
    assert all("PAT" not in str(e) and "Cardiomegaly" not in str(e) for e in errs)


def test_hl7_custom_separators_and_placer_id(tmp_path: Path) -> None:
    msg = (
        "MSH#*!%$#RIS#H#EMR#H#20240101##ORU*R01#1#P#2.3\r"
        "PID#1##PX*1\r"
        "OBR#1#PLACER9##X###20231231\r"
        "OBX#1#FT#X##Heart size is enlarged%F%.!Second line.\r"
    )
    p = tmp_path / "c.hl7"
    p.write_text(msg)
    recs, errs = split(list(iter_file(p)))
    assert not errs
    assert recs[0].id == "PLACER9" and recs[0].patient_id == "PX"
    assert recs[0].study_date == "2023-12-31"
    assert recs[0].text == "Heart size is enlarged#.\nSecond line."


def test_hl7_mllp_framing(tmp_path: Path) -> None:
    p = tmp_path / "f.hl7"
    p.write_text("\x0b" + HL7.split("MSH|^~\\&|RIS|HOSP|EMR|HOSP|202403020831")[0] + "\x1c\r")
    recs, _ = split(list(iter_file(p)))
    assert [r.id for r in recs] == ["ACC1"]


def test_hl7_decodes_by_msh18_else_falls_back(tmp_path: Path) -> None:
    msh = "MSH|^~\\&|RIS|H|EMR|H|20240101||ORU^R01|{n}|P|2.5{tail}\r"
    body = "PID|1||P{n}\rOBR|1||H{n}||||20240101\rOBX|1|TX|X||{text}\r"
    cases = [
        ("||||||8859/1", "Épanchement pleural gauche.", "latin-1", None),  # declared
        (
            "",
            "Épanchement pleural gauche.",
            "latin-1",
            "MSH-18 is empty; not valid UTF-8: decoded as cp1252",
        ),
        ("", "Épanchement pleural gauche.", "utf-8", None),  # UTF-8, nothing declared
        ("||||||UNICODE UTF-8", "Épanchement pleural gauche.", "latin-1", "decoded as cp1252"),
        (
            "||||||KLINGON",
            "Épanchement pleural gauche.",
            "latin-1",
            "MSH-18 names a character set radpilot does not know; not valid UTF-8: decoded as cp1252",
        ),
    ]
    raw = b"".join(
        (msh.format(n=n, tail=tail) + body.format(n=n, text=text)).encode(enc)
        for n, (tail, text, enc, _) in enumerate(cases)
    )
    p = tmp_path / "latin1.hl7"
    p.write_bytes(raw)
    items = list(iter_file(p))
    recs = [i for i in items if isinstance(i, ReportRecord)]
    notes = [i for i in items if isinstance(i, RecordNote)]
    assert [r.text for r in recs] == [c[1] for c in cases]  # every message, decoded right
    assert not [i for i in items if isinstance(i, RecordError)]
    expected = [(f"message {n + 1}", c[3]) for n, c in enumerate(cases) if c[3]]
    assert len(notes) == len(expected)
    for note, (where, text) in zip(notes, expected, strict=True):
        assert note.position.startswith(where) and text in note.message


def test_fhir_every_resource_is_accounted_for(tmp_path: Path) -> None:
    p = tmp_path / "mixed.ndjson"
    lines = [
        json.dumps(_dr("N1", text="Cardiomegaly.")),
        json.dumps({"resourceType": "Observation", "id": "O1"}),
        json.dumps({"resourceType": 7}),
        json.dumps(
            {"resourceType": "Bundle", "entry": [{"resource": _dr("N2", text="Effusion.")}]}
        ),
        json.dumps([1, 2]),
    ]
    p.write_text("\n".join(lines) + "\n")
    recs, errs = split(list(iter_file(p)))
    assert [r.id for r in recs] == ["N1", "N2"]
    assert [(e.position, e.message) for e in errs] == [
        ("line 2", "resourceType 'Observation' is not DiagnosticReport; not stored"),
        ("line 3", "resourceType unknown is not DiagnosticReport; not stored"),
        ("line 5", "not a FHIR resource (no resourceType)"),
    ]


DEEP = "[" * 5000 + "]" * 5000


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("r.jsonl", '{"id": "G1", "text": "Cardiomegaly."}\n{"id": "D", "x": ' + DEEP + "}\n"),
        ("r.ndjson", json.dumps(_dr("G1", text="Cardiomegaly.")) + "\n" + DEEP + "\n"),
    ],
)
def test_deeply_nested_json_is_one_error(tmp_path: Path, name: str, content: str) -> None:
    p = tmp_path / name
    p.write_text(content)
    recs, errs = split(list(iter_file(p)))
    assert [r.id for r in recs] == ["G1"]
    assert [(e.position, e.message) for e in errs] == [("line 2", "JSON nested too deeply to read")]
    q = tmp_path / "deep.json"
    q.write_text(DEEP)
    _, errs = split(list(iter_file(q)))
    assert [(e.position, e.message) for e in errs] == [
        ("resource", "JSON nested too deeply to read")
    ]


def test_truncated_tgz_keeps_what_was_read(tmp_path: Path) -> None:
    folder = tmp_path / "xml"
    folder.mkdir()
    big = OPENI_XML.replace("Normal chest.", "Normal chest. " + "Lungs are clear. " * 400)
    for i in range(1, 41):
        (folder / f"{i}.xml").write_text(big.replace("No pneumothorax", f"No pneumothorax {i}"))
    tgz = tmp_path / "r.tgz"
    with tarfile.open(tgz, "w:gz") as tf:
        for i in range(1, 41):
            tf.add(folder / f"{i}.xml", arcname=f"ecgen/{i}.xml")
    cut = tmp_path / "cut.tgz"
    cut.write_bytes(tgz.read_bytes()[: tgz.stat().st_size * 2 // 3])
    recs, errs = split(list(iter_file(cut)))
    assert 0 < len(recs) < 40 and [r.id for r in recs] == [str(i) for i in range(1, len(recs) + 1)]
    (err,) = errs
    assert err.file == str(cut) and err.position == f"after {len(recs)} record(s)"
    assert err.message.startswith(
        f"the archive breaks off or is damaged after {len(recs)} XML file(s)"
    )
    assert f"(the last whole one: ecgen/{len(recs)}.xml)" in err.message


def test_csv_unterminated_quote_and_long_field(tmp_path: Path) -> None:
    p = tmp_path / "q.csv"
    p.write_text(
        "id,text\nA1,Cardiomegaly.\n"
        f'A2,"{"x" * 140_000}"\n'
        'A3,ab"c stray quote\n'
        'A4,"never closed\nA5,lost\nA6,lost\n'
    )
    items = list(iter_file(p))
    recs, errs = split([i for i in items if not isinstance(i, RecordNote)])
    # The same CSV records as `radpilot label`: a long field is kept, and a quote that never
    # closes is read as its own line with a note; the lines after it stay rows of their own.
    assert [r.id for r in recs] == ["A1", "A2", "A3", "A4", "A5", "A6"] and errs == []
    assert len(recs[1].text) == 140_000 and recs[3].text == '"never closed'.strip('"')
    notes = [(n.position, n.message) for n in items if isinstance(n, RecordNote)]
    assert notes == [
        (
            "line 5",
            "a quote opened on line 5 is never closed (it would swallow lines 6-7); "
            "read line 5 alone",
        )
    ]


def test_csv_and_jsonl_lines_not_utf8_are_decoded_with_a_note(tmp_path: Path) -> None:
    p = tmp_path / "r.csv"
    p.write_bytes("id,text\nA1,Épanchement.\nA2,Normal.\n".encode("cp1252"))
    items = list(iter_file(p))
    recs = [i for i in items if isinstance(i, ReportRecord)]
    assert [r.text for r in recs] == ["Épanchement.", "Normal."]
    (note,) = [i for i in items if isinstance(i, RecordNote)]
    assert note.message == "1 line(s) not valid UTF-8; decoded as cp1252"
    q = tmp_path / "r.jsonl"
    q.write_bytes(
        b'{"id": "J1", "text": "\xc9panchement."}\n{"id": "J2", "n": 1' + b"1" * 5000 + b"}\n"
    )
    items = list(iter_file(q))
    assert [i.text for i in items if isinstance(i, ReportRecord)] == ["Épanchement."]
    assert [str(i) for i in items if isinstance(i, RecordError)] == [
        f"{q}: line 2: not valid JSON (a number too long)"
    ]
