"""The platform's vault commands (docs/vault.md): ``xinan vault init|delegate-signing|ingest|
upgrade|list|show``; consents, grants, shares and releases are in :mod:`xinan.cli.access_cmds`.

Parse, call :mod:`xinan.platform.vault`, render. Every command acts as ``--as`` and is refused to
other
roles (``Session.require``). Clear subject identifiers given on the command line are turned into
keyed pseudonyms at once and never logged or stored.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from xinan.cli._app import app, emit, get_env, json_option
from xinan.cli._common import (
    kind_name,
    open_platform,
    policy_option,
    read_passphrase,
    read_tokens,
    utc_now,
    workers_option,
)
from xinan.cli._stdio import DashPath, input_file
from xinan.cli.progress import showing_progress
from xinan.cli.render import table
from xinan.errors import EXIT_PARTIAL
from xinan.keys import Keyring
from xinan.platform import create_vault
from xinan.platform.records_ops import SEALED_MARK, RecordView

F = TypeVar("F", bound=Callable[..., Any])
__all__ = ["SEALED_MARK", "vault_group", "vault_option"]


def vault_option(f: F) -> F:
    return click.option(
        "--vault",
        "vault_dir",
        type=click.Path(file_okay=False, path_type=Path),
        envvar="XINAN_VAULT",
        default=None,
        help="Vault directory (else $XINAN_VAULT).",
    )(f)


# ============================================================================================
# vault
# ============================================================================================
@app.group("vault")
def vault_group() -> None:
    """Platform: the vault where submitted records stay sealed (docs/vault.md).

    \b
    Examples:
      xinan --as sys-admin vault init --vault /srv/vault --platform platform --pseudonym-key ps
      xinan --as platform vault ingest export.xpkg
      xinan --as platform vault list --kind penalty
      xinan --as platform vault show r3k…
    """


@vault_group.command("init")
@vault_option
@click.option("--platform", "platform_ref", required=True, metavar="KEY_ID", help="Platform key.")
@click.option(
    "--pseudonym-key", "ps_ref", required=True, metavar="KEY_ID", help="Subject pseudonym key."
)
@policy_option
@json_option
def vault_init(
    vault_dir: Path | None,
    platform_ref: str,
    ps_ref: str,
    policy_path: Path | None,
    as_json: bool,
) -> None:
    """Create a vault: databases, key store and a fresh vault key wrapped to the platform key.

    Role sys-admin. Needs only the platform's public key.

    \b
    Examples:
      xinan --as sys-admin vault init --vault vault --platform platform --pseudonym-key subject-ps
    """
    env = get_env()
    cfg = create_vault(
        vault_dir,
        keyring=Keyring(env.keyring),
        identity=env.identity,
        passphrase=read_passphrase,
        audit_log=env.log_path(),
        platform=platform_ref,
        pseudonym_key=ps_ref,
        policy=policy_path,
        clock=utc_now,
        tokens=read_tokens(),
    )
    path = cfg.path
    emit(
        as_json,
        {"vault": str(path), "id": cfg.id, "policy": cfg.policy, "platform": cfg.platform_key_id},
        f"vault {cfg.id} at {path}: policy {cfg.policy}, platform {cfg.platform_id} "
        f"{cfg.platform_key_id}, pseudonyms {cfg.pseudonym_id}",
    )


@vault_group.command("delegate-signing")
@vault_option
@click.option(
    "--secret-file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Where the platform service's secret goes (mode 0600; default "
    "<VAULT>/service/platform-signer.secret).",
)
@json_option
def vault_delegate_signing(vault_dir: Path | None, secret_file: Path | None, as_json: bool) -> None:
    """Hand the platform key's signing half to the platform service (platform only, once).

    Grants and revocation lists are signed by the platform key. After this the security
    administrator's `grant issue`, `grant revoke` and `grant publish` sign with the delegated
    half: nobody types the platform key's passphrase for them, and their process cannot
    unwrap the vault's key. Logged as key.delegate.

    \b
    Examples:
      xinan --as platform vault delegate-signing
    """
    with open_platform(get_env(), vault_dir) as p:
        path = p.delegate_signing(secret_file=secret_file)
    emit(
        as_json,
        {"delegation": str(path)},
        f"the platform key's signing half is held by the platform service → {path}",
    )


@vault_group.command("ingest")
@click.argument("package", type=DashPath())
@vault_option
@click.option(
    "--rejects",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write the signed receipt and rejects report here (default: PACKAGE.rejects.jsonl; "
    "written for every ingest).",
)
@policy_option
@workers_option
@json_option
def vault_ingest(
    package: Path,
    vault_dir: Path | None,
    rejects: Path | None,
    policy_path: Path | None,
    workers: int | None,
    as_json: bool,
) -> None:
    """Verify a submission package, check it against the policy and keep its valid records
    sealed in the vault.

    Records the policy refuses (bad check characters, dates, amounts, enumerations, a clear
    value that is not the policy's submission form) are not stored: they are listed with row,
    field and reason in a rejects report signed by the platform (docs/ingest-rejects.md), to
    return to the provider. A package whose columns the policy refuses (unclassified or
    prohibited, or a field that must be sealed sent in clear) is refused whole.
    The report is written for every ingest: it is the platform's signed receipt, naming the
    package by the digest of its bytes, with the counts received, stored and rejected.
    Ingesting the same package again changes nothing (and says so).

    Exit codes: 0 ingested, nothing rejected; 3 ingested, some records rejected; 65 package
    refused (every record in the rejects report).

    \b
    Examples:
      xinan --as platform vault ingest export.xpkg --rejects export.rejects.jsonl --json
    """
    if str(package) == "-" and rejects is None:  # `vault ingest -`: no name to derive one from
        rejects = Path("stdin.rejects.jsonl")
    with (
        open_platform(get_env(), vault_dir, policy_path) as p,
        input_file(package) as path,
        showing_progress(as_json=as_json),
    ):
        summary = p.ingest(path, rejects=rejects, workers=workers)
    classes = ", ".join(f"{k} {n}" for k, n in summary.classes.items())
    emit(
        as_json,
        summary.to_json(),
        f"{package}: package {summary.package_id} already ingested; nothing changed"
        + (f" ({summary.destroyed} of its records destroyed since)" if summary.destroyed else "")
        if summary.already
        else f"{package}: ingested {summary.records} of {summary.in_package} {summary.kind} "
        f"records from {summary.sender} (package {summary.package_id}); {classes}; "
        f"{summary.subjects} subjects; rejected {summary.rejected}"
        + (f" → {summary.rejects_file}" if summary.rejects_file else ""),
    )
    if summary.rejected and not summary.already:
        raise SystemExit(EXIT_PARTIAL)


@vault_group.command("upgrade")
@vault_option
@json_option
def vault_upgrade(vault_dir: Path | None, as_json: bool) -> None:
    """Upgrade a xinan-vault/1 or /2 vault to xinan-vault/3 (row MACs, sealed row key).

    Role platform (the vault key is needed). Once, logged as key.vault-upgrade; every other
    command refuses a version-1 vault until then (docs/vault.md §11.1). A version-2 vault
    still opens, but its reads of records need the platform key (§11.2).

    \b
    Examples:
      xinan --as platform vault upgrade --vault vault
    """
    from xinan.cli._common import platform_context
    from xinan.platform.vault_upgrade import upgrade_vault

    done = upgrade_vault(platform_context(get_env(), vault_dir))
    emit(
        as_json,
        dataclasses.asdict(done),
        f"vault {done.id} at {done.path}: now {done.format}; {done.records} records sealed "
        "with their row MAC, the row key sealed for the platform service",
    )


@vault_group.command("list")
@vault_option
@click.option("--kind", callback=kind_name, default=None, help="Only this record kind.")
@click.option("--subject", "subject", default=None, metavar="ID", help="Only this subject's.")
@click.option("--limit", type=click.IntRange(min=1), default=100, show_default=True)
@click.option(
    "-q", "--ids", "ids_only", is_flag=True, help="Only the record ids, one a line (scripts)."
)
@policy_option
@json_option
def vault_list(
    vault_dir: Path | None,
    kind: str | None,
    subject: str | None,
    limit: int,
    ids_only: bool,
    policy_path: Path | None,
    as_json: bool,
) -> None:
    """List stored records in the policy's internal (masked) view; sealed values stay sealed.

    --subject takes a clear ID (resident ID or USCC); it is pseudonymised at once with the
    vault's key and never logged.

    \b
    Examples:
      xinan --as platform vault list --kind penalty --limit 20
      xinan --as platform vault list --subject 91370400MA3C5Y8X2K --json
      record=$(xinan vault list --subject 370202196710076558 --limit 1 -q)
    """
    with open_platform(get_env(), vault_dir, policy_path) as p:
        rows = p.list_records(kind=kind, subject=subject, limit=limit)
    del subject
    if ids_only and not as_json:
        for r in rows:
            click.echo(r.record.record_id)
        return
    if as_json:
        emit(True, {"records": [r.to_json() for r in rows]})
        return
    if not rows:
        click.echo("no records")
    for r in rows:
        rec = r.record
        head = "  ".join(f"{k}={val}" for k, val in list(r.fields.items())[:4])
        click.echo(
            f"{rec.record_id}  {rec.kind}  {rec.subject_class.value}  {r.status_text}  {head}"
        )


@vault_group.command("show")
@click.argument("record_id")
@vault_option
@click.option("--purpose", default="inspection", show_default=True, help="Why (audited).")
@policy_option
@json_option
def vault_show(
    record_id: str, vault_dir: Path | None, purpose: str, policy_path: Path | None, as_json: bool
) -> None:
    """Show one record in the policy's internal view: sealed values are opened in memory only
    to apply the mask (e.g. keep(1,1)); the access is audited before anything is shown.

    \b
    Examples:
      xinan --as platform vault show r2vq… --json
    """
    with open_platform(get_env(), vault_dir, policy_path) as p:
        shown: RecordView = p.show_record(record_id, purpose=purpose)
    rec, fields = shown.record, shown.fields
    if as_json:
        emit(True, shown.to_json())
        return
    click.echo(
        f"{rec.record_id}  {rec.kind}  {rec.subject_class.value}  {shown.status_text}  "
        f"package {rec.package_id}"
    )
    # field names are Chinese (证件号码): aligned by display width, not by characters
    click.echo(table([(k, str(val)) for k, val in fields.items()], indent="  "))
