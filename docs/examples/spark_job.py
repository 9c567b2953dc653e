"""A provider's job on a Spark cluster with spark-submit (docs/spark.md §7).

    spark-submit --master 'local[2]' --conf spark.sql.legacy.javaCharsets=true \\
        docs/examples/spark_job.py export.csv job-out --as amr-zaozhuang --to platform \\
        --audience public,gov_share --pseudonym-key subject-ps [--encoding GB18030]

The driver unlocks the provider's key (passphrase from $XINAN_PASSPHRASE or a prompt), opens
its audit log, and calls the same library function as `xinan spark run`; the executors get
only the job's data keys (xinan.spark.keys.ExecutorKeys), never a private key. Keyring and
audit log as for the CLI: $XINAN_KEYRING (default ./keys) and $XINAN_AUDIT_LOG (default
./audit/audit.log).
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from datetime import UTC, date, datetime
from pathlib import Path

from pyspark.sql import SparkSession

from xinan.keys import Keyring
from xinan.masking import Pseudonymizer
from xinan.policy.catalogue import load_policy
from xinan.spark.provider import SparkProvider


def passphrase(what: str) -> str:
    return os.environ.get("XINAN_PASSPHRASE") or getpass.getpass(f"passphrase for {what}: ")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("source")
    ap.add_argument("out")
    ap.add_argument("--as", dest="identity", required=True)
    ap.add_argument("--audience", required=True, help="comma-separated audiences")
    ap.add_argument("--to", action="append", default=[], help="recipient key (repeatable)")
    ap.add_argument("--pseudonym-key", default=None)
    ap.add_argument("--encoding", default="UTF-8")
    ap.add_argument("--policy", default=None)
    args = ap.parse_args()

    keyring = Keyring(Path(os.environ.get("XINAN_KEYRING", "keys")))
    log = Path(os.environ.get("XINAN_AUDIT_LOG", "audit/audit.log"))
    policy = load_policy(args.policy)
    audiences = [a.strip() for a in args.audience.split(",") if a.strip()]
    spark = SparkSession.builder.appName("xinan-provider-job").getOrCreate()

    def pseudonym_keys(needed: set[str]) -> dict[str, Pseudonymizer]:
        if args.pseudonym_key is None:
            sys.exit(f"the policy needs a pseudonym key for {sorted(needed)}: --pseudonym-key")
        key = keyring.secret(args.pseudonym_key, passphrase(args.pseudonym_key))
        return {ns: key for ns in needed}

    # The library checks the role, signs on the driver and writes the audit leaves.
    with SparkProvider.open(
        keyring=keyring,
        identity=args.identity,
        passphrase=passphrase,
        audit_log=log,
        clock=lambda: datetime.now(UTC),
    ) as provider:
        summary = provider.run_source(
            spark,
            args.source,
            args.out,
            policy=policy,
            audiences=audiences,
            today=date.today(),
            encoding=args.encoding,
            recipients=args.to,
            pseudonym_keys=pseudonym_keys,
        ).summary
    print(
        f"{summary.out}: job {summary.job}, {summary.partitions} partitions, read {summary.read},"
        f" rejected {summary.rejected}, written {summary.written}"
    )
    spark.stop()
    return 3 if summary.rejected else 0


if __name__ == "__main__":
    raise SystemExit(main())
