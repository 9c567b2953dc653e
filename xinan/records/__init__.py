"""Streaming record readers and writers: CSV (UTF-8, BOM, GB18030/GBK), JSON Lines, XLSX.

This package owns the boundary between files and records. A reader turns a file into a header
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

# The package's modules (docs/records.md): _common (models, helpers), _detect (bytes, encodings),
# _base/_csv/_jsonl_xlsx/reader (the reader, by format), writers, rejects. Import paths are
# those of the single module this package replaced.
from xinan.records._common import (
    RAW_LIMIT,
    SAMPLE_BYTES,
    SAMPLE_REJECTS,
    BadRow,
    Format,
    Row,
)
from xinan.records._common import (
    _raw as _raw,
)
from xinan.records._common import (
    _raw_from_values as _raw_from_values,
)
from xinan.records._csv import csv_records
from xinan.records.reader import RecordReader, open_records
from xinan.records.rejects import REJECTS_HEADER, RejectsWriter, open_rejects
from xinan.records.writers import RecordWriter, open_writer

__all__ = [
    "RAW_LIMIT",
    "REJECTS_HEADER",
    "SAMPLE_BYTES",
    "SAMPLE_REJECTS",
    "BadRow",
    "Format",
    "RecordReader",
    "RecordWriter",
    "RejectsWriter",
    "Row",
    "csv_records",
    "open_records",
    "open_rejects",
    "open_writer",
]
