"""The provider's side of a revocation or correction at the source (docs/source-change.md §3).

:func:`issue_source_change`: the provider that submitted records says, in a file it signs, that
the unit that decided them revoked (``revoke``) or changed (``correct``) its decision; for a
correction it names the submission package of corrected records it sealed as usual. Role
``provider``; the provider's own log records it before the file exists. Does not own the format
(:mod:`xinan.formats.source_change`) or applying it (:mod:`xinan.platform.source_changes`).
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Sequence
from datetime import UTC, date
from pathlib import Path
from typing import Any

from xinan.access import Actor
from xinan.errors import UsageError
from xinan.fileio import open_input, write_bytes_atomic
from xinan.formats.package import verify_package
from xinan.formats.source_change import Action, SourceChange, sign_source_change
from xinan.platform.lifecycle_common import require
from xinan.policy.catalogue import Policy

__all__ = ["issue_source_change"]


def issue_source_change(
    provider: Actor,
    *,
    action: Action | str,
    records: Sequence[str],
    basis: str,
    decided: date,
    policy: Policy,
    output: Path | str,
    package: Path | str | None = None,
) -> SourceChange:
    """Write a signed ``xinan-source-change/1`` file to ``output`` (atomically) and return it.

    ``records``: ids of records this provider submitted; for ``correct``, ``package`` is the
    provider's sealed submission of the corrected records, record *i* replacing ``records[i]``.
    ``basis`` cites the source's decision (e.g. its document number) and must hold no
    personal identifier."""
    act = Action(action)
    require(provider.session, "source.change")
    me = provider.identity
    pkg_id = digest = None
    if act is Action.CORRECT:
        if package is None:
            raise UsageError(
                "a correction needs the package of corrected records",
                hint="seal the corrected rows as usual (xinan seal … -o fixed.xpkg), then "
                "pass --package fixed.xpkg",
            )
        with open_input(package, "the corrected package") as f:
            info = verify_package(f, trust=provider.keyring.get_public)
        if provider.keyring.get_public(info.sender).key_id != me.key_id:
            raise UsageError(f"{package} was not sealed by {me.info.id}")
        if info.count != len(records):
            raise UsageError(
                f"{package} holds {info.count} records; {len(records)} records are corrected",
                hint="the package's record i replaces the i-th record given",
            )
        pkg_id, digest = info.package_id, base64.b64encode(info.records_digest).decode("ascii")
    elif package is not None:
        raise UsageError("a revocation names no package")
    change = SourceChange(
        id="sc1" + secrets.token_hex(16),
        action=act,
        issued=provider.clock().astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        decided=decided,
        basis=basis,
        policy=policy.label,
        sender_id=me.info.id,
        sender_key_id=me.key_id,
        records=tuple(records),
        package=pkg_id,
        package_digest=digest,
    )
    data = sign_source_change(change, me)
    objects: dict[str, Any] = {
        "ref": f"change:{change.id}",
        "record_ids": list(change.records),
        "policy": policy.label,
        "counts": {"records": len(change.records)},
    }
    if pkg_id is not None:
        objects["package"] = pkg_id
    provider.session.record(
        "revoke" if act is Action.REVOKE else "correct",
        objects=objects,
        why={"purpose": "source-change", "basis": basis},
    )
    write_bytes_atomic(output, data)
    return change
