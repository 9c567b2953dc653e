"""Progress on stderr for loops over records (issue 15 item 8): drawn by tqdm from the
engine's progress events, only on a terminal."""

from __future__ import annotations

import io
import re

from xinan.cli.progress import TerminalProgress, progress_for
from xinan.i18n import using_language


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_nothing_on_a_pipe_or_under_json():
    assert progress_for(stream=io.StringIO()) is None
    assert progress_for(stream=Tty(), as_json=True) is None
    assert isinstance(progress_for(stream=Tty()), TerminalProgress)


def test_count_percent_rate_and_time_left():
    out = Tty()
    p = TerminalProgress(stream=out)
    p.start -= 10  # ten seconds in
    p(250_000, 0.25)
    p._bar.refresh()
    line = out.getvalue().split("\r")[-1]
    assert "25%" in line
    assert "250,000 records" in line
    assert re.search(r"2\d,\d{3}/s", line)  # about 25,000 records a second
    assert re.search(r"<\d\d:\d\d", line)  # time left
    p.done()


def test_unknown_size_shows_count_and_rate_only():
    out = Tty()
    p = TerminalProgress(stream=out)
    p(1000, None)
    line = out.getvalue().split("\r")[-1]
    assert "1,000 records" in line and "%" not in line
    p.done()


def test_in_chinese():
    out = Tty()
    with using_language("zh"):
        p = TerminalProgress(stream=out)
    p(10, 0.5)
    p._bar.refresh()
    assert "10 条记录" in out.getvalue()
    p.done()
