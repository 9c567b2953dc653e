"""Benchmark: what the crypto fence costs on the hot paths (docs/crypto.md, "Layers").

Each figure is printed with a baseline measured in the same run, one core, median of
``--runs`` runs:

* ``SecretWrapper.wrap`` (the vault's record-key and release-secret wrap) against the code the
  vault ran before the recipe: a nonce sliced from a CSPRNG pool in the caller, then the
  suite's AEAD seal;
* RFC 9162 leaf hashes of 300-byte lines through the audit log's ``HashAlgorithm`` and the
  verifier's constructor comprehension, against ``hashlib.sha256`` called directly (SHA-256)
  and against the cryptography ``Hash`` object the SM3 leaf used before (SM3);
* one key-file passphrase derivation: PBKDF2-HMAC-SM3 at the default 600,000 iterations
  (gm) against Argon2id at its default (intl, pq).

    python bench/recipes.py [--n 200000] [--runs 5]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cryptography.hazmat.primitives import hashes

from xinan.audit.merkle import get_hash
from xinan.crypto import get_suite
from xinan.crypto.recipes import SecretWrapper, derive_passphrase_key, hash_constructor
from xinan.keys import DEFAULT_KDF


def per_second(fn: Callable[[], int], runs: int) -> float:
    rates = []
    for _ in range(runs):
        t = time.perf_counter()
        n = fn()
        rates.append(n / (time.perf_counter() - t))
    return statistics.median(rates)


def interleaved(fns: list[Callable[[], int]], runs: int) -> tuple[list[float], list[float]]:
    """Median rate of each function, the functions run in turn within each run (so a noisy
    neighbour hits them alike), and the median per-run ratio of each to the last one."""
    rates: list[list[float]] = [[] for _ in fns]
    for _ in range(runs):
        for i, fn in enumerate(fns):
            rates[i].append(per_second(fn, 1))
    base = rates[-1]
    ratios = [statistics.median(r / b for r, b in zip(rs, base, strict=True)) for rs in rates]
    return [statistics.median(r) for r in rates], ratios


def bench_wrap(suite_name: str, n: int, runs: int) -> None:
    suite = get_suite(suite_name)
    key = suite.random(suite.key_len)
    secret, aad = os.urandom(32), os.urandom(40)
    w = SecretWrapper(suite, key)

    def recipe() -> int:
        wrap = w.wrap
        for _ in range(n):
            wrap(secret, aad)
        return n

    aead = suite.aead(key)

    def inline() -> int:  # the vault's code before the recipe (Ingest.add, 2026-12-05)
        pool, at = b"", 0
        seal = aead.seal
        for _ in range(n):
            if at + 12 > len(pool):
                pool, at = suite.random(12 * 1024), 0
            nonce = pool[at : at + 12]
            at += 12
            nonce + seal(nonce, secret, aad)
        return n

    (a, b), (ratio, _) = interleaved([recipe, inline], runs)
    print(
        f"{suite_name:5} wrap 32 B   SecretWrapper {a:>11,.0f}/s   inline pool+seal {b:>11,.0f}/s"
        f"   ratio {ratio:.3f}"
    )


def _old_sm3(data: bytes) -> bytes:  # audit/merkle.py's SM3 before the fence
    h = hashes.Hash(hashes.SM3())
    h.update(data)
    return h.finalize()


def bench_leaves(n: int, runs: int) -> None:
    lines = [os.urandom(300) for _ in range(n)]
    for name, baseline in (("sha256", None), ("sm3", _old_sm3)):
        leaf = get_hash(name).leaf
        new = hash_constructor(name)

        def via_leaf(leaf: Callable[[bytes], bytes] = leaf) -> int:
            [leaf(x) for x in lines]
            return n

        def via_constructor(new: Callable[[bytes], Any] = new) -> int:
            [new(b"\x00" + x).digest() for x in lines]
            return n

        if baseline is None:

            def base(sha: Callable[[bytes], Any] = hashlib.sha256) -> int:
                [sha(b"\x00" + x).digest() for x in lines]
                return n
        else:

            def base(old: Callable[[bytes], Any] = baseline) -> int:
                [old(b"\x00" + x) for x in lines]
                return n

        (a, c, b), (ra, rc, _) = interleaved([via_leaf, via_constructor, base], runs)
        what = "hashlib.sha256 inline" if baseline is None else "old cryptography Hash"
        print(
            f"{name:6} leaf 300 B  HashAlgorithm.leaf {a:>11,.0f}/s   constructor {c:>11,.0f}/s"
            f"   {what} {b:>11,.0f}/s   ratios {ra:.3f} / {rc:.3f}"
        )


def bench_kdf(runs: int) -> None:
    salt, pw = os.urandom(16), b"correct horse battery staple"
    d = DEFAULT_KDF
    times = {}
    for name, params in (
        ("pbkdf2-hmac-sm3", {"iterations": d.iterations}),
        ("argon2id", {"m_kib": d.m_kib, "t": d.t, "p": d.p}),
    ):
        ts = []
        for _ in range(runs):
            t = time.perf_counter()
            derive_passphrase_key(name, pw, salt, 16, params)
            ts.append(time.perf_counter() - t)
        times[name] = statistics.median(ts)
    print(
        f"key-file KDF  PBKDF2-HMAC-SM3 ({d.iterations:,} it) {times['pbkdf2-hmac-sm3']:.3f} s"
        f"   Argon2id (m {d.m_kib} KiB, t {d.t}, p {d.p}) {times['argon2id']:.3f} s"
        f"   ratio {times['pbkdf2-hmac-sm3'] / times['argon2id']:.2f}"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=200_000)
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    print(f"python {sys.version.split()[0]}, one core, median of {args.runs} runs, n={args.n:,}")
    bench_wrap("intl", args.n, args.runs)
    bench_wrap("gm", args.n // 5, args.runs)
    bench_leaves(args.n, args.runs)
    bench_kdf(min(args.runs, 3))


if __name__ == "__main__":
    main()
