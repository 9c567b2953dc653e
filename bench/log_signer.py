"""What opening a log's signer costs per session (issue 12): the log's own service-held signer
(read the 0600 secret, HKDF, AEAD open, import the key) against the baseline measured in the
same run, unlocking a keyring identity with its passphrase (what every session of an
identity-signed log did before: Argon2id for intl, PBKDF2-HMAC-SM3 for gm, default costs).
Prints medians of several runs and the ratio; says the load average (other sessions share
the machine).

    python bench/log_signer.py [--runs 9] [--suites intl,gm]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from xinan.audit.config import init_audit_log, load_audit_config, log_signer
from xinan.keys import Keyring

PASS = "bench passphrase: violet kettle orbit 17 lantern"
NOW = datetime(2026, 12, 6, tzinfo=UTC)


def median_seconds(fn, runs: int) -> float:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=9)
    ap.add_argument("--suites", default="intl,gm")
    args = ap.parse_args()
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores (shared machine)")
    with tempfile.TemporaryDirectory() as d:
        for suite in args.suites.split(","):
            ring = Keyring(Path(d) / suite / "keys", compliance_mode="any")
            ring.generate("platform", "platform", suite, PASS, now=NOW)  # default KDF cost
            log = Path(d) / suite / "audit" / "audit.log"
            init_audit_log(log, keyring=ring, suite=suite, now=NOW)
            cfg = load_audit_config(log)
            service = median_seconds(
                lambda log=log, cfg=cfg, ring=ring: log_signer(log, cfg, keyring=ring), args.runs
            )
            identity = median_seconds(lambda ring=ring: ring.unlock("platform", PASS), args.runs)
            print(
                f"{suite:<5} service signer {service * 1e3:8.2f} ms   "
                f"identity unlock (baseline) {identity * 1e3:8.1f} ms   "
                f"ratio {identity / service:6.0f}× faster per session"
            )


if __name__ == "__main__":
    main()
