"""``archive add``: files in, reports read once, upserted in transactional batches.

Records whose content is already stored (same id, same content hash) are counted and
never read again. The rest are read by the report reader through ``radpilot.pool``
(in worker processes when ``jobs > 1``: while the parent writes one batch, the workers
read the next ones) and stored ``batch_size`` at a time, each batch one transaction.
Re-running the same files changes nothing; a run killed at any point leaves whole batches
only (its workers exit silently), and re-running finishes the job.

Every input record is accounted for: stored (added or updated), unchanged, or an error
naming its file and position.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from radpilot.errors import InputError
from radpilot.interop.records import Item, RecordError, RecordNote, ReportRecord
from radpilot.pool import DEFAULT_CHUNK_SIZE, Failure, check_jobs, ordered_map
from radpilot.search.analysis import Analysis, read_and_analyse
from radpilot.search.models import IngestItem
from radpilot.search.sources import SourceFormat, iter_file
from radpilot.search.store import ArchiveStore

if TYPE_CHECKING:
    from radpilot.reports.vocabulary import Vocabulary

log = logging.getLogger(__name__)

DEFAULT_BATCH = 500
Problem = RecordError | RecordNote
# (fn, items, jobs=, send=, chunk_size=) -> (item, fn(send(item)) or Failure), in order
Mapper = Callable[..., Iterator[tuple[Any, Any]]]


@dataclass(slots=True)
class IngestSummary:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: int = 0
    notes: int = 0
    seconds: float = 0.0

    @property
    def records(self) -> int:
        """Records stored or found unchanged (errors are not records of the archive)."""
        return self.added + self.updated + self.unchanged

    def as_dict(self) -> dict[str, float]:
        return {
            "added": self.added,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "errors": self.errors,
            "notes": self.notes,
            "seconds": round(self.seconds, 2),
        }


def _analyse(text: str) -> Analysis:
    # Looked up at call time, so a test can replace the reader in this process.
    return read_and_analyse(text)


def _analyse_with(vocabulary: Vocabulary, text: str) -> Analysis:
    # A module-level function: a worker gets it (and the vocabulary, by digest) pickled.
    return read_and_analyse(text, vocabulary)


def _text(item: tuple[ReportRecord, str]) -> str:
    return item[0].text  # only the text crosses to a worker


class _Writer:
    """Gathers read records into batches of ``size`` and stores each in one transaction.
    A batch never holds one id twice: that would be two versions in one step."""

    def __init__(self, store: ArchiveStore, size: int, summary: IngestSummary) -> None:
        self.store, self.size, self.summary = store, size, summary
        self.batch: list[IngestItem] = []
        self.ids: set[str] = set()
        self.in_flight: dict[str, int] = {}  # id -> records read or being read, not stored
        self.known: dict[str, str] = {}  # id -> stored hash, for the group being checked

    def sent(self, rec: ReportRecord) -> None:
        self.in_flight[rec.id] = self.in_flight.get(rec.id, 0) + 1

    def done(self, rec: ReportRecord) -> None:
        left = self.in_flight[rec.id] - 1
        if left:
            self.in_flight[rec.id] = left
        else:
            del self.in_flight[rec.id]

    def add(self, item: IngestItem) -> bool:
        """Queue one record, writing the batch once it is full; True when one was written."""
        wrote = self.flush() if item.record.id in self.ids else False
        self.batch.append(item)
        self.ids.add(item.record.id)
        if len(self.batch) >= self.size:
            wrote = self.flush() or wrote
        return wrote

    def flush(self) -> bool:
        if not self.batch:
            return False
        res = self.store.write_batch(self.batch)
        self.summary.added += res.added
        self.summary.updated += res.updated
        self.summary.unchanged += res.unchanged
        for it in self.batch:
            self.done(it.record)
            self.known[it.record.id] = it.hash  # what is stored now, for the checks to come
        self.batch, self.ids = [], set()
        return True


def ingest_records(
    store: ArchiveStore,
    items: Iterable[Item],
    *,
    batch_size: int = DEFAULT_BATCH,
    jobs: int | None = None,
    on_problem: Callable[[Problem], None] | None = None,
    on_progress: Callable[[IngestSummary], None] | None = None,
    vocabulary: Vocabulary | None = None,
    mapper: Mapper | None = None,
) -> IngestSummary:
    """Upsert every record; errors and notes go to ``on_problem`` (one line each) and are
    counted. ``jobs``: reader processes (default: CPU count). ``vocabulary``: a user's
    merged vocabulary to read with (``uservocab.extended_vocabulary``); the caller
    records it in the archive (``commands.archive``). ``mapper``: what reads the records
    (default :func:`radpilot.pool.ordered_map`; ``radpilot.spark.archive`` gives one that
    reads them on Spark), called as ``ordered_map`` is, yielding in input order."""
    jobs = jobs if jobs is not None else (os.cpu_count() or 1)
    check_jobs(jobs)
    if batch_size < 1:
        raise InputError(f"batch_size must be 1 or more, got {batch_size}")
    summary = IngestSummary()
    t0 = time.perf_counter()
    writer = _Writer(store, batch_size, summary)

    def problem(p: Problem) -> None:
        if isinstance(p, RecordError):
            summary.errors += 1
        else:
            summary.notes += 1
        if on_problem is not None:
            on_problem(p)

    def to_read() -> Iterator[tuple[ReportRecord, str]]:
        for group in _groups(_records(items, problem), batch_size):
            writer.known = store.existing(list({r.id for r in group}))
            for rec in group:
                h = rec.content_hash()
                # A record of an id still being read or written may meet another version
                # of itself: the batch write decides; only a settled id is skipped here.
                if rec.id not in writer.in_flight and writer.known.get(rec.id) == h:
                    summary.unchanged += 1
                    continue
                writer.sent(rec)
                yield rec, h

    chunk = max(1, min(DEFAULT_CHUNK_SIZE, batch_size // jobs))
    reader = _analyse if vocabulary is None else partial(_analyse_with, vocabulary)
    run = mapper or ordered_map
    for (rec, h), result in run(reader, to_read(), jobs=jobs, send=_text, chunk_size=chunk):
        if isinstance(result, Failure):
            writer.done(rec)
            file, position = rec.where
            problem(RecordError(file, position, f"the report reader failed ({result.error})"))
        elif writer.add(IngestItem(rec, h, result)) and on_progress is not None:
            on_progress(summary)
    writer.flush()
    summary.seconds = time.perf_counter() - t0
    if on_progress is not None:
        on_progress(summary)
    return summary


def _records(items: Iterable[Item], problem: Callable[[Problem], None]) -> Iterator[ReportRecord]:
    for it in items:
        if isinstance(it, ReportRecord):
            yield it
        else:
            problem(it)


def _groups(records: Iterable[ReportRecord], size: int) -> Iterator[list[ReportRecord]]:
    group: list[ReportRecord] = []
    for rec in records:
        group.append(rec)
        if len(group) >= size:
            yield group
            group = []
    if group:
        yield group


def ingest_files(
    store: ArchiveStore,
    paths: Iterable[Path],
    *,
    fmt: SourceFormat | None = None,
    batch_size: int = DEFAULT_BATCH,
    jobs: int | None = None,
    on_problem: Callable[[Problem], None] | None = None,
    on_progress: Callable[[IngestSummary], None] | None = None,
    vocabulary: Vocabulary | None = None,
    mapper: Mapper | None = None,
) -> IngestSummary:
    """Ingest every file (CSV, JSONL, OpenI, FHIR, HL7 v2), in order."""

    def items() -> Iterator[Item]:
        for p in paths:
            log.debug("ingesting %s", p)
            yield from iter_file(Path(p), fmt)

    return ingest_records(
        store,
        items(),
        batch_size=batch_size,
        jobs=jobs,
        on_problem=on_problem,
        on_progress=on_progress,
        vocabulary=vocabulary,
        mapper=mapper,
    )
