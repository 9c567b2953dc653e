"""``xinan vault backup|restore|rebind`` (docs/backup.md): parse, call
:mod:`xinan.platform.backup`, render. Roles, checks and audit entries are the library's."""

from __future__ import annotations

from pathlib import Path

import click

from xinan.cli._app import emit, get_env, json_option
from xinan.cli._common import open_platform, read_passphrase, read_tokens, utc_now
from xinan.cli._stdio import InputPath
from xinan.cli.vault_cmds import vault_group, vault_option
from xinan.keys import Keyring
from xinan.platform import rebind_vault, restore_vault

__all__: list[str] = []


@vault_group.command("backup")
@vault_option
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The archive to write (written atomically, mode 0600).",
)
@json_option
def vault_backup(vault_dir: Path | None, output: Path, as_json: bool) -> None:
    """Write the vault and its audit chain to an encrypted, signed archive.

    Role sys-admin (GB/T 22239-2019 8.1.5.1 b). The archive is sealed to the platform key:
    the administrator who makes it cannot read what it holds. Logged before it is written.

    \b
    Examples:
      xinan --as sys-admin vault backup --vault vault -o vault-2026-12-06.xbak
    """
    with open_platform(get_env(), vault_dir) as p:
        s = p.backup(output)
    emit(
        as_json,
        s.to_json(),
        f"{s.path}: backup {s.id} of vault {s.vault}: {s.records} records, {s.files} files, "
        f"{s.bytes} bytes (audit entry {s.entry})",
    )


@vault_group.command("restore")
@click.argument("archive", type=InputPath())
@click.option(
    "--to",
    "to",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="A new (or empty) directory for the restored vault.",
)
@json_option
def vault_restore(archive: Path, to: Path, as_json: bool) -> None:
    """Verify a backup archive and restore its vault, bound to its audit log where it is now.

    Role sec-admin, with the platform key's passphrase (only it opens the archive). A cut or
    altered archive is refused and the refusal logged. If the audit log is gone it is put
    back from the archive first.

    \b
    Examples:
      xinan --as sec-admin vault restore vault-2026-12-06.xbak --to /srv/vault
    """
    env = get_env()
    s = restore_vault(
        archive,
        to,
        keyring=Keyring(env.keyring),
        identity=env.identity,
        passphrase=read_passphrase,
        clock=utc_now,
        tokens=read_tokens(),
    )
    extra = "; the audit log was put back from the archive" if s.log_restored else ""
    bound = "rebound to" if s.rebound else "bound to"
    emit(
        as_json,
        s.to_json(),
        f"{s.path}: vault {s.vault} restored from backup {s.id}: {s.records} records, "
        f"{bound} {s.audit_log} (audit entry {s.entry}){extra}",
    )


@vault_group.command("rebind")
@vault_option
@json_option
def vault_rebind(vault_dir: Path | None, as_json: bool) -> None:
    """Bind the vault to its own audit log at the log's present path (the log was moved).

    Role sec-admin, with the platform key's passphrase. Only the same log (same origin and
    key) is accepted. Logged before the vault's configuration is replaced.

    \b
    Examples:
      xinan --as sec-admin vault rebind --vault /srv/vault
    """
    env = get_env()
    s = rebind_vault(
        vault_dir,
        keyring=Keyring(env.keyring),
        identity=env.identity,
        passphrase=read_passphrase,
        clock=utc_now,
        tokens=read_tokens(),
    )
    emit(
        as_json,
        s.to_json(),
        f"{s.path}: vault {s.vault} bound to {s.audit_log} (was {s.previous})"
        if s.changed
        else f"{s.path}: vault {s.vault} is already bound to {s.audit_log}; nothing changed",
    )
