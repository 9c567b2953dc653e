"""xinan on Apache Spark: the same policy, the same bytes, the same audit trail (docs/spark.md).

An optional extra (``pip install 'xinan[spark]'``: pyspark 3.4+, the first Spark that runs
Python 3.11, and a Java 17+ runtime for pyspark 4). Importing this package does not import
pyspark; the functions that need it do. The provider's job, role-checked and audited:
:class:`xinan.spark.provider.SparkProvider`.
"""

from __future__ import annotations

from xinan.spark.session import local_session, require_pyspark

__all__ = ["local_session", "require_pyspark"]
