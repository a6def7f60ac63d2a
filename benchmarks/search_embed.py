"""Semantic indexing speed: `radpilot archive embed` with the old and the new settings,
in the same run, on the same archive of OpenI reports (FINDINGS + IMPRESSION text).

old: 256 reports a commit, every text encoded, torch threads as the environment sets
     them (OMP_NUM_THREADS; the team's environment sets 1);
new: 1,024 reports a commit, identical texts in a commit encoded once, torch threads =
     CPU count with OMP_WAIT_POLICY=PASSIVE (what the CLI command sets); "new, 1 thread"
     isolates the thread count. 32 texts a forward pass in all.
Both run under torch.inference_mode (the encoder's only mode now), so the ratio does not
credit it. Each setting embeds a fresh copy of the archive; the model is loaded and
warmed up once before timing.

    .venv/bin/python benchmarks/search_embed.py [--n 1024] [--repeats 2]
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

# As `radpilot archive embed` does, before torch's OpenMP runtime starts: idle threads
# wait passively (it changes nothing for the 1-thread baseline).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import torch
from rich.console import Console
from rich.table import Table

from radpilot.interop.records import make_record
from radpilot.reports.openi import iter_reports
from radpilot.search.ingest import ingest_records
from radpilot.search.semantic import MODEL_NAME, embed_archive, encode
from radpilot.search.store import open_store


@dataclass(frozen=True)
class Setting:
    commit: int
    encode_batch: int
    dedupe: bool
    threads: int | None  # None: as the environment sets them


SETTINGS = {
    "old": Setting(256, 32, False, None),
    "new, 1 thread": Setting(1024, 32, True, 1),
    "new": Setting(1024, 32, True, os.cpu_count()),
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=1024, help="reports in the archive")
    ap.add_argument("--repeats", type=int, default=2, help="timed runs per setting (best kept)")
    args = ap.parse_args()
    env_threads = torch.get_num_threads()
    texts = [t for t in (r.text.strip() for r in iter_reports()) if t][: args.n]
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "src.db"
        store = open_store(src)
        ingest_records(store, [make_record(rid=str(i), text=t) for i, t in enumerate(texts)])
        store.close()
        encode(texts[:64])  # load and warm the model outside the timings
        best: dict[str, float] = {}
        for rep in range(args.repeats):
            for name, cfg in SETTINGS.items():
                torch.set_num_threads(cfg.threads or env_threads)
                db = Path(tmp) / f"{name}{rep}.db"
                shutil.copy(src, db)
                store = open_store(db)
                t0 = time.perf_counter()
                n = embed_archive(
                    store,
                    batch_size=cfg.commit,
                    encode_batch_size=cfg.encode_batch,
                    dedupe=cfg.dedupe,
                )
                rate = n / (time.perf_counter() - t0)
                assert store.embedding_count(MODEL_NAME) == len(texts)
                store.close()
                best[name] = max(rate, best.get(name, 0.0))
    table = Table(title=f"radpilot archive embed: {len(texts)} OpenI reports, {MODEL_NAME}")
    for col in ("settings", "torch threads", "reports/s", "ratio to old"):
        table.add_column(col, justify="left" if col == "settings" else "right")
    for name, cfg in SETTINGS.items():
        table.add_row(
            name,
            str(cfg.threads or env_threads),
            f"{best[name]:.1f}",
            f"{best[name] / best['old']:.2f}",
        )
    Console().print(table)
    load = os.getloadavg()
    Console().print(
        f"distinct texts {len(set(texts))}/{len(texts)}; best of {args.repeats}; load average "
        f"{load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; {os.cpu_count()} CPUs"
    )


if __name__ == "__main__":
    main()
