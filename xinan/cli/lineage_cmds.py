"""``xinan audit lineage``: a record's life in a verified log (docs/report.md §9).

Parse, call :meth:`xinan.auditor.service.Auditor.lineage`, render; the reading is the
library's audited act.
"""

from __future__ import annotations

from pathlib import Path

import click

from xinan.cli._app import emit, get_env, json_option
from xinan.cli._stdio import LOG_NOT_STDIN, NotStdin
from xinan.cli.audit_cmds import _keys, _log, _row, audit, key_option


@audit.command("lineage")
@click.argument("record")
@click.option("--log", "log", type=NotStdin(LOG_NOT_STDIN, dir_okay=False), help="The log.")
@click.option("--package", metavar="ID", help="Also the entries of the package it arrived in.")
@key_option
@json_option
def lineage_cmd(
    record: str, log: Path | None, package: str | None, keys: tuple[str, ...], as_json: bool
) -> None:
    """A record's life in the log, oldest first: ingest, disclosure, shares, objections,
    repairs, source changes, destruction. The log is verified first (nothing is shown from a
    log that does not verify). Audit roles only; the read is logged.

    \b
    Examples:
      xinan --as audit-admin audit lineage r3k7… --package pk1… --json
    """
    from xinan.auditor.audit_report import LogInput
    from xinan.auditor.service import Auditor
    from xinan.cli._common import open_actor

    env = get_env()
    path = _log(log)
    log_keys, witnesses = _keys(keys, path)
    with open_actor(env, Auditor) as auditor:
        lin = auditor.lineage(
            LogInput(path, tuple(log_keys), tuple(witnesses), None), record, package=package
        )
    doc = lin.to_json()
    if as_json:
        emit(True, doc)
        return
    click.echo(f"{lin.record_id}: {len(lin.entries)} entries in {path} (verified, size "
               f"{lin.log['size']})")  # fmt: skip
    for e in lin.entries:
        click.echo(_row(0, e))
