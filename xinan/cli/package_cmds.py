"""Sealed packages: ``xinan seal`` (provider), ``xinan verify`` (anyone), ``xinan open``."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import click

from xinan.cli._app import app, emit, get_env, json_option
from xinan.cli._common import (
    kind_name,
    load_pseudonymizers,
    open_actor,
    output_encoding_option,
    parse_audiences,
    policy_option,
    today_option,
    workers_option,
)
from xinan.cli._common import output_encoding as output_encoding_for
from xinan.cli._stdio import DashPath, InputPath, RecordsArg, input_file, replayable_stdin
from xinan.cli.progress import progress_for, showing_progress
from xinan.engine.jobs import compile_for
from xinan.errors import EXIT_PARTIAL, UsageError
from xinan.formats.grant import read_grant
from xinan.keys import Keyring
from xinan.platform.submissions import Desk
from xinan.policy.catalogue import load_policy
from xinan.provider.service import Provider
from xinan.querent.open_share import WITHHELD
from xinan.querent.provenance import provenance_path
from xinan.querent.service import Querent
from xinan.short_ids import grant_display


@app.command()
@click.argument("file", type=RecordsArg())
@click.option("-o", "--output", required=True, help="The package to write (.xpkg).")
@click.option(
    "--from", "sender", default=None, metavar="KEY_ID", help="Sender key (default: --as)."
)
@click.option(
    "--to",
    "recipients",
    multiple=True,
    required=True,
    metavar="KEY_ID",
    help="Recipient (repeatable, at most 16).",
)
@click.option(
    "--rejects",
    type=click.Path(dir_okay=False),
    default=None,
    help="Write rejected rows and reasons here.",
)
@click.option(
    "--views",
    "views",
    multiple=True,
    metavar="AUDIENCES",
    help="Also write these masked views in the same pass (e.g. public,gov_share).",
)
@click.option(
    "--views-output",
    default=None,
    metavar="PATTERN",
    help="Where the views go; must contain {audience} (default: <package>-{audience}.csv).",
)
@output_encoding_option("--out-encoding")
@click.option(
    "--pseudonym-key",
    "pseudonym_keys",
    multiple=True,
    envvar="XINAN_PSEUDONYM_KEY",
    metavar="KEY_ID",
    help="Keyring secret for keyed pseudonyms in the views (else $XINAN_PSEUDONYM_KEY).",
)
@click.option(
    "--kind",
    callback=kind_name,
    default=None,
    help="Record kind (default: matched from the header).",
)
@click.option("--encoding", default=None, help="Input encoding (default: detect).")
@workers_option
@policy_option
@today_option
@json_option
def seal(
    file: str,
    output: str,
    sender: str | None,
    recipients: tuple[str, ...],
    rejects: str | None,
    views: tuple[str, ...],
    views_output: str | None,
    output_encoding: str | None,
    pseudonym_keys: tuple[str, ...],
    kind: str | None,
    encoding: str | None,
    workers: int | None,
    policy_path: Path | None,
    today: date,
    as_json: bool,
) -> None:
    """Validate FILE, mask it for submission, seal the sensitive fields and sign it.

    Only the recipients' keys open the sealed fields; anyone with the sender's public key can
    check who sent what, and any change to any byte is caught. Rejected rows go to --rejects.

    With --views, the masked views for those audiences are written in the same pass over the
    export (a provider's whole job in one read): one rejects file, one summary in which
    read = sealed + rejected and, per view, read = written + withheld + rejected. Runs on
    every core (--workers); on a terminal, progress goes to stderr.

    \b
    Exit codes: 0 sealed, no rejects; 3 sealed, some rows rejected; 65 input unusable.

    \b
    Examples:
      xinan --as amr-zaozhuang seal export.csv -o export.xpkg --to platform --rejects rej.csv
      xinan --as amr-zaozhuang seal export.csv -o export.xpkg --to platform \\
          --views public,gov_share --pseudonym-key subject-ps --rejects rej.csv
    """
    env = get_env()
    if sender and env.identity and sender != env.identity:
        raise UsageError("--from and --as name different keys", hint="the sender is the actor")
    env.identity = env.identity or sender
    pol = load_policy(policy_path)
    auds = parse_audiences(views, pol) if views else []
    pattern = views_output or str(Path(output).with_suffix("")) + "-{audience}.csv"
    if auds and "{audience}" not in pattern:
        raise UsageError(
            "--views-output must contain {audience}",
            hint="e.g. --views-output 'out-{audience}.csv'",
        )
    view_paths = {a: pattern.replace("{audience}", a) for a in auds}
    progress = progress_for(as_json=as_json)
    with open_actor(env, Provider) as provider, replayable_stdin(file) as rewind:
        needed: set[str] = set()
        if auds:
            plan = compile_for(
                pol, file, audiences=tuple(auds), kind=kind, encoding=encoding, today=today
            )
            needed = plan.pseudonym_namespaces()
        rewind()  # `seal -`: the job reads standard input again from its start
        summary = provider.seal(
            file,
            output,
            policy=pol,
            recipients=recipients,
            today=today,
            kind=kind,
            encoding=encoding,
            rejects=rejects,
            views=view_paths,
            pseudonymizers=load_pseudonymizers(env, pseudonym_keys, needed),
            out_encoding=output_encoding_for(pattern, output_encoding),
            workers=workers,
            progress=progress,
        )
        if progress is not None:
            progress.done()

    def text() -> str:
        lines = [
            f"{summary.package}: package {summary.package_id} ({summary.suite}), "
            f"kind {summary.kind}",
            f"read {summary.read}, sealed {summary.sealed}, rejected {summary.rejected}"
            + (f" → {rejects}" if rejects and summary.rejected else ""),
            f"recipients: {', '.join(summary.recipients)}",
        ]
        if summary.views is not None:
            for a, c in summary.views.per_audience.items():
                lines.append(
                    f"view {a}: written {c.written}, withheld {c.withheld}, "
                    f"rejected {c.rejected} → {summary.views.outputs[a]}"
                )
        return "\n".join(lines)

    # With -o -, stdout carries the package only: the summary (or --json) goes to stderr.
    emit(as_json, summary.to_json(), text, stdout_busy=output == "-" or rejects == "-")
    if summary.rejected:
        raise SystemExit(EXIT_PARTIAL)


def _info_json(info: Any) -> dict[str, Any]:
    return {
        "package_id": info.package_id,
        "suite": info.suite.value,
        "audience": info.audience,
        "sender": info.sender,
        "created": info.created,
        "policy": f"{info.policy_id}@{info.policy_version}",
        "kind": info.kind,
        "records": info.count,
        "grant": info.grant,
        "recipients": list(info.recipients),
        "clear_fields": list(info.clear_fields),
        "sealed_fields": list(info.sealed_fields),
    }


@app.command()
@click.argument("package", type=DashPath(exists=False))
@workers_option
@json_option
def verify(package: Path, workers: int | None, as_json: bool) -> None:
    """Check a package's signature against the trust store and the integrity of every record.

    Prints sender, suite and record count; exit 1 naming the reason on any failure. Needs
    public keys only and asks for no passphrase; with --as (or $XINAN_IDENTITY) the check is
    made as that identity and logged (`vault ingest` verifies again and logs in any case).

    \b
    Examples:
      xinan verify export.xpkg
      xinan --as platform verify export.xpkg --json
    """
    env = get_env()
    ring = Keyring(env.keyring)
    with (
        input_file(package, "package") as path,  # `verify -`: a package on stdin
        showing_progress(as_json=as_json),
    ):
        if env.identity_given:
            with open_actor(env, Desk) as desk:
                info = desk.verify(path, workers=workers)
        else:
            from xinan.platform.submissions import verify_package_file

            info = verify_package_file(path, ring, workers=workers)
    sender = ring.get_public(info.sender)
    emit(
        as_json,
        _info_json(info) | {"sender_id": sender.id, "sender_role": sender.role.value},
        f"ok: {package}: package {info.package_id} ({info.audience}, {info.suite.value})\n"
        f"sender {sender.id} ({sender.role.value}) {info.sender}\n"
        f"{info.count} records of kind {info.kind}, policy {info.policy_id}@{info.policy_version}",
    )


@app.command("open")
@click.argument("package", type=DashPath(exists=False))
@click.option(
    "-o", "--output", required=True, help="Where to write the opened records (CSV/JSONL)."
)
@click.option(
    "--key", "key", default=None, metavar="KEY_ID", help="The recipient key (default: --as)."
)
@click.option(
    "--grant",
    "grant_file",
    type=InputPath(),
    default=None,
    help="Querent: the grant this share was built for (opens a share package).",
)
@click.option(
    "--revocations",
    "revocations_file",
    type=InputPath(),
    default=None,
    help="Querent: the platform's signed revocation list, checked before the grant.",
)
@click.option(
    "--release",
    "release_file",
    type=InputPath(),
    default=None,
    help="Querent: the platform's release file for this share (`xinan release`).",
)
@workers_option
@output_encoding_option()
@json_option
def open_cmd(
    package: Path,
    output: str,
    output_encoding: str | None,
    key: str | None,
    grant_file: Path | None,
    revocations_file: Path | None,
    release_file: Path | None,
    workers: int | None,
    as_json: bool,
) -> None:
    """Verify the whole package, log the access, then decrypt what KEY may open.

    No plaintext is written when anything fails; the output appears only when complete.
    A querent opens a share with --grant: the grant is verified (platform signature, time,
    binding to KEY, revocation list when given) and only the granted fields are written.
    A share is released per record: it also needs the platform's release file (--release,
    made by `xinan release` when the querent is about to open). Records the platform withheld
    (destroyed, or no longer releasable) are counted and not written.

    \b
    Examples:
      xinan --as platform open export.xpkg -o opened.csv
      xinan --as bank-a open share.xpkg --grant bank.grant --release bank.release -o out.csv \\
            --revocations revocations.json
    """
    env = get_env()
    if key and env.identity and key != env.identity:
        raise UsageError("--key and --as name different keys", hint="open as the key's holder")
    env.identity = env.identity or key
    if grant_file is not None:
        token = read_grant(grant_file)
        revocations = revocations_file.read_bytes() if revocations_file else None
        release = release_file.read_bytes() if release_file else None
        with (
            open_actor(env, Querent) as querent,
            input_file(package, "package") as path,
            showing_progress(as_json=as_json),
        ):
            res = querent.open_share(
                path,
                output,
                grant_token=token,
                release=release,
                revocations=revocations,
                workers=workers,
                encoding=output_encoding_for(output, output_encoding),
            )
        prov = provenance_path(output)
        emit(
            as_json,
            _info_json(res.info)
            | {
                "output": output,
                "written": res.written,
                "fields": list(res.columns[1:]),
                "release": res.release_id,
                "withheld": res.withheld,
                "withheld_ids": list(res.withheld_ids),
                "grant": grant_display(res.claims.jti),
                "purpose": res.claims.purpose,
                "provenance": str(prov) if prov else None,
            },
            f"{package}: opened {res.written} records of share {res.info.package_id} "
            f"(grant {grant_display(res.claims.jti)}: {', '.join(res.columns[1:])}) → {output}\n"
            f"purpose {res.claims.purpose}, consent {res.claims.consent_id}, grant valid until "
            f"{res.claims.expires.isoformat()}"
            + (f"; provenance → {prov}" if prov else "")
            + (f"\n{res.withheld} record(s) {WITHHELD}, not written" if res.withheld else ""),
            stdout_busy=output == "-",
        )
        return
    if revocations_file is not None or release_file is not None:
        raise UsageError("--revocations and --release go with --grant (opening a share)")
    with (
        open_actor(env, Desk) as desk,
        input_file(package, "package") as path,
        showing_progress(as_json=as_json),
    ):
        result = desk.open_submission(
            path,
            output,
            workers=workers,
            encoding=output_encoding_for(output, output_encoding),
        )
    emit(
        as_json,
        _info_json(result.info) | {"output": output, "written": result.written},
        f"{package}: opened {result.written} records of {result.info.package_id} → {output}",
        stdout_busy=output == "-",
    )
