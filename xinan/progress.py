"""Progress events of the library's loops over records (issue 15 item 8).

The library never draws anything. A loop over records (reading a package, storing its records,
writing an opened file, disclosing, sharing, scanning) reports *events* to the progress sink
of the current context, when there is one:

* ``sink.begin(what)`` (optional) when a pass over the records starts, ``what`` naming it in
  English (``"records verified"``, ``"records stored"``) for the caller to translate;
* ``sink(records, fraction)`` now and then: the records done in this pass and the fraction
  of the pass done (``None`` when the size is unknown, e.g. standard input).

A caller installs a sink for a block of calls with :func:`reporting`:

    with xinan.progress.reporting(lambda n, f: print(n, f)):
        platform.ingest(Path("export.xpkg"))

so that progress crosses the layers (``Platform`` → ``Vault`` → the package reader) without a
parameter on every signature, as the language does (:mod:`xinan.i18n`). With no sink, a loop
pays one context-variable read. The provider's engine jobs (mask, seal) take the same callable
as their ``progress=`` argument (:data:`xinan.engine.jobs.Progress`).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import IO, Any

Progress = Callable[[int, float | None], None]
"""``progress(records, fraction)``: records done in the pass, fraction done or ``None``."""

_sink: ContextVar[Progress | None] = ContextVar("xinan_progress", default=None)

_EVERY = 2048  # records between two events (the drawer redraws at most twice a second)
_SECONDS = 0.25  # …or this long, whichever comes first, for slow loops (a vault's inserts)


@contextmanager
def reporting(progress: Progress | None) -> Iterator[None]:
    """Send the progress events of the loops run inside the block to ``progress``."""
    token = _sink.set(progress)
    try:
        yield
    finally:
        _sink.reset(token)


def current() -> Progress | None:
    """The sink of the current context, or ``None``."""
    return _sink.get()


class Pass:
    """One pass over records: counts them and sends an event every few thousand records or
    every quarter second. ``fraction`` (a callable) says how far the pass is when the count of
    records to come is unknown (e.g. the position in a file)."""

    def __init__(
        self,
        sink: Progress,
        total: int | None,
        fraction: Callable[[], float | None] | None,
    ) -> None:
        self.sink = sink
        self.total = total if total and total > 0 else None
        self._fraction = fraction
        self.done = 0
        self._next = _EVERY
        self._at = time.monotonic()

    def fraction(self) -> float | None:
        if self.total is not None:
            return min(self.done / self.total, 1.0)
        return self._fraction() if self._fraction is not None else None

    def add(self, n: int = 1) -> None:
        """``n`` more records done."""
        self.done += n
        if self.done >= self._next or time.monotonic() - self._at >= _SECONDS:
            self._next = self.done + _EVERY
            self._at = time.monotonic()
            self.sink(self.done, self.fraction())

    def end(self) -> None:
        """The pass finished: one last event with the final count."""
        f = self.fraction()
        self.sink(self.done, 1.0 if f is not None else None)


def start(
    what: str = "records",
    *,
    total: int | None = None,
    fraction: Callable[[], float | None] | None = None,
) -> Pass | None:
    """A :class:`Pass` named ``what`` when a sink is installed, else ``None`` (the loop then
    reports nothing and costs nothing)."""
    sink = _sink.get()
    if sink is None:
        return None
    begin = getattr(sink, "begin", None)
    if callable(begin):
        begin(what)
    p = Pass(sink, total, fraction)
    sink(0, p.fraction())
    return p


def stream_fraction(stream: IO[Any]) -> Callable[[], float | None] | None:
    """How much of an open file has been read (its position over its size), or ``None`` for a
    stream without a size (a pipe, standard input)."""
    try:
        size = os.fstat(stream.fileno()).st_size
        stream.tell()
    except (AttributeError, OSError, ValueError):
        return None
    if size <= 0:
        return None

    def where() -> float | None:
        try:
            return min(stream.tell() / size, 1.0)
        except (OSError, ValueError):
            return None

    return where


def reader_fraction(reader: Any, src: object) -> Callable[[], float | None] | None:
    """How much of the file ``src`` an open :class:`xinan.records.RecordReader` has read (the
    position of its byte stream over the file's size), or ``None`` (standard input, a pipe)."""
    if not isinstance(src, str | os.PathLike) or str(src) == "-":
        return None
    try:
        size = os.stat(src).st_size
    except OSError:
        return None
    raw = getattr(getattr(reader, "_text", None), "buffer", None)
    if raw is None or size <= 0:
        return None

    def where() -> float | None:
        try:
            return min(int(raw.tell()) / size, 1.0)
        except (OSError, ValueError):
            return None

    return where
