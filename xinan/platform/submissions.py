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

from xinan.access import Actor, Session
from xinan.errors import XinanError
from xinan.fileio import open_input
from xinan.formats.package import OpenedRecord, PackageInfo, open_package, verify_package
from xinan.keys import Identity, Keyring
from xinan.records import open_writer


def verify_package_file(path: Path, keyring: Keyring) -> PackageInfo:
    """Verify a whole package file against the trust store; raises on any failure."""
    with path.open("rb") as f:
        return verify_package(f, trust=keyring.get_public)


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


def open_submission_file(
    path: Path, output: str | Path, *, identity: Identity, keyring: Keyring, session: Session
) -> OpenResult:
    """Verify, record the ``open`` event durably, then decrypt into ``output`` (atomic).

    A failure after the event is recorded as a second, ``failed`` event; no output appears.
    """
    info = verify_package_file(path, keyring)  # first pass: nothing decrypted yet
    objects = {"package": info.package_id, "counts": {"records": info.count}}
    session.record("open", objects=objects, why={"purpose": "submission"})
    columns = opened_columns(info)
    position = {name: i for i, name in enumerate(columns)}
    written = 0
    try:
        with open_input(path) as f, open_writer(output, columns, secret=True) as w:

            def sink(r: OpenedRecord) -> None:
                nonlocal written
                row = [""] * len(columns)
                row[0] = r.record_id
                for name, v in zip(info.clear_fields, r.clear, strict=True):
                    row[position[name]] = v
                for name, sv in zip(info.sealed_fields, r.sealed, strict=True):
                    if sv is not None:
                        row[position[name]] = sv
                w.write(row)
                written += 1

            opened = open_package(f, sink, identity=identity, trust=keyring.get_public)
            # inside the writer: bytes other than those verified and logged leave no output
            info.check_same(opened)
    except XinanError:
        session.record("open", outcome="failed", objects={"package": info.package_id})
        raise
    return OpenResult(opened, written)


class Desk(Actor):
    """Package checks as one identity: verify (every role but pseudonym keys) and open a
    submission (the platform). Both are logged; a failed verification too."""

    def verify(self, path: Path) -> PackageInfo:
        self.require("verify")
        try:
            info = verify_package_file(path, self.keyring)
        except Exception:
            self.session.record("verify", outcome="failed", objects={"ref": f"file:{path.name}"})
            raise
        self.session.record(
            "verify", objects={"package": info.package_id, "counts": {"records": info.count}}
        )
        return info

    def open_submission(self, path: Path, output: str | Path) -> OpenResult:
        self.require("open.submission")
        return open_submission_file(
            path, output, identity=self.identity, keyring=self.keyring, session=self.session
        )
