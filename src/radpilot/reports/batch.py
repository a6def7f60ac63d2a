"""Labelling many reports: chunked, in order, in flat memory, optionally in worker processes.

``label_rows`` turns ``InputRow`` objects into ``LabelledRow`` objects, one for one and
in order, through :func:`radpilot.pool.ordered_map` (with ``jobs > 1`` chunks of report
texts go to worker processes, a bounded number at a time, so memory stays flat whatever
the input size). ``label_file`` is the whole path the ``radpilot label`` command runs:
read, label, write, count. Label sets and the uncertainty policy are objects
(:class:`~radpilot.reports.labelsets.LabelSet`,
:class:`~radpilot.reports.policy.UncertaintyPolicy`): callers resolve names once, through
``radpilot.registry``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import IO, Any, Protocol

from radpilot import reports
from radpilot.pool import DEFAULT_CHUNK_SIZE, Failure, check_jobs, ordered_map
from radpilot.reports.labels import label
from radpilot.reports.labelsets import CHEXPERT, LabelSet
from radpilot.reports.policy import DEFAULT_POLICY, UncertaintyPolicy
from radpilot.reports.readers import ReportReader
from radpilot.reports.rows import (
    MAX_REPORT_CHARS,
    InputFormat,
    InputRow,
    LabelledRow,
    OutputFormat,
    RowProblem,
    Severity,
    merge_problems,
)
from radpilot.reports.vocabulary import Vocabulary
from radpilot.reports.writers import (
    ChexpertCsvWriter,
    MentionsJsonlWriter,
    mentions_array,
    open_output,
)

logger = logging.getLogger(__name__)

__all__ = ["DEFAULT_CHUNK_SIZE", "BatchSummary", "label_file", "label_one", "label_rows"]

# What a worker sends back for one report: label values per set, mention dicts (or the
# mentions as one JSON array), and the assertions of its readable targets. Plain tuples,
# dicts and strings: they pickle in C, so IPC stays a small part of the cost.
_Outcome = tuple[
    dict[str, tuple[float | None, ...]],
    tuple[dict[str, Any], ...] | str | None,
    tuple[dict[str, Any], ...] | None,
]
# What crosses to a worker: the text, or the text and its readable target spans.
_Payload = str | tuple[str, tuple[tuple[int, int], ...]] | None


def _label_text(
    payload: _Payload,
    *,
    label_sets: tuple[LabelSet, ...],
    with_mentions: bool,
    max_chars: int,
    policy: UncertaintyPolicy,
    vocabulary: Vocabulary | None = None,
    mentions_json: bool = False,
) -> _Outcome | None:
    """Read one report and label it (in a worker, or here with one job); ``None`` for a row
    that is never sent to the reader. An exception becomes the row's ``Failure``."""
    if payload is None:
        return None
    text, spans = (payload, None) if isinstance(payload, str) else payload
    text = text[:max_chars]
    report = reports.read(text, vocabulary=vocabulary)  # looked up here: tests replace it
    values = {ls.name: tuple(label(report, ls, policy=policy).values()) for ls in label_sets}
    mentions: tuple[dict[str, Any], ...] | str | None = None
    if mentions_json:
        mentions = mentions_array(report.mentions)
    elif with_mentions:
        mentions = tuple(m.to_dict() for m in report.mentions)
    targets = None
    if spans is not None:
        from radpilot.reports.targets import read_targets

        targets = tuple(a.to_dict() for a in read_targets(text, spans))
    return values, mentions, targets


def _payload_of(row: InputRow) -> _Payload:
    if not row.usable:
        return None
    if row.targets is None:
        return row.text
    spans = tuple((t.start, t.end) for t in row.targets if t.error is None)
    return row.text, spans  # type: ignore[return-value]  # start/end are ints when no error


def _targets_out(
    row: InputRow, asserted: tuple[dict[str, Any], ...] | None, error: str | None = None
) -> tuple[dict[str, Any], ...] | None:
    """One output entry per input target, in order: an assertion, or why it has none."""
    if row.targets is None:
        return None
    found = iter(asserted or ())
    return tuple(
        t.placeholder(error) if t.error is not None or error is not None else next(found)
        for t in row.targets
    )


def _combine(row: InputRow, outcome: _Outcome | Failure | None) -> LabelledRow:
    if outcome is None:  # unusable row: never sent to the reader
        targets = _targets_out(row, None)
        return LabelledRow(row.row, row.id, row.text, {}, None, row.problems, targets)
    if isinstance(outcome, Failure):
        message = f"the report reader failed ({outcome.error}); left unlabelled"
        problem = RowProblem(row.row, row.line, Severity.ERROR, message, row.source)
        targets = _targets_out(row, None, "the row was left unlabelled")
        return LabelledRow(row.row, row.id, row.text, {}, None, (*row.problems, problem), targets)
    values, mentions, asserted = outcome
    targets = _targets_out(row, asserted)
    if isinstance(mentions, str):
        return LabelledRow(row.row, row.id, row.text, values, None, row.problems, targets, mentions)
    return LabelledRow(row.row, row.id, row.text, values, mentions, row.problems, targets)


def label_one(
    row: InputRow,
    *,
    label_sets: Sequence[LabelSet] = (CHEXPERT,),
    with_mentions: bool = False,
    max_chars: int = MAX_REPORT_CHARS,
    policy: UncertaintyPolicy = DEFAULT_POLICY,
    vocabulary: Vocabulary | None = None,
) -> LabelledRow:
    """Read one row's report and label it; a report the reader fails on is an error row."""
    (labelled,) = label_rows(
        [row],
        label_sets=label_sets,
        with_mentions=with_mentions,
        max_chars=max_chars,
        policy=policy,
        vocabulary=vocabulary,
    )
    return labelled


def label_rows(
    rows: Iterable[InputRow],
    *,
    label_sets: Sequence[LabelSet] = (CHEXPERT,),
    with_mentions: bool = False,
    jobs: int = 1,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    max_chars: int = MAX_REPORT_CHARS,
    policy: UncertaintyPolicy = DEFAULT_POLICY,
    vocabulary: Vocabulary | None = None,
    mentions_json: bool = False,
) -> Iterator[LabelledRow]:
    """Label rows one for one, in input order. ``jobs > 1`` uses worker processes with a
    bounded number of chunks in flight (flat memory on any input size); ``policy`` decides
    what hedged mentions count as (:mod:`radpilot.reports.policy`); ``vocabulary`` is a
    user's merged vocabulary (workers get its digest and entries, and build it once);
    a row's ``targets`` are asserted in targets mode (:mod:`radpilot.reports.targets`);
    ``mentions_json``: each row's mentions come as one JSON array (``mentions_json``, what
    the JSONL writer writes) rather than dicts."""
    check_jobs(jobs, chunk_size)  # before any row: "jobs must be 1 or more"
    fn = partial(
        _label_text,
        label_sets=tuple(label_sets),
        with_mentions=with_mentions,
        max_chars=max_chars,
        policy=policy,
        vocabulary=vocabulary,
        mentions_json=mentions_json,
    )
    for row, outcome in ordered_map(fn, rows, jobs=jobs, send=_payload_of, chunk_size=chunk_size):
        yield _combine(row, outcome)


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
    target_rows: int = 0  # rows that carried a "targets" field
    unread_targets_column: str | None = None  # a CSV header's "targets": JSONL rows only
    targets: int = 0  # targets asserted

    @property
    def reports_per_second(self) -> float:
        return self.rows_read / self.seconds if self.seconds > 0 else 0.0

    def add(self, row: LabelledRow) -> None:
        self.rows_read += 1
        if row.targets is not None:
            self.target_rows += 1
            self.targets += sum(1 for t in row.targets if t.get("certainty") is not None)
        if row.labelled:
            self.labelled += 1
            if row.problems:
                self.warnings += 1
        else:
            self.errors += 1
        values = row.labels.get(self.label_set)
        if values:
            every = self.label_counts
            for name, v in zip(self.label_names, values, strict=True):
                if v is not None:
                    counts = every.get(name)
                    if counts is None:
                        counts = every[name] = {1.0: 0, 0.0: 0, -1.0: 0}
                    counts[v] = counts.get(v, 0) + 1


def make_writer(fh: IO[str], output_format: OutputFormat, label_set: LabelSet) -> Writer:
    cls = ChexpertCsvWriter if output_format is OutputFormat.CSV else MentionsJsonlWriter
    return cls(fh, label_set.name, label_set.labels)


def targets_column(columns: list[str] | None) -> str | None:
    """A CSV header's "targets" column: not read (targets are a JSONL field), so named."""
    return next((c for c in columns or () if c.strip().lower() == "targets"), None)


def label_file(
    input_path: Path | str,
    output: Path | str,
    *,
    label_set: LabelSet = CHEXPERT,
    output_format: OutputFormat = OutputFormat.CSV,
    input_format: InputFormat = InputFormat.AUTO,
    text_column: str | None = None,
    id_column: str | None = None,
    header: bool | None = None,
    jobs: int = 1,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    on_problem: Callable[[RowProblem], None] | None = None,
    on_progress: Callable[[int, int, int], None] | None = None,
    policy: UncertaintyPolicy = DEFAULT_POLICY,
    vocabulary: Vocabulary | None = None,
) -> BatchSummary:
    """Label every report of ``input_path`` into ``output`` (``-``: stdout).

    ``on_problem`` gets each problem row's problems merged into one, in row order; ``on_progress`` gets
    (rows done, bytes read, file size) after each chunk. Raises ``InputError`` only when
    nothing can be read (missing, a directory, unreadable, empty) or written.
    """
    check_jobs(jobs, chunk_size)  # before the output is opened (and truncated)
    summary = BatchSummary(label_set=label_set.name, label_names=label_set.labels)
    started = time.perf_counter()
    with ReportReader(
        input_path,
        input_format=input_format,
        text_column=text_column,
        id_column=id_column,
        header=header,
    ) as reader:
        summary.encoding, summary.input_format = reader.encoding, reader.format.value
        summary.layout = reader.layout
        summary.unread_targets_column = targets_column(reader.columns)
        rows = iter(reader)
        with open_output(output, input_path=Path(input_path)) as fh:
            writer = make_writer(fh, output_format, label_set)
            labelled = label_rows(
                rows,
                label_sets=(label_set,),
                with_mentions=output_format is OutputFormat.JSONL,
                mentions_json=output_format is OutputFormat.JSONL,
                jobs=jobs,
                chunk_size=chunk_size,
                policy=policy,
                vocabulary=vocabulary,
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
