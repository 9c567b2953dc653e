"""Benchmark: the vault's ingest, share and the querent's open of N granted records (docs/vault.md).

One data subject with N ``person`` records (synthetic; every record carries the same resident
ID, so one grant covers all of them), sealed by a provider, ingested into a fresh vault. Then,
``--runs`` times: issue a grant (two fields), build the share (per-record release: one release
secret per record, kept in the key store), make its release file (docs/package.md §6.4), and
open it as the querent with that file. Each
figure is the median of the runs, in records per second, measured through the same library
calls the commands make (including the durable audit entries). Grant issue and verify per
second come from bench/grants.py (``bench_suite``), measured in the same run.

    python bench/share.py                  # 100,000 records, 3 runs, intl
    python bench/share.py -n 20000 --suite gm --runs 1
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.grants import bench_suite
from xinan import keys as K
from xinan.access import init_audit_log, load_audit_config, open_session
from xinan.authn import TokenDir
from xinan.formats.grant import Consent, end_of_day_cst
from xinan.formats.package import OpenedRecord, open_package, verify_package
from xinan.formats.release import open_release
from xinan.key_management import bootstrap
from xinan.keys import Keyring
from xinan.platform.vault import Vault, init_vault
from xinan.policy.catalogue import load_policy
from xinan.provider.jobs import seal_file
from xinan.provider.synth import Synth
from xinan.querent.open_share import open_share_file
from xinan.records import open_writer

PW = "bench-only passphrase 7Qx"  # new keys need a hard-to-guess passphrase (zxcvbn)
NOW = datetime(2026, 11, 25, 1, 0, tzinfo=UTC)
TODAY = date(2026, 11, 25)
FIELDS = ("手机号码", "现住址")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("-n", type=int, default=100_000, help="granted records")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--suite", default="intl")
    ap.add_argument("--grant-n", type=int, default=1000, help="grant issue/verify iterations")
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
            ("bank", "querent"),
            ("sa", "sys-admin"),
        ):
            ring.generate(name, role, args.suite, PW, now=NOW)
        ps = ring.generate_secret("subject-ps", args.suite, PW, now=NOW, role="pseudonym")
        amr, platform, secadm, bank = (
            ring.unlock(x, PW) for x in ("amr", "platform", "secadm", "bank")
        )
        pskey = ring.secret("subject-ps", PW)

        # one subject, N records
        kind = pol.kind("person")
        synth = Synth(pol, seed=7, today=TODAY)
        the_id = synth.resident_id()
        export = root / "person.csv"
        idx = kind.index("证件号码")
        with open_writer(export, kind.columns) as w:
            for values, _why in synth.rows(kind, args.n, bad_rate=0.0):
                row = list(values)
                row[idx] = the_id
                w.write(row)
        t0 = time.perf_counter()
        pkg = root / "person.xpkg"
        seal_file(
            export, pkg, policy=pol, sender=amr, recipients=[platform.info], today=TODAY, now=NOW
        )
        seal_s = time.perf_counter() - t0

        log = root / "audit.log"
        init_audit_log(log, keyring=ring)
        # the keyring's roster (docs/keys.md §8): no identity acts before its bootstrap
        (root / "tokens").mkdir()
        bootstrap(
            ring, admin="sa", log_path=log, passphrase=lambda _: PW, clock=lambda: NOW,
            token_out=lambda holder: root / "tokens" / f"{holder}.token",
        )  # fmt: skip
        cfg = load_audit_config(log)

        def session(actor: str):  # type: ignore[no-untyped-def]
            return open_session(
                keyring=ring, identity=actor, log_path=log, passphrase=lambda _: PW,
                clock=lambda: NOW, tokens=TokenDir(root / "tokens"),
            )  # fmt: skip

        vdir = root / "vault"
        init_vault(
            vdir,
            platform=platform.info,
            pseudonym_id=ps.id,
            pseudonym_key_id=ps.key_id,
            policy=pol,
            now=NOW,
            audit_origin=cfg.origin,
            audit_key_id=cfg.log_key_id,
            audit_path=str(log.resolve()),
        )
        with Vault.open(vdir) as v, session("platform") as s:
            v.unlock(platform)
            t0 = time.perf_counter()
            v.ingest(
                pkg, platform=platform, keyring=ring, policy=pol, pseudonymizer=pskey,
                session=s, now=NOW,
            )  # fmt: skip
            ingest_s = time.perf_counter() - t0
            subject = v.subject_pseudonym(pskey, pol, the_id, today=TODAY)
            consent = Consent(
                "c-bench", subject, bank.key_id, "信易贷授信审查", FIELDS,
                end_of_day_cst(date(2026, 12, 31)), "bench",
            )  # fmt: skip
            v.add_consent(consent, by=secadm.key_id, now=NOW)

        share_rates: list[float] = []
        release_rates: list[float] = []
        open_rates: list[float] = []
        count = 0
        for run in range(args.runs):
            grant_file = root / f"g{run}.grant"
            share = root / f"s{run}.xpkg"
            with Vault.open(vdir) as v:
                grant = v.issue_grant(
                    platform=platform, authorised_by=secadm, querent=bank.info,
                    consent_id="c-bench", purpose="信易贷授信审查", fields=FIELDS,
                    subjects=[subject], policy=pol, ttl=timedelta(hours=1), now=NOW,
                )  # fmt: skip
                grant_file.write_bytes(grant.file_bytes())
                v.unlock(platform)
                with session("platform") as s:
                    t0 = time.perf_counter()
                    summary = v.share(
                        grant_file, share, platform=platform, keyring=ring, policy=pol,
                        session=s, now=NOW,
                    )  # fmt: skip
                    share_rates.append(summary.records / (time.perf_counter() - t0))
                    release = root / f"s{run}.release"
                    t0 = time.perf_counter()
                    rel = v.release(
                        share, release, platform=platform, keyring=ring, session=s, now=NOW
                    )
                    release_rates.append(rel.records / (time.perf_counter() - t0))
            count = summary.records
            with session("bank") as s:
                t0 = time.perf_counter()
                res = open_share_file(
                    share, root / f"o{run}.csv", identity=bank, keyring=ring,
                    grant_token=grant.token, revocations=None, session=s, now=NOW,
                    release=release.read_bytes(),
                )  # fmt: skip
                open_rates.append(res.written / (time.perf_counter() - t0))
        # the bare package open of the same share (no grant checks, no output file)
        n_open = 0

        def sink(_r: OpenedRecord) -> None:
            nonlocal n_open
            n_open += 1

        with share.open("rb") as f:
            info = verify_package(f, trust=ring.get_public)
        opened_release = open_release(
            release.read_bytes(), share=info, identity=bank, trust=ring.get_public
        )
        t0 = time.perf_counter()
        with share.open("rb") as f:
            open_package(
                f, sink, identity=bank, trust=ring.get_public, release=opened_release.lookup()
            )
        bare_open = n_open / (time.perf_counter() - t0)
        g = bench_suite(args.suite, args.grant_n, 3, root / "grants")

    print(f"vault share/open, {args.suite}, one subject with {args.n:,} records, "
          f"median of {args.runs} runs (one core)")  # fmt: skip
    print(f"  seal (provider)        {args.n / seal_s:>10,.0f} records/s")
    print(f"  ingest (vault)         {args.n / ingest_s:>10,.0f} records/s")
    print(f"  share ({count:,} records) {statistics.median(share_rates):>10,.0f} records/s")
    print(f"  release (platform)     {statistics.median(release_rates):>10,.0f} records/s")
    print(f"  open --grant (querent) {statistics.median(open_rates):>10,.0f} records/s")
    print(f"  open_package alone     {bare_open:>10,.0f} records/s  (same share, no output)")
    print(f"  grant issue            {g['issue']:>10,.0f} /s   (raw sign {g['raw_sign']:,.0f}/s)")
    print(
        f"  grant verify           {g['verify']:>10,.0f} /s   (raw verify {g['raw_verify']:,.0f}/s)"
    )


if __name__ == "__main__":
    main()
