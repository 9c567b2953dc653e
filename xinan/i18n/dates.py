"""Dates as people in China type them: ``2027-06-30`` and ``2027年6月30日`` (issue 15 item 5).

Accepted (full-width digits ``０``–``９`` read as ASCII): ISO 8601 ``YYYY-MM-DD``;
``YYYY年M月D日`` (``日`` or ``号``, the month and day with or without a leading zero, spaces
allowed around the parts). Anything else — two-digit years, ``2027/6/30`` (ambiguous in
some tools), dates that do not exist (``2027年2月30日``) — raises ``ValueError``; the caller
turns it into its own error naming the option or field. Nothing here reads the clock.
"""

from __future__ import annotations

import re
from datetime import date, datetime

_FULL_WIDTH = str.maketrans("０１２３４５６７８９", "0123456789")
_CN_DATE = re.compile(r"\s*(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*[日号]\s*")
_CN_DATETIME = re.compile(r"(.*?[日号])\s*(\d{1,2}:\d{2}(?::\d{2})?.*)")


def parse_date(text: str) -> date:
    """A calendar date from ``YYYY-MM-DD`` or ``YYYY年M月D日``; ``ValueError`` otherwise."""
    value = text.translate(_FULL_WIDTH).strip()
    m = _CN_DATE.fullmatch(value)
    if m is not None:
        return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        return date.fromisoformat(value)
    raise ValueError(f"not a date: {text!r}")


def parse_datetime(text: str) -> datetime:
    """ISO 8601 date-time, or a Chinese date with an optional ``HH:MM[:SS][±HH:MM]`` after it
    (``2027年6月30日 08:00+08:00``); a date alone is its midnight."""
    value = text.translate(_FULL_WIDTH).strip()
    m = _CN_DATETIME.fullmatch(value)
    if m is not None:
        day = parse_date(m.group(1))
        return datetime.fromisoformat(f"{day.isoformat()}T{m.group(2).strip()}")
    if _CN_DATE.fullmatch(value):
        return datetime.combine(parse_date(value), datetime.min.time())
    return datetime.fromisoformat(value)
