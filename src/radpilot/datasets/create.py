"""Making a dataset: items read from files or found in the archive, each with radpilot's
proposals, stored in one transaction (a dataset is created whole or not at all)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from radpilot.datasets.models import Dataset, DatasetError, ItemKind, Task
from radpilot.datasets.proposals import (
    Labelling,
    image_proposals,
    labelling,
    report_proposals,
)
from radpilot.datasets.store import DatasetStore, NewItem

DEFAULT_LICENCE = "as the source data's licence (set with --licence)"
DEFAULT_ARCHIVE_LIMIT = 500


@dataclass(frozen=True, slots=True)
class ReadOptions:
    """How report files are read (as ``radpilot label`` reads them)."""

    input_format: Any = None  # radpilot.reports.rows.InputFormat; None: auto
    text_column: str | None = None
    id_column: str | None = None
    header: bool | None = None


@dataclass(frozen=True, slots=True)
class Created:
    dataset: Dataset
    added: int
    skipped: int


Problem = Callable[[str], None]


def create_dataset(
    store: DatasetStore,
    name: str,
    task: Task,
    *,
    files: Sequence[Path] = (),
    archive_query: str | None = None,
    archive: Any = None,  # an ArchiveStore for archive_query
    labels: str = "chexpert",
    licence: str = DEFAULT_LICENCE,
    read_options: ReadOptions = ReadOptions(),
    limit: int = DEFAULT_ARCHIVE_LIMIT,
    model: str | None = None,
    on_problem: Problem = lambda _line: None,
) -> Created:
    """Read the items, propose labels, store them; ``on_problem`` gets one line per input
    left out (``error: ...``) or read with a warning (``warning: ...``), named by row, line
    or file, never by its text."""
    if bool(files) == (archive_query is not None):
        raise DatasetError("give the items either from files or from an archive query")
    if not name or len(name) > 100 or not name.replace("-", "").replace("_", "").isalnum():
        raise DatasetError(f"{name!r}: a dataset name is letters, digits, '-' and '_'")
    if name in store.names():
        raise DatasetError(f"dataset {name!r} exists already in {store.location}")
    how = labelling(labels) if not task.on_images else None
    if task.on_images:
        if archive_query is not None:
            raise DatasetError(f"--task {task.value} reads image files (--from-files)")
        items, skipped = _images(files, task, model, on_problem)
        label_names = tuple(dict.fromkeys(p.label for it in items for p in it.proposals))
        source = "image files: " + ", ".join(sorted({f.name for f in files}))
    elif archive_query is not None:
        assert how is not None
        items, skipped = _from_archive(archive, archive_query, how, limit), 0
        label_names, source = how.labels, f"archive {archive.location}: query {archive_query!r}"
    else:
        assert how is not None
        items, skipped = _from_report_files(files, how, read_options, on_problem)
        label_names = how.labels
        source = "report files: " + ", ".join(f.name for f in files)
    if not items:
        raise DatasetError("no item could be read; nothing was created")
    ds = store.create(name, task, how.name if how else "image-model", label_names, source, licence)
    store.add_items(ds, items)
    return Created(store.get(name), len(items), skipped)


def _from_report_files(
    files: Sequence[Path], how: Labelling, opts: ReadOptions, on_problem: Problem
) -> tuple[list[NewItem], int]:
    items: list[NewItem] = []
    skipped = 0
    for path in files:
        images = _pair_images(path)
        for row in _rows(path, opts):
            if not row.usable:
                skipped += 1
                on_problem(f"error: {path.name}: {_problem_line(row)}; not added")
                continue
            if row.problems:
                on_problem(f"warning: {path.name}: {_problem_line(row)}")
            image = images.get(row.row)
            kind = ItemKind.PAIR if image else ItemKind.REPORT
            props = report_proposals(row.text, how)
            items.append(NewItem(kind, row.id, row.text, image, {}, props))
    _add_image_proposals(items, on_problem)
    return items, skipped


def _problem_line(row: Any) -> str:
    from radpilot.reports.rows import merge_problems

    return str(merge_problems(row.problems)).replace("; left unlabelled", "")


def _rows(path: Path, opts: ReadOptions) -> Iterator[Any]:
    from radpilot.reports.readers import ReportReader
    from radpilot.reports.rows import InputFormat

    with ReportReader(
        path,
        input_format=opts.input_format or InputFormat.AUTO,
        text_column=opts.text_column,
        id_column=opts.id_column,
        header=opts.header,
    ) as reader:
        yield from reader


def _pair_images(path: Path) -> dict[int, str]:
    """row -> image path, for a JSONL report file whose rows name an ``image`` (relative
    to the file's folder): those rows become report+image pairs."""
    if path.suffix.lower() != ".jsonl" or not path.is_file():
        return {}
    out: dict[int, str] = {}
    with open(path, encoding="utf-8", errors="replace") as fh:
        for i, line in enumerate((ln for ln in fh if ln.strip()), start=1):
            try:
                obj = json.loads(line)
            except json.JSONDecodeError:
                continue  # the report reader names the row
            image = obj.get("image") if isinstance(obj, dict) else None
            if isinstance(image, str) and image:
                out[i] = str((path.parent / image).resolve())
    return out


def _add_image_proposals(items: list[NewItem], on_problem: Problem) -> None:
    """Pair items get the image model's proposals beside the reader's."""
    pairs = [i for i, it in enumerate(items) if it.image]
    if not pairs:
        return
    found = image_proposals([Path(items[i].image or "") for i in pairs], boxes=False)
    for i, res in zip(pairs, found, strict=True):
        it = items[i]
        if res.error:
            on_problem(
                f"error: item {i + 1}: image {Path(res.path).name}: {res.error}; report only"
            )
            items[i] = NewItem(ItemKind.REPORT, it.ref, it.text, None, {}, it.proposals)
            continue
        meta = dict(res.meta)
        items[i] = NewItem(it.kind, it.ref, it.text, it.image, meta, it.proposals + res.proposals)


def _images(
    files: Sequence[Path], task: Task, model: str | None, on_problem: Problem
) -> tuple[list[NewItem], int]:
    items: list[NewItem] = []
    skipped = 0
    boxes = task is Task.IMAGE_REGIONS
    for res in image_proposals(list(files), boxes=boxes, model=model):
        name = Path(res.path).name
        if res.error:
            skipped += 1
            on_problem(f"error: {name}: {res.error}; not added")
            continue
        items.append(NewItem(ItemKind.IMAGE, name, "", res.path, dict(res.meta), res.proposals))
    return items, skipped


def _from_archive(archive: Any, query: str, how: Labelling, limit: int) -> list[NewItem]:
    from radpilot.search.engine import search

    if archive is None:
        raise DatasetError("--from-archive needs an archive (--db)")
    result = search(archive, query, limit=limit, semantic=False)
    items: list[NewItem] = []
    for hit in result.hits:
        r = hit.report
        meta = {"patient_id": r.patient_id, "study_date": r.study_date, "version": r.version}
        items.append(
            NewItem(ItemKind.REPORT, r.id, r.text, None, meta, report_proposals(r.text, how))
        )
    return items
