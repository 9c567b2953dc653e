"""Running a plan on one Arrow batch: validate, mask for each audience, collect rejects.

:func:`run_batch` is the engine's unit of work, and the API other runtimes call on each batch
(the file jobs of :mod:`xinan.engine.jobs`, worker processes, Spark's ``mapInArrow``). It is a
pure function of (plan, batch, row_offset, keys): the same inputs give the same outputs, which
is why the output of a file does not depend on how many workers cut it into batches.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date

import numpy as np
import pyarrow as pa

from xinan.engine.mask import AudienceMasker
from xinan.engine.plan import Plan
from xinan.engine.validate import Validated, as_strings, validate
from xinan.masking import MaskContext, Pseudonymizer
from xinan.records import _raw_from_values

#: Name of the optional int64 column carrying each row's number in its file (docs/records.md
#: §4). Without it, row numbers are ``row_offset + index``.
ROW_COLUMN = "__row__"
REJECTS_SCHEMA = pa.schema(
    [
        ("row", pa.int64()),
        ("column", pa.string()),
        ("reason", pa.string()),
        ("record", pa.string()),
    ]
)


@dataclass
class BatchCounts:
    """What one batch did (counts only, no values)."""

    read: int = 0
    rejected: int = 0
    written: dict[str, int] = field(default_factory=dict)
    withheld: dict[str, int] = field(default_factory=dict)
    scrubbed: dict[str, int] = field(default_factory=dict)
    guarded: dict[str, int] = field(default_factory=dict)
    reasons: dict[str, int] = field(default_factory=dict)


@dataclass
class BatchResult:
    """The outcome of :func:`run_batch`: one record batch per audience (output columns, rows
    in input order), the rejects (``row``, ``column``, ``reason``, ``record``: the input row
    as a CSV line, clear data) and the counts. ``valid`` is the canonical validated batch in
    the kind's column order (rejected rows left out), for sealing."""

    outputs: dict[str, pa.RecordBatch]
    rejects: pa.RecordBatch
    counts: BatchCounts
    valid: Validated | None = None


def reason_key(column: str | None, reason: str) -> str:
    """The summary key of a reject reason (its head, without detail)."""
    head = reason.split(" — ", maxsplit=1)[0].split(" (", maxsplit=1)[0]
    return f"{column}: {head}" if column else head


class _Runner:
    """Per-process state of a plan (compiled maskers), built on first use."""

    def __init__(self, plan: Plan, ctx: MaskContext) -> None:
        self.maskers = {a: AudienceMasker(plan, a, ctx) for a in plan.audiences}


_RUNNERS: dict[tuple[int, int], tuple[Plan, MaskContext, _Runner]] = {}


def _runner(plan: Plan, ctx: MaskContext) -> _Runner:
    key = (id(plan), id(ctx))
    hit = _RUNNERS.get(key)
    if hit is None or hit[0] is not plan or hit[1] is not ctx:
        if len(_RUNNERS) > 8:
            _RUNNERS.clear()
        hit = (plan, ctx, _Runner(plan, ctx))
        _RUNNERS[key] = hit
    return hit[2]


def mask_context(
    plan: Plan,
    *,
    pseudonymizers: Mapping[str, Pseudonymizer] | None = None,
    default_pseudonymizer: Pseudonymizer | None = None,
    today: date | None = None,
) -> MaskContext:
    """The keys a plan's masking needs, bundled (build it once per process and reuse it)."""
    return MaskContext(
        today=today or plan.today,
        pseudonymizers=dict(pseudonymizers or {}),
        default_pseudonymizer=default_pseudonymizer,
    )


def run_batch(
    plan: Plan,
    batch: pa.RecordBatch,
    *,
    row_offset: int,
    keys: MaskContext | None = None,
    keep_valid: bool = False,
) -> BatchResult:
    """Validate ``batch`` and mask it for every audience of ``plan``.

    ``batch`` has the file's columns (``plan.header``; values as strings, a null is empty) and
    optionally :data:`ROW_COLUMN`. ``row_offset`` is the row number of the batch's first row
    when that column is absent. ``keys`` carries the pseudonym keys (see
    :func:`mask_context`); it may be omitted when no rule asks for a pseudonym.
    Every input row ends in exactly one place per audience: its output, withheld, or rejects.
    """
    ctx = keys if keys is not None else mask_context(plan)
    runner = _runner(plan, ctx)
    n = batch.num_rows
    names = batch.schema.names
    if ROW_COLUMN in names:
        rownums = batch.column(names.index(ROW_COLUMN)).to_numpy(zero_copy_only=False)
    else:
        rownums = np.arange(row_offset, row_offset + n, dtype=np.int64)
    data = batch.select(list(plan.header)) if names != list(plan.header) else batch
    checked = validate(plan, data)
    counts = BatchCounts(read=n, rejected=len(checked.rejects))
    outputs: dict[str, pa.RecordBatch] = {}
    for a, m in runner.maskers.items():
        before_s, before_g = m.scrubbed, m.guarded
        out = m.apply(checked)
        outputs[a] = out
        counts.written[a] = out.num_rows
        counts.withheld[a] = n - counts.rejected - out.num_rows
        counts.scrubbed[a] = m.scrubbed - before_s
        counts.guarded[a] = m.guarded - before_g
    rows: list[int] = []
    columns: list[str | None] = []
    reasons: list[str] = []
    records: list[str] = []
    if checked.rejects:
        raw_cols = [as_strings(data.column(i)) for i in range(data.num_columns)]
        idx = pa.array([r[0] for r in checked.rejects])
        raw_rows = list(zip(*(c.take(idx).to_pylist() for c in raw_cols), strict=True))
        for (i, col, why), raw in zip(checked.rejects, raw_rows, strict=True):
            rows.append(int(rownums[i]))
            columns.append(col)
            reasons.append(why)
            records.append(_raw_from_values(raw))
            key = reason_key(col, why)
            counts.reasons[key] = counts.reasons.get(key, 0) + 1
    rejects = pa.RecordBatch.from_arrays(
        [
            pa.array(rows, type=pa.int64()),
            pa.array(columns, type=pa.string()),
            pa.array(reasons, type=pa.string()),
            pa.array(records, type=pa.string()),
        ],
        schema=REJECTS_SCHEMA,
    )
    return BatchResult(outputs, rejects, counts, checked if keep_valid else None)
