"""Check a Spark job directory against its signed manifests and the audit log (docs/spark.md §6.3).

Owns: :func:`verify_job`, which reads the manifests, checks every signature, recomputes each
partition's Merkle roots from the output files as written (Parquet or CSV, any encoding) and
from the package's record lines, and names every partition that is missing, extra, edited or
duplicated. Needs no Spark (pyarrow only) and no private key: an auditor runs it offline.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from xinan.errors import IntegrityError, VerificationError
from xinan.spark.manifest import (
    PACKAGE_OUTPUT,
    PartitionManifest,
    RootBuilder,
    manifest_ref,
    parse_manifest,
    row_leaf,
)

__all__ = ["JobReport", "verify_job"]

MANIFESTS = "manifests.jsonl"
_PARTIAL = re.compile(r"\..+\.partial-[0-9a-f]{32}")


@dataclass
class JobReport:
    """What a verification found. ``problems`` empty means every check passed."""

    job: str | None = None
    partitions: int = 0
    rows_in: int = 0
    outputs: dict[str, int] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    in_audit_log: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "job": self.job,
            "partitions": self.partitions,
            "rows_in": self.rows_in,
            "outputs": self.outputs,
            "in_audit_log": self.in_audit_log,
            "problems": self.problems,
            "ok": not self.problems,
        }


def _read_table(path: Path) -> Any:
    """An output dataset as one pyarrow table, every value column a string."""
    import pyarrow as pa
    import pyarrow.csv as pcsv
    import pyarrow.parquet as pq

    files = sorted(p for p in path.iterdir() if p.is_file() and p.name.startswith("part-"))
    if not files:
        return None
    if files[0].suffix == ".parquet" or ".parquet" in files[0].name:
        return pa.concat_tables([pq.read_table(f) for f in files])
    tables = []
    for f in files:
        enc = _csv_encoding(path)
        head = pcsv.read_csv(f, read_options=pcsv.ReadOptions(encoding=enc))
        types = {c: pa.string() for c in head.column_names}
        types["xinan_part"] = pa.int32()
        types["xinan_row"] = pa.int64()
        tables.append(
            pcsv.read_csv(
                f,
                read_options=pcsv.ReadOptions(encoding=enc),
                convert_options=pcsv.ConvertOptions(
                    column_types=types, strings_can_be_null=False, quoted_strings_can_be_null=False
                ),
            )
        )
    return pa.concat_tables(tables)


def _csv_encoding(path: Path) -> str:
    marker = path / "_xinan_encoding"
    return marker.read_text(encoding="ascii").strip() if marker.exists() else "utf-8"


def _file_roots(path: Path, hash_name: str) -> dict[int, tuple[int, bytes]]:
    """partition → (rows, root) of one output dataset, from its files."""
    table = _read_table(path)
    if table is None:
        return {}
    table = table.sort_by([("xinan_part", "ascending"), ("xinan_row", "ascending")])
    names = [c for c in table.column_names if c not in ("xinan_part", "xinan_row")]
    parts = table.column("xinan_part").to_pylist()
    rows = table.column("xinan_row").to_pylist()
    cols = [table.column(c).to_pylist() for c in names]
    out: dict[int, RootBuilder] = {}
    for j, (p, r) in enumerate(zip(parts, rows, strict=True)):
        b = out.get(p)
        if b is None:
            b = out[p] = RootBuilder(hash_name)
        b.add(row_leaf(r, [c[j] for c in cols]))
    return {p: (b.rows, b.root()) for p, b in out.items()}


def _package_lines(path: Path) -> Iterator[bytes]:
    with path.open("rb") as f:
        f.readline()  # header: checked by `xinan verify`
        prev: bytes | None = None
        for line in f:
            if prev is not None:
                yield prev.rstrip(b"\n")
            prev = line
        # prev is the trailer


def verify_job(
    out: str | Path,
    *,
    verify_signature: Callable[[str, bytes, bytes], None],
    audit_refs: Iterable[str] | None = None,
) -> JobReport:
    """Check the job directory ``out``; return a report whose ``problems`` name each missing,
    extra, edited or duplicated partition (and each output that does not match). Raises
    VerificationError only when the directory is not a job at all."""
    root = Path(out)
    report = JobReport()
    if _PARTIAL.fullmatch(root.resolve().name):
        # a job that never committed: xinan.spark.job writes here and renames last
        raise VerificationError(
            f"{root}: an unfinished Spark job (a crash or an error left it)",
            hint="rerun the job; this directory holds no committed output",
        )
    mpath = root / MANIFESTS
    if not mpath.exists():
        raise VerificationError(f"{root}: no {MANIFESTS}: not a Spark job directory")
    manifests: dict[int, PartitionManifest] = {}
    lines: dict[int, bytes] = {}
    jobs: set[str] = set()
    for n, raw in enumerate(mpath.read_bytes().splitlines(), start=1):
        where = f"{MANIFESTS} line {n}"
        try:
            m = parse_manifest(raw, where, verify_signature)
        except VerificationError as e:
            report.problems.append(f"edited manifest: {e.message}")
            continue
        jobs.add(m.job)
        if m.partition in manifests:
            report.problems.append(f"partition {m.partition}: duplicated manifest ({where})")
            continue
        manifests[m.partition] = m
        lines[m.partition] = raw
    if len(jobs) > 1:
        report.problems.append(f"manifests of several jobs mixed: {', '.join(sorted(jobs))}")
    if not manifests:
        report.problems.append("no valid manifest")
        return report
    first = manifests[min(manifests)]
    report.job = first.job
    report.partitions = n_parts = first.partitions
    for p in sorted(manifests):
        if p >= n_parts or p < 0:
            report.problems.append(f"partition {p}: extra (the job had {n_parts} partitions)")
    for p in range(n_parts):
        if p not in manifests:
            report.problems.append(f"partition {p}: missing (no manifest)")
    report.rows_in = sum(m.rows_in for m in manifests.values())

    outputs = sorted({o for m in manifests.values() for o in m.outputs})
    for name in outputs:
        report.outputs[name] = sum(
            m.outputs[name].rows for m in manifests.values() if name in m.outputs
        )
        if name == PACKAGE_OUTPUT:
            _check_package(root / name, manifests, first.hash, report)
            continue
        path = root / name
        if not path.is_dir():
            report.problems.append(f"output {name}: missing")
            continue
        if (path / "_temporary").exists() or not (path / "_SUCCESS").exists():
            # Spark's committer moves the parts out of _temporary and writes _SUCCESS last
            report.problems.append(f"output {name}: unfinished (Spark did not commit it)")
        found = _file_roots(path, first.hash)
        for p, m in sorted(manifests.items()):
            want = m.outputs.get(name)
            got = found.pop(p, (0, RootBuilder(first.hash).root()))
            if want is None:
                continue
            if got[0] != want.rows:
                report.problems.append(
                    f"partition {p}: output {name} has {got[0]} rows, its manifest says "
                    f"{want.rows} (rows dropped or added)"
                )
            elif got[1] != want.root:
                report.problems.append(f"partition {p}: output {name} edited (Merkle root differs)")
        for p in sorted(found):
            report.problems.append(f"partition {p}: extra rows in output {name} (no manifest)")

    if audit_refs is not None:
        refs = {r for r in audit_refs if r.startswith(f"spark:{first.job}:")}
        for p, raw in sorted(lines.items()):
            ref = manifest_ref(first.job, p, raw, first.hash)
            if ref in refs:
                report.in_audit_log += 1
                refs.discard(ref)
            else:
                report.problems.append(f"partition {p}: manifest not in the audit log")
        for ref in sorted(refs):
            part = ref.split(":")[2]
            report.problems.append(
                f"partition {part}: the audit log has a manifest this directory lacks (missing)"
            )
    return report


def _check_package(
    path: Path, manifests: Mapping[int, PartitionManifest], hash_name: str, report: JobReport
) -> None:
    if not path.exists():
        report.problems.append(f"output {PACKAGE_OUTPUT}: missing")
        return
    it = _package_lines(path)
    for p in sorted(manifests):
        want = manifests[p].outputs.get(PACKAGE_OUTPUT)
        if want is None:
            continue
        b = RootBuilder(hash_name)
        for _ in range(want.rows):
            line = next(it, None)
            if line is None:
                break
            b.add(line)
        if b.rows != want.rows or b.root() != want.root:
            report.problems.append(
                f"partition {p}: {PACKAGE_OUTPUT} records differ from the manifest (edited, "
                "dropped or reordered)"
            )
    if next(it, None) is not None:
        report.problems.append(f"{PACKAGE_OUTPUT}: records beyond the manifests' (extra)")


def signature_checker(lookup: Callable[[str], Any]) -> Callable[[str, bytes, bytes], None]:
    """``verify(signer, message, sig)`` over a trust store lookup (key id → PublicKeyInfo)."""
    from xinan.crypto import get_suite

    def verify(signer: str, message: bytes, sig: bytes) -> None:
        try:
            info = lookup(signer)
        except Exception:
            raise IntegrityError(f"signer {signer} not in the trust store") from None
        get_suite(info.suite).verify(info.sig, message, sig)

    return verify
