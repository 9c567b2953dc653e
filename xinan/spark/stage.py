"""The engine stage: one ``mapInArrow`` function that validates, masks what native SQL cannot,
derives pseudonyms and seals (docs/spark.md §3).

Owns: :class:`StageSpec` (everything an executor needs, picklable, no private key), the
function Spark calls per partition (:class:`EngineStage`), and the column layout of its
output (:func:`stage_schema`).

Does not own the rules. Each row goes through the library's own code: the provider's
:class:`~xinan.provider.jobs.Validator` and :func:`~xinan.provider.jobs.match_header`, the
masking :class:`~xinan.masking.View` (with the natively compiled columns dropped from it) and
the package's key schedule. ENGINE SEAM: when ``xinan.engine`` (issue 13) lands,
``_Compiled.run_batch`` becomes a call to its ``run_batch(plan, batch, row_offset=…)``; nothing
else here changes.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

from xinan.masking import MaskContext, View
from xinan.policy import Policy, RecordKind, Rule, SubjectClass
from xinan.policy.catalogue import load_policy_text
from xinan.provider.jobs import Layout, Rejected, Validator, match_header
from xinan.spark.keys import ExecutorKeys
from xinan.spark.sealing import RecordSealer

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["PART", "ROW", "EngineStage", "StageSpec", "stage_schema"]

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


def raw_col(i: int) -> str:
    """The stage column holding input column ``i`` as read (rejected rows only)."""
    return f"xinan_raw{i}"


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
    cols += [f"{raw_col(i)} string" for i in range(len(spec.header))]
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
    """The policy compiled once per worker process for one spec (views, validator, sealer)."""

    def __init__(self, spec: StageSpec) -> None:
        policy = load_policy_text(spec.policy_text, spec.policy_source)
        if policy.digest != spec.policy_digest:
            # the driver and this executor must read the very same policy bytes
            from xinan.errors import PolicyError

            raise PolicyError(spec.policy_source, [])
        self.spec = spec
        self.policy = policy
        self.layout: Layout = match_header(policy, spec.header, kind=spec.kind, file=INPUT_FILE)
        kind = self.layout.kind
        self.kind = kind
        self.validator = Validator(policy, kind, today=spec.today)
        ctx = MaskContext(today=spec.today, pseudonymizers=spec.keys.pseudonymizers())
        self.views: list[tuple[int, View, list[int]]] = []
        for a, aud in enumerate(spec.audiences):
            pk = python_kind(kind, aud, spec.native.get(aud, frozenset()))
            view = View(policy, pk, aud, ctx)
            self.views.append((a, view, [kind.index(c) for c in view.columns]))
        self.sealer: RecordSealer | None = None
        self.submission: View | None = None
        if spec.seal:
            self.submission = View(policy, kind, "submission", MaskContext(today=spec.today))
            self.sealed_idx = [kind.index(f.name) for f in kind.fields if f.sealed]
            self.sealer = RecordSealer(spec.keys, [kind.fields[i].name for i in self.sealed_idx])
        self.schema_ddl = stage_schema(policy, spec)

    def run_batch(
        self, batch: pa.RecordBatch, *, partition: int, row_offset: int
    ) -> pa.RecordBatch:
        """Validate, mask (Python part), seal one Arrow batch; one output row per input row."""
        import pyarrow as pa

        spec = self.spec
        n = batch.num_rows
        width = len(spec.header)
        cols_in = [batch.column(i).to_pylist() for i in range(width)]
        rows = [["" if v is None else v for v in r] for r in zip(*cols_in, strict=True)]
        header = spec.header
        prohibited = self.layout.prohibited
        to_kind = self.layout.to_kind_order
        check = self.validator.check
        cls_out: list[str | None] = [None] * n
        rej_col: list[str | None] = [None] * n
        rej_reason: list[str | None] = [None] * n
        valid_at: list[int] = []
        valid_rows: list[list[str]] = []
        classes: list[SubjectClass] = []
        for j, values in enumerate(rows):
            try:
                for i, cat in prohibited:
                    if values[i].strip():
                        raise Rejected(
                            header[i],
                            f"prohibited:{cat.id} — {cat.label} must not be collected "
                            "(征信业管理条例 第十四条)",
                        )
                valid = check(to_kind(values))
            except Rejected as r:
                rej_col[j] = r.column
                rej_reason[j] = r.reason
                continue
            valid_at.append(j)
            valid_rows.append(valid.values)
            classes.append(valid.subject_class)
            cls_out[j] = valid.subject_class.value
        arrays: list[pa.Array] = [
            pa.array([partition] * n, pa.int32()),
            pa.array(range(row_offset, row_offset + n), pa.int64()),
            pa.array(cls_out, pa.string()),
            pa.array(rej_col, pa.string()),
            pa.array(rej_reason, pa.string()),
        ]
        rejected = [r is not None for r in rej_reason]
        for i in range(width):
            col = cols_in[i]
            arrays.append(
                pa.array(
                    [v if bad else None for v, bad in zip(col, rejected, strict=True)], pa.string()
                )
            )
        for i in spec.native_inputs:
            out: list[str] = [""] * n
            for j, vals in zip(valid_at, valid_rows, strict=True):
                out[j] = vals[i]
            arrays.append(pa.array(out, pa.string()))
        for _a, view, idxs in self.views:
            if not valid_rows:
                masked: list[list[str] | None] = []
            elif idxs:
                masked = view.apply_batch(valid_rows, classes)
            else:  # every column is native SQL: the view only decides who is withheld
                masked = [view.apply(v, c) for v, c in zip(valid_rows, classes, strict=True)]
            withheld: list[bool] = [False] * n
            cols: list[list[str | None]] = [[None] * n for _ in idxs]
            for j, m in zip(valid_at, masked, strict=True):
                if m is None:
                    withheld[j] = True
                    continue
                for c, v in zip(cols, m, strict=True):
                    c[j] = v
            arrays.append(pa.array(withheld, pa.bool_()))
            arrays += [pa.array(c, pa.string()) for c in cols]
        if self.sealer is not None and self.submission is not None:
            rids: list[str | None] = [None] * n
            lines: list[bytes | None] = [None] * n
            clear_rows = self.submission.apply_batch(valid_rows, classes) if valid_rows else []
            sealed_idx = self.sealed_idx
            seal = self.sealer.seal
            for j, vals, clear in zip(valid_at, valid_rows, clear_rows, strict=True):
                if clear is None:  # the policy check refuses a policy that withholds submission
                    from xinan.errors import InputError

                    raise InputError(f"the policy withholds {self.kind.name} from submission")
                rid, line = seal(partition, row_offset + j, clear, [vals[i] for i in sealed_idx])
                rids[j] = rid
                lines[j] = line
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
