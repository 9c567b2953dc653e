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

from xinan.errors import UsageError
from xinan.keys import KdfParams, Keyring
from xinan.masking import MaskContext
from xinan.policy import Policy
from xinan.provider import mask_file, scan_file
from xinan.records import open_writer
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
    now = now or datetime.now(UTC)
    ring = Keyring(directory / "keys")

    header("provider: a GB18030 export of administrative penalties (synthetic)")
    export = directory / "provider" / "penalty-export.csv"
    export.parent.mkdir(parents=True)
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
    report = scan_file(export, today=today, policy=policy)
    say(f"    {report.rows} rows, encoding {report.encoding}, matched kind {report.kind}")
    for col in report.columns:
        found = dict(col.values) | {f"{k} in text": n for k, n in col.in_text.items()}
        if found:
            desc = ", ".join(f"{k} {n}" for k, n in found.items())
            say(f"    {col.column}: {desc}")

    header("provider: a keyed-pseudonym key (HMAC, encrypted at rest)")
    info = ring.generate_secret("subject-ps", "intl", passphrase, now=now, kdf_params=DEMO_KDF)
    say(f"    key id {info.key_id} → {directory / 'keys' / 'private'}")
    pseudonymizer = ring.secret("subject-ps", passphrase)

    header("provider: validate and mask for every audience")
    outdir = directory / "provider" / "views"
    outdir.mkdir()
    outputs = {a: outdir / f"penalty-{a}.csv" for a in policy.audiences}
    rejects = directory / "provider" / "rejects.csv"
    ctx = MaskContext(today=today, default_pseudonymizer=pseudonymizer)
    summary = mask_file(export, outputs, policy=policy, ctx=ctx, rejects=rejects)
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

    say(f"\ndone: every file is under {directory}")
    return result
