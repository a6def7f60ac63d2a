"""Input formats for ``radpilot archive add``: CSV, JSONL, OpenI XML, FHIR R4, HL7 v2.

``iter_file(path)`` yields a ``ReportRecord`` or a ``RecordError`` for every record it
finds, plus ``RecordNote`` lines (a fallback decoding), and never raises: one bad row,
message or XML file is one error and the rest goes on; a file that cannot be read at all,
or that breaks off part way (a truncated ``.tgz``), is one error naming where, after the
records read before it. Messages name file, line, entry and field, never their content.
"""

from __future__ import annotations

import csv
import json
import logging
import tarfile
import zlib
from collections.abc import Callable, Iterator, Mapping
from enum import StrEnum
from pathlib import Path

from radpilot.errors import InputError, RadpilotError
from radpilot.interop.records import Item, RecordError, RecordNote, ReportRecord, make_record
from radpilot.reports.csvrecords import CsvRecords, Record

log = logging.getLogger(__name__)

# Sectioned columns, in the order a report reads; the header is what the reader sees.
SECTION_FIELDS = (
    ("comparison", "COMPARISON"),
    ("indication", "INDICATION"),
    ("history", "HISTORY"),
    ("technique", "TECHNIQUE"),
    ("findings", "FINDINGS"),
    ("impression", "IMPRESSION"),
)
META_FIELDS = ("patient_id", "study_date", "modality", "body_part")
ID_FIELDS = ("id", "accession")
KNOWN_FIELDS = frozenset((*ID_FIELDS, "text", *META_FIELDS, *(f for f, _ in SECTION_FIELDS)))
RECORD_FIELDS = {"id": "id", "text": "text (or a section column)", "study_date": "study_date"}
OPENI_FIELDS = {"id": "file name", "text": "AbstractText", "study_date": "date"}
# A file that breaks off part way: a short gzip stream, a cut tar, a damaged block.
_BROKEN = (OSError, EOFError, zlib.error, tarfile.TarError, UnicodeDecodeError, csv.Error)


class SourceFormat(StrEnum):
    CSV = "csv"
    JSONL = "jsonl"
    OPENI = "openi"
    FHIR = "fhir"
    HL7 = "hl7"


def detect_format(path: Path) -> SourceFormat:
    """The format from the name (``.json``/``.ndjson`` are FHIR)."""
    name = path.name.lower()
    if path.is_dir() or name.endswith((".tgz", ".tar.gz", ".xml")):
        return SourceFormat.OPENI
    if name.endswith(".csv"):
        return SourceFormat.CSV
    if name.endswith((".hl7", ".oru")):
        return SourceFormat.HL7
    if name.endswith((".json", ".ndjson")):
        return SourceFormat.FHIR
    if name.endswith(".jsonl"):
        return SourceFormat.JSONL
    raise InputError(
        f"{path}: unknown input format; use one of .csv, .jsonl, .json/.ndjson (FHIR), "
        ".hl7/.oru (HL7 v2), .xml/.tgz or a folder (OpenI)"
    )


def iter_file(path: Path, fmt: SourceFormat | None = None) -> Iterator[Item]:
    """Every record of one input file, in file order."""
    if not path.exists():
        yield RecordError(str(path), "file", "does not exist")
        return
    try:
        fmt = fmt or detect_format(path)
    except InputError as exc:
        yield RecordError(str(path), "file", str(exc).split(": ", 1)[-1])
        return
    read = 0
    try:
        for item in _READERS[fmt](path):
            read += isinstance(item, ReportRecord | RecordError)
            yield item
    except RadpilotError as exc:
        yield RecordError(str(path), _after(read), str(exc).removeprefix(f"{path}: "))
    except _BROKEN as exc:
        yield RecordError(str(path), _after(read), f"cannot be read further ({_why(exc)})")
    except RecursionError:
        yield RecordError(str(path), _after(read), "nested too deeply to read")
    except Exception as exc:  # a kind of damage not foreseen: the file, not the run
        log.debug("%s: reading failed", path, exc_info=True)
        yield RecordError(str(path), _after(read), f"cannot be read ({type(exc).__name__})")


def _after(read: int) -> str:
    return f"after {read} record(s)" if read else "file"


def _why(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    if isinstance(exc, UnicodeDecodeError):
        return f"not {exc.encoding} text at byte {exc.start}"
    return " ".join(str(exc).split()) or type(exc).__name__


def record_from_fields(fields: Mapping[str, object], source: str) -> ReportRecord:
    """One record from a CSV row or JSON object (``text`` or sectioned columns)."""
    rid = next((fields[k] for k in ID_FIELDS if fields.get(k) not in (None, "")), None)
    text = fields.get("text")
    if text is None or not str(text).strip():
        parts = []
        for key, header in SECTION_FIELDS:
            body = fields.get(key)
            if body is not None and str(body).strip():
                parts.append(f"{header}: {str(body).strip()}")
        text = "\n".join(parts)
    return make_record(
        rid=rid,
        text=text,
        patient_id=fields.get("patient_id"),
        study_date=fields.get("study_date"),
        modality=fields.get("modality"),
        body_part=fields.get("body_part"),
        source=source,
        fields=RECORD_FIELDS,
    )


def _decoded_lines(path: Path) -> Iterator[str | RecordNote]:
    """The file's lines as text, by BOM or as UTF-8 with a cp1252 / latin-1 fallback per
    line (the same decoding as ``radpilot label``); then a note if any line needed it."""
    from radpilot.reports.textfile import DecodedLines, sniff_encoding

    with path.open("rb") as fh:
        lines = DecodedLines(fh, sniff_encoding(fh.read(4096)))
        fh.seek(0)
        yield from lines
    if lines.notes:
        kinds = sorted(set(lines.notes))
        yield RecordNote(str(path), "file", f"{len(lines.notes)} line(s) {'; '.join(kinds)}")


def _iter_csv(path: Path) -> Iterator[Item]:
    # The same CSV records as `radpilot label` reads (a broken quote loses no row).
    notes: list[RecordNote] = []

    def lines() -> Iterator[str]:
        for line in _decoded_lines(path):
            if isinstance(line, RecordNote):
                notes.append(line)
            else:
                yield line

    yield from _csv_records(path, iter(CsvRecords(lines())))
    yield from notes


def _csv_records(path: Path, records: Iterator[Record]) -> Iterator[Item]:
    first = next(records, None)
    if first is None or first.error is not None:
        problem = "empty file" if first is None else "not valid CSV"
        yield RecordError(str(path), "line 1", f"{problem} (a header row is needed)")
        return
    cols = [h.strip().lower() for h in first.fields]
    if not any(c in cols for c in ID_FIELDS):
        # Never list the row: in a file without a header it is a report.
        yield RecordError(
            str(path),
            "line 1",
            f"the first row has no 'id' or 'accession' column ({len(cols)} field(s)); the "
            "first row must name the columns, e.g. id,text (every report needs an id)",
        )
        return
    if set(cols) - KNOWN_FIELDS:
        log.debug("%s: ignoring %d unknown column(s)", path, len(set(cols) - KNOWN_FIELDS))
    for rec in records:
        where = f"line {rec.line}"
        if rec.warning is not None:
            yield RecordNote(str(path), where, rec.warning)
        if rec.error is not None:
            yield RecordError(str(path), where, rec.error)
        elif any(c.strip() for c in rec.fields):
            yield _csv_record(path, where, cols, rec.fields)


def _csv_record(path: Path, where: str, cols: list[str], row: list[str]) -> Item:
    if len(row) != len(cols):
        return RecordError(
            str(path), where, f"row has {len(row)} fields, the header has {len(cols)}"
        )
    try:
        return record_from_fields(dict(zip(cols, row, strict=True)), f"{path}:{where}")
    except InputError as exc:
        return RecordError(str(path), where, str(exc))


def _iter_jsonl(path: Path) -> Iterator[Item]:
    for lineno, line in enumerate(_decoded_lines(path), 1):
        if isinstance(line, RecordNote):
            yield line
            continue
        where = f"line {lineno}"
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except RecursionError:
            yield RecordError(str(path), where, "JSON nested too deeply to read")
            continue
        except ValueError as exc:  # JSONDecodeError, or an integer over Python's digit limit
            msg = exc.msg if isinstance(exc, json.JSONDecodeError) else "a number too long"
            yield RecordError(str(path), where, f"not valid JSON ({msg})")
            continue
        if not isinstance(obj, dict):
            yield RecordError(str(path), where, "a JSON object is needed")
            continue
        try:
            yield record_from_fields(obj, f"{path}:{where}")
        except InputError as exc:
            yield RecordError(str(path), where, str(exc))


def _iter_openi(path: Path) -> Iterator[Item]:
    # Per-file parsing so one broken or empty XML is one error, not the end of the archive.
    from radpilot.reports.openi import iter_xml_members, parse_xml

    for f in iter_xml_members(path):
        if f.data is None:
            yield RecordError(f.container, f.member, str(f.problem))
            continue
        try:
            rep = parse_xml(f.data, f.id, f.where)
            yield make_record(
                rid=rep.id,
                text=rep.full_text,
                body_part="CHEST",
                source=f.where,
                fields=OPENI_FIELDS,
            )
        except InputError as exc:
            yield RecordError(f.container, f.member, str(exc).removeprefix(f"{f.where}: "))


def _iter_fhir(path: Path) -> Iterator[Item]:
    from radpilot.interop.fhir import iter_fhir

    yield from iter_fhir(path)


def _iter_hl7(path: Path) -> Iterator[Item]:
    from radpilot.interop.hl7 import iter_hl7

    yield from iter_hl7(path)


_READERS: dict[SourceFormat, Callable[[Path], Iterator[Item]]] = {
    SourceFormat.CSV: _iter_csv,
    SourceFormat.JSONL: _iter_jsonl,
    SourceFormat.OPENI: _iter_openi,
    SourceFormat.FHIR: _iter_fhir,
    SourceFormat.HL7: _iter_hl7,
}
