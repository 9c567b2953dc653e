"""``xinan keygen`` and ``xinan keys add|list|show|export``: the keyring (docs/keys.md)."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from xinan.cli._app import app, emit, get_env, json_option
from xinan.cli._common import key_session, read_passphrase
from xinan.crypto import suite_names
from xinan.keys import SECRET_ROLES, Keyring, PublicKeyInfo, Role

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
@json_option
def keygen(key_name: str, role: str, suite: str, keyring_dir: Path | None, as_json: bool) -> None:
    """Generate a key: a key pair (private file 0600 + public file to hand out), or for
    --role pseudonym a secret HMAC key.

    The passphrase comes from $XINAN_PASSPHRASE, else a prompt (asked twice).

    \b
    Examples:
      xinan keygen --id amr-zaozhuang --role provider --suite gm
      xinan keygen --id platform --role platform --suite intl --keyring /srv/xinan/keys
      XINAN_PASSPHRASE=… xinan keygen --id subject-ps --role pseudonym --json
    """
    ring = Keyring(keyring_dir or get_env().keyring)
    session = key_session(get_env())
    passphrase = read_passphrase(f"new key {key_name}", confirm=True)
    now = datetime.now(UTC)
    if Role(role) in SECRET_ROLES:
        sinfo = ring.generate_secret(key_name, suite, passphrase, now=now, role=role)
        data: dict[str, Any] = {
            "id": sinfo.id,
            "key_id": sinfo.key_id,
            "role": sinfo.role.value,
            "suite": sinfo.suite.value,
            "private_file": str(ring.private_path(key_name)),
        }
        if session is not None:
            with session:
                session.record(
                    "key.generate", objects={"key_ids": [sinfo.key_id], "ref": f"role:{role}"}
                )
        emit(as_json, data, f"{sinfo.key_id}\n  secret key: {data['private_file']}")
        return
    info = ring.generate(key_name, role, suite, passphrase, now=now)
    if session is not None:
        with session:
            session.record(
                "key.generate", objects={"key_ids": [info.key_id], "ref": f"role:{role}"}
            )
    data = _public_json(info, ring) | {"private_file": str(ring.private_path(key_name))}
    emit(
        as_json,
        data,
        f"{info.key_id}\n  private key: {data['private_file']} (keep it; mode 0600)\n"
        f"  public key:  {data['public_file']} (hand this out)",
    )


@app.group("keys")
def keys_group() -> None:
    """The keyring and trust store: add, list, show and export keys (docs/keys.md)."""


def _ring() -> Keyring:
    return Keyring(get_env().keyring)


@keys_group.command("add")
@click.argument("file", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@json_option
def keys_add(file: Path, as_json: bool) -> None:
    """Add another party's public key file to the trust store.

    Compare the printed key id with the holder out of band (phone, letter) before relying on it.

    \b
    Examples:
      xinan keys add platform.pub
    """
    ring = _ring()
    session = key_session(get_env())
    info = ring.add_public(file)
    if session is not None:
        with session:
            session.record(
                "key.add", objects={"key_ids": [info.key_id], "ref": f"role:{info.role.value}"}
            )
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
        widths = [max(len(r[i]) for r in rows) for i in range(6)]
        return "\n".join(
            "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows
        )

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
def keys_export(ref: str, fmt: str, part: str) -> None:
    """Export a public key as PEM (SubjectPublicKeyInfo) or JWK (RFC 8037, kid = key id).

    \b
    Examples:
      xinan keys export platform --format jwk > platform.jwk
      xinan keys export amr-zaozhuang --format pem --part kem
    """
    click.echo(_ring().export(ref, fmt, part=part), nl=False)
