"""(3) The querent's side: open a share package with its grant (docs/vault.md §9).

Owns the querent's order of checks: the revocation list (when given), the grant (signature
against the platform key in the querent's own trust store, clock, key binding), the package
against the grant (audience, grant id, sender, addressee, policy, fields), the platform's
release file for a per-record share, the durable audit entry, and only then the plaintext —
the granted fields of the released records, written atomically. Records the platform withheld
(destroyed, or no longer releasable) are counted and not written.

Does not own the formats (:mod:`xinan.formats.package`, :mod:`xinan.formats.grant`,
:mod:`xinan.formats.release`) nor
the platform's side (:mod:`xinan.platform.vault`). It never reads the clock: ``now`` is a parameter.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from xinan import progress
from xinan.access import Session
from xinan.engine.io import encode_batch
from xinan.engine.workers import default_workers
from xinan.errors import (
    AccessDenied,
    IntegrityError,
    RevocationListInvalid,
    RevocationListRollback,
    RevocationListStale,
    UsageError,
    VerificationError,
    XinanError,
)
from xinan.fileio import open_input
from xinan.formats.grant import GrantClaims, RevocationList, verify_revocations
from xinan.formats.package import PackageInfo, open_blocks, verify_package
from xinan.formats.release import Release, open_release
from xinan.keys import Identity, Keyring
from xinan.records import open_writer
from xinan.share_rules import AllOf, GrantVerifies, ShareCase, log_refusal, refusal_context

__all__ = ["WITHHELD", "ShareOpenResult", "check_share_against_grant", "open_share_file"]


WITHHELD = "withheld by the platform (destroyed or no longer releasable)"
MAX_WITHHELD_IDS = 1000  # ids reported back; the count is always exact


@dataclass(frozen=True)
class ShareOpenResult:
    info: PackageInfo
    claims: GrantClaims
    written: int
    columns: tuple[str, ...]
    withheld: int = 0
    withheld_ids: tuple[str, ...] = ()
    release_id: str | None = None


def check_share_against_grant(info: PackageInfo, claims: GrantClaims, key_id: str) -> None:
    """Raise unless the (verified) package is a share made for this grant and this key, and
    carries no field the grant does not name (docs/vault.md §9 step 3)."""
    problems: list[str] = []
    if info.audience != "share":
        problems.append("the package is not a share")
    if info.grant != claims.jti:
        problems.append(f"the package serves grant {info.grant}, not {claims.jti}")
    if info.sender != claims.kid:
        problems.append("the package was not sent by the platform key that signed the grant")
    if key_id not in info.recipients:
        problems.append(f"the package is not addressed to {key_id}")
    if f"{info.policy_id}@{info.policy_version}" != claims.policy:
        problems.append(f"the package follows {info.policy_id}@{info.policy_version}")
    extra = [f for f in (*info.clear_fields, *info.sealed_fields) if f not in claims.fields]
    if extra:
        problems.append(f"the package carries fields not granted: {', '.join(sorted(set(extra)))}")
    if problems:
        raise VerificationError(
            "share package does not match its grant: " + "; ".join(problems),
            hint="open a share with the grant it was built for; ask the platform if they differ",
        )


def open_share_file(
    path: Path,
    output: str | Path,
    *,
    identity: Identity,
    keyring: Keyring,
    grant_token: str,
    revocations: bytes | None,
    session: Session,
    now: datetime,
    release: bytes | None = None,
    workers: int | None = None,
    encoding: str = "utf-8",
) -> ShareOpenResult:
    """Verify revocations, grant, package and (for a per-record share) the platform's release
    file; log the access durably; then decrypt and write ``record_id`` and the granted fields
    (grant order) of every released record. Refusals are logged before raising. The package
    is read by ``workers`` processes (default: every core; the output does not depend on it)."""
    workers = workers or default_workers()
    case = ShareCase(now=now, token=grant_token)

    def deny(rule: str, exc: XinanError) -> XinanError:
        why, subjects = refusal_context(case, exc)
        return log_refusal(session, "open", rule, exc, why=why, subjects=subjects)

    revoked: RevocationList | frozenset[str] = frozenset()
    if revocations is not None:
        try:
            revoked = verify_revocations(revocations, trust=keyring, now=now)
        except (RevocationListInvalid, RevocationListStale, RevocationListRollback) as e:
            raise deny(type(e).__name__, e) from None
    # docs/vault.md §9 steps 1–2: the same grant rule the platform's share applies, bound to
    # this querent's own key
    AllOf(GrantVerifies(keyring, revoked=lambda: revoked, expected_querent=identity.info)).check(
        case, refuse=deny
    )
    claims = case.claims
    if claims is None:  # pragma: no cover - AllOf established it
        raise IntegrityError("open: the rules did not establish the grant")
    try:
        with path.open("rb") as f:
            info = verify_package(f, trust=keyring.get_public, workers=workers)
        check_share_against_grant(info, claims, identity.key_id)
    except (VerificationError, IntegrityError, AccessDenied) as e:
        raise deny("share-matches-grant", e) from None
    rel: Release | None = None
    if info.release == "per-record":
        if release is None:
            raise deny(
                "release-needed",
                UsageError(
                    f"share {info.package_id} is released per record: it opens only with the "
                    "platform's release file",
                    hint="ask the platform for one (`xinan --as platform release --package PKG "
                    "-o REL`) and open with --release REL",
                ),
            )
        try:
            rel = open_release(release, share=info, identity=identity, trust=keyring.get_public)
        except (VerificationError, IntegrityError) as e:
            raise deny("release-valid", e) from None
    elif release is not None:
        raise deny(
            "release-none",
            UsageError(
                f"share {info.package_id} has release {info.release!r}: it takes no release file",
                hint="open it without --release",
            ),
        )

    objects: dict[str, object] = {
        "package": info.package_id,
        "policy": claims.policy,
        "counts": {"records": info.count, "fields": len(claims.fields)},
        "fields": list(claims.fields),
    }
    if rel is not None:
        objects["ref"] = f"release:{rel.release_id}"
        objects["counts"] = {
            "records": info.count - rel.withheld,
            "withheld": rel.withheld,
            "fields": len(claims.fields),
        }
    why = {"purpose": claims.purpose, "grant": claims.jti, "consent": claims.consent_id}
    # 8.1.4.3: the access is on record before any plaintext exists.
    session.record("open", objects=objects, why=why, subjects=claims.subjects)
    columns = ("record_id", *claims.fields)
    clear_pos = {n: i for i, n in enumerate(info.clear_fields)}
    sealed_pos = {n: i for i, n in enumerate(info.sealed_fields)}
    written = 0
    withheld = 0
    withheld_ids: list[str] = []
    # the ids of the released records (their secrets stay in the release object)
    released = pa.array(sorted(rel.secrets), pa.string()) if rel is not None else None

    def granted(batch: pa.RecordBatch) -> tuple[pa.RecordBatch, int, list[str]]:
        """One block of opened records → the granted columns of its released records, and
        how many it withheld (with their ids, the first few)."""
        rid = batch.column(1)
        gone: list[str] = []
        n_gone = 0
        if released is not None:
            # docs/package.md §6.3: nothing of a withheld record is released, not even its
            # clear fields (none of its sealed values was opened)
            keep = pc.is_in(rid, value_set=released)
            n_gone = batch.num_rows - pc.sum(keep).as_py() if batch.num_rows else 0
            if n_gone:
                gone = rid.filter(pc.invert(keep)).slice(0, MAX_WITHHELD_IDS).to_pylist()
                batch = batch.filter(keep)
        cols = [batch.column(1)]
        base = 3 + len(info.clear_fields)
        for name in claims.fields:
            # the opened value, else its clear twin, else empty (a null is a value not in
            # the share)
            parts = []
            if name in sealed_pos:
                parts.append(batch.column(base + sealed_pos[name]))
            if name in clear_pos:
                parts.append(batch.column(3 + clear_pos[name]))
            parts.append(pa.scalar("", pa.string()))
            cols.append(pc.coalesce(*parts) if len(parts) > 1 else pa.array(
                [""] * batch.num_rows, pa.string()))  # fmt: skip
        return pa.record_batch(cols, names=list(columns)), n_gone, gone

    try:
        with (
            open_input(path) as f,
            open_writer(output, columns, secret=True, encoding=encoding) as w,
            open_blocks(
                f,
                identity=identity,
                trust=keyring.get_public,
                release=rel.lookup() if rel is not None else None,
                workers=workers,
            ) as opened,
        ):
            # Inside the writer: a package swapped after it was checked leaves no output.
            info.check_same(opened.info)
            meter = progress.start("records written", total=info.count)
            out_encoding = w.encoding
            # GBK cannot hold every character: its rows go through the writer, which names
            # the record and field it cannot encode (as the seal job does)
            csv = w.format.value == "csv" and out_encoding != "gbk"

            def block(batch: pa.RecordBatch) -> tuple[bytes | pa.RecordBatch, int, int, list[str]]:
                view, n_gone, gone = granted(batch)
                data = encode_batch(view, "csv", out_encoding) if csv else view
                return data, view.num_rows, n_gone, gone

            for data, n, n_gone, gone in opened.map_batches(block, workers=workers):
                if isinstance(data, bytes):
                    w.write_encoded(data, n)
                else:
                    for row in zip(*(c.to_pylist() for c in data.columns), strict=True):
                        w.write(row)
                written += n
                withheld += n_gone
                withheld_ids.extend(gone[: MAX_WITHHELD_IDS - len(withheld_ids)])
                if meter is not None:
                    meter.add(n + n_gone)
            if meter is not None:
                meter.end()
            opened_info = opened.info
            if rel is not None and withheld != rel.withheld:
                raise IntegrityError(
                    f"release file names {rel.withheld} withheld records, the share {withheld}"
                )
    except XinanError:
        session.record("open", outcome="failed", objects={"package": info.package_id}, why=why)
        raise
    return ShareOpenResult(
        opened_info,
        claims,
        written,
        columns,
        withheld,
        tuple(withheld_ids),
        rel.release_id if rel is not None else None,
    )
