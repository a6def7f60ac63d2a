"""``label_dataframe``: the report reader on a Spark DataFrame, one Arrow batch at a time.

Each executor python process runs the same code as ``radpilot label`` with one job
(:func:`radpilot.reports.batch.label_rows`: the same text checks, the same reader, the same
error rows), on Arrow record batches (``mapInArrow``: no pandas round trip, nested mention
structs built straight from the reader's dicts). The reader's rules and vocabulary load
once per python worker process and stay for every later batch and task
(``spark.python.worker.reuse``); a user's vocabulary travels as its entries and digest and
is rebuilt once per process.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from radpilot import registry
from radpilot.errors import InputError
from radpilot.reports.batch import label_rows
from radpilot.reports.labelsets import LabelSet
from radpilot.reports.policy import UncertaintyPolicy
from radpilot.reports.readers import TEXT_KEYS, check_text
from radpilot.reports.rows import MAX_REPORT_CHARS, InputRow, LabelledRow, RowProblem, Severity
from radpilot.reports.vocabulary import Vocabulary

__all__ = ["LABELLED", "PROBLEMS", "label_dataframe", "reader_loads"]

LABELLED = "labelled"  # bool: False for a row left unlabelled (its labels are null)
PROBLEMS = "problems"  # array<struct<severity, line, message, source>>, never report text
MENTIONS = "mentions"
MENTIONS_JSON = "mentions_json"  # the CLI's path: the reader's dicts, exactly as JSONL writes

# How many times this process loaded the reader, by vocabulary digest (tests read it to
# check the once-per-process promise).
_LOADS: dict[str, int] = {}


def reader_loads() -> dict[str, int]:
    """{vocabulary digest: loads} in this python process."""
    return dict(_LOADS)


def _ensure_reader(vocabulary: Vocabulary | None) -> None:
    from radpilot import reports
    from radpilot.reports.vocabulary import load_vocabulary

    digest = (vocabulary or load_vocabulary()).digest
    if digest not in _LOADS:
        # compiles the rules and the vocabulary's lexicon now, once, not inside a timed batch
        reports.read("FINDINGS: Heart size normal.", vocabulary=vocabulary)
        _LOADS[digest] = _LOADS.get(digest, 0) + 1


def _spark_types() -> Any:
    from pyspark.sql import types as T

    return T


def problem_type() -> Any:
    T = _spark_types()
    return T.StructType(
        [
            T.StructField("severity", T.StringType(), False),
            T.StructField("line", T.LongType(), True),
            T.StructField("message", T.StringType(), False),
            T.StructField("source", T.StringType(), True),
        ]
    )


def mention_type() -> Any:
    """One mention as ``Mention.to_dict`` writes it, field for field."""
    T = _spark_types()
    span = T.StructType(
        [
            T.StructField("start", T.LongType()),
            T.StructField("end", T.LongType()),
            T.StructField("text", T.StringType()),
        ]
    )
    size = T.StructType(
        [
            T.StructField("value", T.DoubleType()),
            T.StructField("unit", T.StringType()),
            T.StructField("mm", T.DoubleType()),
            T.StructField("span", span),
        ]
    )
    text, flag, words = T.StringType(), T.BooleanType(), T.ArrayType(T.StringType())
    fields = [
        ("finding", text),
        ("certainty", text),
        ("span", span),
        ("sentence", span),
        ("section", text),
        ("laterality", text),
        ("locations", words),
        ("severity", text),
        ("size", size),
        ("change", text),
        ("historical", flag),
        ("hypothetical", flag),
        ("cues", words),
        ("hedge", text),
        ("region", text),
    ]
    return T.StructType([T.StructField(n, t) for n, t in fields])


@dataclass(frozen=True)
class LabelJob:
    """What one executor call needs; pickled once per task. Column names ``None`` are
    absent: a DataFrame of bare texts has no row numbers, lines or file names."""

    label_set: LabelSet
    policy: UncertaintyPolicy
    vocabulary: Vocabulary | None
    text_col: str
    arrow_schema: Any  # pyarrow.Schema of the output
    keep: tuple[str, ...]  # input columns passed through, in order
    id_col: str | None = None
    row_col: str | None = None
    line_col: str | None = None
    source_col: str | None = None
    problems_col: str | None = None  # rows already checked by radpilot's file reader
    mentions: str | None = None  # None, MENTIONS (structs) or MENTIONS_JSON
    max_chars: int = MAX_REPORT_CHARS

    def __call__(self, batches: Iterator[Any]) -> Iterator[Any]:
        _ensure_reader(self.vocabulary)
        for batch in batches:
            yield self._label_batch(batch)

    def _input_rows(self, batch: Any) -> list[InputRow]:
        n = batch.num_rows

        def col(name: str | None) -> list[Any]:
            return batch.column(name).to_pylist() if name is not None else [None] * n

        texts, ids, rows = col(self.text_col), col(self.id_col), col(self.row_col)
        lines, sources, given = col(self.line_col), col(self.source_col), col(self.problems_col)
        out = []
        for i in range(n):
            row, line, source = rows[i] or 0, lines[i] or 0, sources[i]
            if self.problems_col is not None:  # checked by the file reader on the driver
                text = texts[i] or ""
                problems = tuple(
                    RowProblem(
                        row, p["line"] or 0, Severity(p["severity"]), p["message"], p["source"]
                    )
                    for p in given[i] or ()
                )
            else:
                notes: list[tuple[Severity, str]] = []
                text = check_text(texts[i] or "", notes, self.max_chars)
                problems = tuple(RowProblem(row, line, s, m, source) for s, m in notes)
                if any(p.severity is Severity.ERROR for p in problems):
                    text = ""
            rid = ids[i]
            out.append(InputRow(row, str(rid) if rid else str(row), text, problems, line, source))
        return out

    def _label_batch(self, batch: Any) -> Any:
        import pyarrow as pa

        labelled = list(
            label_rows(
                self._input_rows(batch),
                label_sets=(self.label_set,),
                with_mentions=self.mentions is not None,
                max_chars=self.max_chars,
                policy=self.policy,
                vocabulary=self.vocabulary,
            )
        )
        arrays = [batch.column(name) for name in self.keep]
        name, width = self.label_set.name, len(self.label_set.labels)
        values = [r.labels.get(name) or (None,) * width for r in labelled]
        arrays += [pa.array([v[j] for v in values], pa.float64()) for j in range(width)]
        arrays.append(pa.array([r.labelled for r in labelled], pa.bool_()))
        arrays.append(pa.array([[_problem_dict(p) for p in r.problems] for r in labelled]))
        if self.mentions == MENTIONS_JSON:
            arrays.append(pa.array([_mentions_json(r) for r in labelled], pa.string()))
        elif self.mentions == MENTIONS:
            arrays.append(
                pa.array(
                    [
                        list(r.mentions) if r.labelled and r.mentions is not None else []
                        for r in labelled
                    ]
                )
            )
        schema = self.arrow_schema
        return pa.RecordBatch.from_arrays(
            [a.cast(f.type) for a, f in zip(arrays, schema, strict=True)], schema=schema
        )


def _problem_dict(p: RowProblem) -> dict[str, Any]:
    return {"severity": p.severity.value, "line": p.line, "message": p.message, "source": p.source}


def _mentions_json(row: LabelledRow) -> str:
    return json.dumps(list(row.mentions or ()), ensure_ascii=False, check_circular=False)


def resolve_labels(labels: str | LabelSet) -> LabelSet:
    if isinstance(labels, LabelSet):
        return labels
    found: LabelSet = registry.label_sets.get(labels)
    return found


def resolve_policy(policy: str | UncertaintyPolicy) -> UncertaintyPolicy:
    if isinstance(policy, UncertaintyPolicy):
        return policy
    found: UncertaintyPolicy = registry.uncertainty_policies.get(policy)
    return found


def find_column(columns: list[str], wanted: str | None, known: tuple[str, ...]) -> str | None:
    """``wanted`` (case-insensitive), else the first column named like one of ``known``."""
    lowered = {c.lower(): c for c in reversed(columns)}
    if wanted is not None:
        return wanted if wanted in columns else lowered.get(wanted.lower())
    return next((lowered[k] for k in known if k in lowered), None)


def labelled_schema(
    df: Any, job_fields: dict[str, Any], label_set: LabelSet, mentions: str | None
) -> Any:
    """The output schema: ``keep`` columns, then the labels, ``labelled``, ``problems``
    and the mentions column when asked."""
    T = _spark_types()
    taken = set(job_fields["keep"])
    new = [*label_set.labels, LABELLED, PROBLEMS, *([mentions] if mentions else [])]
    clash = [c for c in new if c in taken]
    if clash:
        raise InputError(
            f"the DataFrame already has column(s) {', '.join(map(repr, clash))}; "
            "rename or drop them before labelling"
        )
    fields = [df.schema[c] for c in job_fields["keep"]]
    fields += [T.StructField(n, T.DoubleType(), True) for n in label_set.labels]
    fields.append(T.StructField(LABELLED, T.BooleanType(), False))
    fields.append(T.StructField(PROBLEMS, T.ArrayType(problem_type(), False), False))
    if mentions == MENTIONS:
        fields.append(T.StructField(MENTIONS, T.ArrayType(mention_type(), False), False))
    elif mentions == MENTIONS_JSON:
        fields.append(T.StructField(MENTIONS_JSON, T.StringType(), True))
    return T.StructType(fields)


def run_job(
    df: Any,
    *,
    label_set: LabelSet,
    policy: UncertaintyPolicy,
    vocabulary: Vocabulary | None,
    text_col: str,
    mentions: str | None = None,
    keep: tuple[str, ...] | None = None,
    **columns: str | None,
) -> Any:
    """``df`` labelled by a :class:`LabelJob` (the CLI and ``label_dataframe`` share it)."""
    from pyspark.sql.pandas.types import to_arrow_schema

    T = _spark_types()
    if text_col not in df.columns:
        raise InputError(f"no text column {text_col!r}; columns: {', '.join(df.columns)}")
    if not isinstance(df.schema[text_col].dataType, T.StringType):
        raise InputError(
            f"text column {text_col!r} is {df.schema[text_col].dataType.simpleString()}, "
            "expected string"
        )
    keep = tuple(df.columns) if keep is None else keep
    schema = labelled_schema(df, {"keep": keep}, label_set, mentions)
    job = LabelJob(
        label_set=label_set,
        policy=policy,
        vocabulary=vocabulary,
        text_col=text_col,
        arrow_schema=to_arrow_schema(schema),
        keep=keep,
        mentions=mentions,
        **columns,  # type: ignore[arg-type]
    )
    return df.mapInArrow(job, schema)


def label_dataframe(
    df: Any,
    *,
    text_col: str | None = None,
    id_col: str | None = None,
    labels: str | LabelSet = "chexpert",
    vocab: Vocabulary | str | os.PathLike[str] | None = None,
    mentions: bool = False,
    uncertainty: str | UncertaintyPolicy = "radpilot",
) -> Any:
    """``df`` with one column per label of ``labels`` (double: 1.0, 0.0, -1.0 or null),
    ``labelled`` (false: left unlabelled, its problems say why), ``problems``
    (array<struct<severity, line, message, source>>: never report text) and, with
    ``mentions=True``, ``mentions`` (array of structs, ``Mention.to_dict`` field for field).

    Every input column is kept; rows keep their partitions (a map, no shuffle). The values
    are those of ``radpilot label`` on the same texts, row for row. ``text_col``: default the
    first column named like a report (report, text, ...); ``vocab``: a merged vocabulary or
    a vocabulary file (JSON/YAML), read here on the driver.
    """
    from radpilot.reports.uservocab import extended_vocabulary

    found = find_column(list(df.columns), text_col, TEXT_KEYS)
    if found is None:
        raise InputError(
            f"no text column {repr(text_col) if text_col else 'among ' + ', '.join(TEXT_KEYS)}; "
            f"columns: {', '.join(df.columns)}"
        )
    if id_col is not None and id_col not in df.columns:
        raise InputError(f"no id column {id_col!r}; columns: {', '.join(df.columns)}")
    vocabulary = (
        extended_vocabulary(os.fspath(vocab)) if isinstance(vocab, str | os.PathLike) else vocab
    )
    return run_job(
        df,
        label_set=resolve_labels(labels),
        policy=resolve_policy(uncertainty),
        vocabulary=vocabulary,
        text_col=found,
        mentions=MENTIONS if mentions else None,
        id_col=id_col,
    )
