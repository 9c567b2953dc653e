"""File jobs on the engine: ``mask`` (validate, mask for N audiences, rejects, counts).

The job reads the file once, cuts it into batches (:mod:`xinan.engine.io`), runs the plan on
each batch in worker processes (:mod:`xinan.engine.workers`) and writes the outputs and the
rejects in file order, atomically (:mod:`xinan.fileio`): nothing appears under a final name
before ``before_commit`` (the audit record) has returned. Every record read ends in exactly one
place per audience, and the counts say so: read = written + withheld + rejected.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa

from xinan.engine.batch import BatchResult, reason_key, run_batch
from xinan.engine.io import (
    DEFAULT_BATCH_ROWS,
    ParquetSink,
    WorkItem,
    encode_batch,
    is_parquet,
    materialise,
    open_source,
)
from xinan.engine.plan import JobSpec, Plan, compile_plan
from xinan.engine.workers import default_workers, ordered_map
from xinan.errors import Counts
from xinan.masking import MaskContext
from xinan.policy import Policy
from xinan.records import BadRow, Format, open_rejects, open_writer

Progress = Callable[[int, float | None], None]
"""Called now and then with the records read so far and the fraction of the input read."""


@dataclass
class MaskSummary:
    file: str
    kind: str
    encoding: str | None
    read: int = 0
    rejected: int = 0
    per_audience: dict[str, Counts] = field(default_factory=dict)
    outputs: dict[str, str] = field(default_factory=dict)
    rejects_file: str | None = None
    reasons: Counter[str] = field(default_factory=Counter)
    scrubbed: dict[str, int] = field(default_factory=dict)
    guarded: dict[str, int] = field(default_factory=dict)
    workers: int = 1

    def counts(self, audience: str) -> Counts:
        return self.per_audience[audience]

    def balanced(self) -> bool:
        return all(c.balanced() for c in self.per_audience.values())

    def to_json(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "kind": self.kind,
            "encoding": self.encoding,
            "read": self.read,
            "rejected": self.rejected,
            "rejects_file": self.rejects_file,
            "reject_reasons": dict(self.reasons.most_common()),
            "audiences": {
                a: {
                    "output": self.outputs.get(a),
                    "read": c.read,
                    "written": c.written,
                    "withheld": c.withheld,
                    "rejected": c.rejected,
                    "scrubbed_in_text": self.scrubbed.get(a, 0),
                    "guard_hits": self.guarded.get(a, 0),
                }
                for a, c in self.per_audience.items()
            },
        }


# -- the work of one batch, in whichever process runs it ---------------------------------------


@dataclass
class _Job:
    plan: Plan
    ctx: MaskContext
    formats: dict[str, tuple[str, str]]  # audience -> (output format, encoding)


# The job of this process: set before the workers fork, so they inherit it (keys are not sent).
_JOBS: list[_Job] = []


@dataclass
class _Done:
    encoded: dict[str, bytes | pa.RecordBatch]  # CSV bytes, or the batch for JSON Lines
    result: BatchResult
    bad: list[BadRow]  # the records the reader could not use, in file order


def _mask_work(item: WorkItem) -> _Done:
    job = _JOBS[-1]
    chunk = materialise(item)  # a byte range is parsed here, in the worker
    res = run_batch(job.plan, chunk.batch, row_offset=1, keys=job.ctx)
    encoded: dict[str, bytes | pa.RecordBatch] = {}
    for a, out in res.outputs.items():
        fmt, enc = job.formats[a]
        if fmt == Format.CSV.value and enc != "gbk":
            encoded[a] = encode_batch(out, "csv", enc)
        else:  # Parquet, JSON Lines, and GBK (which cannot hold every character): as a batch
            encoded[a] = out
    res.outputs = {}
    return _Done(encoded, res, chunk.bad)


def _rejects_in_order(bad: list[BadRow], res: BatchResult) -> Iterator[BadRow]:
    """The reader's bad records and the batch's refusals, merged by row number."""
    rj = res.rejects
    refused = [
        BadRow(r, c, why, rec)
        for r, c, why, rec in zip(
            rj.column(0).to_pylist(),
            rj.column(1).to_pylist(),
            rj.column(2).to_pylist(),
            rj.column(3).to_pylist(),
            strict=True,
        )
    ]
    if not bad:
        yield from refused
        return
    yield from sorted([*bad, *refused], key=lambda b: b.number)


def open_output(path: str | Path, header: tuple[str, ...], encoding: str, *, secret: bool) -> Any:
    """An output view: Parquet by its extension, else a record writer (CSV, JSON Lines)."""
    if is_parquet(path):
        return ParquetSink(path, header, secret=secret)
    return open_writer(path, header, encoding=encoding, secret=secret)


def output_format(w: Any) -> tuple[str, str]:
    if isinstance(w, ParquetSink):
        return ("parquet", "")
    return (w.format.value, w.encoding)


def _write(writer: Any, data: bytes | pa.RecordBatch, count: int) -> None:
    if isinstance(writer, ParquetSink):
        assert isinstance(data, pa.RecordBatch)  # parquet outputs travel as batches
        writer.write_batch(data)
        return
    if isinstance(data, bytes):
        writer.write_encoded(data, count)
        return
    for row in zip(*(c.to_pylist() for c in data.columns), strict=True):
        writer.write(row)


def write_batch(writer: Any, batch: pa.RecordBatch) -> None:
    """Append ``batch`` to an output opened with :func:`open_output` (or the records
    writers): CSV encoded a batch at a time, except in GBK, whose rows go through the writer
    so that a character GBK lacks is named with its record and field."""
    fmt, enc = output_format(writer)
    if fmt == "csv" and enc != "gbk":
        _write(writer, encode_batch(batch, "csv", enc), batch.num_rows)
    else:
        _write(writer, batch, batch.num_rows)


def mask_file(
    src: str | Path,
    outputs: Mapping[str, str | Path],
    *,
    policy: Policy,
    ctx: MaskContext,
    kind: str | None = None,
    rejects: str | Path | None = None,
    encoding: str | None = None,
    out_encoding: str = "utf-8",
    workers: int | None = None,
    batch_rows: int = DEFAULT_BATCH_ROWS,
    progress: Progress | None = None,
    before_commit: Callable[[MaskSummary], None] | None = None,
) -> MaskSummary:
    """Validate every row of ``src`` and write one masked view per audience in ``outputs``.

    Streams in batches of ``batch_rows`` over ``workers`` processes (default: every core); the
    outputs are the same bytes whatever the number of workers. Outputs and the rejects file
    are written atomically; ``before_commit`` (the audit record) runs after the last row and
    before any output is renamed into place; if it raises, no output appears.
    """
    src_name = str(src)
    nworkers = default_workers() if workers is None else max(1, workers)
    with open_source(src, encoding=encoding) as reader:
        spec = JobSpec(
            header=tuple(reader.header),
            audiences=tuple(outputs),
            kind=kind,
            today=ctx.today,
            file=src_name,
        )
        plan = compile_plan(policy, spec)
        summary = MaskSummary(
            file=src_name, kind=plan.kind.name, encoding=reader.encoding, workers=nworkers
        )
        summary.per_audience = {a: Counts() for a in outputs}
        summary.outputs = {a: str(p) for a, p in outputs.items()}
        summary.rejects_file = str(rejects) if rejects else None
        summary.scrubbed = dict.fromkeys(outputs, 0)
        summary.guarded = dict.fromkeys(outputs, 0)
        try:
            size: int | None = os.stat(src).st_size if str(src) != "-" else None
        except OSError:
            size = None
        with ExitStack() as stack:
            writers = {
                # only the public view is meant for everyone; the others hold personal data
                a: stack.enter_context(
                    open_output(p, plan.columns(a), out_encoding, secret=a != "public")
                )
                for a, p in outputs.items()
            }
            rej = stack.enter_context(open_rejects(rejects))
            formats = {a: output_format(w) for a, w in writers.items()}
            _JOBS.append(_Job(plan, ctx, formats))
            try:
                chunks = ((c, c) for c in reader.chunks(rows=batch_rows, size=size))
                for chunk, done in ordered_map(_mask_work, chunks, workers=nworkers):
                    _take(summary, writers, rej, chunk, done)
                    if progress is not None:
                        progress(summary.read, chunk.progress)
            finally:
                _JOBS.pop()
            for c in summary.per_audience.values():
                c.read = summary.read
                c.rejected = summary.rejected
            if before_commit is not None:
                before_commit(summary)
    return summary


def _take(
    summary: MaskSummary,
    writers: Mapping[str, Any],
    rej: Any,
    chunk: WorkItem,
    done: _Done,
) -> None:
    res = done.result
    counts = res.counts
    summary.read += counts.read + len(done.bad)
    summary.rejected += counts.rejected + len(done.bad)
    for b in done.bad:
        summary.reasons[reason_key(b.column, b.reason)] += 1
    summary.reasons.update(counts.reasons)
    for bad in _rejects_in_order(done.bad, res):
        rej.write(bad)
    for a, w in writers.items():
        _write(w, done.encoded[a], counts.written[a])
        c = summary.per_audience[a]
        c.written += counts.written[a]
        c.withheld += counts.withheld[a]
        summary.scrubbed[a] += counts.scrubbed[a]
        summary.guarded[a] += counts.guarded[a]


def compile_for(
    policy: Policy,
    src: str | Path,
    *,
    audiences: tuple[str, ...],
    kind: str | None,
    encoding: str | None,
    today: Any,
) -> Plan:
    """The plan of a file (reads only its header): to ask for the keys a job needs first."""
    with open_source(src, encoding=encoding) as reader:
        return compile_plan(
            policy,
            JobSpec(tuple(reader.header), audiences, kind, today=today, file=str(src)),
        )
