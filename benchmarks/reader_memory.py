"""Peak memory of `radpilot label` on the largest reports it accepts.

Each input is three rows (a short report, the large one, a short one), labelled by the
`radpilot` console script in a fresh process; the peak RSS is that process's
``ru_maxrss`` (read by a wrapper process that runs only it). The large row is:

* a CSV field at the field limit (10,000,000 characters; labelled on its first 100,000);
* a JSONL report of 10,000,000 characters;
* an unquoted CSV line of 60 MB, over the 40,000,000-byte line limit (read on its head,
  then an error row: its one field is over the field limit);

against a CSV of three short reports (the baseline: interpreter, rules, reader).

    .venv/bin/python benchmarks/reader_memory.py [--radpilot .venv/bin/radpilot]
"""

from __future__ import annotations

import argparse
import csv
import json
import subprocess
import sys
import tempfile
from pathlib import Path

_BASE = "Large right pleural effusion. No pneumothorax. "
_WRAPPER = (
    "import resource, subprocess, sys\n"
    "r = subprocess.run(sys.argv[1:], capture_output=True)\n"
    "print(r.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
    "sys.stderr.write(r.stderr.decode(errors='replace'))\n"
)


def _text(n: int) -> str:
    return (_BASE * (n // len(_BASE) + 1))[:n]


def write_input(path: Path, kind: str, n: int) -> None:
    big = _text(n)
    with path.open("w", newline="", encoding="utf-8") as f:
        if kind == "jsonl":
            for t in ("Edema.", big, "No effusion."):
                f.write(json.dumps({"text": t}) + "\n")
        elif kind == "csv":
            csv.writer(f).writerows([["Edema."], [big], ["No effusion."]])
        else:  # an unquoted line: the line limit applies before the field limit
            f.write("Edema.\n" + big + "\nNo effusion.\n")


def measure(radpilot: str, path: Path, out: Path) -> tuple[int, float, str]:
    argv = [radpilot, "label", str(path), "-o", str(out), "-q"]
    done = subprocess.run(
        [sys.executable, "-c", _WRAPPER, *argv], capture_output=True, text=True, check=True
    )
    code, kib = done.stdout.split()
    first = done.stderr.strip().splitlines()[0] if done.stderr.strip() else ""
    return int(code), int(kib) / 1024, first


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--radpilot", default=str(Path(sys.executable).parent / "radpilot"))
    args = ap.parse_args()
    cases = (
        ("three short reports (baseline)", "csv", 100),
        ("CSV field of 10,000,000 characters", "csv", 10_000_000),
        ("JSONL report of 10,000,000 characters", "jsonl", 10_000_000),
        ("CSV line of 60,000,000 bytes", "line", 60_000_000),
    )
    print(f"{'input (3 rows)':40s} {'exit':>4s} {'peak RSS MiB':>12s}  first stderr line")
    with tempfile.TemporaryDirectory() as d:
        for name, kind, n in cases:
            path = Path(d) / f"in.{'jsonl' if kind == 'jsonl' else 'csv'}"
            write_input(path, kind, n)
            code, mib, first = measure(args.radpilot, path, Path(d) / "out.csv")
            print(f"{name:40s} {code:4d} {mib:12.0f}  {first[:110]}")


if __name__ == "__main__":
    main()
