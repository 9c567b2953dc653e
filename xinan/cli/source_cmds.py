"""``xinan source revoke|correct|apply`` (docs/source-change.md): a revocation or correction
at the source, made by the provider and applied by the platform. Parse, call
:mod:`xinan.provider.source_change` / :mod:`xinan.platform.source_changes`, render."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

import click

from xinan.cli._app import app, emit, get_env, json_option
from xinan.cli._common import open_actor, open_platform, policy_option
from xinan.cli._stdio import InputPath
from xinan.cli.progress import showing_progress
from xinan.cli.vault_cmds import vault_option
from xinan.errors import UsageError
from xinan.formats.source_change import Action, SourceChange
from xinan.policy.catalogue import load_policy
from xinan.provider.service import Provider
from xinan.provider.source_change import issue_source_change

__all__: list[str] = []
F = TypeVar("F", bound=Callable[..., Any])


def _day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise UsageError(f"--decided: not a date: {value!r}", hint="use YYYY-MM-DD") from None


@app.group("source")
def source_group() -> None:
    """A decision revoked or changed at its source (山东省社会信用条例 第四十条).

    \b
    Examples:
      xinan --as amr-zaozhuang source revoke RECORD_ID --decided 2026-11-20 \\
          --basis "枣市监撤〔2026〕3号 撤销原处罚决定" -o change.json
      xinan --as amr-zaozhuang source correct RECORD_ID --package fixed.xpkg --decided 2026-11-20 \\
          --basis "枣市监变〔2026〕4号 变更罚款金额" -o change.json
      xinan --as platform source apply change.json [--package fixed.xpkg]
    """


def _issue(
    action: Action,
    records: tuple[str, ...],
    basis: str,
    decided: str,
    output: Path,
    package: Path | None,
    policy_path: Path | None,
    as_json: bool,
) -> None:
    env = get_env()
    with open_actor(env, Provider) as provider:
        change = issue_source_change(
            provider,
            action=action,
            records=records,
            basis=basis,
            decided=_day(decided),
            policy=load_policy(policy_path),
            output=output,
            package=package,
        )
    _render(change, output, as_json)


def _render(change: SourceChange, output: Path, as_json: bool) -> None:
    emit(
        as_json,
        {"file": str(output), **change.to_json()},
        f"{output}: {change.action.value} of {len(change.records)} records ({change.id}), "
        f"signed by {change.sender_id}",
    )


_common = [
    click.argument("records", nargs=-1, required=True),
    click.option("--basis", required=True, help="The source's decision (its reference)."),
    click.option("--decided", required=True, metavar="YYYY-MM-DD", help="Date of the decision."),
    click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=Path)),
    policy_option,
    json_option,
]


def _with_common(f: F) -> F:
    for deco in reversed(_common):
        f = deco(f)
    return f


@source_group.command("revoke")
@_with_common
def source_revoke(
    records: tuple[str, ...],
    basis: str,
    decided: str,
    output: Path,
    policy_path: Path | None,
    as_json: bool,
) -> None:
    """Provider: the decision behind RECORDS was revoked; they must leave every view.

    \b
    Examples:
      xinan source revoke rrqs… --basis 枣市监撤〔2026〕3号 --decided 2026-11-20 -o revoke.json
    """
    _issue(Action.REVOKE, records, basis, decided, output, None, policy_path, as_json)


@source_group.command("correct")
@_with_common
@click.option(
    "--package",
    required=True,
    type=InputPath(),
    help="The sealed package of corrected records (record i replaces RECORDS[i]).",
)
def source_correct(
    records: tuple[str, ...],
    basis: str,
    decided: str,
    output: Path,
    policy_path: Path | None,
    as_json: bool,
    package: Path,
) -> None:
    """Provider: the decision behind RECORDS was changed; PACKAGE's records replace them.

    \b
    Examples:
      xinan source correct rrqs… --basis 枣市监更〔2026〕4号 --decided 2026-11-20 \\
            --package corrected.xpkg -o correct.json
    """
    _issue(Action.CORRECT, records, basis, decided, output, package, policy_path, as_json)


@source_group.command("apply")
@click.argument("change", type=InputPath())
@click.option(
    "--package",
    type=InputPath(),
    default=None,
    help="For a correction: the package of corrected records it names.",
)
@vault_option
@policy_option
@json_option
def source_apply(
    change: Path,
    package: Path | None,
    vault_dir: Path | None,
    policy_path: Path | None,
    as_json: bool,
) -> None:
    """Platform: verify a signed revocation or correction and apply it to every view at once.

    \b
    Exit codes: 0 applied (or applied before); 77 not the records' provider (logged);
    1 an invalid or altered change file (logged).

    \b
    Examples:
      xinan source apply ../amr/revoke.json
      xinan source apply ../amr/correct.json --package ../amr/corrected.xpkg --json
    """
    with open_platform(get_env(), vault_dir, policy_path) as p, showing_progress(as_json=as_json):
        s = p.apply_source_change(change, package=package)
    late = (
        f"; {s.late_days} working days after the deadline {s.deadline}"
        if s.late_days
        else "; the deadline is unknown (no holiday schedule for those dates)"
        if s.late_days is None
        else ""
    )
    emit(
        as_json,
        s.to_json(),
        f"{change}: change {s.change_id} applied before; nothing changed"
        if s.already
        else f"{change}: {s.action} applied: {len(s.records)} records out of every view"
        + (f", replaced by {', '.join(s.replaced_by)}" if s.replaced_by else "")
        + late,
    )
