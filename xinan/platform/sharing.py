"""Shares and releases (docs/vault.md §8, §8.1; docs/package.md §6.3–§6.4).

A share is built for one verified grant (the rules of :mod:`xinan.share_rules`): only the granted
fields of the granted subjects' live records, the sealed values re-keyed for the querent, with
one release secret per record kept in the key store. A release hands the querent the secrets
of the records still releasable when it is about to open. Every refusal is logged before it is
raised; the entry of a share or release is durable before its file exists.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, cast

from xinan import progress
from xinan.access import Session
from xinan.engine.workers import default_workers
from xinan.errors import (
    AccessDenied,
    GrantReplayed,
    IntegrityError,
    KeyringError,
    UsageError,
    VerificationError,
    XinanError,
)
from xinan.fileio import atomic_writer, write_bytes_atomic
from xinan.formats.grant import GrantClaims, GrantRequest, read_grant
from xinan.formats.package import (
    RELEASE_SECRET_LEN,
    PackageMeta,
    ShareRecord,
    build_share_package,
    derive_field_key,
    enc,
    verify_package,
)
from xinan.formats.release import build_release
from xinan.keys import Identity, Keyring, PublicKeyInfo
from xinan.masking import MaskContext, View
from xinan.platform.vault_config import _BATCH, L_RELEASE, MAX_AUDIT_RECORD_IDS, _b64, _parse_t, _t
from xinan.platform.vault_core import StoredRecord, VaultCore
from xinan.policy.catalogue import Policy
from xinan.share_rules import (
    AllOf,
    BoundToQuerentKey,
    GrantVerifies,
    InForce,
    IssuedHere,
    QuerentKnown,
    ShareCase,
    SignedByPlatformKey,
    ToAQuerent,
    UnderPolicy,
    WithinConsent,
    log_refusal,
    refusal_context,
)


@dataclass
class ShareSummary:
    output: str
    share_id: str
    jti: str
    querent: str
    records: int
    clear_fields: tuple[str, ...]
    sealed_fields: tuple[str, ...]
    kind: str
    release: str = "per-record"

    def to_json(self) -> dict[str, Any]:
        return {
            "output": self.output,
            "share_id": self.share_id,
            "grant": self.jti,
            "querent": self.querent,
            "records": self.records,
            "clear_fields": list(self.clear_fields),
            "sealed_fields": list(self.sealed_fields),
            "kind": self.kind,
            "release": self.release,
        }


@dataclass
class ReleaseSummary:
    """What ``xinan release`` handed over (§8.1): counts and ids, never a secret."""

    output: str
    release_id: str
    share_id: str
    jti: str
    querent: str
    records: int
    withheld: int

    def to_json(self) -> dict[str, Any]:
        return {
            "output": self.output,
            "release_id": self.release_id,
            "share_id": self.share_id,
            "grant": self.jti,
            "querent": self.querent,
            "records": self.records,
            "withheld": self.withheld,
        }


class SharingOps(VaultCore):
    # -- §8 share --------------------------------------------------------------------------
    def share(
        self,
        grant_file: Path,
        output: str | Path,
        *,
        platform: Identity,
        keyring: Keyring,
        policy: Policy,
        session: Session,
        now: datetime,
    ) -> ShareSummary:
        """Verify a grant and build its share package (§8). Every refusal is logged (a
        ``share`` entry with outcome ``denied`` naming the rule) before it is raised."""
        self.check_policy(policy)
        self._need_kek()
        case = ShareCase(now=now, token=read_grant(grant_file))

        def deny(rule: str, exc: XinanError) -> XinanError:
            why, subjects = refusal_context(case, exc)
            return log_refusal(session, "share", rule, exc, why=why, subjects=subjects)

        # docs/vault.md §8 steps 1–5, in this order; the replay guard (step 6) runs inside
        # the share's transaction below
        AllOf(
            GrantVerifies(keyring, revoked=self.revoked_jtis),
            IssuedHere(self._issued_here),
            SignedByPlatformKey(self.config.platform_key_id),
            UnderPolicy(self.config.policy_label),
            QuerentKnown(keyring),
            ToAQuerent(),
            BoundToQuerentKey(),
            WithinConsent(self.consent),
        ).check(case, refuse=deny)
        c = case.claims
        querent = case.querent
        if c is None or querent is None:  # pragma: no cover - AllOf established both
            raise IntegrityError("share: the rules did not establish the grant")

        self.store.begin()
        try:
            if not self.store.first_use(c.jti, expires=_t(c.expires), now=_t(now)):
                raise deny(
                    "one-grant-one-share",
                    GrantReplayed(
                        f"grant {c.jti} has already been used for a share",
                        jti=c.jti,
                        hint="one grant, one share: ask the platform for a new grant",
                    ),
                )
            summary = self._build_share(c, querent, output, platform, policy, session, now)
        except BaseException:
            self.store.rollback_both()
            raise
        return summary

    def _build_share(
        self,
        c: GrantClaims,
        querent: PublicKeyInfo,
        output: str | Path,
        platform: Identity,
        policy: Policy,
        session: Session,
        now: datetime,
    ) -> ShareSummary:
        withheld = [k.name for k in policy.kinds.values() if "querent" in k.withhold]
        pkgs: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {}
        kinds: set[str] = set()
        for pid, kind in self.store.shareable_packages(c.subjects, withheld):
            pkgs[pid] = self._package_fields(pid)
            kinds.add(kind)
        granted = c.fields
        sealed_f = tuple(f for f in granted if any(f in s for _, s in pkgs.values()))
        clear_f = tuple(
            f for f in granted if any(f in cl and f not in s for cl, s in pkgs.values())
        )
        kind_label = ",".join(sorted(kinds)) if kinds else "none"
        meta = PackageMeta(policy.id, policy.version, kind_label, clear_f, sealed_f)
        views: dict[str, View] = {}
        today = now.astimezone(UTC).date()
        record_ids: list[str] = []
        n_ids = 0
        kek = self._need_kek()
        # §8 step 6: one fresh release secret R per record (docs/package.md §6.3), kept in the
        # key store under the KEK, bound to (vault, share, record); written in the key store's
        # transaction, committed with the share's bookkeeping below.
        self.store.begin_keys()
        pending: list[tuple[str, str, bytes]] = []

        def flush_secrets() -> None:
            self.store.insert_release_secrets(pending)
            pending.clear()

        def keep_secret(record_id: str) -> bytes:
            share_id = tap.package_id
            if share_id is None:  # pragma: no cover - the header precedes every record
                raise IntegrityError("share: the package id is not known before its records")
            secret = self.suite.random(RELEASE_SECRET_LEN)
            wrapped = kek.wrap(secret, self._rs_aad(share_id, record_id))
            pending.append((share_id, record_id, wrapped))
            if len(pending) >= _BATCH:
                flush_secrets()
            return secret

        def share_records() -> Iterator[ShareRecord]:
            nonlocal n_ids
            cache: dict[str, Any] = {}
            meter = progress.start("records shared")
            for r in self.store.shareable_rows(c.subjects, withheld):
                if meter is not None:
                    meter.add()
                rec = self._row(r, cache)
                if rec.kind not in views and clear_f:
                    views[rec.kind] = View(
                        policy, policy.kind(rec.kind), "querent", MaskContext(today=today)
                    )
                clear = self._querent_clear(rec, policy, views.get(rec.kind), clear_f)
                rk = self.record_key(rec.record_id)
                blobs: list[bytes | None] = []
                fks: list[bytes | None] = []
                for name in sealed_f:
                    if name in rec.sealed_fields:
                        blobs.append(rec.blobs[rec.sealed_fields.index(name)])
                        fks.append(
                            derive_field_key(self.suite, rec.package_id, rk, rec.record_id, name)
                        )
                    else:
                        blobs.append(None)
                        fks.append(None)
                n_ids += 1
                if len(record_ids) <= MAX_AUDIT_RECORD_IDS:
                    record_ids.append(rec.record_id)
                secret = keep_secret(rec.record_id)
                yield ShareRecord(rec.record_id, rec.package_id, clear, blobs, fks, secret)
            if meter is not None:
                meter.end()

        with atomic_writer(output, binary=True, secret=True) as out:
            tap = _HeaderTap(out)
            result = build_share_package(
                cast(IO[bytes], tap),
                share_records(),
                suite=self.suite,
                sender=platform,
                querent=querent,
                meta=meta,
                grant=c.jti,
                now=now,
                release="per-record",
            )
            if pending:
                flush_secrets()
            if tap.package_id != result.package_id:  # pragma: no cover - defensive
                raise IntegrityError("share: release secrets bound to another package id")
            objects: dict[str, Any] = {
                "package": result.package_id,
                "policy": policy.label,
                "key_ids": [querent.key_id],
                "counts": {"records": result.count, "fields": len(sealed_f) + len(clear_f)},
                "fields": [*clear_f, *sealed_f],
            }
            if n_ids <= MAX_AUDIT_RECORD_IDS:
                objects["record_ids"] = record_ids
            self.store.insert_share(
                share_id=result.package_id,
                jti=c.jti,
                querent=querent.key_id,
                count=result.count,
                records_digest=_b64(result.records_digest),
                created=_t(now),
                created_by=platform.key_id,
            )
            # The entry is durable before the package exists under its name (8.1.4.3).
            session.record(
                "share",
                objects=objects,
                why={"purpose": c.purpose, "grant": c.jti, "consent": c.consent_id},
                subjects=c.subjects,
            )
            # Commit before the rename: a crash in between uses up the grant and leaves no
            # package (fails closed), never a package whose grant is still unused. The key store
            # first (as on ingest): a crash between the commits leaves release secrets of a
            # share that does not exist (shredded with their records), never a share without.
            self.store.commit_both()
        return ShareSummary(
            str(output),
            result.package_id,
            c.jti,
            querent.key_id,
            result.count,
            clear_f,
            sealed_f,
            kind_label,
        )

    # -- §8.1 release -----------------------------------------------------------------------
    def _rs_aad(self, share_id: str, record_id: str) -> bytes:
        return L_RELEASE + self.config.vid + enc(share_id) + enc(record_id)

    def release(
        self,
        package: Path,
        output: str | Path,
        *,
        platform: Identity,
        keyring: Keyring,
        session: Session,
        now: datetime,
    ) -> ReleaseSummary:
        """Write the release file (docs/package.md §6.4) of a per-record share this vault made:
        the release secrets of its records that are still releasable, for its querent (§8.1).
        Every refusal is logged (a ``share`` entry, purpose ``release``, outcome ``denied``)
        before it is raised; the release itself is logged before the file exists."""
        kek = self._need_kek()
        why: dict[str, str] = {"purpose": "release"}
        subjects: tuple[str, ...] = ()

        def deny(rule: str, exc: XinanError) -> XinanError:
            return log_refusal(session, "share", rule, exc, why=why, subjects=subjects)

        # 1. the package: a share this vault's platform key signed, recorded in `shares`
        try:
            with package.open("rb") as f:
                # on every core (docs/engine.md §7): the share may hold every granted record
                info = verify_package(f, trust=keyring.get_public, workers=default_workers())
        except OSError as e:
            raise UsageError(f"{package}: cannot read the share package ({e.strerror})") from None
        except (VerificationError, IntegrityError, KeyringError) as e:
            raise deny("share-package", e) from None
        row = self.store.share_row(info.package_id)
        if (
            info.audience != "share"
            or info.sender != self.config.platform_key_id
            or row is None
            or (row[0], row[2], row[3]) != (info.grant, info.count, _b64(info.records_digest))
            or row[1] not in info.recipients
        ):
            raise deny(
                "share-made-here",
                AccessDenied(
                    f"{package}: not a share this vault made (package {info.package_id})",
                    rule="share-made-here",
                    hint="a release is made for a share built by this vault's `xinan share`",
                ),
            )
        jti = str(row[0])
        g = self.store.grant_terms(jti)
        if g is None:  # pragma: no cover - a share row always has its grant
            raise deny("grant-issued-here", AccessDenied(f"grant {jti} is not in the vault"))
        subjects = tuple(g[1])
        why = {"purpose": "release", "grant": jti, "consent": str(g[4])}
        if info.release != "per-record":
            raise deny(
                "release-per-record",
                UsageError(
                    f"share {info.package_id} has release {info.release!r}: it opens without a "
                    "release file",
                    hint="nothing to release: the querent opens it with its grant alone",
                ),
            )
        # 2. the grant still holds (docs/grant.md §6 at the platform, on its own records)
        case = ShareCase(
            now=now,
            jti=jti,
            revoked_at=g[7],
            terms=GrantRequest(
                querent=str(g[0]),
                purpose=str(g[3]),
                fields=tuple(g[2]),
                subjects=subjects,
                consent_id=str(g[4]),
                not_before=_parse_t(g[5]),
                expires=_parse_t(g[6]),
            ),
        )
        AllOf(
            InForce(self.revoked_jtis),
            WithinConsent(self.consent),
            QuerentKnown(keyring),
            ToAQuerent(),
        ).check(case, refuse=deny)
        querent = case.querent
        if querent is None:  # pragma: no cover - AllOf established it
            raise IntegrityError("release: the rules did not establish the querent")
        # 3. the secrets of the records still shareable now (§3): destroyed records have no
        # row any more; repaired, archived and disputed records keep theirs but are left out
        rows = self.store.release_secret_rows(info.package_id)
        live = self.store.live_record_ids([rid for rid, _ in rows])
        released: list[tuple[str, bytes]] = []
        for rid, w in rows:
            if rid not in live:
                continue
            try:
                secret = kek.unwrap(w, self._rs_aad(info.package_id, rid))
            except IntegrityError:
                raise IntegrityError(f"vault record {rid!r}: release secret did not open") from None
            released.append((rid, secret))
        withheld = info.count - len(released)
        release_id, data = build_release(
            share=info,
            querent=querent,
            platform=platform,
            secrets=released,
            withheld=withheld,
            now=now,
        )
        objects: dict[str, Any] = {
            "package": info.package_id,
            "ref": f"release:{release_id}",
            "policy": self.config.policy,
            "key_ids": [querent.key_id],
            "counts": {"records": len(released), "withheld": withheld},
            "fields": list(g[2]),
        }
        if len(released) <= MAX_AUDIT_RECORD_IDS:
            objects["record_ids"] = [rid for rid, _ in released]
        # 8.1.4.3: the release is on record before the file exists under its name.
        session.record("share", objects=objects, why=why, subjects=subjects)
        write_bytes_atomic(output, data, secret=True)
        return ReleaseSummary(
            str(output), release_id, info.package_id, jti, querent.key_id, len(released), withheld
        )

    @staticmethod
    def _querent_clear(
        rec: StoredRecord, policy: Policy, view: View | None, names: Sequence[str]
    ) -> list[str]:
        """The querent view of the granted clear fields, computed from the clear part."""
        if not names:
            return []
        kind = policy.kind(rec.kind)
        row = [
            rec.clear.get(col, "") if col not in rec.sealed_fields else "" for col in kind.columns
        ]
        out = view.apply(row, rec.subject_class) if view is not None else None
        if out is None:
            return [""] * len(names)
        shown = dict(zip(view.columns, out, strict=True)) if view is not None else {}
        return [
            shown.get(n, "") if n in rec.clear and n not in rec.sealed_fields else "" for n in names
        ]


class _HeaderTap:
    """Passes a share package's bytes through to ``out`` and keeps its package id from the
    header line, which the builder writes before it asks for the first record (docs/package.md
    §2), so each record's release secret is bound to its share while the records stream (§4)."""

    def __init__(self, out: IO[bytes]) -> None:
        self._out = out
        self._head = b""
        self.package_id: str | None = None

    def write(self, data: bytes) -> int:
        if self.package_id is None:
            self._head += data
            if b"\n" in self._head:
                head = json.loads(self._head.split(b"\n", 1)[0].decode("utf-8"))
                self.package_id = str(head["id"])
                self._head = b""
        return self._out.write(data)
