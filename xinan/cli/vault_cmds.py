"""The platform's commands (docs/vault.md): ``xinan vault init|ingest|list|show``,
``xinan consent add|revoke|list``, ``xinan grant issue|revoke|publish|list``, ``xinan share``,
``xinan release``.

Parse, call :mod:`xinan.platform.vault`, render. Every command acts as ``--as`` and is refused to
other
roles (``Session.require``). Clear subject identifiers given on the command line are turned into
keyed pseudonyms at once and never logged or stored.
"""

from __future__ import annotations

import itertools
import secrets
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any, TypeVar

import click

from xinan.access import Session, load_audit_config
from xinan.cli import _common
from xinan.cli._app import Env, app, emit, get_env, json_option
from xinan.cli._common import open_cli_session, policy_option, read_passphrase
from xinan.errors import AccessDenied, KeyringError, UsageError
from xinan.formats.grant import Consent, end_of_day_cst, write_grant
from xinan.keys import Identity, Keyring, Role, SecretKey
from xinan.masking import MaskContext, View
from xinan.platform.lifecycle import check_text
from xinan.platform.vault import (
    StoredRecord,
    Vault,
    init_vault,
    parse_duration,
    resolve_fields,
    resolve_vault_path,
    today_cst,
)
from xinan.policy.catalogue import Policy, load_policy

F = TypeVar("F", bound=Callable[..., Any])
SEALED_MARK = "〔密封〕"  # a sealed value not opened for this view


def vault_option(f: F) -> F:
    return click.option(
        "--vault",
        "vault_dir",
        type=click.Path(file_okay=False, path_type=Path),
        envvar="XINAN_VAULT",
        default=None,
        help="Vault directory (else $XINAN_VAULT).",
    )(f)


def _now() -> datetime:
    return _common.utc_now()


def _open_vault(vault_dir: Path | None) -> Vault:
    """Open the vault, refusing an audit log other than the one it was set up with: whoever
    runs a command must not choose where (or whether) its audit entries go."""
    vault = Vault.open(resolve_vault_path(vault_dir))
    log = get_env().log_path()
    cfg = load_audit_config(log)
    c = vault.config
    if (cfg.origin, cfg.log_key_id, str(log.resolve())) != (
        c.audit_origin,
        c.audit_key_id,
        c.audit_path,
    ):
        vault.close()
        raise AccessDenied(
            f"{log} is not this vault's audit log (the vault logs to {vault.config.audit_origin})",
            rule="vault:audit-log",
            hint="point --audit-log (or XINAN_AUDIT_LOG) at the vault's own log",
        )
    return vault


def _platform(env: Env, session: Session, vault: Vault) -> Identity:
    """The vault's platform identity, unlocked: the session's own when the actor is the
    platform, else unlocked separately (its passphrase; two people may be needed)."""
    cfg = vault.config
    if session.identity is not None and session.identity.key_id == cfg.platform_key_id:
        return session.identity
    ring = Keyring(env.keyring)
    ident = ring.unlock(cfg.platform_id, read_passphrase(f"{cfg.platform_id} (platform)"))
    if ident.key_id != cfg.platform_key_id:
        raise KeyringError(f"the keyring's {cfg.platform_id} is not the vault's platform key")
    return ident


def _pskey(env: Env, vault: Vault) -> SecretKey:
    cfg = vault.config
    key = Keyring(env.keyring).secret(
        cfg.pseudonym_id, read_passphrase(f"pseudonym key {cfg.pseudonym_id}")
    )
    vault.check_pseudonym_key(key)
    return key


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
      xinan --as sysadm vault init --vault vault --platform platform --pseudonym-key subject-ps
    """
    env = get_env()
    path = resolve_vault_path(vault_dir)
    pol = load_policy(policy_path)
    ring = Keyring(env.keyring)
    with open_cli_session(env, "vault.init") as session:
        log_cfg = load_audit_config(env.log_path())  # every vault operation logs here
        platform = ring.get_public(platform_ref)
        ps = [e for e in ring.list() if e.kind == "secret" and ps_ref in (e.id, e.key_id)]
        if not ps or ps[0].role != Role.PSEUDONYM.value:
            raise KeyringError(
                f"no pseudonym key {ps_ref!r} in the keyring",
                hint="create one: xinan keygen --id subject-ps --role pseudonym",
            )
        cfg = init_vault(
            path,
            platform=platform,
            pseudonym_id=ps[0].id,
            pseudonym_key_id=ps[0].key_id,
            policy=pol,
            now=_now(),
            audit_origin=log_cfg.origin,
            audit_key_id=log_cfg.log_key_id,
            audit_path=str(env.log_path().resolve()),
        )
        session.record(
            "key.vault-init",
            objects={
                "ref": f"vault:{cfg.id}",
                "key_ids": [cfg.platform_key_id, cfg.pseudonym_key_id],
                "policy": cfg.policy,
            },
        )
    emit(
        as_json,
        {"vault": str(path), "id": cfg.id, "policy": cfg.policy, "platform": cfg.platform_key_id},
        f"vault {cfg.id} at {path}: policy {cfg.policy}, platform {cfg.platform_id} "
        f"{cfg.platform_key_id}, pseudonyms {cfg.pseudonym_id}",
    )


@vault_group.command("ingest")
@click.argument("package", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@vault_option
@policy_option
@json_option
def vault_ingest(
    package: Path, vault_dir: Path | None, policy_path: Path | None, as_json: bool
) -> None:
    """Verify a submission package and keep its records sealed in the vault.

    Ingesting the same package again changes nothing (and says so).

    \b
    Examples:
      xinan --as platform vault ingest export.xpkg --json
    """
    env = get_env()
    pol = load_policy(policy_path)
    with open_cli_session(env, "vault.ingest") as session, _open_vault(vault_dir) as v:
        platform = _platform(env, session, v)
        v.unlock(platform)
        summary = v.ingest(
            package,
            platform=platform,
            keyring=Keyring(env.keyring),
            policy=pol,
            pseudonymizer=_pskey(env, v),
            session=session,
            now=_now(),
        )
    classes = ", ".join(f"{k} {n}" for k, n in summary.classes.items())
    emit(
        as_json,
        summary.to_json(),
        f"{package}: package {summary.package_id} already ingested; nothing changed"
        if summary.already
        else f"{package}: ingested {summary.records} {summary.kind} records from "
        f"{summary.sender} (package {summary.package_id}); {classes}; "
        f"{summary.subjects} subjects",
    )


def _view_fields(
    rec: StoredRecord, pol: Policy, view: View, opened: dict[str, str] | None
) -> dict[str, str]:
    """The policy's ``internal`` view of a record: from the clear part (the submission view)
    and, when opened in memory, the sealed values; unopened sealed fields are marked."""
    kind = pol.kind(rec.kind)
    row = []
    for col in kind.columns:
        if opened is not None and col in opened:
            row.append(opened[col])
        elif col in rec.sealed_fields:
            row.append("")
        else:
            row.append(rec.clear.get(col, ""))
    out = view.apply(row, rec.subject_class) or [""] * len(view.columns)
    shown = dict(zip(view.columns, out, strict=True))
    if opened is None:
        for col in rec.sealed_fields:
            if col in shown:
                shown[col] = SEALED_MARK
    return shown


def _record_json(rec: StoredRecord, fields: dict[str, str]) -> dict[str, Any]:
    return {
        "record_id": rec.record_id,
        "kind": rec.kind,
        "package": rec.package_id,
        "subject_class": rec.subject_class.value,
        "subjects": list(rec.subjects),
        "status": {k: v for k, v in rec.status.items() if v},
        "facts": {k: v for k, v in rec.facts.items() if v},
        "fields": fields,
    }


def _status_text(rec: StoredRecord) -> str:
    flags = [k.removesuffix("_at") for k, v in rec.status.items() if v]
    if flags == ["disputed"]:
        return "disputed(异议处理中)"  # the objection flag (docs/lifecycle.md §3.1)
    return ",".join(flags) or "active"


@vault_group.command("list")
@vault_option
@click.option("--kind", default=None, help="Only this record kind.")
@click.option("--subject", "subject", default=None, metavar="ID", help="Only this subject's.")
@click.option("--limit", type=click.IntRange(min=1), default=100, show_default=True)
@policy_option
@json_option
def vault_list(
    vault_dir: Path | None,
    kind: str | None,
    subject: str | None,
    limit: int,
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
    """
    env = get_env()
    pol = load_policy(policy_path)
    now = _now()
    with open_cli_session(env, "vault.read") as session, _open_vault(vault_dir) as v:
        v.check_policy(pol)
        ps = v.subject_pseudonym(_pskey(env, v), pol, subject) if subject else None
        del subject
        if kind is not None:
            pol.kind(kind)
        # archived records (repaired, or removed after an objection) are listed only by the
        # audit administrator's `vault archive` (docs/lifecycle.md §4.3)
        live = (r for r in v.records(kind=kind, subject=ps) if not r.status.get("archived_at"))
        recs = list(itertools.islice(live, limit))
        views: dict[str, View] = {}
        rows = []
        for rec in recs:
            if rec.kind not in views:
                views[rec.kind] = View(
                    pol, pol.kind(rec.kind), "internal", MaskContext(today=today_cst(now))
                )
            rows.append((rec, _view_fields(rec, pol, views[rec.kind], None)))
        session.record(
            "open",
            objects={"ref": f"vault:{v.config.id}:list", "counts": {"records": len(recs)}},
            why={"purpose": "inspection"},
            subjects=[ps] if ps else [],
        )
    if as_json:
        emit(True, {"records": [_record_json(r, f) for r, f in rows]})
        return
    if not rows:
        click.echo("no records")
    for rec, f in rows:
        head = "  ".join(f"{k}={val}" for k, val in list(f.items())[:4])
        click.echo(
            f"{rec.record_id}  {rec.kind}  {rec.subject_class.value}  {_status_text(rec)}  {head}"
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
    env = get_env()
    pol = load_policy(policy_path)
    now = _now()
    with open_cli_session(env, "vault.read") as session, _open_vault(vault_dir) as v:
        v.check_policy(pol)
        v.unlock(_platform(env, session, v))
        rec = v.get(record_id)
        if rec.status.get("archived_at"):  # only `vault archive` (audit-admin) lists it
            session.require("vault.archive", objects={"record_ids": [rec.record_id]})
        view = View(pol, pol.kind(rec.kind), "internal", MaskContext(today=today_cst(now)))
        session.record(
            "open",
            objects={"record_ids": [rec.record_id], "ref": f"vault:{v.config.id}"},
            why={"purpose": purpose},
            subjects=list(rec.subjects),
        )
        fields = _view_fields(rec, pol, view, v.open_sealed(rec))
    if as_json:
        emit(True, _record_json(rec, fields))
        return
    click.echo(
        f"{rec.record_id}  {rec.kind}  {rec.subject_class.value}  {_status_text(rec)}  "
        f"package {rec.package_id}"
    )
    width = max((len(k) for k in fields), default=0)
    for k, val in fields.items():
        click.echo(f"  {k:<{width}}  {val}")


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
        return date.fromisoformat(value)
    except ValueError:
        raise UsageError(f"not a date: {value!r}", hint="use YYYY-MM-DD") from None


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
    """
    env = get_env()
    pol = load_policy(policy_path)
    now = _now()
    # the reference is stored and printed: it must not carry a clear identifier
    ref = check_text(ref, "--ref", today=now.date())
    ring = Keyring(env.keyring)
    with open_cli_session(env, "consent") as session, _open_vault(vault_dir) as v:
        v.check_policy(pol)
        ps = v.subject_pseudonym(_pskey(env, v), pol, subject)
        del subject
        q = ring.get_public(querent)
        if q.role is not Role.QUERENT:
            raise UsageError(f"{q.id} has role {q.role.value}; consents name a querent key")
        until = end_of_day_cst(_parse_day(valid_until))
        if until <= now:
            raise UsageError(f"--valid-until {valid_until} is in the past")
        cid = "c" + secrets.token_hex(13)
        consent = Consent(
            cid, ps, q.key_id, purpose, resolve_fields(pol, _split(fields)), until, ref
        )
        with v.transaction():
            v.add_consent(consent, by=session.actor.key_id, now=now)
            session.record(
                "consent",
                objects={"ref": f"consent:{cid}", "key_ids": [q.key_id], "policy": pol.label},
                why={"purpose": purpose, "consent": cid},
                subjects=[ps],
            )
    emit(
        as_json,
        {
            "id": cid,
            "subject": ps,
            "querent": q.key_id,
            "purpose": purpose,
            "fields": list(consent.fields),
            "valid_until": until.isoformat(),
            "ref": ref,
        },
        f"consent {cid}: {q.id} may ask for {', '.join(consent.fields)} of {ps} "
        f"for {purpose!r} until {until.isoformat()}",
    )


@consent_group.command("revoke")
@click.argument("consent_id")
@vault_option
@json_option
def consent_revoke(consent_id: str, vault_dir: Path | None, as_json: bool) -> None:
    """Withdraw a consent: no grant is issued under it and no share is built for it after."""
    env = get_env()
    with open_cli_session(env, "consent") as session, _open_vault(vault_dir) as v:
        tx = v.transaction()
        with tx:
            c = v.revoke_consent(consent_id, by=session.actor.key_id, now=_now())
            session.record(
                "revoke",
                objects={"ref": f"consent:{c.id}", "key_ids": [c.querent]},
                why={"consent": c.id},
                subjects=[c.subject],
            )
    emit(as_json, {"id": c.id, "revoked": True}, f"consent {c.id} revoked")


@consent_group.command("list")
@vault_option
@json_option
def consent_list(vault_dir: Path | None, as_json: bool) -> None:
    """List consents (subjects as pseudonyms)."""
    env = get_env()
    with open_cli_session(env, "consent") as session, _open_vault(vault_dir) as v:
        rows = v.consents()
        # a read of personal data is recorded like any other (before it is shown)
        session.record(
            "open", objects={"ref": f"vault:{v.config.id}:consents", "counts": {"rows": len(rows)}}
        )
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
      xinan --as secadm grant issue --querent bank --purpose 信易贷授信审查 \\
            --fields 手机号码,现住址 --subject 110105194912310029 --consent c3f… --ttl 7d \\
            -o bank.grant
      xinan --as secadm grant revoke 9bq…
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
    consent in any dimension; the refusal is audited."""
    env = get_env()
    pol = load_policy(policy_path)
    now = _now()
    ring = Keyring(env.keyring)
    with open_cli_session(env, "grant") as session, _open_vault(vault_dir) as v:
        v.check_policy(pol)
        if session.identity is None:  # pragma: no cover - grant sessions are unlocked
            raise UsageError("issuing needs the sec-admin's key")
        ps = v.subject_pseudonym(_pskey(env, v), pol, subject)
        del subject
        q = ring.get_public(querent)
        platform = _platform(env, session, v)
        with v.transaction():
            try:
                grant = v.issue_grant(
                    platform=platform,
                    authorised_by=session.identity,
                    querent=q,
                    consent_id=consent_id,
                    purpose=purpose,
                    fields=_split(fields),
                    subjects=[ps],
                    policy=pol,
                    ttl=parse_duration(ttl),
                    now=now,
                )
            except (AccessDenied, UsageError) as e:
                rule = getattr(e, "rule", None) or type(e).__name__
                session.record(
                    "grant",
                    outcome="denied",
                    objects={"ref": f"rule:{rule}", "key_ids": [q.key_id]},
                    why={"purpose": purpose[:200], "consent": consent_id[:128]},
                    subjects=[ps],
                )
                raise
            c = grant.claims
            session.record(
                "grant",
                objects={"ref": f"grant:{c.jti}", "key_ids": [q.key_id], "policy": c.policy},
                why={"purpose": c.purpose, "grant": c.jti, "consent": c.consent_id},
                subjects=list(c.subjects),
            )
            write_grant(output, grant)
    emit(
        as_json,
        {
            "grant": output,
            "jti": c.jti,
            "querent": c.querent,
            "fields": list(c.fields),
            "subjects": list(c.subjects),
            "not_before": c.not_before.isoformat(),
            "expires": c.expires.isoformat(),
            "consent": c.consent_id,
        },
        f"grant {c.jti} → {output}: {q.id} may receive {', '.join(c.fields)} of "
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


@grant_group.command("revoke")
@click.argument("jti")
@vault_option
@_valid_option
@json_option
def grant_revoke(jti: str, vault_dir: Path | None, valid: str, as_json: bool) -> None:
    """Revoke a grant: re-sign the revocation list and write it under the vault (its path is
    printed; hand it to querents). Role sec-admin."""
    env = get_env()
    now = _now()
    with open_cli_session(env, "grant") as session, _open_vault(vault_dir) as v:
        platform = _platform(env, session, v)

        def log(number: int) -> None:
            session.record(
                "revoke", objects={"ref": f"revocations:{number}"}, why={"grant": jti[:64]}
            )

        path, number = v.revoke_grant(
            jti, platform=platform, now=now, valid=parse_duration(valid), before_commit=log
        )
    emit(
        as_json,
        {"jti": jti, "revocations": str(path), "number": number},
        f"grant {jti} revoked; revocation list edition {number} → {path}",
    )


@grant_group.command("publish")
@vault_option
@_valid_option
@json_option
def grant_publish(vault_dir: Path | None, valid: str, as_json: bool) -> None:
    """Sign a fresh edition of the revocation list (before the current one goes stale)."""
    env = get_env()
    now = _now()
    with open_cli_session(env, "grant") as session, _open_vault(vault_dir) as v:
        platform = _platform(env, session, v)

        def log(number: int) -> None:
            session.record("revoke", objects={"ref": f"revocations:{number}"})

        path, number = v.publish_revocations(
            platform=platform, now=now, valid=parse_duration(valid), before_commit=log
        )
    emit(
        as_json,
        {"revocations": str(path), "number": number},
        f"revocation list edition {number} → {path}",
    )


@grant_group.command("list")
@vault_option
@json_option
def grant_list(vault_dir: Path | None, as_json: bool) -> None:
    """List issued grants: querent, fields, expiry, revoked, shares built."""
    env = get_env()
    with open_cli_session(env, "grant") as session, _open_vault(vault_dir) as v:
        rows = v.grants()
        session.record(
            "open", objects={"ref": f"vault:{v.config.id}:grants", "counts": {"rows": len(rows)}}
        )
    if as_json:
        emit(True, {"grants": rows})
        return
    for r in rows:
        state = "revoked" if r["revoked_at"] else f"until {r['expires']}"
        click.echo(
            f"{r['jti']}  {r['querent']}  {','.join(r['fields'])}  {state}  "
            f"shares {r['shares']} ({r['records_shared']} records)"
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
    env = get_env()
    pol = load_policy(policy_path)
    with open_cli_session(env, "share") as session, _open_vault(vault_dir) as v:
        platform = _platform(env, session, v)
        v.unlock(platform)
        s = v.share(
            grant_file,
            output,
            platform=platform,
            keyring=Keyring(env.keyring),
            policy=pol,
            session=session,
            now=_now(),
        )
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
    env = get_env()
    with open_cli_session(env, "release") as session, _open_vault(vault_dir) as v:
        platform = _platform(env, session, v)
        v.unlock(platform)
        r = v.release(
            package,
            output,
            platform=platform,
            keyring=Keyring(env.keyring),
            session=session,
            now=_now(),
        )
    emit(
        as_json,
        r.to_json(),
        f"release {r.release_id} → {output}: secrets of {r.records} record(s) of share "
        f"{r.share_id} for {r.querent}; {r.withheld} withheld (destroyed or no longer "
        "releasable)",
    )
