"""(2) The platform's package jobs: verify a package, open a submission.

This module owns what the platform does with a package file as a whole: checking it against
the trust store, and opening a submission so that its audit entry is durable before any
plaintext exists (GB/T 22239-2019 8.1.4.3; issue 5: "an open has its entry durably written
before any plaintext is"). The format is :mod:`xinan.formats.package`'s; the vault is
:mod:`xinan.platform.vault`'s.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from xinan import progress
from xinan.access import Actor, Session
from xinan.engine.io import encode_batch
from xinan.engine.workers import default_workers
from xinan.errors import XinanError
from xinan.fileio import open_input
from xinan.formats.package import PackageInfo, open_blocks, verify_package
from xinan.keys import Identity, Keyring
from xinan.records import open_writer


def verify_package_file(path: Path, keyring: Keyring, *, workers: int | None = None) -> PackageInfo:
    """Verify a whole package file against the trust store, with ``workers`` processes
    (default: every core); raises on any failure."""
    with path.open("rb") as f:
        return verify_package(f, trust=keyring.get_public, workers=workers or default_workers())


@dataclass(frozen=True)
class OpenResult:
    info: PackageInfo
    written: int


def opened_columns(info: PackageInfo) -> list[str]:
    """``record_id``, then every field once: the sealed value replaces its masked clear twin."""
    cols = ["record_id"]
    for name in (*info.clear_fields, *info.sealed_fields):
        if name not in cols:
            cols.append(name)
    return cols


def opened_view(batch: pa.RecordBatch, info: PackageInfo, columns: list[str]) -> pa.RecordBatch:
    """The output columns of a block of opened records (:func:`opened_columns`): a sealed
    value replaces its clear twin; a value the package does not carry is empty."""
    clear = {n: batch.column(3 + i) for i, n in enumerate(info.clear_fields)}
    base = 3 + len(info.clear_fields)
    sealed = {n: batch.column(base + i) for i, n in enumerate(info.sealed_fields)}
    empty = pa.scalar("", pa.string())
    arrays = [batch.column(1)]
    for name in columns[1:]:
        c = clear.get(name)
        s = sealed.get(name)
        if s is None:
            arrays.append(c if c is not None else pa.nulls(batch.num_rows, pa.string()))
        else:
            arrays.append(pc.coalesce(s, c if c is not None else empty))
    return pa.record_batch(arrays, names=columns)


def open_submission_file(
    path: Path,
    output: str | Path,
    *,
    identity: Identity,
    keyring: Keyring,
    session: Session,
    workers: int | None = None,
    encoding: str = "utf-8",
) -> OpenResult:
    """Verify, record the ``open`` event durably, then decrypt into ``output`` (atomic), with
    ``workers`` processes (default: every core; the output is the same for any number).

    A failure after the event is recorded as a second, ``failed`` event; no output appears.
    """
    workers = workers or default_workers()
    info = verify_package_file(path, keyring, workers=workers)  # nothing decrypted yet
    objects = {"package": info.package_id, "counts": {"records": info.count}}
    session.record("open", objects=objects, why={"purpose": "submission"})
    columns = opened_columns(info)
    written = 0
    try:
        with (
            open_input(path) as f,
            open_writer(output, columns, secret=True, encoding=encoding) as w,
        ):
            with open_blocks(
                f, identity=identity, trust=keyring.get_public, workers=workers
            ) as opened:
                # the bytes decrypted are those verified and logged, or nothing is written
                info.check_same(opened.info)
                meter = progress.start("records written", total=info.count)
                if w.format.value == "csv":
                    # each block decrypted, laid out and encoded in the workers (after the
                    # entry above); written here in package order
                    out_encoding = w.encoding

                    def encoded(batch: pa.RecordBatch) -> tuple[bytes, int]:
                        view = opened_view(batch, info, columns)
                        return encode_batch(view, "csv", out_encoding), view.num_rows

                    for data, n in opened.map_batches(encoded, workers=workers):
                        w.write_encoded(data, n)
                        written += n
                        if meter is not None:
                            meter.add(n)
                else:
                    for batch in opened.batches():
                        view = opened_view(batch, info, columns)
                        for row in zip(*(c.to_pylist() for c in view.columns), strict=True):
                            w.write(row)
                        written += view.num_rows
                        if meter is not None:
                            meter.add(view.num_rows)
                if meter is not None:
                    meter.end()
            result = OpenResult(opened.info, written)
    except XinanError:
        session.record("open", outcome="failed", objects={"package": info.package_id})
        raise
    return result


class Desk(Actor):
    """Package checks as one identity: verify (every role but pseudonym keys) and open a
    submission (the platform). Both are logged; a failed verification too."""

    def verify(self, path: Path, *, workers: int | None = None) -> PackageInfo:
        self.require("verify")
        try:
            info = verify_package_file(path, self.keyring, workers=workers)
        except Exception:
            self.session.record("verify", outcome="failed", objects={"ref": f"file:{path.name}"})
            raise
        self.session.record(
            "verify", objects={"package": info.package_id, "counts": {"records": info.count}}
        )
        return info

    def open_submission(
        self,
        path: Path,
        output: str | Path,
        *,
        workers: int | None = None,
        encoding: str = "utf-8",
    ) -> OpenResult:
        """``encoding``: of a CSV output (utf-8, utf-8-sig for Excel, gb18030)."""
        self.require("open.submission")
        return open_submission_file(
            path,
            output,
            identity=self.identity,
            keyring=self.keyring,
            session=self.session,
            workers=workers,
            encoding=encoding,
        )
