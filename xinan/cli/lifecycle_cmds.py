"""``xinan destroy verify`` and ``xinan report subject``: the life cycle's proofs and reports.

Parse, call :mod:`xinan.destruction` / :mod:`xinan.report`, render (docs/destruction.md §9).
The vault's ``xinan destroy --expired | --record ID`` (issue 7) joins the ``destroy`` group.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import click

from xinan.audit.note import NoteVerifier, load_note_verifier
from xinan.cli._app import app, emit, get_env, json_option
from xinan.cli._common import load_pseudonymizers, open_cli_session, policy_option, today_option
from xinan.destruction import VerifiedCertificate, verify_certificate
from xinan.errors import UsageError
from xinan.keys import Keyring
from xinan.policy import load_policy
from xinan.report import key_names, report_event, subject_pseudonym, subject_report

__all__ = ["destroy", "report"]


# -------------------------------------------------------------------------------- destroy
@app.group("destroy", invoke_without_command=True)
@click.pass_context
def destroy(ctx: click.Context) -> None:
    """Destroy records whose time is up (crypto-shredding), and check destruction certificates.

    \b
    Examples:
      xinan destroy verify destruction/dc1….json
      xinan destroy verify cert.json --audit-log /var/lib/xinan/audit.log --json
    """
    if ctx.invoked_subcommand is None:
        raise UsageError(
            "give a subcommand",
            hint="check a certificate with `xinan destroy verify CERT [--audit-log LOG]`",
        )


@destroy.command("verify")
@click.argument("cert", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option(
    "--audit-log",
    "log",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Also check the entry against this audit log (its latest signed checkpoint).",
)
@click.option(
    "--key",
    "keys",
    multiple=True,
    metavar="VKEY",
    help="The log's verifier key (vkey or a file of vkeys); default: from the trust store.",
)
@json_option
def verify_cmd(cert: Path, log: Path | None, keys: tuple[str, ...], as_json: bool) -> None:
    """Check a destruction certificate: signature, contents, and the audit entry it matches.

    Trust comes from the keyring's trust store (--keyring): the destroyer's public key (a
    sec-admin) and the log's key. Exit 0 only when everything holds; 1 names what failed.

    \b
    Examples:
      xinan destroy verify dc1abc.json
      xinan destroy verify dc1abc.json --audit-log audit/audit.log
      xinan destroy verify dc1abc.json --audit-log copy.log --key log.vkey --json
    """
    env = get_env()
    log_keys: list[NoteVerifier] = [v for k in keys for v in load_note_verifier(k)]
    res = verify_certificate(
        cert.read_bytes(), trust=Keyring(env.keyring), audit_log=log, log_keys=log_keys or None
    )
    emit(as_json, res.to_json(), lambda: describe(res))


def describe(res: VerifiedCertificate) -> str:
    """What, when, why, who, and the audit entry, for people."""
    c = res.certificate
    d = c.destruction
    counts = d.counts
    kinds = sorted({r.kind for r in d.records})
    lines = [
        f"ok: destruction certificate {c.id}",
        f"what:  {counts['records']} record(s) of vault {d.vault_id} ({', '.join(kinds)}), "
        f"{counts['subjects']} subject(s), from {counts['packages']} package(s); "
        f"{counts['digests']} {d.hash} digest(s) of what was destroyed",
    ]
    for r in d.records[:20]:
        until = f", kept until {r.keep_until}" if r.keep_until else ""
        lines.append(
            f"         {r.record_id}  {r.kind}  package {r.package_id}  "
            f"[{', '.join(sorted(r.digests))}]{until}"
        )
    if len(d.records) > 20:
        lines.append(f"         … and {len(d.records) - 20} more (--json lists all)")
    lines.append(f"when:  {c.destroyed_at}")
    rule = d.rule
    if rule.kind == "retention":
        lines.append(f"why:   {rule.id}, expired as of {rule.as_of}: {rule.citation}")
    else:
        lines.append(f"why:   manual: {rule.reason}")
    by = d.destroyed_by
    lines.append(f"who:   {by.id} ({by.key_id}, {by.role})")
    a = c.audit
    where = f"matches audit entry {a.seq} of {a.origin}"
    if res.checkpoint_size is not None:
        where += f", under its checkpoint of size {res.checkpoint_size}"
    if res.checkpoint_signer:
        where += f" signed by {res.checkpoint_signer}"
    lines.append(f"audit: {where}")
    if res.log is not None:
        tail = ", consistent with the certificate's" if res.consistency_checked else ""
        lines.append(
            f"log:   entry {a.seq} is in {res.log} under its latest signed checkpoint "
            f"(size {res.log_size}){tail}"
        )
    else:
        lines.append("log:   not checked against a log (pass --audit-log LOG)")
    lines += [f"note:  {n}" for n in res.notes]
    return "\n".join(lines)


# -------------------------------------------------------------------------------- report
@app.group("report")
def report() -> None:
    """Reports for data subjects (征信业管理条例 第十八条: who queried my data)."""


@report.command("subject")
@click.argument("identifier", metavar="ID")
@click.option(
    "--pseudonym-key",
    "pseudonym_keys",
    multiple=True,
    envvar="XINAN_PSEUDONYM_KEY",
    metavar="KEY_ID",
    help="Keyring secret of subject pseudonyms (else $XINAN_PSEUDONYM_KEY).",
)
@policy_option
@today_option
@json_option
def subject_cmd(
    identifier: str,
    pseudonym_keys: tuple[str, ...],
    policy_path: Path | None,
    today: date,
    as_json: bool,
) -> None:
    """Who queried or received the data of the subject ID, when, what and why.

    ID is the subject's resident ID number or unified social credit code; it is turned into
    its keyed pseudonym at once and never logged or printed. Pass - to read it from standard
    input (keeps it out of shell history and the process list). Acts as a platform or
    audit-admin identity; the report itself is recorded in the audit log.

    \b
    Examples:
      xinan report subject - --pseudonym-key subject-ps < id.txt
      xinan --as audit-admin report subject 91370400MA3C1234X5 --json
    """
    env = get_env()
    if identifier == "-":
        identifier = click.get_text_stream("stdin").readline()
    namespace = load_policy(policy_path).settings.pseudonym_namespace
    with open_cli_session(env, "report.subject") as session:
        keys = load_pseudonymizers(env, pseudonym_keys, {namespace})
        subject = subject_pseudonym(identifier, keys[namespace], namespace, today=today)
        rep = subject_report(env.log_path(), subject, names=key_names(Keyring(env.keyring)))
        session.record(**report_event(rep))  # durable before the report is shown
    emit(as_json, rep.to_json(), rep.text)
