"""``archive add``: files in, reports read once, upserted in transactional batches.

A batch is read by the report reader (in worker processes when ``jobs > 1``, the next
batch reading while the previous one is written) and then stored in one transaction.
Re-running the same files changes nothing (content hashes); a run killed at any point
leaves whole batches only, and re-running finishes the job.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from multiprocessing.pool import AsyncResult, Pool
from pathlib import Path

from radpilot.errors import RadpilotError
from radpilot.search.analysis import Analysis, read_and_analyse
from radpilot.search.records import RecordError, ReportRecord
from radpilot.search.sources import SourceFormat, iter_file
from radpilot.search.store import ArchiveStore, IngestItem

log = logging.getLogger(__name__)

DEFAULT_BATCH = 500


@dataclass(slots=True)
class IngestSummary:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: int = 0
    seconds: float = 0.0

    @property
    def records(self) -> int:
        return self.added + self.updated + self.unchanged

    def as_dict(self) -> dict[str, float]:
        return {
            "added": self.added,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "errors": self.errors,
            "seconds": round(self.seconds, 2),
        }


def safe_analyse(text: str) -> Analysis | str:
    """The reader's output, or its error message: one bad report never stops a batch."""
    try:
        return read_and_analyse(text)
    except RadpilotError:
        raise  # a broken vocabulary or rules file fails every report: stop, say why once
    except Exception as exc:  # one report the reader cannot handle: report it, go on
        return f"report reader failed ({type(exc).__name__}: {exc})"


def _batches(records: Iterable[ReportRecord], size: int) -> Iterator[list[ReportRecord]]:
    batch: list[ReportRecord] = []
    ids: set[str] = set()
    for rec in records:
        # The same id twice in one batch would be two versions in one step: split instead.
        if len(batch) >= size or rec.id in ids:
            yield batch
            batch, ids = [], set()
        batch.append(rec)
        ids.add(rec.id)
    if batch:
        yield batch


def ingest_records(
    store: ArchiveStore,
    items: Iterable[ReportRecord | RecordError],
    *,
    batch_size: int = DEFAULT_BATCH,
    jobs: int | None = None,
    on_error: Callable[[RecordError], None] | None = None,
    on_progress: Callable[[IngestSummary], None] | None = None,
) -> IngestSummary:
    """Upsert every record; errors go to ``on_error`` (one line each) and are counted."""
    summary = IngestSummary()
    t0 = time.perf_counter()
    jobs = max(1, jobs if jobs is not None else (os.cpu_count() or 1))

    def error(err: RecordError) -> None:
        summary.errors += 1
        if on_error is not None:
            on_error(err)

    def records() -> Iterator[ReportRecord]:
        for it in items:
            if isinstance(it, RecordError):
                error(it)
            else:
                yield it

    pool: Pool | None = None
    in_flight: tuple[list[tuple[ReportRecord, str]], AsyncResult[list[Analysis | str]]] | None = (
        None
    )
    try:
        for batch in _batches(records(), batch_size):
            known = store.existing([r.id for r in batch])
            todo: list[tuple[ReportRecord, str]] = []
            for rec in batch:
                h = rec.content_hash()
                if known.get(rec.id) == h:
                    summary.unchanged += 1
                else:
                    todo.append((rec, h))
            if not todo:
                continue
            texts = [r.text for r, _ in todo]
            if jobs > 1 and pool is None:
                pool = multiprocessing.get_context().Pool(jobs)
            if pool is None:
                _write(store, todo, [safe_analyse(t) for t in texts], summary, error)
            else:
                chunk = max(1, len(texts) // (jobs * 4))
                pending = pool.map_async(safe_analyse, texts, chunksize=chunk)
                if in_flight is not None:
                    _write(store, in_flight[0], in_flight[1].get(), summary, error)
                in_flight = (todo, pending)
            if on_progress is not None:
                on_progress(summary)
        if in_flight is not None:
            _write(store, in_flight[0], in_flight[1].get(), summary, error)
    finally:
        if pool is not None:
            pool.terminate()
            pool.join()
    summary.seconds = time.perf_counter() - t0
    if on_progress is not None:
        on_progress(summary)
    return summary


def _write(
    store: ArchiveStore,
    todo: list[tuple[ReportRecord, str]],
    analyses: list[Analysis | str],
    summary: IngestSummary,
    error: Callable[[RecordError], None],
) -> None:
    batch: list[IngestItem] = []
    for (rec, h), an in zip(todo, analyses, strict=True):
        if isinstance(an, str):
            file, _, pos = rec.source.rpartition(":")
            error(RecordError(file or rec.source, pos or rec.id, f"report {rec.id!r}: {an}"))
        else:
            batch.append(IngestItem(rec, h, an))
    res = store.write_batch(batch)
    summary.added += res.added
    summary.updated += res.updated
    summary.unchanged += res.unchanged


def ingest_files(
    store: ArchiveStore,
    paths: Iterable[Path],
    *,
    fmt: SourceFormat | None = None,
    batch_size: int = DEFAULT_BATCH,
    jobs: int | None = None,
    on_error: Callable[[RecordError], None] | None = None,
    on_progress: Callable[[IngestSummary], None] | None = None,
) -> IngestSummary:
    """Ingest every file (CSV, JSONL, OpenI, FHIR, HL7 v2), in order."""

    def items() -> Iterator[ReportRecord | RecordError]:
        for p in paths:
            log.debug("ingesting %s", p)
            yield from iter_file(Path(p), fmt)

    return ingest_records(
        store,
        items(),
        batch_size=batch_size,
        jobs=jobs,
        on_error=on_error,
        on_progress=on_progress,
    )
