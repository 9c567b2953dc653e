"""The rejects file (docs/records.md §8)."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from types import TracebackType
from typing import Self

from xinan.fileio import STDIO
from xinan.i18n.reasons import localise, reason_code
from xinan.records._common import (
    SAMPLE_REJECTS,
    BadRow,
    _escape_raw,
    _raw_from_values,
)
from xinan.records.writers import _AtomicText

# --------------------------------------------------------------------------------------------
# Rejects (docs/records.md §8)
# --------------------------------------------------------------------------------------------

# ``code``: the reason's stable machine code (xinan.i18n.reasons); ``reason`` is in the run's
# language (docs/i18n.md). ``reason`` keeps its place; ``code`` was added beside it.
REJECTS_HEADER = ("row", "column", "reason", "code", "record")
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
                            "reason": localise(bad.reason),
                            "code": reason_code(bad.reason),
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
                writerow(
                    (
                        bad.number,
                        _defuse(bad.column or ""),
                        localise(bad.reason),
                        reason_code(bad.reason),
                        _defuse(bad.raw),
                    )
                )

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
    CSV in UTF-8 with a BOM, columns ``row,column,reason,code,record`` (the reason in the
    language of the run, :mod:`xinan.i18n`; its stable code beside it). With ``None`` nothing is
    written: ``count`` and the first ``samples`` (without record text) are kept for a summary.
    """
    return RejectsWriter(path)
