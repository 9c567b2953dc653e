"""Partition manifests: what each Spark partition produced, signed (docs/spark.md §6).

Owns: the ``xinan-spark-manifest/1`` line (one per partition: rows in, out and rejected, the
Merkle root of every output's rows, key ids, the policy), its signature, the canonical leaf of
an output row, and the per-partition roots computed on the executors
(:class:`PartitionRoots`, a ``mapInArrow`` function).

Does not own the audit log (the job appends one leaf per manifest through the caller's
session) nor checking a job's files (:mod:`xinan.spark.verify`).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from xinan._codec import loads_strict
from xinan.audit.entry import canonical_json
from xinan.audit.merkle import CompactRange, get_hash
from xinan.errors import IntegrityError, VerificationError

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = [
    "MANIFEST_FORMAT",
    "OutputRoot",
    "PartitionManifest",
    "PartitionRoots",
    "manifest_ref",
    "parse_manifest",
    "row_leaf",
    "sign_manifest",
]

MANIFEST_FORMAT = "xinan-spark-manifest/1"
L_MANIFEST = MANIFEST_FORMAT.encode("ascii") + b" signature\x00"
PACKAGE_OUTPUT = "submission.xpkg"
REJECTS_OUTPUT = "rejects"


def row_leaf(row: int, values: Sequence[str | None]) -> bytes:
    """The canonical bytes of one output row: JSON ``[row, v1, v2, …]``, nulls as ``""``.

    Independent of the file format (Parquet, CSV in any encoding), so a verifier reads the
    output back in whatever format it was written and gets the same leaves."""
    return json.dumps(
        [row, *("" if v is None else v for v in values)], ensure_ascii=False, separators=(",", ":")
    ).encode("utf-8")


class RootBuilder:
    """The RFC 9162 root of one output's rows in one partition, streamed (O(log n) memory)."""

    def __init__(self, hash_name: str) -> None:
        self._h = get_hash(hash_name)
        self._range = CompactRange(self._h)

    def add(self, leaf: bytes) -> None:
        self._range.append(self._h.leaf(leaf))

    @property
    def rows(self) -> int:
        return self._range.size

    def root(self) -> bytes:
        return self._range.root()


@dataclass(frozen=True)
class OutputLayout:
    """Where one output's rows are in the roots pass: a filter column and value columns."""

    name: str
    keep: str | None  # a boolean column: the row belongs to this output when it is true
    columns: tuple[str, ...]
    raw_line: bool = False  # the package: the leaf is the record line itself


class PartitionRoots:
    """``mapInArrow`` function: per partition, rows in and, per output, rows and root."""

    SCHEMA = "xinan_part int, output string, rows bigint, root binary"

    def __init__(self, outputs: Sequence[OutputLayout], hash_name: str) -> None:
        self.outputs = tuple(outputs)
        self.hash_name = hash_name

    def __call__(self, batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        import pyarrow as pa
        from pyspark import TaskContext

        ctx = TaskContext.get()
        part = ctx.partitionId() if ctx is not None else 0
        builders = {o.name: RootBuilder(self.hash_name) for o in self.outputs}
        rows_in = 0
        for b in batches:
            rows_in += b.num_rows
            rows = b.column("xinan_row").to_pylist()
            for o in self.outputs:
                keep = b.column(o.keep).to_pylist() if o.keep else [True] * b.num_rows
                add = builders[o.name].add
                if o.raw_line:
                    for k, line in zip(keep, b.column(o.columns[0]).to_pylist(), strict=True):
                        if k:
                            add(line)
                    continue
                cols = [b.column(c).to_pylist() for c in o.columns]
                for j, k in enumerate(keep):
                    if k:
                        add(row_leaf(rows[j], [c[j] for c in cols]))
        names = ["", *builders]
        yield pa.RecordBatch.from_arrays(
            [
                pa.array([part] * len(names), pa.int32()),
                pa.array(names, pa.string()),
                pa.array([rows_in] + [x.rows for x in builders.values()], pa.int64()),
                pa.array([b""] + [x.root() for x in builders.values()], pa.binary()),
            ],
            names=["xinan_part", "output", "rows", "root"],
        )


@dataclass(frozen=True)
class OutputRoot:
    rows: int
    root: bytes


@dataclass(frozen=True)
class PartitionManifest:
    """One partition's account of itself (docs/spark.md §6.1)."""

    job: str
    partition: int
    partitions: int
    policy: str  # the policy's fingerprint: id@version#digest
    kind: str
    hash: str  # "sha256" or "sm3": the Merkle hash of the roots
    rows_in: int
    rejected: int
    outputs: Mapping[str, OutputRoot]
    key_ids: tuple[str, ...]
    package: str | None
    signer: str

    def body(self) -> dict[str, Any]:
        return {
            "format": MANIFEST_FORMAT,
            "job": self.job,
            "partition": self.partition,
            "partitions": self.partitions,
            "policy": self.policy,
            "kind": self.kind,
            "hash": self.hash,
            "rows_in": self.rows_in,
            "rejected": self.rejected,
            "outputs": {
                k: {"rows": v.rows, "root": base64.b64encode(v.root).decode()}
                for k, v in sorted(self.outputs.items())
            },
            "key_ids": list(self.key_ids),
            "package": self.package,
            "signer": self.signer,
        }


def sign_manifest(m: PartitionManifest, sign: Callable[[bytes], bytes]) -> bytes:
    """The manifest's line: its canonical body with ``signature`` over L_MANIFEST ‖ body."""
    body = m.body()
    sig = sign(L_MANIFEST + canonical_json(body))
    return canonical_json({**body, "signature": base64.b64encode(sig).decode()})


def manifest_ref(job: str, partition: int, line: bytes, hash_name: str) -> str:
    """The audit entry's ``objects.ref`` for one manifest: job, partition and the hash of the
    manifest line, so the log's leaf names exactly these bytes."""
    return f"spark:{job}:{partition}:{get_hash(hash_name).digest(line).hex()}"


def _field(doc: Mapping[str, Any], name: str, typ: type, where: str) -> Any:
    v = doc.get(name)
    if type(v) is not typ:
        raise VerificationError(f"{where}: {name!r} missing or not a {typ.__name__}")
    return v


def parse_manifest(
    line: bytes, where: str, verify: Callable[[str, bytes, bytes], None]
) -> PartitionManifest:
    """Parse one manifest line and check its signature with ``verify(signer, message, sig)``
    (which raises IntegrityError). Raises VerificationError naming ``where``."""
    try:
        doc = loads_strict(line)
    except (UnicodeDecodeError, ValueError):
        raise VerificationError(f"{where}: not a JSON manifest line") from None
    if not isinstance(doc, dict) or doc.get("format") != MANIFEST_FORMAT:
        raise VerificationError(f"{where}: not a {MANIFEST_FORMAT} line")
    sig_b64 = _field(doc, "signature", str, where)
    body = {k: v for k, v in doc.items() if k != "signature"}
    if canonical_json(doc) != line:
        raise VerificationError(f"{where}: manifest not in canonical form (edited)")
    try:
        sig = base64.b64decode(sig_b64, validate=True)
    except binascii.Error:
        raise VerificationError(f"{where}: signature is not base64") from None
    signer = _field(doc, "signer", str, where)
    try:
        verify(signer, L_MANIFEST + canonical_json(body), sig)
    except IntegrityError:
        raise VerificationError(
            f"{where}: signature does not verify (the manifest was edited or not signed by "
            f"{signer})"
        ) from None
    outputs: dict[str, OutputRoot] = {}
    for name, o in _field(doc, "outputs", dict, where).items():
        if not isinstance(o, dict) or type(o.get("rows")) is not int:
            raise VerificationError(f"{where}: output {name!r} malformed")
        outputs[name] = OutputRoot(o["rows"], base64.b64decode(o.get("root", "")))
    package = doc.get("package")
    return PartitionManifest(
        job=_field(doc, "job", str, where),
        partition=_field(doc, "partition", int, where),
        partitions=_field(doc, "partitions", int, where),
        policy=_field(doc, "policy", str, where),
        kind=_field(doc, "kind", str, where),
        hash=_field(doc, "hash", str, where),
        rows_in=_field(doc, "rows_in", int, where),
        rejected=_field(doc, "rejected", int, where),
        outputs=outputs,
        key_ids=tuple(_field(doc, "key_ids", list, where)),
        package=package if isinstance(package, str) else None,
        signer=signer,
    )
