"""``radpilot archive export``: every current report of the archive, as JSONL or CSV.

The fields are those ``archive add`` reads (``id``, ``text``, ``patient_id``,
``study_date``, ``modality``, ``body_part``), so adding an export back changes nothing:
into the same archive every report is unchanged, into a new one each gets the same
content hash. The file is written beside its target and renamed into place at the end,
so an interrupted export never leaves half a file under the name asked for.

Nothing is de-identified: an export holds the report text and identifiers as stored.
"""

from __future__ import annotations

import contextlib
import csv
import json
import os
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import IO, TYPE_CHECKING

from radpilot.errors import InputError

if TYPE_CHECKING:  # the CLI imports this module for ExportFormat: keep it light
    from radpilot.search.models import StoredReport
    from radpilot.search.store import ArchiveStore

EXPORT_FIELDS = ("id", "text", "patient_id", "study_date", "modality", "body_part")


class ExportFormat(StrEnum):
    JSONL = "jsonl"
    CSV = "csv"


def _row(r: StoredReport) -> dict[str, str | None]:
    return {
        "id": r.id,
        "text": r.text,
        "patient_id": r.patient_id,
        "study_date": r.study_date,
        "modality": r.modality,
        "body_part": r.body_part,
    }


def _writer(fh: IO[str], fmt: ExportFormat) -> Callable[[StoredReport], None]:
    if fmt is ExportFormat.JSONL:

        def write_jsonl(r: StoredReport) -> None:
            fh.write(json.dumps(_row(r), ensure_ascii=False) + "\n")

        return write_jsonl
    w = csv.DictWriter(fh, fieldnames=EXPORT_FIELDS, lineterminator="\r\n")
    w.writeheader()

    def write_csv(r: StoredReport) -> None:
        w.writerow({k: v or "" for k, v in _row(r).items()})

    return write_csv


def export_archive(
    store: ArchiveStore,
    out: Path,
    *,
    fmt: ExportFormat = ExportFormat.JSONL,
    on_progress: Callable[[int], None] | None = None,
) -> int:
    """Write every current report to ``out``; returns how many."""
    if out.is_dir():
        raise InputError(f"{out}: is a folder; name the export file")
    tmp = out.with_name(f".{out.name}.partial")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        fh = tmp.open("w", encoding="utf-8", newline="")
    except OSError as exc:
        raise InputError(f"{out}: cannot write the export ({exc.strerror or exc})") from None
    n = 0
    try:
        with fh:
            write = _writer(fh, fmt)
            for rep in store.iter_reports():
                write(rep)
                n += 1
                if on_progress is not None and n % 1000 == 0:
                    on_progress(n)
        os.replace(tmp, out)
    except OSError as exc:  # a full disk, a folder gone: the export is not written
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise InputError(f"{out}: cannot write the export ({exc.strerror or exc})") from None
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    return n
