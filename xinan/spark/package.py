"""A submission package assembled on the driver from sealed partition lines (docs/spark.md §5).

Owns: writing one ``xinan-package/1`` file around record lines that executors sealed — the
header (the package key wrapped to each recipient: the one asymmetric operation per
recipient), the lines in partition order, and the trailer (count, records digest and the one
signature). The result is an ordinary package: ``xinan verify``, ``xinan open`` and
``xinan vault ingest`` read it as they read any other.

Only the driver holds the sender's private key; executors never see it (docs/spark.md §5).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import IO

from xinan.errors import InputError

# ENGINE SEAM: the header and trailer writers of the package module, used here exactly as
# seal_package uses them; a public "seal around given lines" function belongs there once the
# batch engine (issue 13) settles how parallel sealing frames a package.
from xinan.formats.package import (
    DEFAULT_LIMITS,
    PackageMeta,
    PublicKeys,
    SealSummary,
    SignerKey,
    _check_meta,
    _check_parties,
    _finish,
    _write_header,
)
from xinan.spark.keys import ExecutorKeys

__all__ = ["assemble_package"]


def assemble_package(
    out: IO[bytes],
    lines: Iterable[bytes],
    *,
    keys: ExecutorKeys,
    sender: SignerKey,
    recipients: Sequence[PublicKeys],
    meta: PackageMeta,
    now: datetime,
) -> SealSummary:
    """Write a submission package whose records are ``lines`` (each without its newline), in
    order, under the job's package key. Raises InputError past the package's record limit."""
    if keys.package_key is None:
        raise InputError("no package key: this job sealed nothing")
    limits = DEFAULT_LIMITS
    suite = keys.crypto()
    _check_meta(meta, limits)
    _check_parties(suite, sender, recipients, limits)
    pid = bytes.fromhex(keys.package_id)
    header_line = _write_header(
        out,
        suite,
        pid=pid,
        package_key=keys.package_key,
        audience="submission",
        sender=sender,
        recipients=recipients,
        meta=meta,
        now=now,
        grant=None,
        release="none",
        limits=limits,
    )
    hasher = suite.hasher()
    count = 0
    batch: list[bytes] = []
    for line in lines:
        count += 1
        if count > limits.max_records:
            raise InputError(f"more than {limits.max_records} records (the package limit)")
        batch.append(line)
        batch.append(b"\n")
        if len(batch) >= 2048:
            chunk = b"".join(batch)
            hasher.update(chunk)
            out.write(chunk)
            batch.clear()
    if batch:
        chunk = b"".join(batch)
        hasher.update(chunk)
        out.write(chunk)
    return _finish(
        out,
        suite=suite,
        sender=sender,
        header_line=header_line,
        count=count,
        hasher=hasher,
        pid=pid,
        audience="submission",
        wraps=len(recipients),
    )
