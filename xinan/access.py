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

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self

from xinan.audit.config import (
    CONFIG_FORMAT,
    AuditConfig,
    init_audit_log,
    load_audit_config,
    log_signer,
    log_verifiers,
)
from xinan.audit.entry import AuditEvent
from xinan.audit.log import AuditLog
from xinan.audit.note import NoteSigner
from xinan.audit.signers import IdentityNoteSigner, SM2NoteVerifier, note_verifier
from xinan.errors import (
    AccessDenied,
    IntegrityError,
    UsageError,
    WrongPassphrase,
)
from xinan.keys import Identity, Keyring, PublicKeyInfo

# who may do what (the operation table, administrators, field labels), re-exported here
from xinan.permissions import ADMIN_ROLES, PERMISSIONS, field_labels
from xinan.session_guard import DEFAULT_IDLE_TIMEOUT, IDLE_REF, RequestGuard, idle_refusal

if TYPE_CHECKING:
    from xinan.authn import AuthPolicy, LockoutStore, TokenSource
    from xinan.roster import Member

# --------------------------------------------------------------------------------------------
# The session


class Session:
    """One command run: the acting identity and the audit events it appends.

    Use :func:`open_session`. ``record`` appends one event and returns only when it is durable
    (fsync), so an operation records *before* it releases its effect; if the write fails the
    operation fails (:class:`AuditError`).
    """

    def __init__(
        self,
        actor: PublicKeyInfo,
        identity: Identity | None,
        log: AuditLog,
        member: Member | None = None,
        *,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.actor = actor
        self.identity = identity
        self.log = log
        # the roster's word on the actor (role, clearance); set by open_session
        self.member = member
        self._clock = clock
        # request id, source and idle timeout of the entries (xinan/session_guard.py)
        self.guard = RequestGuard(last_active=clock() if clock is not None else None)

    def now(self) -> datetime:
        """The session's clock (the one its audit entries are stamped with)."""
        if self._clock is None:
            raise UsageError("this session was opened without a clock")
        return self._clock()

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
                request=self.guard.request_id,
                source=self.guard.source,
            )
        )

    def begin(self, operation: str) -> None:
        """A library call starts (xinan/session_guard.py): a new request id; refused and
        logged (``denied``, ref ``session:idle-timeout``) after the idle timeout."""
        if not self.guard.begin(self.now()):
            why, refused = idle_refusal(self.actor.id, operation, self.guard.idle_timeout)
            self.record("denied", outcome="denied", objects={"ref": IDLE_REF}, why=why)
            raise refused

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

    @property
    def clearance(self) -> int:
        """The actor's clearance from the roster (0: none, when opened without a roster)."""
        return self.member.clearance if self.member is not None else 0

    def require_clearance(
        self, labels: Mapping[str, int], *, objects: Mapping[str, Any] | None = None
    ) -> None:
        """Security labels (GB/T 22239-2019 8.1.4.2 g): a read of fields labelled ``labels``
        (field name → grade, the policy's grades) needs a clearance at least the highest of
        them. A refusal is logged (``denied``, rule ``label:FIELD``) before it is raised."""
        over = sorted(f for f, grade in labels.items() if grade > self.clearance)
        if not over:
            return
        self.record(
            "denied",
            outcome="denied",
            objects={**(objects or {}), "ref": f"label:{','.join(over)}"[:512]},
        )
        top = max(labels[f] for f in over)
        raise AccessDenied(
            f"{self.actor.id} has clearance {self.clearance}; {', '.join(over)} "
            f"{'is' if len(over) == 1 else 'are'} labelled up to grade {top}",
            rule=f"label:{over[0]}",
            hint="ask the security administrator for a clearance (xinan keys clearance), or "
            "read a view without those fields",
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
    clock: Callable[[], datetime],
    tokens: TokenSource | None = None,
    log_path: Path | None = None,
    what: str = "",
) -> PublicKeyInfo:
    """For commands that show audit entries: authenticate the reader (roster, factors), check
    its role, and record the read — or the refusal — in the reader's own bound log
    (GB/T 22239-2019 8.1.4.3: the audit administrator's reads are audited too). ``what`` names
    the log read and the filter, e.g. ``audit.log --type grant``."""
    if not identity:
        raise UsageError(
            f"{operation} shows audit entries, which only the audit roles may read",
            hint="pass --as KEY_ID of an audit-admin or auditor key (or set XINAN_IDENTITY)",
        )
    from xinan.roster import load_roster

    bound = Path(load_roster(keyring).log.path)
    with open_session(
        keyring=keyring,
        identity=identity,
        log_path=log_path or bound,
        passphrase=passphrase,
        clock=clock,
        tokens=tokens,
        operation=None,
    ) as session:
        session.require(operation)
        session.record("audit.read", objects={"ref": f"{operation}:{what}"[:512]})
        return session.actor


def authenticate_deferred(
    *,
    keyring: Keyring,
    identity: str | None,
    passphrase: Callable[[str], str],
    operation: str,
    clock: Callable[[], datetime],
    tokens: TokenSource | None = None,
    auth_policy: AuthPolicy | None = None,
) -> PublicKeyInfo:
    """Authenticate and role-check without writing to the log — for ``audit repair``, whose log
    cannot be written until it is repaired. Failures and refusals are kept in the keyring's
    authentication state and logged by the next session that opens the log."""
    from xinan.authn import (
        DEFAULT_POLICY,
        Deferred,
        LockoutStore,
        tokens_from_environment,
        unlock_member,
    )
    from xinan.roster import ADMIN_ROLES, load_roster

    if not identity:
        raise UsageError(f"{operation}: who acts?", hint="pass --as KEY_ID")
    tokens = tokens if tokens is not None else tokens_from_environment()
    roster = load_roster(keyring)
    actor = keyring.get_public(identity)
    member = roster.member(actor.key_id)
    store = LockoutStore(keyring.path, auth_policy or DEFAULT_POLICY)
    now = clock()

    def deferred(reason: str, outcome: str, failures: int) -> None:
        store.defer(Deferred(now.isoformat(), actor.key_id, actor.role.value, reason, outcome))

    if member is None:
        deferred("not-in-roster", "denied", 0)
        raise AccessDenied(f"{actor.id} is not in this keyring's roster", rule="roster:member")
    try:
        member.check_usable(now)
    except AccessDenied as e:
        deferred((e.rule or "roster").split(":", 1)[-1], "denied", 0)
        raise
    unlock_member(
        keyring=keyring,
        member=member,
        passphrase=passphrase,
        tokens=tokens,
        origin=roster.log.origin,
        now=now,
        store=store,
        report=deferred,
        needs_token=member.role in ADMIN_ROLES,
    )
    allowed = PERMISSIONS.get(operation, frozenset())
    if member.role not in allowed:
        deferred(f"operation:{operation}", "denied", 0)
        raise AccessDenied(
            f"{actor.id} ({member.role.value}) may not {operation}; allowed: "
            + ", ".join(sorted(r.value for r in allowed)),
            rule=f"role:{operation}",
        )
    return actor


# --------------------------------------------------------------------------------------------
# Opening a session: roster, factors, lockout (GB/T 22239-2019 8.1.4.1–8.1.4.2)


def _auth_event(key_id: str, role: str, reason: str, outcome: str, failures: int) -> AuditEvent:
    return AuditEvent(
        "key.auth",
        actor_key_id=key_id,
        actor_role=role,
        outcome=outcome,
        objects={"key_ids": [key_id], "ref": f"authn:{reason}", "counts": {"failures": failures}},
    )


def _same_file(a: Path, b: Path) -> bool:
    return a.expanduser().resolve() == b.expanduser().resolve()


def _open_log(
    path: Path, cfg: AuditConfig, signer: Identity | NoteSigner, clock: Callable[[], datetime]
) -> AuditLog:
    """Open a bound log for writing with its own signer (an identity of an identity-signed
    log, checked against the configuration; or the service-held signer)."""
    if isinstance(signer, Identity):
        if signer.key_id != cfg.log_key_id:
            raise IntegrityError(f"{path}: the keyring's {cfg.log_key} is not the log's key")
        signer = IdentityNoteSigner(cfg.origin, signer)
    return AuditLog.open(path, hash=cfg.hash, signer=signer, origin=cfg.origin, clock=clock)


def _flush_deferred(log: AuditLog, store: LockoutStore) -> None:
    """Failures that happened while the log could not be opened, logged now (with their time
    in the ``ref``, since the entry's own time is the time of writing)."""
    for d in store.take_deferred():
        log.append(
            AuditEvent(
                "key.auth",
                actor_key_id=d.key_id,
                actor_role=d.role,
                outcome=d.outcome,
                objects={"key_ids": [d.key_id], "ref": f"authn:{d.reason}@{d.time}"},
            )
        )


def open_session(
    *,
    keyring: Keyring,
    identity: str | None,
    log_path: Path,
    passphrase: Callable[[str], str],
    clock: Callable[[], datetime],
    operation: str | None = None,
    tokens: TokenSource | None = None,
    auth_policy: AuthPolicy | None = None,
) -> Session:
    """Authenticate the acting identity and open the keyring's audit log for its entries.

    In order: the keyring's roster is loaded and verified (:func:`xinan.roster.load_roster`);
    ``log_path`` must be the log the roster is bound to; the actor must be an active,
    unexpired member; its key must not be locked; its passphrase must unlock the private key
    the roster names; an administrator's token must answer a fresh challenge
    (:func:`xinan.authn.unlock_member`). Every failure and refusal is an audit entry
    (``key.auth``) — logged at once, or, when the failing key is the log's own key, by the
    next session that opens the log. Then (when ``operation`` is given) the roster's role is
    checked, a denial logged before it is raised."""
    from xinan.authn import (
        DEFAULT_POLICY,
        Deferred,
        LockoutStore,
        tokens_from_environment,
        unlock_member,
    )
    from xinan.roster import ADMIN_ROLES, load_roster

    if not identity:
        raise UsageError(
            "no acting identity: every operation on credit data, keys or grants is done as someone",
            hint="pass --as KEY_ID (or set XINAN_IDENTITY) naming a key in the keyring",
        )
    tokens = tokens if tokens is not None else tokens_from_environment()
    roster = load_roster(keyring)
    bound = Path(roster.log.path)
    if not _same_file(log_path, bound):
        raise AccessDenied(
            f"{log_path} is not this keyring's audit log ({bound})",
            rule="roster:log",
            hint="whoever acts does not choose where its audit entries go: drop --audit-log "
            "/ XINAN_AUDIT_LOG, or point it at the bound log",
        )
    cfg = load_audit_config(bound)
    actor = keyring.get_public(identity)
    member = roster.member(actor.key_id)
    policy = auth_policy or DEFAULT_POLICY
    store = LockoutStore(keyring.path, policy)
    now = clock()
    stamp = now.isoformat()

    def deferred(reason: str, outcome: str, failures: int) -> None:
        store.defer(Deferred(stamp, actor.key_id, actor.role.value, reason, outcome))

    def refuse(report: Callable[[str, str, int], None]) -> Member:
        if member is None:
            report("not-in-roster", "denied", 0)
            raise AccessDenied(
                f"{actor.id} ({actor.key_id}) is not in this keyring's roster",
                rule="roster:member",
                hint="the system administrator adds keys (xinan keygen / keys bootstrap); a "
                "key file placed by hand never acts",
            )
        try:
            member.check_usable(now)
        except AccessDenied as e:
            report((e.rule or "roster").split(":", 1)[-1], "denied", 0)
            raise
        return member

    def unlock(m: Member, report: Callable[[str, str, int], None]) -> Identity:
        return unlock_member(
            keyring=keyring,
            member=m,
            passphrase=passphrase,
            tokens=tokens,
            origin=cfg.origin,
            now=now,
            store=store,
            report=report,
            needs_token=m.role in ADMIN_ROLES,
        )

    unlocked: Identity | None = None
    if cfg.is_service:
        # the log's own signer, held by the logging service: no operator unlocks it (§12)
        log = _open_log(bound, cfg, log_signer(bound, cfg, keyring=keyring), clock)
    elif cfg.log_key in (actor.id, actor.key_id):
        # the log opens with the actor's own key: a failure before that is logged later
        unlocked = unlock(refuse(deferred), deferred)
        log = _open_log(bound, cfg, unlocked, clock)
    else:
        try:
            store.check(cfg.log_key_id, now)
            log_identity = keyring.unlock(cfg.log_key, passphrase(f"audit log key {cfg.log_key}"))
        except WrongPassphrase:
            store.failure(cfg.log_key_id, now)
            store.defer(Deferred(stamp, cfg.log_key_id, "log-key", "passphrase", "failed"))
            raise
        log = _open_log(bound, cfg, log_identity, clock)
    try:
        _flush_deferred(log, store)

        def logged(reason: str, outcome: str, failures: int) -> None:
            role = member.role.value if member is not None else actor.role.value
            log.append(_auth_event(actor.key_id, role, reason, outcome, failures))

        if unlocked is None:
            unlocked = unlock(refuse(logged), logged)
        assert member is not None  # refuse() raised otherwise
        if actor.role is not member.role:  # the key id pins the role; a mismatch is tampering
            raise IntegrityError(f"{actor.id}: key file and roster disagree on its role")
        session = Session(actor, unlocked, log, member, clock=clock)
        if operation is not None:
            session.require(operation)
    except BaseException:
        log.close()
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
        idle_timeout: timedelta | None = DEFAULT_IDLE_TIMEOUT,  # xinan/session_guard.py
    ) -> None:
        self.session = session
        session.guard.idle_timeout = idle_timeout
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
        tokens: TokenSource | None = None,
    ) -> Self:
        """Unlock ``identity`` and open its audit log (``audit_log``, bound to its key);
        ``tokens``: where an administrator's second factor comes from (None: the
        environment's, ``$XINAN_TOKEN`` / ``$XINAN_TOKEN_DIR``)."""
        session = open_session(
            keyring=keyring,
            identity=identity,
            log_path=audit_log,
            passphrase=passphrase,
            clock=clock,
            tokens=tokens,
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
        self.session.begin(operation)  # a new request; refused (logged) after the idle timeout
        self.session.require(operation, objects=objects)

    def close(self) -> None:
        self.session.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


__all__ = [
    "ADMIN_ROLES",
    "CONFIG_FORMAT",
    "PERMISSIONS",
    "Actor",
    "AuditConfig",
    "IdentityNoteSigner",
    "SM2NoteVerifier",
    "Session",
    "authenticate_deferred",
    "authenticate_reader",
    "field_labels",
    "init_audit_log",
    "load_audit_config",
    "log_signer",
    "log_verifiers",
    "note_verifier",
    "open_session",
]
