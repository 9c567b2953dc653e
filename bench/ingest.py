"""`vault ingest` speed (issue 13 item 4: at least 50,000 records/s; issue 12 items 4 and 5: the
platform validates every record and writes a row MAC) against two baselines measured in the
same run on the same package:

* `xinan verify` of the package: reading it and checking every signature, digest and sealed
  value — work ingest must do too, so ingest cannot be faster;
* a minimal SQLite loop: the same number of rows of the same size inserted with `executemany`
  in batches of 2,000, in one transaction, WAL and `synchronous=FULL`, one table keyed by
  sequential ids — what SQLite can do at best;
* the vault's own storage: the vault's tables, indexes and connection settings
  (`xinan.platform.store`, docs/vault.md §3), the same number of records written through the
  store's `insert_records` in blocks as ingest writes them, with random record ids and
  pseudonyms as real packages carry, and nothing else (no package read, no check, no
  cryptography) — the floor ingest cannot pass without another storage design.

Every figure runs the real CLI in a child process (as bench/scale.py does, whose helpers are
reused), timed from outside, with its peak resident memory. Prints each figure, the ratios, the
200M extrapolation and the load average (a loaded machine makes every figure lower; the ratios
are steadier).

    python bench/ingest.py                    # 200,000 rows
    python bench/ingest.py --rows 1000000     # the issue's size
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import sys
import tempfile
from pathlib import Path

_spec = importlib.util.spec_from_file_location("scale", Path(__file__).with_name("scale.py"))
assert _spec is not None and _spec.loader is not None
scale = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(scale)

SQLITE_FLOOR = r"""
import json, os, sqlite3, sys
n, path = int(sys.argv[1]), sys.argv[2]
db = sqlite3.connect(path, isolation_level=None)
db.execute("PRAGMA journal_mode=WAL"); db.execute("PRAGMA synchronous=FULL")
db.execute("CREATE TABLE r(id TEXT PRIMARY KEY, clear TEXT, sealed BLOB, mac BLOB)")
clear = json.dumps(["x" * 20] * 24, ensure_ascii=False)
db.execute("BEGIN")
rows = []
for i in range(n):
    rows.append((f"r{i:012d}", clear, os.urandom(160), os.urandom(32)))
    if len(rows) == 2000:
        db.executemany("INSERT INTO r VALUES (?,?,?,?)", rows)
        rows.clear()
db.executemany("INSERT INTO r VALUES (?,?,?,?)", rows)
db.execute("COMMIT")
"""

# The vault's tables through the store's own insert: random record ids (27 characters, as
# packages carry them), one subject pseudonym and one wrapped key per record, rows of the
# width of a penalty record, blocks of 5,000 records (a 4 MiB package block), one transaction.
VAULT_FLOOR = r"""
import json, os, sys
from pathlib import Path
from xinan.platform.store import Store, create_databases
from xinan.platform.vault_config import FORMAT, SCHEMA_VERSION
n, path = int(sys.argv[1]), Path(sys.argv[2])
path.mkdir(mode=0o700)
create_databases(path, vault_id="f" * 32, format=FORMAT, schema_version=SCHEMA_VERSION)
store = Store(path, vault_id="f" * 32, format=FORMAT, schema_version=SCHEMA_VERSION)
pid = "0" * 32
clear = json.dumps(["张三" * 6] * 23, ensure_ascii=False)  # about 300 characters
b32 = "abcdefghijklmnopqrstuvwxyz234567"
def token(k):
    return "".join(b32[b % 32] for b in os.urandom(k))
with store.both_transaction():
    store.insert_package(package_id=pid, sender="amr", sender_key_id="k", suite="intl",
                         kind="penalty", policy="p", clear_fields=[], sealed_fields=[],
                         ingested_at="2026-11-25T00:00:00Z", ingested_by="platform")
    for start in range(0, n, 5000):
        rows, subjects, keys = [], [], []
        for i in range(start, min(n, start + 5000)):
            rid = "r" + token(26)
            ps = "ps1.x." + token(26)
            rows.append((rid, pid, "penalty", "natural", json.dumps([ps]), clear,
                         os.urandom(122), "2026-01-01", "x", "2027-01-01", "2027-01-01",
                         None, None, None, None, None, None, i, "p", "2026-11-25T00:00:00Z",
                         os.urandom(32)))
            subjects.append((ps, rid))
            keys.append((rid, os.urandom(60)))
        store.insert_records(rows, subjects, keys)
"""


def main() -> None:
    if len(sys.argv) > 2 and sys.argv[1] == "--measure":
        scale.measure_child(sys.argv[3:])
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--rows", type=int, default=200_000)
    ap.add_argument("--dir", default=None, help="work directory (default: a temporary one)")
    args = ap.parse_args()
    load0 = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="xinan-ingest-", dir=args.dir) as tmp:
        d = Path(tmp)
        env = dict(
            os.environ,
            XINAN_PASSPHRASE="bench-only-passphrase",
            XINAN_TOKEN_DIR=str(d / "tokens"),
            XINAN_TODAY="2026-11-25",
            XINAN_KEYRING=str(d / "keys"),
        )
        scale.setup_keys(env)
        export, _bad = scale.make_export(d, args.rows, env)
        pkg = d / "e.xpkg"
        _, _, out = scale.run(
            ["--as", "amr", "seal", str(export), "-o", str(pkg), "--to", "platform",
             "--rejects", str(d / "rej.csv"), "--json"],
            env,
        )  # fmt: skip
        sealed = json.loads(out)["sealed"]
        print(
            f"package: {sealed:,} penalty records sealed ({pkg.stat().st_size / 1e6:,.0f} MB); "
            f"cores: {os.cpu_count()}; load average at start {load0[0]:.1f}",
            flush=True,
        )
        rates: dict[str, float] = {}
        dt, peak, _ = scale.run(["--as", "platform", "verify", str(pkg)], env)
        rates["verify"] = scale.figure("baseline: xinan verify (same package)", sealed, dt,
                                       peak, None)  # fmt: skip
        floors = (
            ("sqlite", SQLITE_FLOOR, "floor.db", "baseline: SQLite executemany loop"),
            ("store", VAULT_FLOOR, "floor-vault", "baseline: the vault's storage alone"),
        )
        for name, script, target, label in floors:
            floor = d / f"{name}_floor.py"
            floor.write_text(script, encoding="utf-8")
            dt, peak, _ = scale.run(
                [sys.executable, str(floor), str(sealed), str(d / target)], env, cli=False
            )
            rates[name] = scale.figure(label, sealed, dt, peak, None)
        vault = d / "vault"
        scale.run(["--as", "sysadm", "vault", "init", "--vault", str(vault), "--platform",
                   "platform", "--pseudonym-key", "subject-ps"], env)  # fmt: skip
        dt, peak, out = scale.run(
            ["--as", "platform", "vault", "ingest", str(pkg), "--vault", str(vault), "--json"],
            env,
        )
        s = json.loads(out)
        assert s["records"] + s["rejected"] == s["in_package"] == sealed, s
        rates["ingest"] = scale.figure("vault ingest (validate + row MAC)", sealed, dt, peak,
                                       50_000)  # fmt: skip
        print(f"  stored {s['records']:,}, rejected {s['rejected']:,} (reconciled)")
        print(f"  ratio ingest / verify: {rates['ingest'] / rates['verify']:.2f}×  "
              f"ratio ingest / SQLite loop: {rates['ingest'] / rates['sqlite']:.2f}×  "
              f"ratio ingest / vault storage: {rates['ingest'] / rates['store']:.2f}×")  # fmt: skip
        load1 = os.getloadavg()
        print(f"load average at end {load1[0]:.1f} (1 min), {load1[2]:.1f} (15 min): "
              f"{'loaded by other work' if load1[2] > 1.5 else 'quiet'}")  # fmt: skip


if __name__ == "__main__":
    main()
