"""Benchmark: SM2 with xinan's field inversion against gmalg's own, in the same run
(docs/crypto.md, "SM2 speed").

xinan/crypto/hazmat/gm.py replaces gmalg's ``PrimeField.inv`` (an extended Euclid loop in
Python) with CPython's ``pow(x, -1, p)``. This times the four SM2 operations the gm suite
uses — derive a public key, sign, verify, decrypt a wrapped key — with the replacement and
with gmalg's loop put back, one core, median of ``--runs`` runs of ``--n`` calls each, and
prints milliseconds per call, CPU time included, and the ratio.

    python bench/sm2.py [--n 20] [--runs 5]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

# importing it installs the replacement
from xinan.crypto.hazmat import gm


def _per_call(fn: Callable[[], object], n: int, runs: int) -> tuple[float, float]:
    """(median wall ms, median CPU ms) per call."""
    walls, cpus = [], []
    for _ in range(runs):
        w, c = time.perf_counter(), time.process_time()
        for _ in range(n):
            fn()
        walls.append((time.perf_counter() - w) / n * 1000)
        cpus.append((time.process_time() - c) / n * 1000)
    return statistics.median(walls), statistics.median(cpus)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=20, help="calls per run")
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    from gmalg.primefield import PrimeField

    fast = PrimeField.inv
    slow = fast.xinan_original
    rng = random.Random(1)
    d = rng.randbytes(32)
    pub = gm.sm2_public_from_private(d)
    sig = gm.sm2_sign(d, pub, b"xinan", rng.getrandbits)
    ct = gm.sm2_encrypt(pub, b"sixteen byte key", rng.getrandbits)
    ops: dict[str, Callable[[], object]] = {
        "derive public key": lambda: gm.sm2_public_from_private(d),
        "sign": lambda: gm.sm2_sign(d, pub, b"xinan", rng.getrandbits),
        "verify": lambda: gm.sm2_verify(pub, b"xinan", sig),
        "decrypt (16-byte key)": lambda: gm.sm2_decrypt(d, ct),
    }
    print(f"SM2, one core, median of {args.runs} runs of {args.n} calls (ms per call)")
    print(f"  {'operation':24s} {'gmalg loop':>18s} {'pow(x, -1, p)':>18s}   ratio")
    for name, fn in ops.items():
        PrimeField.inv = slow
        try:
            base = _per_call(fn, args.n, args.runs)
        finally:
            PrimeField.inv = fast
        new = _per_call(fn, args.n, args.runs)
        print(
            f"  {name:24s} {base[0]:7.2f} (cpu {base[1]:5.2f}) {new[0]:7.2f} (cpu {new[1]:5.2f})"
            f"   {base[1] / new[1]:.2f}x cpu"
        )


if __name__ == "__main__":
    main()
