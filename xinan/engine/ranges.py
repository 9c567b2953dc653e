"""CSV in byte ranges, parsed by the workers (docs/engine.md §3).

The parent process only cuts the file: it reads blocks of bytes, ends each at a line break,
counts the line breaks (so it knows the row number each block starts at, docs/records.md §4)
and hands the bytes to a worker. The worker decodes them (UTF-8, or GB18030/GBK transcoded to
UTF-8) and parses them with pyarrow's C++ CSV reader into an Arrow batch. The parent's share
of the work is a few memchr-speed passes over the bytes, so reading no longer runs on one core.

A block is cut this way only when it is *plain*: no quote character (so no record spans a line
break and every physical line is one record or no record), no lone carriage return (so line
breaks are what the parent counted), and no line of delimiters only (all fields empty: such
lines are dropped at the end of the file, docs/records.md §6 — a rule a block cannot decide
alone). From the first block that is not plain, the rest of the file is read by the record
reader's own CSV code in the parent, as before.

In the worker, a plain block whose every line parses into exactly the header's number of
fields, with no NUL byte, no byte invalid in the encoding and no field over the limits, is taken
as pyarrow parsed it; any other block is parsed by :func:`xinan.records.csv_records` — the
reader's own rules, reasons and row numbers — so a bad row in the middle lands in the rejects
file with its row number, exactly as when the parent reads the whole file.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from xinan.engine.batch import ROW_COLUMN
from xinan.records import BadRow, Format, RecordReader, Row, csv_records

# Bytes per block: about ``rows`` lines of the file (from the first block's average line), at
# least this many bytes.
_MIN_BLOCK = 16 * 1024
_STRING = pa.string()
# The codecs a block is decoded with (a BOM is part of the header line, never of a block).
_BLOCK_CODECS = {"utf-8": "utf-8", "utf-8-sig": "utf-8", "gb18030": "gb18030", "gbk": "gb18030",
                 "gb2312": "gb18030"}  # fmt: skip


@dataclass(frozen=True)
class RangeSpec:
    """What a worker needs to parse a block (no secret, plain data: it is pickled)."""

    where: str
    header: tuple[str, ...]
    delimiter: str
    codec: str
    encoding: str | None
    encoding_detected: bool
    max_field: int
    max_record: int


@dataclass
class RangeChunk:
    """A block of a file's bytes, cut at a line break: rows ``first_row`` to
    ``first_row + lines - 1``. Parsed by :func:`parse_range` in a worker."""

    index: int
    data: bytes
    first_row: int
    lines: int
    spec: RangeSpec
    progress: float | None = None

    @property
    def end_row(self) -> int:
        return self.first_row + self.lines


def range_spec(reader: RecordReader) -> RangeSpec | None:
    """The spec to read ``reader``'s file in byte ranges, or None when it must be read whole
    by the reader (not a CSV file, standard input, or a header that is not the first line)."""
    if reader.format is not Format.CSV or reader.path == "-" or reader.header_row != 1:
        return None
    codec = _BLOCK_CODECS.get(reader.encoding or "")
    if codec is None or not Path(reader.path).is_file():
        return None
    return RangeSpec(
        where=reader.path,
        header=tuple(reader.header),
        delimiter=reader.delimiter or ",",
        codec=codec,
        encoding=reader.encoding,
        encoding_detected=reader.encoding_detected,
        max_field=reader.max_field_chars,
        max_record=reader.max_record_chars,
    )


def _plain(block: bytes, delimiter: bytes) -> bool:
    """No quote, no lone CR, no line of delimiters only (see the module docstring)."""
    return (
        b'"' not in block
        and block.count(b"\r") == block.count(b"\r\n")
        and not _delimiters_only_line(block, delimiter)
    )


def _delimiters_only_line(block: bytes, delimiter: bytes) -> bool:
    """Whether a line of ``block`` is nothing but delimiters (``,,,,``: all fields empty)."""
    at = 0 if block.startswith(delimiter) else block.find(b"\n" + delimiter) + 1
    while at != 0 or block.startswith(delimiter):
        end = block.find(b"\n", at)
        line = block[at : end if end != -1 else len(block)].rstrip(b"\r")
        if not line.strip(delimiter):
            return True
        if end == -1:
            return False
        at = block.find(b"\n" + delimiter, end) + 1
        if at == 0:
            return False
    return False


def cut_ranges(
    spec: RangeSpec, *, rows: int, size: int | None
) -> Iterator[RangeChunk | tuple[int, int]]:
    """The plain blocks of the file after its header line, in order; if a block is not plain,
    finally ``(offset, row)``: where the rest of the file starts, to be read by the reader."""
    delim = spec.delimiter.encode("ascii")
    with open(spec.where, "rb") as f:
        head = f.readline()
        if b'"' in head:
            yield (len(head), 2)
            return
        offset = len(head)
        row = 2
        index = 0
        block = _MIN_BLOCK
        carry = b""
        while True:
            buf = f.read(block)
            data = carry + buf if carry else buf
            if not data:
                return
            cut = data.rfind(b"\n") + 1 if buf else len(data)
            if cut == 0:  # a line longer than the block: read on (bounded by the record cap)
                carry = data
                if len(carry) > 8 * spec.max_record:
                    yield (offset, row)
                    return
                continue
            part, carry = data[:cut], data[cut:]
            if not _plain(part, delim):
                yield (offset, row)
                return
            lines = part.count(b"\n") + (0 if part.endswith(b"\n") else 1)
            offset += len(part)
            if index == 0:  # size the blocks to about `rows` lines
                block = max(_MIN_BLOCK, len(part) * rows // max(lines, 1))
            progress = min(offset / size, 1.0) if size else None
            yield RangeChunk(index, part, row, lines, spec, progress)
            row += lines
            index += 1


def _fast(rc: RangeChunk) -> pa.RecordBatch | None:
    """The block as pyarrow parses it, or None when the reader's rules must decide."""
    spec = rc.spec
    ncols = len(spec.header)
    raw = rc.data
    if ncols < 2 or b"\x00" in raw:
        return None
    # an empty line is no record (docs/records.md §6); pyarrow would make one of it
    if raw.startswith((b"\n", b"\r\n")) or b"\n\n" in raw or b"\n\r\n" in raw:
        return None
    try:
        data = raw if spec.codec == "utf-8" else raw.decode(spec.codec).encode("utf-8")
    except UnicodeDecodeError:
        return None
    try:
        table = pacsv.read_csv(
            io.BytesIO(data),
            read_options=pacsv.ReadOptions(
                column_names=list(spec.header), use_threads=False, block_size=len(data) + 1
            ),
            parse_options=pacsv.ParseOptions(
                delimiter=spec.delimiter,
                quote_char=False,
                double_quote=False,
                escape_char=False,
                newlines_in_values=False,
                ignore_empty_lines=False,
            ),
            convert_options=pacsv.ConvertOptions(
                column_types={h: _STRING for h in spec.header},
                null_values=[],
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
                check_utf8=True,
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return None  # a line with another number of fields, bytes not UTF-8 …
    if table.num_rows != rc.lines:
        return None
    longest = 0
    cols = []
    for c in table.columns:
        arr = c.combine_chunks() if c.num_chunks != 1 else c.chunk(0)
        if len(arr):
            m = pa.compute.max(pa.compute.utf8_length(arr)).as_py()
            longest = max(longest, m or 0)
        cols.append(arr)
    # docs/records.md §6: a field over the cap, or a record whose text may be over its cap
    if longest > spec.max_field or longest * ncols + ncols + 1 > spec.max_record:
        return None
    n = table.num_rows
    cols.append(pa.array(np.arange(rc.first_row, rc.first_row + n, dtype=np.int64)))
    return pa.RecordBatch.from_arrays(cols, schema=batch_schema(spec.header))


def batch_schema(header: tuple[str, ...] | list[str]) -> pa.Schema:
    return pa.schema([(h, _STRING) for h in header] + [(ROW_COLUMN, pa.int64())])


def to_batch(header: tuple[str, ...] | list[str], values: list[list[str]], numbers: list[int]):  # type: ignore[no-untyped-def]
    """Records (values in header order) and their row numbers as one Arrow batch."""
    if values:
        cols = [pa.array(c, type=_STRING) for c in zip(*values, strict=True)]
    else:
        cols = [pa.array([], type=_STRING) for _ in header]
    cols.append(pa.array(numbers, type=pa.int64()))
    return pa.RecordBatch.from_arrays(cols, schema=batch_schema(header))


def parse_range(rc: RangeChunk) -> tuple[pa.RecordBatch, list[BadRow]]:
    """A block's records as a batch (with their row numbers) and its bad records."""
    batch = _fast(rc)
    if batch is not None:
        return batch, []
    spec = rc.spec
    text = rc.data.decode(spec.codec, "surrogateescape")  # as the reader decodes (§6)
    values: list[list[str]] = []
    numbers: list[int] = []
    bad: list[BadRow] = []
    for item in csv_records(
        io.StringIO(text, newline=""),
        first_row=rc.first_row,
        where=spec.where,
        header=spec.header,
        delimiter=spec.delimiter,
        encoding=spec.encoding,
        encoding_detected=spec.encoding_detected,
        max_field_chars=spec.max_field,
        max_record_chars=spec.max_record,
    ):
        if isinstance(item, Row):
            values.append(item.values)
            numbers.append(item.number)
        else:
            bad.append(item)
    return to_batch(spec.header, values, numbers), bad
