"""Identifier kinds and what every recogniser shares: full-width folding and the CJK test."""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Final


class IdKind(StrEnum):
    """The kinds of identifier this module recognises (values are stable: used in reports)."""

    RESIDENT_ID = "resident_id"
    USCC = "uscc"
    MOBILE = "mobile"
    FIXED_PHONE = "fixed_phone"
    BANK_CARD = "bank_card"
    EMAIL = "email"
    PERSON_NAME = "person_name"
    # Found only by shape (xinan.shapes): a run of 20 or more digits, longer than any identifier
    # but able to hold one glued to other digits. Never returned by validation.
    DIGIT_RUN = "digit_run"


# --------------------------------------------------------------------------------------------
# Shared helpers: full-width folding and the CJK test
# --------------------------------------------------------------------------------------------

# Full-width ASCII variants U+FF01..U+FF5E map one-to-one onto U+0021..U+007E; the ideographic
# space U+3000 onto a plain space. One character in, one character out: offsets are kept.
_HALFWIDTH: Final[dict[int, int]] = {cp: cp - 0xFEE0 for cp in range(0xFF01, 0xFF5F)}
_HALFWIDTH[0x3000] = 0x20
_FULLWIDTH_RE: Final = re.compile("[\uff01-\uff5e\u3000]")


def _words(text: str) -> frozenset[str]:
    """A table kept as data: whitespace-separated entries."""
    return frozenset(text.split())


def _fold(value: str) -> str:
    """Fold full-width ASCII forms to ASCII, keeping the length (and so every offset)."""
    if value.isascii() or _FULLWIDTH_RE.search(value) is None:
        return value
    return value.translate(_HALFWIDTH)


# Chinese prose is full of full-width ，：；！？ but rarely holds any other full-width form. The
# free-text patterns accept those five as they are, so text holding no other full-width form is
# searched unfolded: folding (a per-character table lookup) was the largest single cost of
# scrubbing (bench/scrub.py).
_FULLWIDTH_TEXT_RE: Final = re.compile(
    "[\uff02-\uff0b\uff0d-\uff19\uff1c-\uff1e\uff20-\uff5e\u3000]"
)


def _fold_text(value: str) -> str:
    """:func:`_fold` for free text: the same result, except that ``，：；！？`` stay full-width
    when they are the only full-width forms (every free-text pattern accepts both forms)."""
    if value.isascii() or _FULLWIDTH_TEXT_RE.search(value) is None:
        return value
    return value.translate(_HALFWIDTH)


def _is_cjk(ch: str) -> bool:
    """True for a CJK unified ideograph (basic block, extension A, extensions B-H)."""
    o = ord(ch)
    return 0x4E00 <= o <= 0x9FFF or 0x3400 <= o <= 0x4DBF or 0x20000 <= o <= 0x323AF
