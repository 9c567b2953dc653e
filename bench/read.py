"""Benchmark: the platform's read side of issue 13 — `verify` and `open` of a sealed package
(15 clear + 4 sealed fields, about 1 KB per record, `intl`), with one worker and with two,
against baselines measured in the same run.

Targets (issue 13): verify ≥ 330,000 records/s, open ≥ 150,000 records/s.

Figures, each the median of ``--runs`` runs:

* ``verify w1`` / ``verify w2``: :func:`xinan.formats.package.verify_package` (every line's
  shape, the records digest, the signature) with 1 and 2 worker processes;
* ``open w1`` / ``open w2``: :func:`xinan.formats.package.open_blocks` (verify, unwrap every
  record key, check every commitment, open every value, release from the spool) with the
  opened batches encoded as CSV (what `xinan open` writes), to a file;
* baselines, one core: ``read+hash`` (read the file in 1 MiB blocks and hash it: no verifier
  can be faster on one core) and ``raw AEAD`` (per record, the bare AEAD calls an open cannot
  avoid: one record-key open under one reused key, and per sealed value one key schedule and one
  AEAD open — no parsing, no hashing, no output);

then the ratios (verify w1 / read+hash, open w1 / raw AEAD, 2 workers / 1 worker) and the time
200,000,000 records would take at each rate. The machine's load average (``/proc/loadavg``) is
printed before and after: on a shared machine the figures are lower bounds.

    python bench/read.py                        # 200,000 records, 3 runs
    python bench/read.py --records 1000000 --runs 3
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from seal import META, NOW, POOL, identity, make_pool, records

from xinan.crypto import get_suite
from xinan.engine.io import csv_bytes
from xinan.formats import package as P

TARGET = 200_000_000


def load() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "unknown"


def timed(fn: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def read_hash(path: Path) -> None:
    suite = get_suite("intl")
    h = suite.hasher()
    with path.open("rb") as f:
        while block := f.read(1 << 20):
            h.update(block)
    h.finalize()


def raw_aead(n: int, pool: list[tuple[list[str], list[str]]]) -> Callable[[], None]:
    """The bare AEAD opens of n records: 1 record key under one key, 4 values one key each."""
    suite = get_suite("intl")
    kl = suite.key_len
    aad = b"x" * 60
    nonce = bytes(12)
    key = os.urandom(kl)
    rk_box = suite.aead(key).seal(nonce, os.urandom(kl), aad)
    boxes = [[suite.aead(key).seal(nonce, v.encode(), aad) for v in s] for _c, s in pool]
    one = suite.aead(key).open
    new = suite.aead

    def run() -> None:
        for i in range(n):
            one(nonce, rk_box, aad)
            for b in boxes[i & (POOL - 1)]:
                new(key).open(nonce, b, aad).decode("utf-8")

    return run


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--records", type=int, default=200_000)
    ap.add_argument("--runs", type=int, default=3)
    a = ap.parse_args()
    n = a.records
    print(f"load average before: {load()}  (2 cores shared with other sessions)")
    pool = make_pool()
    prov, plat = identity("intl", "prov"), identity("intl", "plat")
    trust = {prov.key_id: prov.info}.get
    limits = P.Limits(max_records=max(n, 1))
    with tempfile.TemporaryDirectory() as d:
        pkg = Path(d) / "p.xpkg"
        t = time.perf_counter()
        with pkg.open("wb") as out:
            P.seal_package(
                out, records(n, pool), suite=get_suite("intl"), sender=prov,
                recipients=[plat.info], meta=META, now=NOW,
            )  # fmt: skip
        size = pkg.stat().st_size
        print(f"sealed {n:,} records ({size / n:.0f} B each) in {time.perf_counter() - t:.1f} s")

        def verify(w: int) -> Callable[[], None]:
            def run() -> None:
                with pkg.open("rb") as f:
                    info = P.verify_package(f, trust=trust, limits=limits, workers=w)
                assert info.count == n

            return run

        def open_(w: int) -> Callable[[], None]:
            def run() -> None:
                got = 0
                with (
                    pkg.open("rb") as f,
                    (Path(d) / "o.csv").open("wb") as o,
                    P.open_blocks(f, identity=plat, trust=trust, limits=limits, workers=w) as op,
                ):
                    for batch in op.batches():
                        o.write(csv_bytes(batch.drop_columns(["position", "source"])))
                        got += batch.num_rows
                assert got == n

            return run

        secs = {
            "read+hash (baseline)": timed(lambda: read_hash(pkg), a.runs),
            "raw AEAD (baseline)": timed(raw_aead(n, pool), a.runs),
            "verify w1": timed(verify(1), a.runs),
            "verify w2": timed(verify(2), a.runs),
            "open w1": timed(open_(1), a.runs),
            "open w2": timed(open_(2), a.runs),
        }
    rate = {k: n / v for k, v in secs.items()}
    targets = {"verify": 330_000, "open": 150_000}
    print(f"\n{n:,} records, median of {a.runs} run(s):")
    for k, r in rate.items():
        hours = TARGET / r / 3600
        tgt = targets.get(k.split()[0])
        flag = "" if tgt is None else (" (target met)" if r >= tgt else f" (target {tgt:,}/s)")
        print(f"  {k:22s} {r:12,.0f} records/s   200M in {hours:5.2f} h{flag}")
    print("ratios:")
    print(f"  verify w1 / read+hash    {rate['verify w1'] / rate['read+hash (baseline)']:.2f}")
    print(f"  open w1 / raw AEAD       {rate['open w1'] / rate['raw AEAD (baseline)']:.2f}")
    print(f"  verify 1 → 2 workers     {rate['verify w2'] / rate['verify w1']:.2f}×")
    print(f"  open 1 → 2 workers       {rate['open w2'] / rate['open w1']:.2f}×")
    peak = max(
        resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,
    )
    print(f"peak RSS (this process or one worker): {peak / 1024:.0f} MB")
    print(f"load average after: {load()}")


if __name__ == "__main__":
    main()
