"""Are `radpilot label`'s outputs byte-identical to another checkout's? (speed work's check)

Labels the same inputs with this checkout's ``src`` and with ``--base DIR``'s (a second
checkout, e.g. ``git worktree add --detach $(mktemp -d)/base main``), each in its own
subprocess, and compares every output file and stderr with ``cmp``-like byte equality.
Inputs: the 3,955 OpenI reports from torchxrayvision's ``.tgz`` (CSV and JSONL out, the
``chexpert`` uncertainty policy, ChestX-ray14), and N recombined OpenI reports (FINDINGS
of one report, IMPRESSION of another, as ``reader_speed.py`` writes them) as CSV and JSONL
in, one process and ``--jobs 2``. Prints one line per comparison (never report text);
exits 1 when any differs.

    .venv/bin/python benchmarks/label_identical.py --base $BASE --recombined 100000
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from reader_speed import SRC, write_jsonl, write_recombined


def _tgz() -> Path:
    import torchxrayvision

    return Path(torchxrayvision.__file__).parent / "data" / "NLMCXR_reports.tgz"


def _run(src: Path, args: list[str], out: Path) -> bytes:
    """Label with checkout ``src``; returns stderr (the output lands in ``out``)."""
    env = {**os.environ, "PYTHONPATH": str(src), "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "radpilot.cli", "label", *args, "-o", str(out), "--quiet"]
    proc = subprocess.run(cmd, env=env, capture_output=True)
    if proc.returncode not in (0, 1):
        sys.stderr.write(proc.stderr.decode(errors="replace")[-2000:])
    return proc.stderr + f"\nexit {proc.returncode}".encode()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--base", type=Path, required=True, help="the other checkout")
    ap.add_argument("--recombined", type=int, default=20_000, help="recombined reports (0: none)")
    args = ap.parse_args()
    differ = 0
    with tempfile.TemporaryDirectory(prefix="radpilot-same-") as tmp:
        tgz = str(_tgz())
        cases: list[tuple[str, list[str]]] = [
            ("openi csv", [tgz]),
            ("openi jsonl", [tgz, "--format", "jsonl"]),
            ("openi csv --uncertainty chexpert", [tgz, "--uncertainty", "chexpert"]),
            ("openi jsonl chestxray14", [tgz, "--format", "jsonl", "--labels", "chestxray14"]),
        ]
        if args.recombined:
            csv_in = Path(tmp, "rec.csv")
            write_recombined(csv_in, args.recombined)
            jsonl_in = Path(tmp, "rec.jsonl")
            write_jsonl(csv_in, jsonl_in)
            n = f"{args.recombined:,} recombined"
            cases += [
                (f"{n} csv", [str(csv_in)]),
                (f"{n} csv --jobs 2", [str(csv_in), "--jobs", "2"]),
                (f"{n} jsonl -> jsonl", [str(jsonl_in), "--format", "jsonl"]),
            ]
        for what, case in cases:
            mine, theirs = Path(tmp, "this.out"), Path(tmp, "base.out")
            err_mine = _run(SRC, case, mine)
            err_theirs = _run(args.base / "src", case, theirs)
            same = mine.read_bytes() == theirs.read_bytes() and err_mine == err_theirs
            differ += not same
            size = mine.stat().st_size
            print(f"{'same  ' if same else 'DIFFER'} {what} ({size:,} bytes)", flush=True)
    sys.exit(1 if differ else 0)


if __name__ == "__main__":
    main()
