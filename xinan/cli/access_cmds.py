"""The platform's access commands (docs/vault.md §7–§9, docs/grant.md): ``xinan consent
add|revoke|list``, ``xinan grant issue|revoke|publish|list|show``, ``xinan share``,
``xinan release``.

Parse, call the opened :class:`xinan.platform.Platform`, render: the role checks and the audit
entries are the library's. Clear subject identifiers given on the command line become keyed
pseudonyms at once and are never logged or stored.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

import click

from xinan.cli._app import app, emit, get_env, json_option
from xinan.cli._common import (
    open_platform,
    policy_option,
    utc_now,
)
from xinan.cli._stdio import InputPath
from xinan.cli.progress import showing_progress
from xinan.cli.render import XinanCommand
from xinan.cli.vault_cmds import vault_option
from xinan.errors import UsageError
from xinan.i18n.dates import parse_date
from xinan.keys import Keyring
from xinan.platform.vault import parse_duration
from xinan.short_ids import GRANT_PREFIX, grant_display

F = TypeVar("F", bound=Callable[..., Any])


def _split(values: str) -> list[str]:
    return [v.strip() for v in values.replace("，", ",").split(",") if v.strip()]


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
@click.option(
    "--pia",
    default=None,
    metavar="ID",
    help="The impact assessment it stands on (needed for consent-gated fields: xinan pia add).",
)
@click.option("--basis", default=None, help="Or the legal basis that allows consent-gated fields.")
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
    pia: str | None,
    basis: str | None,
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
            pia=pia,
            basis=basis,
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
            "pia": pia,
            "basis": basis,
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


# A grant id is shown as g.<jti> (xinan/short_ids.py); the bare jti is base64url and begins
# with "-" one time in 64. Click reads such a word as a cluster of short options: with
# ignore_unknown_options, one that held an "h" printed the help and exited 0, revoking nothing.
# So a word of base64url characters that begins with "-", is at least 4 characters after it
# (MIN_PREFIX) and is none of the command's option names, is taken as the id in its g. form
# before click parses; anything else beginning with "-" is an option (or click's clear error).
_DASHED_ID = re.compile(r"-[A-Za-z0-9_-]{4,}")


class GrantIdCommand(XinanCommand):
    """A command whose argument is a grant id: a bare jti that begins with "-" is the id."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        options = {o for p in self.get_params(ctx) for o in (*p.opts, *p.secondary_opts)}
        ids = [
            GRANT_PREFIX + a if _DASHED_ID.fullmatch(a) and a not in options else a for a in args
        ]
        return super().parse_args(ctx, ids)


@grant_group.command("revoke", cls=GrantIdCommand)
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
@click.argument("grant_file", type=InputPath())
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
    type=InputPath(),
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
    with open_platform(get_env(), vault_dir, policy_path) as p, showing_progress(as_json=as_json):
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
    type=InputPath(),
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
    with open_platform(get_env(), vault_dir) as p, showing_progress(as_json=as_json):
        r = p.release(package, output)
    emit(
        as_json,
        r.to_json(),
        f"release {r.release_id} → {output}: secrets of {r.records} record(s) of share "
        f"{r.share_id} for {r.querent}; {r.withheld} withheld (destroyed or no longer "
        "releasable)",
    )
