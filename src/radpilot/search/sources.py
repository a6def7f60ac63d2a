"""Input formats for ``radpilot archive add``: CSV, JSONL, OpenI XML, FHIR R4, HL7 v2.

``iter_file(path)`` yields ReportRecord or RecordError values and never raises for a
bad record: one bad row, message or XML file is reported and the rest goes on. A file
that cannot be read at all yields one RecordError for the whole file.
"""

from __future__ import annotations

import csv
import json
import logging
import tarfile
from collections.abc import Callable, Iterator, Mapping
from enum import StrEnum
from pathlib import Path

from radpilot.errors import InputError
from radpilot.search.records import RecordError, ReportRecord, make_record

log = logging.getLogger(__name__)

Item = ReportRecord | RecordError

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


class SourceFormat(StrEnum):
    CSV = "csv"
    JSONL = "jsonl"
    OPENI = "openi"
    FHIR = "fhir"
    HL7 = "hl7"


def detect_format(path: Path) -> SourceFormat:
    """The format from the name (and, for ``.json``/``.ndjson``, FHIR by content)."""
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
    reader = _READERS[fmt]
    try:
        yield from reader(path)
    except (OSError, UnicodeDecodeError, csv.Error, tarfile.TarError) as exc:
        yield RecordError(str(path), "file", f"cannot be read ({exc})")
    except InputError as exc:
        yield RecordError(str(path), "file", f"cannot be read ({str(exc).split(': ', 1)[-1]})")


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
    )


def _iter_csv(path: Path) -> Iterator[Item]:
    with path.open(newline="", encoding="utf-8-sig") as fh:
        rows = csv.reader(fh)
        header = next(rows, None)
        if header is None:
            yield RecordError(str(path), "line 1", "empty file (a header row is needed)")
            return
        cols = [h.strip().lower() for h in header]
        if not any(c in cols for c in ID_FIELDS):
            yield RecordError(
                str(path), "line 1", f"no 'id' or 'accession' column (columns: {', '.join(cols)})"
            )
            return
        unknown = sorted(set(cols) - KNOWN_FIELDS)
        if unknown:
            log.debug("%s: ignoring columns %s", path, unknown)
        for row in rows:
            where = f"line {rows.line_num}"
            if not row or all(not c.strip() for c in row):
                continue
            if len(row) != len(cols):
                yield RecordError(
                    str(path), where, f"row has {len(row)} fields, the header has {len(cols)}"
                )
                continue
            try:
                yield record_from_fields(dict(zip(cols, row, strict=True)), f"{path}:{where}")
            except InputError as exc:
                yield RecordError(str(path), where, str(exc))


def _iter_jsonl(path: Path) -> Iterator[Item]:
    with path.open(encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            where = f"line {lineno}"
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                yield RecordError(str(path), where, f"not valid JSON ({exc.msg})")
                continue
            if not isinstance(obj, dict):
                yield RecordError(str(path), where, "a JSON object is needed")
                continue
            try:
                yield record_from_fields(obj, f"{path}:{where}")
            except InputError as exc:
                yield RecordError(str(path), where, str(exc))


def _iter_openi(path: Path) -> Iterator[Item]:
    # Per-file parsing so one broken XML is one error, not the end of the archive.
    from radpilot.reports.openi import iter_xml_files, parse_xml

    for data, stem, where in iter_xml_files(path):
        try:
            rep = parse_xml(data, stem, where)
        except InputError as exc:
            yield RecordError(where, "xml", str(exc).split(": ", 1)[-1])
            continue
        yield make_record(rid=rep.id, text=rep.full_text, body_part="CHEST", source=where)


def _iter_fhir(path: Path) -> Iterator[Item]:
    from radpilot.search.fhir import iter_fhir

    yield from iter_fhir(path)


def _iter_hl7(path: Path) -> Iterator[Item]:
    from radpilot.search.hl7 import iter_hl7

    yield from iter_hl7(path)


_READERS: dict[SourceFormat, Callable[[Path], Iterator[Item]]] = {
    SourceFormat.CSV: _iter_csv,
    SourceFormat.JSONL: _iter_jsonl,
    SourceFormat.OPENI: _iter_openi,
    SourceFormat.FHIR: _iter_fhir,
    SourceFormat.HL7: _iter_hl7,
}
