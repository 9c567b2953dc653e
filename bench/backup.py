"""Benchmark: vault backup and restore (docs/backup.md) against a plain copy of the same files.

N synthetic ``person`` records are sealed by a provider and ingested into a fresh vault. Then,
``--runs`` times: ``Platform.backup`` as the system administrator (consistent copies of both
databases, the log under its lock, every chunk sealed and hashed, the manifest signed, the
archive written atomically), ``restore_vault`` as the security administrator into a new
directory beside the live log (every chunk checked twice, opened, the configuration rebound and
the vault reopened and counted) — and, as the baseline measured in the same run, a plain
``shutil.copytree`` of the vault directory plus a copy of the log's files (no consistency, no
encryption, no check). Each figure is the median of the runs, in MB of vault + log per second;
the ratio is backup (or restore) time over copy time.

    python bench/backup.py                 # 20,000 records, 3 runs, intl
    python bench/backup.py -n 100000 --suite gm --runs 1
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from xinan import keys as K
from xinan.access import init_audit_log, load_audit_config, open_session
from xinan.authn import TokenDir
from xinan.key_management import bootstrap
from xinan.keys import Keyring
from xinan.platform import Platform, PlatformContext, restore_vault
from xinan.platform.vault import Vault, init_vault
from xinan.policy.catalogue import load_policy
from xinan.provider.jobs import seal_file
from xinan.provider.synth import Synth
from xinan.records import open_writer

PW = "bench-only passphrase 7Qx"  # new keys need a hard-to-guess passphrase (zxcvbn)
NOW = datetime(2026, 11, 25, 1, 0, tzinfo=UTC)
TODAY = date(2026, 11, 25)


def _size(paths: list[Path]) -> int:
    return sum(p.stat().st_size for p in paths if p.is_file())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("-n", type=int, default=20_000, help="records in the vault")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--suite", default="intl")
    args = ap.parse_args()
    K.DEFAULT_KDF = K.KdfParams(m_kib=64, t=1, p=1, iterations=1000)  # throw-away key files
    pol = load_policy(None)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        ring = Keyring(root / "keys")
        for name, role in (
            ("amr", "provider"),
            ("platform", "platform"),
            ("secadm", "sec-admin"),
            ("sa", "sys-admin"),
        ):
            ring.generate(name, role, args.suite, PW, now=NOW)
        ps = ring.generate_secret("subject-ps", args.suite, PW, now=NOW, role="pseudonym")
        amr, platform = ring.unlock("amr", PW), ring.unlock("platform", PW)
        pskey = ring.secret("subject-ps", PW)
        kind = pol.kind("person")
        export = root / "person.csv"
        with open_writer(export, kind.columns) as w:
            for values, _why in Synth(pol, seed=7, today=TODAY).rows(kind, args.n, bad_rate=0.0):
                w.write(list(values))
        pkg = root / "person.xpkg"
        seal_file(
            export, pkg, policy=pol, sender=amr, recipients=[platform.info], today=TODAY, now=NOW
        )
        log = root / "audit" / "audit.log"
        log.parent.mkdir()
        init_audit_log(log, keyring=ring, log_key="platform")
        tokens = root / "tokens"
        tokens.mkdir()
        bootstrap(
            ring, admin="sa", log_path=log, passphrase=lambda _: PW, clock=lambda: NOW,
            token_out=lambda holder: tokens / f"{holder}.token",
        )  # fmt: skip
        cfg = load_audit_config(log)
        vdir = root / "vault"
        init_vault(
            vdir, platform=platform.info, pseudonym_id=ps.id, pseudonym_key_id=ps.key_id,
            policy=pol, now=NOW, audit_origin=cfg.origin, audit_key_id=cfg.log_key_id,
            audit_path=str(log.resolve()),
        )  # fmt: skip
        with (
            Vault.open(vdir) as v,
            open_session(
                keyring=ring, identity="platform", log_path=log, passphrase=lambda _: PW,
                clock=lambda: NOW, tokens=TokenDir(tokens),
            ) as s,
        ):  # fmt: skip
            v.unlock(platform)
            v.ingest(
                pkg, platform=platform, keyring=ring, policy=pol, pseudonymizer=pskey,
                session=s, now=NOW,
            )  # fmt: skip

        def files() -> list[Path]:
            return [*vdir.iterdir(), *log.parent.iterdir()]

        copy_s: list[float] = []
        backup_s: list[float] = []
        restore_s: list[float] = []
        mb = 0.0
        for run in range(args.runs):
            mb = _size(files()) / 1e6
            t0 = time.perf_counter()
            shutil.copytree(vdir, root / f"copy{run}" / "vault")
            for f in log.parent.iterdir():
                shutil.copy2(f, root / f"copy{run}" / f.name)
            copy_s.append(time.perf_counter() - t0)

            archive = root / f"b{run}.xbak"
            ctx = PlatformContext(
                vault=vdir, keyring=ring, identity="sa", passphrase=lambda _: PW,
                clock=lambda: NOW, tokens=TokenDir(tokens),
            )  # fmt: skip
            t0 = time.perf_counter()
            with Platform.open(ctx) as p:
                summary = p.backup(archive)
            backup_s.append(time.perf_counter() - t0)

            t0 = time.perf_counter()
            restored = restore_vault(
                archive, root / f"restored{run}", keyring=ring, identity="secadm",
                passphrase=lambda _: PW, clock=lambda: NOW, tokens=TokenDir(tokens),
            )  # fmt: skip
            restore_s.append(time.perf_counter() - t0)
            assert restored.records == summary.records == args.n

        def med(xs: list[float]) -> float:
            return statistics.median(xs)

        load = os.getloadavg()
        print(f"vault: {args.n:,} records, {mb:.1f} MB (databases, config, log), {args.suite}")
        print(f"archive: {summary.bytes / 1e6:.1f} MB; runs: {args.runs} (medians)")
        print(f"plain copy (baseline)  {med(copy_s):7.3f} s  {mb / med(copy_s):8.1f} MB/s")
        print(
            f"backup                 {med(backup_s):7.3f} s  {mb / med(backup_s):8.1f} MB/s  "
            f"{med(backup_s) / med(copy_s):6.1f}x the copy's time"
        )
        print(
            f"restore                {med(restore_s):7.3f} s  {mb / med(restore_s):8.1f} MB/s  "
            f"{med(restore_s) / med(copy_s):6.1f}x the copy's time"
        )
        print(
            f"load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f} on {os.cpu_count()} cores"
            + (" (the machine was loaded: absolute figures are low)" if load[0] > 2 else "")
        )


if __name__ == "__main__":
    main()
