"""Progress of a loop over records, on standard error, when it is a terminal (issue 15 item 8).

The library reports progress as events — ``begin(what)`` when a pass over the records starts
and ``progress(records, fraction)`` now and then, with the records done in the pass and the
fraction done, ``None`` when the size is unknown (:mod:`xinan.progress`, docs/engine.md) — and
never draws anything. This module draws them with tqdm (docs/adr/0007-cli-language-and-progress.md):
a count, a percentage and a bar when the size is known, the rate in records per second and the
time left. A pipe, a log file or ``--json`` to a terminal gets nothing: :func:`progress_for`
returns ``None`` and the job runs without the callback. Words are in the run's language
(:mod:`xinan.i18n`).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TextIO

from xinan.i18n import gettext_ as _
from xinan.progress import reporting

_PERMILLE = 1000  # the bar counts the fraction done, in thousandths
_SIZED = "{percentage:3.0f}%|{bar}| {desc} [{elapsed}<{remaining}]"
_UNSIZED = "{desc} [{elapsed}]"


class TerminalProgress:
    """``progress(records, fraction)`` drawn as one tqdm line; ``begin(what)`` starts a new
    pass (a new bar, its own rate and time left); ``done()`` clears it."""

    def __init__(self, what: str = "records", *, stream: TextIO | None = None) -> None:
        from tqdm import tqdm

        # no monitor thread: the engine forks its workers from this process, and a thread that
        # holds the stream's lock at the fork would leave a worker unable to exit
        tqdm.monitor_interval = 0
        self.what = _(what)
        self.stream = stream or sys.stderr
        self.start = time.monotonic()
        self._bar: Any = tqdm(
            total=_PERMILLE,
            file=self.stream,
            leave=False,  # the summary follows; the bar goes
            mininterval=0.5,
            dynamic_ncols=True,
            bar_format=_SIZED,
        )
        self._sized = True
        self._used = False

    def begin(self, what: str) -> None:
        """A new pass over the records (``what``: its English name, shown translated)."""
        self.what = _(what)
        if self._used:
            self._bar.reset(total=_PERMILLE)
            self._bar.bar_format = _SIZED
            self._sized = True
        self.start = time.monotonic()
        self._used = False

    def __call__(self, records: int, fraction: float | None) -> None:
        self._used = True
        elapsed = max(time.monotonic() - self.start, 1e-9)
        if fraction is None and self._sized:
            # size unknown (standard input): a count and a rate, no bar and no time left
            self._sized = False
            self._bar.total = None
            self._bar.bar_format = _UNSIZED
        self._bar.set_description_str(
            f"{records:,} {self.what}, {records / elapsed:,.0f}/s", refresh=False
        )
        if fraction is not None:
            self._bar.update(max(0, round(fraction * _PERMILLE) - self._bar.n))
        else:
            self._bar.refresh()

    def done(self) -> None:
        self._bar.close()


def progress_for(*, as_json: bool = False, stream: TextIO | None = None) -> TerminalProgress | None:
    """A drawer when standard error (or ``stream``) is a terminal and the output is for
    people; else ``None`` (nothing drawn, nothing costs)."""
    out = stream or sys.stderr
    try:
        tty = out.isatty()
    except (AttributeError, ValueError):
        tty = False
    if not tty or as_json:
        return None
    return TerminalProgress(stream=out)


@contextmanager
def showing_progress(
    *, as_json: bool = False, stream: TextIO | None = None
) -> Iterator[TerminalProgress | None]:
    """Draw the progress events of the library calls made inside the block (on a terminal,
    not under ``--json``); the bar is gone when the block ends, also on an error, so that the
    error or the summary starts on a clean line."""
    progress = progress_for(as_json=as_json, stream=stream)
    try:
        with reporting(progress):
            yield progress
    finally:
        if progress is not None:
            progress.done()
