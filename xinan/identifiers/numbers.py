"""Whole-value validators for numbered identifiers: resident ID numbers (GB 11643-1999), unified
social credit codes (GB 32100-2015), phone numbers, bank cards (ISO/IEC 7812) and e-mail
addresses.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Final

import phonenumbers

from xinan.identifiers.common import _fold, _words

# --------------------------------------------------------------------------------------------
# Resident identity numbers (GB 11643-1999)
# --------------------------------------------------------------------------------------------

# GB/T 2260 province-level codes (the first two digits of an administrative division code):
# 11-15 North, 21-23 North-east, 31-37 East, 41-46 South-central, 50-54 South-west,
# 61-65 North-west, 71 Taiwan. 81/82/83 are the prefixes of the residence permits for Hong Kong,
# Macao and Taiwan residents (港澳台居民居住证, 2018), whose region is always 810000/820000/830000.
_PROVINCES: Final[frozenset[str]] = _words(
    "11 12 13 14 15 21 22 23 31 32 33 34 35 36 37 41 42 43 44 45 46 "
    "50 51 52 53 54 61 62 63 64 65 71"
)
_PERMITS: Final[dict[str, str]] = {"810000": "HK", "820000": "MO", "830000": "TW"}
_PERMIT_PREFIXES: Final[frozenset[str]] = frozenset(p[:2] for p in _PERMITS)
# GB 11643-1999 prints an example born in 1880 (440524188001010014); it must validate. Earlier
# years are not plausible for a number issued since 1984.
_MIN_BIRTH_YEAR: Final = 1800

_RID18_RE: Final = re.compile(r"[0-9]{17}[0-9Xx]")
_RID15_RE: Final = re.compile(r"[0-9]{15}")
_DIGITS17_RE: Final = re.compile(r"[0-9]{17}")


@dataclass(frozen=True, slots=True)
class ResidentId:
    """A parsed resident ID number. ``repr`` shows no digits: the value is personal data."""

    value: str  # canonical form: ASCII digits, check character ``X`` upper case
    region: str  # 6-digit administrative division code (GB/T 2260) or 810000/820000/830000
    birth: date
    sex: str  # "M" (odd sequence number) or "F" (even)
    legacy15: bool  # a first-generation 15-digit number (no check character, 19YY)
    permit: str | None  # "HK" / "MO" / "TW" for residence permits, else None

    def __repr__(self) -> str:
        return f"ResidentId(legacy15={self.legacy15}, permit={self.permit!r}, value=<redacted>)"


def resident_id_check_char(first17: str) -> str:
    """Return the check character of an 18-digit resident ID given its first 17 digits.

    GB 11643-1999 §5: ISO 7064 MOD 11-2. The sum of a_i * 2^(18-i) over all 18 characters must be
    1 (mod 11), so the check value is 1 - 2 * sum(a_i * 2^(17-i)). Since 13 = 2 (mod 11), that
    inner sum is congruent to the 17 digits read as a base-13 number, which ``int`` computes in C.
    """
    if _DIGITS17_RE.fullmatch(first17) is None:
        raise ValueError("resident ID body must be 17 ASCII digits")
    r = (1 - 2 * int(first17, 13)) % 11
    return "X" if r == 10 else str(r)


def _resident_id_problem(value: str, today: date) -> str | None:
    """Why ``value`` (already folded and stripped) is not a resident ID, or None if it is."""
    n = len(value)
    if n == 18:
        if _RID18_RE.fullmatch(value) is None:
            return "not 17 digits followed by a digit or X"
        y, m, d = int(value[6:10]), int(value[10:12]), int(value[12:14])
    elif n == 15:
        if _RID15_RE.fullmatch(value) is None:
            return "a 15-digit ID must be all digits"
        y, m, d = 1900 + int(value[6:8]), int(value[8:10]), int(value[10:12])
    else:
        return "wrong length (must be 18, or 15 for a legacy number)"
    prov = value[:2]
    if prov in _PERMIT_PREFIXES:
        if n == 15:
            return "residence permits have 18 digits"
        if value[:6] not in _PERMITS:
            return "residence permit region must be 810000, 820000 or 830000"
    elif prov not in _PROVINCES:
        return "unknown province code"
    if y < _MIN_BIRTH_YEAR:
        return f"birth date before {_MIN_BIRTH_YEAR}"
    try:
        birth = date(y, m, d)
    except ValueError:
        return "birth date is not a calendar date"
    if birth > today:
        return "birth date in the future"
    if n == 18:
        r = (1 - 2 * int(value[:17], 13)) % 11  # GB 11643-1999 §5, see resident_id_check_char
        if value[17] not in ("X" if r == 10 else str(r)):
            return "wrong check character"
    return None


def _canonical_rid(value: str) -> str:
    value = _fold(value).strip()
    if value.endswith("x"):  # accepted on input, GB 11643-1999 prints an upper-case X
        value = value[:-1] + "X"
    return value


def parse_resident_id(value: str, *, today: date) -> ResidentId:
    """Parse a resident ID (18-digit, legacy 15-digit, or residence permit).

    Raises ValueError with a short reason if it is not one; the reason never contains the value.
    ``today`` bounds the birth date (no births in the future).
    """
    v = _canonical_rid(value)
    problem = _resident_id_problem(v, today)
    if problem is not None:
        raise ValueError(f"not a valid resident ID: {problem}")
    if len(v) == 18:
        birth = date(int(v[6:10]), int(v[10:12]), int(v[12:14]))
        seq_last = int(v[16])
        legacy = False
    else:
        birth = date(1900 + int(v[6:8]), int(v[8:10]), int(v[10:12]))
        seq_last = int(v[14])
        legacy = True
    return ResidentId(
        value=v,
        region=v[:6],
        birth=birth,
        sex="M" if seq_last % 2 else "F",  # GB 11643-1999 §4.3: odd for men, even for women
        legacy15=legacy,
        permit=_PERMITS.get(v[:6]),
    )


def is_valid_resident_id(value: str, *, today: date | None = None) -> bool:
    """True if ``value`` is a resident ID by :func:`parse_resident_id` (``today`` defaults to the
    system date; pass it explicitly in anything that must be reproducible)."""
    if value.isascii():
        v = value.strip()
        if v[-1:] == "x":
            v = v[:-1] + "X"
    else:
        v = _canonical_rid(value)
    return _resident_id_problem(v, today or date.today()) is None


# --------------------------------------------------------------------------------------------
# Unified social credit codes (GB 32100-2015)
# --------------------------------------------------------------------------------------------

# GB 32100-2015 §4: the code alphabet (digits and upper-case letters without I, O, S, V, Z).
_USCC_ALPHABET: Final = "0123456789ABCDEFGHJKLMNPQRTUWXY"
# Each code character's value (0..30) written as a base-34 digit, so that int(…, 34) computes the
# weighted sum: the weight of position i (1-based) is 3^(i-1) mod 31, and 34 = 3 (mod 31).
_USCC_TO_B34: Final[dict[int, int]] = {
    ord(c): ord("0123456789abcdefghijklmnopqrstuvwx"[i]) for i, c in enumerate(_USCC_ALPHABET)
}
# §4.1: the first character is the registration authority: 1-9, A (central military commission
# organs), N (agriculture), Y (others). Characters 3-8 are the GB/T 2260 region code (digits).
# The second character (entity category, depends on the authority) is only checked for charset.
_USCC_RE: Final = re.compile(
    r"[1-9ANY][0-9A-HJ-NP-RTUWXY][0-9]{6}[0-9A-HJ-NP-RTUWXY]{10}", re.IGNORECASE
)
_USCC17_RE: Final = re.compile(r"[0-9A-HJ-NP-RTUWXY]{17}")


def uscc_check_char(first17: str) -> str:
    """Return the check character of a unified social credit code from its first 17 characters.

    GB 32100-2015 §5: C18 = 31 - (sum of value(C_i) * 3^(i-1) mod 31) mod 31, as a code character.
    """
    body = first17.upper()
    if _USCC17_RE.fullmatch(body) is None:
        raise ValueError("USCC body must be 17 characters of the GB 32100 alphabet")
    total = int(body[::-1].translate(_USCC_TO_B34), 34)
    return _USCC_ALPHABET[-total % 31]


def is_valid_uscc(value: str) -> bool:
    """True if ``value`` is a unified social credit code: authority character 1-9/A/N/Y, GB 32100
    alphabet, digits in the region positions, and the right check character. Case-insensitive;
    surrounding whitespace is ignored."""
    v = _fold(value).strip().upper()
    if len(v) != 18 or _USCC_RE.fullmatch(v) is None:
        return False
    total = int(v[16::-1].translate(_USCC_TO_B34), 34)
    return v[17] == _USCC_ALPHABET[-total % 31]


# --------------------------------------------------------------------------------------------
# Phone numbers
# --------------------------------------------------------------------------------------------

# Mobile number blocks in service, as encoded in libphonenumber's CN metadata (9.0.x, which
# follows the MIIT numbering allocations). The data-only / IoT blocks (140, 141, 144, 146, 148,
# 149, 13-digit numbers) are not personal phone numbers and are left out. tests cross-check every
# 5-digit block against phonenumbers; update this table when that test fails after an upgrade.
_MOBILE_BLOCKS: Final[frozenset[str]] = frozenset(
    [f"13{d}" for d in range(10)]
    + ["145", "147"]
    + [f"15{d}" for d in (0, 1, 2, 3, 5, 6, 7, 8, 9)]
    + ["162", "165", "166", "167", "1610"]
    + [f"17{d}" for d in (0, 1, 2, 3, 5, 6, 7, 8)]
    + [f"1740{d}" for d in range(6)]  # 1740x: satellite (Tiantong), only 17400-17405
    + [f"18{d}" for d in range(10)]
    + [f"19{d}" for d in (0, 1, 2, 3, 5, 6, 7, 8, 9)]
)
_MOBILE3: Final = frozenset(b for b in _MOBILE_BLOCKS if len(b) == 3)
_MOBILE4: Final = frozenset(b for b in _MOBILE_BLOCKS if len(b) == 4)
_MOBILE5: Final = frozenset(b for b in _MOBILE_BLOCKS if len(b) == 5)

# +86 / 86 / 0086 prefix, then 3-4-4 digits with optional single spaces or hyphens.
_MOBILE_RE: Final = re.compile(
    r"(?:(?:\+|00)?86[ -]?)?(1[3-9][0-9])[ -]?([0-9]{4})[ -]?([0-9]{4})", re.ASCII
)


def _mobile_digits_ok(d: str) -> bool:
    return d[:3] in _MOBILE3 or d[:4] in _MOBILE4 or d[:5] in _MOBILE5


def is_valid_mobile(value: str) -> bool:
    """True for a mainland China mobile number: 11 digits in a block in service, optionally with a
    +86 / 86 / 0086 prefix and spaces or hyphens between the 3-4-4 groups."""
    m = _MOBILE_RE.fullmatch(_fold(value).strip())
    if m is None:
        return False
    return _mobile_digits_ok(m[1] + m[2] + m[3])


# A landline always carries its area code here (0 + 2 or 3 digits, or +86 and the code without
# the trunk 0); a bare 7-8 digit local number is too ambiguous to call a phone number.
_FIXED_PATTERN: Final = r"""
    (?:
        (?:\+|00)86[ -]?(?:\(0?(?P<a1>[1-9][0-9]{1,2})\)|0?(?P<a2>[1-9][0-9]{1,2}))
      | \(0(?P<a3>[1-9][0-9]{1,2})\)
      | 0(?P<a4>[1-9][0-9]{1,2})
    )
    [ -]?
    (?P<sub>[0-9]{3,4}[ -]?[0-9]{4})
    (?:[ ]?(?:转|分机|ext\.?|x|\#|-)[ ]?(?P<ext>[0-9]{1,6}))?
"""
_FIXED_RE: Final = re.compile(_FIXED_PATTERN, re.VERBOSE | re.ASCII | re.IGNORECASE)
_FIXED_TYPES: Final = frozenset(
    {phonenumbers.PhoneNumberType.FIXED_LINE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE}
)


def _fixed_match_ok(m: re.Match[str]) -> bool:
    area = m["a1"] or m["a2"] or m["a3"] or m["a4"]
    national = "0" + area + m["sub"].replace(" ", "").replace("-", "")
    try:
        num = phonenumbers.parse(national, "CN")
    except phonenumbers.NumberParseException:
        return False
    return phonenumbers.is_valid_number(num) and phonenumbers.number_type(num) in _FIXED_TYPES


def is_valid_fixed_phone(value: str) -> bool:
    """True for a mainland China landline with its area code: ``010-12345678``,
    ``0632-1234567``, ``(0632)1234567``, ``+86 632 1234567``; an extension (``-123``, ``转123``,
    ``ext 123``) may follow. The number itself is checked with phonenumbers (region CN)."""
    m = _FIXED_RE.fullmatch(_fold(value).strip())
    return m is not None and _fixed_match_ok(m)


def is_valid_phone(value: str) -> bool:
    """True for a mobile number or a landline (see :func:`is_valid_mobile`,
    :func:`is_valid_fixed_phone`)."""
    return is_valid_mobile(value) or is_valid_fixed_phone(value)


# --------------------------------------------------------------------------------------------
# Bank cards (ISO/IEC 7812: IIN + account + Luhn check digit)
# --------------------------------------------------------------------------------------------

_CARD_RE: Final = re.compile(r"[0-9]+(?:[ -][0-9]+)*")
# First digit of a plausible payment card: 3 (JCB, Amex, Diners), 4 (Visa), 5 (Mastercard),
# 6 (UnionPay 62…, Discover), 8 and 9 (domestic bank cards issued before UnionPay IINs).
_CARD_FIRST: Final = frozenset("345689")


def _luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def bank_card_check_digit(partial: str) -> str:
    """Return the Luhn check digit to append to ``partial`` (ASCII digits)."""
    if not partial.isascii() or not partial.isdigit():
        raise ValueError("card number body must be ASCII digits")
    for c in "0123456789":
        if _luhn_ok(partial + c):
            return c
    raise AssertionError("unreachable: one Luhn digit always fits")  # pragma: no cover


def is_valid_bank_card(value: str) -> bool:
    """True for a 12-19 digit card number (single spaces or hyphens allowed between groups) with
    a plausible first digit and a correct Luhn check digit (ISO/IEC 7812-1 Annex B)."""
    v = _fold(value).strip()
    if _CARD_RE.fullmatch(v) is None:
        return False
    digits = v.replace(" ", "").replace("-", "")
    return 12 <= len(digits) <= 19 and digits[0] in _CARD_FIRST and _luhn_ok(digits)


# --------------------------------------------------------------------------------------------
# E-mail addresses
# --------------------------------------------------------------------------------------------

# RFC 5321 dot-atoms over ASCII: local part of atext characters with single inner dots, domain of
# LDH labels and a letter (or punycode) top-level label. Quoted local parts, IP-literal domains
# and internationalised addresses are not recognised (see docs/identifiers.md).
_EMAIL_PATTERN: Final = (
    r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+"
    r"(?:[A-Za-z]{2,63}|xn--[A-Za-z0-9-]{1,59})"
)
_EMAIL_RE: Final = re.compile(_EMAIL_PATTERN)
# In running text the local part is restricted to the characters people actually use, so that
# ``联系方式:a@b.cn`` or a quote mark before the address does not become part of it.
_EMAIL_TEXT_RE: Final = re.compile(
    r"[A-Za-z0-9_%+-]+(?:\.[A-Za-z0-9_%+-]+)*"
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+"
    r"(?:[A-Za-z]{2,63}|xn--[A-Za-z0-9-]{1,59})(?![A-Za-z0-9-])"
)


def is_valid_email(value: str) -> bool:
    """True for an ASCII e-mail address (RFC 5321 dot-atom local part, LDH domain with at least
    two labels, length limits of RFC 5321 §4.5.3.1)."""
    v = _fold(value).strip()
    if len(v) > 254 or _EMAIL_RE.fullmatch(v) is None:
        return False
    return len(v.partition("@")[0]) <= 64
