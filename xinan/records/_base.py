"""The shared part of the record readers: attributes, and errors that name file, row and column."""

from __future__ import annotations

import contextlib
from typing import IO

from xinan.errors import InputError, Location
from xinan.records._common import (
    _BAD_CHAR,
    Format,
)


class _ReaderBase:
    """What every reading mixin of :class:`~xinan.records.reader.RecordReader` shares: its
    attributes (set by ``RecordReader.__init__``) and the helpers that name the file, row and
    column of a problem."""

    path: str
    format: Format
    encoding: str | None
    encoding_detected: bool
    header: list[str]
    header_row: int
    delimiter: str | None
    _where: str
    _max_field: int
    _max_columns: int
    _max_record: int
    _lines: list[str]
    _drop_lf: bool
    _text: IO[str] | None
    _closer: contextlib.ExitStack[bool | None]

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
    def _readline(self, size: int) -> str:
        text = self._text
        if text is None:  # pragma: no cover - only reached after close()
            return ""
        return text.readline(size)

    def _char_problem(self, char: str) -> str:
        if char == "\x00":
            return "NUL byte"
        if "\udc80" <= char <= "\udcff":
            return self._undecodable()
        return "lone surrogate (a \\ud800-\\udfff escape that is not a character)"
