"""The provider on Spark, as one object: the role check, the keys and the audit trail of a
Spark job are the library's, as they are for ``xinan mask`` and ``xinan seal`` (issue 10).

:class:`SparkProvider` is an :class:`~xinan.access.Actor`: :meth:`SparkProvider.run` checks
the role (``mask``, and ``seal`` when sealing; a denial is logged before it is raised), asks
for only the pseudonym keys the input's kind needs, signs the partition manifests with the
actor's key on the driver and appends one audit leaf per manifest before the job directory
appears under its final name (docs/spark.md §6). The executors get
:class:`xinan.spark.keys.ExecutorKeys` only.

The command line (``xinan spark run``) and the spark-submit example
(docs/examples/spark_job.py) both call :meth:`SparkProvider.run_source`; a PySpark program
that holds its own DataFrame calls :meth:`SparkProvider.run`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from xinan.access import Actor
from xinan.masking import Pseudonymizer, audiences_needing_pseudonyms
from xinan.policy import Policy
from xinan.provider.jobs import match_header

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

    from xinan.spark.job import SparkJobSummary

__all__ = ["PseudonymKeys", "SparkProvider", "SparkRun"]

#: Given the pseudonym namespaces a job needs, the unlocked keys for them (the caller's
#: keyring and passphrase source; called once, only when the kind needs any).
PseudonymKeys = Callable[[set[str]], Mapping[str, Pseudonymizer]]


@dataclass
class SparkRun:
    """What :meth:`SparkProvider.run_source` did: the job's summary and the Hive tables it
    registered over the outputs (``--hive-db``)."""

    summary: SparkJobSummary
    tables: list[str] = field(default_factory=list)


class SparkProvider(Actor):
    def run(
        self,
        df: DataFrame,
        out: str | Path,
        *,
        policy: Policy,
        audiences: Sequence[str],
        today: date,
        recipients: Sequence[str] = (),
        pseudonym_keys: PseudonymKeys | None = None,
        kind: str | None = None,
        out_format: str = "parquet",
        out_encoding: str = "UTF-8",
        source: str = "<spark input>",
    ) -> SparkJobSummary:
        """Validate ``df``, mask it for ``audiences`` and (with ``recipients``: key ids or
        names in the trust store) seal it, on Spark, into the job directory ``out``
        (docs/spark.md §3–§7). The audit leaves are durable before ``out`` appears."""
        from xinan.spark.job import run_job, spark_audit_hook

        # Every Spark job writes masked views; sealing is a second right (as Provider.seal
        # with views). Both checks are logged, denials included, before anything runs.
        self.require("mask")
        if recipients:
            self.require("seal")
        layout = match_header(policy, df.columns, kind=kind, file=source)
        needed = audiences_needing_pseudonyms(policy, layout.kind, audiences)
        pseudonymizers: Mapping[str, Pseudonymizer] = {}
        if needed and pseudonym_keys is not None:
            # missing ones are refused by plan_stage with the namespace named
            pseudonymizers = pseudonym_keys(set(needed))
        return run_job(
            df,
            out,
            policy=policy,
            audiences=audiences,
            today=today,
            now=self.clock(),
            signer=self.identity,
            recipients=[self.keyring.get_public(r) for r in recipients],
            pseudonymizers=pseudonymizers,
            kind=layout.kind.name,
            out_format=out_format,
            out_encoding=out_encoding,
            before_commit=spark_audit_hook(self.session, policy, audiences),
        )

    def run_source(
        self,
        spark: SparkSession,
        source: str,
        out: str | Path,
        *,
        policy: Policy,
        audiences: Sequence[str],
        today: date,
        input_format: str = "auto",
        encoding: str = "UTF-8",
        partitions: int | None = None,
        recipients: Sequence[str] = (),
        pseudonym_keys: PseudonymKeys | None = None,
        kind: str | None = None,
        out_format: str = "parquet",
        out_encoding: str = "UTF-8",
        hive_db: str | None = None,
    ) -> SparkRun:
        """:meth:`run` over a CSV file, a Parquet dataset or a table of ``spark``'s catalog
        (``input_format`` ``table``), then, with ``hive_db``, each Parquet output registered
        as an external table over the very files ``xinan spark verify`` checks."""
        from xinan.spark.io import read_source, register_tables, table_stem

        if hive_db:
            table_stem(Path(out), hive_db, out_format)  # refuse bad names before the job runs
        df = read_source(spark, source, input_format, encoding=encoding)
        if partitions is not None:
            df = df.repartition(partitions)
        summary = self.run(
            df,
            out,
            policy=policy,
            audiences=audiences,
            today=today,
            recipients=recipients,
            pseudonym_keys=pseudonym_keys,
            kind=kind,
            out_format=out_format,
            out_encoding=out_encoding,
            source=source,
        )
        tables: list[str] = []
        if hive_db:
            tables = list(register_tables(spark, Path(summary.out), hive_db, out_format))
        return SparkRun(summary, tables)
