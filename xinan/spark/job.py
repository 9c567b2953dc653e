"""A provider's whole job on Spark: outputs, sealed package, signed partition manifests and
the audit trail, committed together (docs/spark.md §6–§7).

Owns: the job directory (``xinan-spark-job/1``): one dataset per audience, the rejects, the
assembled ``submission.xpkg`` when sealing, ``manifests.jsonl`` (one signed manifest per
partition); the order of effects (everything is written under a temporary name, the audit
entries are appended, and only then is the directory renamed to its final name — a crash
leaves no job that the audit log does not know).

Does not own the rules (:mod:`xinan.spark.frames` and the library) nor the session: the
caller passes the signer (the sender's unlocked identity, on the driver only) and an audit
hook (``record``) that appends one leaf per manifest.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from xinan.errors import UsageError
from xinan.fileio import atomic_writer, check_output
from xinan.formats.package import PackageMeta, PublicKeys
from xinan.masking import Pseudonymizer
from xinan.policy import Policy
from xinan.spark.frames import executor_keys, plan_stage, policy_text, run_frames
from xinan.spark.manifest import (
    PACKAGE_OUTPUT,
    REJECTS_OUTPUT,
    OutputLayout,
    OutputRoot,
    PartitionManifest,
    PartitionRoots,
    manifest_ref,
    sign_manifest,
)
from xinan.spark.package import assemble_package
from xinan.spark.stage import (
    PART,
    RECORD,
    REJ_COLUMN,
    REJ_REASON,
    ROW,
    raw_values,
    withheld_col,
)

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

    from xinan.access import Session

__all__ = ["JOB_FORMAT", "SparkJobSummary", "run_job", "spark_audit_hook"]

JOB_FORMAT = "xinan-spark-job/1"
MANIFESTS = "manifests.jsonl"
ENCODING_MARKER = "_xinan_encoding"  # CSV outputs: the charset their part files are in
FORMATS = ("parquet", "csv")


@dataclass
class SparkJobSummary:
    job: str
    out: str
    kind: str
    partitions: int
    read: int = 0
    rejected: int = 0
    written: dict[str, int] = field(default_factory=dict)
    withheld: dict[str, int] = field(default_factory=dict)
    package_id: str | None = None
    records_digest: str | None = None
    # per partition: (partition, audit ref, rows in, rejected)
    manifests: list[tuple[int, str, int, int]] = field(default_factory=list)
    key_ids: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "format": JOB_FORMAT,
            "job": self.job,
            "out": self.out,
            "kind": self.kind,
            "partitions": self.partitions,
            "read": self.read,
            "rejected": self.rejected,
            "audiences": {
                a: {"written": self.written[a], "withheld": self.withheld[a]} for a in self.written
            },
            "package": self.package_id,
            "records_digest": self.records_digest,
            "key_ids": self.key_ids,
        }


def _write(df: DataFrame, path: Path, fmt: str, encoding: str) -> None:
    w = df.write.mode("errorifexists")
    if fmt == "parquet":
        w.parquet(str(path))
        return
    # A header row in every part file; Spark quotes as needed and writes "" for an empty
    # string. The encoding is recorded beside the parts for `xinan spark verify`.
    w.option("header", True).option("encoding", encoding).csv(str(path))
    with atomic_writer(path / ENCODING_MARKER, secret=True) as f:
        f.write(encoding + "\n")


def _owner_only(root: Path) -> None:
    """Every file under ``root`` 0600 and every directory 0700, before the job directory gets
    its final name: the outputs hold credit data (the rejects clear values), like every other
    xinan output (docs/spark.md §7). Spark's own writers honour the Hadoop umask
    (``spark.hadoop.fs.permissions.umask-mode``, 077 in :func:`xinan.spark.local_session`);
    this pass makes it hold whatever a cluster's session set. On a local file system only:
    the directory is ours, opened by path."""
    for dirpath, dirnames, filenames in os.walk(root):
        d = Path(dirpath)
        os.chmod(d, 0o700)
        for name in filenames:
            p = d / name
            if not p.is_symlink():
                os.chmod(p, 0o600)
        for name in dirnames:
            if (d / name).is_symlink():
                raise UsageError(f"{d / name}: a symbolic link inside a Spark output")


def run_job(
    df: DataFrame,
    out: str | Path,
    *,
    policy: Policy,
    audiences: Sequence[str],
    today: date,
    now: datetime,
    signer: Any,
    recipients: Sequence[PublicKeys] = (),
    pseudonymizers: Mapping[str, Pseudonymizer] | None = None,
    kind: str | None = None,
    out_format: str = "parquet",
    out_encoding: str = "UTF-8",
    before_commit: Callable[[SparkJobSummary], None] | None = None,
) -> SparkJobSummary:
    """Validate, mask for ``audiences`` and (with ``recipients``) seal ``df`` into the job
    directory ``out``; sign one manifest per partition with ``signer`` (the driver's unlocked
    identity) and call ``before_commit`` (the audit entries) before ``out`` appears."""
    from pyspark import StorageLevel
    from pyspark.sql import functions as F

    if out_format not in FORMATS:
        raise UsageError(f"output format must be one of {', '.join(FORMATS)}")
    final = Path(out).resolve()  # the JVM does not share our working directory
    if final.exists():
        raise UsageError(
            f"{final} exists", hint="choose a new job directory (jobs never overwrite)"
        )
    seal = bool(recipients)
    suite_name = signer.info.suite
    keys = executor_keys(suite=suite_name, pseudonymizers=pseudonymizers, seal=seal)
    suite = keys.crypto()
    job = suite.random(16).hex()
    hash_name = "sm3" if suite_name.value == "gm" else "sha256"
    spec, k, _sql = plan_stage(
        policy,
        df.columns,
        text=policy_text(policy),
        audiences=audiences,
        today=today,
        keys=keys,
        kind=kind,
        seal=seal,
    )
    frames = run_frames(df, policy, spec)
    stage = frames.stage.persist(StorageLevel.DISK_ONLY)
    check_output(final)
    tmp = final.parent / f".{final.name}.partial-{job}"
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp.mkdir(mode=0o700)
    try:
        partitions = stage.rdd.getNumPartitions()
        summary = SparkJobSummary(job=job, out=str(final), kind=k.name, partitions=partitions)
        for a in audiences:
            _write(frames.views[a], tmp / a, out_format, out_encoding)
        _write(frames.rejects, tmp / REJECTS_OUTPUT, out_format, out_encoding)

        # One pass over the stage: rows in and, per output, rows and Merkle root per partition.
        ok = F.col(REJ_REASON).isNull()
        cols = [F.col(PART), F.col(ROW), (~ok).alias("xinan_is_rejected")]
        layouts: list[OutputLayout] = []
        for a_i, a in enumerate(audiences):
            view = frames.views[a]
            flag = f"xinan_keep{a_i}"
            cols.append((ok & ~F.col(withheld_col(a_i))).alias(flag))
            names = []
            for j, c in enumerate(view.columns[2:]):
                alias = f"xinan_o{a_i}_{j}"
                expr = frames.native[a].get(c)
                src = F.expr(expr) if expr is not None else F.col(_view_source(frames, a_i, c))
                cols.append(src.alias(alias))
                names.append(alias)
            layouts.append(OutputLayout(a, flag, tuple(names)))
        raw = [v.alias(f"xinan_rj{i}") for i, v in enumerate(raw_values(spec.header))]
        cols += [F.col(REJ_COLUMN), F.col(REJ_REASON), *raw]
        rej_cols = [REJ_COLUMN, REJ_REASON, *(f"xinan_rj{i}" for i in range(len(raw)))]
        layouts.append(OutputLayout(REJECTS_OUTPUT, "xinan_is_rejected", tuple(rej_cols)))
        if seal:
            cols.append(F.col(RECORD))
            cols.append(ok.alias("xinan_sealed"))
            layouts.append(OutputLayout(PACKAGE_OUTPUT, "xinan_sealed", (RECORD,), raw_line=True))
        roots = (
            stage.select(cols).mapInArrow(PartitionRoots(layouts, hash_name), PartitionRoots.SCHEMA)
        ).collect()
        per: dict[int, dict[str, OutputRoot]] = {}
        rows_in: dict[int, int] = {}
        for r in roots:
            if r["output"] == "":
                rows_in[r["xinan_part"]] = r["rows"]
            else:
                per.setdefault(r["xinan_part"], {})[r["output"]] = OutputRoot(r["rows"], r["root"])

        if seal and frames.records is not None:
            meta = PackageMeta(
                policy_id=policy.id,
                policy_version=policy.version,
                kind=k.name,
                clear_fields=tuple(f.name for f in k.fields if f.rules["submission"].op != "drop"),
                sealed_fields=tuple(f.name for f in k.fields if f.sealed),
            )
            lines = (r["line"] for r in frames.records.select("line").toLocalIterator())
            with atomic_writer(tmp / PACKAGE_OUTPUT, binary=True, secret=True) as sink:
                result = assemble_package(
                    sink,
                    lines,
                    keys=keys,
                    sender=signer,
                    recipients=recipients,
                    meta=meta,
                    now=now,
                )
            summary.package_id = result.package_id
            import base64

            summary.records_digest = base64.b64encode(result.records_digest).decode()

        key_ids = sorted({*keys.key_ids(), *(r.key_id for r in recipients), signer.key_id})
        summary.key_ids = key_ids
        lines_out: list[bytes] = []
        for p in range(partitions):
            outs = per.get(p, {})
            rejected = outs[REJECTS_OUTPUT].rows if REJECTS_OUTPUT in outs else 0
            m = PartitionManifest(
                job=job,
                partition=p,
                partitions=partitions,
                policy=policy.fingerprint,
                kind=k.name,
                hash=hash_name,
                rows_in=rows_in.get(p, 0),
                rejected=rejected,
                outputs=outs,
                key_ids=tuple(key_ids),
                package=summary.package_id,
                signer=signer.key_id,
            )
            line = sign_manifest(m, signer.sign)
            lines_out.append(line)
            summary.manifests.append(
                (p, manifest_ref(job, p, line, hash_name), m.rows_in, rejected)
            )
            summary.read += m.rows_in
            summary.rejected += rejected
            for a in audiences:
                written = outs[a].rows if a in outs else 0
                summary.written[a] = summary.written.get(a, 0) + written
                summary.withheld[a] = summary.withheld.get(a, 0) + (m.rows_in - rejected - written)
        with atomic_writer(tmp / MANIFESTS, binary=True, secret=True) as f:
            f.write(b"".join(x + b"\n" for x in lines_out))
        _owner_only(tmp)
        if before_commit is not None:
            before_commit(summary)
        os.replace(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    finally:
        stage.unpersist()
    return summary


def _view_source(frames: Any, a_i: int, column: str) -> str:
    from xinan.spark.stage import view_col

    return view_col(a_i, frames.kind.index(column))


def spark_audit_hook(
    session: Session, policy: Policy, audiences: Sequence[str]
) -> Callable[[SparkJobSummary], None]:
    """The ``before_commit`` of an audited Spark job: one leaf per partition manifest (its
    ref names the manifest's hash; docs/spark.md §6.2), then the job's totals as a ``collect``
    (or ``seal``) event and, when rows were refused, a ``reject`` event — all in one group
    commit, before the job directory appears (征信业管理条例 第十四条: both outcomes audited)."""

    def record(s: SparkJobSummary) -> None:
        event = "seal" if s.package_id else "collect"
        base: dict[str, Any] = {"policy": policy.label, "key_ids": s.key_ids}
        if s.package_id:
            base["package"] = s.package_id
        why = {"purpose": "spark:" + ",".join(audiences)}
        with session.batch():
            for _p, ref, rows_in, rejected in s.manifests:
                session.record(
                    event,
                    objects={**base, "ref": ref, "counts": {"read": rows_in, "rejected": rejected}},
                    why=why,
                )
            counts = {"read": s.read, "rejected": s.rejected, "partitions": s.partitions}
            for a in s.written:
                counts[f"{a}.written"] = s.written[a]
                counts[f"{a}.withheld"] = s.withheld[a]
            session.record(
                event, objects={**base, "ref": f"spark:{s.job}", "counts": counts}, why=why
            )
            if s.rejected:
                session.record(
                    "reject",
                    objects={**base, "ref": f"spark:{s.job}", "counts": {"rejected": s.rejected}},
                    why=why,
                )

    return record
