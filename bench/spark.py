"""xinan on Spark: throughput on local[N], ratios against Spark's own in the same run (issue 14).

Cases, each the median of --repeat runs over the same cached input (synthetic penalty records,
Parquet, 4 partitions), written to Spark's ``noop`` sink so that only the work is timed:

  native    three masks as plain Spark SQL (xinan.spark.masks.native_sql): the baseline
  mask      xinan's mask-only job for one audience (querent): engine stage + native SQL
  mask+seal xinan's job for gov_share plus the submission's two sealed fields
  aes_gcm   Spark's aes_encrypt(证件号码, key, 'GCM') — the key sits in the query plan
  seal1     xinan sealing the same column (record key, field key, commitment, AES-256-GCM)
  arrow     a mapInArrow function that only counts the rows of all 25 columns: Spark's cost of
            moving the rows to Python and back, which every xinan stage pays
  engine    mask and mask+seal's engine stage run in this process on the same rows (no Spark,
            one core): what Spark's two cores are compared with

then mask+seal again on local[1] for the 1 → 2 cores ratio.

    python bench/spark.py                   # 200,000 rows, 3 runs per case
    python bench/spark.py --rows 1000000 --repeat 5
    python bench/spark.py --batch 20000      # spark.sql.execution.arrow.maxRecordsPerBatch

Targets (issue 14): mask ≥ 150k records/s, mask+seal ≥ 80k/s on local[2]; seal1 ≥ 1.5×
aes_gcm; local[1] → local[2] ≥ 1.7×. The machine is shared: the load average is printed with
the figures, and the ratios (measured in one run) are steadier than the rates.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import pyarrow as pa  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402

from xinan.crypto.base import SuiteName  # noqa: E402
from xinan.policy.catalogue import load_policy  # noqa: E402
from xinan.provider.synth import Synth  # noqa: E402
from xinan.spark.frames import plan_stage, policy_text, run_frames  # noqa: E402
from xinan.spark.keys import ExecutorKeys, PseudonymMaterial  # noqa: E402
from xinan.spark.masks import NativeRule, native_sql  # noqa: E402
from xinan.spark.sealing import PartitionSealer  # noqa: E402
from xinan.spark.session import local_session  # noqa: E402

TODAY = date(2026, 11, 25)
POLICY = ROOT / "policies" / "credit-default.toml"
ID_SHAPE = frozenset({15, 18})


def make_input(path: Path, rows: int) -> None:
    """``rows`` synthetic penalty records (50,000 distinct ones, repeated), as Parquet."""
    policy = load_policy(POLICY)
    kind = policy.kind("penalty")
    synth = Synth(policy, seed=14, today=TODAY)
    distinct = [v for v, _bad in synth.rows(kind, min(rows, 50_000), bad_rate=0.01)]
    cols = list(zip(*distinct, strict=True))
    reps = -(-rows // len(distinct))
    table = pa.table(
        {c: pa.array(list(col) * reps)[:rows] for c, col in zip(kind.columns, cols, strict=True)}
    )
    pq.write_table(table, path)


def keys(seal: bool) -> ExecutorKeys:
    ps = {"subject": PseudonymMaterial("xs1benchkey", SuiteName.INTL, b"\x05" * 32)}
    if not seal:
        return ExecutorKeys(SuiteName.INTL, "any", pseudonyms=ps)
    return ExecutorKeys(
        SuiteName.INTL, "any", package_id="cd" * 16, package_key=b"\x09" * 32, pseudonyms=ps
    )


class SealOne:
    """mapInArrow: seal one column with xinan's key schedule (the line's sealed part)."""

    def __init__(self, k: ExecutorKeys, column: str) -> None:
        self.k, self.column = k, column

    def __call__(self, batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        from pyspark import TaskContext

        part = TaskContext.get().partitionId()
        sealer = PartitionSealer(self.k, [self.column], 0)
        row = 0
        for b in batches:
            n = b.num_rows
            vals = [("" if v is None else v,) for v in b.column(self.column).to_pylist()]
            _ids, lines = sealer.seal_rows(part, range(row, row + n), [()] * n, vals)
            row += n
            yield pa.RecordBatch.from_arrays([pa.array(lines, pa.binary())], names=["sealed"])


class CountRows:
    """mapInArrow: read every column's batch and return its row count (transfer only)."""

    def __call__(self, batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for b in batches:
            yield pa.RecordBatch.from_arrays([pa.array([b.num_rows], pa.int64())], names=["n"])


def engine_rate(path: Path, audience: str, seal: bool, batch: int, repeat: int) -> float:
    """The engine stage (xinan.spark.stage) on the file's rows in this process, one core."""
    from xinan.spark.stage import compiled

    policy = load_policy(POLICY)
    table = pq.read_table(path)
    spec, _k, _sql = plan_stage(
        policy, table.column_names, text=policy_text(policy), audiences=[audience],
        today=TODAY, keys=keys(seal), seal=seal,
    )  # fmt: skip
    stage = compiled(spec)
    batches = table.to_batches(max_chunksize=batch)

    def run() -> None:
        row = 0
        for b in batches:
            stage.run_batch(b, partition=0, row_offset=row)
            row += b.num_rows

    return table.num_rows / timed(run, repeat)


LOADS: list[float] = []  # the 1-minute load average after each timed case


def timed(run: Callable[[], None], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        run()
        times.append(time.perf_counter() - t)
    LOADS.append(os.getloadavg()[0])
    return statistics.median(times)


def noop(df) -> Callable[[], None]:  # type: ignore[no-untyped-def]
    return lambda: df.write.format("noop").mode("overwrite").save()


def cases(
    master: str, path: Path, rows: int, repeat: int, only_seal: bool, batch: int
) -> dict[str, float]:
    spark = local_session(master, app=f"xinan-bench-{master}", driver_memory="2g")
    spark.conf.set("spark.sql.execution.arrow.maxRecordsPerBatch", str(batch))
    policy = load_policy(POLICY)
    df = spark.read.parquet(str(path)).repartition(4).cache()
    df.count()
    out: dict[str, float] = {}

    def job(audience: str, seal: bool):  # type: ignore[no-untyped-def]
        spec, _k, _sql = plan_stage(
            policy, df.columns, text=policy_text(policy), audiences=[audience], today=TODAY,
            keys=keys(seal), seal=seal,
        )  # fmt: skip
        frames = run_frames(df, policy, spec)
        if not seal:
            return frames.views[audience]
        # the stage (validation, Python masks, sealed lines) and the native SQL, one pass
        natives = [f"{e} AS n{i}" for i, e in enumerate(frames.native[audience].values())]
        return frames.stage.selectExpr("*", *natives)

    out["mask+seal"] = rows / timed(noop(job("gov_share", True)), repeat)
    if only_seal:
        spark.stop()
        return out
    three = [
        NativeRule("证件号码", "keep", (6, 4), ID_SHAPE, "*"),
        NativeRule("法定代表人证件号码", "keep", (6, 4), ID_SHAPE, "*"),
        NativeRule("统一社会信用代码", "keep", (2, 2), frozenset({18}), "*"),
    ]
    native = df.selectExpr(*[f"{native_sql(r, r.field)} AS m{i}" for i, r in enumerate(three)])
    out["native"] = rows / timed(noop(native), repeat)
    out["mask"] = rows / timed(noop(job("querent", False)), repeat)
    aes = df.selectExpr("aes_encrypt(`证件号码`, unhex('" + "09" * 32 + "'), 'GCM') AS c")
    out["arrow"] = rows / timed(noop(df.mapInArrow(CountRows(), "n bigint")), repeat)
    out["aes_gcm"] = rows / timed(noop(aes), repeat)
    seal1 = df.select("证件号码").mapInArrow(SealOne(keys(True), "证件号码"), "sealed binary")
    out["seal1"] = rows / timed(noop(seal1), repeat)
    spark.stop()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rows", type=int, default=200_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--batch", type=int, default=10_000, help="Arrow batch rows")
    args = ap.parse_args()
    load = os.getloadavg()
    print(
        f"rows {args.rows:,}, median of {args.repeat}; load average at start "
        f"{load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} on {os.cpu_count()} cores (shared)"
    )
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "penalty.parquet"
        make_input(path, args.rows)
        two = cases("local[2]", path, args.rows, args.repeat, False, args.batch)
        one = cases("local[1]", path, args.rows, args.repeat, True, args.batch)
        # local[2] once more after local[1]: the ratio uses the mean of the two local[2]
        # runs around it, so that a load that changed meanwhile shows as their spread
        again = cases("local[2]", path, args.rows, args.repeat, True, args.batch)
        eng = {
            "mask": engine_rate(path, "querent", False, args.batch, args.repeat),
            "mask+seal": engine_rate(path, "gov_share", True, args.batch, args.repeat),
        }
    for name in ("native", "arrow", "mask", "mask+seal", "aes_gcm", "seal1"):
        print(f"local[2] {name:<10} {two[name]:>12,.0f} records/s")
    print(f"local[1] mask+seal  {one['mask+seal']:>12,.0f} records/s")
    for name in ("mask", "mask+seal"):
        print(f"engine   {name:<10} {eng[name]:>12,.0f} records/s (no Spark, one core)")
    print(
        f"xinan mask / native Spark masks       {two['mask'] / two['native']:.2f}x "
        f"(overhead {two['native'] / two['mask']:.1f}x)"
    )
    print(f"xinan sealing / Spark aes_encrypt GCM {two['seal1'] / two['aes_gcm']:.2f}x")
    print(f"local[2] mask+seal  {again['mask+seal']:>12,.0f} records/s (again, after local[1])")
    both = (two["mask+seal"] + again["mask+seal"]) / 2
    print(f"local[1] -> local[2] (mask+seal)      {both / one['mask+seal']:.2f}x")
    for name in ("mask", "mask+seal"):
        print(
            f"local[2] / engine on one core ({name:<9}) {two[name] / eng[name]:.2f}x "
            "(2.00x: Spark adds nothing)"
        )
    end = os.getloadavg()
    print(f"load average at the end {end[0]:.1f} / {end[1]:.1f} / {end[2]:.1f}")
    print("1-minute load after each case: " + ", ".join(f"{x:.1f}" for x in LOADS))


if __name__ == "__main__":
    main()
