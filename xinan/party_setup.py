"""Set up a party's working directory in one call (``xinan init``; docs/config.md).

This module owns the order in which a party's authority is started, so that no key
management ever runs unlogged once the party exists:

1. the party's keys, each with one role (the platform's three administrators are three
   keys: 三权分立, GB/T 22239-2019 8.1.4.2), private files encrypted and 0600;
2. its own signed audit log (the platform's with its own service-held signer,
   docs/audit-log.md §12; the others' signed by the party's key);
3. the explicit bootstrap of the keyring's roster by its first system administrator
   (docs/keys.md §8), which gives every administrator a token (the second factor);
4. the counterparts' public keys, each added through the system administrator's session on
   the roster's bound log (``key.add`` entries) — never before the log exists;
5. for the platform, its vault (``vault.init``, by the system administrator);
6. ``xinan.toml``: where the keyring, the log, the vault and the tokens are and who acts by
   default, so later commands need no ``--vault``, ``--audit-log`` or repeated ``--as``.

It does not read passphrases or print: the caller passes the callbacks and renders
:class:`PartySetup`. A directory that already holds a config, a keyring or a log is refused
(a party is set up once; its keys are then managed as the system administrator).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from xinan.access import init_audit_log
from xinan.authn import TokenDir
from xinan.config import FILENAME, PARTIES, Config, write_config
from xinan.errors import ConfigError
from xinan.key_management import add_public, admin_session, bootstrap, generate_key
from xinan.keys import KdfParams, Keyring, Role, check_new_passphrase, read_public_file

Passphrase = Callable[[str], str]
Clock = Callable[[], datetime]


@dataclass(frozen=True)
class PartyKeys:
    """The ids of a party's keys (README ids by default)."""

    party: str
    main: str  # the party's own key: signs its packages or grants use, and its log
    admin: str  # the first system administrator (bootstraps the roster)
    sec_admin: str | None = None  # platform only
    audit_admin: str | None = None  # platform only
    pseudonym: str | None = None  # provider and platform

    def roles(self) -> list[tuple[str, Role]]:
        main_role = {
            "provider": Role.PROVIDER,
            "platform": Role.PLATFORM,
            "querent": Role.QUERENT,
            "auditor": Role.AUDITOR,
        }[self.party]
        out = [(self.main, main_role), (self.admin, Role.SYS_ADMIN)]
        if self.sec_admin:
            out.append((self.sec_admin, Role.SEC_ADMIN))
        if self.audit_admin:
            out.append((self.audit_admin, Role.AUDIT_ADMIN))
        if self.pseudonym:
            out.append((self.pseudonym, Role.PSEUDONYM))
        return out


def default_keys(
    party: str, main: str | None = None, admin: str | None = None, pseudonym: str | None = None
) -> PartyKeys:
    """A party's key ids: ``main`` (default: the party's name), ``admin`` (default
    ``<main>-admin``; the platform's are ``sys-admin``, ``sec-admin``, ``audit-admin``) and a
    pseudonym key for the provider (``<main>-ps``) and the platform (``subject-ps``)."""
    if party not in PARTIES:
        raise ConfigError(f"unknown party {party!r}", hint=f"one of: {', '.join(PARTIES)}")
    name = main or party
    if party == "platform":
        return PartyKeys(
            party,
            name,
            admin or "sys-admin",
            sec_admin="sec-admin",
            audit_admin="audit-admin",
            pseudonym=pseudonym or "subject-ps",
        )
    ps = (pseudonym or f"{name}-ps") if party == "provider" else None
    return PartyKeys(party, name, admin or f"{name}-admin", pseudonym=ps)


@dataclass(frozen=True)
class KeyMade:
    id: str
    role: str
    key_id: str


@dataclass(frozen=True)
class PartySetup:
    """What :func:`init_party` made (no secret: token files are paths)."""

    party: str
    directory: Path
    config: Config
    keys: list[KeyMade]
    log: Path
    log_origin: str
    roster_serial: int
    tokens: dict[str, Path]
    trusted: list[KeyMade] = field(default_factory=list)
    vault: Path | None = None


def _check_fresh(directory: Path, token_dir: Path) -> None:
    for p in (directory / FILENAME, directory / "keys", directory / "audit", token_dir):
        if p.exists() and (p.is_file() or any(p.iterdir())):
            raise ConfigError(
                f"{p} already exists: a working directory is set up once",
                hint="choose a new directory, or manage the existing party's keys as its "
                "system administrator (xinan --as ADMIN keys …)",
            )


def init_party(
    directory: Path,
    keys: PartyKeys,
    *,
    suite: str,
    new_passphrase: Passphrase,
    passphrase: Passphrase,
    clock: Clock,
    trust: Sequence[Path] = (),
    token_dir: Path | None = None,
    policy: Path | None = None,
    kdf_params: KdfParams | None = None,
) -> PartySetup:
    """Set up ``keys.party`` in ``directory`` (see the module docstring for the order).

    ``new_passphrase(prompt)`` gives each new key's passphrase (prompt ``new key <id>``);
    ``passphrase(prompt)`` unlocks keys afterwards. ``token_dir`` (default
    ``<directory>/tokens``) receives the administrators' tokens: move it to removable media.
    """
    directory = directory.expanduser().resolve()
    tokens_at = (token_dir or directory / "tokens").expanduser().resolve()
    _check_fresh(directory, tokens_at)
    for file in trust:  # refuse a bad key file before anything is made (no half set-up)
        read_public_file(Path(file))
    directory.mkdir(parents=True, exist_ok=True)
    ring = Keyring(directory / "keys")
    log = directory / "audit" / "audit.log"

    # every passphrase asked and checked before the first key is made (no half set-up)
    secrets_for: dict[str, str] = {}
    for key_id, role in keys.roles():
        secrets_for[key_id] = new_passphrase(f"new key {key_id}")
        check_new_passphrase(secrets_for[key_id], user_inputs=(key_id, role.value))
    made: list[KeyMade] = []
    for key_id, role in keys.roles():
        info, _ = generate_key(
            ring,
            None,  # before the bootstrap: the bootstrap's roster lists every key made here
            key_name=key_id,
            role=role,
            suite=suite,
            passphrase=secrets_for[key_id],
            now=clock(),
            kdf_params=kdf_params,
        )
        made.append(KeyMade(key_id, role.value, info.key_id))

    # the platform's log has its own service-held signer: no administrator's credential signs
    # it and nobody is asked a passphrase to write to it (issue 12, docs/audit-log.md §12); a
    # provider's, querent's or auditor's log is signed by the party's own key, so that its
    # counterparts check it with the public key they were handed
    cfg_log = init_audit_log(
        log,
        keyring=ring,
        log_key=None if keys.party == "platform" else keys.main,
        now=clock(),
    )
    tokens_at.mkdir(parents=True, exist_ok=True)
    tokens_at.chmod(0o700)
    booted = bootstrap(
        ring,
        admin=keys.admin,
        log_path=log,
        passphrase=passphrase,
        clock=clock,
        token_out=lambda holder: tokens_at / f"{holder}.token",
    )
    token_source = TokenDir(tokens_at)

    trusted: list[KeyMade] = []
    if trust:
        with admin_session(
            ring,
            identity=keys.admin,
            passphrase=passphrase,
            clock=clock,
            tokens=token_source,
            operation="key.manage",
        ) as session:
            for file in trust:
                info = add_public(ring, session, Path(file))
                trusted.append(KeyMade(info.id, info.role.value, info.key_id))

    vault: Path | None = None
    if keys.party == "platform":
        from xinan.platform.service import create_vault

        created = create_vault(
            directory / "vault",
            keyring=ring,
            identity=keys.admin,
            passphrase=passphrase,
            audit_log=log,
            platform=keys.main,
            pseudonym_key=keys.pseudonym or "subject-ps",
            policy=policy,
            clock=clock,
            tokens=token_source,
        )
        vault = created.path

    cfg = Config(
        path=directory / FILENAME,
        party=keys.party,
        keyring=ring.path.resolve(),
        audit_log=log,
        identity=keys.main,
        vault=vault,
        pseudonym_key=keys.pseudonym,
        tokens=tokens_at,
        policy=policy.resolve() if policy is not None else None,
    )
    write_config(cfg)
    return PartySetup(
        party=keys.party,
        directory=directory,
        config=cfg,
        keys=made,
        log=log,
        log_origin=cfg_log.origin,
        roster_serial=booted.roster.serial,
        tokens=dict(booted.tokens),
        trusted=trusted,
        vault=vault,
    )


__all__ = ["KeyMade", "PartyKeys", "PartySetup", "default_keys", "init_party", "next_steps"]


def next_steps(setup: PartySetup) -> list[str]:
    """The commands a party runs next (printed by ``xinan init``; each runs as written from
    the working directory once the counterparts' files are there)."""
    admin = next(k.id for k in setup.keys if k.role == Role.SYS_ADMIN.value)
    has_platform = any(k.role == Role.PLATFORM.value for k in setup.trusted)
    steps = [f"cd {setup.directory}"]
    if setup.party in ("provider", "querent", "auditor") and not has_platform:
        steps.append(f"xinan --as {admin} keys add PLATFORM_DIR/keys/public/platform.pub")
    if setup.party == "provider":
        steps += [
            "xinan fake penalty -n 1000 -o export.csv --bad-rate 0.01",
            "xinan seal export.csv -o export.xpkg --to platform --rejects rejects.csv",
        ]
    elif setup.party == "platform":
        steps += [
            f"xinan --as {admin} keys add PROVIDER_DIR/keys/public/PROVIDER.pub",
            "xinan verify PROVIDER_DIR/export.xpkg",
            "xinan vault ingest PROVIDER_DIR/export.xpkg",
        ]
    elif setup.party == "querent":
        steps.append("xinan open bank.xpkg --grant bank.grant --release bank.release -o opened.csv")
    else:
        steps.append("xinan audit verify PLATFORM_DIR/audit/audit.log")
    return steps
