"""``xinan outbox pull`` and ``xinan dispute notify`` (docs/outbox.md): parse, call
:class:`xinan.platform.Platform`, render."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import click

from xinan.cli._app import app, emit, get_env, json_option
from xinan.cli._common import open_platform
from xinan.cli.lifecycle_vault_cmds import dispute_group
from xinan.cli.vault_cmds import vault_option
from xinan.platform.service import parse_day

__all__ = ["outbox_group"]


@app.group("outbox")
def outbox_group() -> None:
    """Change events for subscribers and notices for applicants, pulled as a signed file
    (docs/outbox.md).

    \b
    Examples:
      xinan --as platform outbox pull --after 0 -o events.jsonl
    """


@outbox_group.command("pull")
@vault_option
@click.option("--after", type=click.IntRange(min=0), default=0, show_default=True,
              help="The last sequence number of the previous pull.")  # fmt: skip
@click.option("-o", "--output", "output", required=True, type=click.Path(dir_okay=False,
              path_type=Path), help="Where to write the signed file.")  # fmt: skip
@json_option
def outbox_pull(vault_dir: Path | None, after: int, output: Path, as_json: bool) -> None:
    """Write the events and notices after --after to a file signed by the platform key
    (logged). Role platform. Pass the printed `last` as --after next time.

    \b
    Examples:
      xinan --as platform outbox pull --after 17 -o events.jsonl
    """
    with open_platform(get_env(), vault_dir) as p:
        done = p.pull_outbox(output, after=after)
    emit(as_json, dataclasses.asdict(done),
         f"{done.path}: {done.count} event(s) after {done.after}; last {done.last}")  # fmt: skip


@dispute_group.command("notify")
@vault_option
@click.option("--as-of", "as_of", default=None, metavar="YYYY-MM-DD", help="Else today (CST).")
@json_option
def dispute_notify(vault_dir: Path | None, as_of: str | None, as_json: bool) -> None:
    """Put a notice for the applicant in the outbox for every open objection past its
    deadline that has none yet (logged). Role platform or sec-admin.

    \b
    Examples:
      xinan --as platform dispute notify
    """
    with open_platform(get_env(), vault_dir) as p:
        n = p.notify_overdue(as_of=parse_day(as_of, "--as-of"))
    emit(as_json, {"notices": n}, f"{n} overdue objection notice(s) put in the outbox")
