"""Who is acting, what they may do, and the audit trail of what they did.

This module owns one command's *session*: the acting identity (``--as KEY_ID`` /
``$XINAN_IDENTITY``, unlocked with its passphrase: the key file is one factor, the passphrase the
other — GB/T 22239-2019 8.1.4.1), the role check for the operation (deny by default, 8.1.4.2;
三权分立 between sys-admin, sec-admin and audit-admin), and the audit events the operation
appends to the log (8.1.4.3) before its effect is released.

The audit log itself (Merkle tree, checkpoints, verification) is :mod:`xinan.audit`; this
module only configures it (``xinan audit init``) and adapts keyring identities as the log's
signed-note signers. It never reads the wall clock itself: the clock is passed in.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Self

from xinan._codec import loads_strict, pretty_json
from xinan.audit.entry import AuditEvent
from xinan.audit.errors import NoteError
from xinan.audit.log import AuditLog
from xinan.audit.note import (
    SIG_TYPE_ED25519,
    SIG_TYPE_SM2,
    NoteVerifier,
    key_id,
    register_vkey_type,
)
from xinan.crypto import get_suite
from xinan.crypto.base import SuiteName
from xinan.errors import AccessDenied, AuditError, IntegrityError, UsageError
from xinan.fileio import write_bytes_atomic
from xinan.keys import Identity, Keyring, PublicKeyInfo, Role

CONFIG_FORMAT = "xinan-audit-config/1"

# Which roles may perform which operation (deny by default: an operation not listed here is
# refused to everyone). The three administrator roles never overlap (三权分立): sys-admin runs
# the system (vault set-up), sec-admin decides access (grants, policies, destruction), and
# audit-admin reads the full audit log. Nobody may edit the log: there is no such operation.
PERMISSIONS: Mapping[str, frozenset[Role]] = {
    "scan": frozenset({Role.PROVIDER}),
    "mask": frozenset({Role.PROVIDER}),
    "seal": frozenset({Role.PROVIDER}),
    "verify": frozenset(Role) - {Role.PSEUDONYM},
    "open.submission": frozenset({Role.PLATFORM}),
    "open.share": frozenset({Role.QUERENT}),
    "vault.init": frozenset({Role.SYS_ADMIN}),
    "vault.ingest": frozenset({Role.PLATFORM}),
    "vault.read": frozenset({Role.PLATFORM, Role.SEC_ADMIN}),
    "vault.disclose": frozenset({Role.PLATFORM}),
    "vault.archive": frozenset({Role.AUDIT_ADMIN}),
    "consent": frozenset({Role.PLATFORM, Role.SEC_ADMIN}),
    "grant": frozenset({Role.SEC_ADMIN}),
    "share": frozenset({Role.PLATFORM}),
    "release": frozenset({Role.PLATFORM}),
    "dispute": frozenset({Role.PLATFORM, Role.SEC_ADMIN}),
    "repair": frozenset({Role.SEC_ADMIN}),
    "repair.apply": frozenset({Role.PLATFORM}),
    "destroy": frozenset({Role.SEC_ADMIN}),
    "policy.change": frozenset({Role.SEC_ADMIN}),
    "key.manage": frozenset({Role.SYS_ADMIN}),
    "audit.read": frozenset({Role.AUDIT_ADMIN, Role.AUDITOR}),
    "audit.prune": frozenset({Role.AUDIT_ADMIN}),
    "audit.repair": frozenset({Role.AUDIT_ADMIN}),
    "audit.init": frozenset({Role.SYS_ADMIN, Role.PLATFORM, Role.PROVIDER, Role.AUDIT_ADMIN}),
    "report.subject": frozenset({Role.PLATFORM, Role.AUDIT_ADMIN}),
}
ADMIN_ROLES = frozenset({Role.SYS_ADMIN, Role.SEC_ADMIN, Role.AUDIT_ADMIN})


# --------------------------------------------------------------------------------------------
# Keyring identities as signed-note signers and verifiers (docs/audit-log.md §4)


def _sig_type(suite: SuiteName) -> bytes:
    return SIG_TYPE_SM2 if suite is SuiteName.GM else SIG_TYPE_ED25519


class IdentityNoteSigner:
    """Signs checkpoints with a keyring identity's signing key (Ed25519, or SM2 in gm)."""

    def __init__(self, name: str, identity: Identity) -> None:
        self._name = name
        self._identity = identity
        self._type = _sig_type(identity.info.suite)

    def __repr__(self) -> str:
        return f"IdentityNoteSigner({self._name!r}, {self._identity.key_id})"

    @property
    def name(self) -> str:
        return self._name

    @property
    def key_id(self) -> int:
        return key_id(self._name, self._type, self._identity.info.sig)

    def sign(self, msg: bytes) -> bytes:
        return self._identity.sign(msg)

    def verifier(self) -> NoteVerifier:
        # The log writer checks every signature it extends with this (docs/audit-log.md §7).
        return note_verifier(self._name, self._identity.info)


@dataclass(frozen=True)
class SM2NoteVerifier:
    """Verifies the SM2 signature lines of a gm-suite log (private type, docs/audit-log.md)."""

    name: str
    public_key: bytes

    @property
    def key_id(self) -> int:
        return key_id(self.name, SIG_TYPE_SM2, self.public_key)

    def verify(self, msg: bytes, sig: bytes) -> None:
        try:
            get_suite(SuiteName.GM).verify(self.public_key, msg, sig)
        except IntegrityError:
            raise NoteError(f"signature by {self.name} does not verify") from None


register_vkey_type(SIG_TYPE_SM2, SM2NoteVerifier)


def note_verifier(name: str, info: PublicKeyInfo) -> NoteVerifier:
    """The signed-note verifier of a log key, from its xinan public key."""
    from xinan.audit.note import Ed25519Verifier

    if info.suite is SuiteName.GM:
        return SM2NoteVerifier(name, info.sig)
    return Ed25519Verifier(name, info.sig)


# --------------------------------------------------------------------------------------------
# The log's configuration (`xinan audit init`)


@dataclass(frozen=True)
class AuditConfig:
    """``<log>.config``: which log this is and which key signs its checkpoints."""

    origin: str  # the checkpoint origin line, e.g. "xinan.zaozhuang/platform"
    hash: str  # "sha256" | "sm3"
    log_key: str  # the id of the key that signs checkpoints
    log_key_id: str  # its fingerprint, so that a swapped key file is caught

    def to_bytes(self) -> bytes:
        doc = {
            "format": CONFIG_FORMAT,
            "origin": self.origin,
            "hash": self.hash,
            "log_key": self.log_key,
            "log_key_id": self.log_key_id,
        }
        return pretty_json(doc)

    @staticmethod
    def path_for(log: Path) -> Path:
        return log.with_name(log.name + ".config")


def init_audit_log(
    log: Path, *, keyring: Keyring, log_key: str, origin: str | None = None
) -> AuditConfig:
    """Bind a new audit log to its signing key. Refuses to re-bind an existing log."""
    cfg_path = AuditConfig.path_for(log)
    if cfg_path.exists() or (log.exists() and log.stat().st_size):
        raise UsageError(
            f"{log} is already an audit log",
            hint="a log is bound to its key once; verify it with `xinan audit verify`",
        )
    info = keyring.get_public(log_key)
    if info.role is Role.PSEUDONYM:
        raise UsageError("a pseudonym key cannot sign checkpoints")
    cfg = AuditConfig(
        # a fresh suffix: two logs bound to one key never share an origin (a checkpoint names
        # exactly one log)
        origin=origin or f"xinan.local/{info.id}/audit-{secrets.token_hex(4)}",
        hash="sm3" if info.suite is SuiteName.GM else "sha256",
        log_key=info.id,
        log_key_id=info.key_id,
    )
    log.parent.mkdir(parents=True, exist_ok=True)
    write_bytes_atomic(cfg_path, cfg.to_bytes())
    return cfg


def load_audit_config(log: Path) -> AuditConfig:
    cfg_path = AuditConfig.path_for(log)
    try:
        doc = loads_strict(cfg_path.read_bytes())
    except FileNotFoundError:
        raise AuditError(
            f"{log}: no audit log is set up here ({cfg_path.name} is missing)",
            hint="set one up with `xinan audit init --key KEY_ID`, or point --audit-log / "
            "XINAN_AUDIT_LOG at the existing log",
        ) from None
    except ValueError:  # MalformedJSON (issue 11: a damaged file is refused, never a crash)
        raise AuditError(f"{cfg_path}: not a valid audit log configuration") from None
    members = ("origin", "hash", "log_key", "log_key_id")
    if not isinstance(doc, dict) or not all(isinstance(doc.get(m), str) for m in members):
        raise AuditError(f"{cfg_path}: not a valid audit log configuration")
    if doc.get("format") != CONFIG_FORMAT:
        raise AuditError(f"{cfg_path}: format must be {CONFIG_FORMAT!r}")
    return AuditConfig(
        origin=str(doc["origin"]),
        hash=str(doc["hash"]),
        log_key=str(doc["log_key"]),
        log_key_id=str(doc["log_key_id"]),
    )


def log_verifiers(log: Path, keyring: Keyring) -> list[NoteVerifier]:
    """The verifier of a log's own key, from its configuration and the trust store."""
    cfg = load_audit_config(log)
    info = keyring.get_public(cfg.log_key)
    if info.key_id != cfg.log_key_id:
        raise IntegrityError(f"{log}: the trust store's {cfg.log_key} is not the log's key")
    return [note_verifier(cfg.origin, info)]


# --------------------------------------------------------------------------------------------
# The session


class Session:
    """One command run: the acting identity and the audit events it appends.

    Use :func:`open_session`. ``record`` appends one event and returns only when it is durable
    (fsync), so an operation records *before* it releases its effect; if the write fails the
    operation fails (:class:`AuditError`).
    """

    def __init__(self, actor: PublicKeyInfo, identity: Identity | None, log: AuditLog) -> None:
        self.actor = actor
        self.identity = identity
        self.log = log

    def __repr__(self) -> str:
        return f"<Session {self.actor.id} {self.actor.key_id} {self.actor.role.value}>"

    def record(
        self,
        type_: str,
        *,
        outcome: str = "success",
        objects: Mapping[str, Any] | None = None,
        why: Mapping[str, str] | None = None,
        subjects: Sequence[str] = (),
    ) -> int:
        return self.log.append(
            AuditEvent(
                type=type_,
                actor_key_id=self.actor.key_id,
                actor_role=self.actor.role.value,
                outcome=outcome,
                objects=dict(objects or {}),
                why=dict(why or {}),
                subjects=list(subjects),
            )
        )

    @contextmanager
    def batch(self) -> Iterator[Session]:
        """Group commit: many events, one fsync and one checkpoint signature."""
        with self.log.batch():
            yield self

    def require(self, operation: str, *, objects: Mapping[str, Any] | None = None) -> None:
        """Deny by default: raise :class:`AccessDenied` (after logging the denial) unless the
        actor's role may perform ``operation``."""
        allowed = PERMISSIONS.get(operation, frozenset())
        if self.actor.role in allowed:
            return
        self.record(
            "denied",
            outcome="denied",
            objects={**(objects or {}), "ref": f"operation:{operation}"},
        )
        roles = ", ".join(sorted(r.value for r in allowed)) or "no role"
        raise AccessDenied(
            f"{self.actor.id} ({self.actor.role.value}) may not {operation}; allowed: {roles}",
            rule=f"role:{operation}",
            hint="act as an identity with the right role: --as KEY_ID (三权分立: the system, "
            "security and audit administrator roles are held by different keys)",
        )

    def close(self) -> None:
        self.log.close()

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def authenticate_reader(
    *,
    keyring: Keyring,
    identity: str | None,
    passphrase: Callable[[str], str],
    operation: str,
) -> PublicKeyInfo:
    """For commands that only read the audit log (and so must not write to it): unlock the
    acting identity and check its role, without opening the log for writing. A refusal here
    cannot be logged — reading never writes — so it fails closed with a specific message."""
    if not identity:
        raise UsageError(
            f"{operation} shows audit entries, which only the audit roles may read",
            hint="pass --as KEY_ID of an audit-admin or auditor key (or set XINAN_IDENTITY)",
        )
    actor = keyring.get_public(identity)
    keyring.unlock(identity, passphrase(f"{actor.id} ({actor.role.value})"))
    allowed = PERMISSIONS.get(operation, frozenset())
    if actor.role not in allowed:
        roles = ", ".join(sorted(r.value for r in allowed))
        raise AccessDenied(
            f"{actor.id} ({actor.role.value}) may not {operation}; allowed: {roles}",
            rule=f"role:{operation}",
            hint="only the audit administrator (and auditors) read the full audit log",
        )
    return actor


def open_session(
    *,
    keyring: Keyring,
    identity: str | None,
    log_path: Path,
    passphrase: Callable[[str], str],
    clock: Callable[[], datetime],
    operation: str | None = None,
    unlock: bool = True,
) -> Session:
    """Resolve and unlock the acting identity, open the audit log with its signer, and (when
    ``operation`` is given) check the role — logging a denial before refusing."""
    if not identity:
        raise UsageError(
            "no acting identity: every operation on credit data, keys or grants is done as someone",
            hint="pass --as KEY_ID (or set XINAN_IDENTITY) naming a key in the keyring",
        )
    actor = keyring.get_public(identity)
    unlocked = (
        keyring.unlock(identity, passphrase(f"{actor.id} ({actor.role.value})")) if unlock else None
    )
    cfg = load_audit_config(log_path)
    if unlocked is not None and cfg.log_key in (actor.id, actor.key_id):
        log_identity = unlocked
    else:
        log_identity = keyring.unlock(cfg.log_key, passphrase(f"audit log key {cfg.log_key}"))
    if log_identity.key_id != cfg.log_key_id:
        raise IntegrityError(f"{log_path}: the keyring's {cfg.log_key} is not the log's key")
    log = AuditLog.open(
        log_path,
        hash=cfg.hash,
        signer=IdentityNoteSigner(cfg.origin, log_identity),
        origin=cfg.origin,
        clock=clock,
    )
    session = Session(actor, unlocked, log)
    if operation is not None:
        try:
            session.require(operation)
        except AccessDenied:
            session.close()
            raise
    return session


# --------------------------------------------------------------------------------------------
# An actor: one identity acting through the library (provider, querent, auditor, or the
# platform outside its vault)


class Actor:
    """One identity acting through the library, with its audit log open.

    Party objects (:class:`xinan.provider.Provider`, :class:`xinan.querent.Querent`,
    :class:`xinan.platform.submissions.Desk`, :class:`xinan.auditor.Auditor`) derive from it:
    each operation checks the role with :meth:`require` (the denial is logged before it is
    raised) and appends its audit entry before its effect. The clock and the passphrase
    source are passed in; nothing here reads the wall clock or a terminal.
    """

    def __init__(
        self,
        session: Session,
        *,
        keyring: Keyring,
        clock: Callable[[], datetime],
        passphrase: Callable[[str], str],
        log_path: Path,
    ) -> None:
        self.session = session
        self.keyring = keyring
        self.clock = clock
        self.passphrase = passphrase
        self.log_path = log_path

    @classmethod
    def open(
        cls,
        *,
        keyring: Keyring,
        identity: str | None,
        passphrase: Callable[[str], str],
        audit_log: Path,
        clock: Callable[[], datetime],
    ) -> Self:
        """Unlock ``identity`` and open its audit log (``audit_log``, bound to its key)."""
        session = open_session(
            keyring=keyring,
            identity=identity,
            log_path=audit_log,
            passphrase=passphrase,
            clock=clock,
        )
        return cls(session, keyring=keyring, clock=clock, passphrase=passphrase, log_path=audit_log)

    @property
    def actor(self) -> PublicKeyInfo:
        return self.session.actor

    @property
    def identity(self) -> Identity:
        """The actor's unlocked key (sessions opened by :meth:`open` are always unlocked)."""
        if self.session.identity is None:  # pragma: no cover - open() always unlocks
            raise UsageError(f"{self.actor.id}: this operation needs the private key")
        return self.session.identity

    def require(self, operation: str, *, objects: Mapping[str, Any] | None = None) -> None:
        self.session.require(operation, objects=objects)

    def close(self) -> None:
        self.session.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
