"""The record reader (docs/records.md): one class over the CSV, JSON Lines and XLSX mixins."""

from __future__ import annotations

import contextlib
import io
import sys
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import IO, BinaryIO, Self

from xinan.errors import UsageError
from xinan.fileio import STDIO, protected
from xinan.records._common import (
    _ENCODINGS,
    _OLE_MAGIC,
    _UTF16_BOMS,
    _ZIP_MAGIC,
    SAMPLE_BYTES,
    BadRow,
    Format,
    Row,
    _display,
    _format_for,
    _normalise_encoding,
)
from xinan.records._csv import _CsvReading
from xinan.records._detect import _detect_encoding, _Prefixed, _sniff_delimiter
from xinan.records._jsonl_xlsx import _JsonlXlsxReading

# --------------------------------------------------------------------------------------------
# Reading: the reader
# --------------------------------------------------------------------------------------------


class RecordReader(_CsvReading, _JsonlXlsxReading):
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

    @property
    def max_field_chars(self) -> int:
        """The longest field this reader accepts (characters)."""
        return self._max_field

    @property
    def max_record_chars(self) -> int:
        """The longest record text this reader accepts (characters)."""
        return self._max_record

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
