"""A local SparkSession for the CLI, the tests and the benchmark (docs/spark.md §2).

Owns only how xinan starts Spark when the caller has no session of its own: the Python that
Spark's workers run (this one, so they import the same xinan), small memory settings and no
web UI. A cluster job builds its own session (spark-submit) and passes it in.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from xinan.errors import UsageError

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

__all__ = ["local_session", "require_pyspark"]


def require_pyspark() -> None:
    """Raise a UsageError naming the extra when pyspark (or pyarrow) is not installed."""
    try:
        import pyarrow  # noqa: F401
        import pyspark  # noqa: F401
    except ImportError:
        raise UsageError(
            "xinan's Spark engine needs pyspark and pyarrow",
            hint="pip install 'xinan[spark]' (and a Java 17+ runtime: see docs/spark.md)",
        ) from None


def local_session(
    master: str = "local[2]",
    *,
    app: str = "xinan",
    driver_memory: str = "1g",
    shuffle_partitions: int = 2,
    hive: bool = False,
    warehouse: str | None = None,
    conf: Mapping[str, str] | None = None,
) -> SparkSession:
    """Get (or create) a SparkSession on ``master`` with xinan's defaults.

    Workers run :data:`sys.executable` so that they import this very xinan (the executors must
    run the same engine code as the driver: docs/spark.md §3).
    """
    require_pyspark()
    from pyspark.sql import SparkSession

    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    builder = (
        SparkSession.builder.master(master)
        .appName(app)
        .config("spark.driver.memory", driver_memory)
        .config("spark.sql.shuffle.partitions", str(shuffle_partitions))
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.session.timeZone", "UTC")
        # pyarrow batches of 10,000 rows: each mapInArrow call works on one batch at a time,
        # so memory stays flat whatever the partition size.
        .config("spark.sql.execution.arrow.maxRecordsPerBatch", "10000")
        # Spark 4 reads and writes CSV only in a short list of charsets unless this is set;
        # provincial exports are GB18030 (docs/records.md). Unknown to Spark 3: ignored there.
        .config("spark.sql.legacy.javaCharsets", "true")
        # Output files (credit data) readable by their owner only, from their first byte:
        # Hadoop's file systems apply this umask when Spark's writers create files and
        # directories. xinan.spark.job narrows the modes again before the rename.
        .config("spark.hadoop.fs.permissions.umask-mode", "077")
    )
    if warehouse is not None:
        builder = builder.config("spark.sql.warehouse.dir", str(Path(warehouse).resolve()))
    # ``conf``: more Spark settings (a caller's tuning); JVM options join the ones set here
    java_options = []
    for key, value in (conf or {}).items():
        if key == "spark.driver.extraJavaOptions":
            java_options.append(value)
        else:
            builder = builder.config(key, value)
    if hive:
        # An embedded Derby metastore beside the warehouse (or in the working directory): a
        # local Hive for tests and single-machine jobs. A cluster brings its own metastore
        # (hive-site.xml) and passes its own session in.
        home = Path(warehouse).resolve().parent if warehouse is not None else Path.cwd()
        url = f"jdbc:derby:;databaseName={home / 'metastore_db'};create=true"
        builder = builder.config("spark.hadoop.javax.jdo.option.ConnectionURL", url)
        builder = builder.enableHiveSupport()
        java_options.append(f"-Dderby.system.home={home}")
    if java_options:
        builder = builder.config("spark.driver.extraJavaOptions", " ".join(java_options))
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    return spark
