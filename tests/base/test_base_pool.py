"""The one worker pool: order kept, per-item failures, RadpilotError stops, workers die
with their parent."""

from __future__ import annotations

import functools
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from radpilot.errors import InputError, RadpilotError
from radpilot.pool import Failure, ordered_map


def square_or_fail(x: int) -> int:
    if x % 7 == 3:
        raise ValueError(f"secret report text {x}")
    return x * x


def broken_rules(x: int) -> int:
    raise RadpilotError("cues.json: broken")


def offset(x: int, by: int) -> int:
    return x + by


@pytest.mark.parametrize("jobs", [1, 2])
def test_results_come_back_in_order_with_failures_in_place(jobs: int) -> None:
    items = list(range(50))
    got = list(ordered_map(square_or_fail, items, jobs=jobs, chunk_size=4))
    assert [i for i, _ in got] == items
    for i, result in got:
        if i % 7 == 3:
            # The type only: an exception message may quote report text.
            assert result == Failure("ValueError")
        else:
            assert result == i * i


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_radpilot_error_stops_the_batch(jobs: int) -> None:
    with pytest.raises(RadpilotError, match=r"cues\.json: broken"):
        list(ordered_map(broken_rules, range(10), jobs=jobs, chunk_size=2))


def test_send_picks_what_crosses_and_partials_pickle() -> None:
    rows = [{"id": i, "text": i * 10} for i in range(6)]
    got = list(ordered_map(functools.partial(offset, by=1), rows, jobs=2, send=lambda r: r["text"]))
    assert [(r["id"], v) for r, v in got] == [(i, i * 10 + 1) for i in range(6)]


def test_jobs_and_chunk_size_are_checked() -> None:
    with pytest.raises(InputError, match="jobs must be 1 or more"):
        list(ordered_map(square_or_fail, [1], jobs=0))
    with pytest.raises(InputError, match="chunk_size must be 1 or more"):
        list(ordered_map(square_or_fail, [1], chunk_size=0))


def test_stopping_early_shuts_the_workers_down() -> None:
    it = ordered_map(square_or_fail, range(10_000), jobs=2, chunk_size=8)
    assert next(it) == (0, 0)
    it.close()  # the consumer went away: no hang, no stray workers


def test_workers_die_with_a_killed_parent_and_print_nothing(tmp_path) -> None:  # type: ignore[no-untyped-def]
    script = tmp_path / "parent.py"
    script.write_text(
        textwrap.dedent(
            """
            import sys, time
            from radpilot.pool import ordered_map

            def slow(x):
                time.sleep(0.05)
                return x

            if __name__ == "__main__":
                for item, _ in ordered_map(slow, range(100000), jobs=2, chunk_size=1):
                    if item == 4:
                        print("started", flush=True)
            """
        )
    )
    proc = subprocess.Popen(
        [sys.executable, str(script)], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == b"started"
    children = _children(proc.pid)
    assert children, "the pool started no worker processes"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(_alive(c) for c in children):
        time.sleep(0.1)
    assert not any(_alive(c) for c in children), "workers outlived their parent"
    assert proc.stderr is not None
    assert b"Traceback" not in proc.stderr.read()


def _children(pid: int) -> list[int]:
    """Every descendant of ``pid`` (the forkserver and its workers), from /proc."""
    if not os.path.isdir("/proc"):
        pytest.skip("needs /proc")
    found, frontier = [], [pid]
    while frontier:
        parent = frontier.pop()
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    with open(f"/proc/{entry}/stat") as fh:
                        ppid = int(fh.read().rsplit(")", 1)[1].split()[1])
                except OSError:
                    continue
                if ppid == parent:
                    found.append(int(entry))
                    frontier.append(int(entry))
    return found


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False
