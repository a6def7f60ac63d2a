"""Labelling many reports: chunked, in order, in flat memory, optionally in worker processes.

``label_rows`` turns ``InputRow`` objects into ``LabelledRow`` objects, one for one and
in order. With ``jobs > 1`` chunks of rows go to worker processes, and only a bounded
number of chunks is ever in flight, so memory stays flat whatever the input size.
``label_file`` is the whole path the ``radpilot label`` command runs: read, label, write,
count.
"""

from __future__ import annotations

import logging
import multiprocessing
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cache
from itertools import islice
from pathlib import Path
from typing import IO, Any, Protocol

from rich.table import Table

from radpilot.errors import InputError, RadpilotError
from radpilot.reports.io import (
    MAX_REPORT_CHARS,
    ChexpertCsvWriter,
    InputFormat,
    InputRow,
    LabelledRow,
    MentionsJsonlWriter,
    OutputFormat,
    ReportReader,
    RowProblem,
    Severity,
    merge_problems,
    open_output,
)

logger = logging.getLogger(__name__)

DEFAULT_CHUNK_SIZE = 256
_IN_FLIGHT_PER_JOB = 3  # enough to keep workers busy while the parent reads and writes


class LabelSet(StrEnum):
    CHEXPERT = "chexpert"  # the CheXpert labeler's 14 observations, in its column order
    CHESTXRAY14 = "chestxray14"  # ChestX-ray14's 14 findings + "No Finding"


@cache
def label_names(label_set: LabelSet | str) -> tuple[str, ...]:
    """The output columns of a label set, in order."""
    import radpilot.reports.labels as labels

    names = {
        LabelSet.CHEXPERT: labels.CHEXPERT_LABELS,
        LabelSet.CHESTXRAY14: labels.CXR14_LABELS,
    }
    return tuple(names[get_label_set(label_set)])


def get_label_set(name: LabelSet | str) -> LabelSet:
    try:
        return LabelSet(name)
    except ValueError:
        valid = ", ".join(s.value for s in LabelSet)
        raise InputError(f"unknown label set {name!r}; valid: {valid}") from None


@cache
def _labelers() -> dict[LabelSet, Callable[..., dict[str, float | None]]]:
    import radpilot.reports.labels as labels

    return {LabelSet.CHEXPERT: labels.chexpert, LabelSet.CHESTXRAY14: labels.chestxray14}


# What a worker sends back for one report: label values per set, mention dicts, and the
# name of the exception the reader raised (None when it did not). Plain tuples and dicts:
# they pickle in C, so IPC stays a small part of the cost.
_Outcome = tuple[dict[str, tuple[float | None, ...]], tuple[dict[str, Any], ...] | None, str | None]


def _label_text(
    text: str,
    label_sets: Sequence[LabelSet],
    with_mentions: bool,
    max_chars: int,
    uncertainty: str = "radpilot",
) -> _Outcome:
    from radpilot.reports import read

    try:
        report = read(text[:max_chars])
        labelers = _labelers()
        values: dict[str, tuple[float | None, ...]] = {}
        for ls in label_sets:
            got = labelers[ls](report, policy=uncertainty)
            values[ls.value] = tuple(got.get(n) for n in label_names(ls))
        mentions = tuple(m.to_dict() for m in report.mentions) if with_mentions else None
    except Exception as exc:  # one bad report must never end a batch
        logger.debug("reader failed on a report", exc_info=True)
        return {}, None, type(exc).__name__
    return values, mentions, None


def _combine(row: InputRow, outcome: _Outcome | None) -> LabelledRow:
    if outcome is None:  # unusable row: never sent to the reader
        return LabelledRow(row.row, row.id, row.text, {}, None, row.problems)
    values, mentions, failure = outcome
    if failure is None:
        return LabelledRow(row.row, row.id, row.text, values, mentions, row.problems)
    message = f"the report reader failed ({failure}); left unlabelled"
    problem = RowProblem(row.row, row.line, Severity.ERROR, message)
    return LabelledRow(row.row, row.id, row.text, {}, None, (*row.problems, problem))


def label_one(
    row: InputRow,
    label_sets: Sequence[LabelSet],
    with_mentions: bool,
    max_chars: int = MAX_REPORT_CHARS,
    uncertainty: str = "radpilot",
) -> LabelledRow:
    """Read one row's report and label it; a report the reader fails on is an error row."""
    if not row.usable:
        return _combine(row, None)
    outcome = _label_text(row.text, label_sets, with_mentions, max_chars, uncertainty)
    return _combine(row, outcome)


def _label_texts(
    texts: list[str | None],
    label_sets: tuple[LabelSet, ...],
    with_mentions: bool,
    max_chars: int,
    uncertainty: str = "radpilot",
) -> list[_Outcome | None]:
    return [
        None if t is None else _label_text(t, label_sets, with_mentions, max_chars, uncertainty)
        for t in texts
    ]


def _chunks(rows: Iterable[InputRow], size: int) -> Iterator[list[InputRow]]:
    it = iter(rows)
    while chunk := list(islice(it, size)):
        yield chunk


def label_rows(
    rows: Iterable[InputRow],
    *,
    label_sets: Sequence[LabelSet | str] = (LabelSet.CHEXPERT,),
    with_mentions: bool = False,
    jobs: int = 1,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    max_chars: int = MAX_REPORT_CHARS,
    uncertainty: str = "radpilot",
) -> Iterator[LabelledRow]:
    """Label rows one for one, in input order. ``jobs > 1`` uses worker processes with at
    most ``3 * jobs`` chunks in flight (flat memory on any input size). ``uncertainty``: the
    label policy for hedged mentions (``radpilot.reports.labels.UncertaintyPolicy``)."""
    from radpilot.reports.labels import uncertainty_policy

    uncertainty = uncertainty_policy(uncertainty).value  # an unknown name fails before any row
    if jobs < 1:
        raise InputError(f"--jobs must be 1 or more, got {jobs}")
    if chunk_size < 1:
        raise InputError(f"--chunk-size must be 1 or more, got {chunk_size}")
    sets = tuple(get_label_set(s) for s in label_sets)
    if jobs == 1:
        for row in rows:
            yield label_one(row, sets, with_mentions, max_chars, uncertainty)
        return
    # forkserver: never fork a parent that runs threads (the progress bar has one).
    methods = multiprocessing.get_all_start_methods()
    ctx = multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")
    pending: deque[tuple[list[InputRow], Future[list[_Outcome | None]]]] = deque()

    def finish() -> Iterator[LabelledRow]:
        chunk, future = pending.popleft()
        return map(_combine, chunk, future.result())

    try:
        with ProcessPoolExecutor(max_workers=jobs, mp_context=ctx) as pool:
            for chunk in _chunks(rows, chunk_size):
                texts = [r.text if r.usable else None for r in chunk]
                future = pool.submit(
                    _label_texts, texts, sets, with_mentions, max_chars, uncertainty
                )
                pending.append((chunk, future))
                if len(pending) >= _IN_FLIGHT_PER_JOB * jobs:
                    yield from finish()
            while pending:
                yield from finish()
    except BrokenProcessPool as exc:
        # Killed by the OS (memory) or unable to start (no importable __main__, e.g. stdin).
        raise RadpilotError(
            f"a labelling worker process died ({exc}); rerun with --jobs 1"
        ) from None


# -- the whole file path -------------------------------------------------------------


class Writer(Protocol):
    def write(self, row: LabelledRow) -> None: ...


@dataclass
class BatchSummary:
    """What a batch did. ``label_counts[name]`` counts 1.0 / 0.0 / -1.0 values."""

    label_set: str
    label_names: tuple[str, ...]
    rows_read: int = 0
    labelled: int = 0
    errors: int = 0  # rows left unlabelled
    warnings: int = 0  # rows labelled despite a problem
    seconds: float = 0.0
    encoding: str = ""
    input_format: str = ""
    layout: str = ""  # how the input was read (format, header, columns, encoding)
    label_counts: dict[str, dict[float, int]] = field(default_factory=dict)

    @property
    def reports_per_second(self) -> float:
        return self.rows_read / self.seconds if self.seconds > 0 else 0.0

    def add(self, row: LabelledRow) -> None:
        self.rows_read += 1
        if row.labelled:
            self.labelled += 1
            if row.problems:
                self.warnings += 1
        else:
            self.errors += 1
        values = row.labels.get(self.label_set)
        if values:
            for name, v in zip(self.label_names, values, strict=True):
                if v is not None:
                    counts = self.label_counts.setdefault(name, {1.0: 0, 0.0: 0, -1.0: 0})
                    counts[v] = counts.get(v, 0) + 1


def summary_table(summary: BatchSummary) -> Table:
    """Label counts per column: present / absent / uncertain."""
    table = Table(title=f"{summary.label_set} labels", title_justify="left")
    table.add_column("label")
    table.add_column("present (1.0)", justify="right")
    table.add_column("absent (0.0)", justify="right")
    table.add_column("uncertain (-1.0)", justify="right")
    for name in summary.label_names:
        c = summary.label_counts.get(name, {})
        table.add_row(name, *(f"{c.get(v, 0):,}" for v in (1.0, 0.0, -1.0)))
    return table


def make_writer(
    fh: IO[str], output_format: OutputFormat | str, label_set: LabelSet | str
) -> Writer:
    ls = get_label_set(label_set)
    fmt = OutputFormat(output_format)
    cls = ChexpertCsvWriter if fmt is OutputFormat.CSV else MentionsJsonlWriter
    return cls(fh, ls.value, label_names(ls))


def label_file(
    input_path: Path | str,
    output: Path | str,
    *,
    label_set: LabelSet | str = LabelSet.CHEXPERT,
    output_format: OutputFormat | str = OutputFormat.CSV,
    input_format: InputFormat | str = InputFormat.AUTO,
    text_column: str | None = None,
    id_column: str | None = None,
    header: bool | None = None,
    jobs: int = 1,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    on_problem: Callable[[RowProblem], None] | None = None,
    on_progress: Callable[[int, int, int], None] | None = None,
    uncertainty: str = "radpilot",
) -> BatchSummary:
    """Label every report of ``input_path`` into ``output`` (``-``: stdout).

    ``on_problem`` gets each problem row's problems merged into one, in row order; ``on_progress`` gets
    (rows done, bytes read, file size) after each chunk. Raises ``InputError`` only when
    nothing can be read (missing, a directory, unreadable, empty) or written.
    """
    ls = get_label_set(label_set)
    fmt = OutputFormat(output_format)
    try:
        in_fmt = InputFormat(input_format)
    except ValueError:
        valid = ", ".join(f.value for f in InputFormat)
        raise InputError(f"unknown input format {input_format!r}; valid: {valid}") from None
    summary = BatchSummary(label_set=ls.value, label_names=label_names(ls))
    started = time.perf_counter()
    with ReportReader(
        input_path,
        input_format=in_fmt,
        text_column=text_column,
        id_column=id_column,
        header=header,
    ) as reader:
        summary.encoding, summary.input_format = reader.encoding, reader.format.value
        summary.layout = reader.layout
        rows = iter(reader)
        with open_output(output, input_path=Path(input_path)) as fh:
            writer = make_writer(fh, fmt, ls)
            labelled = label_rows(
                rows,
                label_sets=(ls,),
                with_mentions=fmt is OutputFormat.JSONL,
                jobs=jobs,
                chunk_size=chunk_size,
                uncertainty=uncertainty,
            )
            for row in labelled:
                writer.write(row)
                summary.add(row)
                if on_problem is not None and row.problems:
                    on_problem(merge_problems(row.problems))
                if on_progress is not None and summary.rows_read % chunk_size == 0:
                    on_progress(summary.rows_read, reader.bytes_read, reader.size)
        if on_progress is not None:
            on_progress(summary.rows_read, reader.size, reader.size)
    summary.seconds = time.perf_counter() - started
    logger.debug("labelled %d rows in %.1fs", summary.rows_read, summary.seconds)
    return summary
