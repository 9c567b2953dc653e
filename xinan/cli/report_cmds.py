"""``xinan report audit|quality|verify``: reports people look at (docs/report.md).

Parse, call one library function (:mod:`xinan.auditor`, :mod:`xinan.provider.quality`),
render (:mod:`xinan.reports`). ``report subject`` lives beside ``destroy`` for now
(:mod:`xinan.cli.lifecycle_cmds`) and shares the group.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import click

from xinan.cli._app import emit, get_env, json_option
from xinan.cli._common import kind_name, open_actor, policy_option, today_option
from xinan.cli._stdio import LOG_NOT_STDIN, STDIN, InputPath, NotStdin, RecordsArg
from xinan.cli.audit_cmds import _keys
from xinan.cli.lifecycle_cmds import report
from xinan.cli.progress import showing_progress
from xinan.errors import UsageError, VerificationError
from xinan.i18n.dates import parse_date
from xinan.keys import Keyring

__all__ = ["audit_cmd", "quality_cmd", "verify_cmd"]

lang_option = click.option(
    "--lang",
    type=click.Choice(["zh", "en"]),
    default="zh",
    show_default=True,
    help="Language of the page (Chinese first; English available).",
)


def _date(value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return parse_date(value)
    except ValueError:
        raise UsageError(
            f"not a date: {value!r}", hint="use YYYY-MM-DD or 2027年6月30日 (Beijing date)"
        ) from None


@report.command("audit")
@click.argument("logs", nargs=-1, type=NotStdin(LOG_NOT_STDIN, dir_okay=False))
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Where to write the HTML page (e.g. 审计报告.html).",
)
@click.option(
    "--key",
    "keys",
    multiple=True,
    metavar="VKEY|FILE",
    help="Verifier key of the logs (default: each log's own key from the trust store).",
)
@click.option(
    "--trusted-checkpoint",
    type=InputPath(),
    help="A signed checkpoint kept earlier: the (first) log must extend it.",
)
@click.option("--subject", metavar="PSEUDONYM", help="List this subject's entries, with proofs.")
@click.option("--since", metavar="YYYY-MM-DD", help="With --subject: from this Beijing date.")
@click.option(
    "--field",
    metavar="FIELD",
    help="With --subject: only entries that reached this field (e.g. 证件号码); entries that "
    "name no fields count as reaching every field.",
)
@click.option(
    "--certificate",
    "certificates",
    multiple=True,
    type=InputPath(),
    help="A destruction certificate to check against the (first) log; repeatable.",
)
@lang_option
@json_option
def audit_cmd(
    logs: tuple[Path, ...],
    output: Path | None,
    keys: tuple[str, ...],
    trusted_checkpoint: Path | None,
    subject: str | None,
    since: str | None,
    field: str | None,
    certificates: tuple[Path, ...],
    lang: str,
    as_json: bool,
) -> None:
    """The auditor's report: is each log intact, who did what, who saw whose data.

    One self-contained HTML file (inline charts, no script, opens offline) and, with --json,
    its twin with the same numbers on standard output. Audit roles only; the report is
    recorded in the acting identity's audit log. Exit 0 only when every log verifies and every
    certificate checks; 1 names the first violation — the page is written either way, and its
    first line says which entry is wrong.

    \b
    Examples:
      xinan --as audit-admin report audit -o 审计报告.html
      xinan --as audit-admin report audit audit/audit.log bank.log --certificate dc1….json \\
          --subject ps1.xs1….abcd --since 2026-01-01 -o 审计报告.html --json > 审计报告.json
      xinan --as auditor report audit --subject ps1.xs1….abcd --field 证件号码 -o 证件号码.html
    """
    if field is not None and subject is None:
        raise UsageError("--field selects within a subject's entries", hint="add --subject")
    from xinan.audit.verify import load_trusted
    from xinan.auditor.audit_report import LogInput
    from xinan.auditor.service import Auditor
    from xinan.reports.render import render_audit, write_html

    env = get_env()
    paths = list(logs) or [env.log_path()]
    trusted = load_trusted(trusted_checkpoint) if trusted_checkpoint else None
    inputs = []
    for i, p in enumerate(paths):
        log_keys, witnesses = _keys(keys, p)
        inputs.append(LogInput(p, tuple(log_keys), tuple(witnesses), trusted if i == 0 else None))
    with open_actor(env, Auditor) as auditor:
        rep = auditor.audit_report(
            inputs,
            subject=subject,
            since=_date(since),
            field=field,
            certificates=[(str(c), c.read_bytes()) for c in certificates],
        )
    doc = rep.to_json()
    if output is not None:
        write_html(output, render_audit(doc, lang=lang))
    first = doc["first_problem"]
    verdict = (
        f"ok: {len(rep.logs)} log(s) verify; {doc['totals']['entries']} entries"
        if first is None
        else f"FAILED: {first['log']}: {first['message']}"
    )
    emit(as_json, doc, verdict + (f"\nreport → {output}" if output else ""))
    if first is not None:
        raise VerificationError(
            f"{first['log']}: {first['message']}",
            hint="the report lists every violation; restore the log from a verified copy",
        )


@report.command("quality")
# FILE: a record file, or `-` (standard input, streamed and never copied)
@click.argument("file", type=RecordsArg())
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Where to write the HTML page (e.g. 质量报告.html).",
)
@click.option(
    "--kind",
    callback=kind_name,
    default=None,
    help="Record kind (default: matched from the header).",
)
@click.option("--encoding", default=None, help="Input encoding (default: detected).")
@policy_option
@today_option
@lang_option
@json_option
def quality_cmd(
    file: str,
    output: Path | None,
    kind: str | None,
    encoding: str | None,
    policy_path: Path | None,
    today: date,
    lang: str,
    as_json: bool,
) -> None:
    """The provider's data-quality report on FILE, before it is submitted.

    The platform's KPIs — 数据有效入库率, 完整率, 准确率, 及时率 (working days, with the State
    Council's holiday calendar) — against the policy's [quality] thresholds, rejects by reason
    and by column, and the rows with most problems (row numbers, columns, reasons; never a
    value). Its read, valid and rejected counts are those `mask` and `seal` report on the same
    file. --today is the planned submission day. Provider role; recorded like `scan`.

    \b
    Examples:
      xinan --as amr-zaozhuang report quality export.csv -o 质量报告.html
      xinan --as amr-zaozhuang report quality export.csv --today 2026-12-01 --json
    """
    from xinan.policy import load_policy
    from xinan.provider.service import Provider
    from xinan.reports.render import render_quality, write_html

    pol = load_policy(policy_path)
    with open_actor(get_env(), Provider) as provider, showing_progress(as_json=as_json):
        rep = provider.quality_report(file, policy=pol, today=today, kind=kind, encoding=encoding)
    doc = rep.to_json()
    if output is not None:
        write_html(output, render_quality(doc, lang=lang))
    below = [k["kpi"] for k in doc["kpis"] if not k["pass"]]
    c = doc["counts"]
    emit(
        as_json,
        doc,
        f"{file}: read {c['read']}, valid {c['valid']}, rejected {c['rejected']}; "
        + ", ".join(
            f"{k['kpi']} {'—' if k['value'] is None else format(k['value'], '.2%')}"
            for k in doc["kpis"]
        )
        + (f"; below threshold: {', '.join(below)}" if below else "; every KPI meets its threshold")
        + (f"\nreport → {output}" if output else ""),
    )


@report.command("verify")
@click.argument("file", type=InputPath())
@click.option(
    "--sig",
    type=InputPath(),
    default=None,
    help="The signature file (default: FILE.sig).",
)
@json_option
def verify_cmd(file: Path, sig: Path | None, as_json: bool) -> None:
    """Check that a report file is exactly what the platform signed (docs/report.md §8).

    Needs only the platform's public key in the trust store (--keyring). Exit 0 when the
    signature holds over every byte of FILE; 1 when it does not (changed, or another file).

    \b
    Examples:
      xinan report verify 报告.html
      xinan --keyring citizen-keys report verify 报告.pdf --sig 报告.pdf.sig --json
    """
    from xinan.reports.signature import read_pair, verify_report

    if sig is None and click.get_current_context().find_root().meta.get("xinan.stdin") == "FILE":
        raise UsageError(
            f"{STDIN}: a report from standard input has no {STDIN}.sig beside it",
            hint="pass its signature file: xinan report verify - --sig 报告.html.sig",
        )
    data, signature = read_pair(file, sig)
    res = verify_report(data, signature, trust=Keyring(get_env().keyring))
    emit(
        as_json,
        res.to_json(),
        f"ok: {file} is the report signed by {res.signer_id} ({res.signer_key_id}) "
        f"at {res.signed_at}",
    )
