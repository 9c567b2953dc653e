"""Recognising identifiers: a whole value's kind (classify_value) and identifiers inside free text
(find_identifiers).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import date
from typing import Final

from xinan.identifiers.common import IdKind, _fold, _fold_text, _is_cjk, _words
from xinan.identifiers.names import (
    _AMBIGUOUS_SURNAMES,
    _COMPOUND_SURNAMES,
    _DOTTED_NAME_RE,
    _NAME_DOTS,
    _NAME_STOP_CHARS,
    _NAME_STOP_WORDS,
    _SINGLE_SURNAMES,
    _given_ok,
    is_plausible_chinese_name,
)
from xinan.identifiers.numbers import (
    _CARD_FIRST,
    _EMAIL_TEXT_RE,
    _FIXED_PATTERN,
    _FIXED_RE,
    _RID18_RE,
    _fixed_match_ok,
    _luhn_ok,
    _mobile_digits_ok,
    _resident_id_problem,
    is_valid_bank_card,
    is_valid_email,
    is_valid_fixed_phone,
    is_valid_mobile,
    is_valid_resident_id,
    is_valid_uscc,
    resident_id_check_char,
)

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
