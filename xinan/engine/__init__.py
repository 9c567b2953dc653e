"""The batch engine: records flow as Arrow record batches from reader to writer, through
validation, masking per audience and sealing, on every core (docs/engine.md).

The stable API, for the file jobs here and for other runtimes (Spark's ``mapInArrow``):

* :func:`compile_plan` (policy, :class:`JobSpec`) → :class:`Plan`: once per file; picklable,
  holds no secret;
* :func:`run_batch` (plan, batch, row_offset=, keys=) → :class:`BatchResult`: outputs per
  audience, rejects and counts of one batch; a pure function of its arguments.
"""

from xinan.engine.batch import (
    REJECTS_SCHEMA,
    ROW_COLUMN,
    BatchCounts,
    BatchResult,
    mask_context,
    run_batch,
)
from xinan.engine.plan import JobSpec, Plan, compile_plan

__all__ = [
    "REJECTS_SCHEMA",
    "ROW_COLUMN",
    "BatchCounts",
    "BatchResult",
    "JobSpec",
    "Plan",
    "compile_plan",
    "mask_context",
    "run_batch",
]
