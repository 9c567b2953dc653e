"""Masking operators and tiered per-audience views (docs/policy.md §7).

This module owns turning policy rules into fast functions and applying them: one record, one
audience, one view. It does not validate input (:mod:`xinan.provider.jobs` does, before masking) and
holds no keys (a :class:`Pseudonymizer` is passed in).

Every operator fails closed: a value too short or of the wrong shape for its pattern is masked
whole, never passed through. The compiled :class:`View` is the hot path — a list of closures,
one per output column, chosen per subject class once per record — so masking stays within a
small factor of hand-written slicing (bench/mask.py).
"""

from __future__ import annotations

from xinan.masking.operators import (
    SCRUB_KINDS,
    Op,
    mask_name,
    op_band,
    op_clear,
    op_date_part,
    op_district,
    op_keep,
    op_mask_range,
    op_name,
    op_pseudonym,
    op_redact,
    scrub_text,
)
from xinan.masking.pseudonyms import (
    PSEUDONYM_PREFIX,
    PSEUDONYM_RE,
    Pseudonymizer,
    pseudonym,
    subject_pseudonym,
)
from xinan.masking.views import (
    MaskContext,
    MaskStats,
    View,
    audiences_needing_pseudonyms,
    compile_op,
    compile_views,
)

__all__ = [
    "PSEUDONYM_PREFIX",
    "PSEUDONYM_RE",
    "SCRUB_KINDS",
    "MaskContext",
    "MaskStats",
    "Op",
    "Pseudonymizer",
    "View",
    "audiences_needing_pseudonyms",
    "compile_op",
    "compile_views",
    "mask_name",
    "op_band",
    "op_clear",
    "op_date_part",
    "op_district",
    "op_keep",
    "op_mask_range",
    "op_name",
    "op_pseudonym",
    "op_redact",
    "pseudonym",
    "scrub_text",
    "subject_pseudonym",
]
