"""``xinan destroy verify`` and ``xinan report subject``: the life cycle's proofs and reports.

Parse, call :mod:`xinan.platform.destruction` / :mod:`xinan.auditor.subject_report`, render
(docs/destruction.md §9).
``xinan destroy --expired | --record ID`` runs :mod:`xinan.platform.retention`'s destruction job.
"""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path
from typing import Any

import click

from xinan.audit.note import NoteVerifier
from xinan.auditor.service import Auditor
from xinan.cli._app import app, emit, get_env, json_option
from xinan.cli._common import (
    load_pseudonymizers,
    open_actor,
    open_platform,
    policy_option,
    today_option,
    verifier_keys,
)
from xinan.cli._passphrase import on_terminal
from xinan.cli._stdio import LOG_NOT_STDIN, DashPath, NotStdin, RecordsArg, read_bytes
from xinan.cli.vault_cmds import vault_option
from xinan.errors import UsageError
from xinan.i18n.dates import parse_date
from xinan.keys import Keyring
from xinan.platform.destruction import VerifiedCertificate, verify_certificate
from xinan.platform.lifecycle_ops import DestroyOutcome, check_destroy_request
from xinan.policy.catalogue import load_policy

__all__ = ["destroy", "report"]


# -------------------------------------------------------------------------------- destroy
@app.group("destroy", invoke_without_command=True)
@click.option("--expired", is_flag=True, help="Destroy every record past its retention.")
@click.option("--record", "records", multiple=True, metavar="ID", help="Destroy this record.")
@click.option("--reason", default=None, help="Why (required with --record; no identifiers).")
@click.option(
    "--as-of",
    "as_of",
    default=None,
    metavar="YYYY-MM-DD",
    help="The day retention is judged on (else $XINAN_TODAY, else today).",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Where to write the certificate (default: <vault>/destruction/<id>.json).",
)
@click.option(
    "--dry-run", is_flag=True, help="Show what would be destroyed; destroy nothing (logged read)."
)
@click.option(
    "--yes", "-y", "assume_yes", is_flag=True, help="Do not ask (scripts; required off a terminal)."
)
@vault_option
@policy_option
@json_option
@click.pass_context
def destroy(
    ctx: click.Context,
    expired: bool,
    records: tuple[str, ...],
    reason: str | None,
    as_of: str | None,
    output: Path | None,
    dry_run: bool,
    assume_yes: bool,
    vault_dir: Path | None,
    policy_path: Path | None,
    as_json: bool,
) -> None:
    """Crypto-shred records whose time is up, and check destruction certificates.

    Security administrator only. The record keys are overwritten and deleted from the key
    store (secure_delete, WAL truncated), the sealed data tombstoned, the act logged, and a
    signed certificate written. Afterwards nothing — no key, no grant, no package shared
    earlier and not yet opened — opens the record. Plaintext a querent already opened cannot
    be recalled (docs/destruction.md).

    It previews first: --dry-run shows what would be destroyed and stops; on a terminal the
    preview is shown and the command asks before it destroys; off a terminal (scripts) it
    refuses unless --yes is given.

    \b
    Examples:
      xinan --as sec-admin destroy --expired --dry-run
      xinan --as sec-admin destroy --expired --as-of 2031-01-01 --yes
      xinan --as sec-admin destroy --record r7k… --reason "异议核实后删除" -o cert.json
      xinan destroy verify destruction/dc1….json --audit-log audit/audit.log
    """
    if ctx.invoked_subcommand is not None:
        return
    check_destroy_request(expired=expired, records=records)
    try:
        day = parse_date(as_of) if as_of else _today()
    except ValueError:
        raise UsageError(f"not a date: {as_of!r}", hint="use YYYY-MM-DD or 2027年6月30日") from None
    ask = not (dry_run or assume_yes)
    if ask and not on_terminal():  # before any key is unlocked
        raise UsageError(
            "destroy shreds keys for good: off a terminal it needs --yes",
            hint="preview with --dry-run, then run again with --yes",
        )
    with open_platform(get_env(), vault_dir, policy_path) as p:
        kwargs: dict[str, Any] = {
            "expired": expired,
            "records": records,
            "reason": reason,
            "as_of": day,
        }
        if dry_run or ask:
            preview = p.destroy(**kwargs, dry_run=True)
            if dry_run or not preview.due:
                _emit_preview(as_json, preview, dry_run=dry_run)
                return
            _emit_preview(False, preview, dry_run=True)
            if not click.confirm(
                f"Destroy these {len(preview.due)} record(s)? Their keys are shredded for good",
                default=False,
                err=True,
            ):
                raise UsageError("nothing destroyed", hint="answer y to destroy")
        done = p.destroy(**kwargs, output=output)
    rule, result = done.rule, done.result
    if result is None:
        emit(as_json, {"destroyed": 0, "as_of": day.isoformat()}, f"nothing due on {day}")
        return
    emit(
        as_json,
        {
            "destroyed": len(result.records),
            "record_ids": result.records,
            "certificates": [str(p) for p in result.certificates],
            "certificate_ids": result.certificate_ids,
            "audit_entries": result.audit_seqs,
        },
        f"destroyed {len(result.records)} record(s) under {rule.id}; keys shredded\n"
        + "\n".join(
            f"certificate {cid} → {p}"
            for cid, p in zip(result.certificate_ids, result.certificates, strict=True)
        ),
    )


def _emit_preview(as_json: bool, preview: DestroyOutcome, *, dry_run: bool) -> None:
    due = preview.due
    rows = [
        {
            "record_id": d.record.record_id,
            "kind": d.record.kind,
            "keep_until": d.keep_until.isoformat() if d.keep_until else None,
        }
        for d in due
    ]

    def text() -> str:
        head = f"{'would destroy' if dry_run else 'due'} {len(due)} record(s) on {preview.as_of}"
        lines = [head + f" under {preview.rule.id}"]
        lines += [
            f"  {r['record_id']}  {r['kind']}"
            + (f"  kept until {r['keep_until']}" if r["keep_until"] else "")
            for r in rows[:50]
        ]
        if len(rows) > 50:
            lines.append(f"  … and {len(rows) - 50} more (--json lists all)")
        return "\n".join(lines)

    emit(
        as_json,
        {"dry_run": dry_run, "as_of": preview.as_of.isoformat(), "due": rows, "destroyed": 0},
        text,
    )


def _today() -> date:
    import os

    env = os.environ.get("XINAN_TODAY")
    try:
        return parse_date(env) if env else date.today()
    except ValueError:
        raise UsageError(f"XINAN_TODAY is not a date: {env!r}", hint="use YYYY-MM-DD") from None


@destroy.command("verify")
@click.argument("cert", type=DashPath())
@click.option(
    "--audit-log",
    "log",
    type=NotStdin(LOG_NOT_STDIN, dir_okay=False),
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
    log_keys: list[NoteVerifier] = [v for k in keys for v in verifier_keys(k)]
    res = verify_certificate(
        read_bytes(cert), trust=Keyring(env.keyring), audit_log=log, log_keys=log_keys or None
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
    """Reports people look at: the auditor's, the data subject's (征信业管理条例 第十八条),
    the provider's data quality (docs/report.md)."""


@report.command("subject")
@click.argument("identifier", metavar="ID", type=RecordsArg())  # `-`: read from stdin
@click.option(
    "--pseudonym-key",
    "pseudonym_keys",
    multiple=True,
    envvar="XINAN_PSEUDONYM_KEY",
    metavar="KEY_ID",
    help="Keyring secret of subject pseudonyms (else $XINAN_PSEUDONYM_KEY).",
)
@click.option(
    "-o",
    "--output",
    "html",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write the citizen's signed report page here (e.g. 报告.html; needs the vault).",
)
@click.option(
    "--pdf",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Also write it as PDF (e.g. 报告.pdf), signed the same way.",
)
@click.option(
    "--lang",
    type=click.Choice(["zh", "en"]),
    default="zh",
    show_default=True,
    help="Language of the report files.",
)
@vault_option
@policy_option
@today_option
@json_option
def subject_cmd(
    identifier: str,
    pseudonym_keys: tuple[str, ...],
    html: Path | None,
    pdf: Path | None,
    lang: str,
    vault_dir: Path | None,
    policy_path: Path | None,
    today: date,
    as_json: bool,
) -> None:
    """Who queried or received the data of the subject ID, when, what and why.

    ID is the subject's resident ID number or unified social credit code; it is turned into
    its keyed pseudonym at once and never logged or printed. Pass - to read it from standard
    input (keeps it out of shell history and the process list). Acts as a platform or
    audit-admin identity; the report itself is recorded in the audit log.

    With -o (and --pdf) it writes the document for the citizen: Chinese (or --lang en), Beijing
    time, institutions by name, purpose, fields and the authorisation each use rested on (from
    the vault), naming no other person, each file signed by the platform key in FILE.sig
    (docs/report.md §6, §8). Check one with `xinan report verify FILE`.

    \b
    Examples:
      xinan report subject - --pseudonym-key subject-ps < id.txt
      xinan --as audit-admin report subject 91370400MA3C1234X5 --json
      xinan --as platform report subject - -o 报告.html --pdf 报告.pdf < id.txt
      xinan report verify 报告.pdf --sig 报告.pdf.sig
    """
    env = get_env()
    if identifier == "-":
        identifier = sys.stdin.readline()
    if html is not None or pdf is not None:
        from xinan.auditor.subject_document import write_subject_document

        with open_platform(env, vault_dir, policy_path) as platform:
            out = write_subject_document(platform, identifier, html=html, pdf=pdf, lang=lang)
        del identifier
        doc = out.to_json()
        emit(
            as_json,
            doc,
            f"{doc['totals']['receipts']} receipt(s) by {doc['totals']['institutions']} "
            f"institution(s), {doc['totals']['handling']} other handling entries\n"
            + "\n".join(f"report → {f}  (signature {s})" for f, s in out.files),
        )
        return
    namespace = load_policy(policy_path).settings.pseudonym_namespace
    with open_actor(env, Auditor) as auditor:
        keys = load_pseudonymizers(env, pseudonym_keys, {namespace})
        rep = auditor.subject_report(
            identifier, key=keys[namespace], namespace=namespace, today=today
        )
    del identifier
    emit(as_json, rep.to_json(), rep.text)
