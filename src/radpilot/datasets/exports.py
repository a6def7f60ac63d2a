"""Exporting a dataset: its final labels (``agreement.resolve``) in the formats researchers
use, each with a datasheet.

File formats (``chexpert-csv``, ``jsonl``, ``parquet``, ``coco``) write OUT and the
datasheet beside it (``OUT.datasheet.md`` and ``.json``); folder formats (``dicom-seg``,
``hf``) write into OUT, the datasheet as its ``README.md`` (a Hugging Face dataset card)
and ``datasheet.json``. ``deidentify`` (the service's pseudonymiser) replaces ids by keyed
pseudonyms, report text by what its ``text`` returns and dates by years.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from radpilot.datasets.bundle import Bundle, Deidentifier, bundle
from radpilot.datasets.models import DatasetError, Item, Task
from radpilot.datasets.store import DatasetStore


class ExportFormat(StrEnum):
    CHEXPERT_CSV = "chexpert-csv"
    JSONL = "jsonl"
    PARQUET = "parquet"
    COCO = "coco"
    DICOM_SEG = "dicom-seg"
    HF = "hf"

    @property
    def folder(self) -> bool:
        return self in (ExportFormat.DICOM_SEG, ExportFormat.HF)

    @property
    def needs_images(self) -> bool:
        return self in (ExportFormat.COCO, ExportFormat.DICOM_SEG, ExportFormat.HF)


@dataclass(frozen=True, slots=True)
class Exported:
    paths: tuple[Path, ...]
    rows: int
    problems: tuple[str, ...]


def export(
    store: DatasetStore,
    name: str,
    fmt: ExportFormat,
    out: Path,
    *,
    deid: Deidentifier | None = None,
    licence: str | None = None,
) -> Exported:
    b = bundle(store, name, deid)
    _check_target(b, fmt, out)
    writer = _writers()[fmt]
    rows = writer(b, out)
    from radpilot.datasets.datasheet import write_datasheet

    sheets = write_datasheet(b, fmt, out, licence=licence)
    paths = (out, *sheets)
    return Exported(paths, rows, tuple(b.problems))


def _check_target(b: Bundle, fmt: ExportFormat, out: Path) -> None:
    task = b.dataset.task
    if fmt is ExportFormat.CHEXPERT_CSV and task is not Task.REPORT_LABELS:
        raise DatasetError(f"dataset {b.dataset.name!r} labels images; chexpert-csv is for reports")
    if fmt.needs_images and not any(it.image for it in b.items):
        raise DatasetError(f"dataset {b.dataset.name!r} has no images; {fmt.value} needs them")
    if fmt.folder:
        if out.exists() and (not out.is_dir() or any(out.iterdir())):
            raise DatasetError(f"{out}: exists and is not an empty folder")
    elif out.is_dir():
        raise DatasetError(f"{out}: is a folder; {fmt.value} writes one file")
    if not out.parent.is_dir():
        raise DatasetError(f"{out.parent}: no such folder")


def _writers() -> dict[ExportFormat, Callable[[Bundle, Path], int]]:
    from radpilot.datasets import image_exports

    return {
        ExportFormat.CHEXPERT_CSV: write_chexpert_csv,
        ExportFormat.JSONL: write_jsonl,
        ExportFormat.PARQUET: write_parquet,
        ExportFormat.COCO: image_exports.write_coco,
        ExportFormat.DICOM_SEG: image_exports.write_dicom_seg,
        ExportFormat.HF: image_exports.write_hf,
    }


def write_chexpert_csv(b: Bundle, out: Path) -> int:
    """The CheXpert labeler's CSV, written by the same writer as ``radpilot label``."""
    from radpilot.reports.rows import LabelledRow
    from radpilot.reports.writers import ChexpertCsvWriter

    key = b.dataset.label_set
    with open(out, "w", encoding="utf-8", newline="") as fh:
        w = ChexpertCsvWriter(fh, key, b.dataset.labels)
        for it in b.items:
            values = tuple(b.labels(it).values())
            w.write(LabelledRow(it.position, b.ref(it), b.text(it), {key: values}))
    return len(b.items)


def item_record(b: Bundle, it: Item) -> dict[str, Any]:
    """One item as JSON: final labels, how they were settled, radpilot's proposals with
    their evidence spans, and every answer (annotator, role, decisions, seconds)."""
    text = b.text(it)
    spans_ok = b.deid is None  # offsets point into text a de-identified export does not hold
    return {
        "position": it.position,
        "id": b.ref(it),
        "kind": it.kind.value,
        "text": text,
        "image": None if it.image is None else b.file_stem(it) + Path(it.image).suffix,
        "meta": b.meta(it),
        "labels": b.labels(it),
        "resolution": b.resolution.how[it.id],
        "proposals": [
            {
                "label": p.label,
                "value": p.value,
                "source": p.source,
                "score": p.score,
                "box": None if p.box is None else p.box.to_dict(),
                "spans": [
                    {
                        "start": e.start,
                        "end": e.end,
                        "finding": e.finding,
                        "certainty": e.certainty,
                        "text": it.text[e.start : e.end] if spans_ok else None,
                    }
                    for e in p.evidence
                ],
            }
            for p in it.proposals
        ],
        "annotations": [
            {
                "annotator": a.annotator,
                "role": a.role.value,
                "seconds": round(a.seconds, 3),
                "labels": {k: v for k, v in a.labels(it).items() if k in b.dataset.labels},
                "decisions": [
                    {
                        "label": d.label,
                        "action": d.action.value,
                        "value": d.value,
                        "box": None if d.box is None else d.box.to_dict(),
                    }
                    for d in a.decisions
                ],
            }
            for a in b.annotations
            if a.item_id == it.id
        ],
    }


def write_jsonl(b: Bundle, out: Path) -> int:
    with open(out, "w", encoding="utf-8") as fh:
        for it in b.items:
            fh.write(json.dumps(item_record(b, it), ensure_ascii=False) + "\n")
    return len(b.items)


def write_parquet(b: Bundle, out: Path) -> int:
    """One row per item: position, id, kind, text, one nullable float column per label,
    the resolution, and the proposals/annotations as JSON strings."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    recs = [item_record(b, it) for it in b.items]
    cols: dict[str, Any] = {
        "position": pa.array([r["position"] for r in recs], pa.int32()),
        "id": pa.array([r["id"] for r in recs], pa.string()),
        "kind": pa.array([r["kind"] for r in recs], pa.string()),
        "text": pa.array([r["text"] for r in recs], pa.string()),
        "image": pa.array([r["image"] for r in recs], pa.string()),
    }
    for name in b.dataset.labels:
        cols[name] = pa.array([r["labels"][name] for r in recs], pa.float32())
    cols["resolution"] = pa.array([r["resolution"] for r in recs], pa.string())
    for key in ("proposals", "annotations"):
        cols[key] = pa.array([json.dumps(r[key], ensure_ascii=False) for r in recs], pa.string())
    table = pa.table(cols)
    meta = {
        b"radpilot.dataset": b.dataset.name.encode(),
        b"radpilot.task": b.dataset.task.value.encode(),
    }
    pq.write_table(table.replace_schema_metadata(meta), out)
    return len(recs)
