"""Reading a provider's export into Spark, and exposing a job's outputs as tables
(docs/spark.md §7).

Owns: CSV (UTF-8, GB18030 and any charset Java knows), Parquet and Hive/Spark tables in, every
column read as a string (the engine validates and normalises; nothing is inferred); Hive
tables out, as external tables over the job directory's Parquet datasets, so that the files
`xinan spark verify` checks are the tables people query.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from xinan.errors import InputError, UsageError
from xinan.spark.manifest import PACKAGE_OUTPUT

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

__all__ = ["read_source", "register_tables", "table_stem"]

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,127}")


def read_source(
    spark: SparkSession, source: str, fmt: str = "auto", *, encoding: str = "UTF-8"
) -> DataFrame:
    """``source`` as a DataFrame of string columns named as in the file's header."""
    from pyspark.sql import functions as F

    if fmt != "table":
        # the JVM resolves relative paths against its own working directory, not ours
        source = str(Path(source).resolve())
    if fmt == "auto":
        p = Path(source)
        if p.suffix.lower() == ".parquet" or (p.is_dir() and any(p.glob("*.parquet"))):
            fmt = "parquet"
        elif p.exists():
            fmt = "csv"
        else:
            raise InputError(
                f"{source}: no such file",
                hint="for a table in the metastore pass --input-format table (and --hive)",
            )
    if fmt == "csv":
        # every column a string, the header's names as they are, quoted fields may hold
        # delimiters; an empty field reads as null and the engine treats it as "".
        df = (
            spark.read.option("header", True)
            .option("encoding", encoding)
            .option("inferSchema", False)
            .option("enforceSchema", False)
            .option("mode", "PERMISSIVE")
            .csv(source)
        )
    elif fmt == "parquet":
        df = spark.read.parquet(source)
    elif fmt == "table":
        df = spark.table(source)
    else:
        raise UsageError(f"unknown input format {fmt!r}", hint="auto, csv, parquet or table")
    return df.select([F.col(f"`{c}`").cast("string").alias(c) for c in df.columns])


def table_stem(job_dir: Path, db: str, fmt: str) -> str:
    """The tables' common name stem for ``job_dir``; refuses a database or job directory name
    that is not a plain SQL identifier, and a CSV job (checked before the job runs)."""
    if fmt != "parquet":
        raise UsageError("Hive tables are registered over Parquet outputs", hint="--format parquet")
    stem = re.sub(r"[^A-Za-z0-9_]", "_", job_dir.name)
    for name in (db, stem):
        if not _NAME.fullmatch(name):
            raise UsageError(
                f"{name!r} is not a valid table or database name",
                hint="use letters, digits and _ (not starting with a digit)",
            )
    return stem


def register_tables(spark: SparkSession, job_dir: Path, db: str, fmt: str) -> Iterator[str]:
    """Register each dataset of ``job_dir`` as ``db.<dir>_<output>`` (external, Parquet)."""
    stem = table_stem(job_dir, db, fmt)
    spark.sql(f"CREATE DATABASE IF NOT EXISTS {db}")
    for d in sorted(job_dir.iterdir()):
        if not d.is_dir() or d.name == PACKAGE_OUTPUT:
            continue
        table = f"{db}.{stem}_{d.name}"
        location = str(d.resolve()).replace("'", "")
        # names are checked against _NAME above; the location is our own directory
        spark.sql(f"CREATE TABLE {table} USING parquet LOCATION '{location}'")  # nosec B608
        yield table
