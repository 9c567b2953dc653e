"""``xinan demo``: the whole flow on synthetic data in a fresh directory, printing each step.

This module owns the demo's script of steps; each step calls the same library functions the
commands use, so the demo is also a smoke test of the product. It grows with every capability:
today provider-side (export → scan → mask for every audience); sealing, the platform's vault,
grants, the audit log and destruction are added as they land.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

from xinan.audit.verify import verify_log
from xinan.errors import UsageError
from xinan.keys import Identity, KdfParams, Keyring
from xinan.masking import MaskContext
from xinan.platform import verify_package_file
from xinan.policy import Policy
from xinan.provider import (
    mask_audit_hook,
    mask_file,
    record_scan,
    scan_file,
    seal_audit_hook,
    seal_file,
)
from xinan.records import open_writer
from xinan.session import Session, init_audit_log, log_verifiers, open_session
from xinan.synth import Synth


@dataclass
class DemoResult:
    directory: Path
    files: dict[str, Path] = field(default_factory=dict)
    steps: list[str] = field(default_factory=list)


# Small Argon2 parameters: the demo's keys are throwaway and it should start fast. Real keys use
# the defaults of docs/keys.md.
DEMO_KDF = KdfParams(m_kib=8192, t=1, p=1)

# The parties of a city's credit system, one key pair each (one role per key: 三权分立).
PARTIES = (
    ("amr-zaozhuang", "provider"),  # 枣庄市市场监督管理局, a provider
    ("platform", "platform"),  # 公共信用信息平台
    ("sys-admin", "sys-admin"),
    ("sec-admin", "sec-admin"),
    ("audit-admin", "audit-admin"),
    ("bank-a", "querent"),  # a bank doing 信易贷 with the subject's authorisation
)


def _identity(session: Session) -> Identity:
    if session.identity is None:  # pragma: no cover - demo sessions are always unlocked
        raise UsageError("this step needs an unlocked identity")
    return session.identity


def run_demo(
    directory: Path,
    *,
    policy: Policy,
    records: int,
    today: date,
    now: datetime | None = None,
    seed: int = 2026,
    say: Callable[[str], None] = print,
) -> DemoResult:
    directory = directory.resolve()
    if directory.exists() and any(directory.iterdir()):
        raise UsageError(
            f"{directory} is not empty",
            hint="the demo runs in a fresh directory: pass --dir with a new or empty path",
        )
    directory.mkdir(parents=True, exist_ok=True)
    result = DemoResult(directory)
    step = 0

    def header(title: str) -> None:
        nonlocal step
        step += 1
        result.steps.append(title)
        say(f"\n[{step}] {title}")

    # A throwaway passphrase for the demo's keys: random, never printed, never stored.
    passphrase = secrets.token_urlsafe(24)
    fixed_now = now
    now = now or datetime.now(UTC)
    ring = Keyring(directory / "keys")

    def clock() -> datetime:
        return fixed_now if fixed_now is not None else datetime.now(UTC)

    header("keys: each party's key pair, encrypted at rest (Argon2id), and a pseudonym key")
    for name, role in PARTIES:
        info = ring.generate(name, role, "intl", passphrase, now=now, kdf_params=DEMO_KDF)
        say(f"    {name:<15} {role:<11} {info.key_id} → {ring.public_path(name)}")
    ps_info = ring.generate_secret("subject-ps", "intl", passphrase, now=now, kdf_params=DEMO_KDF)
    say(f"    {'subject-ps':<15} {'pseudonym':<11} {ps_info.key_id} (HMAC, stays in the keyring)")
    pseudonymizer = ring.secret("subject-ps", passphrase)

    header("audit: each party's own signed log (RFC 6962 tree, C2SP checkpoints)")
    logs: dict[str, Path] = {}
    for party, key in (
        ("provider", "amr-zaozhuang"),
        ("platform", "platform"),
        ("querent", "bank-a"),
    ):
        logs[party] = directory / party / "audit.log"
        cfg = init_audit_log(logs[party], keyring=ring, log_key=key)
        say(f"    {party:<9} {logs[party]} (origin {cfg.origin}), signed by {key}")
        result.files[f"{party}_audit_log"] = logs[party]

    def session(identity: str, party: str) -> Session:
        return open_session(
            keyring=ring,
            identity=identity,
            log_path=logs[party],
            passphrase=lambda _what: passphrase,
            clock=clock,
        )

    provider = session("amr-zaozhuang", "provider")

    header("provider: a GB18030 export of administrative penalties (synthetic)")
    export = directory / "provider" / "penalty-export.csv"
    kind = policy.kind("penalty")
    synth = Synth(policy, seed=seed, today=today)
    bad = 0
    with open_writer(export, kind.columns, encoding="gb18030") as w:
        for values, why in synth.rows(kind, records, bad_rate=0.01):
            w.write(values)
            bad += why is not None
    result.files["export"] = export
    say(f"    {records} records ({bad} deliberately bad) → {export}")

    header("provider: scan the export for identifiers")
    provider.require("scan")
    report = scan_file(export, today=today, policy=policy)
    record_scan(provider, report, policy)
    say(f"    {report.rows} rows, encoding {report.encoding}, matched kind {report.kind}")
    for col in report.columns:
        found = dict(col.values) | {f"{k} in text": n for k, n in col.in_text.items()}
        if found:
            desc = ", ".join(f"{k} {n}" for k, n in found.items())
            say(f"    {col.column}: {desc}")

    header("provider: validate and mask for every audience")
    outdir = directory / "provider" / "views"
    outdir.mkdir()
    outputs = {a: outdir / f"penalty-{a}.csv" for a in policy.audiences}
    rejects = directory / "provider" / "rejects.csv"
    ctx = MaskContext(today=today, default_pseudonymizer=pseudonymizer)
    provider.require("mask")
    summary = mask_file(
        export,
        outputs,
        policy=policy,
        ctx=ctx,
        rejects=rejects,
        before_commit=mask_audit_hook(provider, export, policy, policy.audiences),
    )
    for a, c in summary.per_audience.items():
        scrubbed = summary.scrubbed.get(a, 0)
        tail = f", {scrubbed} identifiers scrubbed from free text" if scrubbed else ""
        say(
            f"    {a:<10} read {c.read}, written {c.written}, withheld {c.withheld}, "
            f"rejected {c.rejected}{tail} → {outputs[a]}"
        )
    if not summary.balanced():  # pragma: no cover - a bug, and the demo must say so
        raise UsageError("counts do not reconcile")
    say(f"    rejects with row, column and reason → {rejects}")
    for reason, n in summary.reasons.most_common(3):
        say(f"      {n:>5}  {reason}")
    result.files.update({f"view:{a}": p for a, p in outputs.items()})
    result.files["rejects"] = rejects

    header("provider: seal the export for the platform (sensitive fields encrypted, signed)")
    package = directory / "provider" / "penalty.xpkg"
    provider.require("seal")
    sealed = seal_file(
        export,
        package,
        policy=policy,
        sender=_identity(provider),
        recipients=[ring.get_public("platform")],
        today=today,
        now=clock(),
        rejects=directory / "provider" / "seal-rejects.csv",
        before_commit=seal_audit_hook(provider, policy),
    )
    say(
        f"    package {sealed.package_id}: {sealed.sealed} records sealed, {sealed.rejected} "
        f"rejected → {package}"
    )
    say(f"    sealed fields: {', '.join(f.name for f in kind.fields if f.sealed)}")
    result.files["package"] = package
    provider.close()

    header("platform: verify the submission against the trust store")
    platform = session("platform", "platform")
    platform.require("verify")
    checked = verify_package_file(package, ring)
    platform.record(
        "verify", objects={"package": checked.package_id, "counts": {"records": checked.count}}
    )
    sender = ring.get_public(checked.sender)
    say(
        f"    ok: signed by {sender.id} ({sender.role.value}), {checked.count} records, "
        f"suite {checked.suite.value}"
    )
    platform.close()

    header("auditor: verify every party's log offline, with nothing but public keys")
    for party, path in logs.items():
        if not path.exists():
            continue
        rep = verify_log(path, keys=log_verifiers(path, ring))
        say(f"    {party:<9} ok: {rep.size} entries, {rep.checkpoints} signed checkpoints")

    say(f"\ndone: every file is under {directory}")
    return result
