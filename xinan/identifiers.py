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

import re
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Final

import phonenumbers

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


# --------------------------------------------------------------------------------------------
# Chinese personal names
# --------------------------------------------------------------------------------------------

# Single-character surnames: the Hundred Family Surnames (百家姓) single entries plus common
# modern surnames missing from it (付 肖 闫 覃 …). Characters that are also very common function
# words are in _AMBIGUOUS_SURNAMES and need a clean right edge in free text.
_SINGLE_SURNAMES: Final[frozenset[str]] = frozenset(
    "赵钱孙李周吴郑王冯陈褚卫蒋沈韩杨朱秦尤许何吕施张孔曹严华金魏陶姜戚谢邹喻柏水窦章云苏潘葛"
    "奚范彭郎鲁韦昌马苗凤花方俞任袁柳酆鲍史唐费廉岑薛雷贺倪汤滕殷罗毕郝邬安常乐于时傅皮卞齐康"
    "伍余元卜顾孟平黄和穆萧尹姚邵湛汪祁毛禹狄米贝明臧计伏成戴谈宋茅庞熊纪舒屈项祝董梁杜阮蓝闵"
    "席季麻强贾路娄危江童颜郭梅盛林刁钟徐邱骆高夏蔡田樊胡凌霍虞万支柯昝管卢莫经房裘缪干解应宗"
    "丁宣贲邓郁单杭洪包诸左石崔吉钮龚程嵇邢滑裴陆荣翁荀羊於惠甄曲家封芮羿储靳汲邴糜松井段富巫"
    "乌焦巴弓牧隗山谷车侯宓蓬全郗班仰秋仲伊宫宁仇栾暴甘钭厉戎祖武符刘景詹束龙叶幸司韶郜黎蓟薄"
    "印宿白怀蒲邰从鄂索咸籍赖卓蔺屠蒙池乔阴郁胥能苍双闻莘党翟谭贡劳逄姬申扶堵冉宰郦雍郤璩桑桂"
    "濮牛寿通边扈燕冀郏浦尚农温别庄晏柴瞿阎充慕连茹习宦艾鱼容向古易慎戈廖庾终暨居衡步都耿满弘"
    "匡国文寇广禄阙东殴殳沃利蔚越夔隆师巩厍聂晁勾敖融冷訾辛阚那简饶空曾毋沙乜养鞠须丰巢关蒯相"
    "查后荆红游竺权逯盖益桓公欧岳帅缑亢况有琴商牟佘佴伯赏墨哈谯笪年爱阳佟第言福"
    "付肖闫覃兰晋綦揭冼麦植邝涂区练钞丛迟代修初苑鄢隋银官腾邸伞战由衣谌鞠粟尉楚卿占"
    "母补续仝庹阿亓呼颉原信过智琚操锁德旷鹿淦栗"
)
# Compound surnames (复姓): those of the Hundred Family Surnames plus a few common modern ones.
_COMPOUND_SURNAMES: Final[frozenset[str]] = _words(
    "万俟 司马 上官 欧阳 夏侯 诸葛 闻人 东方 赫连 皇甫 尉迟 公羊 澹台 公冶 宗政 濮阳 淳于 单于 "
    "太叔 申屠 公孙 仲孙 轩辕 令狐 钟离 宇文 长孙 慕容 鲜于 闾丘 司徒 司空 亓官 司寇 子车 颛孙 "
    "端木 巫马 公西 漆雕 乐正 壤驷 公良 拓跋 夹谷 宰父 谷梁 段干 百里 东郭 南门 呼延 归海 羊舌 "
    "微生 梁丘 左丘 东门 西门 南宫 第五 独孤"
)
# Surnames that are also common function words or verbs (于, 向, 和 …): in free text a name with
# one of these must end at a non-CJK character or a stop character, so 当事人向社会… is no name.
_AMBIGUOUS_SURNAMES: Final[frozenset[str]] = frozenset(
    "于向和时都能经从通应及那也之其以为与将对被把所在是有无不来上下中全平成明高文国东公"
    "相过信原利益满养须空别后红"
)
# Characters that do not continue a personal name in administrative prose: particles, verbs and
# prepositions that follow a name (张三于…, 李四未…), and administrative words.
_NAME_STOP_CHARS: Final[frozenset[str]] = frozenset(
    "的了吗呢吧着过们个这那其于在是未无不没也都就而及与或等被把将对向从给让因若则但并且即"
    "已曾均系称涉擅违拒自现住男女等并所为以因由经"
    "省市县区镇乡村街路号室楼局厅处科部委院校司厂店社队组站年日时秒条款项罚"
)
# Two-character words that start right after a cue word or a name and are not a name: the first
# character of each may be a surname or a given-name character, so a single-character stop list
# cannot catch them.
_NAME_STOP_WORDS: Final[frozenset[str]] = _words(
    "经营 经查 经过 经检 经核 经调 生产 销售 使用 提供 存在 从事 明知 通过 利用 采用 "
    "采取 驾驶 承认 身份 出生 签字 签名 拒绝 共同 作为 进行 开展 负责 组织 实施 委托 "
    "购进 购买 加工 运输 储存 贮存 收购 出售 出租 发布 制作 伪造 占用 非法 陈述 申辩 "
    "申请 应当 应该 应在 向社 向消 向本 以上 以下 以及 时间 时任 都是 能够 和其 及时 "
    "相关 相应 谈话 谈及 证明 证实 证件 住所 住址 联系 电话 手机 名称 名下 姓名 性别 "
    "民族 汉族 户籍 籍贯 年龄 未能 无法 称其 称该 对其 对外 对该 将其 该店 该公 该企 "
    "该单 该车 车辆 车牌 营业 个体 经销 库存 现场 当场 当日 当天 当年 本人 本案 上述 "
    "上诉 公司 企业 有限 单位 法人 法定 主要 负有 责任 违反 没有 成立 取得 全部 "
    "部分 平台 高价 文件 国家 东西 东路 方面 方式 代表 代理 安全 安装 安排 项目 江苏 "
    "山东 山西 云南 贵州 湖南 湖北 广东 广西 河南 河北 浙江 福建 江西 安徽 四川 黄河 "
    "签订 签署 签收 租赁 承租 出资 投资 持有 申报 缴纳 办理 登记 注册 领取 雇佣 聘用 "
    "招用 指使 授权 同意 确认 表示 介绍 交代 供述 到场 在场 参与 购得 收取 支付 转账 "
    "涉案 所有 所述 所在 所属 等人 宿舍 工资 食堂 名单 人数 培训 健康 会议 决议 信息"
)
_NAME_DOTS: Final = "·•・‧"  # U+00B7 (GB 18030 间隔号), U+2022, U+30FB, U+2027
_NAME_DOT_RE: Final = re.compile(f"[{_NAME_DOTS}]")
_CJK_CLASS: Final = "\u3400-\u4dbf\u4e00-\u9fff\U00020000-\U000323af"
# A transliterated name after a cue word: 艾力·买买提 (parts of 1-10 ideographs).
_DOTTED_NAME_RE: Final = re.compile(
    f"[{_CJK_CLASS}]{{1,10}}(?:[{_NAME_DOTS}][{_CJK_CLASS}]{{1,10}})+"
)


def _given_ok(given: str) -> bool:
    return all(_is_cjk(c) and c not in _NAME_STOP_CHARS for c in given)


# The common case, 2-4 CJK ideographs with no separator dot, checked in one C-level match so
# that masking a name costs about as much as slicing it (bench/mask.py).
_HAN_2_4_RE: Final = re.compile("[\u4e00-\u9fff\u3400-\u4dbf\U00020000-\U000323af]{2,4}")


def split_chinese_name(value: str) -> tuple[str, str] | None:
    """Split a plausible Chinese personal name into (surname, given name), or return None.

    Han names: a known surname (compound first: 欧阳, 司马, 诸葛 …) and a given name of one or two
    characters (one to two after a compound surname), so 2 to 4 characters in all; surrounding
    whitespace is ignored. Names written with a separator dot (维吾尔族, 藏族 transliterations and
    foreign names, ``艾力·买买提``): every part must be CJK; the *last* part is returned as the
    surname (the family-name position of transliterated names) and the rest, dots included, as
    the given name. A heuristic: it can accept a word that merely looks like a name
    (docs/identifiers.md).
    """
    v = value.strip()
    if _HAN_2_4_RE.fullmatch(v):
        if len(v) >= 3 and v[:2] in _COMPOUND_SURNAMES:
            surname, given = v[:2], v[2:]
        elif v[0] in _SINGLE_SURNAMES and len(v) <= 3:
            surname, given = v[:1], v[1:]
        else:
            return None
        if _NAME_STOP_CHARS.isdisjoint(given) and (surname + given[:1]) not in _NAME_STOP_WORDS:
            return surname, given
        return None
    if _NAME_DOT_RE.search(v):
        parts = _NAME_DOT_RE.split(v)
        if len(parts) < 2 or any(not p or not all(map(_is_cjk, p)) for p in parts):
            return None
        if not 3 <= len(v) <= 30:
            return None
        last = parts[-1]
        return last, v[: len(v) - len(last) - 1]
    if not 2 <= len(v) <= 4 or not all(map(_is_cjk, v)):
        return None
    if len(v) >= 3 and v[:2] in _COMPOUND_SURNAMES:
        surname, given = v[:2], v[2:]
    elif v[0] in _SINGLE_SURNAMES and len(v) <= 3:
        surname, given = v[:1], v[1:]
    else:
        return None
    if not _given_ok(given) or (surname + given[:1]) in _NAME_STOP_WORDS:
        return None
    return surname, given


def is_plausible_chinese_name(value: str) -> bool:
    """True if :func:`split_chinese_name` accepts ``value``."""
    return split_chinese_name(value) is not None


# --------------------------------------------------------------------------------------------
# Whole values
# --------------------------------------------------------------------------------------------


def classify_value(value: str, *, today: date | None = None) -> IdKind | None:
    """Say which identifier a whole cell holds, or None.

    Order decides overlaps: a resident ID wins over a bank card with the same digits (an
    18-digit ID passes Luhn one time in ten) and over a USCC; 18 digits shaped like a resident ID
    (region, birth date) with a wrong check character are none of the three. A mobile number wins
    over a landline; a personal name is tried last. Surrounding whitespace is ignored, full-width
    forms count as ASCII.
    """
    v = _fold(value).strip()
    if not v:
        return None
    day = today or date.today()
    if len(v) == 18 and v.isascii() and v.isalnum():
        return _classify_run(v, day)  # resident ID, USCC or bank card, same rules as in text
    if v[0].isdigit():
        if len(v) == 15 and is_valid_resident_id(v, today=day):
            return IdKind.RESIDENT_ID
        if is_valid_mobile(v):
            return IdKind.MOBILE
        if is_valid_bank_card(v):
            return IdKind.BANK_CARD
        if is_valid_fixed_phone(v):
            return IdKind.FIXED_PHONE
        if "@" in v and is_valid_email(v):
            return IdKind.EMAIL
        return None
    if v[0] in "+(":
        if is_valid_mobile(v):
            return IdKind.MOBILE
        if is_valid_fixed_phone(v):
            return IdKind.FIXED_PHONE
        return None
    if "@" in v:
        return IdKind.EMAIL if is_valid_email(v) else None
    if is_plausible_chinese_name(v):
        return IdKind.PERSON_NAME
    return None


# --------------------------------------------------------------------------------------------
# Free text
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Found:
    """An identifier found in text: its kind and ``text[start:end]`` (no copy of the value).

    ``valid`` is False for a span found only by its shape (:mod:`xinan.shapes`): shaped like
    ``kind`` but failing its check character, number plan or Luhn digit."""

    kind: IdKind
    start: int
    end: int
    valid: bool = True


# Overlap resolution: the longer span wins; on equal spans, the kind listed first.
_ALL_KINDS: Final[frozenset[IdKind]] = frozenset(IdKind)
_PRIORITY: Final[dict[IdKind, int]] = {
    IdKind.RESIDENT_ID: 0,
    IdKind.USCC: 1,
    IdKind.BANK_CARD: 2,
    IdKind.MOBILE: 3,
    IdKind.FIXED_PHONE: 4,
    IdKind.EMAIL: 5,
    IdKind.PERSON_NAME: 6,
    IdKind.DIGIT_RUN: 7,
}

# Cheap gate: every numeric identifier has six digits in a row or a digit-separator-digit.
_NUMERIC_GATE_RE: Final = re.compile(r"[0-9](?:[0-9]{5}|[ -][0-9])")
# Maximal runs of ASCII letters and digits: an identifier written without separators is exactly
# one such run, so "not embedded in a longer run" holds by construction.
_ALNUM_RUN_RE: Final = re.compile(r"[0-9A-Za-z]+")
# Forms with separators (spaces, hyphens, +86, parentheses); boundaries are checked in code.
_MOBILE_SEP_RE: Final = re.compile(
    r"(?:(?:\+|00)86[ -]?|86[ -])?(1[3-9][0-9])([ -]?)([0-9]{4})\2([0-9]{4})(?![0-9A-Za-z])"
)
_FIXED_TEXT_RE: Final = re.compile(
    _FIXED_PATTERN + r"(?![0-9A-Za-z])", re.VERBOSE | re.ASCII | re.IGNORECASE
)
_CARD_SEP_RE: Final = re.compile(
    r"[3-689][0-9]{3}([ -])[0-9]{4}\1[0-9]{4}\1[0-9]{4}(?:\1[0-9]{1,3})?(?![0-9A-Za-z])(?!\1[0-9])"
)

# Cue words after which a personal name usually follows in penalty decisions and credit records.
# Longer cues first where one contains another (法定代表人 before 代表人).
_NAME_CUES: Final[tuple[str, ...]] = (
    "被处罚人",
    "当事人",
    "法定代表人",
    "法人代表",
    "主要负责人",
    "负责人",
    "实际控制人",
    "经营者",
    "投资人",
    "出资人",
    "联系人",
    "驾驶人",
    "驾驶员",
    "业主",
    "股东",
    "员工",
    "个体户",
    "个体工商户",
    "委托代理人",
    "代理人",
    "户主",
    "车主",
    "店主",
    "举报人",
    "投诉人",
    "申请人",
    "被申请人",
    "受害人",
    "违法行为人",
    "责任人",
    "监护人",
    "承包人",
    "从业人员",
    "姓名",
    "户名",
    "开户名",
)
_CUE_RE: Final = re.compile(
    "(?:" + "|".join(sorted(_NAME_CUES, key=len, reverse=True)) + r")[:：]?[ ]?(?:为|是|系)?"
)


def _boundary_ok(norm: str, start: int, end: int) -> bool:
    """No ASCII letter or digit touches the span, and it is not part of a decimal number."""
    if start > 0:
        c = norm[start - 1]
        if c.isascii() and c.isalnum():
            return False
        if c == "." and start > 1 and norm[start - 2].isdigit():
            return False
    if end < len(norm):
        c = norm[end]
        if c.isascii() and c.isalnum():
            return False
        if c == "." and end + 1 < len(norm) and norm[end + 1].isdigit():
            return False
    return True


def _rid_shaped(run: str, today: date) -> bool:
    """True if 17 ASCII digits + one character have the region and birth date of a resident ID,
    whatever the check character."""
    probe = run[:17] + resident_id_check_char(run[:17])
    return _resident_id_problem(probe, today) is None


def _classify_run(run: str, today: date) -> IdKind | None:
    """Classify one maximal alphanumeric run (already folded)."""
    n = len(run)
    if n == 18:
        if _resident_id_problem(run[:17] + run[17].upper(), today) is None:
            return IdKind.RESIDENT_ID
        if _RID18_RE.fullmatch(run) is not None and _rid_shaped(run, today):
            # Region and birth date of a resident ID but a wrong check character: a mistyped ID
            # or noise. 1 in 31 such runs passes the USCC check and 1 in 10 passes Luhn; do not
            # report them as something they almost surely are not.
            return None
        if is_valid_uscc(run):
            return IdKind.USCC
    elif n == 15 and _resident_id_problem(run, today) is None:
        return IdKind.RESIDENT_ID
    if not run.isdigit():
        return None
    if 16 <= n <= 19:
        if run[0] in _CARD_FIRST and _luhn_ok(run):
            return IdKind.BANK_CARD
        return None
    if n == 11 or (n == 13 and run.startswith("86")):
        return IdKind.MOBILE if _mobile_digits_ok(run[-11:]) else None
    if 10 <= n <= 12 and run[0] == "0":
        m = _FIXED_RE.fullmatch(run)
        if m is not None and _fixed_match_ok(m):
            return IdKind.FIXED_PHONE
    return None


def _find_numeric(norm: str, today: date, want: Collection[IdKind], out: list[Found]) -> None:
    for m in _ALNUM_RUN_RE.finditer(norm):
        s, e = m.span()
        if e - s < 10 or not _boundary_ok(norm, s, e):
            continue
        kind = _classify_run(m[0], today)
        if kind is not None and kind in want:
            out.append(Found(kind, s, e))
    if IdKind.MOBILE in want:
        for m in _MOBILE_SEP_RE.finditer(norm):
            s, e = m.span()
            if _boundary_ok(norm, s, e) and _mobile_digits_ok(m[1] + m[3] + m[4]):
                out.append(Found(IdKind.MOBILE, s, e))
    if IdKind.FIXED_PHONE in want:
        for m in _FIXED_TEXT_RE.finditer(norm):
            s, e = m.span()
            if _boundary_ok(norm, s, e) and _fixed_match_ok(m):
                out.append(Found(IdKind.FIXED_PHONE, s, e))
    if IdKind.BANK_CARD in want:
        for m in _CARD_SEP_RE.finditer(norm):
            s, e = m.span()
            digits = m[0].replace(m[1], "")
            if _boundary_ok(norm, s, e) and _luhn_ok(digits):
                out.append(Found(IdKind.BANK_CARD, s, e))


def _name_at(text: str, pos: int) -> int | None:
    """End of a personal name starting at ``pos`` (after a cue word), or None."""
    n = len(text)
    if text[pos : pos + 2] in _COMPOUND_SURNAMES:
        g = pos + 2
    elif pos < n and text[pos] in _SINGLE_SURNAMES:
        g = pos + 1
    else:
        return None
    surname = text[pos:g]
    if g >= n or not _given_ok(text[g]) or text[pos : pos + 2] in _NAME_STOP_WORDS:
        return None
    end = g + 1
    if (
        end < n
        and _given_ok(text[end])
        and text[end : end + 2] not in _NAME_STOP_WORDS
        and text[g : g + 2] not in _NAME_STOP_WORDS
    ):
        end += 1
    if surname in _AMBIGUOUS_SURNAMES and end < n:
        c = text[end]
        if _is_cjk(c) and c not in _NAME_STOP_CHARS and text[end : end + 2] not in _NAME_STOP_WORDS:
            return None
    return end


def _dotted_end(text: str, m: re.Match[str]) -> int:
    """End of a dotted name, leaving out stop characters glued to its last part (…吐尔逊于)."""
    end = m.end()
    last_dot = max(text.rfind(d, m.start(), end) for d in _NAME_DOTS)
    while end - 1 > last_dot + 1 and text[end - 1] in _NAME_STOP_CHARS:
        end -= 1
    return end


# Organisation names (企业名称登记管理规定: 行政区划 + 字号 + 行业 + 组织形式) often begin with a
# person's name used as the trade name: 郑十一有限公司, 张三五金店. A name that begins such a
# name is kept whole, with the organisation (issue 11): the clause from the name to a legal-form
# or shop suffix, with no punctuation, particle or clause verb in between, is an organisation.
_ORG_SUFFIXES: Final[tuple[str, ...]] = tuple(
    sorted(
        _words(
            "股份有限公司 有限责任公司 有限公司 分公司 公司 集团 专业合作社 合作社 联合社 "
            "个体工商户 工作室 事务所 经营部 门市部 服务部 营业部 分店 商行 商店 商场 超市 "
            "便利店 药店 药房 诊所 卫生室 医院 学校 幼儿园 加油站 饭店 酒店 饭庄 酒楼 餐馆 "
            "餐厅 宾馆 旅馆 农场 林场 养殖场 种植场 研究院 研究所 中心 协会 银行 支行 作坊"
        ),
        key=len,
        reverse=True,
    )
)
# 店 and 厂 alone end a name (张三五金店) unless they start a word of their own (店内, 厂区).
_ORG_SUFFIX_PATTERN: Final = (
    "(?:" + "|".join(_ORG_SUFFIXES) + "|[店厂](?![内里铺面主员长区房门前外口中])" + ")"
)
_ORG_SUFFIX_RE: Final = re.compile(_ORG_SUFFIX_PATTERN)
# What ends a clause before any suffix: punctuation, whitespace, particles and prepositions
# (张三于…, 张三在某某有限公司…, 张三系某某有限公司员工).
_ORG_BREAKS: Final = (
    "\\s，。；、,;：:（）()《》“”\"'！？!?〔〕\\[\\]"
    "于在因未对的与和及被把将向从给让为以由是也都就而或若则但并且即已曾均系称等任到至"
)
_ORG_CLAUSE_RE: Final = re.compile(f"[^{_ORG_BREAKS}]{{0,20}}?{_ORG_SUFFIX_PATTERN}")
# Verbs that start a clause (张三经营食品店: a person running a shop, not a shop's name). A verb
# directly followed by more verbs and then a suffix is part of the name (食品加工销售有限公司).
_CLAUSE_VERBS_RE: Final = re.compile(
    "(?:经营|销售|出售|售卖|生产|加工|开设|开办|从事|租赁|承租|出租|雇佣|雇用|使用|购买|购进|"
    "收购|运输|储存|存放|摆放|提供|无照|未经|擅自|违反|拒绝|伪造|冒用|涉嫌|制售|贩卖|回收|非法|"
    "担任|受雇|就职|供职|作为|代表|委托|挂靠|隶属|属于|持有|入股|注册|登记|申请|取得|实际)"
)


def _org_clause_end(norm: str, pos: int) -> int:
    """End of the organisation name that begins at ``pos`` (see _ORG_SUFFIXES), or -1."""
    m = _ORG_CLAUSE_RE.match(norm, pos)
    if m is None:
        return -1
    clause = m[0]
    i = 0
    while (v := _CLAUSE_VERBS_RE.search(clause, i)) is not None:
        j = v.end()
        while (w := _CLAUSE_VERBS_RE.match(clause, j)) is not None:
            j = w.end()
        if _ORG_SUFFIX_RE.match(clause, j) is None:
            return -1
        i = j
    return m.end()


def _find_cued_names(norm: str, out: list[Found]) -> None:
    for m in _CUE_RE.finditer(norm):
        pos = m.end()
        if _org_clause_end(norm, pos) > pos:
            continue
        while True:
            dotted = _DOTTED_NAME_RE.match(norm, pos)
            end = _dotted_end(norm, dotted) if dotted is not None else _name_at(norm, pos)
            if end is None:
                break
            out.append(Found(IdKind.PERSON_NAME, pos, end))
            # enumerations: 股东张三、李四
            if end < len(norm) and norm[end] == "、":
                pos = end + 1
                if _org_clause_end(norm, pos) > pos:
                    break
                continue
            break


def _find_given_names(text: str, norm: str, names: Iterable[str], out: list[Found]) -> None:
    for raw in names:
        name = raw.strip()
        if len(name) < 2:  # a one-character "name" would match everywhere
            continue
        i = text.find(name)
        while i != -1:
            # a name that begins an organisation's name is left to it: 郑十一有限公司 stays whole
            if _org_clause_end(norm, i) <= i + len(name):
                out.append(Found(IdKind.PERSON_NAME, i, i + len(name)))
            i = text.find(name, i + len(name))


def _org_spans(text: str, orgs: Iterable[str]) -> list[tuple[int, int]]:
    spans = []
    for raw in orgs:
        org = raw.strip()
        if len(org) < 2:
            continue
        i = text.find(org)
        while i != -1:
            spans.append((i, i + len(org)))
            i = text.find(org, i + len(org))
    return spans


def resolve_overlaps(found: list[Found]) -> list[Found]:
    """Non-overlapping spans sorted by start: the longest span wins, then a valid one over a
    shape-only one, then the kind listed first in :class:`IdKind`'s priority."""
    if len(found) < 2:
        return found
    found.sort(key=lambda f: (f.start - f.end, not f.valid, _PRIORITY[f.kind], f.start))
    kept: list[Found] = []
    for f in found:
        if all(f.end <= k.start or f.start >= k.end for k in kept):
            kept.append(f)
    kept.sort(key=lambda f: f.start)
    return kept


def find_identifiers(
    text: str,
    *,
    today: date | None = None,
    names: Iterable[str] = (),
    kinds: Collection[IdKind] | None = None,
    orgs: Iterable[str] = (),
) -> list[Found]:
    """Find identifiers in free text; return non-overlapping spans sorted by start.

    Digits may be ASCII or full-width; offsets always index the original ``text``. A candidate is
    reported only if it validates (check characters, Luhn, phone plans), and only if it is not part
    of a longer run of letters and digits or of a decimal number. ``names`` are the record's own
    party names, found wherever they occur; other personal names are found only after a cue word
    (当事人, 法定代表人 …), a heuristic documented in docs/identifiers.md. A name that begins an
    organisation's name (郑十一有限公司) is left to the organisation, and so is any name inside an
    occurrence of one of ``orgs`` (the record's own organisation names). ``kinds`` restricts what
    is looked for (default: everything).

    This is *validation* in text (what a scan reports). Outward views scrub by shape instead:
    :func:`xinan.shapes.find_shapes`.
    """
    want: Collection[IdKind] = _ALL_KINDS if kinds is None else frozenset(kinds)
    norm = _fold_text(text)
    return resolve_overlaps(_find(text, norm, today or date.today(), names, want, orgs))


def _find(
    text: str,
    norm: str,
    today: date,
    names: Iterable[str],
    want: Collection[IdKind],
    orgs: Iterable[str],
) -> list[Found]:
    """What :func:`find_identifiers` finds, before overlaps are resolved (``norm`` is
    ``_fold_text(text)``; :mod:`xinan.shapes` adds its spans to this list)."""
    found: list[Found] = []
    if _NUMERIC_GATE_RE.search(norm) is not None:
        _find_numeric(norm, today, want, found)
    if IdKind.EMAIL in want and "@" in norm:
        for m in _EMAIL_TEXT_RE.finditer(norm):
            s, e = m.span()
            if is_valid_email(m[0]):
                found.append(Found(IdKind.EMAIL, s, e))
    if IdKind.PERSON_NAME in want:
        named: list[Found] = []
        _find_given_names(text, norm, names, named)
        _find_cued_names(norm, named)
        if named and orgs:
            spans = _org_spans(text, orgs)
            named = [f for f in named if all(f.end <= s or f.start >= e for s, e in spans)]
        found += named
    return found
