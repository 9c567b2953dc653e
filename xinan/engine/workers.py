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

Large byte arguments (the package reader's blocks of record lines) can travel through shared
memory instead of the task pipe (``shared_bytes``): an anonymous ``MAP_SHARED`` mapping made
before the workers fork, so only this process and its workers map it, cut into one slot per
batch in flight. Through the pipe a 4 MiB block is pickled, written 64 KiB at a time by the
executor's feeder thread, read and unpickled: a third of the parent's time when verifying a
package (docs/engine.md §7). Through a slot it is copied in once and out once. The parent
writes a slot only when no batch holds it (its result came back), so a worker never reads a
slot that is being rewritten.
"""

from __future__ import annotations

import itertools
import mmap
import multiprocessing
import os
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures import TimeoutError as FuturesTimeout
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar, cast

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


class _Slots:
    """Shared memory for the byte arguments of the batches in flight, one slot per batch."""

    def __init__(self, count: int, size: int) -> None:
        self.size = size
        self.view = mmap.mmap(-1, count * size)  # anonymous, MAP_SHARED: inherited by fork
        self.free = list(range(count))

    def put(self, data: bytes) -> int | None:
        """The slot now holding ``data``, or None (too large, or no slot free)."""
        if len(data) > self.size or not self.free:
            return None
        slot = self.free.pop()
        at = slot * self.size
        self.view[at : at + len(data)] = data
        return slot

    def close(self) -> None:
        self.free.clear()
        self.view.close()


_SLOTS: _Slots | None = None  # in a worker: its pool's slots (set by _worker_slots at its start)


def _worker_slots(slots: _Slots | None) -> None:
    """A worker's initializer: the slots of the pool that forked it. Passed as the pool's
    ``initargs`` (inherited through the fork, never pickled), not read from a global the
    parent sets, so two maps started at once by two threads cannot hand a worker the other's."""
    global _SLOTS  # noqa: PLW0603 - this worker's own copy
    _SLOTS = slots


def _from_slot(fn: Callable[[Any], R], slot: int, length: int, rest: tuple[Any, ...]) -> R:
    """In a worker: ``fn`` of the argument whose bytes the parent put in ``slot``."""
    slots = _SLOTS
    if slots is None:  # pragma: no cover - internal misuse
        raise WorkerFailed("a worker of the batch engine has no shared memory")
    at = slot * slots.size
    return fn((slots.view[at : at + length], *rest))


def ordered_map(
    fn: Callable[[Any], R],
    items: Iterable[tuple[T, Any]],
    *,
    workers: int,
    window: int | None = None,
    shared_bytes: int = 0,
) -> Iterator[tuple[T, R]]:
    """For each ``(tag, arg)`` of ``items`` yield ``(tag, fn(arg))``, in order.

    ``fn`` must be a module-level function (it is named, not pickled, in the worker); ``arg``
    and its result cross the process boundary (Arrow batches and bytes do so cheaply); ``tag``
    stays here. Workers are forked; where fork is not available the map runs in this process.
    With ``shared_bytes`` > 0 each ``arg`` is a tuple whose first item is ``bytes`` or a view of
    bytes that stays valid only until the next item is asked for (a reader's buffer): up to
    that many bytes of it reach the worker through shared memory, not the pipe (a larger one
    takes the pipe), and ``fn`` gets the tuple with that item as ``bytes``.
    """
    raw = iter(items)

    def frozen(item: tuple[T, Any] | None) -> tuple[T, Any] | None:
        # with shared_bytes the bytes may be a view of the producer's buffer, valid until its
        # next item: a copy is kept before that (a slot is the copy of the others, below)
        if item is None or shared_bytes <= 0 or isinstance(item[1][0], bytes):
            return item
        return item[0], (bytes(item[1][0]), *item[1][1:])

    first = frozen(next(raw, None))
    second = frozen(next(raw, None)) if first is not None else None
    if first is None:
        return
    if second is None or workers <= 1 or not can_fork():
        # one batch (a small file) is not worth a fork: the same function, here
        yield first[0], fn(first[1])
        if second is not None:
            yield second[0], fn(second[1])
            for item in raw:
                tag, arg = cast(tuple[T, Any], frozen(item))
                yield tag, fn(arg)
        return
    items = itertools.chain((first, second), raw)
    limit = window or 2 * workers
    # every worker is forked up front, from this thread, before the executor starts its own
    # (CPython forks them all at the first submit when the start method is fork: gh-90622)
    # at most limit - 1 batches are in flight when one is submitted: limit slots always have
    # a free one (a slot is freed when its batch's result has come back)
    slots = _Slots(limit, shared_bytes) if shared_bytes > 0 else None
    pool: ProcessPoolExecutor | None = None
    pending: deque[tuple[T, Future[R], int | None]] = deque()
    stuck = False
    try:
        pool = ProcessPoolExecutor(
            workers,
            mp_context=multiprocessing.get_context("fork"),
            initializer=_worker_slots,
            initargs=(slots,),
        )
        for tag, arg in items:
            slot = slots.put(arg[0]) if slots is not None else None
            if slot is None:
                fut = pool.submit(fn, cast(tuple[T, Any], frozen((tag, arg)))[1])
            else:
                fut = pool.submit(_from_slot, fn, slot, len(arg[0]), tuple(arg[1:]))
            pending.append((tag, fut, slot))
            if len(pending) >= limit:
                yield _collect(pending, pool, slots)
        while pending:
            yield _collect(pending, pool, slots)
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
        try:
            if pool is not None:
                _close(pool, grace=0.0 if stuck else 60.0)
        finally:
            if slots is not None:
                slots.close()


def _collect(
    pending: deque[tuple[T, Future[R], int | None]], pool: ProcessPoolExecutor, slots: _Slots | None
) -> tuple[T, R]:
    tag, fut, slot = pending.popleft()
    res = _result(fut, pool)
    if slot is not None and slots is not None:
        slots.free.append(slot)
    return tag, res


# A batch takes well under a second of CPU. Workers that together gain no CPU time for this
# long while the batch waited for is not done are stuck (a worker forked while another thread
# held a lock it needs, a worker stopped with SIGSTOP): the job stops instead of waiting forever.
STALL_SECONDS = 300.0
_POLL_SECONDS = 10.0


def _result(fut: Future[R], pool: ProcessPoolExecutor) -> R:
    try:  # the common case: the batch is done or done soon; /proc is read only after that
        return fut.result(timeout=min(_POLL_SECONDS, STALL_SECONDS))
    except FuturesTimeout:
        pass
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
