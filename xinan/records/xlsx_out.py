"""Writing records as an Excel workbook (``.xlsx``), for people who open outputs in Excel or WPS
(docs/records.md §7.1; issue 15 item 6).

One sheet, the header in row 1, one record per row, **every cell text**: an ID number or a
code never becomes a number (``110105194912310029`` would lose its last digits, ``0012``
its zeros) and a value beginning ``=`` never becomes a formula (CSV injection cannot happen
in a cell typed as text, so values are written as they are). The workbook appears under its
name atomically (:func:`xinan.fileio.atomic_writer`), mode 0600 when ``secret``.

openpyxl (already a dependency for reading workbooks) writes in its write-only mode: rows
are spooled to a temporary XML file (``openpyxl.*.xml`` in the system temporary directory,
mode 0600 as ``tempfile`` creates it) and zipped when the writer closes; the spool is
removed on close and on abort. A sheet holds at most 1,048,576 rows (Excel's limit): more
records than that are refused with a hint to write CSV.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from xinan.errors import InputError, Location
from xinan.fileio import STDIO, atomic_writer

MAX_ROWS = 1_048_576  # Excel 2007+: rows per sheet, the header included


class XlsxWriter:
    """The :class:`xinan.records.RecordWriter` interface over one ``.xlsx`` sheet."""

    def __init__(self, path: str | Path, header: Sequence[str], *, secret: bool) -> None:
        from openpyxl import Workbook

        from xinan.records import Format

        names = list(header)
        if not names or any(not isinstance(n, str) or not n for n in names):
            raise ValueError("a header needs at least one column and no empty names")
        if len(set(names)) != len(names):
            raise ValueError("header names must be distinct")
        if str(path) == STDIO:
            raise ValueError("a workbook is written to a file, not to standard output")
        self.path = str(path)
        self.format = Format.XLSX
        self.encoding = ""
        self.header = names
        self.count = 0
        self._secret = secret
        self._book = Workbook(write_only=True)
        self._sheet = self._book.create_sheet("records")
        self._done = False
        self._started = False  # the header goes in with the first row (or at close)

    def _start(self) -> None:
        if not self._started:
            self._started = True
            self._append(self.header)

    def _append(self, values: Sequence[str]) -> None:
        from openpyxl.cell import WriteOnlyCell

        cells = []
        for v in values:
            cell = WriteOnlyCell(self._sheet, value=v)
            cell.data_type = "s"  # text, always: never a number, a date or a formula
            cells.append(cell)
        self._sheet.append(cells)

    def write(self, values: Sequence[str]) -> None:
        """Write one record (one value per header column)."""
        if len(values) != len(self.header):
            raise ValueError(f"record has {len(values)} values, header has {len(self.header)}")
        if self.count + 2 > MAX_ROWS:
            raise InputError(
                f"more than {MAX_ROWS - 1:,} records do not fit in one .xlsx sheet",
                location=Location(self.path, self.count + 2),
                hint="write .csv (UTF-8 with a BOM opens in Excel) and split it if needed",
            )
        self._start()
        self._append(["" if v is None else str(v) for v in values])
        self.count += 1

    def write_encoded(self, data: bytes, count: int) -> None:
        raise ValueError("write_encoded is for CSV output")

    def close(self) -> None:
        """Zip the workbook and put it in place, atomically."""
        if self._done:
            return
        self._done = True
        self._start()
        with atomic_writer(self.path, binary=True, secret=self._secret) as out:
            self._book.save(out)

    def abort(self) -> None:
        """Discard the workbook: nothing appears under its name, the spool is removed."""
        if self._done:
            return
        self._done = True
        if not self._started:
            return  # openpyxl has not started its spool yet
        sheet: Any = self._sheet
        with contextlib.suppress(Exception):
            sheet.close()  # ends openpyxl's row generator and closes its spool file
        writer: Any = getattr(sheet, "_writer", None)
        if writer is not None:
            with contextlib.suppress(Exception):
                writer.cleanup()  # removes the spool

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
            self.abort()

    def __repr__(self) -> str:
        return f"XlsxWriter(path={self.path!r}, count={self.count})"
