"""Opening the bytes (docs/records.md §2): encoding detection, the delimiter, and a quote-aware
scanner that finds where a CSV record ends when csv cannot."""

from __future__ import annotations

import codecs
import io
import re
from typing import Any, BinaryIO

from xinan.records._common import (
    _LINE_BREAK,
    _UTF8_BOM,
)

# --------------------------------------------------------------------------------------------
# Reading: opening the bytes, detecting the encoding (docs/records.md §2)
# --------------------------------------------------------------------------------------------


class _Prefixed(io.RawIOBase):
    """A non-seekable byte stream with a sample already taken off its front put back."""

    def __init__(self, head: bytes, rest: BinaryIO) -> None:
        super().__init__()
        self._head = memoryview(head)
        self._rest = rest

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        if self._head:
            n = min(len(view), len(self._head))
            view[:n] = self._head[:n]
            self._head = self._head[n:]
            return n
        data = self._rest.read(len(view))
        view[: len(data)] = data
        return len(data)


def _detect_encoding(sample: bytes, complete: bool) -> str:
    """Name of the encoding of a file that starts with *sample* (docs/records.md §2)."""
    if sample.startswith(_UTF8_BOM):
        return "utf-8-sig"
    # An incremental decoder does not count a character cut at the end of the sample as an
    # error, unless the sample is the whole file.
    decoder = codecs.getincrementaldecoder("utf-8")("strict")
    try:
        decoder.decode(sample, final=complete)
    except UnicodeDecodeError:
        return "gb18030"
    return "utf-8"


def _sniff_delimiter(text: str) -> str:
    """Comma, unless the first non-blank line has tabs and no comma (a TSV, docs §3.1)."""
    for line in _LINE_BREAK.split(text):
        if line.strip():
            return "\t" if "\t" in line and "," not in line else ","
    return ","


class _RecordTooLong(Exception):
    """Raised by the line feeder inside csv.reader when a record passes max_record_chars."""


class _Unterminated(Exception):
    """Raised by the line feeder inside csv.reader at end of file inside a quoted field."""


class _RecordScanner:
    """Follows the record structure csv (non-strict, ``doublequote``) sees in raw text.

    Used only off the fast path: to find where a record that was too long to parse ends, and
    which field an unterminated quote opened. A quote opens a quoted field only at the start of
    a field; ``""`` inside one is a literal quote; a line break outside quotes ends the record.
    """

    __slots__ = (
        "_delimiter",
        "_field_len",
        "_field_start",
        "_limit",
        "_quote_pending",
        "_stop",
        "field",
        "in_quotes",
        "long_field",
    )

    def __init__(self, delimiter: str, limit: int) -> None:
        self._delimiter = delimiter
        self._stop = re.compile(f"[{re.escape(delimiter)}\r\n]")
        self._limit = limit
        self._field_len = 0
        self._field_start = True
        self._quote_pending = False  # inside quotes, a '"' ended the previous chunk
        self.in_quotes = False
        self.field = 0  # index of the field in progress
        self.long_field: int | None = None  # first field longer than limit

    @property
    def unterminated(self) -> bool:
        return self.in_quotes and not self._quote_pending

    def _end_field(self) -> None:
        if self.long_field is None and self._field_len > self._limit:
            self.long_field = self.field

    def finish(self) -> None:
        """The input ended: account for the field in progress."""
        self._end_field()

    def feed(self, chunk: str) -> bool:
        """Consume *chunk*; True when the record ends in it (at a line break, i.e. its end)."""
        pos, n = 0, len(chunk)
        if self._quote_pending and n:
            self._quote_pending = False
            if chunk[0] == '"':  # the two halves of a doubled quote
                self._field_len += 1
                pos = 1
            else:
                self.in_quotes = False
        while pos < n:
            if self.in_quotes:
                i = chunk.find('"', pos)
                if i < 0:
                    self._field_len += n - pos
                    return False
                self._field_len += i - pos
                if i + 1 == n:
                    self._quote_pending = True
                    return False
                if chunk[i + 1] == '"':
                    self._field_len += 1
                    pos = i + 2
                else:
                    self.in_quotes = False
                    pos = i + 1
                continue
            if self._field_start:
                self._field_start = False
                if chunk[pos] == '"':
                    self.in_quotes = True
                    pos += 1
                    continue
            m = self._stop.search(chunk, pos)
            if m is None:
                self._field_len += n - pos
                return False
            self._field_len += m.start() - pos
            self._end_field()
            if m.group() != self._delimiter:
                return True
            self.field += 1
            self._field_len = 0
            self._field_start = True
            pos = m.end()
        return False
