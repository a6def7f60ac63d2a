"""`radpilot label --engine spark` against the single-process CLI on the same N reports.

Input: N reports recombined from the OpenI development split (``../shared/data/openi/
dev_ids.txt``; all OpenI reports where it is absent): FINDINGS of one dev report,
IMPRESSION of another (seeded), each with a distinct id, written once as a CSV with a
header (``id,report``) and as Parquet. Each row is a fresh subprocess, timed wall to wall
(JVM start included); odd rounds run the rows in reverse order, so a trend in the load
from other jobs hits every row alike; the best round of each row is kept:

* ``local``: ``radpilot label IN.csv -o OUT.csv`` (one process, the baseline);
* ``local --jobs 2``: the local engine's worker processes;
* ``spark local[1]`` / ``spark local[2]``: ``--engine spark --master local[K]`` on the CSV
  (read by the driver, staged as Parquet) and on the Parquet copy (read by executors).

Every CSV output must equal the baseline's bytes (labels identical, row for row, rows out
== rows in); Parquet outputs are counted. Ratios are baseline time / row time (higher is
faster). ``uptime`` load is printed before and after.

    .venv/bin/python benchmarks/spark_label.py --n 100000 --rounds 1
    .venv/bin/python benchmarks/spark_label.py --n 500000
"""

from __future__ import annotations

import argparse
import csv
import os
import platform
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

SRC = Path(__file__).resolve().parents[1] / "src"
DEV_IDS = Path(__file__).resolve().parents[2] / "shared" / "data" / "openi" / "dev_ids.txt"


def dev_reports() -> tuple[list[tuple[str, str]], str]:
    from radpilot.reports.openi import iter_reports

    reps = [r for r in iter_reports() if r.findings and r.impression]
    if DEV_IDS.is_file():
        dev = {line.strip() for line in DEV_IDS.read_text().split() if line.strip()}
        reps = [r for r in reps if str(r.id) in dev]
        return [(r.findings, r.impression) for r in reps], f"OpenI dev split ({len(reps)} reports)"
    return [(r.findings, r.impression) for r in reps], f"all OpenI ({len(reps)} reports)"


def write_inputs(folder: Path, n: int, seed: int = 0) -> tuple[Path, Path, str]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    reps, where = dev_reports()
    rng = random.Random(seed)
    ids, texts = [], []
    for i in range(n):
        a, b = rng.choice(reps), rng.choice(reps)
        ids.append(f"R{i + 1}")
        texts.append(f"FINDINGS: {a[0]}\nIMPRESSION: {b[1]}")
    src_csv = folder / "in.csv"
    with src_csv.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["id", "report"])
        w.writerows(zip(ids, texts, strict=True))
    src_pq = folder / "in_parquet"
    src_pq.mkdir()
    step = max(1, n // 16)  # 16 files: Spark spreads files over its tasks
    for k in range(0, n, step):
        table = pa.table({"id": ids[k : k + step], "report": texts[k : k + step]})
        pq.write_table(table, src_pq / f"part-{k // step:05d}.parquet", row_group_size=4096)
    return src_csv, src_pq, where


def run(cmd: list[str]) -> tuple[float, int]:
    env = {**os.environ, "PYTHONPATH": str(SRC), "OMP_NUM_THREADS": "1"}
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    wall = time.perf_counter() - t0
    if proc.returncode not in (0, 1):
        sys.stderr.write(proc.stderr.decode(errors="replace")[-3000:])
        raise SystemExit(f"failed: {' '.join(cmd)}")
    return wall, proc.returncode


def count_csv(path: Path) -> int:
    with path.open(newline="", encoding="utf-8") as fh:
        return sum(1 for _ in csv.reader(fh)) - 1


def count_parquet(path: Path) -> int:
    import pyarrow.parquet as pq

    return sum(pq.ParquetFile(f).metadata.num_rows for f in path.glob("*.parquet"))


def load() -> str:
    return ", ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--skip", default="", help="row names to leave out, separated by ';'")
    args = ap.parse_args()
    console = Console(width=150)
    py = [sys.executable, "-m", "radpilot.cli", "label"]
    with tempfile.TemporaryDirectory(prefix="spark-bench-") as tmp:
        folder = Path(tmp)
        src_csv, src_pq, where = write_inputs(folder, args.n)
        rows: dict[str, list[str]] = {
            "local (1 process)": [*py, str(src_csv), "-o", "{out}.csv", "-q"],
            "local --jobs 2": [*py, str(src_csv), "-o", "{out}.csv", "-q", "--jobs", "2"],
            "spark local[1], CSV in/out": [
                *py,
                str(src_csv),
                "-o",
                "{out}.csv",
                "-q",
                "--engine",
                "spark",
                "--master",
                "local[1]",
            ],
            "spark local[2], CSV in/out": [
                *py,
                str(src_csv),
                "-o",
                "{out}.csv",
                "-q",
                "--engine",
                "spark",
                "--master",
                "local[2]",
            ],
            "spark local[1], Parquet in/out": [
                *py,
                str(src_pq),
                "-o",
                "{out}.parquet",
                "-q",
                "--engine",
                "spark",
                "--master",
                "local[1]",
            ],
            "spark local[2], Parquet in/out": [
                *py,
                str(src_pq),
                "-o",
                "{out}.parquet",
                "-q",
                "--engine",
                "spark",
                "--master",
                "local[2]",
            ],
        }
        skip = {s.strip() for s in args.skip.split(";") if s.strip()}  # names hold commas
        rows = {k: v for k, v in rows.items() if k not in skip}
        times: dict[str, list[float]] = {k: [] for k in rows}
        checks: dict[str, str] = {}
        before = load()
        for rnd in range(args.rounds):
            # odd rounds run the rows in reverse: a load trend hits every row alike
            order = list(rows.items()) if rnd % 2 == 0 else list(reversed(rows.items()))
            for name, cmd in order:
                i = list(rows).index(name)
                out = folder / f"out{i}_{rnd}"
                wall, _ = run([c.replace("{out}", str(out)) for c in cmd])
                times[name].append(wall)
                if cmd[-1] != "-q" and "parquet" in cmd[cmd.index("-o") + 1]:
                    got = count_parquet(Path(f"{out}.parquet"))
                    checks[name] = f"rows out {got:,}" + (" == in" if got == args.n else " != in!")
                else:
                    got = count_csv(Path(f"{out}.csv"))
                    base = folder / "out0_0.csv"
                    same = Path(f"{out}.csv").read_bytes() == base.read_bytes()
                    checks[name] = f"rows out {got:,}" + (" == in" if got == args.n else " != in!")
                    checks[name] += ", bytes == local" if same else ", bytes DIFFER from local!"
                console.print(f"  {name}: {wall:.1f} s (round {rnd + 1})", highlight=False)
        after = load()
    base = min(times[next(iter(times))])
    table = Table(
        title=f"radpilot label on {args.n:,} reports recombined from {where}; "
        f"{os.cpu_count()} CPUs ({platform.processor() or platform.machine()}), "
        f"load {before} -> {after}; best of {args.rounds}",
        title_justify="left",
    )
    for col in ("engine", "wall s", "reports/s", "vs local", "check"):
        table.add_column(col, justify="left" if col in ("engine", "check") else "right")
    for name, ts in times.items():
        t = min(ts)
        table.add_row(name, f"{t:.1f}", f"{args.n / t:,.0f}", f"{base / t:.2f}x", checks[name])
    console.print(table)


if __name__ == "__main__":
    main()
