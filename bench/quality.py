"""Quality-report throughput against `mask` on the same file, measured in the same run.

Writes a synthetic UTF-8 penalty export with 1 % bad rows, then times, each
the median of 3 runs in this process:

* the baseline — `mask_file` for one audience (read, validate, mask, write), the job whose
  counts the quality report must equal;
* `build_quality_report` — read, validate, and the per-item checks of 完整率/准确率, the
  timeliness in working days, the worst rows.

Prints rows/s for both and the ratio (quality / mask); also checks the counts agree.

    python bench/quality.py                  # 200,000 rows
    python bench/quality.py --rows 1000000
"""

from __future__ import annotations

import argparse
import csv
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from xinan.masking import MaskContext  # noqa: E402
from xinan.policy.catalogue import load_policy  # noqa: E402
from xinan.provider.jobs import mask_file  # noqa: E402
from xinan.provider.quality import build_quality_report  # noqa: E402
from xinan.provider.synth import Synth  # noqa: E402

TODAY = date(2026, 11, 25)
RUNS = 3


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=200_000)
    args = ap.parse_args()
    policy = load_policy()
    kind = policy.kind("penalty")
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "export.csv"
        with src.open("w", encoding="utf-8", newline="") as f:
            w = csv.writer(f)
            w.writerow(kind.columns)
            for row, _ in Synth(policy, seed=3, today=TODAY).rows(kind, args.rows, bad_rate=0.01):
                w.writerow(row)
        times_mask, times_quality = [], []
        for _ in range(RUNS):
            t = time.perf_counter()
            m = mask_file(
                src,
                {"public": Path(tmp) / "public.csv"},
                policy=policy,
                ctx=MaskContext(today=TODAY),
            )
            times_mask.append(time.perf_counter() - t)
            t = time.perf_counter()
            q = build_quality_report(src, policy=policy, today=TODAY)
            times_quality.append(time.perf_counter() - t)
        assert (q.read, q.rejected) == (m.read, m.rejected), "counts differ from mask"
    tm, tq = statistics.median(times_mask), statistics.median(times_quality)
    print(f"rows: {args.rows:,} (penalty, UTF-8, 1 % bad); median of {RUNS} runs")
    print(f"mask (1 audience, baseline):  {args.rows / tm:>10,.0f} rows/s")
    print(f"quality report:               {args.rows / tq:>10,.0f} rows/s")
    print(f"ratio quality / mask:         {tm / tq:>10.2f}  (1.0 = as fast as mask)")
    kpis = q.kpis()
    print("KPIs: " + ", ".join(f"{k} {v:.4f}" for k, v in kpis.items() if v is not None))


if __name__ == "__main__":
    main()
