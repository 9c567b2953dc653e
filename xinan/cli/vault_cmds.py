"""The platform's commands (docs/vault.md): ``xinan vault init|ingest|list|show``,
``xinan consent add|revoke|list``, ``xinan grant issue|revoke|publish|list``, ``xinan share``,
``xinan release``.

Parse, call :mod:`xinan.platform.vault`, render. Every command acts as ``--as`` and is refused to
other
roles (``Session.require``). Clear subject identifiers given on the command line are turned into
keyed pseudonyms at once and never logged or stored.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import date
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
)
from xinan.cli._stdio import input_file
from xinan.cli.render import table
from xinan.errors import EXIT_PARTIAL, UsageError
from xinan.i18n.dates import parse_date
from xinan.keys import Keyring
from xinan.platform import create_vault
from xinan.platform.records_ops import SEALED_MARK, RecordView
from xinan.platform.vault import parse_duration
from xinan.short_ids import grant_display

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


def _split(values: str) -> list[str]:
    return [v.strip() for v in values.replace("，", ",").split(",") if v.strip()]


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
@click.argument(
    "package", type=click.Path(dir_okay=False, exists=True, allow_dash=True, path_type=Path)
)
@vault_option
@click.option(
    "--rejects",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write the signed rejects report here (default: PACKAGE.rejects.jsonl, only when "
    "records were rejected).",
)
@policy_option
@json_option
def vault_ingest(
    package: Path,
    vault_dir: Path | None,
    rejects: Path | None,
    policy_path: Path | None,
    as_json: bool,
) -> None:
    """Verify a submission package, check it against the policy and keep its valid records
    sealed in the vault.

    Records the policy refuses (bad check characters, dates, amounts, enumerations, a clear
    value that is not the policy's submission form) are not stored: they are listed with row,
    field and reason in a rejects report signed by the platform (docs/ingest-rejects.md), to
    return to the provider. A package whose columns the policy refuses (unclassified or
    prohibited, or a field that must be sealed sent in clear) is refused whole.
    Ingesting the same package again changes nothing (and says so).

    Exit codes: 0 ingested, nothing rejected; 3 ingested, some records rejected; 65 package
    refused (every record in the rejects report).

    \b
    Examples:
      xinan --as platform vault ingest export.xpkg --rejects export.rejects.jsonl --json
    """
    if str(package) == "-" and rejects is None:  # `vault ingest -`: no name to derive one from
        rejects = Path("stdin.rejects.jsonl")
    with open_platform(get_env(), vault_dir, policy_path) as p, input_file(package) as path:
        summary = p.ingest(path, rejects=rejects)
    classes = ", ".join(f"{k} {n}" for k, n in summary.classes.items())
    emit(
        as_json,
        summary.to_json(),
        f"{package}: package {summary.package_id} already ingested; nothing changed"
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
    """Upgrade a xinan-vault/1 vault to xinan-vault/2: every stored record gets its row MAC.

    Role platform (the vault key is needed). Once, logged as key.vault-upgrade; every other
    command refuses a version-1 vault until then (docs/vault.md §11.1).

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
        "with their row MAC",
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


# ============================================================================================
# consent
# ============================================================================================
@app.group("consent")
def consent_group() -> None:
    """Data subjects' authorisations (征信业管理条例 第十八条): add, revoke, list.

    \b
    Examples:
      xinan --as platform consent add --subject 110105194912310029 --querent bank \\
            --purpose 信易贷授信审查 --fields 手机号码,现住址 --valid-until 2026-12-31 \\
            --ref paper:2026-0042
      xinan --as platform consent revoke c3f…
    """


def _parse_day(value: str) -> date:
    try:
        return parse_date(value)
    except ValueError:
        raise UsageError(f"not a date: {value!r}", hint="use YYYY-MM-DD or 2027年6月30日") from None


@consent_group.command("add")
@vault_option
@click.option("--subject", required=True, metavar="ID", help="The data subject's ID or USCC.")
@click.option("--querent", required=True, metavar="KEY_ID", help="The querent's key.")
@click.option("--purpose", required=True, help="The purpose the subject agreed to.")
@click.option("--fields", required=True, help="Comma-separated field names or keys.")
@click.option("--valid-until", "valid_until", required=True, metavar="YYYY-MM-DD")
@click.option("--ref", required=True, help="Where the signed consent is (paper or e-sign ref).")
@policy_option
@json_option
def consent_add(
    vault_dir: Path | None,
    subject: str,
    querent: str,
    purpose: str,
    fields: str,
    valid_until: str,
    ref: str,
    policy_path: Path | None,
    as_json: bool,
) -> None:
    """Record a data subject's authorisation for one querent, purpose and set of fields.

    The subject's ID is pseudonymised at once; the consent holds only the pseudonym.

    \b
    Examples:
      xinan consent add --subject 370481199111012480 --querent bank-a --purpose 信易贷 \\
            --fields 证件号码,罚款金额 --valid-until 2030-12-31 --ref SQ-0001
    """
    with open_platform(get_env(), vault_dir, policy_path) as p:
        consent = p.add_consent(
            subject=subject,
            querent=querent,
            purpose=purpose,
            fields=_split(fields),
            valid_until=_parse_day(valid_until),
            ref=ref,
        )
    del subject
    cid, ps, until, qname = consent.id, consent.subject, consent.valid_until, querent
    emit(
        as_json,
        {
            "id": cid,
            "subject": ps,
            "querent": consent.querent,
            "purpose": purpose,
            "fields": list(consent.fields),
            "valid_until": until.isoformat(),
            "ref": consent.ref,
        },
        f"consent {cid}: {qname} may ask for {', '.join(consent.fields)} of {ps} "
        f"for {purpose!r} until {until.isoformat()}",
    )


@consent_group.command("revoke")
@click.argument("consent_id")
@vault_option
@json_option
def consent_revoke(consent_id: str, vault_dir: Path | None, as_json: bool) -> None:
    """Withdraw a consent: no grant is issued under it and no share is built for it after.

    \b
    Examples:
      xinan consent revoke SQ-0001
    """
    with open_platform(get_env(), vault_dir) as p:
        c = p.revoke_consent(consent_id)
    emit(as_json, {"id": c.id, "revoked": True}, f"consent {c.id} revoked")


@consent_group.command("list")
@vault_option
@json_option
def consent_list(vault_dir: Path | None, as_json: bool) -> None:
    """List consents (subjects as pseudonyms).

    \b
    Examples:
      xinan consent list
      xinan consent list --json
    """
    with open_platform(get_env(), vault_dir) as p:
        rows = p.consents()
    if as_json:
        emit(True, {"consents": rows})
        return
    for r in rows:
        state = "revoked" if r["revoked_at"] else f"until {r['valid_until']}"
        click.echo(
            f"{r['id']}  {r['querent']}  {r['purpose']}  {','.join(r['fields'])}  {state}  "
            f"{r['subject']}"
        )


# ============================================================================================
# grant
# ============================================================================================
@app.group("grant")
def grant_group() -> None:
    """Grants (docs/grant.md): issued by a sec-admin, signed with the platform key.

    \b
    Examples:
      xinan --as sec-admin grant issue --querent bank --purpose 信易贷授信审查 \\
            --fields 手机号码,现住址 --subject 110105194912310029 --consent c3f… --ttl 7d \\
            -o bank.grant
      xinan --as sec-admin grant revoke 9bq…
    """


@grant_group.command("issue")
@vault_option
@click.option("--querent", required=True, metavar="KEY_ID")
@click.option("--purpose", required=True)
@click.option("--fields", required=True, help="Comma-separated field names or keys.")
@click.option("--subject", required=True, metavar="ID", help="The data subject's ID or USCC.")
@click.option("--consent", "consent_id", required=True, metavar="CONSENT_ID")
@click.option("--ttl", required=True, metavar="DURATION", help="30s, 15m, 1h, 7d …")
@click.option("-o", "--output", required=True, help="The grant file to write.")
@policy_option
@json_option
def grant_issue(
    vault_dir: Path | None,
    querent: str,
    purpose: str,
    fields: str,
    subject: str,
    consent_id: str,
    ttl: str,
    output: str,
    policy_path: Path | None,
    as_json: bool,
) -> None:
    """Issue a grant within a recorded consent. Role sec-admin; the grant is signed with the
    vault's platform key (its passphrase is asked for too). Refused when wider than the
    consent in any dimension; the refusal is audited.

    \b
    Examples:
      xinan --as sec-admin grant issue --querent bank-a --purpose 信易贷 \\
            --fields 证件号码,罚款金额 --subject 370481199111012480 --consent SQ-0001 --ttl 7d \\
            -o bank.grant
    """
    with open_platform(get_env(), vault_dir, policy_path) as p:
        grant = p.issue_grant(
            querent=querent,
            purpose=purpose,
            fields=_split(fields),
            subject=subject,
            consent_id=consent_id,
            ttl=parse_duration(ttl),
            output=output,
        )
    del subject
    c = grant.claims
    emit(
        as_json,
        {
            "grant": output,
            "id": grant_display(c.jti),
            "jti": c.jti,
            "querent": c.querent,
            "fields": list(c.fields),
            "subjects": list(c.subjects),
            "not_before": c.not_before.isoformat(),
            "expires": c.expires.isoformat(),
            "consent": c.consent_id,
        },
        f"grant {grant_display(c.jti)} → {output}: {querent} may receive {', '.join(c.fields)} of "
        f"{len(c.subjects)} subject(s) until {c.expires.isoformat()}",
    )


def _valid_option(f: F) -> F:
    return click.option(
        "--valid",
        default="7d",
        show_default=True,
        metavar="DURATION",
        help="How long this edition of the revocation list is current (its next_update).",
    )(f)


# A grant id is shown as g.<jti> (xinan/short_ids.py); the bare jti is base64url and may
# begin with "-": it is still taken as the id, not as an option.
@grant_group.command("revoke", context_settings={"ignore_unknown_options": True})
@click.argument("jti", metavar="GRANT_ID")
@vault_option
@_valid_option
@json_option
def grant_revoke(jti: str, vault_dir: Path | None, valid: str, as_json: bool) -> None:
    """Revoke a grant: re-sign the revocation list and write it under the vault (its path is
    printed; hand it to querents). Role sec-admin. GRANT_ID is g.<jti> as `grant list` shows
    it, or a unique prefix of it (at least 4 characters after g.).

    \b
    Examples:
      xinan --as sec-admin grant revoke g.Sg4z
    """
    with open_platform(get_env(), vault_dir) as p:
        path, number, jti = p.revoke_grant_id(jti, valid=parse_duration(valid))
    emit(
        as_json,
        {"id": grant_display(jti), "jti": jti, "revocations": str(path), "number": number},
        f"grant {grant_display(jti)} revoked; revocation list edition {number} → {path}",
    )


@grant_group.command("publish")
@vault_option
@_valid_option
@json_option
def grant_publish(vault_dir: Path | None, valid: str, as_json: bool) -> None:
    """Sign a fresh edition of the revocation list (before the current one goes stale).

    \b
    Examples:
      xinan --as sec-admin grant publish --valid 7d
    """
    with open_platform(get_env(), vault_dir) as p:
        path, number = p.publish_revocations(valid=parse_duration(valid))
    emit(
        as_json,
        {"revocations": str(path), "number": number},
        f"revocation list edition {number} → {path}",
    )


@grant_group.command("list")
@vault_option
@json_option
def grant_list(vault_dir: Path | None, as_json: bool) -> None:
    """List issued grants: querent, fields, expiry, revoked, shares built.

    \b
    Examples:
      xinan --as sec-admin grant list
      xinan --as sec-admin grant list --json
    """
    with open_platform(get_env(), vault_dir) as p:
        rows = p.grants()
    if as_json:
        emit(True, {"grants": rows})
        return
    for r in rows:
        state = "revoked" if r["revoked_at"] else f"until {r['expires']}"
        click.echo(
            f"{grant_display(r['jti'])}  {r['querent']}  {','.join(r['fields'])}  {state}  "
            f"shares {r['shares']} ({r['records_shared']} records)"
        )


@grant_group.command("show")
@click.argument("grant_file", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@json_option
def grant_show(grant_file: Path, as_json: bool) -> None:
    """Read a grant file: the platform's signature checked with its public key (the trust
    store; no passphrase), then who may receive which fields, for what purpose, under which
    consent, until when, and whether it is valid now. For the querent and anyone checking.

    \b
    Examples:
      xinan grant show bank.grant
      xinan grant show bank.grant --json
    """
    from xinan.formats.grant import read_grant
    from xinan.querent.provenance import describe_grant

    view = describe_grant(read_grant(grant_file), trust=Keyring(get_env().keyring), now=utc_now())
    d = view.to_json()
    emit(
        as_json,
        d,
        f"grant {d['id']} ({d['status']}), signed by {d['platform']} {d['platform_key']}\n"
        f"  querent {d['querent']} may receive {', '.join(d['fields'])} of "
        f"{d['subjects']} subject(s)\n"
        f"  purpose {d['purpose']}; consent {d['consent']}; policy {d['policy']}\n"
        f"  valid {d['not_before']} → {d['expires']}; authorised by {d['authorised_by']}",
    )


# ============================================================================================
# share
# ============================================================================================
@app.command("share")
@click.option(
    "--grant",
    "grant_file",
    required=True,
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
)
@click.option("-o", "--output", required=True, help="The share package to write (.xpkg).")
@vault_option
@policy_option
@json_option
def share_cmd(
    grant_file: Path, output: str, vault_dir: Path | None, policy_path: Path | None, as_json: bool
) -> None:
    """Build a share package for a verified grant: only the granted fields of the granted
    subject's records, only those fields' keys, wrapped to the querent's key. Role platform.

    One grant, one share. Records under objection, repaired or destroyed are never shared.

    \b
    Examples:
      xinan --as platform share --grant bank.grant -o bank.xpkg
    """
    with open_platform(get_env(), vault_dir, policy_path) as p:
        s = p.share(grant_file, output)
    emit(
        as_json,
        s.to_json(),
        f"share {s.share_id} → {output}: {s.records} records for {s.querent}; sealed "
        f"{', '.join(s.sealed_fields) or '-'}; clear {', '.join(s.clear_fields) or '-'}\n"
        f"release per-record: the querent opens it with a release file (`xinan release`)",
    )


# ============================================================================================
# release
# ============================================================================================
@app.command("release")
@click.option(
    "--package",
    "package",
    required=True,
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="The share package (.xpkg) the querent wants to open.",
)
@click.option("-o", "--output", required=True, help="The release file to write.")
@vault_option
@json_option
def release_cmd(package: Path, output: str, vault_dir: Path | None, as_json: bool) -> None:
    """Hand a querent the release secrets of a share it is about to open. Role platform.

    Checked first: the share was made by this vault, its grant is not revoked or expired and
    its consent holds. Records destroyed, repaired or under objection since the share are left
    out (and counted): the querent's open withholds them. The release is logged before the
    file is written; the file is encrypted to the querent and signed (docs/package.md §6.4).

    \b
    Examples:
      xinan --as platform release --package bank.xpkg -o bank.release
    """
    with open_platform(get_env(), vault_dir) as p:
        r = p.release(package, output)
    emit(
        as_json,
        r.to_json(),
        f"release {r.release_id} → {output}: secrets of {r.records} record(s) of share "
        f"{r.share_id} for {r.querent}; {r.withheld} withheld (destroyed or no longer "
        "releasable)",
    )
