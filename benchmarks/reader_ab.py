"""A/B of ``read()`` CPU time: this checkout's ``src`` against another's, interleaved.

Each round runs one fresh process per side (so the sentence memo starts cold) that reads all
OpenI reports with text once and prints its process CPU time per report; the sides alternate,
so both see the same load. Prints best-of and median per side and the ratio this / base
(above 1: this is slower).

    PYTHONPATH=$PWD/src .venv/bin/python benchmarks/reader_ab.py --base ../wt-base/src --rounds 8
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
from pathlib import Path

_CHILD = """
import time
from radpilot.reports import read
from radpilot.reports.openi import iter_reports
texts = [r.text for r in iter_reports() if r.text]
read("No effusion.")
t0 = time.process_time()
for t in texts:
    read(t)
print((time.process_time() - t0) * 1000 / len(texts))
"""


def _one(src: Path) -> float:
    env = dict(os.environ, PYTHONPATH=str(src), OMP_NUM_THREADS="1")
    out = subprocess.run(
        [sys.executable, "-c", _CHILD], env=env, capture_output=True, text=True, check=True
    )
    return float(out.stdout.strip())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--base", type=Path, required=True, help="the other checkout's src folder")
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    this = Path(__file__).resolve().parent.parent / "src"
    res: dict[str, list[float]] = {"this": [], "base": []}
    load = [os.getloadavg()[0]]
    for _ in range(args.rounds):
        res["base"].append(_one(args.base))
        res["this"].append(_one(this))
        load.append(os.getloadavg()[0])
    print(
        f"read() over the OpenI reports, {args.rounds} rounds, load {min(load):.1f}-{max(load):.1f}"
    )
    print(f"{'side':6s} {'best ms/report':>15s} {'median':>8s}")
    for side, v in res.items():
        print(f"{side:6s} {min(v):15.4f} {statistics.median(v):8.4f}")
    best = min(res["this"]) / min(res["base"])
    med = statistics.median(res["this"]) / statistics.median(res["base"])
    print(f"this / base: best {best:.3f}, median {med:.3f}")


if __name__ == "__main__":
    main()
