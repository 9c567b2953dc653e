"""Benchmark: seal and open penalty-like records (4 sealed fields, 15 clear) in each suite.

Prints, per suite, the median of ``--runs`` runs of:

* seal records/s (to a file on disk) and open records/s (verify everything, then decrypt);
* the raw cost of the same AEAD calls measured in the same run (per record: 4 seals of the
  same values + 1 seal of a key-sized value, like the format does), two ways:
  ``raw-1key`` reuses one AEAD object for every call (the bare cipher);
  ``raw-nkeys`` builds an AEAD object per value, as any design with one key per field must;
* the seal/raw ratios, and the asymmetric operations counted per package (asserted ≤ 4);

and, with ``--memory``, the peak resident memory (``ru_maxrss``) of sealing and opening two
record counts in fresh subprocesses, to show it is flat.

Records come from a pool of 4,096 generated records (random.Random(7)); each yielded record
gets its own id, and the cost of that generator alone is printed (it is inside the seal
figure). gm runs with fewer records by default (``--gm-records``): its SM4-GCM goes through
a Cipher context per call and SM2 is pure Python; the ratio is what matters.

    python bench/seal.py                      # 1,000,000 intl/pq, 100,000 gm, 3 runs
    python bench/seal.py --records 200000 --suites intl --runs 1
    python bench/seal.py --memory 1000000,3000000 --suites intl
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from xinan import keys
from xinan.crypto import get_suite
from xinan.crypto.suites import register
from xinan.formats import package as P

NOW = datetime(2026, 1, 5, tzinfo=UTC)
CLEAR = (
    "行政处罚决定书文号", "违法行为类型", "违法事实", "处罚依据", "处罚类别", "处罚内容",
    "罚款金额", "没收违法所得", "暂扣或吊销证照名称及编号", "处罚决定日期", "处罚有效期",
    "公示截止期", "处罚机关", "处罚机关统一社会信用代码", "数据来源单位",
)  # fmt: skip
SEALED = ("证件号码", "法定代表人", "联系电话", "住所")
META = P.PackageMeta("credit-default", "2026.1", "penalty", CLEAR, SEALED)
POOL = 4096


def make_pool() -> list[tuple[list[str], list[str]]]:
    rng = random.Random(7)  # nosec B311 - synthetic benchmark data, not security-relevant
    hanzi = "市场监督管理局违法行为处罚依据条例规定经营企业有限公司罚款没收责令改正"
    words = lambda n: "".join(rng.choice(hanzi) for _ in range(n))  # noqa: E731
    pool = []
    for i in range(POOL):
        clear = [
            f"济市监罚〔2025〕{i}号", words(8), words(40), words(30), "罚款", words(20),
            f"{rng.randint(1000, 200000)}", "0", "", "2025-06-01", "2026-06-01", "2028-06-01",
            "济南市市场监督管理局", "11370100MB285591XX", "济南市市场监督管理局",
        ]  # fmt: skip
        sealed = [
            f"370102{rng.randint(1960, 2000)}0101{rng.randint(100, 999)}X",
            words(3),
            f"138{rng.randint(10_000_000, 99_999_999)}",
            "山东省济南市历下区" + words(12),
        ]
        pool.append((clear, sealed))
    return pool


def records(n: int, pool: list[tuple[list[str], list[str]]]) -> Iterator[P.SealRecord]:
    rec = P.SealRecord
    for i in range(n):
        c, s = pool[i & (POOL - 1)]
        yield rec(f"R{i:010d}", c, s)


def identity(suite_name: str, name: str) -> keys.Identity:
    s = get_suite(suite_name)
    sk, kk = s.generate_signing_key(), s.generate_kem_key()
    info = keys.PublicKeyInfo(
        name, f"xk1bench{name}", keys.Role.PROVIDER, s.name, NOW, sk.public_bytes(),
        kk.public_bytes(),
    )  # fmt: skip
    return keys.Identity(info, sk, kk)


class CountingSuite:
    """The real suite with its asymmetric operations counted. Attributes are copied onto the
    instance, so the symmetric hot path pays nothing for the counting."""

    ASYM = ("wrap", "unwrap", "sign", "verify")

    def __init__(self, real: Any) -> None:
        self.calls = dict.fromkeys(self.ASYM, 0)
        for name in dir(real):
            if not name.startswith("__"):
                setattr(self, name, getattr(real, name))
        for name in self.ASYM:
            setattr(self, name, self._counted(name, getattr(real, name)))

    def _counted(self, name: str, fn: Any) -> Any:
        def counted(*a: Any, **k: Any) -> Any:
            self.calls[name] += 1
            return fn(*a, **k)

        return counted


def raw_aead(suite: Any, n: int, pool: list[tuple[list[str], list[str]]], fresh: bool) -> float:
    """Seconds for the AEAD calls sealing n records makes: 4 values + 1 key-sized value."""
    kl = suite.key_len
    vals = [[v.encode() for v in s] for _c, s in pool]
    aad = b"x" * 60
    nonce = bytes(12)
    key = os.urandom(kl)
    one = suite.aead(key).seal
    rk = os.urandom(kl)
    new = suite.aead
    t = time.perf_counter()
    if fresh:
        for i in range(n):
            for v in vals[i & (POOL - 1)]:
                new(key).seal(nonce, v, aad)
            one(nonce, rk, aad)
    else:
        for i in range(n):
            for v in vals[i & (POOL - 1)]:
                one(nonce, v, aad)
            one(nonce, rk, aad)
    return time.perf_counter() - t


def gen_cost(n: int, pool: list[tuple[list[str], list[str]]]) -> float:
    t = time.perf_counter()
    for _ in records(n, pool):
        pass
    return time.perf_counter() - t


def one_run(suite_name: str, n: int, workdir: Path, pool: Any) -> dict[str, float]:
    real = get_suite(suite_name)
    suite = CountingSuite(real)
    register(suite)  # type: ignore[arg-type]  # so that open's get_suite() counts too
    try:
        return _one_run(suite, suite_name, n, workdir, pool)
    finally:
        register(real)


def _one_run(
    suite: CountingSuite, suite_name: str, n: int, workdir: Path, pool: Any
) -> dict[str, float]:
    prov, plat = identity(suite_name, "prov"), identity(suite_name, "plat")
    path = workdir / f"bench-{suite_name}.xpkg"
    with open(path, "wb", buffering=1 << 20) as out:
        t = time.perf_counter()
        P.seal_package(
            out, records(n, pool), suite=suite,  # type: ignore[arg-type]
            sender=prov, recipients=[plat.info], meta=META, now=NOW,
        )  # fmt: skip
        out.flush()
        seal_s = time.perf_counter() - t
    seal_calls = dict(suite.calls)
    size = path.stat().st_size
    count = 0

    def sink(_r: P.OpenedRecord) -> None:
        nonlocal count
        count += 1

    trust = {prov.key_id: prov.info}.get
    limits = P.Limits(max_records=max(n, 1))
    with open(path, "rb", buffering=1 << 20) as f:
        t = time.perf_counter()
        P.open_package(f, sink, identity=plat, trust=trust, limits=limits)
        open_s = time.perf_counter() - t
    if count != n:
        raise SystemExit(f"opened {count} of {n} records")
    path.unlink()
    total = {k: suite.calls[k] for k in suite.calls}
    asym_seal = sum(seal_calls.values())
    asym_open = sum(total.values()) - asym_seal
    if asym_seal > 4 or asym_open > 4:
        raise SystemExit(f"too many asymmetric operations: seal {seal_calls}, total {total}")
    raw1 = raw_aead(suite, n, pool, fresh=False)
    rawn = raw_aead(suite, n, pool, fresh=True)
    return {
        "seal": seal_s, "open": open_s, "raw1": raw1, "rawn": rawn,
        "bytes": size, "asym_seal": asym_seal, "asym_open": asym_open,
    }  # fmt: skip


def bench(suite_name: str, n: int, runs: int, workdir: Path) -> None:
    pool = make_pool()
    results = [one_run(suite_name, n, workdir, pool) for _ in range(runs)]
    med = {k: statistics.median(r[k] for r in results) for k in results[0]}
    gen = gen_cost(n, pool)
    print(
        f"{suite_name:4s} {n:>9,} records  seal {n / med['seal']:>9,.0f}/s"
        f"  open {n / med['open']:>8,.0f}/s"
        f"  | raw-1key {n / med['raw1']:>9,.0f}/s  raw-nkeys {n / med['rawn']:>9,.0f}/s"
        f"  | seal/raw-1key {med['seal'] / med['raw1']:.2f}x"
        f"  seal/raw-nkeys {med['seal'] / med['rawn']:.2f}x"
        f"  | asym ops: seal {med['asym_seal']:.0f}, open {med['asym_open']:.0f} per package"
        f"  | {med['bytes'] / n:.0f} B/record, input generator {gen / n * 1e6:.2f} µs/record",
        flush=True,
    )


def memory_child(suite_name: str, n: int, workdir: str) -> None:
    pool = make_pool()
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    one_run_no_raw(suite_name, n, Path(workdir), pool)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(f"{base} {peak}")


def one_run_no_raw(suite_name: str, n: int, workdir: Path, pool: Any) -> None:
    suite = get_suite(suite_name)
    prov, plat = identity(suite_name, "prov"), identity(suite_name, "plat")
    path = workdir / f"mem-{suite_name}.xpkg"
    with open(path, "wb", buffering=1 << 20) as out:
        P.seal_package(out, records(n, pool), suite=suite, sender=prov,
                       recipients=[plat.info], meta=META, now=NOW)  # fmt: skip
    with open(path, "rb") as f:
        P.open_package(f, lambda _r: None, identity=plat, trust={prov.key_id: prov.info}.get,
                       limits=P.Limits(max_records=max(n, 1)))  # fmt: skip
    path.unlink()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--records", type=int, default=1_000_000)
    ap.add_argument("--gm-records", type=int, default=100_000)
    ap.add_argument("--suites", default="intl,pq,gm")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--dir", default=None, help="where the package files go (default: a temp dir)")
    ap.add_argument(
        "--memory",
        default=None,
        metavar="N1,N2",
        help="peak memory of seal+open for two record counts (subprocesses)",
    )
    ap.add_argument("--memory-child", nargs=3, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.memory_child:
        memory_child(a.memory_child[0], int(a.memory_child[1]), a.memory_child[2])
        return
    with tempfile.TemporaryDirectory(dir=a.dir) as d:
        if a.memory:
            for suite_name in a.suites.split(","):
                for n in (int(x) for x in a.memory.split(",")):
                    out = subprocess.run(
                        [sys.executable, __file__, "--memory-child", suite_name, str(n), d],
                        check=True, capture_output=True, text=True,
                    ).stdout.split()  # fmt: skip
                    base, peak = int(out[0]), int(out[1])
                    print(
                        f"{suite_name:4s} {n:>10,} records  peak RSS {peak / 1024:7.1f} MiB"
                        f"  (after imports and keys: {base / 1024:.1f} MiB)",
                        flush=True,
                    )
            return
        print(f"python {sys.version.split()[0]}, one core, median of {a.runs} runs", flush=True)
        for suite_name in a.suites.split(","):
            n = a.gm_records if suite_name == "gm" else a.records
            bench(suite_name, n, a.runs, Path(d))


if __name__ == "__main__":
    main()
