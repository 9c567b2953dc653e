"""The vault opened: keys, stored records, consents, grants and revocation lists
(docs/vault.md §2, §3, §6, §7).

:class:`VaultCore` is what every vault operation stands on; ingest
(:mod:`xinan.platform.ingest`) and shares and releases (:mod:`xinan.platform.sharing`) build
on it, and :class:`xinan.platform.vault.Vault` is all three. It never reads the clock: ``now``
is a parameter. Nothing here stores or logs a clear identifier or a clear sensitive value.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, Self

from xinan.crypto import get_suite
from xinan.crypto.recipes import SecretWrapper, hex_fingerprint
from xinan.errors import (
    AccessDenied,
    IntegrityError,
    KeyringError,
    UsageError,
)
from xinan.fileio import protect, write_bytes_atomic
from xinan.formats.grant import (
    Consent,
    Grant,
    Revocation,
    RevocationList,
    issue_grant,
    sign_revocations,
)
from xinan.formats.package import (
    derive_field_key,
    enc,
    open_sealed_value,
)
from xinan.keys import Identity, PublicKeyInfo
from xinan.masking import Pseudonymizer, subject_pseudonym
from xinan.platform.store import (
    STATUS_COLUMNS,
    Store,
)
from xinan.platform.store.records import row_mac_input
from xinan.platform.vault_config import (
    CONFIG_FILE,
    INFO_KEK,
    L_KEK_COMMIT,
    L_RKV,
    L_ROW,
    L_ROWKEY_COMMIT,
    REVOCATIONS_FILE,
    VaultConfig,
    _kek_aad,
    _mac_key,
    _parse_t,
    _row_mac_key,
    _t,
    log_service_secret,
    open_row_key,
    resolve_fields,
)
from xinan.policy.catalogue import Policy, SubjectClass
from xinan.short_ids import MIN_PREFIX, resolve


# ============================================================================================
# Models
# ============================================================================================
@dataclass(frozen=True)
class StoredRecord:
    """A record as the vault keeps it: masked clear part, ciphertexts, facts, status."""

    record_id: str
    package_id: str
    kind: str
    subject_class: SubjectClass
    subjects: tuple[str, ...]
    clear: dict[str, str]
    sealed_fields: tuple[str, ...]
    blobs: tuple[bytes, ...] = field(repr=False)
    facts: dict[str, str | None]
    status: dict[str, str | None]

    @property
    def shareable(self) -> bool:
        return all(v is None for v in self.status.values())


def _pack_blobs(blobs: Sequence[bytes | None]) -> bytes:
    out = []
    for b in blobs:
        if b is None:  # pragma: no cover - a submission always carries every sealed value
            raise IntegrityError("a sealed value is missing")
        out.append(len(b).to_bytes(4, "big") + b)
    return b"".join(out)


def _unpack_blobs(data: bytes | None, n: int, record_id: str) -> tuple[bytes, ...]:
    out: list[bytes] = []
    at = 0
    data = data or b""
    for _ in range(n):
        if at + 4 > len(data):
            raise IntegrityError(f"vault record {record_id!r}: sealed data damaged")
        ln = int.from_bytes(data[at : at + 4], "big")
        out.append(data[at + 4 : at + 4 + ln])
        at += 4 + ln
    if at != len(data):
        raise IntegrityError(f"vault record {record_id!r}: sealed data damaged")
    return tuple(out)


# ============================================================================================
# The vault
# ============================================================================================
class VaultCore:
    """An open vault: keys, records, consents, grants. Use :meth:`open`; :meth:`unlock` with
    the platform identity before any operation that touches keys. Close it (``with``)."""

    def __init__(
        self, path: Path, cfg: VaultConfig, *, store_format: tuple[str, int] | None = None
    ) -> None:
        self.path = path
        self.config = cfg
        # issue 11: no output of any command replaces a file of the vault (xinan.fileio)
        protect(path, "the vault's files", owner="vault", directory=True)
        self.suite = get_suite(cfg.suite)
        fmt, schema = store_format or (cfg.format, cfg.schema_version)
        self.store = Store(path, vault_id=cfg.id, format=fmt, schema_version=schema)
        self._kek: SecretWrapper | None = None
        self._rows_ready = False  # the row MAC key is set (from the KEK, or sealed: §3.2)
        #: where the platform identity comes from when a read needs the vault's key and the
        #: vault is still locked (the platform object sets it; None: fail closed)
        self.key_source: Callable[[], Identity] | None = None
        #: called with a record id before a row that fails its MAC is refused (logging it)
        self.on_bad_row: Callable[[str], None] | None = None

    def __repr__(self) -> str:
        return f"<Vault {self.config.id} {self.path}>"

    @classmethod
    def open(cls, path: Path) -> Self:
        return cls(path, VaultConfig.read(path))

    def close(self) -> None:
        self.store.close()
        self.store.set_row_mac(None, None)
        self._kek = None
        self._rows_ready = False

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def transaction(self) -> AbstractContextManager[None]:
        """One write transaction on vault.db: the caller logs inside it, so the audit entry
        is durable before the change is committed (and nothing commits if logging fails)."""
        return self.store.transaction()

    # -- §2 keys ---------------------------------------------------------------------------
    def unlock(self, platform: Identity) -> None:
        """Unwrap the KEK with the platform identity; check its commitment and the config MAC."""
        self._unlock_with(self._unwrap_kek(platform))

    def _unwrap_kek(self, platform: Identity) -> bytes:
        cfg = self.config
        if platform.key_id != cfg.platform_key_id:
            raise KeyringError(
                f"the vault belongs to {cfg.platform_id} ({cfg.platform_key_id}), "
                f"not {platform.info.id} ({platform.key_id})"
            )
        try:
            kek = platform.unwrap(cfg.kek_wrapped, INFO_KEK, _kek_aad(cfg.vid, cfg.platform_key_id))
        except IntegrityError:
            raise IntegrityError(f"{self.path}: the vault key did not unwrap") from None
        s = self.suite
        if len(kek) != s.key_len or s.digest(L_KEK_COMMIT + kek) != cfg.kek_commitment:
            raise IntegrityError(f"{self.path}: the vault key does not match its commitment")
        want = s.mac(_mac_key(s, kek, cfg.vid), cfg.mac_input())
        if not secrets.compare_digest(want, cfg.mac):
            raise IntegrityError(f"{self.path}/{CONFIG_FILE}: configuration was altered")
        return kek

    def _unlock_with(self, kek: bytes) -> None:
        s, cfg = self.suite, self.config
        # §3.1 row integrity: HMAC (SM3 in gm) under a key derived from the KEK
        k_row = _row_mac_key(s, kek, cfg.vid)
        if cfg.seals_row_key and not secrets.compare_digest(
            s.digest(L_ROWKEY_COMMIT + k_row), cfg.row_key_commitment
        ):  # §3.2: the sealed row key is the one the KEK derives (commitment under the MAC)
            raise IntegrityError(f"{self.path}: the row key does not match its commitment")
        self._kek = SecretWrapper(s, kek)  # draws its own nonces (xinan.crypto.recipes)
        self._set_row_key(k_row)

    def _set_row_key(self, k_row: bytes) -> None:
        label = L_ROW + self.config.vid
        mac = self.suite.mac

        def row_mac(values: Sequence[Any]) -> bytes:
            return mac(k_row, row_mac_input(label, values))

        self.store.set_row_mac(row_mac, self._bad_row)
        self._rows_ready = True

    def unlock_rows(self) -> None:
        """§3.2 (version 3): set the row MAC key from its sealed copy, opened with the bound
        log's service secret — no platform key: administrators read and change the status of
        records without being able to decrypt one. The KEK stays locked."""
        if self._rows_ready:
            return
        self._set_row_key(open_row_key(self.config, log_service_secret(self.config.audit_path)))

    def _bad_row(self, record_id: str) -> None:
        if self.on_bad_row is not None:
            self.on_bad_row(record_id)

    def _need_row_mac(self) -> None:
        """Records are read only with their MAC checked: the row key from its sealed copy in a
        version-3 vault (§3.2), else unlock first (through :attr:`key_source` when the vault
        was opened by the platform object: a version-2 vault needs the platform key)."""
        if self._rows_ready:
            return
        if self.config.seals_row_key:
            self.unlock_rows()
            return
        if self._kek is None and self.key_source is not None:
            self.unlock(self.key_source())
        if not self._rows_ready:
            raise KeyringError(
                "the vault is locked: record integrity cannot be checked",
                hint="unlock it with the platform identity",
            )

    def row_mac_function(self) -> Callable[[Sequence[Any]], bytes]:
        """The MAC of a row to insert (values in ``MAC_COLUMNS`` order), as one function."""
        self._need_row_mac()
        return self.store.row_mac

    @property
    def is_unlocked(self) -> bool:
        return self._kek is not None

    def _need_kek(self) -> SecretWrapper:
        if self._kek is None:
            raise KeyringError("the vault is locked", hint="unlock it with the platform identity")
        return self._kek

    def check_pseudonym_key(self, key: Pseudonymizer) -> None:
        if key.key_id != self.config.pseudonym_key_id:
            raise KeyringError(
                f"pseudonym key {key.key_id} is not the vault's ({self.config.pseudonym_key_id})",
                hint=f"use the vault's pseudonym key {self.config.pseudonym_id}",
            )

    def subject_pseudonym(
        self, key: Pseudonymizer, policy: Policy, clear_id: str, *, today: date
    ) -> str:
        """The keyed pseudonym of a subject named by an operator (§6), under the vault's key;
        :func:`xinan.masking.subject_pseudonym` is the rule. The clear value goes no further."""
        self.check_pseudonym_key(key)
        return subject_pseudonym(clear_id, key, policy.settings.pseudonym_namespace, today=today)

    def check_policy(self, policy: Policy) -> None:
        """The policy in force is the exact file bound at init (label and digest, under the
        config's MAC): an edited copy that kept its id and version is refused."""
        # the bound fingerprint names its hash: "#sm3:" in gm vaults, SHA-256 before (§3)
        bound = policy.fingerprint_for("sm3" if "#sm3:" in self.config.policy else "sha256")
        if bound != self.config.policy:
            raise UsageError(
                f"the vault follows policy {self.config.policy}, not {bound}",
                hint="pass the vault's policy file with --policy (or XINAN_POLICY); a changed "
                "policy is a new version, adopted by the security administrator",
            )

    @staticmethod
    def _token_digest(token: str, hash_name: str) -> str:
        """The hex hash of a grant token kept in ``grants.token_digest``: the suite's hash
        (SM3 in gm, GB/T 39786), so that a presented token is the one issued here."""
        return hex_fingerprint(hash_name, token.encode("ascii"))

    def _issued_here(self, jti: str, token: str) -> bool:
        digest = self.store.grant_token_digest(jti)
        return digest is not None and self._token_matches(digest, token)

    def _token_matches(self, stored: str, token: str) -> bool:
        if secrets.compare_digest(stored, self._token_digest(token, self.suite.hash_name)):
            return True
        # gm grant rows written before grant tokens were hashed with SM3 hold SHA-256
        # (CHANGELOG): still read, never written
        return self.suite.hash_name != "sha256" and secrets.compare_digest(
            stored, self._token_digest(token, "sha256")
        )

    def _rk_aad(self, record_id: str) -> bytes:
        return L_RKV + self.config.vid + enc(record_id)

    def record_key(self, record_id: str) -> bytes:
        kek = self._need_kek()
        w = self.store.wrapped_record_key(record_id)
        if w is None:
            raise IntegrityError(f"vault record {record_id!r}: no key (destroyed?)")
        try:
            return kek.unwrap(w, self._rk_aad(record_id))
        except IntegrityError:
            raise IntegrityError(f"vault record {record_id!r}: key did not open") from None

    # -- reading ---------------------------------------------------------------------------
    def _package_fields(self, package_id: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
        return self.store.package_fields(package_id)

    def _row(self, r: Sequence[Any], cache: dict[str, Any]) -> StoredRecord:
        self.store.check_row(r)  # §3.1: every read checks the row's MAC first
        pid = r[1]
        if pid not in cache:
            cache[pid] = self._package_fields(pid)
        clear_f, sealed_f = cache[pid]
        destroyed = (
            r[16] is not None
        )  # a tombstone (xinan.platform.retention): no data, no ciphertexts
        clear = {} if destroyed else dict(zip(clear_f, json.loads(r[5]), strict=True))
        return StoredRecord(
            record_id=r[0],
            package_id=pid,
            kind=r[2],
            subject_class=SubjectClass(r[3]),
            subjects=tuple(json.loads(r[4])),
            clear=clear,
            sealed_fields=sealed_f,
            blobs=() if destroyed else _unpack_blobs(r[6], len(sealed_f), r[0]),
            facts={
                "decision_date": r[7],
                "severity": r[8],
                "valid_until": r[9],
                "declared_end": r[10],
                "end_of_act": r[11],
                "domains": r[12],
            },
            status=dict(zip(STATUS_COLUMNS, r[13:17], strict=True)),
        )

    def records(
        self,
        *,
        kind: str | None = None,
        subject: str | None = None,
        shareable_only: bool = False,
        limit: int | None = None,
    ) -> Iterator[StoredRecord]:
        """Stored records, by kind and/or subject pseudonym, in ingest order."""
        self._need_row_mac()
        cache: dict[str, Any] = {}
        for r in self.store.record_rows(
            kind=kind, subject=subject, shareable_only=shareable_only, limit=limit
        ):
            yield self._row(r, cache)

    def get(self, record_id: str) -> StoredRecord:
        """The record ``record_id`` names: the whole id, or a unique prefix of at least four
        characters, as a person types it (xinan/short_ids.py; issue 15)."""
        self._need_row_mac()
        r = self.store.record_row(record_id)
        if r is None and len(record_id) >= MIN_PREFIX:
            found = self.store.record_ids_from(record_id, 101)
            if found:
                r = self.store.record_row(resolve(record_id, found, "record"))
        if r is None:
            raise UsageError(f"no record {record_id!r} in the vault")
        return self._row(r, {})

    def count(self) -> int:
        return self.store.count_records()

    def open_sealed(self, rec: StoredRecord, only: Collection[str] | None = None) -> dict[str, str]:
        """Decrypt a record's sealed values in memory (for a masked view; never stored);
        ``only``: just these fields (data minimisation: the public view needs one)."""
        rk = self.record_key(rec.record_id)
        out: dict[str, str] = {}
        for name, blob in zip(rec.sealed_fields, rec.blobs, strict=True):
            if only is not None and name not in only:
                continue
            fk = derive_field_key(self.suite, rec.package_id, rk, rec.record_id, name)
            out[name] = open_sealed_value(
                self.suite,
                blob,
                fk,
                package_id=rec.package_id,
                record_id=rec.record_id,
                field_name=name,
            )
        return out

    # -- §7 consents -----------------------------------------------------------------------
    def add_consent(self, consent: Consent, *, by: str, now: datetime) -> None:
        self.store.insert_consent(
            consent_id=consent.id,
            subject=consent.subject,
            querent=consent.querent,
            purpose=consent.purpose,
            fields=consent.fields,
            valid_until=_t(consent.valid_until),
            ref=consent.ref,
            created_at=_t(now),
            created_by=by,
        )

    def consent(self, consent_id: str) -> Consent:
        r = self.store.consent_row(consent_id)
        if r is None:
            raise UsageError(f"no consent {consent_id!r} in the vault")
        return Consent(r[0], r[1], r[2], r[3], r[4], _parse_t(r[5]), r[6], r[7] is not None)

    def revoke_consent(self, consent_id: str, *, by: str, now: datetime) -> Consent:
        c = self.consent(consent_id)
        if not c.revoked:
            self.store.revoke_consent(consent_id, at=_t(now), by=by)
        return self.consent(consent_id)

    def consents(self) -> list[dict[str, Any]]:
        return self.store.consent_list()

    # -- §7 grants -------------------------------------------------------------------------
    def issue_grant(
        self,
        *,
        platform: Identity,
        authorised_by: Identity,
        querent: PublicKeyInfo,
        consent_id: str,
        purpose: str,
        fields: Sequence[str],
        subjects: Sequence[str],
        policy: Policy,
        ttl: timedelta,
        now: datetime,
    ) -> Grant:
        """Issue a grant (docs/grant.md §5) within its stored consent and the policy, and
        keep it (§7). Refusals raise the grants module's AccessDenied family."""
        self.check_policy(policy)
        names = resolve_fields(policy, fields)
        dropped = [
            n
            for n in names
            if not any(
                f.name == n and f.rules["querent"].op != "drop"
                for k in policy.kinds.values()
                if "querent" not in k.withhold
                for f in k.fields
            )
        ]
        if dropped:
            raise AccessDenied(
                f"policy {policy.label} never releases {', '.join(dropped)} to querents "
                "(rule querent = drop)",
                rule="policy:querent-view",
                hint="a grant can only name fields the policy's querent audience may receive",
            )
        consent = self.consent(consent_id)
        grant = issue_grant(
            platform=platform,
            authorised_by=authorised_by,
            querent=querent,
            consent=consent,
            purpose=purpose,
            fields=names,
            subjects=subjects,
            policy_label=policy.label,
            ttl=ttl,
            now=now,
        )
        c = grant.claims
        self.store.insert_grant(
            jti=c.jti,
            querent=c.querent,
            subjects=c.subjects,
            fields=c.fields,
            purpose=c.purpose,
            consent_id=c.consent_id,
            policy=c.policy,
            issued_at=_t(c.issued_at),
            not_before=_t(c.not_before),
            expires=_t(c.expires),
            authorised_by=c.authorised_by,
            token_digest=self._token_digest(grant.token, self.suite.hash_name),
        )
        return grant

    def grants(self) -> list[dict[str, Any]]:
        return self.store.grant_list()

    def revocation_list(self) -> RevocationList:
        """The working copy of the revocation list (entries and the last edition number)."""
        entries = tuple(
            Revocation(j, _parse_t(a), _parse_t(e)) for j, a, e in self.store.revoked_grants()
        )
        return RevocationList(self.config.platform_id, self.store.last_revocation_number(), entries)

    def revoked_jtis(self) -> frozenset[str]:
        return self.store.revoked_jtis()

    def revoke_grant(
        self,
        jti: str,
        *,
        platform: Identity,
        now: datetime,
        valid: timedelta,
        before_commit: Callable[[int], None] | None = None,
    ) -> tuple[Path, int]:
        """Revoke ``jti``, sign a new edition of the list and write ``revocations.json``."""
        expires = self.store.grant_expires(jti)
        if expires is None:
            raise UsageError(
                f"no grant {jti[:40]!r} was issued by this vault",
                # a mistyped option (--valdi) reaches here: a word that begins with "-" and is
                # none of the command's options is read as a bare grant id (xinan/cli/access_cmds)
                hint="`xinan grant list` shows the grant ids (g.…); "
                "`xinan grant revoke --help` lists the options",
            )
        rl = self.revocation_list()
        if jti not in rl:
            rl = RevocationList(rl.issuer, rl.number, rl.entries).revoke(
                jti, at=now, expires=_parse_t(expires)
            )
        else:
            rl = RevocationList(rl.issuer, rl.number + 1, rl.entries)
        return self._publish(
            rl, platform=platform, now=now, valid=valid, jti=jti, before_commit=before_commit
        )

    def publish_revocations(
        self,
        *,
        platform: Identity,
        now: datetime,
        valid: timedelta,
        before_commit: Callable[[int], None] | None = None,
    ) -> tuple[Path, int]:
        """Re-sign the current list as a new edition (before the last one goes stale)."""
        rl = self.revocation_list()
        return self._publish(
            RevocationList(rl.issuer, rl.number + 1, rl.entries),
            platform=platform,
            now=now,
            valid=valid,
            jti=None,
            before_commit=before_commit,
        )

    def _publish(
        self,
        rl: RevocationList,
        *,
        platform: Identity,
        now: datetime,
        valid: timedelta,
        jti: str | None,
        before_commit: Callable[[int], None] | None,
    ) -> tuple[Path, int]:
        if platform.key_id != self.config.platform_key_id:
            raise KeyringError("revocation lists are signed by the vault's platform key")
        body = sign_revocations(rl, platform, now=now, next_update=now + valid)
        with self.store.transaction():
            if jti is not None:
                entry = next(e for e in rl.entries if e.jti == jti)
                self.store.revoke_grant_row(
                    jti, revoked_at=_t(entry.revoked_at), expires=_t(entry.expires), now=_t(now)
                )
            self.store.insert_revocation_edition(
                rl.number, issued=_t(now), next_update=_t(now + valid), body=body
            )
            if before_commit is not None:
                before_commit(rl.number)
            out = self.path / REVOCATIONS_FILE
            write_bytes_atomic(out, body, owner="vault")
        return out, rl.number
