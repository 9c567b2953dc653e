"""What one-byte-string costs: `verify_package` with the canonical record-line check of
docs/package.md §2 against the same verification with the check switched off (the code before
issue 11), in one process, alternating runs; and canonical_json (RFC 8785) of an audit entry
against the json.dumps(sort_keys=True) it replaced.

    python bench/canonical.py                 # 20,000 records, 5 rounds
    python bench/canonical.py --records 100000 --rounds 3
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from fuzz import world
from xinan._codec import canonical_json
from xinan.audit.entry import AuditEvent, make_line
from xinan.crypto import get_suite
from xinan.formats import package as P
from xinan.formats.package import records as R  # the record reader (is_compact_json)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--records", type=int, default=20_000)
    ap.add_argument("--rounds", type=int, default=5)
    a = ap.parse_args()
    recs = [
        P.SealRecord(
            f"R-{i:06d}",
            [f"某某商贸有限公司{i}", "未按规定公示年度报告" * 3],
            ["11010519491231002X", f"1380013{i % 10000:04d}"],
        )
        for i in range(a.records)
    ]
    out = io.BytesIO()
    P.seal_package(
        out,
        recs,
        suite=get_suite("intl"),
        sender=world.provider(),
        recipients=[world.platform().info],
        meta=world.META,
        now=world.NOW,
    )
    data = out.getvalue()
    check = R.is_compact_json

    def verify() -> float:
        t = time.perf_counter()
        P.verify_package(io.BytesIO(data), trust=world.trust_any)
        return time.perf_counter() - t

    on, off = [], []
    for _ in range(a.rounds):
        R.is_compact_json = check
        on.append(verify())
        R.is_compact_json = lambda value, line: True  # baseline: no canonical check
        off.append(verify())
    R.is_compact_json = check
    t_on, t_off = statistics.median(on), statistics.median(off)
    print(
        f"verify {a.records:,} records: with the canonical check {a.records / t_on:,.0f}/s, "
        f"without {a.records / t_off:,.0f}/s, ratio {t_on / t_off:.2f}x (median of {a.rounds})"
    )

    body = AuditEvent(
        "share",
        world.platform().key_id,
        "platform",
        objects={"record_ids": [f"R-{i}" for i in range(20)], "counts": {"read": 20}},
        why={"purpose": "信易贷授信审查"},
    ).body()
    entry = json.loads(make_line(body, 12, "2026-11-25T02:00:00.000000Z"))
    n = 20_000

    def timed(f: object) -> float:
        t = time.perf_counter()
        for _ in range(n):
            f(entry)  # type: ignore[operator]
        return (time.perf_counter() - t) / n * 1e6

    def old(v: object) -> bytes:
        return json.dumps(v, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()

    jcs, before = timed(canonical_json), timed(old)
    assert canonical_json(entry) == old(entry)
    print(
        f"audit entry: canonical_json {jcs:.1f} µs, json.dumps(sort_keys) {before:.1f} µs, "
        f"ratio {jcs / before:.2f}x (same bytes)"
    )


if __name__ == "__main__":
    main()
