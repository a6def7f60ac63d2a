"""Report reader speed and memory: one core, and the real `radpilot label` path.

Part 1 (one core, in process): reports/s of ``read()`` + CheXpert labels on OpenI texts
(repeated), against two baselines timed in the same run: a naive keyword matcher with a
crude "no ... before the term" negation, and a plain ``csv`` read+write of the same texts.

The reader reads each distinct sentence once per process (``reports.sentencememo``), so
the one-core part also times one pass over the distinct reports in a fresh process (the
memo holds only what repeats inside OpenI itself), beside the repeated texts. Each distinct
section is read once too (``reports.sectionmemo``): the recombined reports of part 2 are
distinct texts, but each of their sections recurs (100,000 reports drawn from 2,627
distinct FINDINGS and 1,402 distinct IMPRESSION sections), so part 2 times a corpus that
repeats its sections; the distinct reports once are the rate for one that repeats little.
``--sentences N`` times a third regime between the two: N reports recombined sentence by
sentence (``write_sentence_recombined``), whose sentences recur as OpenI's do but whose
sections almost never do (20,000 such reports hold 19,991 distinct FINDINGS sections).

Part 2 (the CLI path): N recombined OpenI reports (FINDINGS of one report, IMPRESSION of
another, seeded) are written to a temporary headerless CSV (and the same as JSONL) and
labelled by ``python -m radpilot.cli label IN -o OUT --jobs J --quiet`` in a subprocess,
while the RSS of the whole process tree (parent, forkserver, workers; summed, so shared
pages count twice: an upper bound) is sampled from /proc. Rows: start-up (a one-row file),
one process, ``--jobs J``, and JSONL in -> JSONL out (every mention). One more row times
the distinct OpenI reports once (3,927 texts, best of three): the honest rate for a corpus
whose sections do not repeat, also shown past the start-up (wall minus the one-report
run's). Baseline: a
subprocess that only copies the CSV with the ``csv`` module. Rows out are counted and must
equal rows in. ``--base DIR`` (a checkout of another commit, e.g. ``git worktree add
--detach ../base 10c8483``) runs every CLI row with that checkout's ``src`` too,
interleaved, which one goes first alternating from run to run (the second of two runs
back to back finds warmer caches), and prints this / base.

    .venv/bin/python benchmarks/reader_speed.py                       # one core + 100k
    .venv/bin/python benchmarks/reader_speed.py --sizes 100000,1000000 --jobs 2
    .venv/bin/python benchmarks/reader_speed.py --single 0 --base ../wt-base
"""

from __future__ import annotations

import argparse
import csv
import io
import json
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
from dataclasses import dataclass
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


FIRST_PASS = (
    "import sys, time\n"
    "from radpilot.reports import read\n"
    "from radpilot.reports.labels import chexpert\n"
    "from radpilot.reports.openi import iter_reports\n"
    "texts = [r.text for r in iter_reports() if r.text.strip()]\n"
    "n = int(sys.argv[1])\n"
    "if n: texts = (texts * (n // len(texts) + 1))[:n]\n"
    "read('FINDINGS: no effusion.')\n"
    "t0, c0 = time.perf_counter(), time.process_time()\n"
    "for t in texts: chexpert(read(t))\n"
    "print(len(texts) / (time.perf_counter() - t0), len(texts) / (time.process_time() - c0))\n"
)


def first_pass_rate(src: Path, n: int = 0) -> tuple[float, float]:
    """Reports/s in a fresh process running ``src``: over the distinct OpenI reports once
    (``n`` = 0), or over ``n`` of them repeated."""
    out = subprocess.run(
        [sys.executable, "-c", FIRST_PASS, str(n)], env=_env(src), capture_output=True, text=True
    )
    wall, cpu = out.stdout.split()
    return float(wall), float(cpu)


def single_core(console: Console, n: int, base: Path | None = None) -> None:
    import radpilot.reports.labels as labels
    from radpilot.reports import read

    texts0 = openi_texts()
    texts = (texts0 * (n // len(texts0) + 1))[:n]
    avg = sum(map(len, texts0)) / len(texts0)
    read(texts[0])  # load vocabularies before timing

    def reader(t: str) -> object:
        return labels.chexpert(read(t))

    rates = {"radpilot read() + chexpert(), repeated texts": time_per_report(reader, texts)}
    if base is not None:  # both in fresh processes, interleaved
        rates["same, fresh process"] = first_pass_rate(SRC, n)
        rates["base: same, fresh process"] = first_pass_rate(base / "src", n)
    rates["radpilot, distinct reports once (fresh process)"] = first_pass_rate(SRC)
    if base is not None:
        rates["base: distinct reports once (fresh process)"] = first_pass_rate(base / "src")
    rates["baseline: naive keyword matcher"] = time_per_report(naive_labels, texts)
    rates["baseline: csv read+write only"] = csv_roundtrip_rate(texts)
    table = Table(
        title=f"One core, in process: {n:,} OpenI texts (avg {avg:.0f} chars)", title_justify="left"
    )
    for col in ("what", "reports/s (wall)", "reports/CPU-s", "radpilot / this (CPU)"):
        table.add_column(col, justify="left" if col == "what" else "right")
    ours = rates["radpilot read() + chexpert(), repeated texts"][1]
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


def write_sentence_recombined(path: Path, n: int, seed: int = 0) -> int:
    """N reports made of OpenI sentences: each takes a random report's number of FINDINGS and
    IMPRESSION sentences and fills them with sentences drawn from all OpenI FINDINGS (and
    IMPRESSION) sentences, so a sentence recurs as often as it does in OpenI, as the common
    ones do in a large corpus, while a whole section almost never recurs (the section memo
    seldom hits; the sentence memo does)."""
    from radpilot.reports.openi import iter_reports
    from radpilot.reports.sections import split_sentences

    findings: list[str] = []
    impressions: list[str] = []
    shapes: list[tuple[int, int]] = []
    for r in iter_reports():
        if not (r.findings and r.impression):
            continue
        f = [s.text for s in split_sentences(r.findings)]
        i = [s.text for s in split_sentences(r.impression)]
        findings += f
        impressions += i
        shapes.append((len(f), len(i)))
    rng = random.Random(seed)
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        for _ in range(n):
            k, m = rng.choice(shapes)
            body = " ".join(rng.choice(findings) for _ in range(k))
            impression = " ".join(rng.choice(impressions) for _ in range(m))
            w.writerow([f"FINDINGS: {body}\nIMPRESSION: {impression}"])
    return path.stat().st_size


def write_distinct(path: Path) -> int:
    """The distinct OpenI reports, each once, as the CheXpert labeler's headerless CSV."""
    with path.open("w", newline="", encoding="utf-8") as f:
        csv.writer(f, lineterminator="\n").writerows([t] for t in openi_texts())
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


SRC = Path(__file__).resolve().parents[1] / "src"


def _env(src: Path) -> dict[str, str]:
    """The environment that runs ``radpilot`` from the checkout ``src`` belongs to."""
    return {**os.environ, "PYTHONPATH": str(src), "OMP_NUM_THREADS": "1"}


def run_measured(cmd: list[str], src: Path = SRC) -> tuple[float, int, float, int]:
    """Wall seconds, peak tree RSS in KiB, CPU seconds of the tree (sampled), exit code."""
    peak = 0
    cpu: dict[int, float] = {}
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=_env(src))
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, _tree_sample(proc.pid, cpu))
            done.wait(0.1)

    th = threading.Thread(target=sample, daemon=True)
    th.start()
    _, err = proc.communicate()
    wall = time.perf_counter() - t0
    done.set()
    th.join()
    if proc.returncode not in (0, 1):
        sys.stderr.write(err.decode(errors="replace")[-2000:])
    return wall, peak, sum(cpu.values()), proc.returncode


COPY = (
    "import csv,sys\n"
    "w=csv.writer(open(sys.argv[2],'w',newline=''),lineterminator='\\n')\n"
    "for r in csv.reader(open(sys.argv[1],newline='')): w.writerow([r[0]]+['']*14)\n"
)


def count_rows(path: Path, jsonl: bool) -> int:
    with path.open(newline="", encoding="utf-8") as f:
        if jsonl:
            return sum(1 for _ in f)
        return sum(1 for _ in csv.reader(f)) - 1  # minus the header


def write_jsonl(src: Path, dst: Path) -> None:
    with src.open(newline="", encoding="utf-8") as f, dst.open("w", encoding="utf-8") as out:
        for i, row in enumerate(csv.reader(f), start=1):
            out.write(json.dumps({"id": f"R{i}", "text": row[0]}) + "\n")


@dataclass
class CliRow:
    what: str
    n: int
    args: list[str]
    jsonl: bool = False
    distinct: bool = False  # the distinct OpenI reports once, not recombined ones
    by_sentence: bool = False  # recombined sentence by sentence, not section by section


def _cli_cells(
    row: CliRow, src_file: Path, dst: Path, src: Path
) -> tuple[float, float, float, int, int, float]:
    """(wall s, CPU s, peak MB, rows out, exit code, load at start) for one labelling run."""
    load = os.getloadavg()[0]
    cmd = [sys.executable, "-m", "radpilot.cli", "label", str(src_file), "-o", str(dst)]
    wall, peak, cpu_s, rc = run_measured([*cmd, *row.args, "--quiet"], src)
    rows = count_rows(dst, row.jsonl) if rc in (0, 1) else -1
    dst.unlink(missing_ok=True)
    return wall, cpu_s, peak / 1024, rows, rc, load


def _input(tmp: Path, row: CliRow) -> tuple[Path, float]:
    """The input file of a row (written once per size) and its csv-copy seconds."""
    name = "distinct" if row.distinct else "sentences" if row.by_sentence else "in"
    path = tmp / f"{name}{row.n}.csv"
    if not path.exists():
        if row.distinct:
            write_distinct(path)
        elif row.by_sentence:
            write_sentence_recombined(path, row.n)
        else:
            write_recombined(path, row.n)
    copy_s = run_measured([sys.executable, "-c", COPY, str(path), str(tmp / "copy.csv")])[0]
    if row.jsonl:
        jpath = tmp / f"in{row.n}.jsonl"
        write_jsonl(path, jpath)
        return jpath, copy_s
    return path, copy_s


def cli_path(
    console: Console,
    sizes: Sequence[int],
    jobs: int,
    jsonl_n: int,
    base: Path | None,
    distinct: bool = True,
    by_sentence: int = 0,
) -> None:
    title = f"`radpilot label` on OpenI reports, in a subprocess (jobs={jobs})"
    table = Table(title=title, title_justify="left")
    cols = ["what", "code", "reports", "wall s", "reports/s", "reports/s past start-up"]
    cols += ["CPU s (all procs)"]
    cols += ["reports/CPU-s", "peak RSS MB", "label / csv copy", "rows out", "load"]
    if base is not None:
        cols.append("this / base (reports/s)")
    for col in cols:
        table.add_column(col, justify="left" if col in ("what", "code") else "right")
    trees = [("this", SRC)] + ([("base", base / "src")] if base is not None else [])
    with tempfile.TemporaryDirectory(prefix="radpilot-bench-") as tmp:
        one = Path(tmp, "one.csv")
        one.write_text("FINDINGS: No pneumothorax.\n", encoding="utf-8")
        rows = [CliRow("start-up (1 report)", 1, ["--jobs", "1"])]
        if distinct:
            n_distinct = len(openi_texts())
            what = "csv, one process, distinct reports once"
            rows.append(CliRow(what, n_distinct, ["--jobs", "1"], distinct=True))
        if by_sentence:
            what = "csv, one process, recombined by sentence"
            rows.append(CliRow(what, by_sentence, ["--jobs", "1"], by_sentence=True))
        for n in sizes:
            rows.append(CliRow("csv, one process", n, ["--jobs", "1"]))
            rows.append(CliRow(f"csv, --jobs {jobs}", n, ["--jobs", str(jobs)]))
        if jsonl_n:
            rows.append(CliRow("jsonl -> jsonl, one process", jsonl_n, ["--format", "jsonl"], True))
        inputs: dict[tuple[int, bool, bool, bool], tuple[Path, float]] = {}
        startup: dict[str, float] = {}  # tree -> best start-up wall s
        for r_i, row in enumerate(rows):
            key = (row.n, row.jsonl, row.distinct, row.by_sentence)
            if key not in inputs:
                inputs[key] = (one, 0.0) if row.n == 1 else _input(Path(tmp), row)
            src_file, copy_s = inputs[key]
            rates: dict[str, float] = {}
            reps = 3 if row.n == 1 or row.distinct else 1
            for rep in range(reps):  # interleaved, the order alternating: this, base, base, this
                for name, src in trees if (r_i + rep) % 2 == 0 else trees[::-1]:
                    cells = _cli_cells(row, src_file, Path(tmp, "out"), src)
                    wall, cpu_s, peak, out_rows, _rc, load = cells
                    if name in rates and rates[name] >= row.n / wall:
                        continue  # short rows: the best of three
                    rates[name] = row.n / wall
                    if row.n == 1:
                        startup[name] = wall
                    net = row.n / (wall - startup[name]) if row.n > 1 else None
                    line = [
                        row.what,
                        name,
                        f"{row.n:,}",
                        f"{wall:,.2f}" if row.n == 1 else f"{wall:,.1f}",
                        f"{row.n / wall:,.0f}",
                        f"{net:,.0f}" if net else "-",
                        f"{cpu_s:,.1f}",
                        f"{row.n / cpu_s:,.0f}" if cpu_s else "-",
                        f"{peak:,.0f}",
                        f"{wall / copy_s:.1f}x" if copy_s else "-",
                        f"{out_rows:,}" + ("" if out_rows == row.n else " MISMATCH"),
                        f"{load:.1f}",
                    ]
                    if name == "this":
                        this_line = line
                    else:
                        base_line = line
            table.add_row(*this_line, *([f"{rates['this'] / rates['base']:.2f}x"] if base else []))
            if base is not None:
                table.add_row(*base_line, "")
    console.print(table)


def _build_of(src: Path) -> str:
    """Which build of the reader a checkout's ``src`` imports: compiled or source
    (radpilot.reports.native; a checkout from before it has only the source)."""
    code = (
        "import radpilot.reports as r, sys; print(getattr(r, 'native', None) and r.native.mode())"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], env=_env(src), capture_output=True, text=True
    )
    mode = out.stdout.strip()
    return "compiled (mypyc)" if mode == "compiled" else "from its sources"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--single", type=int, default=20_000, help="reports for the one-core part")
    ap.add_argument("--sizes", default="100000", help="comma-separated CLI sizes ('' to skip)")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--jsonl", type=int, default=20_000, help="reports for the JSONL row (0: skip)")
    ap.add_argument("--base", type=Path, help="another checkout to time the CLI rows against")
    ap.add_argument(
        "--distinct",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="time `radpilot label` on the distinct OpenI reports once (best of three)",
    )
    ap.add_argument(
        "--sentences",
        type=int,
        default=0,
        help="time `radpilot label` on N reports recombined sentence by sentence (0: skip)",
    )
    args = ap.parse_args()
    console = Console(width=140)
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    console.print(
        f"machine: {os.cpu_count()}-core {platform.machine()}, {mem:.0f} GiB, CPU only; "
        f"Python {platform.python_version()}; load {os.getloadavg()[0]:.2f}",
        highlight=False,
    )
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    for name, src in [
        ("this checkout", SRC),
        *([("base", args.base / "src")] if args.base else []),
    ]:
        console.print(f"{name}: the reader runs {_build_of(src)}", highlight=False)
    if args.single:
        single_core(console, args.single, args.base)
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    if sizes or args.jsonl or args.distinct or args.sentences:
        cli_path(console, sizes, args.jobs, args.jsonl, args.base, args.distinct, args.sentences)


if __name__ == "__main__":
    main()
