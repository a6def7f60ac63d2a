"""Search quality on the OpenI development split: precision@20 of `radpilot search`
against plain BM25 over the same text, in the same run.

Gold: ../shared/data/openi/openi_gold.py (human MeSH coding mapped to CheXpert classes),
dev ids only. Each report's text is FINDINGS + IMPRESSION (the gold's convention).

Two precisions, both reported:
  P@20 (returned) = relevant among the first min(20, returned) / min(20, returned): how
      clean what radpilot shows is (it returns only reports where the finding is present
      or uncertain, so it may return fewer than 20);
  strict P@20 = relevant among the first 20 / min(20, gold positives): returning fewer
      than 20 earns nothing, and a class with fewer than 20 gold positives is not asked
      for the impossible (R-precision below 20). The target is held to the strict one.

    .venv/bin/python benchmarks/search_quality.py [--shared ../shared] [--k 20]
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from radpilot.interop.records import make_record
from radpilot.search.engine import search
from radpilot.search.ingest import ingest_records
from radpilot.search.store import open_store

QUERIES = {
    "pleural effusion": "Pleural Effusion",
    "pneumothorax": "Pneumothorax",
    "cardiomegaly": "Cardiomegaly",
    "atelectasis": "Atelectasis",
    "pulmonary edema": "Edema",
    "lung nodule": "Lung Lesion",
    "consolidation": "Consolidation",
    "pneumonia": "Pneumonia",
    "rib fracture": "Fracture",
    "pleural thickening": "Pleural Other",
    "lung opacity": "Lung Opacity",
}


def load_gold(shared: Path) -> list[dict]:
    script = shared / "data" / "openi" / "openi_gold.py"
    if not script.exists():
        sys.exit(f"{script} not found: pass --shared PATH (the folder beside the repo)")
    spec = importlib.util.spec_from_file_location("openi_gold", script)
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    rows = [r for r in mod.load() if r["split"] == "dev"]
    for r in rows:
        r["text"] = mod.report_text(r)
    return rows


def bm25_top(db: sqlite3.Connection, query: str, k: int) -> list[str]:
    expr = " OR ".join('"' + w.replace('"', '""') + '"' for w in query.split())
    rows = db.execute(
        "SELECT rid FROM plain WHERE plain MATCH ? ORDER BY bm25(plain) LIMIT ?", (expr, k)
    )
    return [r[0] for r in rows]


def precision(ids: list[str], gold: dict[str, set[str]], cls: str, k: int) -> tuple[float, float]:
    """(P@k over what is returned, strict P@k over min(k, gold positives))."""
    top = ids[:k]
    rel = sum(cls in gold.get(i, set()) for i in top)
    support = sum(cls in g for g in gold.values())
    return (rel / len(top) if top else 0.0), rel / max(1, min(k, support))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    default_shared = os.environ.get("RADPILOT_SHARED") or str(Path.cwd().parent / "shared")
    ap.add_argument("--shared", type=Path, default=Path(default_shared))
    ap.add_argument("--k", type=int, default=20)
    args = ap.parse_args()
    rows = load_gold(args.shared)
    gold = {r["id"]: set(r["positive"]) for r in rows}
    console = Console(width=max(Console().width, 110))
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        store = open_store(Path(tmp) / "dev.db")
        recs = [make_record(rid=r["id"], text=r["text"]) for r in rows]
        ingest_records(store, recs, jobs=1)
        t_ingest = time.perf_counter() - t0
        plain = sqlite3.connect(":memory:")
        plain.execute(
            "CREATE VIRTUAL TABLE plain USING fts5(rid UNINDEXED, text, tokenize='porter unicode61')"
        )
        plain.executemany("INSERT INTO plain VALUES (?, ?)", [(r["id"], r["text"]) for r in rows])
        table = Table(title=f"OpenI dev split ({len(rows)} reports): precision@{args.k}")
        for col in (
            "query",
            "class",
            "gold+",
            "radpilot n",
            f"P@{args.k} returned",
            f"strict P@{args.k}",
            f"BM25 strict P@{args.k}",
            "delta",
        ):
            table.add_column(col, justify="right" if col != "query" else "left")
        ours, base, strict_all = [], [], []
        for q, cls in QUERIES.items():
            res = search(store, q, limit=args.k, semantic=False)
            ids = [h.report.id for h in res.hits]
            p, strict = precision(ids, gold, cls, args.k)
            _, b = precision(bm25_top(plain, q, args.k), gold, cls, args.k)
            ours.append(p)
            base.append(b)
            strict_all.append(strict)
            support = sum(cls in g for g in gold.values())
            table.add_row(
                q,
                cls,
                str(support),
                str(len(ids)),
                f"{p:.2f}",
                f"{strict:.2f}",
                f"{b:.2f}",
                f"{strict - b:+.2f}",
            )
        mean_o, mean_b = sum(ours) / len(ours), sum(base) / len(base)
        mean_s = sum(strict_all) / len(strict_all)
        table.add_row(
            "mean",
            "",
            "",
            "",
            f"{mean_o:.3f}",
            f"{mean_s:.3f}",
            f"{mean_b:.3f}",
            f"{mean_s - mean_b:+.3f}",
            style="bold",
        )
        store.close()
    console.print(table)
    console.print(
        f"archive built in {t_ingest:.1f} s (reader included); target: mean strict "
        f"P@{args.k} >= 0.95 and >= BM25 + 0.15 (delta = strict - BM25 strict)"
    )


if __name__ == "__main__":
    main()
