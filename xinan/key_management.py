"""Key management as audited library operations (docs/keys.md §8–§10).

Every operation here changes who may act in a keyring, so each one (GB/T 22239-2019 8.1.4.1,
8.1.4.2, 8.1.4.3):

* runs as a system administrator authenticated on the keyring's **bound** log — the roster
  names the log, the caller's ``--audit-log`` does not choose it (:func:`admin_session`);
* changes the roster (:mod:`xinan.roster`) and logs the change (``key.generate``,
  ``key.add``, ``key.roster`` …) before it takes effect.

The one exception is the explicit :func:`bootstrap`: before it, a keyring has no roster and
no identity may act; key files made before it are listed, with their roles, in the first
roster and its log entry, so the log shows what the deployment started with. The security
administrator changes clearances (labels are its domain, 8.1.5.3); a holder changes its own
passphrase.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

from xinan.access import Session, _open_log, load_audit_config, log_signer, open_session
from xinan.authn import AuthPolicy, Token, TokenSource
from xinan.errors import AccessDenied, KeyringError, UsageError
from xinan.keys import SECRET_ROLES, KdfParams, Keyring, PublicKeyInfo, Role, SecretKeyInfo
from xinan.roster import (
    ADMIN_ROLES,
    CLEARANCES,
    DEFAULT_CLEARANCE,
    LogBinding,
    Member,
    Roster,
    finish_pending,
    is_bootstrapped,
    load_roster,
    roster_anchors,
    write_roster,
)

Clock = Callable[[], datetime]
TokenOut = Callable[[str], Path]
"""Where the token of a newly enrolled holder is written: ``holder id -> path``."""


@dataclass(frozen=True)
class Bootstrapped:
    roster: Roster
    tokens: dict[str, Path]


# -- sessions ----------------------------------------------------------------------------------
def admin_session(
    keyring: Keyring,
    *,
    identity: str | None,
    passphrase: Callable[[str], str],
    clock: Clock,
    tokens: TokenSource | None,
    operation: str = "key.manage",
    auth_policy: AuthPolicy | None = None,
) -> Session:
    """A session for key management on the keyring's bound log, whatever the caller's flags
    say. Refused (and the refusal logged) unless the roster's role may do ``operation``."""
    finish_pending(keyring)
    roster = load_roster(keyring)
    if not identity:
        raise UsageError(
            "this keyring is bootstrapped: key management acts as the system administrator",
            hint="pass --as KEY_ID of a sys-admin key (and its token: XINAN_TOKEN)",
        )
    return open_session(
        keyring=keyring,
        identity=identity,
        log_path=Path(roster.log.path),
        passphrase=passphrase,
        clock=clock,
        operation=operation,
        tokens=tokens,
        auth_policy=auth_policy,
    )


def _commit(
    session: Session,
    keyring: Keyring,
    roster: Roster,
    members: tuple[Member, ...],
    *,
    action: str,
    changed: list[str],
) -> Roster:
    if session.identity is None:
        raise AccessDenied("a roster is signed by an unlocked administrator key")
    # the same rule load_roster checks on the chain: the sys-admin changes the roster, the
    # sec-admin only clearances (GB/T 22239-2019 8.1.5.3)
    role = session.actor.role
    if not (role is Role.SYS_ADMIN or (role is Role.SEC_ADMIN and action == "clearance")):
        session.record(
            "denied", outcome="denied", objects={"key_ids": changed, "ref": f"roster:{action}"}
        )
        raise AccessDenied(
            f"{session.actor.id} ({role.value}) may not change the roster ({action})",
            rule=f"roster:{action}",
        )

    def record(ref: str, key_ids: list[str], why: str) -> None:
        session.record("key.roster", objects={"ref": ref, "key_ids": key_ids}, why={"purpose": why})

    return write_roster(
        keyring,
        roster,
        members,
        signer=session.identity,
        log=roster.log,
        now=session.now(),
        action=action,
        changed=changed,
        record=record,
    )


def _member_for(roster: Roster, ref: str) -> Member:
    m = roster.member(ref)
    if m is None:
        raise KeyringError(
            f"{ref!r} is not in the roster", hint="run `xinan keys roster` to see its members"
        )
    return m


def _new_member(
    info: PublicKeyInfo, clearance: int | None, token_out: TokenOut | None
) -> tuple[Member, Path | None]:
    level = DEFAULT_CLEARANCE[info.role] if clearance is None else clearance
    if level not in CLEARANCES:
        raise UsageError(f"clearance must be one of {CLEARANCES}")
    m = Member(info.id, info.key_id, info.role, level)
    if info.role not in ADMIN_ROLES:
        return m, None
    if token_out is None:
        raise UsageError(
            f"{info.id} is an administrator ({info.role.value}): it needs a second factor",
            hint="pass --token-out FILE (or set XINAN_TOKEN_DIR) to write its token",
        )
    token = Token.generate(info.id, info.key_id, info.suite)
    path = token.save(token_out(info.id))
    return replace(m, token_id=token.token_id, token_public=token.public), path


# -- bootstrap ---------------------------------------------------------------------------------
def bootstrap(
    keyring: Keyring,
    *,
    admin: str,
    log_path: Path,
    passphrase: Callable[[str], str],
    clock: Clock,
    token_out: TokenOut,
) -> Bootstrapped:
    """The explicit, logged start of a keyring's authority: ``admin`` (a sys-admin key of this
    keyring, proven by its passphrase) signs the first roster, which lists every private key
    of the keyring with its role and a default clearance and gives every administrator a
    token; the roster is bound to ``log_path`` and anchored there by a ``key.roster`` entry
    (purpose ``bootstrap``). Refused if the keyring has a roster or the log already anchors
    one (a second bootstrap would be a way round the first)."""
    if is_bootstrapped(keyring):
        raise KeyringError(
            f"keyring {keyring.path} is already bootstrapped",
            hint="change it with keygen / keys enroll / disable / revoke as the sys-admin",
        )
    cfg = load_audit_config(log_path)
    if roster_anchors(log_path) != (None, None):
        raise KeyringError(
            f"{log_path} already anchors a roster: a second bootstrap is refused",
            hint="restore the keyring's roster/ directory from backup",
        )
    if not cfg.is_service and keyring.get_public(cfg.log_key).role in ADMIN_ROLES:
        # 三权分立 (issue 12): no administrator holds the signer of the log it is judged by
        raise AccessDenied(
            f"{log_path} is signed by an administrator's key ({cfg.log_key})",
            rule="roster:log-signer",
            hint="bind the keyring to a log with its own signer: xinan audit init (no --key)",
        )
    first = keyring.get_public(admin)
    if first.role is not Role.SYS_ADMIN:
        raise AccessDenied(
            f"{first.id} is a {first.role.value} key: the first administrator is a sys-admin",
            rule="roster:bootstrap",
        )
    identity = keyring.unlock(first.id, passphrase(f"{first.id} ({first.role.value})"))
    members: list[Member] = []
    tokens: dict[str, Path] = {}
    for entry in keyring.list():
        if entry.kind != "private":
            continue
        m, path = _new_member(keyring.get_public(entry.id), None, token_out)
        members.append(m)
        if path is not None:
            tokens[m.id] = path
    log_signer_ = log_signer(log_path, cfg, keyring=keyring, passphrase=passphrase)
    binding = LogBinding(cfg.origin, cfg.log_key_id, str(log_path.expanduser().resolve()))
    admin_member = next(m for m in members if m.key_id == first.key_id)
    with _open_log(log_path, cfg, log_signer_, clock) as log:
        session = Session(first, identity, log, admin_member, clock=clock)
        roster = write_roster(
            keyring,
            None,
            members,
            signer=identity,
            log=binding,
            now=clock(),
            action="bootstrap",
            changed=[m.key_id for m in members],
            record=lambda ref, key_ids, why: _record_roster(session, ref, key_ids, why),
        )
    return Bootstrapped(roster, tokens)


def _record_roster(session: Session, ref: str, key_ids: list[str], why: str) -> None:
    session.record("key.roster", objects={"ref": ref, "key_ids": key_ids}, why={"purpose": why})


# -- keys --------------------------------------------------------------------------------------
def generate_key(
    keyring: Keyring,
    session: Session | None,
    *,
    key_name: str,
    role: str | Role,
    suite: str,
    passphrase: str,
    now: datetime,
    clearance: int | None = None,
    token_out: TokenOut | None = None,
    kdf_params: KdfParams | None = None,
) -> tuple[PublicKeyInfo | SecretKeyInfo, Path | None]:
    """Generate a key. In a bootstrapped keyring ``session`` is the sys-admin's
    (:func:`admin_session`): the key joins the roster (an administrator with its token) and
    both the generation and the roster change are logged. Before the bootstrap ``session`` is
    None and nothing is logged (the bootstrap lists the key)."""
    role_v = Role(str(role))
    if is_bootstrapped(keyring) and session is None:
        raise AccessDenied("this keyring is bootstrapped: keygen acts as the sys-admin")
    if role_v in SECRET_ROLES:
        sinfo = keyring.generate_secret(
            key_name, suite, passphrase, now=now, role=role_v, kdf_params=kdf_params
        )
        if session is not None:
            session.record(
                "key.generate", objects={"key_ids": [sinfo.key_id], "ref": f"role:{role_v}"}
            )
        return sinfo, None
    if session is not None and role_v in ADMIN_ROLES and token_out is None:
        raise UsageError(
            f"an administrator key ({role_v.value}) needs a second factor",
            hint="pass --token-out FILE (or set XINAN_TOKEN_DIR) to write its token",
        )
    info = keyring.generate(key_name, role_v, suite, passphrase, now=now, kdf_params=kdf_params)
    if session is None:
        return info, None
    roster = load_roster(keyring)
    member, path = _new_member(info, clearance, token_out)
    session.record("key.generate", objects={"key_ids": [info.key_id], "ref": f"role:{role_v}"})
    _commit(
        session, keyring, roster, (*roster.members, member), action="keygen", changed=[info.key_id]
    )
    return info, path


def add_public(
    keyring: Keyring, session: Session | None, file: Path, *, name: str | None = None
) -> PublicKeyInfo:
    """Add another party's public key to the trust store; logged once bootstrapped. A trusted
    key never acts here (it is not in the roster); it only verifies what its holder signs.

    ``name`` is the holder's registered name (e.g. 枣庄银行股份有限公司), which reports show
    instead of the key's id: it is recorded in the log entry, so it needs the bootstrapped,
    logged path (docs/keys.md §5)."""
    if is_bootstrapped(keyring) and session is None:
        raise AccessDenied("this keyring is bootstrapped: keys add acts as the sys-admin")
    if name is not None and session is None:
        raise UsageError(
            "a display name is recorded in the keyring's log: bootstrap the keyring first",
            hint="xinan --as SYS_ADMIN keys bootstrap, then keys add FILE --name NAME",
        )
    shown = None if name is None or session is None else check_display_name(name, session)
    info = keyring.add_public(file)
    if session is not None:
        objects: dict[str, object] = {"key_ids": [info.key_id], "ref": f"role:{info.role.value}"}
        if shown is not None:
            objects["name"] = shown
        session.record("key.add", objects=objects)
    return info


def check_display_name(name: str, session: Session) -> str:
    """A holder's display name: 1–100 characters of text, no control character and nothing
    shaped like a personal identifier (an institution's name, never a person's ID)."""
    from xinan.shapes import clear_identifier_kind

    text = name.strip()
    if not 1 <= len(text) <= 100 or any(ord(c) < 32 or ord(c) == 127 for c in text):
        raise UsageError("a display name is 1 to 100 characters of text on one line")
    if clear_identifier_kind(text, today=session.now().date()) is not None:
        raise UsageError("a display name holds what looks like a personal identifier")
    return text


def name_key(keyring: Keyring, session: Session, ref: str, name: str) -> PublicKeyInfo:
    """Record (or change) the display name of a key in the trust store or roster: logged as a
    ``key.name`` entry, which is where reports read names from (the latest wins)."""
    info = keyring.get_public(ref)
    session.record(
        "key.name",
        objects={"key_ids": [info.key_id], "name": check_display_name(name, session)},
    )
    return info


def enroll_token(keyring: Keyring, session: Session, ref: str, token_out: TokenOut) -> Path:
    """Give an administrator a new token (the old one stops working): logged."""
    roster = load_roster(keyring)
    m = _member_for(roster, ref)
    if m.role not in ADMIN_ROLES:
        raise UsageError(f"{m.id} is a {m.role.value}: only administrators use a token")
    info = keyring.get_public(m.id)
    token = Token.generate(m.id, m.key_id, info.suite)
    path = token.save(token_out(m.id))
    new = replace(m, token_id=token.token_id, token_public=token.public)
    members = tuple(new if x.key_id == m.key_id else x for x in roster.members)
    _commit(session, keyring, roster, members, action="enroll", changed=[m.key_id])
    return path


def set_status(keyring: Keyring, session: Session, ref: str, status: str) -> Member:
    """Disable, enable or revoke a key (revocation is final). Logged."""
    if status not in ("active", "disabled", "revoked"):
        raise UsageError(f"unknown status {status!r}")
    roster = load_roster(keyring)
    m = _member_for(roster, ref)
    if m.status == "revoked":
        raise AccessDenied(
            f"{m.id} is revoked: a revoked key never acts again", rule="roster:revoked"
        )
    if m.key_id == session.actor.key_id and status != "active":
        raise UsageError("an administrator does not disable or revoke its own key here")
    new = replace(m, status=status)
    members = tuple(new if x.key_id == m.key_id else x for x in roster.members)
    action = {"active": "enable", "disabled": "disable", "revoked": "revoke"}[status]
    _commit(session, keyring, roster, members, action=action, changed=[m.key_id])
    return new


def set_expiry(keyring: Keyring, session: Session, ref: str, not_after: datetime | None) -> Member:
    """Set (or clear) when a key stops acting. Logged."""
    roster = load_roster(keyring)
    m = _member_for(roster, ref)
    new = replace(m, not_after=not_after)
    members = tuple(new if x.key_id == m.key_id else x for x in roster.members)
    _commit(session, keyring, roster, members, action="expire", changed=[m.key_id])
    return new


def set_clearance(keyring: Keyring, session: Session, ref: str, level: int) -> Member:
    """The security administrator sets a clearance (open ``session`` with operation
    ``key.clearance``). The roster it signs may differ from the last in clearances only."""
    if level not in CLEARANCES:
        raise UsageError(f"clearance must be one of {', '.join(map(str, CLEARANCES))}")
    roster = load_roster(keyring)
    m = _member_for(roster, ref)
    new = replace(m, clearance=level)
    members = tuple(new if x.key_id == m.key_id else x for x in roster.members)
    _commit(session, keyring, roster, members, action="clearance", changed=[m.key_id])
    return new


def change_passphrase(
    keyring: Keyring,
    *,
    identity: str,
    old: Callable[[str], str],
    new: str,
    clock: Clock,
    tokens: TokenSource | None,
    kdf_params: KdfParams | None = None,
) -> str:
    """A holder changes its own passphrase: authenticated with the old one (and its token),
    the change logged (``key.passphrase``) before the key file is re-sealed."""
    finish_pending(keyring)
    roster = load_roster(keyring)
    holder = keyring.get_public(identity)
    asked: dict[str, str] = {}

    def once(prompt: str) -> str:
        # keep the answer given for the holder's own key (not the audit log key's)
        answer = old(prompt)
        if prompt.startswith(f"{holder.id} ("):
            asked["holder"] = answer
        return answer

    with open_session(
        keyring=keyring,
        identity=identity,
        log_path=Path(roster.log.path),
        passphrase=once,
        clock=clock,
        tokens=tokens,
        operation="key.passphrase",
    ) as session:
        session.record("key.passphrase", objects={"key_ids": [session.actor.key_id]})
        return keyring.change_passphrase(
            session.actor.id, asked["holder"], new, kdf_params=kdf_params
        )


__all__ = [
    "Bootstrapped",
    "add_public",
    "admin_session",
    "bootstrap",
    "change_passphrase",
    "check_display_name",
    "enroll_token",
    "generate_key",
    "name_key",
    "set_clearance",
    "set_expiry",
    "set_status",
]
