"""The worker pool of the batch engine (xinan/engine/workers.py): results in input order
whatever the worker count, and a worker that dies stops the job with xinan's own error
instead of leaving it waiting forever (multiprocessing.Pool loses a dead worker's task)."""

from __future__ import annotations

import os
import signal
import threading
import time

import pytest

from xinan.engine import workers
from xinan.engine.workers import can_fork, ordered_map
from xinan.errors import WorkerFailed, XinanError

pytestmark = pytest.mark.skipif(not can_fork(), reason="worker processes are forked")


def _double(x: int) -> int:
    return 2 * x


def _die_on_five(x: int) -> int:
    if x == 5:
        os.kill(os.getpid(), signal.SIGKILL)  # as the OOM killer or an operator's kill -9 would
    return 2 * x


@pytest.mark.parametrize("n", [0, 1, 2, 40])
@pytest.mark.parametrize("workers", [1, 2, 3])
def test_results_come_back_in_input_order(workers: int, n: int) -> None:
    items = ((f"t{i}", i) for i in range(n))  # one item runs here; two or more are forked
    got = list(ordered_map(_double, items, workers=workers, window=4))
    assert got == [(f"t{i}", 2 * i) for i in range(n)]


def test_a_killed_worker_stops_the_job_with_a_clear_error() -> None:
    start = time.monotonic()
    seen: list[int] = []
    with pytest.raises(WorkerFailed) as err:
        for _tag, value in ordered_map(_die_on_five, ((i, i) for i in range(50)), workers=2):
            seen.append(value)
    assert isinstance(err.value, XinanError) and "worker process" in err.value.message
    assert seen == [2 * i for i in range(len(seen))] and len(seen) <= 5  # nothing after the gap
    assert time.monotonic() - start < 60  # stopped, not left waiting


def _stuck_on_three(x: int) -> int:
    if x == 3:
        threading.Event().wait()  # blocked for good, using no CPU (as a deadlocked lock would)
    return 2 * x


def test_workers_stuck_without_progress_stop_the_job(monkeypatch) -> None:
    monkeypatch.setattr(workers, "STALL_SECONDS", 2.0)
    monkeypatch.setattr(workers, "_POLL_SECONDS", 0.2)
    start = time.monotonic()
    seen: list[int] = []
    with pytest.raises(WorkerFailed, match="no progress"):
        for _tag, value in ordered_map(_stuck_on_three, ((i, i) for i in range(20)), workers=2):
            seen.append(value)
    assert seen == [0, 2, 4]  # every batch before the stuck one, in order
    assert time.monotonic() - start < 30  # stopped (and the stuck worker ended), not waiting


def test_a_slow_batch_that_works_is_waited_for(monkeypatch) -> None:
    """Progress is CPU time: a batch that computes for longer than the stall limit is not
    taken for a stuck one."""
    monkeypatch.setattr(workers, "STALL_SECONDS", 0.5)
    monkeypatch.setattr(workers, "_POLL_SECONDS", 0.1)
    got = list(ordered_map(_spin, ((i, i) for i in range(2)), workers=2))
    assert got == [(0, 0), (1, 1)]


def _spin(x: int) -> int:
    end = time.process_time() + 1.0  # 1 s of CPU, twice the stall limit
    while time.process_time() < end:
        pass
    return x


def _digest(arg: tuple[bytes, int]) -> tuple[str, int, int, bool]:
    data, first = arg
    import hashlib

    return hashlib.sha256(data).hexdigest(), len(data), first, type(data) is bytes


def _views_of_one_buffer(sizes: list[int]):
    """Items as the package reader makes them: each a view of one buffer that the next item
    overwrites (so a map that kept the view instead of a copy would see later bytes)."""
    buf = bytearray(max(sizes, default=0))
    view = memoryview(buf)
    for i, n in enumerate(sizes):
        buf[:n] = bytes([i % 251]) * n
        yield i, (view[:n], i)


@pytest.mark.parametrize("workers", [1, 2])
def test_shared_bytes_reach_the_worker_as_they_were_when_handed_over(workers: int) -> None:
    import hashlib

    # slots of 1,000 bytes: the 5,000-byte items take the pipe, the others shared memory
    sizes = [900, 1000, 0, 5000, 17, 1000, 999, 5000, 3, 1] * 3
    got = list(
        ordered_map(
            _digest, _views_of_one_buffer(sizes), workers=workers, window=3, shared_bytes=1000
        )
    )
    want = [
        (i, (hashlib.sha256(bytes([i % 251]) * n).hexdigest(), n, i, True))
        for i, n in enumerate(sizes)
    ]
    assert got == want


def test_shared_memory_is_released_after_the_map() -> None:
    list(ordered_map(_digest, _views_of_one_buffer([10] * 6), workers=2, shared_bytes=64))
    assert workers._SLOTS is None
