"""The platform's life-cycle commands (docs/lifecycle.md): ``xinan vault disclose``,
``xinan vault archive``, ``xinan vault restrict|restrictions``, ``xinan dispute
open|resolve|list``, ``xinan repair apply|approve|reject|list``.

Parse, call :mod:`xinan.platform.lifecycle`, render. Every command acts as ``--as`` and is refused
to
other roles (the refusal is audited). The clock is :func:`xinan.cli._common.utc_now`; dates are
taken in China Standard Time.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import click

from xinan.cli._app import app, emit, get_env, json_option
from xinan.cli._common import kind_name, open_platform, output_encoding_option, policy_option
from xinan.cli._common import output_encoding as output_encoding_for
from xinan.cli._stdio import InputPath
from xinan.cli.progress import showing_progress
from xinan.cli.vault_cmds import vault_group, vault_option
from xinan.errors import EXIT_ALERT
from xinan.platform.lifecycle import (
    DISPUTE_FLAG,
    TRACKS,
    DisclosureSummary,
    Dispute,
    DisputedPolicy,
    Outcome,
    Repair,
    read_correction,
)
from xinan.platform.service import parse_day

__all__ = ["dispute_group", "repair_group"]


# ============================================================================================
# vault disclose / vault archive
# ============================================================================================
def _disclose_text(s: DisclosureSummary) -> str:
    c = s.counts()
    lines = [
        f"{s.output}: {s.kind} as of {s.as_of} for {s.audience}: written {c['written']} "
        f"(flagged {DISPUTE_FLAG} {c['flagged']}) of {c['candidates']} candidates",
        f"  withheld (natural persons) {c['withheld']}, outside window {c['outside_window']}, "
        f"no facts {c['no_facts']}, repaired {c['repaired']}, removed {c['removed']}, "
        f"under objection withheld {c['disputed_withheld']}, destroyed {c['destroyed']}",
    ]
    if s.reasons:
        lines.append(
            "  outside window by rule: "
            + ", ".join(f"{k} {n}" for k, n in sorted(s.reasons.items()))
        )
    if s.guarded:
        lines.append(f"  guard: {s.guarded} identifier(s) in the wrong column were scrubbed")
    return "\n".join(lines)


@vault_group.command("disclose")
@vault_option
@click.option("--audience", type=click.Choice(["public"]), default="public", show_default=True)
@click.option("--as-of", "as_of", default=None, metavar="YYYY-MM-DD", help="Else today (CST).")
@click.option("-o", "--output", required=True, help="The public file to write (.csv, .jsonl).")
@click.option(
    "--kind",
    callback=kind_name,
    default=None,
    help="Record kind (default: the one kind with windows).",
)
@click.option(
    "--disputed",
    type=click.Choice([p.value for p in DisputedPolicy]),
    default=DisputedPolicy.FLAG.value,
    show_default=True,
    help="Records under objection: shown flagged 异议处理中, or withheld until resolved.",
)
@output_encoding_option("--encoding")
@click.option(
    "--historical",
    is_flag=True,
    help="Allow a past --as-of: the view as it was then, for review, never for publication.",
)
@policy_option
@json_option
def vault_disclose(
    vault_dir: Path | None,
    audience: str,
    as_of: str | None,
    output: str,
    kind: str | None,
    disputed: str,
    output_encoding: str | None,
    historical: bool,
    policy_path: Path | None,
    as_json: bool,
) -> None:
    """The 双公示 public view: records inside their disclosure window on the as-of date,
    masked by the policy's public rules; no natural persons, nothing repaired, removed or
    destroyed. Role platform.

    Windows come from the policy's [disclosure] regimes (2019 / 2023 / 2026 classes, the
    Shandong 5-year cap; the most restrictive wins). Sealed values a public rule shows masked
    (e.g. 法定代表人证件号码 keep(1,1)) are opened in memory only. The summary reconciles:
    candidates = written + withheld + outside window + no facts + repaired + removed +
    withheld under objection + destroyed.

    \b
    Examples:
      xinan --as platform vault disclose --audience public -o public.csv
      xinan --as platform vault disclose --as-of 2026-04-01 -o public-0401.csv --json
    """
    with open_platform(get_env(), vault_dir, policy_path) as p, showing_progress(as_json=as_json):
        s = p.disclose(
            output,
            as_of=parse_day(as_of, "--as-of"),
            historical=historical,
            kind=kind,
            audience=audience,
            disputed=disputed,
            encoding=output_encoding_for(output, output_encoding),
        )
    emit(as_json, s.to_json(), lambda: _disclose_text(s))


@vault_group.command("archive")
@vault_option
@json_option
def vault_archive(vault_dir: Path | None, as_json: bool) -> None:
    """List the archive: records repaired (信用修复) or removed after an objection, kept
    sealed and out of every view. Masked metadata only. Role audit-admin.

    \b
    Examples:
      xinan --as audit-admin vault archive --json
    """
    with open_platform(get_env(), vault_dir) as p:
        rows = p.archive()
    if as_json:
        emit(True, {"records": rows})
        return
    if not rows:
        click.echo("archive is empty")
    for r in rows:
        ref = r.get("repair") or r.get("dispute") or "-"
        click.echo(
            f"{r['record_id']}  {r['kind']}  {r['subject_class']}  {r['cause']} {ref}  "
            f"decided {r.get('decision_date') or '-'}  archived {r['status'].get('archived_at')}"
        )


@vault_group.command("restrict")
@click.argument("record_id")
@vault_option
@click.option(
    "--reason", required=True, help="The subject's request, in short (no ID or phone numbers)."
)
@click.option(
    "--by",
    "by",
    required=True,
    metavar="ID",
    help="Who asked: the subject's ID or USCC (pseudonymised at once), a pseudonym, or an "
    "organisation's name.",
)
@click.option("--received", default=None, metavar="YYYY-MM-DD", help="Else today (CST).")
@policy_option
@json_option
def vault_restrict(
    record_id: str,
    vault_dir: Path | None,
    reason: str,
    by: str,
    received: str | None,
    policy_path: Path | None,
    as_json: bool,
) -> None:
    """Restrict a record at its subject's deletion request before retention ends (PIPL 47):
    it stays stored and sealed, leaves every view and share at once, is listed only in the
    audit administrator's archive, and is destroyed when retention ends (destroy --expired).
    Logged. Role platform or sec-admin (docs/lifecycle.md §8).

    \b
    Examples:
      xinan --as sec-admin vault restrict r3k… --by 91370400MA3C5Y8X2K --reason 申请删除
    """
    with open_platform(get_env(), vault_dir, policy_path) as p:
        r = p.restrict(record_id, by=by, reason=reason, received=parse_day(received, "--received"))
    del by
    emit(
        as_json,
        r.to_json(),
        f"record {r.record_id} restricted (request received {r.received}): out of every view "
        "and share; destroyed when its retention ends",
    )


@vault_group.command("restrictions")
@vault_option
@json_option
def vault_restrictions(vault_dir: Path | None, as_json: bool) -> None:
    """List the records restricted at their subjects' request (metadata only; logged).
    Role platform or sec-admin.

    \b
    Examples:
      xinan --as sec-admin vault restrictions --json
    """
    with open_platform(get_env(), vault_dir) as p:
        rows = p.restrictions()
    if as_json:
        emit(True, {"restrictions": [r.to_json() for r in rows]})
        return
    if not rows:
        click.echo("no record is restricted")
    for r in rows:
        click.echo(
            f"{r.record_id}  received {r.received}  restricted {r.restricted_at}  {r.reason}"
        )


# ============================================================================================
# dispute
# ============================================================================================
@app.group("dispute")
def dispute_group() -> None:
    """Objections (异议): flag a record at once, answer by the deadline, resolve.

    \b
    Examples:
      xinan --as platform dispute open r3k… --reason 处罚已撤销 --by 91370400MA3C5Y8X2K
      xinan --as platform dispute list --overdue
      xinan --as sec-admin dispute resolve d1f… --outcome corrected --correction fix.json
    """


def _dispute_text(d: Dispute, as_of: date | None = None) -> str:
    state = "open" if d.open else f"{d.outcome} {d.resolved_at}"
    late = "  OVERDUE" if as_of is not None and d.overdue(as_of) else ""
    return (
        f"{d.id}  record {d.record_id}  {d.track}  received {d.received}  deadline "
        f"{d.deadline}  {state}{late}  by {d.raised_by}"
    )


@dispute_group.command("open")
@click.argument("record_id")
@vault_option
@click.option("--reason", required=True, help="What is objected to (no ID or phone numbers).")
@click.option(
    "--by",
    "by",
    required=True,
    metavar="ID",
    help="Who raised it: the subject's ID or USCC (pseudonymised at once), a pseudonym, or an "
    "organisation's name.",
)
@click.option(
    "--track",
    type=click.Choice(list(TRACKS)),
    default="own",
    show_default=True,
    help="own: the platform checks its own data (3 working days); assisted: the provider "
    "must help (7 working days); credit: 征信 (20 days). Lengths from the policy.",
)
@click.option("--received", default=None, metavar="YYYY-MM-DD", help="Else today (CST).")
@policy_option
@json_option
def dispute_open(
    record_id: str,
    vault_dir: Path | None,
    reason: str,
    by: str,
    track: str,
    received: str | None,
    policy_path: Path | None,
    as_json: bool,
) -> None:
    """Open an objection: the record is flagged at once (异议处理中 in the public view and in
    vault list/show; left out of every share) and the answer is due by the deadline counted in
    working days on the holiday calendar. Role platform or sec-admin.

    \b
    Examples:
      xinan --as platform dispute open r3k… --reason 罚款已缴清 --by 91370400MA3C5Y8X2K
      xinan --as platform dispute open r3k… --reason 非本单位 --by 枣庄市市场监管局 --track assisted
    """
    with open_platform(get_env(), vault_dir, policy_path) as p:
        d = p.open_dispute(
            record_id,
            reason=reason,
            by=by,
            track=track,
            received=parse_day(received, "--received"),
        )
        today = p.today()
    del by
    emit(
        as_json,
        d.to_json(today),
        f"objection {d.id} on record {d.record_id}: flagged {DISPUTE_FLAG}; answer due by "
        f"{d.deadline} ({d.track}, received {d.received})",
    )


@dispute_group.command("resolve")
@click.argument("dispute_id")
@vault_option
@click.option(
    "--outcome", required=True, type=click.Choice([o.value for o in Outcome]), help="The answer."
)
@click.option(
    "--correction",
    type=InputPath(),
    default=None,
    help="With corrected: a JSON object {field: value} or a CSV field,value of clear fields.",
)
@policy_option
@json_option
def dispute_resolve(
    dispute_id: str,
    vault_dir: Path | None,
    outcome: str,
    correction: Path | None,
    policy_path: Path | None,
    as_json: bool,
) -> None:
    """Resolve an objection. corrected: apply the correction (clear fields only, checked by
    the policy's types) and lift the flag; upheld: lift the flag; removed: the record leaves
    every view and waits for `xinan destroy --record`. Role platform or sec-admin.

    \b
    Examples:
      xinan --as sec-admin dispute resolve d1f… --outcome upheld
      xinan --as sec-admin dispute resolve d1f… --outcome corrected --correction fix.json
    """
    fix = read_correction(correction) if correction is not None else None
    with open_platform(get_env(), vault_dir, policy_path) as p:
        d = p.resolve_dispute(dispute_id, outcome=outcome, correction=fix)
    extra = f"; corrected {', '.join(d.corrected_fields)}" if d.corrected_fields else ""
    if d.outcome == Outcome.REMOVED:
        extra += "; the record left every view (destroy it with xinan destroy --record)"
    emit(
        as_json,
        d.to_json(),
        f"objection {d.id} on record {d.record_id} resolved: {d.outcome}{extra}",
    )


@dispute_group.command("list")
@vault_option
@click.option("--overdue", is_flag=True, help="Only open objections past their deadline.")
@click.option("--open", "open_only", is_flag=True, help="Only open objections.")
@click.option("--as-of", "as_of", default=None, metavar="YYYY-MM-DD", help="Else today (CST).")
@json_option
def dispute_list(
    vault_dir: Path | None, overdue: bool, open_only: bool, as_of: str | None, as_json: bool
) -> None:
    """List objections with their deadlines; --overdue: open ones past the deadline, and
    exit 4 when there is any (an alert for a scheduler; the listing is logged as one).

    \b
    Examples:
      xinan --as platform dispute list --overdue --json
    """
    with open_platform(get_env(), vault_dir) as p:
        day = parse_day(as_of, "--as-of") or p.today()
        if overdue:
            rows = p.overdue_disputes(as_of=day)
        else:
            rows = p.disputes(as_of=day, open_only=open_only)
    if as_json:
        emit(True, {"as_of": day.isoformat(), "disputes": [d.to_json(day) for d in rows]})
    else:
        if not rows:
            click.echo("no objections" + (" overdue" if overdue else ""))
        for d in rows:
            click.echo(_dispute_text(d, day))
    if overdue and rows:
        raise SystemExit(EXIT_ALERT)


# ============================================================================================
# repair
# ============================================================================================
@app.group("repair")
def repair_group() -> None:
    """Credit repair (信用修复): apply (platform), approve or reject (sec-admin).

    \b
    Examples:
      xinan --as platform repair apply r3k… --commitment paper:2026-118 --obligations-met
      xinan --as sec-admin repair approve f4a…
      xinan --as sec-admin repair reject f4a… --reason 罚款未缴清
    """


def _repair_text(r: Repair) -> str:
    return (
        f"repair {r.id} on record {r.record_id}: {r.state}; possible from {r.earliest}; "
        f"obligations {r.obligations}; commitment {r.commitment}"
        + (f"; reason {r.reason}" if r.reason else "")
    )


@repair_group.command("apply")
@click.argument("record_id")
@vault_option
@click.option("--commitment", required=True, metavar="REF", help="The signed 信用承诺书's ref.")
@click.option("--obligations-met", "obligations_met", is_flag=True, help="Checked: performed.")
@click.option("--evidence", default=None, metavar="REF", help="Proof of performance (a ref).")
@policy_option
@json_option
def repair_apply(
    record_id: str,
    vault_dir: Path | None,
    commitment: str,
    obligations_met: bool,
    evidence: str | None,
    policy_path: Path | None,
    as_json: bool,
) -> None:
    """Record a repair application after the checks: minimum disclosure period over (refused
    before it, naming the date), obligations met, commitment given. Role platform.

    \b
    Examples:
      xinan --as platform repair apply r3k… --commitment paper:2026-118 --obligations-met
    """
    with open_platform(get_env(), vault_dir, policy_path) as p:
        r = p.apply_repair(
            record_id, commitment=commitment, obligations_met=obligations_met, evidence=evidence
        )
    emit(as_json, r.to_json(), _repair_text(r))


@repair_group.command("approve")
@click.argument("repair_id")
@vault_option
@policy_option
@json_option
def repair_approve(
    repair_id: str, vault_dir: Path | None, policy_path: Path | None, as_json: bool
) -> None:
    """Approve: the record leaves the public and sharing views and every later share, and is
    kept sealed in the archive only the audit administrator lists. Role sec-admin.

    \b
    Examples:
      xinan --as sec-admin repair approve f4a…
    """
    with open_platform(get_env(), vault_dir, policy_path) as p:
        r = p.approve_repair(repair_id)
    emit(as_json, r.to_json(), _repair_text(r) + "; record archived")


@repair_group.command("reject")
@click.argument("repair_id")
@vault_option
@click.option("--reason", required=True, help="Why (no ID or phone numbers).")
@policy_option
@json_option
def repair_reject(
    repair_id: str, vault_dir: Path | None, reason: str, policy_path: Path | None, as_json: bool
) -> None:
    """Reject an application with a reason; the record stays as it was. Role sec-admin.

    \b
    Examples:
      xinan --as sec-admin repair reject f4a… --reason 未履行行政处罚决定
    """
    with open_platform(get_env(), vault_dir, policy_path) as p:
        r = p.reject_repair(repair_id, reason=reason)
    emit(as_json, r.to_json(), _repair_text(r))


@repair_group.command("list")
@vault_option
@json_option
def repair_list(vault_dir: Path | None, as_json: bool) -> None:
    """List repair applications and decisions. Role sec-admin.

    \b
    Examples:
      xinan --as sec-admin repair list --json
    """
    with open_platform(get_env(), vault_dir) as p:
        rows = p.repairs()
    if as_json:
        emit(True, {"repairs": [r.to_json() for r in rows]})
        return
    if not rows:
        click.echo("no repair applications")
    for r in rows:
        click.echo(_repair_text(r))
