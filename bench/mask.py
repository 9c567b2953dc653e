"""Masking throughput: xinan vs a hand-written slicing loop vs presidio-anonymizer (issue 3 §10).

Part 1 masks the same 100,000 in-memory records of (name, resident ID, mobile) three ways with
equivalent operators — name → 张**, ID → keep first 6 / last 4, mobile → keep first 3 / last 4 —
and prints records/s (median of 5 runs) and the ratios. Presidio runs only when
presidio-anonymizer is installed (`pip install .[bench]`).

Part 2 runs `xinan mask` end to end (CSV read, validation, masking, CSV write) on a generated
penalty CSV and prints records/s and peak memory (max RSS of the child process).

    python bench/mask.py                      # part 1 and part 2 at 1,000,000 rows
    python bench/mask.py --rows 10000000      # part 2 at ten million rows (needs disk, time)
    python bench/mask.py --skip-e2e           # part 1 only

Targets: xinan ≥ 10× Presidio and within 2× of the hand-written loop; end to end, peak
memory under 200 MB at 1,000,000 and at 10,000,000 rows.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from xinan.masking import MaskContext, View  # noqa: E402
from xinan.policy.catalogue import load_policy_text  # noqa: E402
from xinan.provider.synth import Synth  # noqa: E402

TODAY = date(2026, 11, 25)
N = 100_000
RUNS = 5
BATCH = 4096

# A three-field kind with the operators the comparison names, in xinan's own policy format.
BENCH_POLICY = """
format = "xinan-policy/1"
id = "bench"
version = "1"
audiences = ["public", "gov_share", "querent", "internal", "submission"]
[grades]
1 = "public"
4 = "highly sensitive"
[categories]
"c" = "c"
[kind.trio]
subject = "natural"
[[kind.trio.field]]
name = "姓名"
type = "person_name"
category = "c"
grade = 4
personal = true
public = "drop"
gov_share = "name(stars)"
querent = "name(stars)"
internal = "name(stars)"
submission = "clear"
[[kind.trio.field]]
name = "证件号码"
type = "resident_id"
category = "c"
grade = 4
personal = true
sensitive = true
sealed = true
public = "drop"
gov_share = "keep(6,4)"
querent = "keep(6,4)"
internal = "keep(6,4)"
submission = "drop"
[[kind.trio.field]]
name = "手机号码"
type = "mobile"
category = "c"
grade = 4
personal = true
sensitive = true
sealed = true
public = "drop"
gov_share = "keep(3,4)"
querent = "keep(3,4)"
internal = "keep(3,4)"
submission = "drop"
"""


def make_records(n: int, *, distinct_names: bool = False) -> list[list[str]]:
    """Names from Faker's pool (3,000 names: they repeat, as in real exports), or all distinct
    (surname + two given characters drawn at random: the worst case for xinan's name cache)."""
    policy = load_policy_text(BENCH_POLICY, "bench")
    synth = Synth(policy, seed=1, today=TODAY)
    if not distinct_names:
        return [[synth.name(), synth.resident_id(), synth.mobile()] for _ in range(n)]
    given = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华玉萍红娥玲芬燕彬鹏辉建国"
    seen: set[str] = set()
    out = []
    while len(out) < n:
        name = synth.name()[0] + synth.rng.choice(given) + synth.rng.choice(given) + str(len(out))
        name = name.rstrip("0123456789")
        if name not in seen or len(seen) > 20_000:
            seen.add(name)
        out.append([name, synth.resident_id(), synth.mobile()])
    return out


def run_xinan(records: list[list[str]]) -> float:
    policy = load_policy_text(BENCH_POLICY, "bench")
    view = View(policy, policy.kind("trio"), "querent", MaskContext(today=TODAY))
    t = time.perf_counter()
    out = []
    for i in range(0, len(records), BATCH):  # the provider streams in batches of this size
        out.extend(view.apply_batch(records[i : i + BATCH]))
    dt = time.perf_counter() - t
    assert out[0] is not None and out[0][1][6:14] == "********"
    return len(records) / dt


def run_hand(records: list[list[str]]) -> float:
    """What a careful engineer writes by hand: slicing in one loop, no checks at all."""
    t = time.perf_counter()
    out = []
    for name, rid, mobile in records:
        out.append(
            [
                name[0] + "*" * (len(name) - 1),
                rid[:6] + "*" * (len(rid) - 10) + rid[-4:],
                mobile[:3] + "****" + mobile[-4:],
            ]
        )
    dt = time.perf_counter() - t
    assert out[0][1][6:14] == "********"
    return len(records) / dt


def run_presidio(records: list[list[str]]) -> float | None:
    try:
        from presidio_anonymizer import AnonymizerEngine
        from presidio_anonymizer.entities import OperatorConfig, RecognizerResult
    except ImportError:
        return None
    engine = AnonymizerEngine()
    ops = {
        "NAME": OperatorConfig("mask", {"masking_char": "*", "chars_to_mask": 8, "from_end": True}),
        "ID": OperatorConfig("mask", {"masking_char": "*", "chars_to_mask": 8, "from_end": False}),
        "PHONE": OperatorConfig(
            "mask", {"masking_char": "*", "chars_to_mask": 4, "from_end": False}
        ),
    }
    t = time.perf_counter()
    for name, rid, mobile in records:
        # Presidio masks entity spans inside one text; give it the three values as one text with
        # the spans it would otherwise have to detect (detection is not counted here).
        text = f"{name} {rid[:6]}{rid[6:14]}{rid[14:]} {mobile[:3]}{mobile[3:7]}{mobile[7:]}"
        a = len(name) + 1
        b = a + len(rid) + 1
        results = [
            RecognizerResult("NAME", 1, len(name), 1.0),
            RecognizerResult("ID", a + 6, a + 14, 1.0),
            RecognizerResult("PHONE", b + 3, b + 7, 1.0),
        ]
        engine.anonymize(text=text, analyzer_results=results, operators=ops)
    return len(records) / (time.perf_counter() - t)


def part1() -> None:
    print(f"part 1: {N:,} in-memory records (name, resident ID, mobile); xinan (View.apply_batch,")
    print(f"  batches of {BATCH:,}) and the hand loop")
    print(f"  run alternately {RUNS} times, medians of records/s and of the per-pair ratio")
    for label, distinct in (("names from a 3,000-name pool", False), ("all names distinct", True)):
        records = make_records(N, distinct_names=distinct)
        xs, hs, ratios = [], [], []
        for _ in range(RUNS):
            x, h = run_xinan(records), run_hand(records)
            xs.append(x)
            hs.append(h)
            ratios.append(h / x)
        x = statistics.median(xs)
        print(f"  [{label}]")
        print(f"    xinan                 {x:>12,.0f} records/s")
        print(f"    hand-written slicing  {statistics.median(hs):>12,.0f} records/s")
        print(f"    ratio hand / xinan    {statistics.median(ratios):>12.2f}x   (target ≤ 2.0)")
    records = make_records(N // 10)
    ps = [p for p in (run_presidio(records) for _ in range(3)) if p is not None]
    if ps:
        x = statistics.median(run_xinan(records) for _ in range(3))
        p = statistics.median(ps)
        print(f"  presidio-anonymizer     {p:>12,.0f} records/s   ({len(records):,} records)")
        print(f"    xinan on the same     {x:>12,.0f} records/s")
        print(f"    ratio xinan / presidio {x / p:>11.1f}x   (target ≥ 10)")
    else:
        print("  presidio-anonymizer   not installed (pip install .[bench])")


def part2(rows: int) -> None:
    with tempfile.TemporaryDirectory(prefix="xinan-bench-") as d:
        src = Path(d) / "penalty.csv"
        env = dict(
            os.environ,
            XINAN_TODAY=TODAY.isoformat(),
            XINAN_KEYRING=str(Path(d) / "keys"),
            XINAN_PASSPHRASE="bench-only-passphrase",
            XINAN_IDENTITY="bench-provider",
            XINAN_TOKEN_DIR=str(Path(d) / "tokens"),  # the sys-admin's second factor
        )
        cli = [sys.executable, str(ROOT / "cli.py")]
        for setup in (
            ["keygen", "--id", "bench-provider", "--role", "provider", "--suite", "intl"],
            ["keygen", "--id", "bench-sa", "--role", "sys-admin", "--suite", "intl"],
            ["audit", "init", "--key", "bench-provider"],
            # the keyring's roster: no identity acts before this (docs/keys.md §8)
            ["--as", "bench-sa", "keys", "bootstrap", "--token-dir", str(Path(d) / "tokens")],
        ):
            subprocess.run([*cli, *setup], check=True, env=env, stdout=subprocess.DEVNULL)
        t = time.perf_counter()
        subprocess.run(
            [
                *cli,
                "fake",
                "penalty",
                "-n",
                str(rows),
                "-o",
                str(src),
                "--encoding",
                "gb18030",
                "--bad-rate",
                "0.01",
            ],
            check=True,
            env=env,
            stdout=subprocess.DEVNULL,
        )
        gen = time.perf_counter() - t
        size = src.stat().st_size
        cmd = [
            *cli,
            "mask",
            str(src),
            "-o",
            str(Path(d) / "out-{audience}.csv"),
            "--audience",
            "public,querent",
            "--rejects",
            str(Path(d) / "rej.csv"),
            "--json",
        ]
        t = time.perf_counter()
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
        dt = time.perf_counter() - t
        if proc.returncode not in (0, 3):
            print(proc.stderr)
            raise SystemExit(proc.returncode)
        peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        print(f"part 2: xinan mask, {rows:,}-row GB18030 penalty CSV ({size / 1e6:,.0f} MB,")
        print(f"  generated in {gen:.0f} s)")
        print("  audiences public + querent in one pass, with validation and rejects")
        print(f"  {rows / dt:>12,.0f} records/s   ({dt:.1f} s)")
        print(f"  peak memory (max RSS of any child) {peak_mb:,.0f} MB   (target < 200 MB)")


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--skip-e2e", action="store_true")
    args = ap.parse_args()
    part1()
    if not args.skip_e2e:
        part2(args.rows)


if __name__ == "__main__":
    main()
