"""(2) The platform's vault ``xinan-vault/1`` (spec: docs/vault.md; sections cited as §n).

Owns: the vault's files (§1 layout, §2 ``vault.json`` with the wrapped KEK, §3 ``vault.db``, §4
the separate key store ``keys.db``), ingesting submissions (§5) with subject pseudonyms (§6),
masked views of stored records, consents and grants at rest with the one-grant-one-share replay
guard (§7), building share packages for a verified grant with a release secret per record (§8),
and releasing those secrets to the querent for the records still shareable (§8.1).

Does not own: the package format (:mod:`xinan.formats.package`), the grant format and its checks
(:mod:`xinan.formats.grant`), masking (:mod:`xinan.masking`), key files (:mod:`xinan.keys`), the
querent's side (:mod:`xinan.querent.open_share`), the lifecycle rules that later set the status
columns
(:mod:`xinan.policy.periods`, issue 7). It never reads the clock: ``now`` is a parameter.

Nothing here stores or logs a clear identifier or a clear sensitive value: sealed fields stay
the provider's ciphertexts, subject identifiers become keyed pseudonyms at once, and plaintext
exists only in memory while a view is computed or a pseudonym derived.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import secrets
from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import IO, Any, cast

from xinan._codec import canonical_json, loads_strict, pretty_json
from xinan.access import Session
from xinan.crypto import get_suite
from xinan.crypto.base import CryptoSuite, SuiteName
from xinan.crypto.recipes import SecretWrapper, hex_fingerprint
from xinan.errors import (
    AccessDenied,
    InputError,
    IntegrityError,
    KeyringError,
    UsageError,
    VerificationError,
    XinanError,
)
from xinan.fileio import atomic_writer, protect, write_bytes_atomic
from xinan.formats.grant import (
    Consent,
    Grant,
    GrantClaims,
    GrantRejected,
    GrantReplayed,
    GrantRequest,
    Revocation,
    RevocationList,
    issue_grant,
    read_grant,
    sign_revocations,
)
from xinan.formats.package import (
    RELEASE_SECRET_LEN,
    KeyedRecord,
    PackageInfo,
    PackageMeta,
    ShareRecord,
    build_share_package,
    derive_field_key,
    enc,
    open_package_keys,
    open_sealed_value,
    verify_package,
)
from xinan.formats.release import build_release
from xinan.keys import Identity, Keyring, PublicKeyInfo, Role
from xinan.masking import MaskContext, Pseudonymizer, View, pseudonym, subject_pseudonym
from xinan.platform.store import (
    STATUS_COLUMNS,
    DuplicateRecord,
    Store,
    create_databases,
    store_exists,
)
from xinan.policy.catalogue import Policy, RecordKind, SubjectClass
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
)

FORMAT = "xinan-vault/1"
SCHEMA_VERSION = 1
_V = FORMAT.encode("ascii")
INFO_KEK = _V + b" kek"
L_KEK = _V + b" kek\x00"
L_KEK_COMMIT = _V + b" kek-commitment\x00"
INFO_CFG_MAC = _V + b" config-mac"
L_RKV = _V + b" record-key\x00"
L_RELEASE = _V + b" release\x00"  # §4: release secrets, bound to vault, share and record
CONFIG_FILE = "vault.json"
REVOCATIONS_FILE = "revocations.json"
_TIME_FMT = "%Y-%m-%dT%H:%M:%SZ"
_BATCH = 2000  # rows per executemany on ingest
MAX_AUDIT_RECORD_IDS = 10_000  # docs/audit-log.md: a list member holds at most 10,000 items
# Lifecycle facts copied from the clear part, by the policy's ASCII field key (§3).
FACT_KEYS = {
    "decision_date": "decision_date",
    "severity": "severity",
    "valid_until": "valid_until",
    "declared_end": "disclose_until",
}
__all__ = [
    "FORMAT",
    "IngestSummary",
    "ReleaseSummary",
    "ShareSummary",
    "StoredRecord",
    "Vault",
    "VaultConfig",
    "init_vault",
    "parse_duration",
    "resolve_fields",
    "resolve_vault_path",
]


def _t(dt: datetime) -> str:
    if dt.tzinfo is None:
        raise UsageError("times must be timezone-aware")
    return dt.astimezone(UTC).strftime(_TIME_FMT)


def _parse_t(s: str) -> datetime:
    return datetime.strptime(s, _TIME_FMT).replace(tzinfo=UTC)


def _b64(b: bytes) -> str:
    return base64.b64encode(b).decode("ascii")


def _unb64(s: object, what: str) -> bytes:
    if not isinstance(s, str):
        raise IntegrityError(f"vault configuration: {what} is not base64")
    try:
        return base64.b64decode(s, validate=True)
    except (binascii.Error, ValueError):
        raise IntegrityError(f"vault configuration: {what} is not base64") from None


def parse_duration(text: str) -> timedelta:
    """``30s``, ``15m``, ``1h``, ``7d``: a positive whole number and one unit."""
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    t = text.strip()
    if len(t) < 2 or t[-1] not in units or not t[:-1].isdigit() or not t[:-1].isascii():
        raise UsageError(f"not a duration: {text!r}", hint="use e.g. 30s, 15m, 1h or 7d")
    n = int(t[:-1])
    if n <= 0:
        raise UsageError("a duration must be positive")
    return timedelta(seconds=n * units[t[-1]])


def resolve_vault_path(value: str | Path | None) -> Path:
    v = value or os.environ.get("XINAN_VAULT")
    if not v:
        raise UsageError(
            "no vault given", hint="pass --vault DIR or set XINAN_VAULT to the vault directory"
        )
    return Path(v)


def resolve_fields(policy: Policy, refs: Sequence[str]) -> tuple[str, ...]:
    """Column names or ASCII keys → the catalogue's column names (unique, in the given order).

    A key that names different columns in different kinds is ambiguous and refused."""
    out: list[str] = []
    for raw in refs:
        ref = raw.strip()
        if not ref:
            continue
        names = {f.name for k in policy.kinds.values() for f in k.fields if ref in (f.name, f.key)}
        if not names:
            raise UsageError(
                f"field {ref!r} is not in policy {policy.label}",
                hint="use the catalogue's column names (e.g. 手机号码) or their keys (mobile)",
            )
        if len(names) > 1:
            raise UsageError(
                f"field key {ref!r} names several columns ({', '.join(sorted(names))})",
                hint="use the column name instead",
            )
        name = names.pop()
        if name not in out:
            out.append(name)
    if not out:
        raise UsageError("no fields given", hint="--fields 手机号码,现住址")
    return tuple(out)


# ============================================================================================
# §2 vault.json
# ============================================================================================
@dataclass(frozen=True)
class VaultConfig:
    id: str
    created: str
    suite: SuiteName
    policy: str
    platform_id: str
    platform_key_id: str
    pseudonym_id: str
    pseudonym_key_id: str
    kek_wrapped: bytes = field(repr=False)
    kek_commitment: bytes = field(repr=False)
    audit_origin: str = ""  # the audit log every vault operation writes to (§1a)
    audit_key_id: str = ""  # the key that signs that log's checkpoints
    audit_path: str = ""  # where that log is (resolved)
    mac: bytes = field(repr=False, default=b"")

    def _doc(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "id": self.id,
            "created": self.created,
            "suite": self.suite.value,
            "policy": self.policy,
            "platform": {"id": self.platform_id, "key_id": self.platform_key_id},
            "pseudonym": {"id": self.pseudonym_id, "key_id": self.pseudonym_key_id},
            "kek": {"wrapped": _b64(self.kek_wrapped), "commitment": _b64(self.kek_commitment)},
            "audit": {
                "origin": self.audit_origin,
                "key_id": self.audit_key_id,
                "path": self.audit_path,
            },
        }

    def mac_input(self) -> bytes:
        return canonical_json(self._doc())  # docs/vault.md §2: RFC 8785

    def to_bytes(self) -> bytes:
        doc = self._doc() | {"mac": _b64(self.mac)}
        return pretty_json(doc)

    @property
    def vid(self) -> bytes:
        return bytes.fromhex(self.id)

    @property
    def policy_label(self) -> str:
        """``id@version`` of the bound policy (``policy`` is ``id@version#digest``)."""
        return self.policy.split("#", 1)[0]

    @staticmethod
    def read(path: Path) -> VaultConfig:
        p = path / CONFIG_FILE
        try:
            data = p.read_bytes()
        except FileNotFoundError:
            raise UsageError(
                f"{path}: not a vault ({CONFIG_FILE} missing)",
                hint="create one with `xinan vault init --vault DIR` (sys-admin)",
            ) from None
        try:
            doc = loads_strict(data)
            if not isinstance(doc, dict) or doc.get("format") != FORMAT:
                raise VerificationError(f"{p}: format must be {FORMAT!r}")
            cfg = VaultConfig(
                id=str(doc["id"]),
                created=str(doc["created"]),
                suite=SuiteName(doc["suite"]),
                policy=str(doc["policy"]),
                platform_id=str(doc["platform"]["id"]),
                platform_key_id=str(doc["platform"]["key_id"]),
                pseudonym_id=str(doc["pseudonym"]["id"]),
                pseudonym_key_id=str(doc["pseudonym"]["key_id"]),
                kek_wrapped=_unb64(doc["kek"]["wrapped"], "kek.wrapped"),
                kek_commitment=_unb64(doc["kek"]["commitment"], "kek.commitment"),
                audit_origin=str(doc["audit"]["origin"]),
                audit_key_id=str(doc["audit"]["key_id"]),
                audit_path=str(doc["audit"]["path"]),
                mac=_unb64(doc["mac"], "mac"),
            )
            bytes.fromhex(cfg.id)
        except (KeyError, TypeError, ValueError, UnicodeDecodeError):
            raise VerificationError(f"{p}: not a valid {FORMAT} configuration") from None
        if len(cfg.id) != 32:
            raise VerificationError(f"{p}: vault id must be 32 hex digits")
        return cfg


def _kek_aad(vid: bytes, platform_key_id: str) -> bytes:
    return L_KEK + vid + enc(platform_key_id)


def _mac_key(suite: CryptoSuite, kek: bytes, vid: bytes) -> bytes:
    return suite.kdf(kek, INFO_CFG_MAC + vid, suite.digest_len)


def init_vault(
    path: Path,
    *,
    platform: PublicKeyInfo,
    pseudonym_id: str,
    pseudonym_key_id: str,
    policy: Policy,
    now: datetime,
    audit_origin: str,
    audit_key_id: str,
    audit_path: str,
) -> VaultConfig:
    """Create a vault (§1–§4): a fresh KEK wrapped to the platform's KEM public key.

    Needs no private key. The KEK exists in this process only until it is wrapped to the
    platform key and the MAC is computed; it is never written or kept (docs/vault.md §4)."""
    if platform.role is not Role.PLATFORM:
        raise UsageError(
            f"{platform.id} has role {platform.role.value}; the vault belongs to a platform key"
        )
    if (path / CONFIG_FILE).exists() or store_exists(path):
        raise UsageError(
            f"{path} already holds a vault", hint="a vault is created once; use another directory"
        )
    suite = get_suite(platform.suite)
    vid = suite.random(16)
    kek = suite.random(suite.key_len)
    cfg = VaultConfig(
        id=vid.hex(),
        created=_t(now),
        suite=platform.suite,
        policy=policy.fingerprint_for(suite.hash_name),  # SM3 in gm (docs/vault.md §3)
        platform_id=platform.id,
        platform_key_id=platform.key_id,
        pseudonym_id=pseudonym_id,
        pseudonym_key_id=pseudonym_key_id,
        kek_wrapped=suite.wrap(platform.kem, kek, INFO_KEK, _kek_aad(vid, platform.key_id)),
        kek_commitment=suite.digest(L_KEK_COMMIT + kek),
        audit_origin=audit_origin,
        audit_key_id=audit_key_id,
        audit_path=audit_path,
    )
    mac = suite.mac(_mac_key(suite, kek, vid), cfg.mac_input())
    cfg = VaultConfig(**{**cfg.__dict__, "mac": mac})
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    create_databases(path, vault_id=cfg.id, format=FORMAT, schema_version=SCHEMA_VERSION)
    write_bytes_atomic(path / CONFIG_FILE, cfg.to_bytes(), secret=True)
    return cfg


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


@dataclass
class IngestSummary:
    package: str
    package_id: str
    kind: str
    sender: str
    sender_key_id: str
    records: int = 0
    classes: dict[str, int] = field(default_factory=dict)
    subjects: int = 0
    already: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "package": self.package,
            "package_id": self.package_id,
            "kind": self.kind,
            "sender": self.sender,
            "sender_key_id": self.sender_key_id,
            "records": self.records,
            "classes": dict(self.classes),
            "subjects": self.subjects,
            "already_ingested": self.already,
        }


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
class Vault:
    """An open vault. Use :meth:`open`; :meth:`unlock` with the platform identity before any
    operation that touches keys. Close it (``with``)."""

    def __init__(self, path: Path, cfg: VaultConfig) -> None:
        # issue 11: no output of any command replaces a file of the vault (xinan.fileio)
        protect(path, "the vault's files", owner="vault", directory=True)
        self.path = path
        self.config = cfg
        self.suite = get_suite(cfg.suite)
        self.store = Store(path, vault_id=cfg.id, format=FORMAT, schema_version=SCHEMA_VERSION)
        self._kek: SecretWrapper | None = None

    def __repr__(self) -> str:
        return f"<Vault {self.config.id} {self.path}>"

    @staticmethod
    def open(path: Path) -> Vault:
        return Vault(path, VaultConfig.read(path))

    def close(self) -> None:
        self.store.close()
        self._kek = None

    def __enter__(self) -> Vault:
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
        self._kek = SecretWrapper(s, kek)  # draws its own nonces (xinan.crypto.recipes)

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

    # -- §5 ingest -------------------------------------------------------------------------
    def ingest(
        self,
        package: Path,
        *,
        platform: Identity,
        keyring: Keyring,
        policy: Policy,
        pseudonymizer: Pseudonymizer,
        session: Session,
        now: datetime,
    ) -> IngestSummary:
        """Verify and ingest one submission package (§5). Idempotent per package id."""
        self.check_policy(policy)
        self.check_pseudonym_key(pseudonymizer)
        kek = self._need_kek()
        head = _peek_header(package)
        pid = str(head.get("id", ""))
        ref = {"ref": f"file:{package.name}"}
        try:
            self._precheck(head, keyring)
        except XinanError:
            session.record("ingest", outcome="failed", objects={**ref, "policy": policy.label})
            raise
        row = self.store.package_summary(pid)
        if row is not None:
            with package.open("rb") as f:
                info = verify_package(f, trust=keyring.get_public)
            if _b64(info.records_digest) != row[0]:
                session.record("ingest", outcome="failed", objects={"package": pid})
                raise IntegrityError(
                    f"package {pid} was ingested before with different records",
                    hint="two packages under one id: ask the provider; nothing was changed",
                )
            return IngestSummary(str(package), pid, row[2], row[3], row[4], row[1], already=True)

        kind = policy.kind(str(head.get("kind", "")))
        sender = keyring.get_public(str(head["sender"]))
        summary = IngestSummary(str(package), pid, kind.name, sender.id, sender.key_id)
        ins = _Inserter(self, kind, policy, pseudonymizer, kek, now, summary)
        layout = (_names(head, "clear"), _names(head, "sealed"))
        ins.setup(*layout)
        try:
            with self.store.both_transaction():
                # The package row goes first (records reference it); its facts are completed
                # from the verified package below, in the same transaction.
                self.store.insert_package(
                    package_id=pid,
                    sender=sender.id,
                    sender_key_id=sender.key_id,
                    suite=self.config.suite.value,
                    kind=kind.name,
                    policy=self.config.policy_label,
                    clear_fields=layout[0],
                    sealed_fields=layout[1],
                    ingested_at=_t(now),
                    ingested_by=platform.key_id,
                )
                with package.open("rb") as f:
                    info = open_package_keys(
                        f, ins.add, identity=platform, trust=keyring.get_public, spool_dir=None
                    )
                ins.flush()
                self._postcheck(info, head, kind)
                if (info.clear_fields, info.sealed_fields) != layout:
                    raise IntegrityError("package changed while it was being ingested")
                self.store.complete_package(
                    pid,
                    suite=info.suite.value,
                    created=info.created,
                    records_digest=_b64(info.records_digest),
                    count=info.count,
                )
                summary.subjects = len(ins.subjects)
                session.record(
                    "ingest",
                    objects={
                        "package": info.package_id,
                        "policy": policy.label,
                        "key_ids": [info.sender],
                        "counts": {
                            "records": summary.records,
                            "subjects": summary.subjects,
                            **summary.classes,
                        },
                    },
                    why={"purpose": "aggregation"},
                )
        except DuplicateRecord:
            session.record("ingest", outcome="failed", objects={"package": pid})
            raise InputError(
                f"package {pid}: a record id is already in the vault; nothing was ingested",
                hint="record ids are unique across the vault; ask the provider",
            ) from None
        except XinanError:
            session.record("ingest", outcome="failed", objects={"package": pid} if pid else ref)
            raise
        return summary

    def _precheck(self, head: dict[str, Any], keyring: Keyring) -> None:
        if head.get("audience") != "submission":
            raise VerificationError("only submission packages are ingested")
        pol = head.get("policy")
        label = f"{pol.get('id')}@{pol.get('version')}" if isinstance(pol, dict) else ""
        if label != self.config.policy_label:
            raise VerificationError(
                f"package follows policy {label or '?'}, the vault {self.config.policy_label}",
                hint="the provider must seal under the vault's policy version",
            )
        recips = head.get("recipients")
        ids = (
            [r.get("key_id") for r in recips if isinstance(r, dict)]
            if isinstance(recips, list)
            else []
        )
        if self.config.platform_key_id not in ids:
            raise VerificationError(
                f"package is not addressed to the vault's platform key {self.config.platform_id}"
            )
        sender = keyring.get_public(str(head.get("sender")))
        if sender.role is not Role.PROVIDER or sender.key_id != head.get("sender"):
            raise VerificationError(
                f"package sender {sender.id} has role {sender.role.value}, not provider"
            )

    def _postcheck(self, info: PackageInfo, head: dict[str, Any], kind: RecordKind) -> None:
        # The verified header must be the one pre-checked (the file could have changed).
        if (
            info.package_id != head.get("id")
            or info.audience != "submission"
            or f"{info.policy_id}@{info.policy_version}" != self.config.policy_label
            or info.kind != kind.name
            or info.sender != head.get("sender")
        ):
            raise IntegrityError("package changed while it was being ingested")

    # -- reading ---------------------------------------------------------------------------
    def _package_fields(self, package_id: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
        return self.store.package_fields(package_id)

    def _row(self, r: Sequence[Any], cache: dict[str, Any]) -> StoredRecord:
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
        cache: dict[str, Any] = {}
        for r in self.store.record_rows(
            kind=kind, subject=subject, shareable_only=shareable_only, limit=limit
        ):
            yield self._row(r, cache)

    def get(self, record_id: str) -> StoredRecord:
        r = self.store.record_row(record_id)
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
            raise UsageError(f"no grant {jti[:40]!r} was issued by this vault")
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
            why: dict[str, str] = {}
            subjects: Sequence[str] = ()
            if case.claims is not None:
                why = {"grant": case.claims.jti, "consent": case.claims.consent_id}
                subjects = case.claims.subjects
            elif isinstance(exc, GrantRejected) and exc.jti:
                why = {"grant": exc.jti}
            session.record(
                "share",
                outcome="denied",
                objects={"ref": f"rule:{rule}"},
                why=why,
                subjects=subjects,
            )
            return exc

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
            for r in self.store.shareable_rows(c.subjects, withheld):
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
            session.record(
                "share",
                outcome="denied",
                objects={"ref": f"rule:{rule}"},
                why=why,
                subjects=subjects,
            )
            return exc

        # 1. the package: a share this vault's platform key signed, recorded in `shares`
        try:
            with package.open("rb") as f:
                info = verify_package(f, trust=keyring.get_public)
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


# ============================================================================================
# Ingest helpers
# ============================================================================================
def _names(head: dict[str, Any], key: str) -> tuple[str, ...]:
    v = head.get(key)
    if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
        raise VerificationError(f"package header: {key} must be a list of names")
    return tuple(v)


def _peek_header(path: Path) -> dict[str, Any]:
    """The header line as JSON, for early refusals only: the package's own reader checks it
    fully (and the ingest re-checks the verified header against this one)."""
    try:
        with path.open("rb") as f:
            line = f.readline(1 << 20)
    except OSError as e:
        raise UsageError(f"{path}: cannot read package ({e.strerror})") from None
    try:
        head = loads_strict(line)
    except ValueError:  # MalformedJSON
        raise VerificationError(f"{path}: not a package (header is not JSON)") from None
    if not isinstance(head, dict) or head.get("format") != "xinan-package/1":
        raise VerificationError(f"{path}: not a xinan-package/1 package")
    return head


class _Inserter:
    """The ingest sink: one verified record at a time → batched rows in both databases."""

    def __init__(
        self,
        vault: Vault,
        kind: RecordKind,
        policy: Policy,
        pskey: Pseudonymizer,
        kek: SecretWrapper,
        now: datetime,
        summary: IngestSummary,
    ) -> None:
        self.v = vault
        self.kind = kind
        self.policy = policy
        self.pskey = pskey
        self.kek = kek
        self.now = _t(now)
        self.summary = summary
        self.rows: list[tuple[Any, ...]] = []
        self.subj_rows: list[tuple[str, str]] = []
        self.key_rows: list[tuple[str, bytes]] = []
        self.subjects: set[str] = set()
        self.layout: tuple[tuple[str, ...], tuple[str, ...]] | None = None
        self._ns = policy.settings.pseudonym_namespace
        self._class_table = policy.subject_classes
        self._fixed = {"natural": SubjectClass.NATURAL, "legal": SubjectClass.LEGAL}.get(
            kind.subject
        )

    def setup(self, clear_f: tuple[str, ...], sealed_f: tuple[str, ...]) -> None:
        self.layout = (clear_f, sealed_f)
        self.clear_pos = {n: i for i, n in enumerate(clear_f)}
        self.sealed_pos = {n: i for i, n in enumerate(sealed_f)}
        self.fact_pos: list[int | None] = []
        for key in FACT_KEYS.values():
            try:
                name = self.kind.field(key).name
            except KeyError:
                self.fact_pos.append(None)
                continue
            self.fact_pos.append(self.clear_pos.get(name))
        cf = self.kind.class_field
        self.class_pos = self.clear_pos.get(cf) if cf else None
        if self._fixed is None and self.class_pos is None:
            raise InputError(f"package of kind {self.kind.name} lacks its class field {cf!r}")

    def add(self, kr: KeyedRecord) -> None:
        rid = kr.record_id
        clear = kr.clear
        if self._fixed is not None:
            cls = self._fixed
        else:
            try:
                cls = self._class_table[clear[self.class_pos]]  # type: ignore[index]
            except KeyError:
                raise InputError(
                    f"record {rid!r}: subject class not in policy {self.policy.label}"
                ) from None
        subjects: list[str] = []
        for f in self.kind.subject_fields:
            value = ""
            if f in self.sealed_pos:
                i = self.sealed_pos[f]
                blob, fk = kr.blobs[i], kr.field_keys[i]
                if blob is not None and fk is not None:
                    value = open_sealed_value(
                        self.v.suite,
                        blob,
                        fk,
                        package_id=kr.source_package_id,
                        record_id=rid,
                        field_name=f,
                    )
            elif f in self.clear_pos:
                value = clear[self.clear_pos[f]]
            if value.strip():
                p = pseudonym(self.pskey, self._ns, value)
                if p not in subjects:
                    subjects.append(p)
            del value  # the clear identifier goes no further
        if kr.record_key is None:  # pragma: no cover - submissions always carry record keys
            raise IntegrityError(f"record {rid!r}: no record key")
        wrapped = self.kek.wrap(kr.record_key, self.v._rk_aad(rid))
        facts = [None if p is None or not clear[p] else clear[p] for p in self.fact_pos]
        self.rows.append(
            (
                rid,
                kr.source_package_id,
                kr.position,
                self.kind.name,
                self.policy.label,
                cls.value,
                json.dumps(subjects),
                json.dumps(list(clear), ensure_ascii=False),
                _pack_blobs(kr.blobs),
                *facts,
                self.now,
            )
        )
        self.key_rows.append((rid, wrapped))
        self.subj_rows.extend((p, rid) for p in subjects)
        self.subjects.update(subjects)
        self.summary.records += 1
        self.summary.classes[cls.value] = self.summary.classes.get(cls.value, 0) + 1
        if len(self.rows) >= _BATCH:
            self.flush()

    def flush(self) -> None:
        if self.rows:
            self.v.store.insert_records(self.rows, self.subj_rows, self.key_rows)
        self.rows.clear()
        self.subj_rows.clear()
        self.key_rows.clear()


def read_revocations_file(path: Path | None) -> bytes | None:
    if path is None:
        return None
    try:
        return path.read_bytes()
    except OSError as e:
        raise UsageError(f"{path}: cannot read revocation list ({e.strerror})") from None


def today_cst(now: datetime) -> date:
    """The calendar date in China Standard Time (for masking's date checks)."""
    return (now.astimezone(UTC) + timedelta(hours=8)).date()
