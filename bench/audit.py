"""Audit log benchmarks: durable group-commit appends, verify of 1,000,000 entries, proof
generation at 1,000,000 entries. Prints the median of several runs for each.

    python bench/audit.py [--entries 1000000] [--runs 3] [--dir /tmp]

Targets (issue 5): ≥ 20,000 durable events/s with group commit; verify ≤ 3 s; proof < 1 ms.
"""

from __future__ import annotations

import argparse
import hashlib
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from xinan.audit import AuditEvent, AuditLog, Ed25519Signer, verify_log
from xinan.audit.merkle import MerkleTree, get_hash, verify_consistency, verify_inclusion
from xinan.audit.proof import load_tree

ORIGIN = "bench.example/xinan-audit/bench"
SIGNER = Ed25519Signer(ORIGIN, Ed25519PrivateKey.from_private_bytes(hashlib.sha256(b"b").digest()))


class Clock:
    def __init__(self) -> None:
        self.t = datetime(2025, 1, 1, tzinfo=UTC)

    def __call__(self) -> datetime:
        self.t += timedelta(microseconds=7)
        return self.t


def ev(i: int) -> AuditEvent:
    # ~300-byte entries, like an `open` by a querent
    return AuditEvent(
        "open",
        "querent-bank-0001",
        "querent",
        objects={"record_ids": [f"rec-{i:012d}"], "counts": {"fields": 4}},
        why={"purpose": "credit-check", "grant": f"grant-{i % 977:06d}"},
        subjects=[f"hm1:{i:032x}"],
    )


def bench_appends(d: Path, n: int, batch: int) -> float:
    path = d / f"append-{time.perf_counter_ns()}.log"
    events = [ev(i) for i in range(n)]
    with AuditLog.open(path, signer=SIGNER, origin=ORIGIN, clock=Clock()) as log:
        t = time.perf_counter()
        for i in range(0, n, batch):
            with log.batch():
                for e in events[i : i + batch]:
                    log.append(e)
        dt = time.perf_counter() - t
    return n / dt


def bench_single_appends(d: Path, n: int) -> float:
    path = d / f"single-{time.perf_counter_ns()}.log"
    with AuditLog.open(path, signer=SIGNER, origin=ORIGIN, clock=Clock()) as log:
        t = time.perf_counter()
        for i in range(n):
            log.append(ev(i))
        return n / (time.perf_counter() - t)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--entries", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--dir", default=None)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory(dir=a.dir) as tmp:
        d = Path(tmp)
        rates = [bench_appends(d, 100_000, 1000) for _ in range(a.runs)]
        print(
            f"durable appends, group commit of 1,000: {statistics.median(rates):>12,.0f} events/s"
        )
        single = [bench_single_appends(d, 300) for _ in range(a.runs)]
        print(
            f"durable appends, one per commit:        {statistics.median(single):>12,.0f} events/s"
        )

        # a 1,000,000-entry log written in batches of 1,000 (1,000 checkpoints)
        path = d / "big.log"
        t = time.perf_counter()
        with AuditLog.open(path, signer=SIGNER, origin=ORIGIN, clock=Clock()) as log:
            for i in range(0, a.entries, 1000):
                with log.batch():
                    for j in range(i, min(i + 1000, a.entries)):
                        log.append(ev(j))
        build = time.perf_counter() - t
        size = path.stat().st_size
        print(f"wrote {a.entries:,} entries ({size / a.entries:.0f} B each) in {build:.1f} s")
        times = []
        for _ in range(a.runs):
            t = time.perf_counter()
            r = verify_log(path, keys=[SIGNER.verifier()])
            times.append(time.perf_counter() - t)
        print(
            f"verify {r.size:,} entries, {r.checkpoints:,} checkpoints: "
            f"{statistics.median(times):.2f} s (median of {a.runs})"
        )

        t = time.perf_counter()
        tree, _ = load_tree(path)
        print(f"load stored hashes from the log:        {time.perf_counter() - t:.2f} s")
        h = get_hash("sha256")
        n = tree.size
        root = tree.root()
        incl, cons = [], []
        for k in range(1000):
            i = (k * 7919) % n
            t = time.perf_counter()
            p = tree.inclusion_proof(i, n)
            incl.append(time.perf_counter() - t)
            t = time.perf_counter()
            c = tree.consistency_proof(i + 1, n)
            cons.append(time.perf_counter() - t)
            if k < 10:
                verify_inclusion(h, tree.leaf_hash(i), i, n, p, root)
                verify_consistency(h, i + 1, n, c, tree.root(i + 1), root)
        print(f"inclusion proof at {n:,}:              {statistics.median(incl) * 1e6:8.1f} µs")
        print(f"consistency proof at {n:,}:            {statistics.median(cons) * 1e6:8.1f} µs")
        # the bulk tree build alone (from leaf hashes)
        leaves = [h.leaf(b"%d" % i) for i in range(n)]
        t = time.perf_counter()
        MerkleTree(h).extend(leaves)
        print(f"build stored hashes from leaf hashes:   {time.perf_counter() - t:.2f} s")


if __name__ == "__main__":
    main()
