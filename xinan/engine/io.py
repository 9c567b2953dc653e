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

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from xinan.engine.batch import ROW_COLUMN
from xinan.records import BadRow, RecordReader, open_records

DEFAULT_BATCH_ROWS = 4096
_STRING = pa.string()


@dataclass
class Chunk:
    """One batch of a file: the records as Arrow columns (plus their row numbers) and the
    records the reader could not use, both in file order."""

    index: int
    batch: pa.RecordBatch
    bad: list[BadRow] = field(default_factory=list)
    progress: float | None = None  # fraction of the input read, when known


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
    header = list(reader.header)
    width = len(header)
    schema = pa.schema([(h, _STRING) for h in header] + [(ROW_COLUMN, pa.int64())])
    values: list[list[str]] = []
    numbers: list[int] = []
    bad: list[BadRow] = []
    index = 0

    def cut() -> Chunk:
        cols = [pa.array(c, type=_STRING) for c in zip(*values, strict=True)] if values else []
        if not values:
            cols = [pa.array([], type=_STRING) for _ in range(width)]
        cols.append(pa.array(numbers, type=pa.int64()))
        frac = None
        if size:
            pos = _position(reader)
            frac = min(pos / size, 1.0) if pos is not None else None
        return Chunk(index, pa.RecordBatch.from_arrays(cols, schema=schema), list(bad), frac)

    for item in reader:
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

    def chunks(self, *, rows: int = DEFAULT_BATCH_ROWS, size: int | None = None) -> Iterator[Chunk]:
        first = 1
        total = self._file.metadata.num_rows or 1
        for index, b in enumerate(self._file.iter_batches(batch_size=rows)):
            cols = [pc.cast(c, _STRING) for c in b.columns]
            cols.append(pa.array(range(first, first + b.num_rows), type=pa.int64()))
            names = [*b.schema.names, ROW_COLUMN]
            first += b.num_rows
            batch = pa.RecordBatch.from_arrays(cols, names=names)
            yield Chunk(index, batch, progress=min((first - 1) / total, 1.0))

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

    def chunks(self, *, rows: int = DEFAULT_BATCH_ROWS, size: int | None = None) -> Iterator[Chunk]:
        return read_chunks(self._reader, rows=rows, size=size)

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
