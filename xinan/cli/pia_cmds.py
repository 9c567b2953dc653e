"""``xinan pia add|list|purge``: personal-information protection impact assessments
(个人信息保护影响评估; docs/lifecycle.md §9). Parse, call :class:`xinan.platform.Platform`,
render."""

from __future__ import annotations

from pathlib import Path

import click

from xinan.cli._app import app, emit, get_env, json_option
from xinan.cli._common import open_platform, policy_option
from xinan.cli.vault_cmds import vault_option
from xinan.platform.pia import Pia
from xinan.platform.service import parse_day

__all__ = ["pia_group"]


def _text(p: Pia) -> str:
    return (
        f"{p.id}  {p.purpose}  {','.join(p.fields)}  ref {p.ref}  assessed {p.assessed_on}  "
        f"kept until {p.keep_until}"
    )


@app.group("pia")
def pia_group() -> None:
    """Impact assessments (个人信息保护影响评估, PIPL art. 55–56): kept at least three years;
    a consent for consent-gated sensitive fields names one (consent add --pia) or a legal
    basis (--basis). Role sec-admin.

    \b
    Examples:
      xinan --as sec-admin pia add --purpose 信易贷授信审查 --fields 个人年收入 --ref PIA-2026-07 \\
            --conclusion 风险可控
      xinan --as sec-admin pia list
    """


@pia_group.command("add")
@vault_option
@click.option("--purpose", required=True, help="The purpose assessed.")
@click.option("--fields", required=True, help="Comma-separated field names or keys assessed.")
@click.option("--ref", required=True, help="The assessment report's reference (no IDs).")
@click.option("--conclusion", required=True, help="The report's conclusion, in short.")
@click.option("--assessed", default=None, metavar="YYYY-MM-DD", help="Else today (CST).")
@policy_option
@json_option
def pia_add(
    vault_dir: Path | None,
    purpose: str,
    fields: str,
    ref: str,
    conclusion: str,
    assessed: str | None,
    policy_path: Path | None,
    as_json: bool,
) -> None:
    """Record an impact assessment (logged); it is kept three years from the day it was made.

    \b
    Examples:
      xinan --as sec-admin pia add --purpose 信易贷授信审查 --fields 个人年收入 --ref PIA-2026-07 \\
            --conclusion 风险可控 --assessed 2026-11-20
    """
    with open_platform(get_env(), vault_dir, policy_path) as p:
        pia = p.add_pia(
            purpose=purpose,
            fields=[f for f in fields.split(",") if f.strip()],
            ref=ref,
            conclusion=conclusion,
            assessed_on=parse_day(assessed, "--assessed"),
        )
    emit(as_json, pia.to_json(), f"PIA recorded: {_text(pia)}")


@pia_group.command("list")
@vault_option
@json_option
def pia_list(vault_dir: Path | None, as_json: bool) -> None:
    """List the impact assessments kept (logged).

    \b
    Examples:
      xinan --as sec-admin pia list --json
    """
    with open_platform(get_env(), vault_dir) as p:
        rows = p.pias()
    if as_json:
        emit(True, {"pias": [r.to_json() for r in rows]})
        return
    if not rows:
        click.echo("no PIA is kept")
    for r in rows:
        click.echo(_text(r))


@pia_group.command("purge")
@vault_option
@click.option("--id", "ids", multiple=True, metavar="ID", help="Only this PIA (repeatable).")
@json_option
def pia_purge(vault_dir: Path | None, ids: tuple[str, ...], as_json: bool) -> None:
    """Delete the assessments kept three years and backing no consent in force (logged). A
    younger one named is refused (exit 77, logged) and nothing is deleted.

    \b
    Examples:
      xinan --as sec-admin pia purge
    """
    with open_platform(get_env(), vault_dir) as p:
        gone = p.purge_pias(ids=list(ids))
    emit(
        as_json,
        {"purged": gone},
        f"purged {len(gone)} PIA(s)" + (": " + ", ".join(gone) if gone else ""),
    )
