"""End to end through the CLI: a provider seals a GB18030 penalty export for the platform, and
the platform verifies and opens it — in each suite (issue 4, "done when").

For each suite: fresh provider and platform keys and a platform audit log, then
`xinan seal`, `xinan verify`, `xinan open`, timed; prints records/s and the peak memory of each
step (max RSS of the child), and checks that the opened records equal the sealed count and
that the audit log verifies.

    python bench/seal_e2e.py                         # 1,000,000 rows, suites intl, pq, gm
    python bench/seal_e2e.py --rows 100000 --suites gm
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CLI = [sys.executable, str(ROOT / "cli.py")]


def run(
    args: list[str], env: dict[str, str]
) -> tuple[float, float, subprocess.CompletedProcess[str]]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    t = time.perf_counter()
    proc = subprocess.run([*CLI, *args], env=env, capture_output=True, text=True, check=False)
    dt = time.perf_counter() - t
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    if proc.returncode not in (0, 3):
        print(proc.stdout, proc.stderr)
        raise SystemExit(f"{args[:3]} failed with {proc.returncode}")
    # ru_maxrss of children is a running maximum: report it only when it grew
    return dt, max(peak, before) / 1024, proc


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--suites", default="intl,pq,gm")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="xinan-seal-e2e-") as d:
        base = dict(os.environ, XINAN_PASSPHRASE="bench-only-passphrase", XINAN_TODAY="2026-11-25")
        export = Path(d) / "export.csv"
        env0 = dict(base, XINAN_KEYRING=str(Path(d) / "k0"))
        dt, _, _ = run(
            [
                "fake",
                "penalty",
                "-n",
                str(args.rows),
                "-o",
                str(export),
                "--encoding",
                "gb18030",
                "--bad-rate",
                "0.001",
            ],
            env0,
        )
        mb = export.stat().st_size / 1e6
        print(f"export: {args.rows:,} GB18030 penalty rows, {mb:,.0f} MB (made in {dt:.0f} s)")
        for suite in args.suites.split(","):
            kr = Path(d) / suite / "keys"
            tokens = str(Path(d) / suite / "tokens")
            env = dict(base, XINAN_KEYRING=str(kr), XINAN_TOKEN_DIR=tokens)
            for setup in (
                ["keygen", "--id", "amr", "--role", "provider", "--suite", suite],
                ["keygen", "--id", "platform", "--role", "platform", "--suite", suite],
                ["keygen", "--id", "sa", "--role", "sys-admin", "--suite", suite],
                ["audit", "init", "--key", "platform"],
                # the keyring's roster (docs/keys.md §8): no identity acts before its bootstrap
                ["--as", "sa", "keys", "bootstrap", "--token-dir", tokens],
            ):
                run(setup, env)
            pkg, opened = Path(d) / suite / "e.xpkg", Path(d) / suite / "opened.csv"
            t_seal, m_seal, p = run(
                ["--as", "amr", "seal", str(export), "-o", str(pkg), "--to", "platform", "--json"],
                env,
            )
            sealed = json.loads(p.stdout)["sealed"]
            t_ver, m_ver, _ = run(["--as", "platform", "verify", str(pkg)], env)
            t_open, m_open, p = run(
                ["--as", "platform", "open", str(pkg), "-o", str(opened), "--json"], env
            )
            written = json.loads(p.stdout)["written"]
            _, _, v = run(["audit", "verify"], env)
            assert written == sealed, (written, sealed)
            print(
                f"[{suite}] {sealed:,} records sealed, package {pkg.stat().st_size / 1e6:,.0f} MB"
            )
            print(f"  seal   {sealed / t_seal:>10,.0f} records/s  ({t_seal:.0f} s)")
            print(f"  verify {sealed / t_ver:>10,.0f} records/s  ({t_ver:.0f} s)")
            print(f"  open   {sealed / t_open:>10,.0f} records/s  ({t_open:.0f} s)")
            print(f"  peak memory of any step so far: {max(m_seal, m_ver, m_open):,.0f} MB")
            print(f"  audit log: {v.stdout.strip()}")


if __name__ == "__main__":
    main()
