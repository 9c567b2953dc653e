"""The vault's files and their configuration ``vault.json`` (docs/vault.md §1–§4).

Owns: the format's constants and labels, ``vault.json`` (:class:`VaultConfig`: the wrapped vault
key, its commitment, the bound audit log, the MAC over all of it), creating a vault
(:func:`init_vault`), and the small parsers a vault's callers share (durations, field names,
the vault's path, the China-time date). The databases are :mod:`xinan.platform.store`'s.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from xinan._codec import b64decode, b64encode, canonical_json, loads_strict, pretty_json
from xinan.crypto import get_suite
from xinan.crypto.base import CryptoSuite, SuiteName
from xinan.errors import (
    IntegrityError,
    KeyringError,
    UsageError,
    VerificationError,
)
from xinan.fileio import write_bytes_atomic
from xinan.formats.package import (
    enc,
)
from xinan.keys import Identity, PublicKeyInfo, Role
from xinan.platform.store import (
    create_databases,
    store_exists,
)
from xinan.policy.catalogue import Policy

FORMAT = "xinan-vault/3"  # §11: version 3 seals the row-MAC key for the service (§3.2)
FORMAT_V2 = "xinan-vault/2"  # still opened (reads unlock the platform key); `vault upgrade`
FORMAT_V1 = "xinan-vault/1"  # read only to upgrade it (`vault upgrade`, §11.1)
SCHEMA_VERSION = 2  # the databases' schema: unchanged by version 3 (only its marker)
SCHEMA_VERSION_V1 = 1
# The labels of §2 and §4 keep the bytes of version 1 in every version: a vault's wrapped
# keys and MACs do not change when its format marker does.
_V = FORMAT_V1.encode("ascii")
INFO_KEK = _V + b" kek"
L_KEK = _V + b" kek\x00"
L_KEK_COMMIT = _V + b" kek-commitment\x00"
INFO_CFG_MAC = _V + b" config-mac"
L_RKV = _V + b" record-key\x00"
L_RELEASE = _V + b" release\x00"  # §4: release secrets, bound to vault, share and record
INFO_ROW_MAC = b"xinan-vault/2 row-mac"  # §3.1: K_row = KDF(KEK, INFO_ROW_MAC ‖ vid)
L_ROW = b"xinan-vault/2 row\x00"  # §3.1: the row MAC's input starts L_ROW ‖ vid
# §3.2 (version 3): K_row sealed under the vault's log service secret, so that reading records
# needs no platform key; its commitment is under the config MAC, and a second config MAC is
# keyed from K_row (checked by readers that never hold the KEK)
INFO_ROWKEY_WRAP = b"xinan-vault/3 row-key wrap"
L_ROWKEY = b"xinan-vault/3 row-key\x00"
L_ROWKEY_COMMIT = b"xinan-vault/3 row-key-commitment\x00"
INFO_CFG_MAC_ROW = b"xinan-vault/3 config-mac-row"
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


def _t(dt: datetime) -> str:
    if dt.tzinfo is None:
        raise UsageError("times must be timezone-aware")
    return dt.astimezone(UTC).strftime(_TIME_FMT)


def _parse_t(s: str) -> datetime:
    return datetime.strptime(s, _TIME_FMT).replace(tzinfo=UTC)


_b64 = b64encode


def _unb64(s: object, what: str) -> bytes:
    try:
        return b64decode(s)  # canonical base64 only (docs/encoding.md)
    except ValueError as e:
        raise IntegrityError(f"vault configuration: {what}: {e}") from None


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
    format: str = FORMAT
    # version 3 (§3.2): K_row sealed for the platform service, its commitment, and the config
    # MAC under a key derived from K_row (empty in versions 1 and 2)
    row_key_sealed: bytes = field(repr=False, default=b"")
    row_key_commitment: bytes = field(repr=False, default=b"")
    mac_row: bytes = field(repr=False, default=b"")

    def _doc(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "format": self.format,
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
        if self.format == FORMAT:
            doc["row_key"] = {
                "sealed": _b64(self.row_key_sealed),
                "commitment": _b64(self.row_key_commitment),
            }
        return doc

    def mac_input(self) -> bytes:
        return canonical_json(self._doc())  # docs/vault.md §2: RFC 8785

    def to_bytes(self) -> bytes:
        doc = self._doc() | {"mac": _b64(self.mac)}
        if self.format == FORMAT:
            doc["mac_row"] = _b64(self.mac_row)
        return pretty_json(doc)

    @property
    def seals_row_key(self) -> bool:
        """Version 3: records are read with the service-held row key, no platform key."""
        return self.format == FORMAT

    @property
    def vid(self) -> bytes:
        return bytes.fromhex(self.id)

    @property
    def policy_label(self) -> str:
        """``id@version`` of the bound policy (``policy`` is ``id@version#digest``)."""
        return self.policy.split("#", 1)[0]

    @property
    def schema_version(self) -> int:
        return SCHEMA_VERSION_V1 if self.format == FORMAT_V1 else SCHEMA_VERSION

    @staticmethod
    def read(path: Path, *, upgrading: bool = False) -> VaultConfig:
        """``vault.json``; a version-1 vault is refused with the hint to upgrade it, unless
        ``upgrading`` (§11.1); a version-2 vault opens (§11.2)."""
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
            if not isinstance(doc, dict) or doc.get("format") not in (
                FORMAT,
                FORMAT_V2,
                FORMAT_V1,
            ):
                raise VerificationError(f"{p}: format must be {FORMAT!r}")
            if doc["format"] == FORMAT_V1 and not upgrading:
                raise VerificationError(
                    f"{path}: a {FORMAT_V1} vault, whose records carry no integrity MAC; it is "
                    "not opened until it is upgraded",
                    hint=f"upgrade it to {FORMAT} once, as the platform: xinan --as PLATFORM "
                    f"vault upgrade --vault {path} (logged; docs/vault.md §11.1)",
                )
            if doc["format"] == FORMAT and upgrading:
                raise UsageError(f"{path} is already a {FORMAT} vault; nothing to upgrade")
            _check_members(p, doc)
            cfg = VaultConfig(
                format=str(doc["format"]),
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
            if cfg.format == FORMAT:
                cfg = replace(
                    cfg,
                    row_key_sealed=_unb64(doc["row_key"]["sealed"], "row_key.sealed"),
                    row_key_commitment=_unb64(doc["row_key"]["commitment"], "row_key.commitment"),
                    mac_row=_unb64(doc["mac_row"], "mac_row"),
                )
                if list(doc) != [*cfg._doc(), "mac", "mac_row"]:
                    raise ValueError("members")
            bytes.fromhex(cfg.id)
        except (KeyError, TypeError, ValueError, UnicodeDecodeError):
            raise VerificationError(f"{p}: not a valid {FORMAT} configuration") from None
        if len(cfg.id) != 32:
            raise VerificationError(f"{p}: vault id must be 32 hex digits")
        return cfg


# §2: the members of vault.json, no others; every value text (the MAC does not cover a member
# a reader would ignore, so an unknown one is refused rather than skipped). Version 3 adds
# `row_key` and `mac_row` (§3.2).
_TEXT_MEMBERS = ("format", "id", "created", "suite", "policy", "mac")
_OBJECT_MEMBERS = {
    "platform": ("id", "key_id"),
    "pseudonym": ("id", "key_id"),
    "kek": ("wrapped", "commitment"),
    "audit": ("origin", "key_id", "path"),
}
_V3_TEXT_MEMBERS = ("mac_row",)
_V3_OBJECT_MEMBERS = {"row_key": ("sealed", "commitment")}


def _check_members(p: Path, doc: dict[str, Any]) -> None:
    text: tuple[str, ...] = _TEXT_MEMBERS
    objects = _OBJECT_MEMBERS
    if doc["format"] == FORMAT:
        text, objects = (*text, *_V3_TEXT_MEMBERS), objects | _V3_OBJECT_MEMBERS
    unknown = sorted(set(doc) - {*text, *objects})
    if unknown:
        raise VerificationError(
            f"{p}: {doc['format']} has no member {unknown[0]!r}",
            hint="vault.json is written by `xinan vault init`; do not edit it",
        )
    for name in text:
        if not isinstance(doc.get(name), str):
            raise VerificationError(f"{p}: member {name!r} must be text")
    for name, keys in objects.items():
        value = doc.get(name)
        if (
            not isinstance(value, dict)
            or set(value) != set(keys)
            or not all(isinstance(value[k], str) for k in keys)
        ):
            raise VerificationError(
                f"{p}: member {name!r} must be an object of exactly {', '.join(keys)} (text)"
            )


def _kek_aad(vid: bytes, platform_key_id: str) -> bytes:
    return L_KEK + vid + enc(platform_key_id)


def _mac_key(suite: CryptoSuite, kek: bytes, vid: bytes) -> bytes:
    return suite.kdf(kek, INFO_CFG_MAC + vid, suite.digest_len)


def _row_mac_key(suite: CryptoSuite, kek: bytes, vid: bytes) -> bytes:
    """§3.1: the key of the row MAC (HMAC-SM3 in gm, HMAC-SHA256 otherwise)."""
    return suite.kdf(kek, INFO_ROW_MAC + vid, suite.digest_len)


def _cfg_row_mac_key(suite: CryptoSuite, k_row: bytes, vid: bytes) -> bytes:
    """§3.2: the key of ``mac_row``, the configuration's MAC a reader without the KEK checks."""
    return suite.kdf(k_row, INFO_CFG_MAC_ROW + vid, suite.digest_len)


def _row_key_aad(vid: bytes, audit_key_id: str) -> bytes:
    return L_ROWKEY + vid + enc(audit_key_id)


def _row_key_wrap_key(suite: CryptoSuite, secret: bytes, vid: bytes) -> bytes:
    # the service secret is 32 uniformly random bytes: HKDF with the suite hash (SM3 in gm)
    return suite.kdf(secret, INFO_ROWKEY_WRAP + vid, suite.key_len)


def log_service_secret(audit_path: str | Path) -> bytes:
    """The service secret of the vault's bound log (docs/audit-log.md §12.3), which seals the
    row key in version 3 (§3.2): held by the platform's service account, no operator's key."""
    from xinan.audit.config import load_audit_config, service_paths
    from xinan.audit.signers import read_service_secret

    log = Path(audit_path)
    lcfg = load_audit_config(log)
    if not lcfg.is_service:
        raise UsageError(
            f"{log} is signed by the keyring identity {lcfg.log_key}: a vault needs a log with "
            "its own signer (docs/vault.md §3.2)",
            hint="set the platform's log up with `xinan audit init` (no --key)",
        )
    return read_service_secret(service_paths(log, lcfg)[1])


def seal_row_key(cfg: VaultConfig, kek: bytes, secret: bytes) -> VaultConfig:
    """``cfg`` as version 3 (§3.2): K_row (derived from the KEK, §3.1) sealed under the log's
    service secret, its commitment, and both configuration MACs recomputed."""
    suite = get_suite(cfg.suite)
    vid = cfg.vid
    k_row = _row_mac_key(suite, kek, vid)
    nonce = suite.random(suite.nonce_len)
    sealed = nonce + suite.aead(_row_key_wrap_key(suite, secret, vid)).seal(
        nonce, k_row, _row_key_aad(vid, cfg.audit_key_id)
    )
    new = replace(
        cfg,
        format=FORMAT,
        row_key_sealed=sealed,
        row_key_commitment=suite.digest(L_ROWKEY_COMMIT + k_row),
        mac=b"",
        mac_row=b"",
    )
    return remac(new, kek)


def remac(cfg: VaultConfig, kek: bytes) -> VaultConfig:
    """Both configuration MACs of ``cfg`` recomputed from the KEK (``mac_row`` in version 3)."""
    suite = get_suite(cfg.suite)
    c = cfg.mac_input()
    new = replace(cfg, mac=suite.mac(_mac_key(suite, kek, cfg.vid), c))
    if cfg.seals_row_key:
        k_row = _row_mac_key(suite, kek, cfg.vid)
        new = replace(new, mac_row=suite.mac(_cfg_row_mac_key(suite, k_row, cfg.vid), c))
    return new


def open_row_key(cfg: VaultConfig, secret: bytes) -> bytes:
    """K_row of a version-3 vault from the service secret (§3.2), its commitment and the
    configuration's ``mac_row`` checked; fails closed with :class:`IntegrityError`."""
    if not cfg.seals_row_key:
        raise KeyringError(f"a {cfg.format} vault has no sealed row key", hint="vault upgrade")
    suite = get_suite(cfg.suite)
    vid = cfg.vid
    n = suite.nonce_len
    try:
        k_row = suite.aead(_row_key_wrap_key(suite, secret, vid)).open(
            cfg.row_key_sealed[:n], cfg.row_key_sealed[n:], _row_key_aad(vid, cfg.audit_key_id)
        )
    except (IntegrityError, ValueError):
        raise IntegrityError(
            f"{CONFIG_FILE}: the row key does not open with the log's service secret"
        ) from None
    if not secrets.compare_digest(suite.digest(L_ROWKEY_COMMIT + k_row), cfg.row_key_commitment):
        raise IntegrityError(f"{CONFIG_FILE}: the row key does not match its commitment")
    want = suite.mac(_cfg_row_mac_key(suite, k_row, vid), cfg.mac_input())
    if not secrets.compare_digest(want, cfg.mac_row):
        raise IntegrityError(f"{CONFIG_FILE}: configuration was altered")
    return k_row


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
    row_key_secret: bytes | None = None,
) -> VaultConfig:
    """Create a vault (§1–§4): a fresh KEK wrapped to the platform's KEM public key, and the
    row key it derives sealed under the bound log's service secret (§3.2; ``row_key_secret``,
    read from the log at ``audit_path`` when None).

    Needs no private key. The KEK exists in this process only until it is wrapped to the
    platform key and the MACs are computed; it is never written or kept (docs/vault.md §4)."""
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
    secret = row_key_secret if row_key_secret is not None else log_service_secret(audit_path)
    cfg = seal_row_key(cfg, kek, secret)
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    create_databases(path, vault_id=cfg.id, format=FORMAT, schema_version=SCHEMA_VERSION)
    write_bytes_atomic(path / CONFIG_FILE, cfg.to_bytes(), secret=True)
    return cfg


def rebind_config(cfg: VaultConfig, platform: Identity, *, audit_path: str) -> VaultConfig:
    """``cfg`` bound to the same audit log found at ``audit_path`` (docs/backup.md §8).

    Only the path changes — the origin and the key of the log stay (a different log is a
    different history, refused by the caller). The KEK is unwrapped with the platform key,
    the commitment and the old MAC checked (an altered configuration is never re-sealed), and
    the new configuration MACed. The KEK is dropped on return."""
    if platform.key_id != cfg.platform_key_id:
        raise KeyringError(
            f"the vault belongs to {cfg.platform_id} ({cfg.platform_key_id}), not "
            f"{platform.info.id} ({platform.key_id})"
        )
    suite = get_suite(cfg.suite)
    try:
        kek = platform.unwrap(cfg.kek_wrapped, INFO_KEK, _kek_aad(cfg.vid, cfg.platform_key_id))
    except IntegrityError:
        raise IntegrityError("the vault key did not unwrap") from None
    if len(kek) != suite.key_len or suite.digest(L_KEK_COMMIT + kek) != cfg.kek_commitment:
        raise IntegrityError("the vault key does not match its commitment")
    key = _mac_key(suite, kek, cfg.vid)
    if not secrets.compare_digest(suite.mac(key, cfg.mac_input()), cfg.mac):
        raise IntegrityError(f"{CONFIG_FILE}: configuration was altered")
    # version 3: the sealed row key stays (same log, same service secret); both MACs renewed
    return remac(replace(cfg, audit_path=audit_path), kek)


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
