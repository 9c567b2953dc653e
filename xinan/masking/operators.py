"""Masking operators: each factory returns an Op that fails closed (a value of the wrong shape is
masked whole), and free-text scrubbing.
"""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import date
from decimal import Decimal, InvalidOperation

from xinan.identifiers import (
    Found,
    IdKind,
    find_identifiers,
    split_chinese_name,
)
from xinan.masking.pseudonyms import Pseudonymizer, pseudonym
from xinan.policy.catalogue import FieldType, SubjectClass
from xinan.shapes import find_shapes

# Names repeat heavily in real exports (张伟, 王芳 …): a bounded C-level cache in front of the
# name check keeps name masking near the cost of slicing. It lives only in this process's
# memory, which holds the same values anyway.
_split_name = functools.lru_cache(maxsize=1 << 16)(split_chinese_name)

Op = Callable[[str, Sequence[str]], str]
"""An operator: (value, the whole input row) → masked value. Most ignore the row."""


# --------------------------------------------------------------------------------------------
# Operators. Each factory returns an Op; each Op returns "" for "" (nothing to hide).

# Type shapes for keep/mask, as allowed lengths: a value outside them is masked whole (fail
# closed). Full validation happened before masking (xinan.provider.jobs); this is the cheap net.
_SHAPES: dict[FieldType, frozenset[int]] = {
    FieldType.RESIDENT_ID: frozenset({15, 18}),
    FieldType.MOBILE: frozenset({11}),
    FieldType.BANK_CARD: frozenset(range(12, 20)),
    FieldType.USCC: frozenset({18}),
}


def op_clear() -> Op:
    return lambda v, row: v


def op_redact(mask: str) -> Op:
    return lambda v, row: mask * len(v)


def op_keep(first: int, last: int, mask: str, shape: frozenset[int] | None = None) -> Op:
    """Keep the first ``first`` and last ``last`` characters (code points).

    Fail closed: mask whole when fewer than a third of the characters (rounded up) would be
    hidden, or when the value does not have its type's shape.
    """

    def keep(v: str, row: Sequence[str]) -> str:
        n = len(v)
        hidden = n - first - last
        if hidden * 3 < n:
            return mask * n
        return v[:first] + mask * hidden + v[n - last :]

    def keep_shaped(v: str, row: Sequence[str]) -> str:
        n = len(v)
        hidden = n - first - last
        if hidden * 3 < n or n not in shape:  # type: ignore[operator]  # shape is set here
            return mask * n
        return v[:first] + mask * hidden + v[n - last :]

    return keep if shape is None else keep_shaped


def op_mask_range(start: int, end: int, mask: str, shape: frozenset[int] | None = None) -> Op:
    """Mask characters ``start``..``end`` (1-based, inclusive), with the same fail-closed rule."""

    def mask_range(v: str, row: Sequence[str]) -> str:
        n = len(v)
        lo, hi = start - 1, min(end, n)
        hidden = hi - lo
        if hidden * 3 < n or hidden <= 0 or (shape is not None and n not in shape):
            return mask * n
        return v[:lo] + mask * hidden + v[hi:]

    return mask_range


def mask_name(v: str, form: str, mask: str) -> str:
    """张三丰 → 张** (stars) or 张某 (mou); compound surnames kept whole; not a name → masked."""
    if not v:
        return v
    parts = split_chinese_name(v)
    if parts is None:
        if _is_masked_name(v, mask):
            return v  # already 张** / 张某: masking a masked view changes nothing
        return mask * len(v)
    surname, given = parts
    return surname + ("某" if form == "mou" else mask * len(given))


def _is_masked_name(v: str, mask: str) -> bool:
    head = v.rstrip(mask)
    if head.endswith("某") and head == v:
        head = v[:-1]
    elif head == v:
        return False
    return 1 <= len(head) <= 2 and all("\u4e00" <= ch <= "\u9fff" for ch in head)


def op_name(form: str, mask: str, ftype: FieldType, cls: SubjectClass) -> Op:
    if ftype is FieldType.PARTY_NAME and cls is SubjectClass.LEGAL:
        return op_clear()  # an organisation's name is not a person's
    if ftype is FieldType.PARTY_NAME and cls is SubjectClass.INDIVIDUAL_BUSINESS:
        # an individual business is often registered under the operator's own name
        def business(v: str, row: Sequence[str]) -> str:
            return mask_name(v, form, mask) if split_chinese_name(v) else v

        return business
    mou = form == "mou"

    def name(v: str, row: Sequence[str]) -> str:
        parts = _split_name(v) if v else None
        if parts is None:
            return mask_name(v, form, mask)  # empty, already masked, or not a name: fail closed
        return parts[0] + ("某" if mou else mask * len(parts[1]))

    return name


_DATE_RE = re.compile(r"^(\d{4})(?:[-/.年]?(\d{1,2})(?:[-/.月]?(\d{1,2})日?)?)?$")


def op_date_part(part: str, mask: str) -> Op:
    def date_part(v: str, row: Sequence[str]) -> str:
        if not v:
            return v
        m = _DATE_RE.match(v.strip())
        # A full date generalises; an already generalised YYYY or YYYY-MM stays as it is.
        if not m:
            return mask * len(v)
        year, month = m.group(1), m.group(2)
        if part == "year":
            return year
        if month is None or not 1 <= int(month) <= 12:
            return mask * len(v)
        return f"{year}-{int(month):02d}"

    return date_part


# Province (incl. municipalities and autonomous regions), prefecture, county-level unit.
# A county segment never contains street-level characters, so a cut can never reach
# into the street address; no county-level boundary found → the address is masked whole.
_STREET = "路街道号村镇乡巷弄组栋楼室幢单元0-9０-９"
_DISTRICT_RE = re.compile(
    rf"^((?:[^{_STREET}]{{2,7}}?(?:省|自治区))?"
    rf"(?:[^{_STREET}]{{1,9}}?(?:市|自治州|地区|盟))?"
    rf"(?:[^{_STREET}]{{1,9}}?(?:区|县|旗|市)))"
)


def op_district(mask: str) -> Op:
    def district(v: str, row: Sequence[str]) -> str:
        if not v:
            return v
        m = _DISTRICT_RE.match(v.strip())
        if not m:
            return mask * len(v)
        return m.group(1)  # the whole value when it is already a district

    return district


def _fmt_edge(e: Decimal) -> str:
    return format(e.normalize(), "f")


def op_band(edges: Sequence[str], mask: str) -> Op:
    bounds = [Decimal(e) for e in edges]
    labels = [f"<{_fmt_edge(bounds[0])}"]
    labels += [f"{_fmt_edge(a)}-{_fmt_edge(b)}" for a, b in itertools.pairwise(bounds)]
    labels.append(f">={_fmt_edge(bounds[-1])}")

    def band(v: str, row: Sequence[str]) -> str:
        if not v:
            return v
        try:
            x = Decimal(v.strip().replace(",", ""))
        except InvalidOperation:
            return mask * len(v)
        if not x.is_finite():
            return mask * len(v)
        i = 0
        while i < len(bounds) and x >= bounds[i]:
            i += 1
        return labels[i]

    return band


def op_pseudonym(key: Pseudonymizer, namespace: str) -> Op:
    return lambda v, row: pseudonym(key, namespace, v) if v else v


# Scrub markers. Validity only chooses the label: a span shaped like an identifier is removed
# whether or not its check character, number plan or Luhn digit holds (xinan.shapes, issue 11);
# "疑似" (suspected) marks one that does not validate.
_TAGS: dict[tuple[IdKind, bool], str] = {
    (IdKind.RESIDENT_ID, True): "〔已脱敏:身份证号〕",
    (IdKind.RESIDENT_ID, False): "〔已脱敏:疑似身份证号〕",
    (IdKind.USCC, True): "〔已脱敏:统一社会信用代码〕",
    (IdKind.USCC, False): "〔已脱敏:疑似统一社会信用代码〕",
    (IdKind.MOBILE, True): "〔已脱敏:手机号〕",
    (IdKind.MOBILE, False): "〔已脱敏:疑似手机号〕",
    (IdKind.FIXED_PHONE, True): "〔已脱敏:电话〕",
    (IdKind.FIXED_PHONE, False): "〔已脱敏:疑似电话〕",
    (IdKind.BANK_CARD, True): "〔已脱敏:银行卡号〕",
    (IdKind.BANK_CARD, False): "〔已脱敏:疑似银行卡号〕",
    (IdKind.EMAIL, True): "〔已脱敏:电子邮箱〕",
    (IdKind.EMAIL, False): "〔已脱敏:疑似电子邮箱〕",
    (IdKind.PERSON_NAME, True): "〔已脱敏:姓名〕",
    (IdKind.PERSON_NAME, False): "〔已脱敏:姓名〕",
    (IdKind.DIGIT_RUN, True): "〔已脱敏:长数字串〕",
    (IdKind.DIGIT_RUN, False): "〔已脱敏:长数字串〕",
}
# Kinds scrubbed from free text: all of them. A USCC is an organisation's public code, but an
# 18-character code in free text may as well be a mistyped resident ID or an individual
# business's code; the subject's own USCC has its column.
SCRUB_KINDS = frozenset(IdKind)


def _masked_form(kind: IdKind, v: str, mask: str) -> str:
    n = len(v)
    if kind is IdKind.PERSON_NAME:
        return mask_name(v, "stars", mask)
    if kind is IdKind.RESIDENT_ID:
        return v[:1] + mask * (n - 2) + v[-1:]
    if kind is IdKind.MOBILE:
        return v[:3] + mask * (n - 7) + v[-4:] if n >= 11 else mask * n
    if kind is IdKind.BANK_CARD:
        return mask * (n - 4) + v[-4:]
    if kind is IdKind.EMAIL:
        local, _, domain = v.partition("@")
        return local[:1] + mask * max(len(local) - 1, 1) + "@" + domain
    if kind is IdKind.DIGIT_RUN:
        return mask * n
    return v[:2] + mask * max(n - 4, 1) + v[-2:] if n > 6 else mask * n


def _find_spans(
    text: str,
    names: tuple[str, ...],
    orgs: tuple[str, ...],
    today: date,
    shapes: bool,
    kinds: frozenset[IdKind],
) -> tuple[Found, ...]:
    if shapes:
        return tuple(find_shapes(text, today=today, names=names, orgs=orgs, kinds=kinds))
    return tuple(find_identifiers(text, today=today, names=names, orgs=orgs, kinds=kinds))


# Detection is the costly part of scrubbing; the same text is scrubbed for several audiences
# and short texts (处罚依据 …) repeat across rows, so spans are cached (bounded: at most
# 16,384 texts, in this process's memory only) and rendered per form.
_find_cached = functools.lru_cache(maxsize=1 << 14)(_find_spans)


def scrub_text(
    text: str,
    *,
    today: date,
    names: Sequence[str] = (),
    form: str = "tag",
    mask: str = "*",
    kinds: frozenset[IdKind] = SCRUB_KINDS,
    orgs: Sequence[str] = (),
    render: Mapping[str, str] | None = None,
    shapes: bool = True,
) -> tuple[str, int]:
    """Replace identifiers in free text; return the new text and how many were replaced.

    With ``shapes`` (the default, and what every view's ``scrub`` uses) every span *shaped*
    like an identifier is replaced (:func:`xinan.shapes.find_shapes`), valid or not: validity
    only picks the marker's label. ``shapes=False`` replaces only what validates (the guard's
    scan of non-text columns). ``names`` are the record's own people, ``orgs`` its organisations
    (names inside them stay whole). ``render`` maps a person's name to what this view shows in
    that person's own column, so that the text says the same (``{"张三": "张**"}``; a name the
    view shows in clear stays in clear); other names get the marker or masked form.
    """
    if not text:
        return text, 0
    found = _find_cached(text, tuple(names), tuple(orgs), today, shapes, kinds)
    if not found:
        return text, 0
    out: list[str] = []
    pos = 0
    n = 0
    for f in found:
        v = text[f.start : f.end]
        out.append(text[pos : f.start])
        if render is not None and f.kind is IdKind.PERSON_NAME and v in render:
            shown = render[v]
        elif form == "tag":
            shown = _TAGS[f.kind, f.valid]
        else:
            shown = _masked_form(f.kind, v, mask)
        out.append(shown)
        n += shown != v
        pos = f.end
    out.append(text[pos:])
    return "".join(out), n
