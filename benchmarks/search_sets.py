"""Search precision on reports nobody tuned the search on: the hand-labelled check sets.

The OpenI tables of ``search_quality.py`` ask new queries of reports the search was tuned
on. This asks the plain finding queries of new reports: the whole-report check sets
(``reader_check_fresh{2,3,4,5,7,8,9,10,11}.jsonl``, written and labelled by hand, each row a
``tune`` or ``held`` split drawn before its first run). One archive per split; a report is
relevant to a query where its hand label for the query's CheXpert class is 1.0 or -1.0
(stated present or uncertain: what a plain query returns, uncertain ranked below). A
class with fewer than ``MIN_GOLD`` positives in a split is not asked. Strict P@20 and BM25
in the same run, scored as in ``search_quality.py``; only figures are printed, never a
report, so the held split stays unseen.

    PYTHONPATH=src .venv/bin/python benchmarks/search_sets.py [--split tune|held|both]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parent))
from reader_fresh import load_rows
from search_quality import MIN_GOLD, against_bm25, bm25_index

from radpilot.interop.records import make_record
from radpilot.search.ingest import ingest_records
from radpilot.search.store import open_store

DATA = Path(__file__).resolve().parent / "data"
SETS = ("2", "3", "4", "5", "7", "8", "9", "10", "11")
# The query a radiologist types for each class (the main OpenI table's wording where it has
# one; "fracture" and "lung lesion" because the sets' classes hold every bone and mass).
QUERIES = {
    "pleural effusion": "Pleural Effusion",
    "pneumothorax": "Pneumothorax",
    "cardiomegaly": "Cardiomegaly",
    "atelectasis": "Atelectasis",
    "pulmonary edema": "Edema",
    "lung lesion": "Lung Lesion",
    "consolidation": "Consolidation",
    "pneumonia": "Pneumonia",
    "fracture": "Fracture",
    "lung opacity": "Lung Opacity",
}


def load(split: str) -> list[tuple[str, str, dict[str, float | None]]]:
    out = []
    for s in SETS:
        for r in load_rows(DATA / f"reader_check_fresh{s}.jsonl"):
            if r.split == split and r.labels:
                out.append((f"s{s}/{r.id}", r.text, r.labels))
    return out


def run_split(split: str, k: int, console: Console) -> tuple[float, float, list[str]]:
    rows = load(split)
    table = Table(title=f"check sets {', '.join(SETS)}, {split} split ({len(rows)} reports): P@{k}")
    for col in ("query", "class", "gold+", f"strict P@{k}", f"BM25 strict P@{k}", "delta", ""):
        table.add_column(col, justify="left" if col in ("query", "class") else "right")
    ours, base, below = [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        store = open_store(Path(tmp) / "sets.db")
        ingest_records(store, [make_record(rid=i, text=t) for i, t, _ in rows], jobs=1)
        plain = bm25_index([(i, t) for i, t, _ in rows])
        for q, cls in QUERIES.items():
            gold = {i for i, _, labels in rows if labels.get(cls) in (1.0, -1.0)}
            if len(gold) < MIN_GOLD:
                console.print(f"skipped {q!r}: {len(gold)} {split} positives (< {MIN_GOLD})")
                continue
            _, strict, b = against_bm25(store, plain, q, gold, k)
            ours.append(strict)
            base.append(b)
            flag = "<" if strict < b else ""
            if flag:
                below.append(q)
            table.add_row(
                q, cls, str(len(gold)), f"{strict:.2f}", f"{b:.2f}", f"{strict - b:+.2f}", flag
            )
        store.close()
    mo, mb = sum(ours) / len(ours), sum(base) / len(base)
    means = (f"{mo:.3f}", f"{mb:.3f}", f"{mo - mb:+.3f}")
    table.add_row(f"mean of {len(ours)}", "", "", *means, str(len(below)), style="bold")
    console.print(table)
    return mo, mb, below


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--split", choices=("tune", "held", "both"), default="both")
    ap.add_argument("--k", type=int, default=20)
    args = ap.parse_args()
    console = Console(width=max(Console().width, 110))
    for split in ("tune", "held") if args.split == "both" else (args.split,):
        mo, mb, below = run_split(split, args.k, console)
        console.print(
            f"{split}: mean strict P@{args.k} {mo:.3f} (BM25 {mb:.3f}); "
            f"below BM25: {', '.join(below) or 'none'}"
        )


if __name__ == "__main__":
    main()
