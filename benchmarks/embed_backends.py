"""Sentence-embedding throughput and semantic search quality, per embedding backend, in
the same run: torch (sentence-transformers, today's path), ONNX Runtime fp32 and ONNX
Runtime with int8 dynamic quantisation (per-channel weights), all with 32 texts a batch
sorted by length, on the OpenI development split's reports as the archive embeds them
(``asserted_text``: FINDINGS + IMPRESSION, negated and context statements left out).

Throughput: reports/s of each backend on the same texts, rounds interleaved, threads as
the environment sets them (OMP_NUM_THREADS; pass --threads). Quality: the archive's
vectors are replaced by each backend's, queries encoded by the same backend, and the
finding and sided queries of benchmarks/search_quality.py are asked with semantic ranking
on; strict P@20 as there (mean over queries), with semantic ranking off as the floor.
Mean and minimum cosine to the torch vectors say how far a backend moves them.

    .venv/bin/python benchmarks/embed_backends.py [--shared ../shared] [--rounds 2]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table
from search_quality import FINDINGS, MIN_GOLD, SIDED, load_gold, precision, relevant

from radpilot.interop.records import make_record
from radpilot.search import semantic
from radpilot.search.engine import search
from radpilot.search.ingest import ingest_records
from radpilot.search.onnx_embed import BACKENDS, encode_with
from radpilot.search.store import open_store


def strict_p(store, rows, mod, queries, k: int, semantic_on: bool) -> float:  # type: ignore[no-untyped-def]
    scores = []
    for q, g in queries.items():
        gold = {r["id"] for r in rows if relevant(r["mesh_major"], g, mod.mesh_to_classes)}
        if len(gold) < MIN_GOLD:
            continue
        ids = [h.report.id for h in search(store, q, limit=k, semantic=semantic_on).hits]
        scores.append(precision(ids, gold, k)[1])
    return sum(scores) / len(scores)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    default_shared = os.environ.get("RADPILOT_SHARED") or str(Path.cwd().parent / "shared")
    ap.add_argument("--shared", type=Path, default=Path(default_shared))
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--k", type=int, default=20)
    ap.add_argument("--threads", type=int, default=None)
    args = ap.parse_args()
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    rows, mod = load_gold(args.shared)
    console = Console()
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    with tempfile.TemporaryDirectory() as tmp:
        store = open_store(Path(tmp) / "dev.db")
        ingest_records(store, [make_record(rid=r["id"], text=r["text"]) for r in rows], jobs=1)
        pairs = store.missing_embeddings(semantic.MODEL_NAME, len(rows) + 10)
        asserted = store.asserted_texts([rid for rid, _ in pairs])
        texts = [asserted.get(rid, t) for rid, t in pairs]
        for b in BACKENDS:  # load (and export) each model once before timing
            encode_with(b, texts[:4])
        times: dict[str, list[float]] = {b: [] for b in BACKENDS}
        vecs: dict[str, np.ndarray] = {}
        for _ in range(args.rounds):
            for b in BACKENDS:
                t0 = time.perf_counter()
                vecs[b] = encode_with(b, texts)
                times[b].append(time.perf_counter() - t0)
        floor = (
            strict_p(store, rows, mod, FINDINGS, args.k, False),
            strict_p(store, rows, mod, SIDED, args.k, False),
        )
        quality = {}
        original = semantic.encode
        for b in BACKENDS:
            store.put_embeddings(
                semantic.MODEL_NAME, [(rid, v) for (rid, _), v in zip(pairs, vecs[b], strict=True)]
            )
            # queries by the same backend (torch: the original, not this replacement)
            semantic.encode = (  # type: ignore[misc]
                original if b == "torch" else (lambda t, batch_size=32, b=b: encode_with(b, t))
            )
            quality[b] = (
                strict_p(store, rows, mod, FINDINGS, args.k, True),
                strict_p(store, rows, mod, SIDED, args.k, True),
            )
        semantic.encode = original  # type: ignore[assignment]
        store.close()
    base = min(times["torch"])
    table = Table(
        title=f"Embedding {len(texts):,} OpenI dev reports (asserted text), {os.cpu_count()} CPUs, "
        f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}, load {load} -> "
        + ", ".join(f"{x:.2f}" for x in os.getloadavg())
        + f"; best of {args.rounds}",
        title_justify="left",
    )
    for col in (
        "backend",
        "reports/s",
        "vs torch",
        "cos to torch (mean / min)",
        f"finding strict P@{args.k}",
        f"sided strict P@{args.k}",
    ):
        table.add_column(col, justify="left" if col == "backend" else "right")
    table.add_row("semantic ranking off", "", "", "", f"{floor[0]:.3f}", f"{floor[1]:.3f}")
    for b in BACKENDS:
        t = min(times[b])
        cos = (vecs[b] * vecs["torch"]).sum(axis=1)
        table.add_row(
            b,
            f"{len(texts) / t:,.1f}",
            f"{base / t:.2f}x",
            f"{cos.mean():.4f} / {cos.min():.4f}",
            f"{quality[b][0]:.3f}",
            f"{quality[b][1]:.3f}",
        )
    console.print(table)


if __name__ == "__main__":
    main()
