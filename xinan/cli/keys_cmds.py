"""``xinan keygen`` and ``xinan keys …``: the keyring, its trust store (docs/keys.md); the
roster and the key life cycle (bootstrap, enroll, disable, enable, revoke, expire, clearance,
passphrase)."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import asdict, replace
from datetime import UTC
from pathlib import Path
from typing import Any, TypeVar

import click

from xinan.access import Session
from xinan.cli._app import app, emit, get_env, json_option
from xinan.cli._common import (
    key_session,
    parse_datetime,
    read_new_passphrase,
    read_passphrase,
    read_tokens,
    utc_now,
)
from xinan.cli._common import token_out as cli_token_out
from xinan.cli._stdio import DashPath, input_file
from xinan.cli.render import table
from xinan.crypto import suite_names
from xinan.errors import UsageError
from xinan.key_management import (
    add_public,
    admin_session,
    bootstrap,
    change_passphrase,
    enroll_token,
    generate_key,
    name_key,
    set_clearance,
    set_expiry,
    set_status,
)
from xinan.keys import Keyring, PublicKeyInfo, Role, SecretKeyInfo
from xinan.roster import Member, Roster, load_roster

T = TypeVar("T")
ROLES = [r.value for r in Role]


def _public_json(info: PublicKeyInfo, ring: Keyring) -> dict[str, Any]:
    return {
        "id": info.id,
        "key_id": info.key_id,
        "role": info.role.value,
        "suite": info.suite.value,
        "created": info.created.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "public_file": str(ring.public_path(info.id)),
    }


@app.command("keygen")
@click.option("--id", "key_name", required=True, help="Your name for the key, e.g. amr-zaozhuang.")
@click.option("--role", type=click.Choice(ROLES), required=True, help="What the key is for.")
@click.option("--suite", type=click.Choice(suite_names()), default="intl", show_default=True)
@click.option(
    "--keyring",
    "keyring_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Keyring directory (overrides the global --keyring / $XINAN_KEYRING).",
)
@click.option(
    "--clearance",
    type=click.IntRange(1, 4),
    default=None,
    help="Security clearance in the roster (1-4, the policy's grades; default by role).",
)
@click.option(
    "--token-out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Where an administrator key's token (second factor) is written "
    "(else $XINAN_TOKEN_DIR/<id>.token).",
)
@json_option
def keygen(
    key_name: str,
    role: str,
    suite: str,
    keyring_dir: Path | None,
    clearance: int | None,
    token_out: Path | None,
    as_json: bool,
) -> None:
    """Generate a key: a key pair (private file 0600 + public file to hand out), or for
    --role pseudonym a secret HMAC key.

    Once the keyring is bootstrapped this acts as the system administrator (--as, with its
    token) on the keyring's own audit log, and the key joins the roster; an administrator
    key gets a token (--token-out). The passphrase comes from $XINAN_NEW_PASSPHRASE, else
    $XINAN_PASSPHRASE, else a prompt (asked twice); it must be hard to guess (zxcvbn score 3).

    \b
    Examples:
      xinan keygen --id amr-zaozhuang --role provider --suite gm
      xinan --as sys-admin keygen --id sec-admin-2 --role sec-admin --token-out t/s2.token
      XINAN_PASSPHRASE=… xinan keygen --id subject-ps --role pseudonym --json
    """
    env = get_env()
    ring = Keyring(keyring_dir or env.keyring)
    session = key_session(replace(env, keyring=ring.path))
    passphrase = read_new_passphrase(f"new key {key_name}")
    with session if session is not None else nullcontext():
        info, token_path = generate_key(
            ring,
            session,
            key_name=key_name,
            role=role,
            suite=suite,
            passphrase=passphrase,
            now=utc_now(),
            clearance=clearance,
            token_out=cli_token_out(token_out),
        )
    if isinstance(info, SecretKeyInfo):
        data: dict[str, Any] = {
            "id": info.id,
            "key_id": info.key_id,
            "role": info.role.value,
            "suite": info.suite.value,
            "private_file": str(ring.private_path(key_name)),
        }
        emit(as_json, data, f"{info.key_id}\n  secret key: {data['private_file']}")
        return
    data = _public_json(info, ring) | {"private_file": str(ring.private_path(key_name))}
    text = (
        f"{info.key_id}\n  private key: {data['private_file']} (keep it; mode 0600)\n"
        f"  public key:  {data['public_file']} (hand this out)"
    )
    if token_path is not None:
        data["token_file"] = str(token_path)
        text += f"\n  token:       {token_path} (the second factor: keep it apart from the keyring)"
    emit(as_json, data, text)


@app.group("keys")
def keys_group() -> None:
    """The keyring, its roster and trust store: add, list, show, export keys; bootstrap the
    roster; enrol tokens; disable, enable, revoke and expire keys (docs/keys.md)."""


def _ring() -> Keyring:
    return Keyring(get_env().keyring)


@keys_group.command("add")
@click.argument("file", type=DashPath())
@click.option(
    "--name",
    "display_name",
    metavar="NAME",
    help="The holder's registered name (e.g. 枣庄银行股份有限公司), shown in reports; logged.",
)
@json_option
def keys_add(file: Path, display_name: str | None, as_json: bool) -> None:
    """Add another party's public key file to the trust store.

    Compare the printed key id with the holder out of band (phone, letter) before relying on it.
    Once the keyring is bootstrapped this acts as the system administrator and is logged, with
    the holder's registered name when --name is given (reports name institutions by it).

    \b
    Examples:
      xinan keys add platform.pub
      xinan --as sys-admin keys add bank-a.pub --name 枣庄银行股份有限公司
    """
    ring = _ring()
    session = key_session(get_env())
    with session if session is not None else nullcontext(), input_file(file, "key.pub") as path:
        info = add_public(ring, session, path, name=display_name)
    emit(
        as_json,
        _public_json(info, ring),
        f"added {info.id} ({info.role.value}, {info.suite.value}) key id {info.key_id}\n"
        "  check this key id with its holder before you rely on it",
    )


@keys_group.command("list")
@json_option
def keys_list(as_json: bool) -> None:
    """List every key in the keyring (nothing is decrypted).

    \b
    Examples:
      xinan keys list
      xinan --keyring /srv/xinan/keys keys list --json
    """
    ring = _ring()
    entries = ring.list()

    def text() -> str:
        if not entries:
            return f"no keys in {ring.path}"
        rows = [("ID", "KEY ID", "KIND", "ROLE", "SUITE", "CREATED")]
        rows += [(e.id, e.key_id, e.kind, e.role, e.suite, e.created) for e in entries]
        return table(rows)  # aligned by display width: key names may be Chinese

    emit(as_json, {"keyring": str(ring.path), "keys": [asdict(e) for e in entries]}, text)


@keys_group.command("show")
@click.argument("ref")
@json_option
def keys_show(ref: str, as_json: bool) -> None:
    """Show one public key (by id or key id).

    \b
    Examples:
      xinan keys show amr-zaozhuang
      xinan keys show xk1… --json
    """
    ring = _ring()
    info = ring.get_public(ref)
    data = _public_json(info, ring) | {
        "has_private_key": ring.private_path(info.id).is_file(),
    }
    emit(as_json, data, "\n".join(f"{k}: {v}" for k, v in data.items()))


@keys_group.command("export")
@click.argument("ref")
@click.option(
    "--format", "fmt", type=click.Choice(["pem", "jwk"]), default="pem", show_default=True
)
@click.option(
    "--part",
    type=click.Choice(["sig", "kem"]),
    default="sig",
    show_default=True,
    help="Which public key: the signing key or the KEM (encryption) key.",
)
@json_option
def keys_export(ref: str, fmt: str, part: str, as_json: bool) -> None:
    """Export a public key as PEM (SubjectPublicKeyInfo) or JWK (RFC 8037, kid = key id).

    \b
    Examples:
      xinan keys export platform --format jwk > platform.jwk
      xinan keys export amr-zaozhuang --format pem --part kem
      xinan keys export platform --json
    """
    text = _ring().export(ref, fmt, part=part)
    if as_json:
        emit(True, {"id": ref, "format": fmt, "part": part, "key": text})
        return
    click.echo(text, nl=False)


# -- the roster and the key life cycle (docs/keys.md §8–§10) ------------------------------------
def _member_json(m: Member) -> dict[str, Any]:
    return {
        "id": m.id,
        "key_id": m.key_id,
        "role": m.role.value,
        "clearance": m.clearance,
        "status": m.status,
        "not_after": m.not_after.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        if m.not_after
        else None,
        "token_id": m.token_id,
    }


def _roster_json(r: Roster) -> dict[str, Any]:
    return {
        "serial": r.serial,
        "issued": r.issued.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "signer": r.signer,
        "log": r.log.path,
        "members": [_member_json(m) for m in r.members],
    }


def _roster_text(r: Roster) -> str:
    rows = [("ID", "KEY ID", "ROLE", "CLEARANCE", "STATUS", "EXPIRES", "TOKEN")]
    for m in r.members:
        j = _member_json(m)
        rows.append(
            (
                m.id,
                m.key_id,
                m.role.value,
                str(m.clearance),
                m.status,
                j["not_after"] or "-",
                m.token_id or "-",
            )
        )
    lines = table(rows)
    return f"roster {r.serial} of {r.issued:%Y-%m-%d %H:%M} UTC, bound to {r.log.path}\n{lines}"


@keys_group.command("bootstrap")
@click.option(
    "--token-dir",
    type=click.Path(file_okay=False, path_type=Path),
    envvar="XINAN_TOKEN_DIR",
    required=True,
    help="Where each administrator's token is written, <id>.token (else $XINAN_TOKEN_DIR). "
    "Hand each to its holder; keep none in the keyring.",
)
@json_option
def keys_bootstrap(token_dir: Path, as_json: bool) -> None:
    """Start the keyring's authority, once: the acting sys-admin (--as) signs the first roster
    — every key of the keyring with its role, a clearance, and a token for each administrator —
    bound to the audit log (--audit-log, else the default) and recorded there.

    From then on only roster members act, administrators with passphrase and token, and key
    management is the sys-admin's on that log.

    \b
    Examples:
      xinan audit init --key platform
      xinan --as sys-admin keys bootstrap --token-dir /media/ukey
    """
    env = get_env()
    if not env.identity:
        raise UsageError(
            "the bootstrap is signed by the first system administrator",
            hint="pass --as KEY_ID of a sys-admin key of this keyring",
        )
    done = bootstrap(
        Keyring(env.keyring),
        admin=env.identity,
        log_path=env.log_path(),
        passphrase=read_passphrase,
        clock=utc_now,
        token_out=lambda holder: token_dir / f"{holder}.token",
    )
    data = _roster_json(done.roster) | {"tokens": {k: str(v) for k, v in done.tokens.items()}}
    emit(
        as_json,
        data,
        lambda: (
            _roster_text(done.roster)
            + "".join(f"\n  token for {k}: {v}" for k, v in done.tokens.items())
        ),
    )


@keys_group.command("roster")
@json_option
def keys_roster(as_json: bool) -> None:
    """Show the keyring's roster after verifying it (signatures, chain, anchors in the log).

    \b
    Examples:
      xinan keys roster
      xinan keys roster --json
    """
    r = load_roster(_ring())
    emit(as_json, _roster_json(r), lambda: _roster_text(r))


def _as_admin(operation: str, change: Callable[[Keyring, Session], T]) -> T:
    """Run ``change`` in an administrator's session on the keyring's bound log."""
    env = get_env()
    ring = Keyring(env.keyring)
    with admin_session(
        ring,
        identity=env.identity,
        passphrase=read_passphrase,
        clock=utc_now,
        tokens=read_tokens(),
        operation=operation,
    ) as session:
        return change(ring, session)


def _admin_change(
    operation: str, change: Callable[[Keyring, Session], Member | Path], as_json: bool, say: str
) -> None:
    result = _as_admin(operation, change)
    if isinstance(result, Path):
        emit(as_json, {"token_file": str(result)}, f"{say}: {result}")
        return
    emit(as_json, _member_json(result), f"{say}: {result.id} ({result.key_id})")


@keys_group.command("enroll")
@click.argument("ref")
@click.option(
    "--token-out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Where the new token is written (else $XINAN_TOKEN_DIR/<id>.token).",
)
@json_option
def keys_enroll(ref: str, token_out: Path | None, as_json: bool) -> None:
    """Give an administrator key a new token (the old one stops working). Sys-admin; logged.

    \b
    Examples:
      xinan --as sys-admin keys enroll sec-admin --token-out /media/ukey/sec-admin.token
    """
    out = cli_token_out(token_out)
    if out is None:
        raise UsageError("where should the token go?", hint="pass --token-out FILE")
    _admin_change(
        "key.manage", lambda ring, s: enroll_token(ring, s, ref, out), as_json, "token written"
    )


def _status_command(name: str, status: str, doc: str) -> None:
    @keys_group.command(name, help=doc)
    @click.argument("ref")
    @json_option
    def command(ref: str, as_json: bool) -> None:
        _admin_change(
            "key.manage", lambda ring, s: set_status(ring, s, ref, status), as_json, status
        )


_status_command(
    "disable",
    "disabled",
    "Stop a key from acting until it is enabled again. Sys-admin; logged.\n\n"
    "\b\nExamples:\n  xinan --as sys-admin keys disable bank-clerk",
)
_status_command(
    "enable",
    "active",
    "Let a disabled key act again. Sys-admin; logged.\n\n"
    "\b\nExamples:\n  xinan --as sys-admin keys enable bank-clerk",
)
_status_command(
    "revoke",
    "revoked",
    "Revoke a key for good (a revoked key never acts again). Sys-admin; logged.\n\n"
    "\b\nExamples:\n  xinan --as sys-admin keys revoke old-platform",
)


@keys_group.command("name")
@click.argument("ref")
@click.argument("name")
@json_option
def keys_name(ref: str, name: str, as_json: bool) -> None:
    """Record the registered name of a key's holder (shown in reports). Sys-admin; logged.

    \b
    Examples:
      xinan --as sys-admin keys name bank-a 枣庄银行股份有限公司
    """
    info = _as_admin("key.manage", lambda ring, s: name_key(ring, s, ref, name))
    emit(
        as_json,
        {"id": info.id, "key_id": info.key_id, "name": name.strip()},
        f"{info.id} ({info.key_id}) is shown as {name.strip()}",
    )


@keys_group.command("expire")
@click.argument("ref")
@click.option("--on", "on", metavar="DATETIME", help="When the key stops acting (ISO 8601).")
@click.option("--never", is_flag=True, help="Clear the expiry.")
@json_option
def keys_expire(ref: str, on: str | None, never: bool, as_json: bool) -> None:
    """Set when a key stops acting (or --never). Sys-admin; logged.

    \b
    Examples:
      xinan --as sys-admin keys expire sec-admin --on 2027-06-30T00:00:00+08:00
    """
    if never == (on is not None):
        raise UsageError("give exactly one of --on DATETIME or --never")
    when = None
    if on is not None:
        when = parse_datetime(on)
        if when.tzinfo is None:
            raise UsageError("--on needs a time zone", hint="e.g. 2027-06-30T00:00:00+08:00")
    _admin_change(
        "key.manage", lambda ring, s: set_expiry(ring, s, ref, when), as_json, "expiry set"
    )


@keys_group.command("clearance")
@click.argument("ref")
@click.argument("level", type=click.IntRange(1, 4))
@json_option
def keys_clearance(ref: str, level: int, as_json: bool) -> None:
    """Set a key's security clearance (1-4, the policy's grades). Security administrator;
    logged. A read of a field labelled above the reader's clearance is refused.

    \b
    Examples:
      xinan --as sec-admin keys clearance bank-a 3
    """
    _admin_change(
        "key.clearance",
        lambda ring, s: set_clearance(ring, s, ref, level),
        as_json,
        f"clearance {level}",
    )


@keys_group.command("passphrase")
@json_option
def keys_passphrase(as_json: bool) -> None:
    """Change the acting key's passphrase (--as). The old one (and an administrator's token)
    authenticates; the new one comes from $XINAN_NEW_PASSPHRASE, else a prompt asked twice.
    Logged as key.passphrase.

    \b
    Examples:
      xinan --as sec-admin keys passphrase
      xinan --as sec-admin keys passwd      # the same command
    """
    env = get_env()
    if not env.identity:
        raise UsageError("whose passphrase?", hint="pass --as KEY_ID")
    new = read_new_passphrase(f"{env.identity} (new)")
    key_id = change_passphrase(
        Keyring(env.keyring),
        identity=env.identity,
        old=read_passphrase,
        new=new,
        clock=utc_now,
        tokens=read_tokens(),
    )
    emit(as_json, {"key_id": key_id}, f"passphrase changed for {env.identity} ({key_id})")


# `keys passwd`: the name administrators type by habit (passwd(1)); the same command
keys_group.add_command(keys_passphrase, name="passwd")
