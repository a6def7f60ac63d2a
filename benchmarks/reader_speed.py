"""Report reader speed and memory: one core, and the real `radpilot label` path.

Part 1 (one core, in process): reports/s of ``read()`` + CheXpert labels on OpenI texts
(repeated), against two baselines timed in the same run: a naive keyword matcher with a
crude "no ... before the term" negation, and a plain ``csv`` read+write of the same texts.

Part 2 (the CLI path): N recombined OpenI reports (FINDINGS of one report, IMPRESSION of
another, seeded) are written to a temporary headerless CSV and labelled by
``python -m radpilot.cli label IN -o OUT --jobs J --quiet`` in a subprocess, while the RSS
of the whole process tree (parent, forkserver, workers; summed, so shared pages count
twice: an upper bound) is sampled from /proc. Baseline: a subprocess that only copies the
CSV with the ``csv`` module. Rows out are counted and must equal rows in.

    .venv/bin/python benchmarks/reader_speed.py                       # one core + 100k
    .venv/bin/python benchmarks/reader_speed.py --sizes 100000,1000000 --jobs 2
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import platform
import random
import re
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from rich.console import Console
from rich.table import Table

KEYWORDS = {
    "Enlarged Cardiomediastinum": ("mediastinum", "mediastinal"),
    "Cardiomegaly": ("cardiomegaly", "heart size is enlarged", "enlarged heart"),
    "Lung Lesion": ("nodule", "mass", "lesion"),
    "Lung Opacity": ("opacity", "opacities", "infiltrate"),
    "Edema": ("edema", "congestion"),
    "Consolidation": ("consolidation",),
    "Pneumonia": ("pneumonia",),
    "Atelectasis": ("atelectasis",),
    "Pneumothorax": ("pneumothorax",),
    "Pleural Effusion": ("effusion",),
    "Pleural Other": ("pleural thickening",),
    "Fracture": ("fracture",),
    "Support Devices": ("tube", "catheter", "pacemaker", "line"),
}
_SENT = re.compile(r"[^.]+")


def naive_labels(text: str) -> dict[str, float | None]:
    """The baseline: keyword present -> 1.0, with 'no' earlier in its sentence -> 0.0."""
    out: dict[str, float | None] = dict.fromkeys(KEYWORDS)
    for sent in _SENT.findall(text.lower()):
        for name, words in KEYWORDS.items():
            for w in words:
                i = sent.find(w)
                if i >= 0:
                    out[name] = 0.0 if " no " in f" {sent[:i]}" else 1.0
    out["No Finding"] = None if any(v == 1.0 for v in out.values()) else 1.0
    return out


def openi_texts() -> list[str]:
    from radpilot.reports.openi import iter_reports

    return [r.text for r in iter_reports() if r.text.strip()]


def time_per_report(fn: Callable[[str], object], texts: Sequence[str]) -> tuple[float, float]:
    """(reports per wall second, reports per CPU second of this process)."""
    t0, c0 = time.perf_counter(), time.process_time()
    for t in texts:
        fn(t)
    return len(texts) / (time.perf_counter() - t0), len(texts) / (time.process_time() - c0)


def csv_roundtrip_rate(texts: Sequence[str]) -> tuple[float, float]:
    buf = io.StringIO()
    csv.writer(buf).writerows([t] for t in texts)
    t0, c0 = time.perf_counter(), time.process_time()
    out = io.StringIO()
    w = csv.writer(out)
    for row in csv.reader(io.StringIO(buf.getvalue())):
        w.writerow([row[0], *[""] * 14])
    return len(texts) / (time.perf_counter() - t0), len(texts) / (time.process_time() - c0)


def single_core(console: Console, n: int) -> None:
    import radpilot.reports.labels as labels
    from radpilot.reports import read

    base = openi_texts()
    texts = (base * (n // len(base) + 1))[:n]
    avg = sum(map(len, base)) / len(base)
    read(texts[0])  # load vocabularies before timing

    def reader(t: str) -> object:
        return labels.chexpert(read(t))

    rates = {
        "radpilot read() + chexpert()": time_per_report(reader, texts),
        "baseline: naive keyword matcher": time_per_report(naive_labels, texts),
        "baseline: csv read+write only": csv_roundtrip_rate(texts),
    }
    table = Table(
        title=f"One core, in process: {n:,} OpenI texts (avg {avg:.0f} chars)", title_justify="left"
    )
    for col in ("what", "reports/s (wall)", "reports/CPU-s", "radpilot / this (CPU)"):
        table.add_column(col, justify="left" if col == "what" else "right")
    ours = rates["radpilot read() + chexpert()"][1]
    for what, (wall, cpu) in rates.items():
        table.add_row(what, f"{wall:,.0f}", f"{cpu:,.0f}", f"{ours / cpu:.3f}x")
    console.print(table)


def write_recombined(path: Path, n: int, seed: int = 0) -> int:
    from radpilot.reports.openi import iter_reports

    reps = [r for r in iter_reports() if r.findings and r.impression]
    rng = random.Random(seed)
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        for _ in range(n):
            a, b = rng.choice(reps), rng.choice(reps)
            w.writerow([f"FINDINGS: {a.findings}\nIMPRESSION: {b.impression}"])
    return path.stat().st_size


_TICK = os.sysconf("SC_CLK_TCK")


def _tree_sample(root: int, cpu: dict[int, float]) -> int:
    """Summed RSS (KiB) of ``root`` and its descendants; updates ``cpu`` (pid -> CPU s)."""
    children: dict[int, list[int]] = {}
    stats: dict[int, list[str]] = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        stats[int(d)] = fields
        children.setdefault(int(fields[1]), []).append(int(d))
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        todo.extend(children.get(pid, ()))
        if pid in stats:  # utime + stime, fields 14 and 15 of /proc/PID/stat
            cpu[pid] = (int(stats[pid][11]) + int(stats[pid][12])) / _TICK
        try:
            with open(f"/proc/{pid}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
        except OSError:
            pass
    return total


def run_measured(cmd: list[str]) -> tuple[float, int, float, int]:
    """Wall seconds, peak tree RSS in KiB, CPU seconds of the tree (sampled), exit code."""
    peak = 0
    cpu: dict[int, float] = {}
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, _tree_sample(proc.pid, cpu))
            done.wait(0.25)

    th = threading.Thread(target=sample, daemon=True)
    th.start()
    _, err = proc.communicate()
    wall = time.perf_counter() - t0
    done.set()
    th.join()
    if proc.returncode:
        sys.stderr.write(err.decode(errors="replace")[-2000:])
    return wall, peak, sum(cpu.values()), proc.returncode


COPY = (
    "import csv,sys\n"
    "w=csv.writer(open(sys.argv[2],'w',newline=''),lineterminator='\\n')\n"
    "for r in csv.reader(open(sys.argv[1],newline='')): w.writerow([r[0]]+['']*14)\n"
)


def count_rows(path: Path) -> int:
    with path.open(newline="", encoding="utf-8") as f:
        return sum(1 for _ in csv.reader(f)) - 1  # minus the header


def cli_path(console: Console, sizes: Sequence[int], jobs: int) -> None:
    table = Table(
        title=f"`radpilot label --jobs {jobs}` on recombined OpenI reports (headerless CSV)",
        title_justify="left",
    )
    for col in (
        "reports",
        "input MB",
        "wall s",
        "reports/s",
        "CPU s (all procs)",
        "reports/CPU-s",
        "peak RSS MB (all procs)",
        "csv copy s",
        "label / copy",
        "rows out",
        "load at start",
    ):
        table.add_column(col, justify="right")
    with tempfile.TemporaryDirectory(prefix="radpilot-bench-") as tmp:
        for n in sizes:
            src, dst, cp = Path(tmp, f"in{n}.csv"), Path(tmp, f"out{n}.csv"), Path(tmp, "copy.csv")
            size = write_recombined(src, n)
            copy_s, _, _, _ = run_measured([sys.executable, "-c", COPY, str(src), str(cp)])
            cmd = [sys.executable, "-m", "radpilot.cli", "label", str(src), "-o", str(dst)]
            load = os.getloadavg()[0]
            wall, peak, cpu_s, rc = run_measured([*cmd, "--jobs", str(jobs), "--quiet"])
            rows = count_rows(dst) if rc == 0 else -1
            table.add_row(
                f"{n:,}",
                f"{size / 1e6:,.0f}",
                f"{wall:,.1f}",
                f"{n / wall:,.0f}",
                f"{cpu_s:,.0f}",
                f"{n / cpu_s:,.0f}" if cpu_s else "-",
                f"{peak / 1024:,.0f}",
                f"{copy_s:,.1f}",
                f"{wall / copy_s:.1f}x",
                f"{rows:,}" + ("" if rows == n else " MISMATCH"),
                f"{load:.1f}",
            )
            for p in (src, dst, cp):
                p.unlink(missing_ok=True)
    console.print(table)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--single", type=int, default=20_000, help="reports for the one-core part")
    ap.add_argument("--sizes", default="100000", help="comma-separated CLI sizes ('' to skip)")
    ap.add_argument("--jobs", type=int, default=2)
    args = ap.parse_args()
    console = Console(width=140)
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    console.print(
        f"machine: {os.cpu_count()}-core {platform.machine()}, {mem:.0f} GiB, CPU only; "
        f"Python {platform.python_version()}; load {os.getloadavg()[0]:.2f}",
        highlight=False,
    )
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    if args.single:
        single_core(console, args.single)
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    if sizes:
        cli_path(console, sizes, args.jobs)


if __name__ == "__main__":
    main()
