"""Progress of a long job on standard error: records, rate and time left (when the size of
the input is known). Only for a terminal: a pipe or a log gets nothing (STYLE.md §11)."""

from __future__ import annotations

import sys
import time
from typing import TextIO


class Progress:
    """Callable as ``progress(records, fraction)``; redraws at most twice a second."""

    def __init__(self, what: str = "records", stream: TextIO | None = None) -> None:
        self.what = what
        self.stream = stream or sys.stderr
        self.start = time.monotonic()
        self._last = 0.0
        self._drawn = False

    def __call__(self, records: int, fraction: float | None) -> None:
        now = time.monotonic()
        if now - self._last < 0.5:
            return
        self._last = now
        elapsed = max(now - self.start, 1e-9)
        line = f"… {records:,} {self.what}, {records / elapsed:,.0f}/s"
        if fraction and fraction > 0.001:
            left = elapsed * (1 - fraction) / fraction
            line += f", {fraction:.0%}, about {_clock(left)} left"
        self.stream.write("\r" + line + "\x1b[K")
        self.stream.flush()
        self._drawn = True

    def done(self) -> None:
        if self._drawn:
            self.stream.write("\r\x1b[K")
            self.stream.flush()


def _clock(seconds: float) -> str:
    s = int(seconds)
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}"
