"""One worker-pool helper for every batch job (``label``, ``archive add``, ...).

``ordered_map(fn, items, jobs=N)`` yields ``(item, result)`` for every item, in input order,
with at most ``in_flight_per_job * jobs`` chunks in flight so memory stays flat on any input
size. One error policy for every caller:

* an exception ``fn`` raises for one item becomes a :class:`Failure` for that item (its
  exception type only: a message may quote the report), and the batch goes on;
* a :class:`~radpilot.errors.RadpilotError` (a broken rules file, say) fails every item
  alike, so it stops the batch with its own message;
* a worker killed by the OS ends the batch with one line that says to rerun with one job.

Workers start by forkserver (never fork a parent that runs threads: the progress bar has
one), ignore Ctrl-C (the parent stops them), and exit silently when their parent ends, so a
kill -9 of the parent leaves no orphan printing BrokenPipeError tracebacks.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import select
import signal
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from itertools import islice
from typing import Any, TypeVar

from radpilot.errors import RadpilotError

log = logging.getLogger(__name__)

T = TypeVar("T")
A = TypeVar("A")
R = TypeVar("R")

DEFAULT_CHUNK_SIZE = 256
IN_FLIGHT_PER_JOB = 3  # enough to keep workers busy while the parent reads and writes


@dataclass(frozen=True, slots=True)
class Failure:
    """``fn`` raised for one item: the exception's type name (never its message)."""

    error: str


def _call(fn: Callable[[A], R], arg: A) -> R | Failure:
    try:
        return fn(arg)
    except RadpilotError:
        raise
    except Exception as exc:  # one bad item must never end a batch
        log.debug("a batch item failed", exc_info=True)
        return Failure(type(exc).__name__)


def _call_chunk(fn: Callable[[A], R], args: list[A]) -> list[R | Failure]:
    return [_call(fn, a) for a in args]


def _exit_when_gone(pid: int) -> None:
    """Exit this worker silently once process ``pid`` (the batch's parent) has ended.

    Why not PR_SET_PDEATHSIG: a forkserver worker's parent is the fork server, which
    itself stays alive while any worker holds its "alive" pipe, so neither would notice
    the real parent's death."""
    try:
        fd = os.pidfd_open(pid)
    except (AttributeError, OSError):
        fd = None

    def watch() -> None:
        if fd is not None:
            select.select([fd], [], [])  # readable once the process has ended
        else:
            while _running(pid):
                time.sleep(0.5)
        os._exit(0)

    threading.Thread(target=watch, name="radpilot-parent-watch", daemon=True).start()


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _worker_init(parent: int) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    _exit_when_gone(parent)


def _context(fn: Callable[..., Any]) -> Any:
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    ctx = multiprocessing.get_context("forkserver")
    # Workers fork from the server: a module it imported before forking them is imported
    # once, not once a worker (~0.4 s of CPU each for the report reader's modules). Only
    # the first pool of a process starts the server; later preloads are ignored.
    ctx.set_forkserver_preload([getattr(fn, "func", fn).__module__])
    return ctx


def _chunks(items: Iterable[T], size: int) -> Iterator[list[T]]:
    it = iter(items)
    while chunk := list(islice(it, size)):
        yield chunk


def check_jobs(jobs: int, chunk_size: int = DEFAULT_CHUNK_SIZE) -> None:
    """Reject a worker count or chunk size below one (``InputError`` naming the parameter)."""
    from radpilot.errors import InputError

    if jobs < 1:
        raise InputError(f"jobs must be 1 or more, got {jobs}")
    if chunk_size < 1:
        raise InputError(f"chunk_size must be 1 or more, got {chunk_size}")


def ordered_map(
    fn: Callable[[A], R],
    items: Iterable[T],
    *,
    jobs: int = 1,
    send: Callable[[T], A] | None = None,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    in_flight_per_job: int = IN_FLIGHT_PER_JOB,
) -> Iterator[tuple[T, R | Failure]]:
    """``(item, fn(send(item)))`` for each item, in order; ``send`` picks what crosses to
    the worker (default: the item itself). ``fn`` must be a module-level function (or a
    ``functools.partial`` of one) so that it pickles."""
    check_jobs(jobs, chunk_size)
    pick: Callable[[T], Any] = send if send is not None else (lambda item: item)
    if jobs == 1:
        for item in items:
            yield item, _call(fn, pick(item))
        return
    pending: deque[tuple[list[T], Future[list[R | Failure]]]] = deque()
    pool = ProcessPoolExecutor(
        max_workers=jobs,
        mp_context=_context(fn),
        initializer=_worker_init,
        initargs=(os.getpid(),),
    )
    finished = False
    try:
        for chunk in _chunks(items, chunk_size):
            pending.append((chunk, pool.submit(_call_chunk, fn, [pick(i) for i in chunk])))
            if len(pending) >= in_flight_per_job * jobs:
                yield from _finish(pending)
        while pending:
            yield from _finish(pending)
        finished = True
    except BrokenProcessPool as exc:
        raise RadpilotError(f"a worker process died ({exc}); rerun with one job (jobs=1)") from None
    finally:
        _shutdown(pool, graceful=finished)


def _finish(
    pending: deque[tuple[list[T], Future[list[R | Failure]]]],
) -> Iterator[tuple[T, R | Failure]]:
    chunk, future = pending.popleft()
    return zip(chunk, future.result(), strict=True)


def _shutdown(pool: ProcessPoolExecutor, *, graceful: bool) -> None:
    if graceful:
        pool.shutdown(wait=True)
        return
    # Interrupted or failed: do not wait for chunks nobody will read.
    processes = list(getattr(pool, "_processes", {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for p in processes:
        with contextlib.suppress(Exception):
            p.terminate()


def child_context(*preload: str) -> Any:
    """The start method for a radpilot child process outside the pool (the imaging
    decoder's), as the pool's: forkserver where there is one, else spawn; never fork.
    ``preload``: modules the fork server imports before forking, if this call is the
    first of the process to start it (as the pool does with its function's module)."""
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    ctx = multiprocessing.get_context("forkserver")
    if preload:
        ctx.set_forkserver_preload(list(preload))
    return ctx


def child_init(parent: int) -> None:
    """Run first in any radpilot child process: ignore Ctrl-C, exit when ``parent`` ends."""
    _worker_init(parent)
