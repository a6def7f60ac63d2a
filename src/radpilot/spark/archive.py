"""``radpilot archive add --engine spark``: the reader's analyses (and, when asked, the
sentence embeddings) computed on Spark; the driver bulk-loads the archive through the
:class:`~radpilot.search.store.ArchiveStore` Protocol, so any backend (SQLite today,
PostgreSQL where that backend is registered) takes the same rows.

Records stream through the local ingest path (:func:`radpilot.search.ingest.ingest_records`:
the same unchanged-record check, batches, versions and error lines); only the reading is
handed over, ``chunk`` records at a time: their texts go to the executors as one Arrow
table, each executor python process runs the same reader function on them (the reader
and the embedding model loaded once per process) and sends back each result pickled, in
input order. A report the reader fails on is a ``Failure`` for that record alone, as with
worker processes.
"""

from __future__ import annotations

import pickle
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import islice
from typing import Any

import numpy as np

from radpilot.pool import Failure, _call

__all__ = ["spark_encoder", "spark_mapper"]

DEFAULT_CHUNK = 20_000  # records a Spark job: enough for every core, small on the driver


@dataclass(frozen=True)
class _Apply:
    """Executor side: ``fn`` on each text of a batch, its result pickled."""

    fn: Callable[[Any], Any]

    def __call__(self, batches: Iterator[Any]) -> Iterator[Any]:
        import pyarrow as pa

        for batch in batches:
            idx = batch.column("i").to_pylist()
            texts = batch.column("text").to_pylist()
            out = [pickle.dumps(_call(self.fn, t), protocol=pickle.HIGHEST_PROTOCOL) for t in texts]
            yield pa.RecordBatch.from_pydict(
                {"i": pa.array(idx, pa.int64()), "out": pa.array(out, pa.binary())}
            )


def _run(spark: Any, fn: Callable[[Any], Any], payloads: Sequence[Any], slices: int) -> list[Any]:
    """``fn`` over ``payloads`` on Spark, results in input order."""
    import pyarrow as pa

    table = pa.table({"i": pa.array(range(len(payloads)), pa.int64()), "text": list(payloads)})
    df = spark.createDataFrame(table).repartition(slices)
    got = df.mapInArrow(_Apply(fn), "i long, out binary").toArrow()
    results: list[Any] = [None] * len(payloads)
    for i, blob in zip(got.column("i").to_pylist(), got.column("out").to_pylist(), strict=True):
        results[i] = pickle.loads(blob)  # our own executors' output, never user data
    return results


def spark_mapper(spark: Any, *, chunk: int = DEFAULT_CHUNK) -> Callable[..., Iterator[Any]]:
    """A drop-in for :func:`radpilot.pool.ordered_map` that reads on Spark."""
    slices = max(1, int(spark.sparkContext.defaultParallelism))

    def mapper(
        fn: Callable[[Any], Any],
        items: Iterable[Any],
        *,
        jobs: int = 1,
        send: Callable[[Any], Any] = lambda x: x,
        chunk_size: int = 0,
    ) -> Iterator[tuple[Any, Any | Failure]]:
        it = iter(items)
        while group := list(islice(it, chunk)):
            yield from zip(group, _run(spark, fn, [send(g) for g in group], slices), strict=True)

    return mapper


@dataclass(frozen=True)
class _Encode:
    backend: str

    def __call__(self, texts: Sequence[str]) -> np.ndarray:
        from radpilot.search.onnx_embed import encode_with

        return encode_with(self.backend, texts)


@dataclass(frozen=True)
class _EncodeBatch:
    backend: str

    def __call__(self, batches: Iterator[Any]) -> Iterator[Any]:
        import pyarrow as pa

        encode = _Encode(self.backend)
        for batch in batches:
            vecs = encode(batch.column("text").to_pylist()).astype(np.float32)
            yield pa.RecordBatch.from_pydict(
                {
                    "i": batch.column("i"),
                    "vec": pa.array([v.tobytes() for v in vecs], pa.binary()),
                }
            )


def spark_encoder(spark: Any, backend: str = "torch") -> Callable[[Sequence[str]], np.ndarray]:
    """texts -> unit vectors, computed on Spark (for ``semantic.embed_archive``)."""
    import pyarrow as pa

    cores = max(1, int(spark.sparkContext.defaultParallelism))

    def encode(texts: Sequence[str]) -> np.ndarray:
        # a slice per 512 texts at most: each slice's worker loads the model once
        slices = min(cores, max(1, len(texts) // 512))
        table = pa.table({"i": pa.array(range(len(texts)), pa.int64()), "text": list(texts)})
        df = spark.createDataFrame(table).repartition(slices)
        got = df.mapInArrow(_EncodeBatch(backend), "i long, vec binary").toArrow()
        out = np.zeros((len(texts), 384), dtype=np.float32)
        for i, blob in zip(got.column("i").to_pylist(), got.column("vec").to_pylist(), strict=True):
            out[i] = np.frombuffer(blob, dtype=np.float32)
        return out

    return encode
