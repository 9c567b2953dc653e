"""What issue 13's throughput targets leave per record, against what the format and the
policy cannot do without, measured in the same run (docs/engine.md §6, "Floors").

A target of R records/s on C cores leaves C / R seconds of CPU per record for everything:
reading, validating, masking, scrubbing, sealing or opening, encoding, writing. This measures,
in one process on one core, the work no Python implementation of today's design can skip, and
nothing else:

* the primitives of ``xinan-package/1`` (docs/package.md §5) for one penalty record with its
  two sealed fields: sealing (one record key wrapped under the package key; per field a key
  derivation hash, a commitment hash and an AES-256-GCM seal under the field's own key, then
  base64) and opening (the same, backwards), called straight on ``cryptography`` and
  ``hashlib`` with no xinan code in between;
* the scrubbing every outward view of a penalty record needs (docs/policy.md §7): xinan's
  ``find_shapes`` on each distinct 违法事实 text with the record's own names, as the public view
  runs it (the text names the person in every record, so no gate skips it).

The vault's storage floor (its own tables and indexes, random record ids) is measured by
``bench/ingest.py``, which needs a whole package.

    python bench/floors.py                  # 20,000 texts and records
    python bench/floors.py --records 100000
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import os
import statistics
import sys
import time
from datetime import date
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from xinan.policy import load_policy  # noqa: E402
from xinan.provider.synth import Synth  # noqa: E402
from xinan.shapes import find_shapes  # noqa: E402

TODAY = date(2026, 11, 25)
RUNS = 5
CORES = 2
TARGETS = {  # issue 13: records/s on this 2-core machine
    "provider job (validate, mask 2 views, seal)": 56_000,
    "open (verify, then open every sealed value)": 150_000,
}
_ZERO = bytes(12)
_L_FC = b"xinan-package/1 field-key-commitment\x00"
_L_FK = b"xinan-package/1 field-key\x00"
_L_RK = b"xinan-package/1 record-key\x00"
_L_V = b"xinan-package/1 value\x00"


def _records(n: int) -> list[tuple[bytes, tuple[str, str]]]:
    """Encoded record ids and the two sealed values (ID numbers) of ``n`` records."""
    out = []
    for i in range(n):
        rid = f"r{i:026d}".encode()
        out.append((len(rid).to_bytes(2, "big") + rid, (f"3702021959031{i % 100000:05d}", "")))
    return out


def seal_floor(records: list[tuple[bytes, tuple[str, str]]]) -> float:
    pid = os.urandom(16)
    package = AESGCM(os.urandom(32))
    names = [len(n).to_bytes(2, "big") + n for n in (b"\xe6\xb3\x95" * 3, b"\xe8\xaf\x81" * 2)]
    keys = os.urandom(32 * len(records))  # record keys drawn in bulk, as the engine does
    t = time.perf_counter()
    for k, (erid, values) in enumerate(records):
        rk = keys[32 * k : 32 * k + 32]
        nonce = (k).to_bytes(12, "big")
        wrapped = nonce + package.encrypt(nonce, rk, _L_RK + pid + erid)
        parts = [base64.b64encode(wrapped)]
        pre = b"\x00\x00\x00\x01" + rk + _L_FK + pid + erid
        vpre = _L_V + pid + erid
        for en, v in zip(names, values, strict=True):
            fk = hashlib.sha256(pre + en).digest()
            blob = hashlib.sha256(_L_FC + fk).digest() + AESGCM(fk).encrypt(
                _ZERO, v.encode(), vpre + en
            )
            parts.append(base64.b64encode(blob))
    return (time.perf_counter() - t) / len(records)


def open_floor(records: list[tuple[bytes, tuple[str, str]]]) -> float:
    pid = os.urandom(16)
    pkey = os.urandom(32)
    package = AESGCM(pkey)
    names = [len(n).to_bytes(2, "big") + n for n in (b"\xe6\xb3\x95" * 3, b"\xe8\xaf\x81" * 2)]
    sealed = []
    for k, (erid, values) in enumerate(records):
        rk = os.urandom(32)
        nonce = (k).to_bytes(12, "big")
        wk = base64.b64encode(nonce + package.encrypt(nonce, rk, _L_RK + pid + erid))
        pre = b"\x00\x00\x00\x01" + rk + _L_FK + pid + erid
        blobs = []
        for en, v in zip(names, values, strict=True):
            fk = hashlib.sha256(pre + en).digest()
            c = hashlib.sha256(_L_FC + fk).digest()
            blobs.append(base64.b64encode(c + AESGCM(fk).encrypt(_ZERO, v.encode(), _L_V + en)))
        sealed.append((erid, wk, blobs))
    t = time.perf_counter()
    for erid, wk, blobs in sealed:
        w = base64.b64decode(wk)
        rk = package.decrypt(w[:12], w[12:], _L_RK + pid + erid)
        pre = b"\x00\x00\x00\x01" + rk + _L_FK + pid + erid
        for en, b in zip(names, blobs, strict=True):
            blob = base64.b64decode(b)
            fk = hashlib.sha256(pre + en).digest()
            if hashlib.sha256(_L_FC + fk).digest() != blob[:32]:
                raise SystemExit("commitment mismatch")
            AESGCM(fk).decrypt(_ZERO, blob[32:], _L_V + en).decode()
    return (time.perf_counter() - t) / len(sealed)


def scrub_floor(n: int) -> float:
    policy = load_policy(ROOT / "policies" / "credit-default.toml")
    kind = policy.kind("penalty")
    rows = [vals for vals, _bad in Synth(policy, seed=1, today=TODAY).rows(kind, n)]
    text_at = kind.index("违法事实")
    people = [kind.index("行政相对人名称"), kind.index("法定代表人")]
    work = [
        (r[text_at], tuple(r[j] for j in people if len(r[j]) >= 2 and r[j] in r[text_at]))
        for r in rows
    ]
    t = time.perf_counter()
    for text, names in work:
        find_shapes(text, today=TODAY, names=names)
    return (time.perf_counter() - t) / len(work)


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--records", type=int, default=20_000)
    args = ap.parse_args()
    records = _records(args.records)
    seal = statistics.median(seal_floor(records) for _ in range(RUNS)) * 1e6
    opened = statistics.median(open_floor(records) for _ in range(RUNS)) * 1e6
    scrub = statistics.median(scrub_floor(args.records) for _ in range(RUNS)) * 1e6
    load = os.getloadavg()
    print(f"{args.records:,} records, median of {RUNS} runs, one core; load average {load[0]:.1f}")
    print(f"  seal primitives, 1 record key + 2 sealed fields   {seal:6.1f} µs per record")
    print(f"  open primitives, the same                         {opened:6.1f} µs per record")
    print(f"  find_shapes on 违法事实 with the record's names    {scrub:6.1f} µs per record")
    print(f"budgets on {CORES} cores (CPU per record for everything):")
    job_budget = CORES / 56_000 * 1e6
    open_budget = CORES / 150_000 * 1e6
    print(f"  provider job at 56,000/s: {job_budget:5.1f} µs; scrub + seal alone take "
          f"{scrub + seal:5.1f} µs ({(scrub + seal) / job_budget:.0%} of it)")  # fmt: skip
    print(f"  open at 150,000/s:        {open_budget:5.1f} µs; the open primitives alone take "
          f"{opened:5.1f} µs ({opened / open_budget:.0%}), before the verify pass the audit "
          "entry waits for")  # fmt: skip


if __name__ == "__main__":
    main()
