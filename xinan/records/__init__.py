"""Streaming record readers and writers: CSV (UTF-8, BOM, GB18030/GBK), JSON Lines, XLSX.

This module owns the boundary between files and records. A reader turns a file into a header
(``list[str]``) and an iterator of :class:`Row` (a record, values as text) or :class:`BadRow` (a
record that cannot be used, with the row, the column and the reason); a writer does the
reverse, atomically (:mod:`xinan.fileio`). The formats, encodings, encoding detection and row
numbering are specified in ``docs/records.md``; the section names below follow it.

Memory stays flat whatever the file size: records are read one at a time, one record's text is
capped (``max_record_chars``), and nothing accumulates across records.

It does not own what the columns mean: whether a header matches a layout, whether a value is a
valid identifier, and what to mask are the policy layer's business (:mod:`xinan.policy.catalogue`,
:mod:`xinan.provider.jobs`). A file that cannot be used as a whole raises :class:`InputError` at
open; a record that cannot be used becomes a :class:`BadRow` and reading goes on.

No message, ``repr`` or reason carries a value from a record: they name files, rows and
columns. Only :attr:`BadRow.raw` holds the record's text, for the rejects file, which is
therefore written with mode 0600.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import io
import itertools
import json
import re
import sys
import tempfile
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, time
from enum import StrEnum
from pathlib import Path
from types import TracebackType
from typing import IO, TYPE_CHECKING, Any, BinaryIO, Self, cast

from xinan.errors import InputError, Location, UsageError
from xinan.fileio import STDIO, atomic_writer, protected

if TYPE_CHECKING:
    from _csv import Reader as _CsvReader

__all__ = [
    "RAW_LIMIT",
    "SAMPLE_BYTES",
    "BadRow",
    "Format",
    "RecordReader",
    "RecordWriter",
    "RejectsWriter",
    "Row",
    "open_records",
    "open_rejects",
    "open_writer",
]

# --------------------------------------------------------------------------------------------
# Models
# --------------------------------------------------------------------------------------------


class Format(StrEnum):
    """A record file format (docs/records.md §1)."""

    CSV = "csv"
    JSONL = "jsonl"
    XLSX = "xlsx"


@dataclass(frozen=True, slots=True)
class Row:
    """One record: its row number (docs/records.md §4) and its values in header order."""

    number: int
    values: list[str]

    def __repr__(self) -> str:  # values stay out of reprs (DEVELOPING.md: no clear values)
        return f"Row(number={self.number}, values=<{len(self.values)} values>)"


@dataclass(frozen=True, slots=True)
class BadRow:
    """A record that cannot be used.

    ``column`` names the column where the problem is (a header name, or ``"(extra column N)"``
    for a field past the header's width), or is ``None`` when the problem has no column.
    ``reason`` never quotes a value. ``raw`` is the record's text for the rejects file: bytes
    that did not decode shown as ``\\xNN``, NUL as ``\\x00``, cut at :data:`RAW_LIMIT` characters
    with a marker. It holds clear data, so it never goes into a message or a log.
    """

    number: int
    column: str | None
    reason: str
    raw: str = ""

    def __repr__(self) -> str:  # raw stays out of reprs (DEVELOPING.md: no clear values)
        return f"BadRow(number={self.number}, column={self.column!r}, reason={self.reason!r})"


#: Characters of a record kept in :attr:`BadRow.raw`.
RAW_LIMIT = 4096
#: Bytes read from the start of a file to detect its encoding (docs/records.md §2).
SAMPLE_BYTES = 64 * 1024
#: How many rejects an :func:`open_rejects` writer keeps (without ``raw``) for a summary.
SAMPLE_REJECTS = 20

_CHUNK_CHARS = 1 << 20  # read size while skipping past a record too long to parse
# Undecodable bytes come back as U+DC80..U+DCFF under errors="surrogateescape" (PEP 383).
_BAD_CHAR = re.compile("[\x00\udc80-\udcff]")
_ESCAPE = re.compile("[\x00\ud800-\udfff]")
_LINE_BREAK = re.compile("\r\n|\r|\n")

_UTF8_BOM = codecs.BOM_UTF8
_UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
_ZIP_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # legacy .xls (and .doc …)

# Explicit encodings honoured, name asked -> codec used. GBK and GB2312 are read with the
# GB18030 codec: GB 18030 is a superset of both, so every valid GBK file decodes the same.
_ENCODINGS = {
    "utf-8": "utf-8-sig",  # a BOM is not data: drop it even when plain utf-8 was asked for
    "utf-8-sig": "utf-8-sig",
    "gb18030": "gb18030",
    "gbk": "gb18030",
    "gb2312": "gb18030",
}
_ENCODING_ALIASES = {
    "utf8": "utf-8",
    "utf-8sig": "utf-8-sig",
    "utf8-sig": "utf-8-sig",
    "gb-18030": "gb18030",
    "gb-2312": "gb2312",
    "cp936": "gbk",  # Windows' name for GBK
}

_READ_EXTENSIONS = {
    ".csv": Format.CSV,
    ".tsv": Format.CSV,
    ".txt": Format.CSV,
    ".jsonl": Format.JSONL,
    ".ndjson": Format.JSONL,
    ".json": Format.JSONL,
    ".xlsx": Format.XLSX,
    ".xlsm": Format.XLSX,
}


def _display(path: str | Path) -> str:
    return "<stdin>" if str(path) == STDIO else str(path)


def _format_for(path: str | Path, fmt: Format | str | None) -> Format:
    if fmt is not None:
        try:
            return Format(fmt)
        except ValueError:
            raise UsageError(
                f"unknown record format {fmt!r}", hint="use one of: csv, jsonl, xlsx"
            ) from None
    if str(path) == STDIO:
        return Format.CSV
    suffix = Path(path).suffix.lower()
    if suffix == ".xls":
        raise UsageError(
            f"{path}: legacy Excel .xls files are not supported",
            hint="open it in Excel or WPS and save it as .xlsx or as CSV UTF-8",
        )
    return _READ_EXTENSIONS.get(suffix, Format.CSV)


def _normalise_encoding(name: str) -> str:
    key = name.strip().lower().replace("_", "-")
    key = _ENCODING_ALIASES.get(key, key)
    if key not in _ENCODINGS:
        raise UsageError(
            f"unsupported encoding {name!r}",
            hint="use one of: " + ", ".join(_ENCODINGS) + " (or leave it out to detect it)",
        )
    return key


def _escape_raw(text: str) -> str:
    """Make record text printable and encodable: undecodable bytes -> \\xNN, NUL -> \\x00."""

    def one(m: re.Match[str]) -> str:
        code = ord(m.group())
        if 0xDC80 <= code <= 0xDCFF:
            return f"\\x{code - 0xDC00:02x}"
        return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"

    return _ESCAPE.sub(one, text)


def _raw(text: str, total: int | None = None) -> str:
    """The text of a record for :attr:`BadRow.raw`: escaped, without its line break, capped.

    *total* is the record's full length when *text* is only its beginning.
    """
    total = len(text) if total is None else total
    if total > RAW_LIMIT:
        return _escape_raw(text[:RAW_LIMIT]) + f"…[truncated: {total} characters in all]"
    if text.endswith("\n"):
        text = text[:-2] if text.endswith("\r\n") else text[:-1]
    elif text.endswith("\r"):
        text = text[:-1]
    return _escape_raw(text)


def _raw_from_values(values: Sequence[str]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="").writerow(values)
    return _raw(out.getvalue())


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


# --------------------------------------------------------------------------------------------
# Reading: the reader
# --------------------------------------------------------------------------------------------


class RecordReader:
    """A header and an iterator of :class:`Row` | :class:`BadRow` over one record file.

    Open it with :func:`open_records`; use it as a context manager (it closes the file) and
    iterate it once. Attributes: ``path`` (as given; ``"-"`` is standard input), ``format``,
    ``encoding`` (the encoding used, as asked or detected; ``None`` for XLSX),
    ``encoding_detected``, ``header``, ``header_row`` (its row number, 1 unless blank lines
    come first) and ``delimiter`` (CSV only).
    """

    def __init__(
        self,
        path: str | Path,
        *,
        encoding: str | None,
        format: Format | None,
        max_field_chars: int,
        max_columns: int,
        max_record_chars: int | None,
        sheet: str | None,
    ) -> None:
        if max_field_chars < 1 or max_columns < 1:
            raise UsageError("max_field_chars and max_columns must be at least 1")
        self.path = str(path)
        self.format = _format_for(path, format)
        self.encoding: str | None = None
        self.encoding_detected = False
        self.header: list[str] = []
        self.header_row = 1
        self.delimiter: str | None = None
        self._where = _display(path)
        self._max_field = max_field_chars
        self._max_columns = max_columns
        self._max_record = max(
            max_record_chars if max_record_chars is not None else 4 * max_field_chars,
            max_field_chars,
        )
        self._lines: list[str] = []  # the text of the record being parsed (CSV)
        self._drop_lf = False  # see _skip_record
        self._text: IO[str] | None = None
        self._closer = contextlib.ExitStack()
        # issue 11: while this file is read, no output may replace it (xinan.fileio)
        self._closer.enter_context(protected(path, "the input"))
        self._rows: Iterator[Row | BadRow]
        try:
            if self.format is Format.XLSX:
                self._rows = self._open_xlsx(sheet)
            else:
                self._open_text(encoding)
                if self.format is Format.CSV:
                    self._rows = self._open_csv()
                else:
                    self._rows = self._open_jsonl()
        except BaseException:
            self._closer.close()
            raise

    # -- the iterator protocol and closing ----------------------------------------------------

    def __iter__(self) -> Iterator[Row | BadRow]:
        # Hand out the generator itself: a for loop then runs without a Python-level __next__.
        return self._rows

    def __next__(self) -> Row | BadRow:
        return next(self._rows)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the file (standard input is left open). Safe to call twice."""
        rows = getattr(self, "_rows", None)
        if rows is not None and hasattr(rows, "close"):
            rows.close()
        self._closer.close()

    def __repr__(self) -> str:
        return (
            f"RecordReader(path={self.path!r}, format={self.format.value!r}, "
            f"encoding={self.encoding!r}, columns={len(self.header)})"
        )

    # -- shared helpers ----------------------------------------------------------------------

    def _error(
        self, message: str, *, row: int | None = None, column: str | None = None, hint: str
    ) -> InputError:
        return InputError(message, location=Location(self._where, row, column), hint=hint)

    def _empty(self) -> InputError:
        return self._error(
            "file is empty",
            hint="the file has no header row and no records; check that the export finished "
            "and that this is the right file",
        )

    def _column(self, index: int) -> str:
        return self.header[index] if index < len(self.header) else f"(extra column {index + 1})"

    def _undecodable(self) -> str:
        if self.encoding_detected:
            return (
                f"bytes not valid in {self.encoding} (the encoding detected from the start of "
                "the file; name the encoding if that is wrong)"
            )
        return f"bytes not valid in {self.encoding}"

    def _check_header(self, names: list[str], row: int) -> list[str]:
        """Trim the names and refuse an unusable header (docs/records.md §5)."""
        header = [name.strip().strip("\ufeff").strip() for name in names]
        if len(header) > self._max_columns:
            raise self._error(
                f"header has {len(header)} columns, more than the limit of {self._max_columns}",
                row=row,
                hint="check the delimiter, or raise max_columns if the file really is this wide",
            )
        seen: dict[str, int] = {}
        for position, name in enumerate(header, 1):
            found = _BAD_CHAR.search(name)
            if found is not None:
                what = "a NUL byte" if found.group() == "\x00" else self._undecodable()
                raise self._error(
                    f"header column {position} contains {what}",
                    row=row,
                    hint="name the file's encoding (utf-8, gb18030, gbk) if it was guessed wrong",
                )
            if not name:
                raise self._error(
                    f"header column {position} has an empty name",
                    row=row,
                    hint="give every column a name in the header row (and remove stray "
                    "delimiters at its end)",
                )
            if len(name) > self._max_field:
                raise self._error(
                    f"header column {position} is longer than {self._max_field} characters",
                    row=row,
                    hint="the first row must be the header",
                )
            if name in seen:
                raise self._error(
                    f"header column {position} repeats the name of column {seen[name]}",
                    row=row,
                    column=name,
                    hint="give every column a distinct name",
                )
            seen[name] = position
        return header

    # -- text formats: bytes -> str (docs/records.md §2) --------------------------------------

    def _open_text(self, encoding: str | None) -> None:
        source: BinaryIO
        if self.path == STDIO:
            source = sys.stdin.buffer
        else:
            try:
                source = open(self.path, "rb")  # noqa: SIM115 -- closed by self._closer
            except FileNotFoundError:
                raise self._error("no such file", hint="check the path") from None
            except IsADirectoryError:
                raise self._error("is a directory, not a file", hint="name a file") from None
            except OSError as exc:
                raise self._error(
                    f"cannot be opened ({exc.strerror})", hint="check the path and permissions"
                ) from None
            self._closer.enter_context(source)
        sample = source.read(SAMPLE_BYTES)
        complete = len(sample) < SAMPLE_BYTES
        self._check_magic(sample)

        if encoding is None:
            asked = _detect_encoding(sample, complete)
            self.encoding_detected = True
        else:
            asked = _normalise_encoding(encoding)
        self.encoding = asked
        codec = _ENCODINGS[asked]

        stream: IO[bytes]
        if source is not sys.stdin.buffer and source.seekable():
            source.seek(0)
            stream = source
        else:  # standard input (maybe a pipe): put the sample back in front of the rest
            stream = io.BufferedReader(_Prefixed(sample, source), buffer_size=1 << 16)
        # surrogateescape keeps undecodable bytes as U+DC80..U+DCFF, so one bad byte costs one
        # BadRow, not the run (docs/records.md §6).
        text = io.TextIOWrapper(
            stream,
            encoding=codec,
            errors="surrogateescape",
            # CSV: "" keeps \r\n inside quoted fields for csv; JSON Lines: records end at \n.
            newline="" if self.format is Format.CSV else "\n",
        )
        self._text = text
        if source is sys.stdin.buffer:
            self._closer.callback(text.detach)
        else:
            self._closer.callback(text.close)
        if self.format is Format.CSV:
            self.delimiter = _sniff_delimiter(sample.decode(codec, "surrogateescape"))

    def _check_magic(self, sample: bytes) -> None:
        if sample.startswith(_UTF16_BOMS):
            raise self._error(
                "file is UTF-16 (Excel's 'Unicode text'), which is not supported",
                hint="save it as 'CSV UTF-8' (or GB18030) and try again",
            )
        if sample.startswith(_ZIP_MAGIC):
            raise self._error(
                "looks like an Excel workbook (.xlsx), not a text file",
                hint="name it with the .xlsx extension, or choose the xlsx format",
            )
        if sample.startswith(_OLE_MAGIC):
            raise self._error(
                "looks like a legacy Excel .xls workbook, which is not supported",
                hint="open it in Excel or WPS and save it as .xlsx or as CSV UTF-8",
            )

    def _readline(self, size: int) -> str:
        text = self._text
        if text is None:  # pragma: no cover - only reached after close()
            return ""
        return text.readline(size)

    # -- CSV (docs/records.md §3.1) -----------------------------------------------------------

    def _new_reader(self) -> _CsvReader:
        # csv's field limit is process-wide; make it at least our own cap so that the record
        # cap below, not csv, decides what is too long (csv would lose the record boundary).
        limit = self._max_record + 1
        if csv.field_size_limit() < limit:
            csv.field_size_limit(limit)
        return csv.reader(self._feed(), delimiter=self.delimiter or ",", strict=False)

    def _feed(self) -> Iterator[str]:
        """Physical lines for csv, remembered in self._lines until the record is taken.

        Raises _RecordTooLong as soon as a record's text passes max_record_chars (memory
        stays bounded even for a quote that never closes in a 10 GB file) and _Unterminated at
        end of file when csv is still inside a record (only a quote can keep it there).
        """
        readline = self._readline
        lines = self._lines
        cap = self._max_record
        limit = cap + 1
        size = 0
        line = readline(limit)
        if self._drop_lf and line == "\n":
            line = readline(limit)
        self._drop_lf = False
        while True:
            if not line:
                if lines:
                    raise _Unterminated
                return
            size = size + len(line) if lines else len(line)
            lines.append(line)
            if size > cap:
                raise _RecordTooLong
            yield line
            line = readline(limit)

    def _open_csv(self) -> Iterator[Row | BadRow]:
        lines = self._lines
        reader = self._new_reader()
        line = 0
        try:
            for fields in reader:
                start = line + 1
                line = reader.line_num
                lines.clear()
                if not "".join(fields).strip():  # blank lines before the header
                    continue
                self.header = self._check_header(fields, start)
                self.header_row = start
                return self._csv_rows(reader, line)
        except _RecordTooLong:
            raise self._error(
                f"the header is longer than {self._max_record} characters",
                row=line + 1,
                hint="check that the first row is a header and that its quotes are balanced",
            ) from None
        except _Unterminated:
            raise self._error(
                "unterminated quoted field in the header",
                row=line + 1,
                hint='a field that starts with " must end with "; check the quotes',
            ) from None
        except csv.Error as exc:
            raise self._error(
                f"the header is not valid CSV ({exc})", row=line + 1, hint="check the quotes"
            ) from None
        raise self._empty()

    def _csv_rows(self, reader: _CsvReader, line: int) -> Iterator[Row | BadRow]:
        """The records after the header. ``line``: physical lines consumed so far.

        The loop body is the hot path: a record costs csv's C parser, one length comparison,
        one regex search over its text and the Row; everything else is off that path.
        """
        lines = self._lines
        header = self.header
        ncols = len(header)
        max_field = self._max_field
        search = _BAD_CHAR.search
        # A record's text is at least its delimiters and line break; one no longer than that
        # may be all-empty (",,,"), which only the slow path looks at.
        short = ncols + 1
        # Lines of nothing but delimiters (",,,,": Excel's formatted empty rows) are dropped at
        # the end of the file; runs of their row numbers wait here until a later record shows
        # they were not at the end.
        empties: list[list[int]] = []
        base = line - reader.line_num
        while True:
            try:
                for fields in reader:
                    start = line + 1
                    line = base + reader.line_num
                    text = lines[0] if len(lines) == 1 else "".join(lines)
                    lines.clear()
                    if (
                        len(fields) == ncols
                        and short < len(text) <= max_field
                        and search(text) is None
                    ):
                        if empties:
                            yield from self._flush_empties(empties)
                        yield Row(start, fields)
                        continue
                    # -- slow path: blank, all-empty or a problem ------------------------------
                    n = len(fields)
                    if n == 0 or (n == 1 and ncols > 1 and not text.strip()):
                        continue  # a blank line is not a record
                    if n == ncols and not any(fields) and '"' not in text:
                        if empties and empties[-1][1] == start - 1:
                            empties[-1][1] = start
                        else:
                            empties.append([start, start])
                        continue
                    if empties:
                        yield from self._flush_empties(empties)
                    bad = self._csv_problem(start, fields, text)
                    yield Row(start, fields) if bad is None else bad
            except _Unterminated:
                yield from self._flush_empties(empties)
                start = line + 1
                end = base + reader.line_num
                text = "".join(lines)
                lines.clear()
                scanner = _RecordScanner(reader.dialect.delimiter, max_field)
                scanner.feed(text)
                yield BadRow(
                    start,
                    self._column(scanner.field),
                    "unterminated quoted field; the rest of the file "
                    f"(rows {start}–{end}) could not be parsed",
                    _raw(text),
                )
                return
            except (_RecordTooLong, csv.Error) as exc:
                yield from self._flush_empties(empties)
                start = line + 1
                bad, used, at_end = self._skip_record(start, exc)
                yield bad
                if at_end:
                    return
                line = start - 1 + used
                reader = self._new_reader()
                base = line
            else:
                return

    def _flush_empties(self, empties: list[list[int]]) -> Iterator[Row]:
        ncols = len(self.header)
        for first, last in empties:
            for number in range(first, last + 1):
                yield Row(number, [""] * ncols)
        empties.clear()

    def _csv_problem(self, start: int, fields: list[str], text: str) -> BadRow | None:
        """The first problem of a parsed record, in the order of docs/records.md §6."""
        max_field = self._max_field
        if len(text) > max_field:
            for index, value in enumerate(fields):
                if len(value) > max_field:
                    return BadRow(
                        start,
                        self._column(index),
                        f"field longer than {max_field} characters",
                        _raw(text),
                    )
        if _BAD_CHAR.search(text) is not None:
            for index, value in enumerate(fields):
                found = _BAD_CHAR.search(value)
                if found is not None:
                    reason = "NUL byte" if found.group() == "\x00" else self._undecodable()
                    return BadRow(start, self._column(index), reason, _raw(text))
        ncols, n = len(self.header), len(fields)
        if n != ncols:
            column = self.header[n] if n < ncols else self._column(ncols)
            return BadRow(
                start,
                column,
                f"row has {n} field{'' if n == 1 else 's'}, header has {ncols}",
                _raw(text),
            )
        return None

    def _skip_record(self, start: int, exc: Exception) -> tuple[BadRow, int, bool]:
        """Step past a record csv could not finish (too long, or malformed).

        Follows the quoting from the record's first line (docs/records.md §6) to where it ends,
        reading on in chunks and keeping only the first RAW_LIMIT characters. Returns the
        BadRow, the physical lines the record used, and whether the file ended.
        """
        lines = list(self._lines)
        self._lines.clear()
        delimiter = self.delimiter or ","
        scanner = _RecordScanner(delimiter, self._max_field)
        head: list[str] = []
        kept = 0
        total = 0
        used = 0
        ended = False
        last = ""
        for chunk in itertools.chain(lines, iter(lambda: self._readline(_CHUNK_CHARS), "")):
            total += len(chunk)
            if kept <= RAW_LIMIT:
                head.append(chunk[: RAW_LIMIT + 1 - kept])
                kept += len(head[-1])
            # A read cut by its size limit can split a "\r\n"; the "\n" then comes alone and
            # is not another line.
            if chunk.endswith(("\n", "\r")) and not (chunk == "\n" and last.endswith("\r")):
                used += 1
            last = chunk
            if scanner.feed(chunk):
                ended = True
                break
        # A record that ended at a "\r" may be half of a split "\r\n": the feeder drops a "\n"
        # that comes next alone, so that no blank line appears that is not in the file.
        self._drop_lf = ended and last.endswith("\r")
        at_end = not ended
        if at_end:
            scanner.finish()
            if last and not last.endswith(("\n", "\r")):
                used += 1  # a last line without a line break
        raw = _raw("".join(head), total)
        if at_end and scanner.unterminated:
            return (
                BadRow(
                    start,
                    self._column(scanner.field),
                    "unterminated quoted field; the rest of the file "
                    f"(rows {start}–{start + used - 1}) could not be parsed",
                    raw,
                ),
                used,
                True,
            )
        if isinstance(exc, csv.Error):
            reason, column = f"malformed CSV ({exc})", None
        elif scanner.long_field is not None:
            reason = f"field longer than {self._max_field} characters"
            column = self._column(scanner.long_field)
        else:
            reason, column = f"record longer than {self._max_record} characters", None
        return BadRow(start, column, reason, raw), used, at_end

    # -- JSON Lines (docs/records.md §3.2) -----------------------------------------------------

    def _physical_lines(self) -> Iterator[tuple[int, str, bool]]:
        """(line number, text, whole) for each line; a line past the cap is cut, then skipped."""
        cap = self._max_record
        number = 0
        while True:
            line = self._readline(cap + 1)
            if not line:
                return
            number += 1
            if len(line) <= cap:
                yield number, line, True
                continue
            head = line[: RAW_LIMIT + 1]
            while not line.endswith("\n"):
                line = self._readline(_CHUNK_CHARS)
                if not line:
                    break
            yield number, head, False

    def _open_jsonl(self) -> Iterator[Row | BadRow]:
        lines = self._physical_lines()
        for number, line, whole in lines:
            if not line.strip():
                continue
            if not whole:
                raise self._error(
                    f"the first line is longer than {self._max_record} characters",
                    row=number,
                    hint="each line must hold one JSON object",
                )
            parsed = _parse_json_object(line)
            if not isinstance(parsed, list):
                raise self._error(
                    f"the first line is not a JSON object ({parsed})",
                    row=number,
                    hint="JSON Lines: one JSON object per line; the keys of the first object "
                    "are the header",
                )
            keys = [key for key, _ in parsed]
            for position, key in enumerate(keys, 1):
                if not key.strip():
                    raise self._error(
                        f"key {position} of the first object is empty",
                        row=number,
                        hint="give every key a name",
                    )
                if key in keys[: position - 1]:
                    raise self._error(
                        f"key {position} of the first object repeats the key {keys.index(key) + 1}",
                        row=number,
                        column=key,
                        hint="give every key a distinct name",
                    )
            if len(keys) > self._max_columns:
                raise self._error(
                    f"the first object has {len(keys)} keys, more than the limit of "
                    f"{self._max_columns}",
                    row=number,
                    hint="raise max_columns if the records really are this wide",
                )
            self.header = keys
            self.header_row = number
            return self._jsonl_rows(itertools.chain([(number, line, True)], lines))
        raise self._empty()

    def _jsonl_rows(self, lines: Iterator[tuple[int, str, bool]]) -> Iterator[Row | BadRow]:
        header = self.header
        position = {key: index for index, key in enumerate(header)}
        ncols = len(header)
        max_field = self._max_field
        for number, line, whole in lines:
            if not whole:
                yield BadRow(
                    number, None, f"line longer than {self._max_record} characters", _raw(line)
                )
                continue
            if not line.strip():
                continue
            parsed = _parse_json_object(line)
            if not isinstance(parsed, list):
                yield BadRow(number, None, parsed, _raw(line))
                continue
            values: list[str | None] = [None] * ncols
            problem: tuple[str | None, str] | None = None
            for key, value in parsed:
                index = position.get(key)
                if index is None:
                    problem = (key, "key not in the header (the keys of the first object)")
                    break
                if values[index] is not None:
                    problem = (key, "key repeated")
                    break
                text = _json_value_text(value)
                if text is None:
                    problem = (key, "nested value (object or array) where text was expected")
                    break
                values[index] = text
            if problem is None:
                for index, value in enumerate(values):
                    if value is None:
                        problem = (header[index], "key missing")
                        break
            done = cast("list[str]", values)  # every slot is filled when problem is None
            if problem is None:
                for index, value in enumerate(done):
                    if len(value) > max_field:
                        problem = (header[index], f"field longer than {max_field} characters")
                        break
                    found = _ESCAPE.search(value)
                    if found is not None:
                        problem = (header[index], self._char_problem(found.group()))
                        break
            if problem is not None:
                yield BadRow(number, problem[0], problem[1], _raw(line))
            else:
                yield Row(number, done)

    def _char_problem(self, char: str) -> str:
        if char == "\x00":
            return "NUL byte"
        if "\udc80" <= char <= "\udcff":
            return self._undecodable()
        return "lone surrogate (a \\ud800-\\udfff escape that is not a character)"

    # -- XLSX (docs/records.md §3.3) -----------------------------------------------------------

    def _open_xlsx(self, sheet: str | None) -> Iterator[Row | BadRow]:

        import openpyxl  # imported here: it is slow to import and only XLSX needs it
        from openpyxl.worksheet._read_only import ReadOnlyWorksheet

        source: str | IO[bytes] = self.path
        if self.path == STDIO:
            # openpyxl needs to seek; spool the pipe to an unnamed file on disk, not memory.
            spool = self._closer.enter_context(tempfile.TemporaryFile())  # noqa: SIM115
            while chunk := sys.stdin.buffer.read(1 << 20):
                spool.write(chunk)
            spool.seek(0)
            source = spool
        elif not Path(self.path).is_file():
            raise self._error("no such file", hint="check the path")
        try:
            with warnings.catch_warnings():
                # openpyxl warns about styles and extensions it ignores; they hold no data.
                warnings.simplefilter("ignore", UserWarning)
                workbook = openpyxl.load_workbook(source, read_only=True, data_only=True)
        except Exception:
            # openpyxl parses hostile bytes (a zip of XML) and fails in many ways (BadZipFile,
            # InvalidFileException, zlib.error, XML ParseError, KeyError, TypeError…); each means
            # the same: this file cannot be read (issue 11: parsers raise only xinan's errors).
            raise self._error(
                "not a readable .xlsx workbook",
                hint="open it in Excel or WPS and save it again as .xlsx, or export CSV UTF-8",
            ) from None
        self._closer.callback(workbook.close)
        if not workbook.worksheets:
            raise self._error("has no sheet", hint="save the workbook with its data sheet")
        if sheet is None:
            worksheet = workbook.worksheets[0]
        elif sheet in workbook.sheetnames:
            worksheet = workbook[sheet]
        else:
            raise self._error(
                f"has no sheet named {sheet!r}",
                hint="sheets: " + ", ".join(repr(name) for name in workbook.sheetnames),
            )
        if not isinstance(worksheet, ReadOnlyWorksheet):
            raise self._error("the sheet is a chart, not a table", hint="choose another sheet")
        # The <dimension> a file declares can be wrong (some exporters write "A1"); openpyxl
        # would stop reading at it. Forget it and read every row there is.
        worksheet.reset_dimensions()
        rows = enumerate(self._xlsx_guard(worksheet.iter_rows(min_row=1, values_only=True)), 1)
        for number, cells in rows:
            names = [_cell_text(cell) for cell in cells]
            while names and not names[-1].strip():
                names.pop()  # a sheet is wider than its table: trailing empty cells
            if not names:
                continue
            self.header = self._check_header(names, number)
            self.header_row = number
            return self._xlsx_rows(rows)
        raise self._empty()

    def _xlsx_guard(self, cells: Iterator[tuple[Any, ...]]) -> Iterator[tuple[Any, ...]]:
        """openpyxl reads the sheet lazily: damage past the first rows surfaces while iterating.
        Any failure there (zlib.error, a bad CRC, broken XML…) makes the file unusable."""
        try:
            yield from cells
        except Exception:
            raise self._error(
                "not a readable .xlsx workbook (damaged inside)",
                hint="open it in Excel or WPS and save it again as .xlsx, or export CSV UTF-8",
            ) from None

    def _xlsx_rows(self, rows: Iterator[tuple[int, tuple[Any, ...]]]) -> Iterator[Row | BadRow]:
        ncols = len(self.header)
        max_field = self._max_field
        for number, cells in rows:
            values = [_cell_text(cell) for cell in cells]
            if len(values) > ncols:
                extra = next((i for i in range(ncols, len(values)) if values[i]), None)
                if extra is not None:
                    n = len(values)
                    while not values[n - 1]:
                        n -= 1
                    yield BadRow(
                        number,
                        self._column(extra),
                        f"row has {n} fields, header has {ncols}",
                        _raw_from_values(values[:n]),
                    )
                    continue
                del values[ncols:]
            if not any(values):
                continue  # an empty row is not a record
            if len(values) < ncols:
                values.extend([""] * (ncols - len(values)))  # missing cells are empty cells
            long = next((i for i, value in enumerate(values) if len(value) > max_field), None)
            if long is not None:
                yield BadRow(
                    number,
                    self.header[long],
                    f"field longer than {max_field} characters",
                    _raw_from_values(values),
                )
                continue
            yield Row(number, values)


class _Pairs(list[tuple[str, Any]]):
    """A JSON object as its (key, value) pairs in order (so repeats and order survive)."""


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _parse_json_object(line: str) -> _Pairs | str:
    """The pairs of a JSON object, or the reason the line is not one."""
    try:
        parsed = json.loads(line, object_pairs_hook=_Pairs, parse_constant=_reject_constant)
    except RecursionError:
        return "not valid JSON (nested too deeply)"
    except ValueError:  # JSONDecodeError, and ints past sys.get_int_max_str_digits()
        return "not valid JSON"
    if not isinstance(parsed, _Pairs):
        return "not a JSON object"
    return parsed


def _json_value_text(value: Any) -> str | None:
    """A JSON scalar as text (docs/records.md §3.2); None for an object or array."""
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    return None


def _cell_text(value: Any) -> str:
    """A cell as text, as a spreadsheet shows it (docs/records.md §3.3)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        # Excel stores every number as a double; one with no fraction shows without ".0".
        if value.is_integer() and abs(value) < 2**53:
            return str(int(value))
        return repr(value)
    if isinstance(value, datetime):
        if value.time() == time(0, 0):
            return value.date().isoformat()
        return value.isoformat()
    if isinstance(value, date | time):
        return value.isoformat()
    return str(value)


def open_records(
    path: str | Path,
    *,
    encoding: str | None = None,
    format: Format | None = None,
    max_field_chars: int = 1_048_576,
    max_columns: int = 512,
    max_record_chars: int | None = None,
    sheet: str | None = None,
) -> RecordReader:
    """Open a record file for streaming (docs/records.md).

    *path* ``"-"`` reads standard input. *format* defaults to the one the extension names
    (``.csv``/``.tsv``/``.txt`` CSV, ``.jsonl``/``.ndjson``/``.json`` JSON Lines,
    ``.xlsx``/``.xlsm`` XLSX; anything else CSV). *encoding* (CSV and JSON Lines) is detected
    when not given; otherwise one of utf-8, utf-8-sig, gb18030, gbk, gb2312. A field longer
    than *max_field_chars* and a record whose text is longer than *max_record_chars* (default
    four times *max_field_chars*) become BadRows; a header wider than *max_columns* is refused.
    *sheet* picks an XLSX sheet by name (default: the first).

    Raises :class:`InputError` when the file cannot be used as a whole (missing, empty, bad
    header, not the format it claims) and :class:`UsageError` for a bad argument.
    """
    return RecordReader(
        path,
        encoding=encoding,
        format=format,
        max_field_chars=max_field_chars,
        max_columns=max_columns,
        max_record_chars=max_record_chars,
        sheet=sheet,
    )


# --------------------------------------------------------------------------------------------
# Writing (docs/records.md §7)
# --------------------------------------------------------------------------------------------


_WRITE_EXTENSIONS = {".csv": Format.CSV, ".jsonl": Format.JSONL, ".json": Format.JSONL}
_WRITE_ENCODINGS = {"utf-8", "utf-8-sig", "gb18030", "gbk"}


class _AtomicText:
    """A text stream over :func:`atomic_writer`'s binary file: committed or discarded whole."""

    def __init__(self, path: str | Path, encoding: str, secret: bool) -> None:
        self._context = atomic_writer(path, binary=True, secret=secret)
        binary = self._context.__enter__()
        try:
            self.stream = io.TextIOWrapper(binary, encoding=encoding, newline="")
        except BaseException:
            self._context.__exit__(*sys.exc_info())
            raise
        self.closed = False

    def commit(self) -> None:
        if self.closed:
            return
        self.closed = True
        try:
            self.stream.flush()
            self.stream.detach()  # hands the file (or stdout) back to atomic_writer
        except BaseException:
            self._context.__exit__(*sys.exc_info())
            raise
        self._context.__exit__(None, None, None)

    def abort(self, exc: BaseException | None = None) -> None:
        if self.closed:
            return
        self.closed = True
        error = exc or RuntimeError("record output abandoned")
        with contextlib.suppress(BaseException):
            self.stream.detach()
        with contextlib.suppress(BaseException):
            self._context.__exit__(type(error), error, error.__traceback__)


class RecordWriter:
    """Writes records to one file, atomically: the file appears when closed without error.

    Open with :func:`open_writer` and use as a context manager. ``write(values)`` takes one
    value per header column; ``count`` is the number of records written. An exception in the
    ``with`` block (or :meth:`abort`) discards the output: nothing appears under the name.
    """

    def __init__(
        self,
        path: str | Path,
        header: Sequence[str],
        *,
        format: Format,
        encoding: str,
        secret: bool,
    ) -> None:
        names = list(header)
        if not names or any(not isinstance(n, str) or not n for n in names):
            raise ValueError("a header needs at least one column and no empty names")
        if len(set(names)) != len(names):
            raise ValueError("header names must be distinct")
        self.path = str(path)
        self.format = format
        self.encoding = encoding
        self.header = names
        self.count = 0
        self._where = _display(path)
        self._output = _AtomicText(path, encoding, secret)
        stream = self._output.stream
        self._write_line: Callable[[Sequence[str]], object]
        if format is Format.CSV:
            # RFC 4180: CRLF line ends; quotes only where needed.
            self._write_line = csv.writer(stream, lineterminator="\r\n").writerow
            self._first_row = 2
            self._write_line(names)
        else:
            encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
            write = stream.write

            def write_object(values: Sequence[str]) -> None:
                write(encode(dict(zip(names, values, strict=True))) + "\n")

            self._write_line = write_object
            self._first_row = 1

    def write(self, values: Sequence[str]) -> None:
        """Write one record. Raises ValueError when the number of values is not the header's,
        and InputError when a value cannot be written in the file's encoding."""
        if len(values) != len(self.header):
            raise ValueError(f"record has {len(values)} values, header has {len(self.header)}")
        try:
            self._write_line(values)
        except UnicodeEncodeError:
            raise self._unencodable(values) from None
        self.count += 1

    def write_encoded(self, data: bytes, count: int) -> None:
        """Append ``count`` CSV records already encoded in this file's encoding, exactly as
        :meth:`write` would have written them (the batch engine encodes a whole batch at once,
        docs/engine.md). CSV only: JSON Lines records go through :meth:`write`."""
        if self.format is not Format.CSV:
            raise ValueError("write_encoded is for CSV output")
        stream = self._output.stream
        stream.flush()  # the header (and its byte-order mark) go first
        stream.buffer.write(data)
        self.count += count

    def _unencodable(self, values: Sequence[str]) -> InputError:
        column = None
        for name, value in zip(self.header, values, strict=True):
            try:
                value.encode(self.encoding)
            except UnicodeEncodeError:
                column = name
                break
        return InputError(
            f"a value cannot be written in {self.encoding}",
            location=Location(self._where, self.count + self._first_row, column),
            hint="write UTF-8 (or GB18030, which covers all of Unicode) instead",
        )

    def close(self) -> None:
        """Finish the file: flush, fsync, rename into place."""
        self._output.commit()

    def abort(self) -> None:
        """Discard everything written; the final name is left as it was."""
        self._output.abort()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc is None:
            self.close()
        else:
            self._output.abort(exc)

    def __repr__(self) -> str:
        return f"RecordWriter(path={self.path!r}, format={self.format.value!r}, count={self.count})"


def open_writer(
    path: str | Path,
    header: Sequence[str],
    *,
    format: Format | None = None,
    encoding: str = "utf-8",
    secret: bool = False,
) -> RecordWriter:
    """Open a record file for writing, atomically (docs/records.md §7).

    *format* defaults to the one the extension names (``.csv`` CSV, ``.jsonl``/``.json``
    JSON Lines, anything else CSV); ``"-"`` writes CSV to standard output. XLSX is read-only
    (:class:`UsageError`). *encoding*: utf-8 (default), utf-8-sig (a BOM, for Excel), gb18030
    or gbk. *secret* makes the file mode 0600.
    """
    if format is None:
        if str(path) != STDIO and Path(path).suffix.lower() in (".xlsx", ".xlsm", ".xls"):
            fmt = Format.XLSX
        elif str(path) == STDIO:
            fmt = Format.CSV
        else:
            fmt = _WRITE_EXTENSIONS.get(Path(path).suffix.lower(), Format.CSV)
    else:
        fmt = _format_for(path, format)
    if fmt is Format.XLSX:
        raise UsageError(
            f"{_display(path)}: xinan does not write Excel workbooks",
            hint="write .csv (choose encoding utf-8-sig for Excel) or .jsonl",
        )
    key = _ENCODING_ALIASES.get(encoding.lower().replace("_", "-"), encoding.lower())
    if key not in _WRITE_ENCODINGS:
        raise UsageError(
            f"cannot write encoding {encoding!r}",
            hint="use one of: " + ", ".join(sorted(_WRITE_ENCODINGS)),
        )
    return RecordWriter(path, header, format=fmt, encoding=key, secret=secret)


# --------------------------------------------------------------------------------------------
# Rejects (docs/records.md §8)
# --------------------------------------------------------------------------------------------

REJECTS_HEADER = ("row", "column", "reason", "record")
# OWASP "CSV injection": a cell starting with one of these runs as a formula in Excel.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _defuse(cell: str) -> str:
    return "'" + cell if cell.startswith(_FORMULA_START) else cell


class RejectsWriter:
    """Collects the records a job could not use, with row, column and reason.

    ``count`` is the number of rejects; ``samples`` keeps the first :data:`SAMPLE_REJECTS` of
    them *without* their record text, for a summary. With a path, each reject is also written
    to the rejects file (atomically, mode 0600: it holds clear data).
    """

    def __init__(self, path: str | Path | None) -> None:
        self.path = None if path is None else str(path)
        self.count = 0
        self.samples: list[BadRow] = []
        self._output: _AtomicText | None = None
        self._write_line: Callable[[BadRow], object] | None = None
        if path is None:
            return
        jsonl = str(path) != STDIO and Path(path).suffix.lower() == ".jsonl"
        # Excel opens a CSV as UTF-8 only when it starts with a BOM; otherwise as the ANSI
        # code page (GBK on a Chinese Windows) and the Chinese turns to mojibake.
        self._output = _AtomicText(path, "utf-8" if jsonl else "utf-8-sig", secret=True)
        stream = self._output.stream
        if jsonl:
            encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
            write = stream.write

            def write_object(bad: BadRow) -> None:
                write(
                    encode(
                        {
                            "row": bad.number,
                            "column": bad.column,
                            "reason": bad.reason,
                            "record": bad.raw,
                        }
                    )
                    + "\n"
                )

            self._write_line = write_object
        else:
            writerow = csv.writer(stream, lineterminator="\r\n").writerow
            writerow(REJECTS_HEADER)

            def write_row(bad: BadRow) -> None:
                writerow((bad.number, _defuse(bad.column or ""), bad.reason, _defuse(bad.raw)))

            self._write_line = write_row

    def write(self, bad: BadRow) -> None:
        """Record one reject (a BadRow from a reader)."""
        if self._write_line is not None:
            # raw is escaped by the readers; escape again for BadRows made elsewhere.
            self._write_line(replace(bad, raw=_escape_raw(bad.raw)))
        self.count += 1
        if len(self.samples) < SAMPLE_REJECTS:
            self.samples.append(replace(bad, raw=""))

    def reject(
        self,
        row_number: int,
        column: str | None,
        reason: str,
        raw_values: Sequence[str] | None = None,
    ) -> None:
        """Record one reject found after reading (e.g. a policy check on a valid Row)."""
        raw = "" if raw_values is None else _raw_from_values(raw_values)
        self.write(BadRow(row_number, column, reason, raw))

    def close(self) -> None:
        if self._output is not None:
            self._output.commit()

    def abort(self) -> None:
        if self._output is not None:
            self._output.abort()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._output is None:
            return
        if exc is None:
            self.close()
        else:
            self._output.abort(exc)

    def __repr__(self) -> str:
        return f"RejectsWriter(path={self.path!r}, count={self.count})"


def open_rejects(path: str | Path | None) -> RejectsWriter:
    """Open a rejects file (docs/records.md §8), or with ``None`` only count the rejects.

    A path ending ``.jsonl`` gets JSON Lines; any other path (``"-"`` is standard output) gets
    CSV in UTF-8 with a BOM, columns ``row,column,reason,record``. With ``None`` nothing is
    written: ``count`` and the first ``samples`` (without record text) are kept for a summary.
    """
    return RejectsWriter(path)
