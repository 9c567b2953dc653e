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
from xinan.keys import KdfParams, Keyring
from xinan.masking import MaskContext
from xinan.policy import Policy
from xinan.provider import mask_audit_hook, mask_file, record_scan, scan_file
from xinan.records import open_writer
from xinan.session import init_audit_log, log_verifiers, open_session
from xinan.synth import Synth


@dataclass
class DemoResult:
    directory: Path
    files: dict[str, Path] = field(default_factory=dict)
    steps: list[str] = field(default_factory=list)


# Small Argon2 parameters: the demo's keys are throwaway and it should start fast. Real keys use
# the defaults of docs/keys.md.
DEMO_KDF = KdfParams(m_kib=8192, t=1, p=1)


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
    for name, role in (("amr-zaozhuang", "provider"),):
        info = ring.generate(name, role, "intl", passphrase, now=now, kdf_params=DEMO_KDF)
        say(f"    {name:<15} {role:<10} {info.key_id} → {ring.public_path(name)}")
    ps_info = ring.generate_secret("subject-ps", "intl", passphrase, now=now, kdf_params=DEMO_KDF)
    say(f"    {'subject-ps':<15} {'pseudonym':<10} {ps_info.key_id} (HMAC, stays in the keyring)")
    pseudonymizer = ring.secret("subject-ps", passphrase)

    header("audit: the provider's own signed log (RFC 6962 tree, C2SP checkpoints)")
    provider_log = directory / "provider" / "audit.log"
    cfg = init_audit_log(provider_log, keyring=ring, log_key="amr-zaozhuang")
    say(f"    {provider_log} (origin {cfg.origin}), checkpoints signed by amr-zaozhuang")
    provider = open_session(
        keyring=ring,
        identity="amr-zaozhuang",
        log_path=provider_log,
        passphrase=lambda _what: passphrase,
        clock=clock,
    )
    result.files["provider_audit_log"] = provider_log

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

    provider.close()

    header("auditor: verify the provider's log offline, with nothing but its public key")
    report_v = verify_log(provider_log, keys=log_verifiers(provider_log, ring))
    say(
        f"    ok: {report_v.size} entries, {report_v.checkpoints} signed checkpoints, every leaf "
        "and root recomputed"
    )

    say(f"\ndone: every file is under {directory}")
    return result
