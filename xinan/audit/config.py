"""A log's configuration ``L.config``: which log this is and who signs its checkpoints.

Owns ``xinan audit init`` (:func:`init_audit_log`), reading the configuration
(:func:`load_audit_config`), the verifiers an auditor checks the log with
(:func:`log_verifiers`) and the signer a writer signs with (:func:`log_signer`)
(docs/audit-log.md §11, §12). Two kinds of signer (``signer``):

* ``service`` (format ``xinan-audit-config/2``, the default since issue 12): the log's own
  ``log-signer`` key, made here and held by the logging service under a service secret
  outside every keyring (:mod:`xinan.audit.signers`); no operator's credential opens it;
* ``identity`` (format ``xinan-audit-config/1``, unchanged): a keyring identity's key, for a
  party without administrators (a provider's or a querent's own log). An administrator's key
  never signs a log (三权分立): init refuses it.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from xinan._codec import b64decode, b64encode, loads_strict, pretty_json
from xinan.audit.note import NoteSigner, NoteVerifier
from xinan.audit.signers import (
    IdentityNoteSigner,
    create_service_signer,
    load_service_signer,
    note_verifier,
    raw_note_verifier,
    read_service_secret,
    signer_key_id,
)
from xinan.crypto import SuiteName, get_suite
from xinan.crypto.compliance import Compliance, active
from xinan.errors import AuditError, IntegrityError, UsageError
from xinan.fileio import write_bytes_atomic

if TYPE_CHECKING:
    from xinan.keys import Keyring

CONFIG_FORMAT = "xinan-audit-config/1"
CONFIG_FORMAT_V2 = "xinan-audit-config/2"
SERVICE_KEY = "log-signer"  # the name of every service-held log signer (log_key)
LOG_HASHES = ("sha256", "sm3")  # the log's Merkle hash: intl, gm (§3)
_V1 = ("origin", "hash", "log_key", "log_key_id")
_V2 = (*_V1, "signer", "suite", "public", "key_file", "secret_file")


@dataclass(frozen=True)
class AuditConfig:
    """``<log>.config``: which log this is and which key signs its checkpoints."""

    origin: str  # the checkpoint origin line, e.g. "xinan.zaozhuang/platform"
    hash: str  # "sha256" | "sm3"
    log_key: str  # the id of the key that signs checkpoints ("log-signer" for a service key)
    log_key_id: str  # its fingerprint, so that a swapped key file is caught
    signer: str = "identity"  # "identity" | "service" (§12)
    suite: str = ""  # service: the signer's suite
    public: bytes = b""  # service: the signer's public key
    key_file: str = ""  # service: the log-signer file (relative to the log's directory)
    secret_file: str = ""  # service: the service secret (relative, or absolute)

    @property
    def is_service(self) -> bool:
        return self.signer == "service"

    def to_bytes(self) -> bytes:
        doc: dict[str, str] = {
            "format": CONFIG_FORMAT_V2 if self.is_service else CONFIG_FORMAT,
            "origin": self.origin,
            "hash": self.hash,
            "log_key": self.log_key,
            "log_key_id": self.log_key_id,
        }
        if self.is_service:
            doc |= {
                "signer": self.signer,
                "suite": self.suite,
                "public": b64encode(self.public),
                "key_file": self.key_file,
                "secret_file": self.secret_file,
            }
        return pretty_json(doc)

    @staticmethod
    def path_for(log: Path) -> Path:
        return log.with_name(log.name + ".config")


def _relative(path: Path, base: Path) -> str:
    try:
        return str(path.resolve().relative_to(base.resolve()))
    except ValueError:
        return str(path.resolve())


def default_secret_file(log: Path) -> Path:
    """Where ``audit init`` puts the service secret unless told: ``service/`` beside the log
    (a directory made 0700), so that a deployment can mount or own it apart from the log."""
    return log.parent / "service" / f"{log.name}.secret"


def _default_suite(keyring: Keyring) -> SuiteName:
    """gm under gm-only compliance, or when every key pair of the keyring is gm (a 国密
    deployment's log is SM3/SM2 without being told); intl otherwise."""
    if active(keyring.compliance_mode) is Compliance.GM_ONLY:
        return SuiteName.GM
    suites = {e.suite for e in keyring.list() if e.kind == "private"}
    return SuiteName.GM if suites == {SuiteName.GM.value} else SuiteName.INTL


def init_audit_log(
    log: Path,
    *,
    keyring: Keyring,
    log_key: str | None = None,
    origin: str | None = None,
    suite: SuiteName | str | None = None,
    secret_file: Path | None = None,
    now: datetime | None = None,
) -> AuditConfig:
    """Bind a new audit log to its signer. Refuses to re-bind an existing log.

    Without ``log_key`` (the default) the log gets its own service-held signer (§12):
    ``L.signer``, wrapped under a fresh service secret written to ``secret_file`` (default
    :func:`default_secret_file`), both 0600; ``suite`` defaults to gm under gm-only compliance
    or in a keyring of gm key pairs only, else intl. With ``log_key`` a keyring identity
    signs (format /1); an administrator's or a pseudonym key is refused."""
    from xinan.keys import Role

    cfg_path = AuditConfig.path_for(log)
    if cfg_path.exists() or (log.exists() and log.stat().st_size):
        raise UsageError(
            f"{log} is already an audit log",
            hint="a log is bound to its key once; verify it with `xinan audit verify`",
        )
    if log_key is not None:
        info = keyring.get_public(log_key)
        if info.role is Role.PSEUDONYM:
            raise UsageError("a pseudonym key cannot sign checkpoints")
        if info.role in (Role.SYS_ADMIN, Role.SEC_ADMIN, Role.AUDIT_ADMIN):
            raise UsageError(
                f"{info.id} is an administrator's key ({info.role.value}); a log is never "
                "signed by an administrator (三权分立)",
                hint="leave --key out: the log gets its own service-held signer",
            )
        cfg = AuditConfig(
            # a fresh suffix: two logs bound to one key never share an origin (a checkpoint
            # names exactly one log)
            origin=origin or f"xinan.local/{info.id}/audit-{secrets.token_hex(4)}",
            hash="sm3" if info.suite is SuiteName.GM else "sha256",
            log_key=info.id,
            log_key_id=info.key_id,
        )
    else:
        mode = keyring.compliance_mode
        name = SuiteName(suite) if suite else None
        if name is None:
            name = _default_suite(keyring)
        if name is SuiteName.PQ:
            name = SuiteName.INTL  # checkpoints are signed (Ed25519); pq changes only the KEM
        origin = origin or f"xinan.local/{SERVICE_KEY}/audit-{secrets.token_hex(4)}"
        key_file = log.with_name(log.name + ".signer")
        secret = secret_file or default_secret_file(log)
        log.parent.mkdir(parents=True, exist_ok=True)
        kid, public = create_service_signer(
            key_file,
            secret,
            origin=origin,
            suite=name,
            now=now or datetime.now(UTC),
            compliance_mode=mode,
        )
        cfg = AuditConfig(
            origin=origin,
            hash="sm3" if name is SuiteName.GM else "sha256",
            log_key=SERVICE_KEY,
            log_key_id=kid,
            signer="service",
            suite=name.value,
            public=public,
            key_file=_relative(key_file, log.parent),
            secret_file=_relative(secret, log.parent),
        )
    log.parent.mkdir(parents=True, exist_ok=True)
    write_bytes_atomic(cfg_path, cfg.to_bytes())
    return cfg


def load_audit_config(log: Path) -> AuditConfig:
    """Read ``<log>.config`` strictly (docs/audit-log.md §12.1): exactly the members of its
    format version, each a non-empty string, ``hash`` a hash xinan logs with; anything else
    is refused with :class:`AuditError` naming the file and the member, never read leniently
    (a configuration decides which key a log is checked with)."""
    cfg_path = AuditConfig.path_for(log)
    try:
        doc = loads_strict(cfg_path.read_bytes())
    except FileNotFoundError:
        raise AuditError(
            f"{log}: no audit log is set up here ({cfg_path.name} is missing)",
            hint="set one up with `xinan audit init`, or point --audit-log / "
            "XINAN_AUDIT_LOG at the existing log",
        ) from None
    except ValueError:  # MalformedJSON (issue 11: a damaged file is refused, never a crash)
        raise AuditError(f"{cfg_path}: not a valid audit log configuration") from None
    if not isinstance(doc, dict):
        raise AuditError(f"{cfg_path}: not a valid audit log configuration (not a JSON object)")
    fmt = doc.get("format")
    if fmt not in (CONFIG_FORMAT, CONFIG_FORMAT_V2):
        raise AuditError(
            f"{cfg_path}: format must be {CONFIG_FORMAT_V2!r} or {CONFIG_FORMAT!r}",
            hint="the file is not an audit log configuration of this xinan version",
        )
    _check_members(cfg_path, doc, ("format", *(_V2 if fmt == CONFIG_FORMAT_V2 else _V1)))
    if fmt == CONFIG_FORMAT:
        return AuditConfig(
            origin=doc["origin"],
            hash=doc["hash"],
            log_key=doc["log_key"],
            log_key_id=doc["log_key_id"],
        )
    bad = AuditError(f"{cfg_path}: not a valid audit log configuration")
    if doc["signer"] != "service" or doc["log_key"] != SERVICE_KEY:
        raise bad
    try:
        public = b64decode(doc["public"])
        suite = SuiteName(doc["suite"])
    except ValueError:
        raise bad from None
    if suite not in (SuiteName.INTL, SuiteName.GM):  # init signs pq logs with Ed25519 (intl)
        raise AuditError(f"{cfg_path}: member 'suite' must be intl or gm")
    if doc["hash"] != ("sm3" if suite is SuiteName.GM else "sha256"):
        raise AuditError(f"{cfg_path}: member 'hash' does not match the signer's suite")
    return AuditConfig(
        origin=doc["origin"],
        hash=doc["hash"],
        log_key=doc["log_key"],
        log_key_id=doc["log_key_id"],
        signer="service",
        suite=doc["suite"],
        public=public,
        key_file=doc["key_file"],
        secret_file=doc["secret_file"],
    )


def _check_members(cfg_path: Path, doc: dict[str, object], members: tuple[str, ...]) -> None:
    """§12.1: exactly ``members``, each a non-empty string; ``hash`` one of LOG_HASHES; the
    origin one line (it is a checkpoint's first line)."""
    fmt = doc["format"]
    missing = [m for m in members if m not in doc]
    if missing:
        raise AuditError(f"{cfg_path}: {fmt} lacks member {missing[0]!r}")
    extra = sorted(set(doc) - set(members))
    if extra:
        raise AuditError(
            f"{cfg_path}: {fmt} has no member {extra[0]!r}",
            hint="a configuration is written by `xinan audit init`; do not edit it",
        )
    for m in members:
        value = doc[m]
        if not isinstance(value, str) or not value:
            raise AuditError(f"{cfg_path}: member {m!r} must be a non-empty string")
    if doc["hash"] not in LOG_HASHES:
        raise AuditError(
            f"{cfg_path}: member 'hash' must be one of {', '.join(LOG_HASHES)}",
        )
    if "\n" in str(doc["origin"]):
        raise AuditError(f"{cfg_path}: member 'origin' must be one line")


def service_verifier(log: Path, cfg: AuditConfig, mode: str | Compliance | None) -> NoteVerifier:
    s = get_suite(cfg.suite, compliance_mode=mode, what=f"the log signer of {log}")
    if signer_key_id(s, cfg.origin, cfg.public) != cfg.log_key_id:
        raise IntegrityError(f"{log}: the configuration's log signer is not the log's key")
    return raw_note_verifier(cfg.origin, s.name, cfg.public)


def log_verifiers(log: Path, keyring: Keyring) -> list[NoteVerifier]:
    """The verifier of a log's own key, from its configuration (and, for an identity-signed
    log, the trust store)."""
    cfg = load_audit_config(log)
    if cfg.is_service:
        return [service_verifier(log, cfg, keyring.compliance_mode)]
    info = keyring.get_public(cfg.log_key)
    if info.key_id != cfg.log_key_id:
        raise IntegrityError(f"{log}: the trust store's {cfg.log_key} is not the log's key")
    return [note_verifier(cfg.origin, info)]


def service_paths(log: Path, cfg: AuditConfig) -> tuple[Path, Path]:
    """The log-signer file and the service secret of a service-signed log."""
    base = log.expanduser().resolve().parent
    return base / cfg.key_file, base / cfg.secret_file


def log_signer(
    log: Path,
    cfg: AuditConfig,
    *,
    keyring: Keyring,
    passphrase: Callable[[str], str] | None = None,
) -> NoteSigner:
    """The signer a writer of ``log`` signs with: the service-held signer, unwrapped with the
    service secret (no passphrase asked), or — for an identity-signed log — the identity,
    unlocked with ``passphrase``."""
    if cfg.is_service:
        key_file, secret_file = service_paths(log, cfg)
        return load_service_signer(
            key_file,
            read_service_secret(secret_file),
            expect_key_id=cfg.log_key_id,
            compliance_mode=keyring.compliance_mode,
        )
    if passphrase is None:
        raise UsageError(f"{log} is signed by {cfg.log_key}: its passphrase is needed")
    identity = keyring.unlock(cfg.log_key, passphrase(f"audit log key {cfg.log_key}"))
    if identity.key_id != cfg.log_key_id:
        raise IntegrityError(f"{log}: the keyring's {cfg.log_key} is not the log's key")
    return IdentityNoteSigner(cfg.origin, identity)
