"""Files ⇄ Arrow batches: readers that cut a record file into record batches, and encoders
that turn output batches into the exact bytes of docs/records.md §7.

CSV, JSON Lines and XLSX are parsed by :mod:`xinan.records` (which owns encodings, detection,
row numbers and bad records, docs/records.md §2–§6) and gathered into batches column by
column, with each record's row number in :data:`~xinan.engine.batch.ROW_COLUMN`; records the
reader could not use travel beside their batch as :class:`~xinan.records.BadRow`. Parquet is
read and written with pyarrow (its row numbers are 1-based record positions).

Output encoding is vectorised: CSV quoting (RFC 4180 as Python's ``csv`` writes it: quotes
only for a delimiter, a quote or a line break, doubled quotes; ``\\r\\n`` line ends) is done
with Arrow string kernels over whole columns, so a batch becomes one buffer of bytes.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from xinan.engine.batch import ROW_COLUMN
from xinan.engine.ranges import (
    RangeChunk,
    RangeSpec,
    cut_ranges,
    parse_range,
    range_spec,
    to_batch,
)
from xinan.records import BadRow, RecordReader, Row, csv_records, open_records

DEFAULT_BATCH_ROWS = 4096
_STRING = pa.string()


@dataclass
class Chunk:
    """One batch of a file: the records as Arrow columns (plus their row numbers) and the
    records the reader could not use, both in file order. Every row number below ``end_row``
    not in an earlier chunk is in this one (or is no record: a blank line)."""

    index: int
    batch: pa.RecordBatch
    bad: list[BadRow] = field(default_factory=list)
    progress: float | None = None  # fraction of the input read, when known
    end_row: int = 0


WorkItem = Chunk | RangeChunk
"""What the parent hands a worker: a parsed chunk, or a block of bytes it parses itself."""


def materialise(item: WorkItem) -> Chunk:
    """The chunk of a work item (parsing a byte range here, in the worker)."""
    if isinstance(item, Chunk):
        return item
    batch, bad = parse_range(item)
    return Chunk(item.index, batch, bad, item.progress, item.end_row)


def _position(reader: RecordReader) -> int | None:
    text = getattr(reader, "_text", None)
    raw = getattr(text, "buffer", None)
    try:
        return int(raw.tell()) if raw is not None else None
    except (OSError, ValueError):
        return None


def read_chunks(
    reader: RecordReader, *, rows: int = DEFAULT_BATCH_ROWS, size: int | None = None
) -> Iterator[Chunk]:
    """Cut an open reader's records into :class:`Chunk` s of at most ``rows`` records."""

    def where() -> float | None:
        pos = _position(reader) if size else None
        return min(pos / size, 1.0) if pos is not None and size else None

    return gather(reader, reader.header, rows=rows, where=where)


def gather(
    items: Iterable[Row | BadRow],
    header: Sequence[str],
    *,
    rows: int,
    where: Callable[[], float | None],
    index: int = 0,
) -> Iterator[Chunk]:
    """Records and bad records, in file order, as :class:`Chunk` s of at most ``rows``."""
    values: list[list[str]] = []
    numbers: list[int] = []
    bad: list[BadRow] = []

    def cut() -> Chunk:
        end = max(numbers[-1] if numbers else 0, bad[-1].number if bad else 0) + 1
        return Chunk(index, to_batch(list(header), values, numbers), list(bad), where(), end)

    for item in items:
        if isinstance(item, BadRow):
            bad.append(item)
        else:
            values.append(item.values)
            numbers.append(item.number)
        if len(values) + len(bad) >= rows:
            yield cut()
            index += 1
            values.clear()
            numbers.clear()
            bad.clear()
    if values or bad:
        yield cut()


class ParquetSource:
    """A Parquet file read as chunks (values cast to text, row numbers 1, 2, …), with the
    interface the jobs use: ``header``, ``encoding``, :meth:`chunks`, a context manager."""

    def __init__(self, path: str | Path) -> None:
        import pyarrow.parquet as pq

        self.path = str(path)
        self.encoding: str | None = None
        self._file = pq.ParquetFile(path)
        self.header = list(self._file.schema_arrow.names)
        self.first_row = 1

    def chunks(self, *, rows: int = DEFAULT_BATCH_ROWS, size: int | None = None) -> Iterator[Chunk]:
        first = 1
        total = self._file.metadata.num_rows or 1
        for index, b in enumerate(self._file.iter_batches(batch_size=rows)):
            cols = [pc.cast(c, _STRING) for c in b.columns]
            cols.append(pa.array(range(first, first + b.num_rows), type=pa.int64()))
            names = [*b.schema.names, ROW_COLUMN]
            first += b.num_rows
            batch = pa.RecordBatch.from_arrays(cols, names=names)
            yield Chunk(index, batch, progress=min((first - 1) / total, 1.0), end_row=first)

    def __enter__(self) -> ParquetSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self._file.close()


class RecordSource:
    """A record file (CSV, JSON Lines, XLSX) through :mod:`xinan.records`, as chunks."""

    def __init__(self, path: str | Path, encoding: str | None) -> None:
        self.path = str(path)
        self._reader = open_records(path, encoding=encoding)
        self.header = list(self._reader.header)
        self.encoding = self._reader.encoding
        self.first_row = self._reader.header_row + 1  # the row number of the first record

    def chunks(
        self, *, rows: int = DEFAULT_BATCH_ROWS, size: int | None = None, ranges: bool = True
    ) -> Iterator[WorkItem]:
        """The file as work items: plain CSV blocks as byte ranges the workers parse
        (:mod:`xinan.engine.ranges`), the rest as chunks the reader parsed here."""
        spec = range_spec(self._reader) if ranges else None
        if spec is None:
            yield from read_chunks(self._reader, rows=rows, size=size)
            return
        index = 0
        for item in cut_ranges(spec, rows=rows, size=size):
            if isinstance(item, RangeChunk):
                index = item.index + 1
                yield item
                continue
            yield from self._rest(spec, item, rows=rows, size=size, index=index)

    def _rest(
        self, spec: RangeSpec, at: tuple[int, int], *, rows: int, size: int | None, index: int
    ) -> Iterator[Chunk]:
        """The file from byte ``at[0]`` (row ``at[1]``) on, by the reader's own CSV rules."""
        offset, row = at
        with open(spec.where, "rb") as raw:
            raw.seek(offset)
            text = io.TextIOWrapper(raw, encoding=spec.codec, errors="surrogateescape", newline="")
            items = csv_records(
                text,
                first_row=row,
                where=spec.where,
                header=spec.header,
                delimiter=spec.delimiter,
                encoding=spec.encoding,
                encoding_detected=spec.encoding_detected,
                max_field_chars=spec.max_field,
                max_record_chars=spec.max_record,
            )

            def where() -> float | None:
                return min(raw.tell() / size, 1.0) if size else None

            yield from gather(items, spec.header, rows=rows, where=where, index=index)

    def __enter__(self) -> RecordSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self._reader.__exit__(None, None, None)


def is_parquet(path: str | Path) -> bool:
    return str(path) != "-" and Path(path).suffix.lower() == ".parquet"


def open_source(path: str | Path, *, encoding: str | None = None) -> RecordSource | ParquetSource:
    """The input of a job: Parquet by its extension, anything else through the record readers."""
    return ParquetSource(path) if is_parquet(path) else RecordSource(path, encoding)


class ParquetSink:
    """An output view as a Parquet file (every column text), written atomically like the
    record writers (docs/records.md §9): ``write_batch``, ``count``, a context manager."""

    def __init__(self, path: str | Path, header: Sequence[str], *, secret: bool) -> None:
        import pyarrow.parquet as pq

        from xinan.fileio import atomic_writer

        self.path = str(path)
        self.count = 0
        self.schema = pa.schema([(h, _STRING) for h in header])
        self._ctx = atomic_writer(path, binary=True, secret=secret)
        self._file = self._ctx.__enter__()
        self._writer = pq.ParquetWriter(self._file, self.schema)

    def write_batch(self, batch: pa.RecordBatch) -> None:
        if batch.num_rows:
            self._writer.write_batch(batch.rename_columns(self.schema.names))
            self.count += batch.num_rows

    def __enter__(self) -> ParquetSink:
        return self

    def __exit__(self, exc_type: object, exc: BaseException | None, tb: object) -> None:
        if exc is None:
            self._writer.close()
            self._ctx.__exit__(None, None, None)
        else:
            self._ctx.__exit__(type(exc), exc, exc.__traceback__)


# --------------------------------------------------------------------------------------------
# Encoding output batches


def _csv_column(col: pa.StringArray) -> pa.StringArray:
    needs = pc.match_substring_regex(col, '[,"\r\n]')
    if not pc.any(needs).as_py():
        return col
    quoted = pc.binary_join_element_wise('"', pc.replace_substring(col, '"', '""'), '"', "")
    return pc.if_else(needs, quoted, col)


def _concat(lines: pa.StringArray) -> bytes:
    """The UTF-8 bytes of all values of ``lines``, one after another (no copy per value)."""
    if len(lines) == 0:
        return b""
    offsets = np.frombuffer(lines.buffers()[1], dtype=np.int32)
    lo, hi = int(offsets[lines.offset]), int(offsets[lines.offset + len(lines)])
    data = lines.buffers()[2]
    return data.slice(lo, hi - lo).to_pybytes() if data is not None else b""


def csv_bytes(batch: pa.RecordBatch) -> bytes:
    """The batch's rows as UTF-8 CSV, each row ending in ``\\r\\n`` (exactly what
    ``csv.writer`` with ``lineterminator="\\r\\n"`` writes for the same rows)."""
    if batch.num_rows == 0:
        return b""
    cols = [_csv_column(c) for c in batch.columns]
    if len(cols) == 1:
        # csv writes a lone empty field as "" (an empty line would be no record)
        c = cols[0]
        cols = [pc.if_else(pc.equal(c, ""), pa.scalar('""'), c)]
    lines = pc.binary_join_element_wise(*cols, ",") if len(cols) > 1 else cols[0]
    lines = pc.binary_join_element_wise(lines, "", "\r\n")  # line + CRLF + ""
    return _concat(lines)


def jsonl_lines(batch: pa.RecordBatch) -> str:
    """The batch's rows as JSON Lines, as :class:`xinan.records.RecordWriter` writes them."""
    encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
    names = batch.schema.names
    cols = [c.to_pylist() for c in batch.columns]
    rows = zip(*cols, strict=True)
    return "".join(encode(dict(zip(names, row, strict=True))) + "\n" for row in rows)


def encode_batch(batch: pa.RecordBatch, fmt: str, encoding: str) -> bytes:
    """Bytes of ``batch`` in an output file of format ``fmt`` (csv/jsonl) and ``encoding``."""
    data = csv_bytes(batch) if fmt == "csv" else jsonl_lines(batch).encode("utf-8")
    if encoding in ("utf-8", "utf-8-sig"):
        return data
    return data.decode("utf-8").encode(encoding)
