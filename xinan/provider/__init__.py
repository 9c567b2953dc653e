"""(1) The provider (信用信息提供单位): validate an export against the catalogue, scan it, mask
it for each audience and seal it for the platform.

* :mod:`xinan.provider.jobs` — the jobs over one file: every input record ends up in an output
  or the rejects file with its reason, and the counts add up;
* :mod:`xinan.provider.synth` — synthetic exports for demos, tests and benchmarks.
"""

from xinan.provider.jobs import (
    Layout,
    MaskSummary,
    ScanReport,
    SealJobSummary,
    mask_file,
    match_header,
    scan_file,
    seal_file,
)

__all__ = [
    "Layout",
    "MaskSummary",
    "ScanReport",
    "SealJobSummary",
    "mask_file",
    "match_header",
    "scan_file",
    "seal_file",
]
