"""DICOM ingest through radpilot's Storage SCP on loopback: a modality sends N CR instances
on one association; time until the last is acknowledged (each durable on disk first) and
until the last is analysed (embedded model, SR written). A/B, interleaved round by round:
the analysis thread taking the queued instances together (up to 8 per pipeline call) vs
one at a time.

    PYTHONPATH=src python benchmarks/dicom_ingest.py [--instances 24] [--repeats 3]

Prints a table; every figure is a median over the rounds, with the uptime load beside it.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from pynetdicom import AE

from dicom_cases import CR, radiograph
from radpilot.server.dicom_scp import ScpConfig, start_scp

EXPLICIT = "1.2.840.10008.1.2.1"


def one_round(batch: int, n: int) -> tuple[float, float]:
    """(seconds until all acknowledged, seconds until all analysed)."""
    datasets = [radiograph(seed=i, size=256) for i in range(n)]
    with tempfile.TemporaryDirectory() as tmp:
        handle = start_scp(ScpConfig(store_dir=Path(tmp), port=0, analysis_batch=batch))
        try:
            # the model loads on the first instance: load it before the clock starts
            warm = radiograph(seed=999, size=256)
            _send(handle.port, [warm])
            handle.wait_idle(300)
            t0 = time.perf_counter()
            _send(handle.port, datasets)
            acked = time.perf_counter() - t0
            assert handle.wait_idle(600)
            analysed = time.perf_counter() - t0
        finally:
            handle.stop()
    return acked, analysed


def _send(port: int, datasets: list[object]) -> None:
    ae = AE(ae_title="BENCH")
    ae.add_requested_context(CR, [EXPLICIT])
    assoc = ae.associate("127.0.0.1", port, ae_title="RADPILOT")
    for ds in datasets:
        assert assoc.send_c_store(ds).Status == 0
    assoc.release()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--instances", type=int, default=24)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    n = args.instances
    rows: dict[int, list[tuple[float, float]]] = {8: [], 1: []}
    for _ in range(args.repeats):
        for batch in (8, 1):  # interleaved, so load from other processes hits both alike
            rows[batch].append(one_round(batch, n))
    load = os.getloadavg()[0]
    print(
        f"{n} CR instances (256x256, 16-bit) on one association; {args.repeats} rounds; "
        f"load {load:.1f} on {os.cpu_count()} CPUs"
    )
    print(f"{'analysis':<22}{'acked/s':>10}{'analysed/s':>12}")
    med = {}
    for batch, runs in rows.items():
        ack = statistics.median(n / a for a, _ in runs)
        done = statistics.median(n / b for _, b in runs)
        med[batch] = done
        label = "queued together (8)" if batch == 8 else "one at a time"
        print(f"{label:<22}{ack:>10.1f}{done:>12.2f}")
    ratios = [b1 / b8 for (_, b8), (_, b1) in zip(rows[8], rows[1], strict=True)]
    print(f"analysed/s ratio, together vs one at a time: {statistics.median(ratios):.2f}x")


if __name__ == "__main__":
    main()
