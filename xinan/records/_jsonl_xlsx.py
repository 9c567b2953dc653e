"""Reading JSON Lines (docs/records.md §3.2) and XLSX (§3.3)."""

from __future__ import annotations

import itertools
import json
import sys
import tempfile
import warnings
from collections.abc import Iterator
from datetime import date, datetime, time
from pathlib import Path
from typing import IO, Any, cast

from xinan.fileio import STDIO
from xinan.records._base import _ReaderBase
from xinan.records._common import (
    _CHUNK_CHARS,
    _ESCAPE,
    RAW_LIMIT,
    BadRow,
    Row,
    _raw,
    _raw_from_values,
)


class _JsonlXlsxReading(_ReaderBase):
    """JSON Lines and XLSX records (docs/records.md §3.2, §3.3)."""

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
