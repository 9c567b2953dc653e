"""Worker processes over batches, with output in input order.

A job sets its plan and keys in this process, then maps a module-level function over its
batches. With one worker the function runs here; with more, worker processes are forked
(they inherit the plan and the keys, so no key is serialised) and at most ``window`` batches
are in flight: memory stays bounded however large the file, and results come back in the
order the batches went out. Since :func:`xinan.engine.run_batch` is a pure function of its
batch, the output bytes do not depend on the number of workers (docs/engine.md §3).

A worker that dies (killed, out of memory, a crash in native code) stops the job with
:class:`~xinan.errors.WorkerFailed` instead of leaving it waiting forever for a batch that
will never come back: ``multiprocessing.Pool`` replaces a dead worker and loses its task, so
its ``get()`` never returns; ``concurrent.futures`` notices the death and says so.
"""

from __future__ import annotations

import itertools
import multiprocessing
import os
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures import TimeoutError as FuturesTimeout
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

from xinan.errors import WorkerFailed

T = TypeVar("T")
R = TypeVar("R")


def default_workers() -> int:
    """Every core this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def can_fork() -> bool:
    return "fork" in multiprocessing.get_all_start_methods()


def ordered_map(
    fn: Callable[[Any], R],
    items: Iterable[tuple[T, Any]],
    *,
    workers: int,
    window: int | None = None,
) -> Iterator[tuple[T, R]]:
    """For each ``(tag, arg)`` of ``items`` yield ``(tag, fn(arg))``, in order.

    ``fn`` must be a module-level function (it is named, not pickled, in the worker); ``arg``
    and its result cross the process boundary (Arrow batches and bytes do so cheaply); ``tag``
    stays here. Workers are forked; where fork is not available the map runs in this process.
    """
    items = iter(items)
    first = next(items, None)
    second = next(items, None) if first is not None else None
    if first is None:
        return
    if second is None or workers <= 1 or not can_fork():
        # one batch (a small file) is not worth a fork: the same function, here
        yield first[0], fn(first[1])
        if second is not None:
            yield second[0], fn(second[1])
            for tag, arg in items:
                yield tag, fn(arg)
        return
    items = itertools.chain((first, second), items)
    limit = window or 2 * workers
    # every worker is forked up front, from this thread, before the executor starts its own
    # (CPython forks them all at the first submit when the start method is fork: gh-90622)
    pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork"))
    pending: deque[tuple[T, Future[R]]] = deque()
    stuck = False
    try:
        for tag, arg in items:
            pending.append((tag, pool.submit(fn, arg)))
            if len(pending) >= limit:
                t, fut = pending.popleft()
                yield t, _result(fut, pool)
        while pending:
            t, fut = pending.popleft()
            yield t, _result(fut, pool)
    except BrokenProcessPool:  # from submit() or result(), whichever comes first
        raise WorkerFailed(
            "a worker process of the batch engine died (killed, out of memory or crashed): "
            "the job stopped and wrote nothing under its final names",
            hint="run it again; with --workers 1 it runs in this process",
        ) from None
    except WorkerFailed:  # stuck workers (_result): end them now, they will not exit
        stuck = True
        raise
    finally:
        _close(pool, grace=0.0 if stuck else 60.0)


# A batch takes well under a second of CPU. Workers that together gain no CPU time for this
# long while the batch waited for is not done are stuck (a worker forked while another thread
# held a lock it needs, a worker stopped with SIGSTOP): the job stops instead of waiting forever.
STALL_SECONDS = 300.0
_POLL_SECONDS = 10.0


def _result(fut: Future[R], pool: ProcessPoolExecutor) -> R:
    last_cpu = _cpu_seconds(pool)
    still = time.monotonic()
    while True:
        try:
            return fut.result(timeout=min(_POLL_SECONDS, STALL_SECONDS))
        except FuturesTimeout:
            cpu = _cpu_seconds(pool)
            if cpu is None or cpu != last_cpu:  # no way to tell, or working: wait on
                last_cpu, still = cpu, time.monotonic()
            elif time.monotonic() - still >= STALL_SECONDS:
                seconds = round(STALL_SECONDS)
                raise WorkerFailed(
                    f"the worker processes of the batch engine made no progress for {seconds} s: "
                    "the job stopped and wrote nothing under its final names",
                    hint="run it again; with --workers 1 it runs in this process",
                ) from None


def _cpu_seconds(pool: ProcessPoolExecutor) -> float | None:
    """CPU time the pool's workers have used so far (Linux /proc), None where unknown."""
    processes = getattr(pool, "_processes", None) or {}
    total = 0
    try:
        for pid in list(processes):
            with open(f"/proc/{pid}/stat", "rb") as f:
                fields = f.read().rsplit(b")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime (clock ticks)
    except (OSError, ValueError, IndexError):
        return None
    return total / os.sysconf("SC_CLK_TCK")


def _close(pool: ProcessPoolExecutor, *, grace: float) -> None:
    """Shut the pool down without waiting forever: a worker is given ``grace`` seconds to
    exit, then ended. (A worker forked while another thread of this process held a lock, say a
    stream's, could otherwise hang in its own exit and the job with it.)"""
    processes = getattr(pool, "_processes", None) or {}
    procs = list(processes.values())
    pool.shutdown(wait=False, cancel_futures=True)
    deadline = time.monotonic() + grace
    for proc in procs:
        proc.join(max(0.0, deadline - time.monotonic()))
        if proc.is_alive():
            proc.kill()
            proc.join()
