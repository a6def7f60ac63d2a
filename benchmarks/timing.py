"""Timing helpers shared by the benchmark scripts (each script runs alone, from this folder:
``python benchmarks/NAME.py`` puts it on ``sys.path``)."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable


def timed(fn: Callable[[], object], repeats: int) -> float:
    """Median wall time of ``repeats`` calls after one warm-up call."""
    fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def paired(
    a: Callable[[], object], b: Callable[[], object], repeats: int
) -> tuple[float, float, float]:
    """Median times of a and b and the median of the per-round ratio a/b, with a
    and b alternating round by round so that load from other processes on a shared
    machine hits both alike."""
    a()
    b()
    ta, tb = [], []
    for _ in range(repeats):
        t0 = time.perf_counter()
        a()
        t1 = time.perf_counter()
        b()
        t2 = time.perf_counter()
        ta.append(t1 - t0)
        tb.append(t2 - t1)
    ratio = statistics.median(x / y for x, y in zip(ta, tb, strict=True))
    return statistics.median(ta), statistics.median(tb), ratio
