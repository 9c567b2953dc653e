"""The provider's whole job in one read: validate, mask for any number of audiences, and seal
the submission package (docs/package.md) — one pass over the export, one rejects file, one
summary.

Sealing on the batch engine (docs/engine.md §5): the parent process writes the package header
(fresh package id and key, wrapped to each recipient), then cuts the file into batches and
draws, per record read, 16 bytes of record id and a record key from the CSPRNG, in file order.
Worker processes validate and mask the batch and build each valid record's line up to its
wrapped record key (:class:`xinan.formats.package.RecordSealer`: field keys, commitments, one
AEAD per sealed value with the record's associated data). The parent ends each line with the
record key wrapped under the package key — its nonce is the record's index in the package,
known only in order — hashes and writes it, and signs once at the end. The random bytes a
record gets depend only on its place in the file, so the package's record lines are the same
bytes for any number of workers (given the same random stream).
"""

from __future__ import annotations

import base64
import os
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from xinan._codec import b32_lower_many
from xinan.engine.batch import ROW_COLUMN, BatchResult, reason_key, run_batch
from xinan.engine.io import (
    DEFAULT_BATCH_ROWS,
    WorkItem,
    encode_batch,
    materialise,
    open_source,
)
from xinan.engine.jobs import (
    MaskSummary,
    Progress,
    _rejects_in_order,
    _write,
    open_output,
    output_format,
)
from xinan.engine.plan import JobSpec, compile_plan
from xinan.engine.workers import default_workers, ordered_map
from xinan.errors import Counts, InputError
from xinan.fileio import atomic_writer
from xinan.formats.package import PackageMeta, RecordSealer, SubmissionWriter
from xinan.keys import Identity, PublicKeyInfo
from xinan.masking import MaskContext
from xinan.policy import Policy
from xinan.records import BadRow, Format, open_rejects

RID_BYTES = 16  # record ids: 128 random bits (docs/package.md §4.1; never derived from content)


@dataclass
class SealJobSummary:
    file: str
    package: str
    package_id: str
    kind: str
    suite: str
    read: int = 0
    sealed: int = 0
    rejected: int = 0
    reasons: Counter[str] = field(default_factory=Counter)
    recipients: tuple[str, ...] = ()
    records_digest: str = ""
    views: MaskSummary | None = None  # the masked views written in the same pass, if any
    workers: int = 1

    def balanced(self) -> bool:
        ok = self.read == self.sealed + self.rejected
        return ok and (self.views is None or self.views.balanced())

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "file": self.file,
            "package": self.package,
            "package_id": self.package_id,
            "kind": self.kind,
            "suite": self.suite,
            "read": self.read,
            "sealed": self.sealed,
            "rejected": self.rejected,
            "reject_reasons": dict(self.reasons.most_common()),
            "recipients": list(self.recipients),
            "records_digest": self.records_digest,
        }
        if self.views is not None:
            out["views"] = self.views.to_json()["audiences"]
        return out


def record_id(raw: bytes) -> str:
    """``r`` + 128 random bits in lower-case base32 (26 characters)."""
    return "r" + base64.b32encode(raw).decode().rstrip("=").lower()


def record_ids(raws: list[bytes]) -> list[str]:
    """:func:`record_id` of many 16-byte strings at once."""
    return b32_lower_many(raws, "r")


# -- the work of one batch ---------------------------------------------------------------------


@dataclass
class _SealJob:
    plan: Any
    ctx: MaskContext
    formats: dict[str, tuple[str, str]]
    views: tuple[str, ...]
    sealer: RecordSealer
    sealed_index: tuple[int, ...]
    stride: int


_SEAL_JOBS: list[_SealJob] = []


@dataclass
class _Sealed:
    encoded: dict[str, bytes | pa.RecordBatch]
    result: BatchResult
    slots: np.ndarray  # for each valid record, in order: its slot in the batch's random bytes
    heads: list[bytes]
    rids: list[str]  # each valid record's id, in order (made once, here, for the parent too)
    bad: list[BadRow]  # the records the reader could not use, in file order


def _seal_work(arg: tuple[WorkItem, bytes, int]) -> _Sealed:
    item, rand, base_row = arg
    job = _SEAL_JOBS[-1]
    chunk = materialise(item)  # a byte range is parsed here, in the worker
    batch = chunk.batch
    res = run_batch(job.plan, batch, row_offset=1, keys=job.ctx, keep_valid=True)
    valid = res.valid
    assert valid is not None  # keep_valid
    positions = np.flatnonzero(valid.valid)
    # A record's random bytes are those of its row number (docs/engine.md §5): the same
    # whatever the batches, the workers, or how the file was cut.
    rows = batch.column(batch.schema.get_field_index(ROW_COLUMN)).to_numpy()
    slots = rows[positions] - base_row
    clear_batch = res.outputs["submission"]
    if clear_batch.num_rows != len(positions):
        raise InputError("the policy withholds records from submission")
    take = pa.array(positions)
    clear_cols = [c.to_pylist() for c in clear_batch.columns]
    sealed_cols = [valid.columns[i].take(take).to_pylist() for i in job.sealed_index]
    clear_rows = list(zip(*clear_cols, strict=True)) if clear_cols else [()] * len(positions)
    sealed_rows = list(zip(*sealed_cols, strict=True)) if sealed_cols else [()] * len(positions)
    heads: list[bytes] = []
    stride, kl = job.stride, job.sealer.key_len
    offsets = (slots * stride).tolist()
    rids = record_ids([rand[off : off + RID_BYTES] for off in offsets])
    line_head = job.sealer.line_head
    for off, rid, clear, sealed in zip(offsets, rids, clear_rows, sealed_rows, strict=True):
        heads.append(line_head(rid, rand[off + RID_BYTES : off + RID_BYTES + kl], clear, sealed))
    encoded: dict[str, bytes | pa.RecordBatch] = {}
    for a in job.views:
        fmt, enc = job.formats[a]
        out = res.outputs[a]
        csv_out = fmt == Format.CSV.value and enc != "gbk"
        encoded[a] = encode_batch(out, "csv", enc) if csv_out else out
    res.outputs = {}
    res.valid = None
    return _Sealed(encoded, res, slots, heads, rids, chunk.bad)


def _draws(
    items: Iterator[WorkItem], draw: Callable[[int], bytes], stride: int, first_row: int
) -> Iterator[tuple[tuple[WorkItem, bytes], tuple[WorkItem, bytes, int]]]:
    """Each work item with the random bytes of its rows: ``stride`` bytes per row number, drawn
    in file order from ``first_row`` on (rows that hold no valid record leave theirs unused)."""
    next_row = first_row
    for item in items:
        base = next_row
        next_row = max(next_row, item.end_row)
        rand = draw(stride * (next_row - base))
        yield (item, rand), (item, rand, base)


def seal_file(
    src: str | Path,
    out: str | Path,
    *,
    policy: Policy,
    sender: Identity,
    recipients: Sequence[PublicKeyInfo],
    today: date,
    now: datetime,
    kind: str | None = None,
    encoding: str | None = None,
    rejects: str | Path | None = None,
    views: Mapping[str, str | Path] | None = None,
    ctx: MaskContext | None = None,
    out_encoding: str = "utf-8",
    workers: int | None = None,
    batch_rows: int = DEFAULT_BATCH_ROWS,
    progress: Progress | None = None,
    before_commit: Callable[[SealJobSummary], None] | None = None,
    random: Callable[[int], bytes] | None = None,
) -> SealJobSummary:
    """Validate ``src``, seal it for ``recipients`` as ``sender`` into the package ``out`` and,
    in the same pass, write the masked ``views`` (audience → output file).

    The clear part of each record is its ``submission`` view; the fields the policy marks
    ``sealed`` travel encrypted (docs/package.md). Rejected rows go to ``rejects`` with their
    reasons; read = sealed + rejected, and per view read = written + withheld + rejected.
    The package, the views and the rejects appear under their final names only after
    ``before_commit`` (the audit record) returns. ``random`` replaces the CSPRNG (tests only).
    """
    src_name = str(src)
    nworkers = default_workers() if workers is None else max(1, workers)
    view_paths = dict(views or {})
    suite = sender.suite
    draw = random or suite.random
    with open_source(src, encoding=encoding) as reader:
        audiences = (*view_paths, *(() if "submission" in view_paths else ("submission",)))
        plan = compile_plan(
            policy,
            JobSpec(tuple(reader.header), audiences, kind, today=today, seal=True, file=src_name),
        )
        k = plan.kind
        mask_ctx = ctx or MaskContext(today=today)
        sealed_index = tuple(i for i, f in enumerate(k.fields) if f.sealed)
        meta = PackageMeta(
            policy_id=policy.id,
            policy_version=policy.version,
            kind=k.name,
            clear_fields=plan.columns("submission"),
            sealed_fields=tuple(k.fields[i].name for i in sealed_index),
        )
        summary = SealJobSummary(
            file=src_name,
            package=str(out),
            package_id="",
            kind=k.name,
            suite=suite.name.value,
            recipients=tuple(r.key_id for r in recipients),
            workers=nworkers,
        )
        vsum: MaskSummary | None = None
        if view_paths:
            vsum = MaskSummary(file=src_name, kind=k.name, encoding=reader.encoding)
            vsum.per_audience = {a: Counts() for a in view_paths}
            vsum.outputs = {a: str(p) for a, p in view_paths.items()}
            vsum.rejects_file = str(rejects) if rejects else None
            vsum.scrubbed = dict.fromkeys(view_paths, 0)
            vsum.guarded = dict.fromkeys(view_paths, 0)
            vsum.workers = nworkers
            summary.views = vsum
        try:
            size: int | None = os.stat(src).st_size if src_name != "-" else None
        except OSError:
            size = None
        with ExitStack() as stack:
            writers = {
                a: stack.enter_context(
                    open_output(p, plan.columns(a), out_encoding, secret=a != "public")
                )
                for a, p in view_paths.items()
            }
            rej = stack.enter_context(open_rejects(rejects))
            sink = stack.enter_context(atomic_writer(out, binary=True))
            package = SubmissionWriter(
                sink,
                suite=suite,
                sender=sender,
                recipients=recipients,
                meta=meta,
                now=now,
                random=draw,
            )
            stride = RID_BYTES + suite.key_len
            _SEAL_JOBS.append(
                _SealJob(
                    plan,
                    mask_ctx,
                    {a: output_format(w) for a, w in writers.items()},
                    tuple(view_paths),
                    package.sealer(),
                    sealed_index,
                    stride,
                )
            )
            try:
                chunks = _draws(
                    reader.chunks(rows=batch_rows, size=size), draw, stride, reader.first_row
                )
                for (chunk, rand), done in ordered_map(_seal_work, chunks, workers=nworkers):
                    _take_sealed(summary, vsum, writers, rej, package, chunk, rand, stride, done)
                    if progress is not None:
                        progress(summary.read, chunk.progress)
            finally:
                _SEAL_JOBS.pop()
            result = package.finish()
            summary.package_id = result.package_id
            summary.records_digest = base64.b64encode(result.records_digest).decode()
            if vsum is not None:
                vsum.read = summary.read
                vsum.rejected = summary.rejected
                vsum.reasons = Counter(summary.reasons)
                for c in vsum.per_audience.values():
                    c.read = summary.read
                    c.rejected = summary.rejected
            if before_commit is not None:
                before_commit(summary)
    return summary


def _take_sealed(
    summary: SealJobSummary,
    vsum: MaskSummary | None,
    writers: Mapping[str, Any],
    rej: Any,
    package: SubmissionWriter,
    chunk: WorkItem,
    rand: bytes,
    stride: int,
    done: _Sealed,
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
    kl = package.key_len
    lines = []
    index = package.count
    line = package.line
    for n, (off, head, rid) in enumerate(
        zip((done.slots * stride).tolist(), done.heads, done.rids, strict=True)
    ):
        rk = rand[off + RID_BYTES : off + RID_BYTES + kl]
        lines.append(line(head, index + n, rid, rk))
    if lines:
        package.write_lines(b"".join(lines), len(lines))
    summary.sealed += len(lines)
    if vsum is None:
        return
    for a, w in writers.items():
        _write(w, done.encoded[a], counts.written[a])
        c = vsum.per_audience[a]
        c.written += counts.written[a]
        c.withheld += counts.withheld[a]
        vsum.scrubbed[a] += counts.scrubbed[a]
        vsum.guarded[a] += counts.guarded[a]
