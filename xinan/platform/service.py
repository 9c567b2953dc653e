"""(2) The platform as one object: a vault bound to its own audit log, acting as one identity.

This module owns opening the platform the same way for every caller — the CLI, a script, a
service, the Spark driver: :meth:`Platform.open` takes the vault directory, the keyring, the
acting identity, a passphrase source and the clock, checks that the audit log is the one the
vault was set up with (whoever calls must not choose where, or whether, the entries go), and
returns a :class:`Platform` whose every operation

1. checks the actor's role (deny by default; a refusal is logged before it is raised),
2. appends its audit entry before the effect is released (GB/T 22239-2019 8.1.4.3),
3. records every read of personal data.

The operations themselves live in :mod:`xinan.platform.records_ops` (ingest, list, show,
archive, submissions), :mod:`xinan.platform.access_ops` (consents, grants, shares, releases)
and :mod:`xinan.platform.lifecycle_ops` (disclosure, objections, repair, destruction, the
subject report); this module holds what they share. Keys are unlocked at most once per
object (the platform key and the pseudonym key are asked for only when an operation needs
them).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, Self

from xinan.access import Session, load_audit_config, open_session
from xinan.authn import TokenSource
from xinan.errors import AccessDenied, KeyringError, UsageError
from xinan.i18n.dates import parse_date
from xinan.keys import Identity, Keyring, PublicKeyInfo, Role, SecretKey
from xinan.platform.lifecycle import require as require_lifecycle
from xinan.platform.vault import Vault, init_vault, resolve_vault_path, today_cst
from xinan.policy.catalogue import Policy, load_policy
from xinan.session_guard import DEFAULT_IDLE_TIMEOUT

Passphrase = Callable[[str], str]
Clock = Callable[[], datetime]


def system_clock() -> datetime:
    """The wall clock, for callers at the boundary; the library only calls what it is given."""
    return datetime.now(UTC)


@dataclass
class PlatformContext:
    """What opening the platform needs: where, as whom, how keys are unlocked, and the clock.

    ``audit_log`` may be left out: the vault's own bound log is used. When given it must be
    that log (refused otherwise). ``policy`` may be a path, a loaded policy or ``None`` for
    the built-in default; it must be the policy the vault was set up with.
    """

    vault: Path | str | None
    keyring: Keyring
    identity: str | None
    passphrase: Passphrase
    clock: Clock = system_clock
    audit_log: Path | None = None
    policy: Policy | Path | None = None
    # where administrators' second factor comes from (None: $XINAN_TOKEN / $XINAN_TOKEN_DIR)
    tokens: TokenSource | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    # GB/T 22239-2019 8.1.4.1 b: an operation after this long without one is refused (logged);
    # None: never (xinan/session_guard.py)
    idle_timeout: timedelta | None = DEFAULT_IDLE_TIMEOUT
    # where the requests come from, for every audit entry (8.1.4.3 b): a service passes its
    # caller's address; None: this host and process
    source: str | None = None


class PlatformCore:
    """The state every platform operation shares: the vault, the session, keys, clock."""

    def __init__(
        self, ctx: PlatformContext, vault: Vault, session: Session, log_path: Path
    ) -> None:
        self.ctx = ctx
        self.vault = vault
        self.session = session
        self.log_path = log_path
        self.keyring = ctx.keyring
        self._policy: Policy | None = None
        self._platform: Identity | None = None
        self._pskey: SecretKey | None = None
        # docs/vault.md §3.1: a read of records checks their row MACs, so it unlocks the vault
        # key when needed; a row that fails is logged before it is refused
        vault.key_source = self.platform_identity
        vault.on_bad_row = self._log_bad_row
        session.guard.idle_timeout = ctx.idle_timeout
        if ctx.source is not None:
            session.guard.source = ctx.source

    def __repr__(self) -> str:
        return f"<Platform {self.vault.config.id} as {self.session.actor.id}>"

    # -- life of the object ------------------------------------------------------------------
    @classmethod
    def open(cls, ctx: PlatformContext) -> Self:
        """Open the vault, its own audit log and the actor's session (the identity unlocked)."""
        vault, session, log = open_core(ctx)
        return cls(ctx, vault, session, log)

    def close(self) -> None:
        try:
            self.vault.close()
        finally:
            self.session.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- what operations share --------------------------------------------------------------
    @property
    def actor(self) -> PublicKeyInfo:
        return self.session.actor

    def now(self) -> datetime:
        return self.ctx.clock()

    def today(self) -> date:
        """Today in China Standard Time (the date every rule is counted in)."""
        return today_cst(self.now())

    def require(self, operation: str, *, objects: dict[str, Any] | None = None) -> None:
        """Deny by default; the denial is in the log before :class:`AccessDenied` is raised.
        Every operation starts here: a new request id, and the idle timeout checked."""
        self.session.begin(operation)
        if objects is None:
            require_lifecycle(self.session, operation)
        else:
            self.session.require(operation, objects=objects)

    @property
    def policy(self) -> Policy:
        """The policy in force, checked against the one the vault was set up with (once)."""
        if self._policy is None:
            p = self.ctx.policy
            pol = p if isinstance(p, Policy) else load_policy(p)
            self.vault.check_policy(pol)
            self._policy = pol
        return self._policy

    def platform_identity(self) -> Identity:
        """The vault's platform identity, unlocked once: the actor's own key when the actor is
        the platform, else unlocked separately (its passphrase: two people may be needed)."""
        if self._platform is not None:
            return self._platform
        cfg = self.vault.config
        ident = self.session.identity
        if ident is None or ident.key_id != cfg.platform_key_id:
            ident = self.keyring.unlock(
                cfg.platform_id, self.ctx.passphrase(f"{cfg.platform_id} (platform)")
            )
            if ident.key_id != cfg.platform_key_id:
                raise KeyringError(
                    f"the keyring's {cfg.platform_id} is not the vault's platform key"
                )
        self._platform = ident
        return ident

    def platform_signer(self) -> Identity:
        """The platform key for *signing* (grants, revocation lists): the platform's own key
        when the actor is the platform; else the platform service's delegated signing half
        (``vault delegate-signing``: no passphrase asked, and it cannot unwrap the vault's
        key); else, before any delegation, the platform key unlocked with its passphrase."""
        if self._platform is not None:
            return self._platform
        ident = self.session.identity
        cfg = self.vault.config
        if ident is None or ident.key_id != cfg.platform_key_id:
            from xinan.platform.signing import load_delegated_signer

            delegated = load_delegated_signer(
                self.vault.path,
                vault_id=cfg.id,
                keyring=self.keyring,
                platform_key_id=cfg.platform_key_id,
            )
            if delegated is not None:
                return delegated
        return self.platform_identity()

    def unlocked_vault(self) -> Vault:
        """The vault with its key unwrapped (for operations that need plaintext or sealing)."""
        if not self.vault.is_unlocked:
            self.vault.unlock(self.platform_identity())
        return self.vault

    def _log_bad_row(self, record_id: str) -> None:
        """A stored record failed its row MAC (docs/vault.md §3.1): logged, then refused."""
        self.session.record(
            "open",
            outcome="failed",
            objects={"record_ids": [record_id], "ref": f"vault:{self.vault.config.id}:row-mac"},
            why={"purpose": "integrity-check"},
        )

    def pseudonym_key(self) -> SecretKey:
        if self._pskey is None:
            cfg = self.vault.config
            key = self.keyring.secret(
                cfg.pseudonym_id, self.ctx.passphrase(f"pseudonym key {cfg.pseudonym_id}")
            )
            self.vault.check_pseudonym_key(key)
            self._pskey = key
        return self._pskey

    def subject_pseudonym(self, clear_id: str) -> str:
        """A clear subject identifier → the vault's keyed pseudonym. The clear value goes no
        further: it is never logged, stored or returned."""
        return self.vault.subject_pseudonym(
            self.pseudonym_key(), self.policy, clear_id, today=self.today()
        )


def _bound_log(vault: Vault, given: Path | None) -> Path:
    """The vault's own audit log; a different one given by the caller is refused."""
    c = vault.config
    bound = Path(c.audit_path)
    log = given if given is not None else bound
    cfg = load_audit_config(log)
    if (cfg.origin, cfg.log_key_id, str(log.resolve())) != (
        c.audit_origin,
        c.audit_key_id,
        c.audit_path,
    ):
        raise AccessDenied(
            f"{log} is not this vault's audit log (the vault logs to {c.audit_origin})",
            rule="vault:audit-log",
            hint="leave --audit-log out (the vault's own log is used), or point it at that log",
        )
    return log


def open_core(ctx: PlatformContext) -> tuple[Vault, Session, Path]:
    """Open the vault, its bound log and the actor's session (identity unlocked)."""
    vault = Vault.open(resolve_vault_path(ctx.vault))
    try:
        log = _bound_log(vault, ctx.audit_log)
        session = open_session(
            keyring=ctx.keyring,
            identity=ctx.identity,
            log_path=log,
            passphrase=ctx.passphrase,
            clock=ctx.clock,
            tokens=ctx.tokens,
        )
    except BaseException:
        vault.close()
        raise
    return vault, session, log


@dataclass(frozen=True)
class VaultCreated:
    path: Path
    id: str
    policy: str
    platform_id: str
    platform_key_id: str
    pseudonym_id: str


def create_vault(
    path: Path | str | None,
    *,
    keyring: Keyring,
    identity: str | None,
    passphrase: Passphrase,
    audit_log: Path,
    platform: str,
    pseudonym_key: str,
    policy: Policy | Path | None = None,
    clock: Clock = system_clock,
    tokens: TokenSource | None = None,
) -> VaultCreated:
    """Create a vault bound to ``audit_log`` (role sys-admin; logged as ``key.vault-init``).

    Needs only the platform's public key: the vault key is wrapped to it.
    """
    where = resolve_vault_path(path)
    pol = policy if isinstance(policy, Policy) else load_policy(policy)
    with open_session(
        keyring=keyring,
        identity=identity,
        log_path=audit_log,
        passphrase=passphrase,
        clock=clock,
        operation="vault.init",
        tokens=tokens,
    ) as session:
        log_cfg = load_audit_config(audit_log)  # every vault operation logs here
        if not log_cfg.is_service:
            # 三权分立 (issue 12): the vault's log has its own signer, which no operator's
            # credential unlocks; a log signed by a keyring identity would make that identity's
            # passphrase the key to every administrator's session
            raise UsageError(
                f"{audit_log} is signed by the keyring identity {log_cfg.log_key}: a vault "
                "needs a log with its own signer",
                hint="set the platform's log up with `xinan audit init` (no --key) before "
                "`xinan keys bootstrap`",
            )
        plat = keyring.get_public(platform)
        ps = [e for e in keyring.list() if e.kind == "secret" and pseudonym_key in (e.id, e.key_id)]
        if not ps or ps[0].role != Role.PSEUDONYM.value:
            raise KeyringError(
                f"no pseudonym key {pseudonym_key!r} in the keyring",
                hint="create one: xinan keygen --id subject-ps --role pseudonym",
            )
        cfg = init_vault(
            where,
            platform=plat,
            pseudonym_id=ps[0].id,
            pseudonym_key_id=ps[0].key_id,
            policy=pol,
            now=clock(),
            audit_origin=log_cfg.origin,
            audit_key_id=log_cfg.log_key_id,
            audit_path=str(audit_log.resolve()),
        )
        session.record(
            "key.vault-init",
            objects={
                "ref": f"vault:{cfg.id}",
                "key_ids": [cfg.platform_key_id, cfg.pseudonym_key_id],
                "policy": cfg.policy,
            },
        )
    return VaultCreated(
        where, cfg.id, cfg.policy, cfg.platform_id, cfg.platform_key_id, cfg.pseudonym_id
    )


def parse_day(value: str | None, what: str) -> date | None:
    """An ISO date given by a person (``--as-of``, ``--received``), or ``None``."""
    if value is None:
        return None
    try:
        return parse_date(value)  # YYYY-MM-DD or 2027年6月30日 (issue 15)
    except ValueError:
        raise UsageError(
            f"{what}: not a date: {value!r}", hint="use YYYY-MM-DD or 2027年6月30日"
        ) from None
