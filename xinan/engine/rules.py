"""Field rules as the engine applies them: one scalar checker per field type, and the vector
checks that decide most values of a column at once.

The scalar checkers are the definition (docs/policy.md §6): a value is valid when its checker
returns its canonical form, and refused with the checker's reason otherwise. A vector check
may only *accept* a value that the scalar checker would accept with the same canonical form;
every value a vector check does not accept goes to the scalar checker, which decides it (and
gives the reason). So a vector rule can make validation faster, never different.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from decimal import Decimal, InvalidOperation

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from xinan.identifiers import (
    is_valid_bank_card,
    is_valid_email,
    is_valid_mobile,
    is_valid_phone,
    is_valid_resident_id,
    is_valid_uscc,
)
from xinan.identifiers.numbers import _PROVINCES
from xinan.policy import FieldSpec, FieldType

BAD_RESIDENT_ID = "not a valid resident ID (GB 11643-1999: check character, birth date, region)"
RESIDENT_ID_DOC_TYPES = frozenset({"身份证", "居民身份证", "中华人民共和国居民身份证"})

_DATE_RE = re.compile(r"^(\d{4})[-/]?(\d{1,2})[-/]?(\d{1,2})$")
_CODE_BAD = re.compile(r"[\x00-\x1f\x7f]")
_DIGITS = re.compile(r"\d")
ID_OTHER = re.compile(r"^[A-Za-z0-9()（）\-]{5,32}$")
_SPACES = re.compile(r"[\s\-]")

Check = Callable[[str], str]


# --------------------------------------------------------------------------------------------
# Scalar checkers: the definition of each type


def _norm_date(v: str) -> str:
    m = _DATE_RE.match(v)
    if not m:
        raise ValueError("not a date (YYYY-MM-DD)")
    try:
        d = date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError:
        raise ValueError("not a real calendar date") from None
    return d.isoformat()


def _norm_amount(v: str) -> str:
    try:
        x = Decimal(v.replace(",", ""))
    except InvalidOperation:
        raise ValueError("not a number") from None
    if not x.is_finite() or x < 0:
        raise ValueError("must be a non-negative number")
    return v.replace(",", "")


def norm_mobile(v: str) -> str:
    if not is_valid_mobile(v):
        raise ValueError("not a valid mainland mobile number")
    digits = _SPACES.sub("", v)
    for prefix in ("+86", "0086", "86"):
        if digits.startswith(prefix) and len(digits) == 11 + len(prefix):
            return digits[len(prefix) :]
    return digits


def checker(f: FieldSpec, today: date) -> Check:
    """The validator for one field: returns the canonical value or raises ValueError(reason)."""
    t = f.type
    limit = f.max_length or (4000 if t is FieldType.TEXT else 200)

    def length(v: str) -> str:
        if len(v) > limit:
            raise ValueError(f"longer than {limit} characters")
        return v

    if t is FieldType.RESIDENT_ID:

        def resident(v: str) -> str:
            v = v.strip().upper()
            if not is_valid_resident_id(v, today=today):
                raise ValueError(BAD_RESIDENT_ID)
            return v

        return resident
    if t is FieldType.USCC:

        def uscc(v: str) -> str:
            v = v.strip().upper()
            if not is_valid_uscc(v):
                raise ValueError(
                    "not a valid unified social credit code (GB 32100-2015 check character)"
                )
            return v

        return uscc
    if t is FieldType.MOBILE:
        return norm_mobile
    if t is FieldType.PHONE:

        def phone(v: str) -> str:
            if is_valid_mobile(v):
                return norm_mobile(v)
            if not is_valid_phone(v):
                raise ValueError("not a valid phone number (mobile, or landline with area code)")
            return v.strip()

        return phone
    if t is FieldType.EMAIL:

        def email(v: str) -> str:
            if not is_valid_email(v.strip()):
                raise ValueError("not a valid e-mail address")
            return v.strip()

        return email
    if t is FieldType.BANK_CARD:

        def card(v: str) -> str:
            if not is_valid_bank_card(v):
                raise ValueError("not a valid bank card number (Luhn check)")
            return _SPACES.sub("", v)

        return card
    if t is FieldType.DATE:
        return _norm_date
    if t is FieldType.AMOUNT:
        return _norm_amount
    if t is FieldType.INTEGER:

        def integer(v: str) -> str:
            if not v.strip().lstrip("-").isdigit():
                raise ValueError("not a whole number")
            return v.strip()

        return integer
    if t is FieldType.ENUM:
        allowed = frozenset(f.values)
        shown = "、".join(f.values[:8]) + ("…" if len(f.values) > 8 else "")

        def enum(v: str) -> str:
            if v not in allowed:
                raise ValueError(f"not one of the allowed values ({shown})")
            return v

        return enum
    if t is FieldType.CODE:

        def code(v: str) -> str:
            if len(v) > 64 or _CODE_BAD.search(v):
                raise ValueError("not a valid code (≤ 64 characters, no control characters)")
            return v

        return code
    if t is FieldType.PERSON_NAME:

        def person(v: str) -> str:
            if len(v) > 64 or _DIGITS.search(v):
                raise ValueError("not a person's name (no digits, ≤ 64 characters)")
            return v

        return person
    return length  # party/org names, address, text, id_number (handled per row)


# --------------------------------------------------------------------------------------------
# Vector acceptance: a boolean per value, True only where the scalar checker would return the
# value unchanged. (Values are already stripped and non-empty where this is asked.)

VectorAccept = Callable[[pa.StringArray], np.ndarray]

# GB 11643-1999 §5 (ISO 7064 MOD 11-2): weights 2^(17-i) mod 11 of the first 17 digits.
_RID_WEIGHTS = np.array([pow(2, 17 - i, 11) for i in range(17)], dtype=np.int64)
_RID_CHECK = np.frombuffer(b"10X98765432", dtype=np.uint8)  # check char for sum mod 11
_PROVINCE_OK = np.zeros(100, dtype=bool)
for _p in _PROVINCES:  # the same table the scalar check uses
    _PROVINCE_OK[int(_p)] = True
_MONTH_DAYS = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], dtype=np.int64)


def _fixed_ascii(arr: pa.StringArray, width: int, pattern: str) -> tuple[np.ndarray, np.ndarray]:
    """Rows of ``arr`` that fully match ``pattern`` (ASCII, ``width`` bytes) as a uint8 matrix.

    Returns (which rows matched, a (matched, width) matrix of their bytes)."""
    ok = pc.fill_null(pc.match_substring_regex(arr, pattern), False).to_numpy(zero_copy_only=False)
    picked = arr.filter(pa.array(ok))
    if len(picked) == 0:
        return ok, np.zeros((0, width), dtype=np.uint8)
    fixed = pc.cast(picked, pa.binary(width))
    data = np.frombuffer(fixed.buffers()[1], dtype=np.uint8)
    start = fixed.offset * width
    return ok, data[start : start + len(fixed) * width].reshape(-1, width)


def _real_dates(y: np.ndarray, m: np.ndarray, d: np.ndarray) -> np.ndarray:
    leap = ((y % 4 == 0) & (y % 100 != 0)) | (y % 400 == 0)
    mi = np.clip(m, 0, 12)
    days = _MONTH_DAYS[mi] + ((mi == 2) & leap)
    ok: np.ndarray = (m >= 1) & (m <= 12) & (d >= 1) & (d <= days)
    return ok


def _digits(mat: np.ndarray, lo: int, hi: int) -> np.ndarray:
    out = np.zeros(len(mat), dtype=np.int64)
    for j in range(lo, hi):
        out = out * 10 + (mat[:, j].astype(np.int64) - 48)
    return out


def accept_resident_id(today: date) -> VectorAccept:
    """18-character resident IDs in canonical form (upper-case X) that pass every rule of
    GB 11643-1999 as :func:`xinan.identifiers.is_valid_resident_id` applies them: province
    code, birth date real, from 1800 and not after ``today``, MOD 11-2 check character.
    Legacy 15-digit numbers, residence permits, full-width digits and lower-case x go to the
    scalar checker."""
    limit = today.year * 10000 + today.month * 100 + today.day

    def accept(arr: pa.StringArray) -> np.ndarray:
        ok, mat = _fixed_ascii(arr, 18, r"^[0-9]{17}[0-9X]$")
        if not len(mat):
            return ok
        body = mat[:, :17].astype(np.int64) - 48
        check = _RID_CHECK[(body @ _RID_WEIGHTS) % 11]
        y, m, d = _digits(mat, 6, 10), _digits(mat, 10, 12), _digits(mat, 12, 14)
        good = (
            (check == mat[:, 17])
            & _PROVINCE_OK[_digits(mat, 0, 2)]
            & (y >= 1800)
            & _real_dates(y, m, d)
            & (y * 10000 + m * 100 + d <= limit)
        )
        ok[ok] = good
        return ok

    return accept


# GB 32100-2015: code characters and their values; weights 3^(i-1) mod 31.
_USCC_ALPHABET = b"0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_VALUE = np.full(256, -1, dtype=np.int64)
for _i, _c in enumerate(_USCC_ALPHABET):
    _USCC_VALUE[_c] = _i
_USCC_WEIGHTS = np.array([pow(3, i, 31) for i in range(17)], dtype=np.int64)
_USCC_CHARS = np.frombuffer(_USCC_ALPHABET, dtype=np.uint8)


def accept_uscc(arr: pa.StringArray) -> np.ndarray:
    """Upper-case unified social credit codes with a right check character (GB 32100-2015)."""
    ok, mat = _fixed_ascii(arr, 18, r"^[1-9ANY][0-9A-HJ-NP-RTUWXY][0-9]{6}[0-9A-HJ-NP-RTUWXY]{10}$")
    if not len(mat):
        return ok
    total = _USCC_VALUE[mat[:, :17]] @ _USCC_WEIGHTS
    ok[ok] = _USCC_CHARS[(-total) % 31] == mat[:, 17]
    return ok


def accept_date(arr: pa.StringArray) -> np.ndarray:
    """Dates already in canonical YYYY-MM-DD form that are real calendar dates."""
    ok, mat = _fixed_ascii(arr, 10, r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
    if not len(mat):
        return ok
    y, m, d = _digits(mat, 0, 4), _digits(mat, 5, 7), _digits(mat, 8, 10)
    ok[ok] = _real_dates(y, m, d) & (y >= 1)
    return ok


def _lengths(arr: pa.StringArray) -> np.ndarray:
    return np.asarray(pc.utf8_length(arr).to_numpy(zero_copy_only=False))


def accept_length(limit: int) -> VectorAccept:
    return lambda arr: _lengths(arr) <= limit


def accept_enum(values: tuple[str, ...]) -> VectorAccept:
    allowed = pa.array(values, type=pa.string())
    return lambda arr: pc.fill_null(pc.is_in(arr, value_set=allowed), False).to_numpy(
        zero_copy_only=False
    )


def accept_regex(pattern: str, limit: int | None = None) -> VectorAccept:
    def accept(arr: pa.StringArray) -> np.ndarray:
        ok = np.asarray(
            pc.fill_null(pc.match_substring_regex(arr, pattern), False).to_numpy(
                zero_copy_only=False
            )
        )
        return ok & (_lengths(arr) <= limit) if limit is not None else ok

    return accept


def vector_accept(f: FieldSpec, today: date) -> VectorAccept | None:
    """The vector check of a field's type, or None where only the scalar checker decides
    (mobile and phone numbers follow number plans, e-mail and bank cards are rare)."""
    t = f.type
    limit = f.max_length or (4000 if t is FieldType.TEXT else 200)
    if t is FieldType.RESIDENT_ID:
        return accept_resident_id(today)
    if t is FieldType.USCC:
        return accept_uscc
    if t is FieldType.DATE:
        return accept_date
    if t is FieldType.ENUM:
        return accept_enum(f.values)
    if t is FieldType.CODE:
        return accept_regex(r"^[^\x00-\x1f\x7f]*$", 64)
    if t is FieldType.PERSON_NAME:
        # Python's \d is any Unicode decimal digit: accept only names without any digit-like
        # character class RE2 knows (\pN covers Nd and more), the rest the scalar check decides.
        return accept_regex(r"^[^\pN]*$", 64)
    if t is FieldType.AMOUNT:
        return accept_regex(r"^[0-9]+(\.[0-9]+)?$")
    if t is FieldType.INTEGER:
        return accept_regex(r"^-?[0-9]+$")
    if t in (
        FieldType.PARTY_NAME,
        FieldType.ORG_NAME,
        FieldType.ADDRESS,
        FieldType.TEXT,
        FieldType.ID_NUMBER,
    ):
        return accept_length(limit)
    return None
