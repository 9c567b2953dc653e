"""``xinan audit …``: the auditor's commands (docs/audit-log.md §11).

Parse, call :mod:`xinan.audit`, render. None of these commands writes to the log.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import click

from xinan.access import (
    AuditConfig,
    authenticate_reader,
    init_audit_log,
    load_audit_config,
    log_verifiers,
    note_verifier,
)
from xinan.audit.entry import looks_like_resident_id, parse_time
from xinan.audit.log import _last_record, filter_time, read_entries
from xinan.audit.note import SIG_TYPE_COSIGNATURE_V1, NoteVerifier, looks_like_vkey
from xinan.audit.proof import check_proof, prove_consistency, prove_inclusion
from xinan.audit.verify import load_trusted, verify_log
from xinan.cli._app import app, emit, get_env, json_option, note
from xinan.cli._common import read_passphrase, verifier_keys
from xinan.cli._stdio import LOG_NOT_STDIN, DashPath, InputPath, NotStdin, read_bytes
from xinan.errors import AuditError, AuditViolation, UsageError, VerificationError
from xinan.keys import Keyring, read_public_file

__all__ = ["audit"]


def default_log() -> Path:
    return get_env().log_path()


def _log(arg: Path | None) -> Path:
    return arg if arg is not None else default_log()


def _keys(
    args: tuple[str, ...], log: Path | None = None
) -> tuple[list[NoteVerifier], list[NoteVerifier]]:
    """Split ``--key`` values into log keys and witness (cosignature/v1) keys.

    A value is a vkey, a file of vkeys, or a xinan public key file (``.pub``, whose verifier is
    named after the log's origin). With no ``--key``, the log's own key from its configuration
    and the trust store is used: the auditor's own copy of that public key is what makes the
    check independent of whoever wrote the log.
    """
    logs: list[NoteVerifier] = []
    witnesses: list[NoteVerifier] = []
    for a in args:
        for v in _load_key(a, log):
            (witnesses if _is_witness(v) else logs).append(v)
    if not args and log is not None and AuditConfig.path_for(log).exists():
        logs = log_verifiers(log, Keyring(get_env().keyring))
    return logs, witnesses


def _load_key(arg: str, log: Path | None) -> list[NoteVerifier]:
    if not looks_like_vkey(arg):
        p = Path(arg)
        try:
            key_file = p.is_file() and p.read_bytes()[:1] == b"{"
        except OSError:  # e.g. a name too long to be a path: verifier_keys says what it is
            key_file = False
        if key_file:
            info = read_public_file(p)
            if log is None:
                raise UsageError(f"{arg}: a xinan key file needs the log it signs")
            return [note_verifier(load_audit_config(log).origin, info)]
    return verifier_keys(arg)


def _require_reader(what: str) -> None:
    """GB/T 22239-2019 8.1.4.2/8.1.4.3: only the audit administrator (and auditors) read the
    entries; checking the log's integrity (verify, checkpoint, check-proof) is open to anyone
    with the public keys."""
    from xinan.cli._common import read_tokens, utc_now

    env = get_env()
    authenticate_reader(
        keyring=Keyring(env.keyring),
        identity=env.identity,
        passphrase=read_passphrase,
        operation="audit.read",
        clock=utc_now,
        tokens=read_tokens(),
        what=what,
    )


def _is_witness(v: NoteVerifier) -> bool:
    from xinan.audit.note import CosignatureVerifier

    return isinstance(v, CosignatureVerifier) or getattr(v, "sig_type", None) == (
        SIG_TYPE_COSIGNATURE_V1
    )


def _time(s: str | None) -> datetime | None:
    if s is None:
        return None
    try:
        return parse_time(s if ("T" in s or " " in s) else s + "T00:00:00+00:00")
    except ValueError:
        raise UsageError(
            f"not a time with a zone: {s!r}", hint="use e.g. 2025-05-01 or 2025-05-01T08:00:00Z"
        ) from None


log_argument = click.argument("log", required=False, type=NotStdin(LOG_NOT_STDIN, dir_okay=False))
key_option = click.option(
    "--key",
    "keys",
    multiple=True,
    metavar="VKEY|FILE",
    help="Verifier key (name+hash+base64) or a file of them; repeatable. "
    "Witness (cosignature) keys are required on the trusted checkpoint.",
)


@app.group("audit")
def audit() -> None:
    """Auditor: verify the signed audit log, prove entries, list who did what.

    \b
    Examples:
      xinan audit verify --key "$(cat log.vkey)" --trusted-checkpoint last.cp
      xinan audit checkpoint > last.cp
      xinan audit prove 42 > e42.tlog-proof
      xinan audit check-proof e42.tlog-proof --checkpoint last.cp --key log.vkey
      xinan audit subject hm1:6f1c0b7e2a9d4c33
    """


@audit.command("init")
@log_argument
@click.option(
    "--key",
    "log_key",
    default=None,
    metavar="KEY_ID",
    help="A keyring identity that signs checkpoints (a provider's or querent's own log). "
    "Default: the log's own service-held signer (docs/audit-log.md §12).",
)
@click.option(
    "--suite",
    type=click.Choice(["intl", "gm"]),
    default=None,
    help="The service signer's suite: intl (Ed25519, SHA-256) or gm (SM2, SM3). "
    "Default: gm under XINAN_COMPLIANCE=gm-only or when every key pair of the keyring is "
    "gm, else intl.",
)
@click.option(
    "--secret-file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Where the logging service's secret goes (mode 0600; default service/<LOG>.secret "
    "beside the log). Keep it where only the logging service's account can read it.",
)
@click.option(
    "--origin", default=None, help="The log's name on its checkpoints (default from the key)."
)
@json_option
def init_cmd(
    log: Path | None,
    log_key: str | None,
    suite: str | None,
    secret_file: Path | None,
    origin: str | None,
    as_json: bool,
) -> None:
    """Set up an audit log and the signer of its checkpoints.

    By default the log gets its own signer (log-signer), wrapped under a service secret
    outside the keyring: no administrator's key, passphrase or token can sign its
    checkpoints (三权分立), and nobody is asked a passphrase to write to it. With --key, a
    keyring identity signs instead (never an administrator's key).
    Every command that touches credit data, keys, policies or grants then appends to it.

    \b
    Examples:
      xinan audit init
      xinan audit init /var/lib/xinan/audit.log --secret-file /etc/xinan/log.secret
      xinan audit init --key amr-zaozhuang          # a provider's own log
    """
    from xinan.cli._common import utc_now

    env = get_env()
    path = _log(log)
    ring = Keyring(env.keyring)
    cfg = init_audit_log(
        path,
        keyring=ring,
        log_key=log_key,
        origin=origin,
        suite=suite,
        secret_file=secret_file,
        now=utc_now(),
    )
    vkey = log_verifiers(path, ring)[0]
    signer = f"{cfg.log_key} {cfg.log_key_id}"
    if cfg.is_service:
        signer += f" (held by the logging service; secret {cfg.secret_file}, keep it 0600)"
    emit(
        as_json,
        {
            "log": str(path),
            "origin": cfg.origin,
            "hash": cfg.hash,
            "signer": cfg.signer,
            "log_key": cfg.log_key,
            "log_key_id": cfg.log_key_id,
            "vkey": _vkey_text(vkey),
        },
        f"audit log {path} (origin {cfg.origin}, {cfg.hash}), checkpoints signed by "
        f"{signer}\nverifier key for auditors: {_vkey_text(vkey)}",
    )


def _vkey_text(v: NoteVerifier) -> str:
    fmt = getattr(v, "vkey", None)
    if callable(fmt):
        return str(fmt())
    from xinan.audit.note import SIG_TYPE_SM2, format_vkey

    return format_vkey(v.name, SIG_TYPE_SM2, getattr(v, "public_key", b""))


@audit.command("vkey")
@log_argument
@json_option
def vkey_cmd(log: Path | None, as_json: bool) -> None:
    """Print the log's verifier key (name+hash+base64), for auditors and standard tools.

    \b
    Examples:
      xinan audit vkey > log.vkey
      xinan audit vkey audit/audit.log --json
    """
    path = _log(log)
    vkey = _vkey_text(log_verifiers(path, Keyring(get_env().keyring))[0])
    emit(as_json, {"log": str(path), "vkey": vkey}, vkey)


@audit.command("prune")
@log_argument
@click.option(
    "--policy",
    "policy_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Policy whose [retention] audit_log_days applies (default: built-in).",
)
@json_option
def prune_cmd(log: Path | None, policy_path: Path | None, as_json: bool) -> None:
    """Remove the entries older than the policy's retention (audit-admin only).

    Only whole prefixes go, never below six months (网络安全法 第二十一条); what verification
    needs is kept, so `audit verify` still passes and proofs of later entries still check.
    The pruning itself is recorded in the log.

    \b
    Examples:
      xinan --as audit-admin audit prune --json
    """
    from xinan.auditor.service import Auditor
    from xinan.cli._common import open_actor
    from xinan.policy.catalogue import load_policy

    env = get_env()
    pol = load_policy(policy_path)
    if pol.lifecycle is None:
        raise UsageError("the policy has no [retention] table", hint="use a xinan-policy/2 policy")
    days = pol.lifecycle.retention.audit_log_days
    if log is not None:
        env.audit_log = log
    with open_actor(env, Auditor) as auditor:
        result = auditor.prune(retention_days=days)
    emit(
        as_json,
        {
            "pruned": result.entries,
            "prune_point": result.size,
            "cutoff": result.cutoff.isoformat(),
            "retention_days": days,
        },
        f"pruned {result.entries} entries older than {result.cutoff:%Y-%m-%d} "
        f"(retention {days} days); verification still covers the rest",
    )


@audit.command("repair")
@log_argument
@json_option
def repair_cmd(log: Path | None, as_json: bool) -> None:
    """Move what a crash cut short aside, and record that in the log.

    Audit administrator only. A commit cut short (its signed intent announced more than
    reached the log) goes to <LOG>.torn-<offset>-<random>, a torn checkpoint record to
    <LOG>.checkpoints.torn-<offset>-<random>, both kept as evidence; `audit verify` passes
    again afterwards. Entries that no signature of the log key vouches for are never adopted:
    repair refuses them, and the log is restored from a backup (docs/audit-log.md §7).

    \b
    Examples:
      xinan --as audit-admin audit repair
    """
    from xinan.access import log_signer
    from xinan.audit.log import AuditLog
    from xinan.cli._common import utc_now

    env = get_env()
    path = _log(log)
    ring = Keyring(env.keyring)
    from xinan.access import authenticate_deferred
    from xinan.cli._common import read_tokens

    # the log cannot take an entry until it is repaired: a refusal is logged after the repair
    authenticate_deferred(
        keyring=ring,
        identity=env.identity,
        passphrase=read_passphrase,
        operation="audit.repair",
        clock=utc_now,
        tokens=read_tokens(),
    )
    cfg = load_audit_config(path)
    signer = log_signer(path, cfg, keyring=ring, passphrase=read_passphrase)
    with AuditLog.open(
        path, hash=cfg.hash, signer=signer, origin=cfg.origin, clock=utc_now, allow_torn=True
    ) as a:
        moved = a.quarantine_torn_tail()
    emit(
        as_json,
        {"log": str(path), "bytes_moved": moved},
        f"{path}: moved {moved} bytes of an interrupted write aside (recorded as audit.quarantine)"
        if moved
        else f"{path}: no torn tail; nothing to do",
    )


@audit.command("verify")
@log_argument
@click.option(
    "--trusted-checkpoint",
    type=InputPath(),
    help="A signed checkpoint you kept earlier: the log must extend it.",
)
@key_option
@json_option
def verify_cmd(
    log: Path | None, trusted_checkpoint: Path | None, keys: tuple[str, ...], as_json: bool
) -> None:
    """Recompute every leaf and root, check every checkpoint; name any violation.

    Exit 0 only when everything holds.

    \b
    Examples:
      xinan audit verify
      xinan audit verify ../plat/audit/audit.log --json
      xinan audit verify audit/audit.log --key log.vkey --trusted-checkpoint cp
    """
    path = _log(log)
    logs, witnesses = _keys(keys, path)
    trusted = load_trusted(trusted_checkpoint) if trusted_checkpoint else None
    try:
        report = verify_log(path, keys=logs, witnesses=witnesses, trusted_checkpoint=trusted)
    except AuditViolation as exc:
        if exc.report is not None:
            if as_json:
                emit(True, exc.report.to_json())
            else:
                for extra in exc.report.violations[1:]:
                    note(f"xinan: also: {extra.message}")
        raise
    emit(
        as_json,
        report.to_json(),
        f"ok: {path}: {report.size} entries"
        + (f" ({report.pruned} pruned)" if report.pruned else "")
        + f", {report.checkpoints} checkpoints, root {report.to_json()['root']}"
        + (f", extends trusted size {report.trusted_size}" if report.trusted_size else ""),
    )


@audit.command("checkpoint")
@log_argument
@json_option
def checkpoint_cmd(log: Path | None, as_json: bool) -> None:
    """Print the latest signed checkpoint (a C2SP signed note).

    \b
    Examples:
      xinan audit checkpoint > cp
      xinan audit checkpoint ../plat/audit/audit.log --json
    """
    path = _log(log)
    rec, _, torn = _last_record(Path(str(path) + ".checkpoints"))
    if rec is None:
        raise AuditError(
            f"{path}: no signed checkpoint"
            + (f" (torn record at byte {torn})" if torn is not None else ""),
            hint="is this the right log? (--audit-log / XINAN_AUDIT_LOG)",
        )
    if as_json:
        emit(True, {"log": str(path), "checkpoint": rec.note.decode()})
        return
    click.echo(rec.note.decode(), nl=False)


@audit.command("prove")
@click.argument("n", required=False, metavar="[N]")
@click.argument("log", required=False, metavar="[LOG]")
@click.option("--from", "old_size", type=int, help="Consistency proof from this old tree size.")
@json_option
def prove_cmd(n: str | None, log: str | None, old_size: int | None, as_json: bool) -> None:
    """Print an inclusion proof for entry N, or a consistency proof --from OLD_SIZE.

    \b
    Examples:
      xinan --as audit-admin audit prove 3 > e3.proof
      xinan --as audit-admin audit prove --from 2 --json
    """
    _require_reader(f"prove {n or ''} {log or ''}".strip())
    if old_size is not None:
        if n is not None and log is not None:
            raise UsageError("with --from, give only LOG")
        given = n if n is not None else log
        path = _log(Path(given) if given else None)
        _proof_out(as_json, path, prove_consistency(path, old_size))
        return
    if n is None or not n.isdigit():
        raise UsageError("give N (an entry's seq) or --from OLD_SIZE")
    path = _log(Path(log) if log else None)
    _proof_out(as_json, path, prove_inclusion(path, int(n)))


def _proof_out(as_json: bool, path: Path, proof: str) -> None:
    if as_json:
        emit(True, {"log": str(path), "proof": proof})
    else:
        click.echo(proof, nl=False)


@audit.command("check-proof")
@click.argument("proof", type=DashPath())
@click.option(
    "--checkpoint",
    required=True,
    type=InputPath(),
    help="The trusted checkpoint (for --from proofs: the old one).",
)
@click.option(
    "--entry",
    type=InputPath(),
    help="The entry's line (else the proof's extra data).",
)
@key_option
@json_option
def check_proof_cmd(
    proof: Path, checkpoint: Path, entry: Path | None, keys: tuple[str, ...], as_json: bool
) -> None:
    """Verify a proof offline. Exit 0 only when it holds, signatures included.

    The checkpoint's signature is checked with --key, else with the log's own key (from the
    log's configuration and the trust store). A proof is never called good against an
    unsigned or unverified checkpoint.

    \b
    Examples:
      xinan audit check-proof e3.proof --checkpoint cp --key log.vkey
    """
    logs, _ = _keys(keys, default_log() if not keys else None)
    if not logs:
        raise UsageError(
            "no key to check the checkpoint's signature with",
            hint="pass --key VKEY|FILE (the log's verifier key: `xinan audit vkey` on its host)",
        )
    data = entry.read_bytes().rstrip(b"\n") if entry else None
    res = check_proof(read_bytes(proof), checkpoint.read_bytes(), entry=data, keys=tuple(logs))
    if not res.signatures_checked:
        raise VerificationError("the checkpoint carries no signature by the given key")
    out: dict[str, Any] = {
        "ok": True,
        "kind": res.kind,
        "origin": res.origin,
        "size": res.size,
        "index": res.index,
        "old_size": res.old_size,
        "signatures_checked": res.signatures_checked,
    }
    text = (
        f"ok: entry {res.index} is in {res.origin} at size {res.size}"
        if res.kind == "inclusion"
        else f"ok: {res.origin} size {res.size} extends size {res.old_size}"
    )
    emit(as_json, out, text)


def _row(offset: int, e: dict[str, Any]) -> str:
    why = e["why"]
    reason = why.get("purpose") or why.get("basis") or ""
    grant = f" grant={why['grant']}" if "grant" in why else ""
    return (
        f"{e['seq']:>7} {e['time']} {e['actor']['key_id']}({e['actor']['role']}) "
        f"{e['type']} {e['outcome']}" + (f" why={reason}" if reason else "") + grant
    )


@audit.command("show")
@log_argument
@json_option
@click.option("--type", "type_", metavar="T", help="Only this event type (or prefix with '.').")
@click.option("--actor", metavar="ID", help="Only this actor key id.")
@click.option("--since", metavar="T", help="From this time (inclusive).")
@click.option("--until", metavar="T", help="Before this time.")
def show_cmd(
    log: Path | None,
    as_json: bool,
    type_: str | None,
    actor: str | None,
    since: str | None,
    until: str | None,
) -> None:
    """List entries (display only: `audit verify` checks integrity). Audit roles only.

    \b
    Examples:
      xinan --as audit-admin audit show --type grant --since 2026-11-01
      xinan --as auditor audit show ../plat/audit/audit.log --json
    """
    _require_reader(f"show {log or ''} type={type_ or '*'} actor={actor or '*'}")
    t0, t1 = _time(since), _time(until)
    for off, e in read_entries(_log(log)):
        if type_ and not (
            e["type"] == type_ or (type_.endswith(".") and e["type"].startswith(type_))
        ):
            continue
        if actor and e["actor"]["key_id"] != actor:
            continue
        if not filter_time(e, t0, t1):
            continue
        click.echo(json.dumps(e, ensure_ascii=False) if as_json else _row(off, e))


@audit.command("subject")
@click.argument("ref")
@log_argument
@json_option
def subject_cmd(ref: str, log: Path | None, as_json: bool) -> None:
    """Who touched the data of the subject with pseudonym REF: when, what, why. Audit roles only.

    \b
    Examples:
      xinan --as audit-admin audit subject ps1.xs1….vxx… --json
    """
    _require_reader(f"subject {log or ''}".strip())
    if looks_like_resident_id(ref.strip()):
        raise UsageError(
            "REF looks like a clear resident ID; the log holds only pseudonyms",
            hint="pass the subject's keyed pseudonym",
        )
    hits = [e for _, e in read_entries(_log(log)) if ref in e["subjects"]]
    if as_json:
        emit(True, {"subject": ref, "entries": hits})
        return
    if not hits:
        click.echo(f"no entries for {ref}")
    for e in hits:
        click.echo(_row(0, e))
