"""Archive scale: ingest rate, database size, query latency (p50/p95), memory.

Reports are realistic: OpenI sentences (the bundled 3,955 reports) recombined into new
reports under new ids, patients, dates and modalities. Baselines measured in the same
run: a bare SQLite insert of the same rows (no reader, no indexes) for ingest, and a
plain FTS5 keyword query on the same archive for latency.

    .venv/bin/python benchmarks/search_scale.py --n 100000 [--db PATH] [--keep]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import resource
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from radpilot.search.engine import search
from radpilot.search.ingest import ingest_files
from radpilot.search.store import open_store

TEXT_QUERIES = [
    "azygos fissure",
    "central venous catheter tip",
    "hyperexpanded lungs",
    "surgical clips",
]
FINDING_QUERIES = [
    "pneumothorax",
    "cardiomegaly",
    "pleural effusion",
    "atelectasis",
    "rib fracture",
    "pulmonary edema",
]
COMBINED_QUERIES = [
    "new left pneumothorax since:2020-01-01 -effusion",
    "left pneumothorax since:2020-01-01 -effusion",
    "cardiomegaly -effusion modality:CR",
    "right pleural effusion absent:pneumothorax until:2022",
    "stable cardiomegaly granuloma since:2018",
    "pleural effusion patient:PT0000042",
    "patient:PT0000007 since:2020",
]


def sentence_pools() -> tuple[list[str], list[str], list[str]]:
    from radpilot.reports.openi import iter_reports

    split = re.compile(r"(?<=[.!?])\s+")
    findings: list[str] = []
    impressions: list[str] = []
    indications: list[str] = []
    for r in iter_reports():
        findings += [s for s in split.split(r.findings) if len(s) > 3]
        impressions += [s for s in split.split(r.impression) if len(s) > 3]
        if r.indication:
            indications.append(r.indication)
    return findings, impressions, indications


def write_reports(path: Path, n: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    fpool, ipool, indpool = sentence_pools()
    n_patients = max(1, n // 4)
    with path.open("w") as fh:
        for i in range(n):
            y, m, d = rng.randint(2015, 2025), rng.randint(1, 12), rng.randint(1, 28)
            text = (
                f"INDICATION: {rng.choice(indpool)}\n"
                f"FINDINGS: {' '.join(rng.sample(fpool, rng.randint(3, 7)))}\n"
                f"IMPRESSION: {' '.join(rng.sample(ipool, rng.randint(1, 2)))}"
            )
            rec = {
                "id": f"SC{i:08d}",
                "patient_id": f"PT{rng.randrange(n_patients):07d}",
                "study_date": f"{y}-{m:02d}-{d:02d}",
                "modality": rng.choice(["CR", "DX"]),
                "body_part": "CHEST",
                "text": text,
            }
            fh.write(json.dumps(rec) + "\n")


def bare_insert_rate(src: Path, limit: int) -> float:
    """Baseline: rows straight into an unindexed SQLite table (no reader, no FTS)."""
    with tempfile.TemporaryDirectory() as tmp:
        con = sqlite3.connect(Path(tmp) / "bare.db")
        con.execute("PRAGMA journal_mode=WAL")
        con.execute("CREATE TABLE r (id TEXT, patient TEXT, date TEXT, text TEXT)")
        t0 = time.perf_counter()
        rows = []
        with src.open() as fh:
            for k, line in enumerate(fh):
                if k >= limit:
                    break
                o = json.loads(line)
                rows.append((o["id"], o["patient_id"], o["study_date"], o["text"]))
                if len(rows) == 500:
                    con.executemany("INSERT INTO r VALUES (?,?,?,?)", rows)
                    con.commit()
                    rows = []
        con.executemany("INSERT INTO r VALUES (?,?,?,?)", rows)
        con.commit()
        dt = time.perf_counter() - t0
        con.close()
    return min(limit, sum(1 for _ in src.open())) / dt


def latencies(fn, queries: list[str], repeats: int) -> list[float]:
    out = []
    for _ in range(repeats):
        for q in queries:
            t0 = time.perf_counter()
            fn(q)
            out.append((time.perf_counter() - t0) * 1000)
    return out


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, round(p * (len(xs) - 1)))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=20000, help="reports in the archive")
    ap.add_argument("--db", type=Path, default=None, help="where to build it (default: temp)")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--repeats", type=int, default=10)
    ap.add_argument("--keep", action="store_true", help="keep the archive and the JSONL")
    ap.add_argument("--embed", type=int, default=0, help="also time embedding this many reports")
    args = ap.parse_args()
    console = Console()
    tmp = tempfile.mkdtemp(prefix="radpilot-scale-")
    work = Path(tmp)
    src = work / "reports.jsonl"
    t0 = time.perf_counter()
    write_reports(src, args.n)
    console.print(
        f"generated {args.n:,} reports in {time.perf_counter() - t0:.0f} s ({src.stat().st_size / 2**20:.0f} MiB JSONL)"
    )
    db = args.db or work / "archive.db"
    base_rate = bare_insert_rate(src, min(args.n, 50000))

    store = open_store(db)
    t0 = time.perf_counter()
    summary = ingest_files(store, [src], jobs=args.jobs, batch_size=1000)
    ingest_s = time.perf_counter() - t0
    rate = summary.added / ingest_s
    store.close()  # checkpoints the WAL into the database file
    size = sum(p.stat().st_size for p in db.parent.glob(db.name + "*"))
    # Printed at once: a long run's first half is not lost if the query half fails.
    console.print(
        f"ingest: {summary.added:,} reports in {ingest_s:,.0f} s = {rate:,.0f} reports/s "
        f"(bare insert baseline {base_rate:,.0f}/s); database {size / 2**20:,.0f} MiB"
    )

    reader = open_store(db, readonly=True)

    def run(q: str) -> None:
        search(reader, q, limit=20, semantic=False)

    plain = sqlite3.connect(f"file:{db}?mode=ro", uri=True)

    def keyword(q: str) -> None:
        expr = " OR ".join(f'"{w}"' for w in q.split())
        plain.execute(
            "SELECT rowid FROM reports_fts WHERE reports_fts MATCH ? ORDER BY bm25(reports_fts) LIMIT 20",
            (expr,),
        ).fetchall()

    for q in TEXT_QUERIES + FINDING_QUERIES + COMBINED_QUERIES:  # warm the page cache
        run(q)
    lat = {
        "text": latencies(run, TEXT_QUERIES, args.repeats),
        "finding": latencies(run, FINDING_QUERIES, args.repeats),
        "combined": latencies(run, COMBINED_QUERIES, args.repeats),
        "keyword baseline (FTS5 only)": latencies(
            keyword, TEXT_QUERIES + FINDING_QUERIES, args.repeats
        ),
    }

    # Searches while another process ingests (WAL): a second file of 5% more reports.
    extra = work / "extra.jsonl"
    write_reports(extra, max(1000, args.n // 20), seed=11)
    extra.write_text(extra.read_text().replace('"id": "SC', '"id": "EX'))
    cmd = [
        sys.executable,
        "-c",
        "from radpilot.cli import main; main()",
        "archive",
        "add",
        str(extra),
        "--db",
        str(db),
        "--jobs",
        "1",
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    during: list[float] = []
    while proc.poll() is None:
        during += latencies(run, FINDING_QUERIES + COMBINED_QUERIES, 1)
    lat["finding+combined during ingest"] = during

    embed_rate = None
    if args.embed:
        from radpilot.search.semantic import embed_archive, load_model

        load_model()
        w = open_store(db)
        t0 = time.perf_counter()
        n_emb = embed_archive(w, limit=args.embed)
        embed_rate = n_emb / (time.perf_counter() - t0)
        w.close()

    rss_self = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    rss_kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    table = Table(title=f"Archive scale: {args.n:,} reports")
    table.add_column("measure")
    table.add_column("value", justify="right")
    table.add_column("baseline (same run)", justify="right")
    table.add_column("ratio", justify="right")
    table.add_row(
        "ingest rate (reports/s, reader + indexes)",
        f"{rate:,.0f}",
        f"{base_rate:,.0f} bare insert",
        f"{rate / base_rate:.2f}",
    )
    table.add_row("ingest time", f"{ingest_s:,.0f} s", "", "")
    table.add_row(
        "database size",
        f"{size / 2**20:,.0f} MiB",
        f"{src.stat().st_size / 2**20:,.0f} MiB JSONL",
        f"{size / src.stat().st_size:.2f}",
    )
    if embed_rate is not None:
        table.add_row(
            f"embedding rate ({args.embed:,} reports, model loaded)",
            f"{embed_rate:,.0f} reports/s",
            f"{rate:,.0f}/s ingest",
            f"{embed_rate / rate:.2f}",
        )
    kw = lat["keyword baseline (FTS5 only)"]
    for name, xs in lat.items():
        ratio = (
            f"{pct(xs, 0.95) / pct(kw, 0.95):.1f}" if name != "keyword baseline (FTS5 only)" else ""
        )
        table.add_row(
            f"latency {name}: p50 / p95 ms (n={len(xs)})",
            f"{statistics.median(xs):.1f} / {pct(xs, 0.95):.1f}",
            "",
            ratio,
        )
    table.add_row(
        "peak RSS: search process / reader workers",
        f"{rss_self:,.0f} / {rss_kids:,.0f} MiB",
        "",
        "",
    )
    console.print(table)
    console.print(f"jobs={args.jobs}, batch=1000, machine: {os.cpu_count()} cores; archive at {db}")
    reader.close()
    plain.close()
    if not args.keep:
        for p in work.glob("*"):
            p.unlink()
        work.rmdir()


if __name__ == "__main__":
    main()
