"""Scale figures for issue 13 (200 million records in an hour): the provider's whole job, the
platform's verify, open and ingest, `xinan mask` against a minimal csv-module loop measured in
the same run, one worker against two, and peak memory — on a GB18030 penalty export.

Every figure runs the real CLI in a child process (`cli.py`), timed from outside; peak memory
is the largest resident set of any process of the step (the CLI or one of its workers), read
with getrusage by a small wrapper around each step. Prints each figure, the ratios, and the
time 200,000,000 records would take at that rate.

    python bench/scale.py                    # 200,000 rows: a quick run
    python bench/scale.py --rows 10000000    # the issue's size (about 3 GB of disk, ~1 hour)
    python bench/scale.py --steps job,mask   # only some steps (job, verify, open, ingest,
                                             # mask, workers)
    python bench/scale.py --rows 10000000 --steps job,mask,workers --workers-rows 1000000
                                             # the 1 → 2 workers ratio on the first 1,000,000
                                             # rows (two more whole jobs at 10M take long)

The export: `xinan fake penalty` makes up to 200,000 distinct rows (GB18030, 0.1 % bad rows),
which are repeated to reach --rows; one extra bad row is placed in the middle, and the job's
rejects file must name its row number. Targets (issue 13): provider job ≥ 56k records/s,
verify ≥ 330k/s, open ≥ 150k/s, ingest ≥ 50k/s, mask ≥ 2× the csv loop, 1→2 workers ≥ 1.7×,
peak RSS ≤ 300 MB.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CLI = [sys.executable, str(ROOT / "cli.py")]
TARGET = 200_000_000
BASE_ROWS = 200_000


def measure_child(argv: list[str]) -> None:
    """--measure mode: run argv, then report its exit code and the peak RSS of its processes."""
    proc = subprocess.run(argv, capture_output=True, check=False)
    use = resource.getrusage(resource.RUSAGE_CHILDREN)
    peak = use.ru_maxrss / 1024
    sys.stdout.buffer.write(proc.stdout)
    sys.stderr.buffer.write(proc.stderr)
    sys.stderr.write(f"\n@@peak_mb={peak:.1f} cpu_s={use.ru_utime + use.ru_stime:.3f}\n")
    raise SystemExit(proc.returncode)


_CPU: list[float] = []  # CPU seconds of each step (all its processes), in order


def run(args: list[str], env: dict[str, str], *, cli: bool = True) -> tuple[float, float, str]:
    """(seconds, peak MB, stdout) of one step; fails loudly on a bad exit code. The step's
    CPU time (user + system, every process of it) is kept in ``_CPU`` for :func:`figure`."""
    argv = [*CLI, *args] if cli else args
    t = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, __file__, "--measure", "--", *argv],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    dt = time.perf_counter() - t
    if proc.returncode not in (0, 3):
        print(proc.stdout[-2000:], proc.stderr[-2000:])
        raise SystemExit(f"{args[:4]} failed with exit code {proc.returncode}")
    tail = proc.stderr.rsplit("@@peak_mb=", 1)[1].split()
    peak = float(tail[0])
    _CPU.append(float(tail[1].removeprefix("cpu_s=")))
    return dt, peak, proc.stdout


# A minimal masking loop with the csv module: the baseline `xinan mask` is held to (2×).
BASELINE = r"""
import csv, sys
src, dst = sys.argv[1], sys.argv[2]
f = open(src, encoding="gb18030", newline="")
g = open(dst, "w", encoding="utf-8", newline="")
with f, g:
    r, w = csv.reader(f), csv.writer(g, lineterminator="\r\n")
    head = next(r)
    i, j = head.index("行政相对人名称"), head.index("法定代表人证件号码")
    w.writerow(head)
    for row in r:
        row[i] = row[i][:1] + "*" * (len(row[i]) - 1)
        v = row[j]
        row[j] = v[:6] + "*" * (len(v) - 10) + v[-4:] if len(v) > 10 else "*" * len(v)
        w.writerow(row)
"""


def make_export(d: Path, rows: int, env: dict[str, str]) -> tuple[Path, int]:
    """A GB18030 penalty export of ``rows`` records and the row number of the planted bad row."""
    base = d / "base.csv"
    n = min(rows, BASE_ROWS)
    run(
        ["fake", "penalty", "-n", str(n), "-o", str(base), "--encoding", "gb18030",
         "--bad-rate", "0.001", "--seed", "13"],
        env,
    )  # fmt: skip
    data = base.read_bytes()
    head, _, body = data.partition(b"\r\n")
    lines = body.split(b"\r\n")
    if lines and lines[-1] == b"":
        lines.pop()
    export = d / "export.csv"
    middle = rows // 2
    bad_row = middle + 2  # the header is row 1
    written = 0
    with export.open("wb") as out:
        out.write(head + b"\r\n")
        while written < rows:
            take = lines[: rows - written]
            if written <= middle < written + len(take):
                k = middle - written
                take = [*take[:k], take[k].replace(b",", b";", 3), *take[k + 1 :]]
            out.write(b"\r\n".join(take) + b"\r\n")
            written += len(take)
    base.unlink()
    return export, bad_row


def setup_keys(env: dict[str, str]) -> None:
    for args in (
        ["keygen", "--id", "amr", "--role", "provider", "--suite", "intl"],
        ["keygen", "--id", "platform", "--role", "platform", "--suite", "intl"],
        ["keygen", "--id", "sysadm", "--role", "sys-admin", "--suite", "intl"],
        ["keygen", "--id", "subject-ps", "--role", "pseudonym", "--suite", "intl"],
        ["audit", "init"],  # the log's own signer (a vault refuses an identity-signed log)
        # the keyring's roster (docs/keys.md §8): no identity acts before its bootstrap
        ["--as", "sysadm", "keys", "bootstrap", "--token-dir", env["XINAN_TOKEN_DIR"]],
    ):
        run(args, env)


def figure(
    label: str,
    records: int,
    seconds: float,
    peak: float,
    target: float | None,
    cpu: float | None = None,
) -> float:
    rate = records / seconds
    full = TARGET / rate
    goal = f"  (target ≥ {target:,.0f}/s)" if target else ""
    # records per CPU-second of the step's processes: what a loaded machine does not inflate
    if cpu is None:  # the step just run
        cpu = _CPU[-1] if _CPU else 0.0
    per_cpu = f"  {records / cpu:>8,.0f}/CPU-s" if cpu > 0 else ""
    print(
        f"  {label:<44} {rate:>10,.0f} records/s  {seconds:>7.1f} s  peak {peak:>5.0f} MB"
        f"  → 200M in {full / 3600:5.2f} h{per_cpu}{goal}",
        flush=True,
    )
    return rate


def main() -> None:
    if len(sys.argv) > 2 and sys.argv[1] == "--measure":
        measure_child(sys.argv[3:])
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--rows", type=int, default=200_000)
    ap.add_argument("--steps", default="job,verify,open,ingest,mask,workers")
    ap.add_argument("--dir", default=None, help="work directory (default: a temporary one)")
    ap.add_argument(
        "--workers-rows",
        type=int,
        default=None,
        help="rows for the 1 → 2 workers step (default: --rows); the export's first rows",
    )
    args = ap.parse_args()
    steps = set(args.steps.split(","))
    load0 = os.getloadavg()
    print(f"start {time.strftime('%Y-%m-%d %H:%M:%S')}; load average {load0[0]:.1f} (1 min), "
          f"{load0[2]:.1f} (15 min) on {os.cpu_count()} cores", flush=True)  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="xinan-scale-", dir=args.dir) as tmp:
        d = Path(tmp)
        env = dict(
            os.environ,
            XINAN_PASSPHRASE="bench-only-passphrase",
            XINAN_TOKEN_DIR=str(Path(tmp) / "tokens"),  # administrators' second factor
            XINAN_TODAY="2026-11-25",
            XINAN_KEYRING=str(d / "keys"),
        )
        setup_keys(env)
        t = time.perf_counter()
        export, bad_row = make_export(d, args.rows, env)
        size = export.stat().st_size / 1e6
        print(
            f"export: {args.rows:,} GB18030 penalty records, {size:,.0f} MB "
            f"(made in {time.perf_counter() - t:.0f} s); cores: {os.cpu_count()}; "
            f"load average at start {load0[0]:.1f}",
            flush=True,
        )
        pkg = d / "e.xpkg"
        rates: dict[str, float] = {}
        peaks: list[float] = []
        job = ["--as", "amr", "seal", str(export), "-o", str(pkg), "--to", "platform",
               "--views", "public,gov_share", "--pseudonym-key", "subject-ps",
               "--rejects", str(d / "rej.csv"), "--json"]  # fmt: skip
        sealed = args.rows
        if steps & {"job", "verify", "open", "ingest"}:
            dt, peak, out = run(job, env)
            s = json.loads(out)
            sealed = s["sealed"]
            assert s["read"] == args.rows == s["sealed"] + s["rejected"], s
            for v in s["views"].values():
                assert v["read"] == v["written"] + v["withheld"] + v["rejected"], v
            with (d / "rej.csv").open(encoding="utf-8-sig", newline="") as f:
                rejected_rows = {int(r["row"]) for r in csv.DictReader(f)}
            assert bad_row in rejected_rows, "the planted bad row is not in the rejects file"
            peaks.append(peak)
            print(f"provider job: validate + mask public, gov_share + seal for the platform, "
                  f"one pass (bad row {bad_row:,} in rejects: yes)")  # fmt: skip
            rates["job"] = figure("seal --views public,gov_share (all cores)", args.rows, dt,
                                  peak, 56_000)  # fmt: skip
        if "verify" in steps:
            dt, peak, _ = run(["--as", "platform", "verify", str(pkg)], env)
            peaks.append(peak)
            rates["verify"] = figure("verify", sealed, dt, peak, 330_000)
        if "open" in steps:
            dt, peak, _ = run(["--as", "platform", "open", str(pkg), "-o", str(d / "o.csv")], env)
            (d / "o.csv").unlink()
            peaks.append(peak)
            rates["open"] = figure("open", sealed, dt, peak, 150_000)
        if "ingest" in steps:
            vault = d / "vault"
            run(["--as", "sysadm", "vault", "init", "--vault", str(vault), "--platform",
                 "platform", "--pseudonym-key", "subject-ps"], env)  # fmt: skip
            dt, peak, _ = run(
                ["--as", "platform", "vault", "ingest", str(pkg), "--vault", str(vault)], env
            )
            peaks.append(peak)
            rates["ingest"] = figure("vault ingest", sealed, dt, peak, 50_000)
        if "mask" in steps:
            base = d / "baseline.py"
            base.write_text(BASELINE, encoding="utf-8")
            dt_b, peak_b, _ = run([sys.executable, str(base), str(export), str(d / "b.csv")],
                                  env, cli=False)  # fmt: skip
            cpu_b = _CPU[-1]
            dt_m, peak_m, _ = run(["--as", "amr", "mask", str(export), "-o", str(d / "m.csv"),
                                   "--audience", "public", "--json"], env)  # fmt: skip
            peaks.append(peak_m)
            print("mask, one audience (public), against a minimal csv-module loop (same run):")
            b = figure("csv-module loop (2 columns sliced)", args.rows, dt_b, peak_b, None, cpu_b)
            m = figure("xinan mask --audience public (all cores)", args.rows, dt_m, peak_m, None)
            print(f"  ratio xinan mask / csv loop: {m / b:.2f}×  (target ≥ 2)")
        if "workers" in steps:
            res = {}
            wrows = min(args.workers_rows or args.rows, args.rows)
            wjob = job
            if wrows < args.rows:  # the export's first wrows records, same bytes per line
                part = d / "part.csv"
                with export.open("rb") as f, part.open("wb") as sink:
                    for _ in range(wrows + 1):
                        sink.write(f.readline())
                wjob = [str(part) if a == str(export) else a for a in job]
            for w in (1, 2):
                dt, peak, _ = run([*wjob, "--workers", str(w)], env)
                peaks.append(peak)
                res[w] = figure(f"provider job, --workers {w} ({wrows:,} rows)", wrows, dt,
                                peak, None)  # fmt: skip
            print(f"  ratio 2 workers / 1 worker: {res[2] / res[1]:.2f}×  (target ≥ 1.7)")
        load1 = os.getloadavg()
        print(f"peak RSS of any process of any step: {max(peaks, default=0):,.0f} MB "
              f"(target ≤ 300 MB)")  # fmt: skip
        print(f"load average at end {load1[0]:.1f} (1 min), {load1[2]:.1f} (15 min): "
              f"{'loaded by other work' if load1[2] > 1.5 else 'quiet'}")  # fmt: skip


if __name__ == "__main__":
    main()
