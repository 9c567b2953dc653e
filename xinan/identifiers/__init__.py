"""Validators and free-text detectors for Chinese identifiers.

This module owns *recognising* identifiers: resident ID numbers (居民身份证号码, GB 11643-1999,
including 15-digit legacy numbers and the 81/82/83 residence permits for Hong Kong, Macao and
Taiwan residents), unified social credit codes (统一社会信用代码, GB 32100-2015), mobile and
fixed-line phone numbers, bank card numbers, e-mail addresses and Chinese personal names; both as
whole values (``is_valid_*``, :func:`classify_value`) and inside free text such as 违法事实 or
处罚事由 (:func:`find_identifiers`).

It does not own what happens to them: masking lives in :mod:`xinan.masking`, which field may be
disclosed to whom lives in :mod:`xinan.policy.catalogue`. Nothing here logs, and no exception
message ever
contains the value that was checked (DEVELOPING.md, "Errors").

Full-width forms (``１１０１…``, ``（０６３２）``, ``＠``) are treated as their ASCII
counterparts everywhere: a value typed with a Chinese input method is still the same identifier,
and a privacy tool must not let it slip through unmasked. The mapping is one character to one
character, so offsets into the original text stay right.

python-stdnum (``stdnum.cn.ric``, ``stdnum.cn.uscc``) is deliberately not used for validity; see
docs/identifiers.md and the tests named ``test_stdnum_*`` for where and why it disagrees.
"""

from __future__ import annotations

from xinan.identifiers.common import IdKind
from xinan.identifiers.detect import Found, classify_value, find_identifiers, resolve_overlaps
from xinan.identifiers.names import is_plausible_chinese_name, split_chinese_name
from xinan.identifiers.numbers import (
    ResidentId,
    bank_card_check_digit,
    is_valid_bank_card,
    is_valid_email,
    is_valid_fixed_phone,
    is_valid_mobile,
    is_valid_phone,
    is_valid_resident_id,
    is_valid_uscc,
    parse_resident_id,
    resident_id_check_char,
    uscc_check_char,
)

__all__ = [
    "Found",
    "IdKind",
    "ResidentId",
    "bank_card_check_digit",
    "classify_value",
    "find_identifiers",
    "is_plausible_chinese_name",
    "is_valid_bank_card",
    "is_valid_email",
    "is_valid_fixed_phone",
    "is_valid_mobile",
    "is_valid_phone",
    "is_valid_resident_id",
    "is_valid_uscc",
    "parse_resident_id",
    "resident_id_check_char",
    "resolve_overlaps",
    "split_chinese_name",
    "uscc_check_char",
]
