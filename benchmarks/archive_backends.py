"""Archive backends side by side: SQLite (the embedded default) and PostgreSQL on the
same reports, in the same run: the store's write rate, the whole ingest rate, query
latency per query class, and whether the two answer the same.

Reports: the bundled OpenI reports recombined into new ones (``search_scale``'s
generator: new ids, patients, dates). PostgreSQL: ``--pg URL`` (an empty database; its
``archive`` schema is dropped between the whole-ingest rounds), or a throwaway cluster
from the distribution's binaries with fsync on (``tests/pgserver``), so both backends
write durably (SQLite: WAL, synchronous=NORMAL; PostgreSQL: fsync, synchronous_commit
on). The two are interleaved: each batch is written to one then the other, each query
run on one then the other, the whole-ingest rounds alternate.

    .venv/bin/python benchmarks/archive_backends.py --n 20000 [--pg URL] [--repeats 5]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table
from search_scale import COMBINED_QUERIES, FINDING_QUERIES, TEXT_QUERIES, pct, write_reports

from radpilot.interop.records import make_record
from radpilot.search.engine import search
from radpilot.search.ingest import ingest_files, read_and_analyse
from radpilot.search.models import IngestItem
from radpilot.search.store import ArchiveStore, open_store

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))


def items(src: Path) -> list[IngestItem]:
    out = []
    with src.open() as fh:
        for line in fh:
            o = json.loads(line)
            rec = make_record(
                rid=o["id"],
                text=o["text"],
                patient_id=o["patient_id"],
                study_date=o["study_date"],
                modality=o["modality"],
                body_part=o["body_part"],
            )
            out.append(IngestItem(rec, rec.content_hash(), read_and_analyse(rec.text)))
    return out


def fresh_pg(url: str) -> None:
    """The archive's schema dropped: the next open makes a new, empty archive."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as db:
        db.execute("DROP SCHEMA IF EXISTS archive CASCADE")


def write_rates(
    stores: dict[str, ArchiveStore], todo: list[IngestItem], batch: int
) -> dict[str, float]:
    """Reports/s of ``write_batch`` alone (already read), batch by batch, interleaved."""
    spent = dict.fromkeys(stores, 0.0)
    for start in range(0, len(todo), batch):
        chunk = todo[start : start + batch]
        for name, store in stores.items():
            t0 = time.perf_counter()
            store.write_batch(chunk)
            spent[name] += time.perf_counter() - t0
    return {name: len(todo) / s for name, s in spent.items()}


def latencies(
    stores: dict[str, ArchiveStore], queries: list[str], repeats: int
) -> tuple[dict[str, list[float]], int]:
    """Milliseconds per query per backend, and how many queries answered the same ids
    in the same order on both (text queries: the same ids in any order)."""
    times: dict[str, list[float]] = {n: [] for n in stores}
    same = 0
    for rep in range(repeats + 1):
        for q in queries:
            got = {}
            for name, store in stores.items():
                t0 = time.perf_counter()
                got[name] = [h.report.id for h in search(store, q, limit=20, semantic=False).hits]
                if rep:  # the first pass warms caches
                    times[name].append((time.perf_counter() - t0) * 1000)
            if rep == 0:
                a, b = got.values()
                same += a == b if q not in TEXT_QUERIES else sorted(a) == sorted(b)
    return times, same


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    ap.add_argument("--n", type=int, default=20000, help="reports in each archive")
    ap.add_argument(
        "--pg", default=None, help="an empty PostgreSQL database (default: a temp cluster)"
    )
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--batch", type=int, default=1000)
    ap.add_argument("--ingest-n", type=int, default=3000, help="reports for the whole-ingest rate")
    ap.add_argument("--rounds", type=int, default=3, help="whole-ingest rounds per backend")
    args = ap.parse_args()
    console = Console()
    server = None
    if args.pg is None:
        import pgserver

        got = pgserver.start(durable=True)
        if isinstance(got, str):
            sys.exit(f"no PostgreSQL: {got} (pass --pg URL)")
        server, pg_url = got, got.new_database("bench")
        pg_ingest = got.new_database("bench_ingest")
    else:
        pg_url = pg_ingest = args.pg
    try:
        with tempfile.TemporaryDirectory() as tmp:
            src = Path(tmp) / "reports.jsonl"
            write_reports(src, args.n)
            t0 = time.perf_counter()
            todo = items(src)
            read_s = time.perf_counter() - t0
            stores = {"SQLite": open_store(Path(tmp) / "a.db"), "PostgreSQL": open_store(pg_url)}
            rates = write_rates(stores, todo, args.batch)
            classes = {
                "text": TEXT_QUERIES,
                "finding": FINDING_QUERIES,
                "combined": COMBINED_QUERIES,
            }
            lat = {c: latencies(stores, qs, args.repeats) for c, qs in classes.items()}
            sizes = {n: s.stats().size_bytes for n, s in stores.items()}
            for s in stores.values():
                s.close()
            # The whole ingest (reader + store) into a fresh archive, the backends
            # alternating round by round; the median round of each.
            small = Path(tmp) / "small.jsonl"
            with src.open() as fh, small.open("w") as out:
                out.writelines(line for _, line in zip(range(args.ingest_n), fh, strict=False))
            rounds: dict[str, list[float]] = {"SQLite": [], "PostgreSQL": []}
            for k in range(args.rounds):
                fresh_pg(pg_ingest)
                for name, loc in (
                    ("SQLite", str(Path(tmp) / f"b{k}.db")),
                    ("PostgreSQL", pg_ingest),
                ):
                    store = open_store(loc)
                    summary = ingest_files(store, [small], jobs=1, batch_size=args.batch)
                    rounds[name].append(summary.added / summary.seconds)
                    store.close()
            whole = {name: statistics.median(r) for name, r in rounds.items()}
    finally:
        if server is not None:
            server.stop()
    table = Table(title=f"archive backends, {args.n:,} reports (load {os.getloadavg()[0]:.1f})")
    for col in ("measure", "SQLite", "PostgreSQL", "PostgreSQL / SQLite"):
        table.add_column(col, justify="left" if col == "measure" else "right")
    table.add_row(
        f"write_batch, reports/s (batches of {args.batch})",
        f"{rates['SQLite']:,.0f}",
        f"{rates['PostgreSQL']:,.0f}",
        f"{rates['PostgreSQL'] / rates['SQLite']:.2f}",
    )
    table.add_row(
        f"whole ingest (reader + store, 1 process), reports/s, {args.ingest_n:,} reports, "
        f"median of {args.rounds}",
        f"{whole['SQLite']:,.0f}",
        f"{whole['PostgreSQL']:,.0f}",
        f"{whole['PostgreSQL'] / whole['SQLite']:.2f}",
    )
    for c, (times, same) in lat.items():
        a, b = times["SQLite"], times["PostgreSQL"]
        table.add_row(
            f"{c} queries p50 / p95 ms ({same}/{len(classes[c])} same answers)",
            f"{statistics.median(a):.1f} / {pct(a, 0.95):.1f}",
            f"{statistics.median(b):.1f} / {pct(b, 0.95):.1f}",
            f"{statistics.median(b) / statistics.median(a):.2f} / {pct(b, 0.95) / pct(a, 0.95):.2f}",
        )
    table.add_row(
        "database size, MiB",
        f"{sizes['SQLite'] / 2**20:,.0f}",
        f"{sizes['PostgreSQL'] / 2**20:,.0f}",
        f"{sizes['PostgreSQL'] / sizes['SQLite']:.2f}",
    )
    console.print(table)
    console.print(f"reading {args.n:,} reports (once, shared by both): {read_s:.1f} s")


if __name__ == "__main__":
    main()
