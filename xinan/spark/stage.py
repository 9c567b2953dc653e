"""The engine stage: one ``mapInArrow`` function that validates, masks what native SQL cannot,
derives pseudonyms and seals (docs/spark.md §3).

Owns: :class:`StageSpec` (everything an executor needs, picklable, no private key), the
function Spark calls per partition (:class:`EngineStage`), and the column layout of its
output (:func:`stage_schema`).

Does not own the rules. Each batch goes through the batch engine (issue 13) — the same code
``xinan mask`` and ``xinan seal`` run: :func:`xinan.engine.compile_plan` once per worker
process, :func:`xinan.engine.run_batch` per Arrow batch (validation, masks, pseudonyms,
scrubbing, the guard) — and the package's own record sealer
(:class:`xinan.formats.package.RecordSealer`, via :mod:`xinan.spark.sealing`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

from xinan.policy import Policy, RecordKind, Rule
from xinan.policy.catalogue import load_policy_text
from xinan.spark.keys import ExecutorKeys
from xinan.spark.sealing import PartitionSealer

if TYPE_CHECKING:
    import pyarrow as pa
    from pyspark.sql import Column

__all__ = ["PART", "RAW", "ROW", "EngineStage", "StageSpec", "stage_schema"]

PART = "xinan_part"
ROW = "xinan_row"
CLASS = "xinan_class"
REJ_COLUMN = "xinan_reject_column"
REJ_REASON = "xinan_reject_reason"
RECORD = "xinan_record"
RECORD_ID = "xinan_record_id"
INPUT_FILE = "<spark input>"


def norm_col(i: int) -> str:
    """The stage column holding kind field ``i``'s validated, normalised value."""
    return f"xinan_v{i}"


def view_col(a: int, i: int) -> str:
    """The stage column holding audience ``a``'s Python-masked value of kind field ``i``."""
    return f"xinan_a{a}_{i}"


def withheld_col(a: int) -> str:
    """The stage column telling whether audience ``a`` may not see the row (withheld)."""
    return f"xinan_w{a}"


RAW = "xinan_raw"  # a rejected row's input values as read: a JSON array (null otherwise)
RAW_TYPE = "array<string>"


def raw_values(header: Sequence[str]) -> list[Column]:
    """The input columns of a rejected row as read, from the stage's one :data:`RAW` column."""
    from pyspark.sql import functions as F

    values = F.from_json(F.col(RAW), RAW_TYPE)
    return [values.getItem(i).alias(c) for i, c in enumerate(header)]


@dataclass(frozen=True)
class StageSpec:
    """What the engine stage needs on an executor: policy bytes, layout, keys, the date."""

    policy_text: str
    policy_source: str
    policy_digest: str
    kind: str
    header: tuple[str, ...]
    audiences: tuple[str, ...]
    # audience → kind fields computed natively (dropped from that audience's Python view)
    native: Mapping[str, frozenset[str]]
    # kind field indices whose normalised value the native SQL reads
    native_inputs: tuple[int, ...]
    seal: bool
    today: date
    keys: ExecutorKeys = field(repr=False)

    def cache_key(self) -> tuple[Any, ...]:
        return (
            self.policy_digest,
            self.kind,
            self.header,
            self.audiences,
            tuple(sorted((a, tuple(sorted(s))) for a, s in self.native.items())),
            self.native_inputs,
            self.seal,
            self.today,
            self.keys.fingerprint(),
        )


def python_kind(kind: RecordKind, audience: str, native: frozenset[str]) -> RecordKind:
    """``kind`` with the native fields dropped from ``audience``'s view (they are SQL)."""
    fields = tuple(
        dataclasses.replace(f, rules={**f.rules, audience: Rule("drop")}) if f.name in native else f
        for f in kind.fields
    )
    return dataclasses.replace(kind, fields=fields)


def stage_schema(policy: Policy, spec: StageSpec) -> str:
    """The DDL of the stage's output (every column nullable)."""
    kind = policy.kind(spec.kind)
    cols = [f"{PART} int", f"{ROW} bigint", f"{CLASS} string"]
    cols += [f"{REJ_COLUMN} string", f"{REJ_REASON} string"]
    cols.append(f"{RAW} string")
    cols += [f"{norm_col(i)} string" for i in spec.native_inputs]
    for a, aud in enumerate(spec.audiences):
        view = python_kind(kind, aud, spec.native.get(aud, frozenset()))
        cols.append(f"{withheld_col(a)} boolean")
        cols += [
            f"{view_col(a, kind.index(f.name))} string"
            for f in view.fields
            if f.rules[aud].op != "drop"
        ]
    if spec.seal:
        cols += [f"{RECORD_ID} string", f"{RECORD} binary"]
    return ", ".join(cols)


class _Compiled:
    """The policy compiled once per worker process for one spec: the engine's plan (with
    ``submission`` added when sealing), its mask context and the partition sealer."""

    def __init__(self, spec: StageSpec) -> None:
        from xinan.engine import JobSpec, compile_plan, mask_context
        from xinan.engine.validate import CLASSES

        policy = load_policy_text(spec.policy_text, spec.policy_source)
        if policy.digest != spec.policy_digest:
            # the driver and this executor must read the very same policy bytes
            from xinan.errors import PolicyError

            raise PolicyError(spec.policy_source, [])
        self.spec = spec
        kind = policy.kind(spec.kind)
        self.kind = kind
        audiences = tuple(spec.audiences)
        if spec.seal and "submission" not in audiences:
            audiences += ("submission",)
        self.plan = compile_plan(
            policy,
            JobSpec(
                header=spec.header,
                audiences=audiences,
                kind=spec.kind,
                today=spec.today,
                seal=spec.seal,
                file=INPUT_FILE,
            ),
        )
        self.ctx = mask_context(self.plan, pseudonymizers=spec.keys.pseudonymizers())
        # per audience: (its name, [(position in the engine's output, kind index)] of the
        # columns computed here, and the class codes it withholds)
        self.views: list[tuple[str, list[tuple[int, int]], list[int]]] = []
        for aud in spec.audiences:
            native = spec.native.get(aud, frozenset())
            cols = self.plan.columns(aud)
            keep = [(j, kind.index(c)) for j, c in enumerate(cols) if c not in native]
            withheld = self.plan.withheld_classes(aud)
            codes = [i for i, c in enumerate(CLASSES) if c in withheld]
            self.views.append((aud, keep, codes))
        import pyarrow as pa

        self.class_names = pa.array([c.value for c in CLASSES], pa.string())
        self.sealer: PartitionSealer | None = None
        if spec.seal:
            self.sealed_idx = [kind.index(f.name) for f in kind.fields if f.sealed]
            self.sealer = PartitionSealer(
                spec.keys,
                [kind.fields[i].name for i in self.sealed_idx],
                len(self.plan.columns("submission")),
            )
        self.schema_ddl = stage_schema(policy, spec)

    def run_batch(
        self, batch: pa.RecordBatch, *, partition: int, row_offset: int
    ) -> pa.RecordBatch:
        """One Arrow batch through the engine (``xinan.engine.run_batch``: validation, Python
        masks, pseudonyms, scrubbing, the guard), then sealing; one output row per input row."""
        import json

        import numpy as np
        import pyarrow as pa
        import pyarrow.compute as pc

        from xinan.engine import run_batch

        n = batch.num_rows
        n_in = len(self.spec.header)
        res = run_batch(self.plan, batch, row_offset=row_offset, keys=self.ctx, keep_valid=True)
        valid = res.valid
        if valid is None:  # run_batch keeps the validated batch when keep_valid=True
            raise RuntimeError("xinan.engine.run_batch returned no validated batch")
        rejected = np.asarray(valid.rejected, dtype=bool)
        classes = np.asarray(valid.classes)
        rej_col: list[str | None] = [None] * n
        rej_reason: list[str | None] = [None] * n
        rj = res.rejects
        for r, c, why in zip(
            rj.column(0).to_pylist(),
            rj.column(1).to_pylist(),
            rj.column(2).to_pylist(),
            strict=True,
        ):
            rej_col[r - row_offset] = c
            rej_reason[r - row_offset] = why
        cls_out = pc.take(self.class_names, pa.array(classes, mask=classes < 0))
        rej_mask = pa.array(rejected)
        arrays: list[pa.Array] = [
            pa.array(np.full(n, partition, dtype=np.int32)),
            pa.array(np.arange(row_offset, row_offset + n, dtype=np.int64)),
            cls_out,
            pa.array(rej_col, pa.string()),
            pa.array(rej_reason, pa.string()),
        ]
        # one column, not one per input column: the JVM converts every value of every column
        # the stage returns, null or not, and rejects are few (docs/spark.md §3)
        raw: list[str | None] = [None] * n
        rej_at = np.flatnonzero(rejected)
        if len(rej_at):
            at = pa.array(rej_at)
            values = zip(*(batch.column(i).take(at).to_pylist() for i in range(n_in)), strict=True)
            for p, vals in zip(rej_at.tolist(), values, strict=True):
                raw[p] = json.dumps(list(vals), ensure_ascii=False, separators=(",", ":"))
        arrays.append(pa.array(raw, pa.string()))
        empty = pa.array([""] * n, pa.string())
        for i in self.spec.native_inputs:
            arrays.append(pc.if_else(rej_mask, empty, pc.fill_null(valid.columns[i], "")))
        for aud, keep, codes in self.views:
            withheld = ~rejected & np.isin(classes, codes)
            visible = np.flatnonzero(~rejected & ~withheld)
            where = np.full(n, -1, dtype=np.int64)
            where[visible] = np.arange(len(visible))
            take = pa.array(where, mask=where < 0)
            out = res.outputs[aud]
            arrays.append(pa.array(withheld))
            arrays += [pc.take(out.column(j), take) for j, _i in keep]
        if self.sealer is not None:
            rids: list[str | None] = [None] * n
            lines: list[bytes | None] = [None] * n
            positions = np.flatnonzero(~rejected)
            clear_batch = res.outputs["submission"]
            if clear_batch.num_rows != len(positions):
                from xinan.errors import InputError

                raise InputError(f"the policy withholds {self.kind.name} from submission")
            at = pa.array(positions)
            ids, sealed_lines = self.sealer.seal_batch(
                partition,
                (positions + row_offset).tolist(),
                clear_batch.columns,
                [valid.columns[i].take(at) for i in self.sealed_idx],
            )
            for p, rid, line in zip(positions.tolist(), ids, sealed_lines, strict=True):
                rids[p] = rid
                lines[p] = line
            arrays += [pa.array(rids, pa.string()), pa.array(lines, pa.binary())]
        return pa.RecordBatch.from_arrays(arrays, schema=_arrow_schema(self.schema_ddl))


_SCHEMAS: dict[str, Any] = {}


def _arrow_schema(ddl: str) -> pa.Schema:
    import pyarrow as pa

    s = _SCHEMAS.get(ddl)
    if s is None:
        types = {
            "int": pa.int32(),
            "bigint": pa.int64(),
            "string": pa.string(),
            "binary": pa.binary(),
            "boolean": pa.bool_(),
        }
        fields = []
        for part in ddl.split(", "):
            name, typ = part.rsplit(" ", 1)
            fields.append(pa.field(name, types[typ], nullable=True))
        s = _SCHEMAS[ddl] = pa.schema(fields)
    return s


_COMPILED: dict[tuple[Any, ...], _Compiled] = {}


def compiled(spec: StageSpec) -> _Compiled:
    """The compiled stage for ``spec``, built once per worker process (Spark reuses workers)."""
    key = spec.cache_key()
    c = _COMPILED.get(key)
    if c is None:
        if len(_COMPILED) >= 8:
            _COMPILED.clear()  # bounded: a long-lived worker runs many jobs
        c = _COMPILED[key] = _Compiled(spec)
    return c


class EngineStage:
    """The function handed to ``DataFrame.mapInArrow``: batches in, stage batches out.

    Rows are numbered within the task's partition from 0 in input order, so that (partition,
    row) names a row and a retried task, reading the same split, numbers it the same way.
    """

    def __init__(self, spec: StageSpec) -> None:
        self.spec = spec

    def __call__(self, batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        from pyspark import TaskContext

        ctx = TaskContext.get()
        partition = ctx.partitionId() if ctx is not None else 0
        stage = compiled(self.spec)
        row = 0
        for b in batches:
            yield stage.run_batch(b, partition=partition, row_offset=row)
            row += b.num_rows
