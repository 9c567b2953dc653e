"""The DataFrame API: validate, mask for audiences and seal, on Spark (docs/spark.md §3).

Owns: planning a job for an input schema (which columns run as native SQL, what the engine
stage computes) and turning the stage's output into the DataFrames a caller wants — one per
audience, the rejects with row ids and reasons, and the sealed record lines.

Does not own files, manifests or the audit trail (:mod:`xinan.spark.job` does) nor any rule
(:mod:`xinan.masking`, :mod:`xinan.provider.jobs`, :mod:`xinan.formats.package` do).

Row ids: ``xinan_part`` (the Spark partition) and ``xinan_row`` (the row's place in it, from
0, in input order) name every row in every output and in the rejects.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from xinan.crypto import compliance, get_suite
from xinan.crypto.base import SuiteName
from xinan.errors import UsageError
from xinan.masking import Pseudonymizer, audiences_needing_pseudonyms
from xinan.policy import Policy, RecordKind
from xinan.provider.jobs import match_header
from xinan.spark.keys import ExecutorKeys, PseudonymMaterial
from xinan.spark.masks import native_plan, native_sql
from xinan.spark.stage import (
    PART,
    RECORD,
    RECORD_ID,
    REJ_COLUMN,
    REJ_REASON,
    ROW,
    EngineStage,
    StageSpec,
    norm_col,
    raw_values,
    stage_schema,
    view_col,
    withheld_col,
)

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame

__all__ = [
    "JobFrames",
    "executor_keys",
    "plan_stage",
    "policy_text",
    "run_frames",
    "view_columns",
]


@dataclass(frozen=True)
class JobFrames:
    """What one job produces, as lazy DataFrames over one engine stage."""

    stage: DataFrame
    views: Mapping[str, DataFrame]  # audience → xinan_part, xinan_row, the view's columns
    rejects: DataFrame  # xinan_part, xinan_row, column, reason, then the input columns
    records: DataFrame | None  # xinan_part, xinan_row, record_id, line (when sealing)
    spec: StageSpec
    kind: RecordKind
    native: Mapping[str, Mapping[str, str]]  # audience → column → the Spark SQL it runs


def policy_text(policy: Policy) -> str:
    """The exact bytes ``policy`` was loaded from (executors load the same bytes)."""
    src = Path(policy.source)
    try:
        text = src.read_text(encoding="utf-8")
    except OSError:
        raise UsageError(
            f"cannot re-read the policy file {policy.source!r} to hand it to the executors",
            hint="load the policy from a file (xinan.policy.load_policy), or pass policy_text=",
        ) from None
    from xinan.policy.catalogue import load_policy_text

    if load_policy_text(text, policy.source).digest != policy.digest:
        raise UsageError(
            f"the policy file {policy.source!r} changed since it was loaded",
            hint="load it again and rerun the job",
        )
    return text


def executor_keys(
    *,
    suite: SuiteName | str = SuiteName.INTL,
    pseudonymizers: Mapping[str, Pseudonymizer] | None = None,
    seal: bool = False,
) -> ExecutorKeys:
    """The keys an executor gets for one job: a fresh package key when sealing, and the
    pseudonym keys' material (xinan.keys.SecretKey) by namespace. No private key."""
    mode = compliance.active().value
    s = get_suite(suite, compliance_mode=mode)
    material: dict[str, PseudonymMaterial] = {}
    for ns, key in (pseudonymizers or {}).items():
        get = getattr(key, "material", None)
        info = getattr(key, "info", None)
        if get is None or info is None:
            raise UsageError(
                f"pseudonym key for {ns!r} is not a keyring secret key",
                hint="unlock it with xinan.keys.Keyring.secret()",
            )
        material[ns] = PseudonymMaterial(key.key_id, info.suite, get())
    if not seal:
        return ExecutorKeys(s.name, mode, pseudonyms=material)
    return ExecutorKeys(
        s.name,
        mode,
        package_id=s.random(16).hex(),
        package_key=s.random(s.key_len),
        pseudonyms=material,
    )


def plan_stage(
    policy: Policy,
    header: Sequence[str],
    *,
    text: str,
    audiences: Sequence[str],
    today: date,
    keys: ExecutorKeys,
    kind: str | None = None,
    seal: bool = False,
) -> tuple[StageSpec, RecordKind, dict[str, dict[str, str]]]:
    """Decide what runs where for this input: native SQL per (audience, field), the rest in
    the engine stage. Refuses unknown audiences and missing pseudonym keys up front."""
    for a in audiences:
        if a not in policy.audiences:
            raise UsageError(
                f"unknown audience {a!r}", hint=f"known: {', '.join(policy.audiences)}"
            )
    layout = match_header(policy, header, kind=kind, file="<spark input>")
    k = layout.kind
    needed = audiences_needing_pseudonyms(policy, k, audiences)
    missing = needed - set(keys.pseudonyms)
    if missing:
        from xinan.errors import KeyringError

        raise KeyringError(
            f"the policy asks for keyed pseudonyms (namespace {', '.join(sorted(missing))}) but "
            "no pseudonym key was given",
            hint="pass --pseudonym-key subject-ps (xinan keygen --role pseudonym makes one)",
        )
    native: dict[str, frozenset[str]] = {}
    sql: dict[str, dict[str, str]] = {}
    inputs: set[int] = set()
    for a in audiences:
        plan = native_plan(policy, k.fields, a)
        native[a] = frozenset(plan)
        sql[a] = {}
        for name, rule in plan.items():
            i = k.index(name)
            inputs.add(i)
            sql[a][name] = native_sql(rule, norm_col(i))
    spec = StageSpec(
        policy_text=text,
        policy_source=policy.source,
        policy_digest=policy.digest,
        kind=k.name,
        header=tuple(header),
        audiences=tuple(audiences),
        native=native,
        native_inputs=tuple(sorted(inputs)),
        seal=seal,
        today=today,
        keys=keys,
    )
    return spec, k, sql


def _q(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


def view_columns(
    kind: RecordKind, spec: StageSpec, audience: str, sql: Mapping[str, str]
) -> list[Column]:
    """The audience's columns in the policy's order, as expressions over the engine stage's
    output: native SQL (``sql``: field → expression) where planned, else the stage's column."""
    from pyspark.sql import functions as F

    a_i = spec.audiences.index(audience)
    cols = []
    for f in kind.fields:
        if f.rules[audience].op == "drop":
            continue
        i = kind.index(f.name)
        expr = sql.get(f.name)
        cols.append((F.expr(expr) if expr is not None else F.col(view_col(a_i, i))).alias(f.name))
    return cols


def run_frames(df: DataFrame, policy: Policy, spec: StageSpec) -> JobFrames:
    """Run the engine stage over ``df`` (string columns named as ``spec.header``) and derive
    the outputs. Lazy: nothing runs until the caller writes or collects."""
    from pyspark.sql import functions as F

    if tuple(df.columns) != spec.header:
        raise UsageError("the DataFrame's columns are not the planned header")
    k = policy.kind(spec.kind)
    strings = df.select([F.col(_q(c)).cast("string").alias(c) for c in df.columns])
    stage = strings.mapInArrow(EngineStage(spec), stage_schema(policy, spec))
    sql = {
        a: {
            name: native_sql(rule, norm_col(k.index(name)))
            for name, rule in native_plan(policy, k.fields, a).items()
        }
        for a in spec.audiences
    }
    ok = stage.where(F.col(REJ_REASON).isNull())
    views: dict[str, DataFrame] = {}
    for a_i, a in enumerate(spec.audiences):
        cols = [F.col(PART), F.col(ROW), *view_columns(k, spec, a, sql[a])]
        views[a] = ok.where(~F.col(withheld_col(a_i))).select(cols)
    rejects = stage.where(F.col(REJ_REASON).isNotNull()).select(
        F.col(PART),
        F.col(ROW),
        F.col(REJ_COLUMN).alias("column"),
        F.col(REJ_REASON).alias("reason"),
        *raw_values(spec.header),
    )
    records = (
        ok.select(
            F.col(PART),
            F.col(ROW),
            F.col(RECORD_ID).alias("record_id"),
            F.col(RECORD).alias("line"),
        )
        if spec.seal
        else None
    )
    return JobFrames(stage, views, rejects, records, spec, k, sql)
