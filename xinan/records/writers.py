"""Writing records (docs/records.md §7), atomically."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from types import TracebackType
from typing import Self

from xinan.errors import InputError, Location, UsageError
from xinan.fileio import STDIO, atomic_writer
from xinan.records._common import (
    _ENCODING_ALIASES,
    Format,
    _display,
    _format_for,
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
    JSON Lines, ``.xlsx`` an Excel workbook of text cells (:mod:`xinan.records.xlsx_out`),
    anything else CSV); ``"-"`` writes CSV to standard output. *encoding* (CSV, JSON Lines):
    utf-8 (default), utf-8-sig (a BOM, for Excel), gb18030 or gbk. *secret* makes the file
    mode 0600.
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
        if str(path) == STDIO or Path(path).suffix.lower() != ".xlsx":
            raise UsageError(
                f"{_display(path)}: xinan writes Excel workbooks as .xlsx files only",
                hint="name the output *.xlsx, or write .csv (UTF-8 with a BOM) or .jsonl",
            )
        from xinan.records.xlsx_out import XlsxWriter

        return XlsxWriter(path, header, secret=secret)  # type: ignore[return-value]
    key = _ENCODING_ALIASES.get(encoding.lower().replace("_", "-"), encoding.lower())
    if key not in _WRITE_ENCODINGS:
        raise UsageError(
            f"cannot write encoding {encoding!r}",
            hint="use one of: " + ", ".join(sorted(_WRITE_ENCODINGS)),
        )
    return RecordWriter(path, header, format=fmt, encoding=key, secret=secret)
