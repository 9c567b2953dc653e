"""Worker processes over batches, with output in input order.

A job sets its plan and keys in this process, then maps a module-level function over its
batches. With one worker the function runs here; with more, worker processes are forked
(they inherit the plan and the keys, so no key is serialised) and at most ``window`` batches
are in flight: memory stays bounded however large the file, and results come back in the
order the batches went out. Since :func:`xinan.engine.run_batch` is a pure function of its
batch, the output bytes do not depend on the number of workers (docs/engine.md §3).
"""

from __future__ import annotations

import multiprocessing
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

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
    if workers <= 1 or not can_fork():
        for tag, arg in items:
            yield tag, fn(arg)
        return
    limit = window or 2 * workers
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(workers) as pool:
        pending: deque[tuple[T, Any]] = deque()
        for tag, arg in items:
            pending.append((tag, pool.apply_async(fn, (arg,))))
            if len(pending) >= limit:
                t, res = pending.popleft()
                yield t, res.get()
        while pending:
            t, res = pending.popleft()
            yield t, res.get()
