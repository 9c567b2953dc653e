"""Benchmark: grant issue and verify per second, per suite (docs/grant.md).

Prints, per suite, the median of ``--runs`` runs of:

* issue/s: ``issue_grant`` (role checks, consent check, identifier scan of the purpose and
  subjects, one signature);
* verify/s: ``verify_grant`` with the querent's key and a revocation set of 1,000 ids (strict
  parsing, one signature check, every claim);
* the raw signature operations of the same suite measured in the same run (sign/s and
  verify/s on a message of the grant's size), and the grant/raw ratios: what the grant
  format costs on top of the one asymmetric operation it cannot avoid.

gm runs few iterations by default: SM2 is pure Python (gmalg, ~100 sign/s on the reference
machine); the ratio is what matters.

    python bench/grants.py                    # intl 2,000, pq 2,000, gm 20; 5 runs
    python bench/grants.py --suites gm --gm-n 50 --runs 3
"""

from __future__ import annotations

import argparse
import base64
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from xinan.crypto import get_suite
from xinan.formats import grant as G
from xinan.keys import KdfParams, Keyring

NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
FAST_KDF = KdfParams(m_kib=64, t=1, p=1, iterations=1000)  # key files are throw-away here
PW = "bench-only passphrase 7Qx"  # new keys need a hard-to-guess passphrase (zxcvbn)
SUBJECT = "ps1.xs1benchkeyaaaaaaaaaaaaaaa." + "a" * 26
FIELDS = ("联系电话", "住所")


def rate(n: int, fn: Callable[[], object]) -> float:
    t0 = time.perf_counter()
    for _ in range(n):
        fn()
    return n / (time.perf_counter() - t0)


def bench_suite(suite: str, n: int, runs: int, root: Path) -> dict[str, float]:
    ring = Keyring(root / suite, compliance_mode="any")
    for name, role in (("platform", "platform"), ("secadm", "sec-admin"), ("bank", "querent")):
        ring.generate(name, role, suite, PW, now=NOW, kdf_params=FAST_KDF)
    platform, secadm, bank = (ring.unlock(x, PW) for x in ("platform", "secadm", "bank"))
    consent = G.Consent(
        "c-bench-1",
        SUBJECT,
        bank.key_id,
        "信易贷授信审查",
        FIELDS,
        NOW + timedelta(days=30),
        "bench consent",
    )
    trust = {platform.key_id: platform.info}
    revoked = {base64.urlsafe_b64encode(i.to_bytes(16, "big")).decode()[:22] for i in range(1000)}

    def issue() -> G.Grant:
        return G.issue_grant(
            platform=platform,
            authorised_by=secadm,
            querent=bank.info,
            consent=consent,
            purpose="信易贷授信审查",
            fields=FIELDS,
            subjects=[SUBJECT],
            policy_label="credit-default@2026.1",
            ttl=timedelta(hours=1),
            now=NOW,
        )

    token = issue().token

    def verify() -> G.GrantClaims:
        return G.verify_grant(
            token,
            trust=trust,
            now=NOW + timedelta(minutes=1),
            expected_querent=bank.info,
            revoked=revoked,
        )

    s = get_suite(suite)
    msg = token.rsplit(".", 1)[0].encode()
    sig = s.sign(platform.signing, msg)
    figures: dict[str, list[float]] = {"issue": [], "verify": [], "raw_sign": [], "raw_verify": []}
    for _ in range(runs):
        figures["issue"].append(rate(n, issue))
        figures["verify"].append(rate(n, verify))
        figures["raw_sign"].append(rate(n, lambda: s.sign(platform.signing, msg)))
        figures["raw_verify"].append(rate(n, lambda: s.verify(platform.info.sig, msg, sig)))
    return {k: statistics.median(v) for k, v in figures.items()} | {"token_chars": len(token)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--suites", default="intl,pq,gm")
    ap.add_argument("--n", type=int, default=2000, help="iterations per run (intl, pq)")
    ap.add_argument("--gm-n", type=int, default=20, help="iterations per run (gm)")
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    print(f"grant issue/verify, median of {args.runs} runs (one core)")
    print(
        f"{'suite':<6} {'n':>5} {'chars':>6} {'issue/s':>9} {'verify/s':>9} "
        f"{'sign/s':>9} {'vrfy/s':>9} {'issue/sign':>10} {'verify/vrfy':>11}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        for suite in args.suites.split(","):
            n = args.gm_n if suite == "gm" else args.n
            f = bench_suite(suite, n, args.runs, Path(tmp))
            print(
                f"{suite:<6} {n:>5} {int(f['token_chars']):>6} {f['issue']:>9,.0f} "
                f"{f['verify']:>9,.0f} {f['raw_sign']:>9,.0f} {f['raw_verify']:>9,.0f} "
                f"{f['issue'] / f['raw_sign']:>10.2f} {f['verify'] / f['raw_verify']:>11.2f}"
            )


if __name__ == "__main__":
    main()
