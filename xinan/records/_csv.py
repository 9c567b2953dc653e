"""Reading CSV (docs/records.md §3.1): records, row numbers and bad records."""

from __future__ import annotations

import csv
import itertools
from collections.abc import Iterator, Sequence
from typing import IO, TYPE_CHECKING

from xinan.records._base import _ReaderBase
from xinan.records._common import (
    _BAD_CHAR,
    _CHUNK_CHARS,
    RAW_LIMIT,
    BadRow,
    Row,
    _raw,
)
from xinan.records._detect import _RecordScanner, _RecordTooLong, _Unterminated

if TYPE_CHECKING:
    from _csv import Reader as _CsvReader


class _CsvReading(_ReaderBase):
    """CSV records (docs/records.md §3.1, §6)."""

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


class _CsvText(_CsvReading):
    """The records of a CSV text that starts after the header: a byte range of a file, or the
    rest of it (docs/engine.md §3). Same rules, reasons and row numbers as the reader's own."""

    def __init__(
        self,
        text: IO[str],
        *,
        where: str,
        header: Sequence[str],
        delimiter: str,
        encoding: str | None,
        encoding_detected: bool,
        max_field_chars: int,
        max_record_chars: int,
    ) -> None:
        self.path = where
        self._where = where
        self.header = list(header)
        self.delimiter = delimiter
        self.encoding = encoding
        self.encoding_detected = encoding_detected
        self._max_field = max_field_chars
        self._max_record = max_record_chars
        self._max_columns = len(header)
        self._lines = []
        self._drop_lf = False
        self._text = text


def csv_records(
    text: IO[str],
    *,
    first_row: int,
    where: str,
    header: Sequence[str],
    delimiter: str,
    encoding: str | None,
    encoding_detected: bool = False,
    max_field_chars: int,
    max_record_chars: int,
) -> Iterator[Row | BadRow]:
    """The records of ``text`` — CSV after the header, whose first physical line is row
    ``first_row`` of the file ``where`` — exactly as :class:`RecordReader` reads them there
    (docs/records.md §3.1, §4, §6). ``text`` must start at a record boundary."""
    part = _CsvText(
        text,
        where=where,
        header=header,
        delimiter=delimiter,
        encoding=encoding,
        encoding_detected=encoding_detected,
        max_field_chars=max_field_chars,
        max_record_chars=max_record_chars,
    )
    return part._csv_rows(part._new_reader(), first_row - 1)
