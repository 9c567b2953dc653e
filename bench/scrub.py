"""Free-text detection throughput: shapes (what outward views scrub, issue 11) vs validation.

Detection is the costly part of the ``scrub`` operator. This measures, on the same distinct
synthetic 违法事实 texts (no cache in front), per value:

* ``find_identifiers`` — validation only (what ``scrub`` used before issue 11): the baseline;
* ``find_shapes`` — validation plus every identifier shape (what ``scrub`` uses now);
* ``has_shape`` — the cheap gate a column-wise engine can run first;

and then the public view of the penalty kind end to end (``View.apply_batch``, caches cold and
then warm). Figures are values/s (median of RUNS), with the ratio to the baseline measured in
the same run (the machine is shared, so ratios are steadier than figures).

    python bench/scrub.py              # 10,000 texts (the detection cache holds 16,384)
    python bench/scrub.py --texts 100000
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from xinan.identifiers import find_identifiers  # noqa: E402
from xinan.masking import MaskContext, View  # noqa: E402
from xinan.masking import operators as masking  # noqa: E402
from xinan.policy import load_policy  # noqa: E402
from xinan.provider.synth import Synth  # noqa: E402
from xinan.shapes import find_shapes, has_shape  # noqa: E402

TODAY = date(2026, 11, 25)
RUNS = 5


def make(n: int) -> tuple[list[str], list[list[str]]]:
    policy = load_policy(ROOT / "policies" / "credit-default.toml")
    kind = policy.kind("penalty")
    synth = Synth(policy, seed=1, today=TODAY)
    rows = [vals for vals, _bad in synth.rows(kind, n)]  # valid rows only (no bad rate)
    i = kind.index("违法事实")
    return [r[i] for r in rows], rows


def rate(fn: Callable[[str], object], texts: list[str]) -> float:
    t = time.perf_counter()
    for s in texts:
        fn(s)
    return len(texts) / (time.perf_counter() - t)


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--texts", type=int, default=10_000)
    args = ap.parse_args()
    texts, rows = make(args.texts)
    with_digits = sum(has_shape(s) for s in texts)
    print(f"{len(texts):,} distinct 违法事实 texts (mean {sum(map(len, texts)) / len(texts):.0f}")
    print(f"  characters; {with_digits / len(texts):.0%} pass the has_shape gate)")

    def strict(s: str) -> object:
        return find_identifiers(s, today=TODAY)

    def shapes(s: str) -> object:
        return find_shapes(s, today=TODAY)

    # what the public view runs: the shapes and the record's own people (行政相对人名称 and
    # 法定代表人, when they occur in the text), as xinan.masking.views does per value
    kind = load_policy(ROOT / "policies" / "credit-default.toml").kind("penalty")
    people = [kind.index("行政相对人名称"), kind.index("法定代表人")]
    named = [
        (t, tuple(r[j] for j in people if len(r[j]) >= 2 and r[j] in t))
        for t, r in zip(texts, rows, strict=True)
    ]

    def rate_named() -> float:
        t0 = time.perf_counter()
        for text, names in named:
            find_shapes(text, today=TODAY, names=names)
        return len(named) / (time.perf_counter() - t0)

    olds, news, gates, ratios, withnames = [], [], [], [], []
    for _ in range(RUNS):
        o, n = rate(strict, texts), rate(shapes, texts)
        olds.append(o)
        news.append(n)
        ratios.append(o / n)
        gates.append(rate(has_shape, texts))
        withnames.append(rate_named())
    print(f"  find_identifiers (validation, baseline) {statistics.median(olds):>10,.0f} texts/s")
    print(f"  find_shapes (outward views)             {statistics.median(news):>10,.0f} texts/s")
    print(f"  ratio baseline / shapes                 {statistics.median(ratios):>10.2f}x")
    print(f"  has_shape gate                          {statistics.median(gates):>10,.0f} texts/s")
    wn = statistics.median(withnames)
    print(
        f"  find_shapes with the record's names     {wn:>10,.0f} texts/s ({1e6 / wn:.1f} µs each)"
    )
    print("  budget per record on 2 cores at issue 13's targets: provider job 56,000/s → 35.7 µs")
    print("  of CPU for everything; `xinan mask` at 2× a csv loop of ~110,000/s → about 9 µs")

    policy = load_policy(ROOT / "policies" / "credit-default.toml")
    view = View(policy, policy.kind("penalty"), "public", MaskContext(today=TODAY))
    cold, warm = [], []
    for _ in range(RUNS):
        masking._find_cached.cache_clear()
        t = time.perf_counter()
        view.apply_batch(rows)
        cold.append(len(rows) / (time.perf_counter() - t))
        t = time.perf_counter()
        view.apply_batch(rows)
        warm.append(len(rows) / (time.perf_counter() - t))
    print(f"public view of the penalty kind, {len(rows):,} rows (View.apply_batch; legal persons")
    print("  masked, natural persons withheld)")
    print(f"  detection cache cold                    {statistics.median(cold):>10,.0f} rows/s")
    print(f"  detection cache warm                    {statistics.median(warm):>10,.0f} rows/s")


if __name__ == "__main__":
    main()
