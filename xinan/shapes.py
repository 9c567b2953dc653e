"""Fail-closed detection of identifier *shapes* in free text, for the views that leave xinan.

This module owns one question: which spans of a free-text value look like an identifier, whatever
their check character, number plan or Luhn digit says. A resident ID with one wrong check digit
still identifies a person, and a mobile number in a block libphonenumber does not list yet
(140, 154, 16x, 174, 179, 194 …) still rings someone (issue 11). So every view that scrubs free
text (the ``scrub`` operator, docs/policy.md §7) removes every span found here; validity, decided
by :mod:`xinan.identifiers`, only chooses the *label* of the marker (``Found.valid``).

Shapes (docs/identifiers.md, "Shapes"), on text with full-width forms folded to ASCII:

* a maximal run of 12 or more ASCII digits, or 17 digits and an ``X`` (resident ID, bank card,
  legacy 15-digit ID, ``86`` + mobile; 20 digits or more: a digit run that may hold one), whatever
  letters surround it (``ID370402…``, ``订单A13812345678B``);
* 11 digits starting 1[3-9], with or without ``+86``/``0086`` and single spaces or hyphens
  anywhere between the digits;
* digit groups joined by single spaces or hyphens holding 12 digits or more (cards written
  4-4-4-4, IDs written 6-8-4, and any other grouping), unless they are dates or date ranges;
* any number of 7 or more digits after a phone cue (联系电话, 电话, 手机, 传真, Tel, Phone …),
  and each further number of a list after it (、 , / 或);
* 18 or more characters of the GB 32100 alphabet (case-insensitive) holding a digit (USCC);
* anything ``local@domain`` (e-mail), valid or not.

It does not own replacement (:mod:`xinan.masking`) or names (the name heuristic is the same as in
:func:`xinan.identifiers.find_identifiers`, which :func:`find_shapes` calls). Each detector is a
compiled regular expression plus a few comparisons, applied per value, so a column-wise engine can
call :func:`find_shapes` (or :func:`has_shape` as a cheap gate) on each value of a column.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable
from datetime import date
from typing import Any, Final

from xinan.identifiers import (
    Found,
    IdKind,
    is_valid_bank_card,
    is_valid_email,
    is_valid_fixed_phone,
    is_valid_mobile,
    is_valid_resident_id,
    is_valid_uscc,
    resolve_overlaps,
)
from xinan.identifiers.common import _fold_text
from xinan.identifiers.detect import (
    _ALL_KINDS,
    _NAME_CUES,
    _PRIORITY,
    _classify_run,
    _find,
    _rid_shaped,
)

__all__ = ["find_shapes", "has_shape", "maybe_shaped"]

# Cheap gate: no numeric shape without 6 digits in a row, two digits joined by a separator or a
# parenthesis ((0632)1234567), and no e-mail without an @. Most free text (处罚依据, 处罚内容)
# fails it at the cost of one C-level search.
_GATE_RE: Final = re.compile(r"[0-9]{6}|[0-9][ -][0-9]|[0-9]\)|@")

# Maximal digit runs: 17 digits + X (resident ID), or 11 and more digits. No boundary on
# letters: an identifier glued to letters (ID370402…) is still one.
_RUN_RE: Final = re.compile(r"(?<![0-9])(?:[0-9]{17}[Xx]|[0-9]{11,})(?![0-9])")
# 11 digits from 1[3-9], with an optional +86 / 0086 / 86 prefix and single separators anywhere.
_MOBILE_RE: Final = re.compile(
    r"(?<![0-9])(?:(?:\+|00)86[ -]?|86[ -])?1[3-9](?:[ -]?[0-9]){9}(?![0-9])"
)
# Digit groups joined by single spaces or hyphens, taken whole (maximal): cards written
# 4-4-4-4, IDs written 6-8-4, and anything else of 12 digits or more. Whether a grouping is an
# identifier is decided in code (_grouped_kind), not by the exact grouping: a mistyped grouping
# must not let the digits through.
_GROUPED_RE: Final = re.compile(r"(?<![0-9])[0-9]+(?:[ -][0-9]+)+[Xx]?(?![0-9])")
# Dates and date ranges are the only long digit groupings that free text needs to keep:
# 2023-05-01, 20230501-20230630, 2023-05-01 2023-06-30.
_DATES_RE: Final = re.compile(
    r"(?:(?:19|20)[0-9]{2}(?:-[01]?[0-9]-[0-3]?[0-9]|[01][0-9][0-3][0-9]))"
    r"(?:[ -](?:19|20)[0-9]{2}(?:-[01]?[0-9]-[0-3]?[0-9]|[01][0-9][0-3][0-9]))*"
)
# A phone cue and the number after it, then further numbers of a list.
_PHONE_CUE_RE: Final = re.compile(
    r"(?:联系电话|联系方式|联系号码|电话号码|手机号码|手机号|移动电话|固定电话|办公电话|电话|手机|"
    r"座机|固话|传真|(?:telephone|tel|phone|mobile|mob|fax)(?![A-Za-z]))"
    r"[.:：]?[ ]*(?:为|是|号码)?[:：]?[ ]*",
    re.IGNORECASE,
)
_NUMBER_RE: Final = re.compile(r"[+(]?[0-9]+(?:(?:[ -]|\)[ -]?|[ -]?\()[0-9]+)*")
_LIST_SEP_RE: Final = re.compile(r"[ ]*(?:[、,，/;；]|或|和|及)[ ]*")
# 18 and more characters of the GB 32100 alphabet (no I O S V Z), at least one of them a digit.
_USCC_RE: Final = re.compile(r"[0-9A-HJ-NP-RTUWXY]{18,}", re.IGNORECASE)
# local@domain, loosely: what an e-mail address looks like, valid or not.
_EMAIL_RE: Final = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*")

_MOBILE_FIRST: Final = frozenset("3456789")
_LONG_DIGITS_RE: Final = re.compile(r"[0-9]{12,}[Xx]?")


def _digits(s: str) -> str:
    return "".join(c for c in s if "0" <= c <= "9")


def _run_kind(run: str, today: date) -> tuple[IdKind, bool] | None:
    """The label of a maximal digit run (or 17 digits + X), or None if it is no shape."""
    n = len(run)
    if n == 11:
        if run[0] == "1" and run[1] in _MOBILE_FIRST:
            return IdKind.MOBILE, is_valid_mobile(run)
        return None
    strict = _classify_run(run, today)
    if strict is not None:
        return strict, True
    if n == 18 and (run[-1] in "Xx" or _rid_shaped(run, today)):
        return IdKind.RESIDENT_ID, False  # region and birth date of an ID, wrong check character
    if n <= 19 and is_valid_bank_card(run):
        return IdKind.BANK_CARD, True
    if n in (15, 18):
        return IdKind.RESIDENT_ID, False
    if n == 13 and run.startswith("861") and run[3] in _MOBILE_FIRST:
        return IdKind.MOBILE, False
    if n <= 19:
        return IdKind.BANK_CARD, False
    return IdKind.DIGIT_RUN, False


def _grouped_kind(span: str, today: date) -> tuple[IdKind, bool] | None:
    """The label of a digit grouping (``370403 19900101 1234``), or None if it is no shape."""
    d = _digits(span) + ("X" if span[-1] in "Xx" else "")
    n = len(d)
    if n < 12 or _DATES_RE.fullmatch(span) is not None or _MOBILE_RE.fullmatch(span):
        return None  # mobiles (+86 included) are _MOBILE_RE's; fewer digits are no identifier
    if n in (15, 18) and is_valid_resident_id(d, today=today):
        return IdKind.RESIDENT_ID, True
    if n <= 19 and is_valid_bank_card(span):
        return IdKind.BANK_CARD, True
    if n in (15, 18) and span[6:7] in (" ", "-"):  # grouped 6-… as IDs are written
        return IdKind.RESIDENT_ID, False
    if n <= 19:
        return IdKind.BANK_CARD, False
    return IdKind.DIGIT_RUN, False


def _cued_kind(span: str) -> tuple[IdKind, bool]:
    if is_valid_mobile(span):
        return IdKind.MOBILE, True
    if is_valid_fixed_phone(span):
        return IdKind.FIXED_PHONE, True
    d = _digits(span)
    if d[-11:-10] == "1" and len(d) in (11, 13):
        return IdKind.MOBILE, False
    return IdKind.FIXED_PHONE, False


def _numeric_shapes(norm: str, today: date, out: list[Found]) -> None:
    for m in _RUN_RE.finditer(norm):
        label = _run_kind(m[0], today)
        if label is not None:
            out.append(Found(label[0], m.start(), m.end(), label[1]))
    for m in _MOBILE_RE.finditer(norm):
        out.append(Found(IdKind.MOBILE, m.start(), m.end(), is_valid_mobile(m[0])))
    for m in _GROUPED_RE.finditer(norm):
        label = _grouped_kind(m[0], today)
        if label is not None:
            out.append(Found(label[0], m.start(), m.end(), label[1]))
    for cue in _PHONE_CUE_RE.finditer(norm):
        pos = cue.end()
        while (num := _NUMBER_RE.match(norm, pos)) is not None:
            if len(_digits(num[0])) < 7:  # 电话2次, 手机1部: no number
                break
            kind, valid = _cued_kind(num[0])
            out.append(Found(kind, num.start(), num.end(), valid))
            sep = _LIST_SEP_RE.match(norm, num.end())
            if sep is None:
                break
            pos = sep.end()


def _uscc_piece(v: str, start: int, out: list[Found]) -> None:
    if len(v) < 18 or v.isalpha() or v.isdigit():
        return  # letters only: a word; digits only: a digit run, labelled above
    out.append(Found(IdKind.USCC, start, start + len(v), len(v) == 18 and is_valid_uscc(v)))


def _text_shapes(norm: str, today: date, out: list[Found]) -> None:
    if _GATE_RE.search(norm) is not None:
        _numeric_shapes(norm, today, out)
    # A code shape is 18 or more characters in a row that _USCC_RE matches: ASCII ones, and
    # (IGNORECASE) the Kelvin sign U+212A, the only other character it matches. A text with
    # fewer of them in all has none, and counting them is ten times cheaper than the scan
    # (most free text is Chinese with a date or two).
    if len(norm) >= 18 and len(norm.encode("ascii", "ignore")) + norm.count("\u212a") >= 18:
        for m in _USCC_RE.finditer(norm):
            # A digit run of 12 or more inside is scrubbed (and labelled) above; what is left on
            # either side of it is a code shape only if it is itself 18 characters or more.
            pos = 0
            for d in _LONG_DIGITS_RE.finditer(m[0]):
                _uscc_piece(m[0][pos : d.start()], m.start() + pos, out)
                pos = d.end()
            _uscc_piece(m[0][pos:], m.start() + pos, out)
    if "@" in norm:
        for m in _EMAIL_RE.finditer(norm):
            out.append(Found(IdKind.EMAIL, m.start(), m.end(), is_valid_email(m[0])))


# has_shape's gates on unfolded text: the same tests with full-width digits, letters and signs.
_WIDE_GATE_RE: Final = re.compile(
    "[0-9０-９]{6}|[0-9０-９][- －\u3000][0-9０-９]|[0-9０-９][)）]|[@＠]"
)
_WIDE_USCC_RE: Final = re.compile(
    "[0-9A-HJ-NP-RTUWXYa-hj-np-rtuwxy０-９Ａ-ＨＪ-ＮＰ-ＲＴＵＷ-Ｙａ-ｈｊ-ｎｐ-ｒｔｕｗ-ｙ]{18,}"
)


def has_shape(text: str, *, codes: bool = True) -> bool:
    """Cheap gate for column-wise engines: False means :func:`find_shapes` can find only
    names in ``text`` (no 6 digits in a row, no digit-separator-digit, no ``digit)``, no ``@``
    and, unless ``codes`` is False, no 18-character code). No folding: full-width forms count."""
    if _WIDE_GATE_RE.search(text) is not None:
        return True
    return codes and len(text) >= 18 and _WIDE_USCC_RE.search(text) is not None


# The same gates as RE2 patterns for Arrow compute (docs/engine.md §1): one C++ pass over a
# whole column tells which values need the scalar scan at all. The patterns are has_shape's own
# character classes (RE2 and Python's re agree on literal classes and bounded repeats), and, for
# scrubbing, the name cues the name heuristic starts from (xinan.identifiers._NAME_CUES).
_VEC_GATE: Final = _WIDE_GATE_RE.pattern
_VEC_CODES: Final = "(?:" + _WIDE_USCC_RE.pattern + ")"
_VEC_CUES: Final = "(?:" + "|".join(_NAME_CUES) + ")"


def maybe_shaped(values: Any, *, codes: bool = True, cues: bool = False) -> Any:
    """For each value of a pyarrow string array, whether :func:`has_shape` (with ``codes``)
    may be true — or, with ``cues``, whether the name heuristic may find a name after a cue.

    A superset, never a subset: where this is False, ``has_shape(v, codes=codes)`` is False
    and (with ``cues``) :func:`find_shapes` can find only the names it is given. So a
    column-wise engine runs the scalar scan only where this is True and stays fail-closed.
    Returns a numpy bool array (a null value is False: it is empty).
    """
    import numpy as np
    import pyarrow.compute as pc

    pattern = _VEC_GATE
    if codes:
        pattern += "|" + _VEC_CODES
    if cues:
        pattern += "|" + _VEC_CUES
    hit = pc.fill_null(pc.match_substring_regex(values, pattern), False)
    return np.asarray(hit.to_numpy(zero_copy_only=False), dtype=bool)


def find_shapes(
    text: str,
    *,
    today: date,
    names: Iterable[str] = (),
    orgs: Iterable[str] = (),
    kinds: Collection[IdKind] | None = None,
) -> list[Found]:
    """Every span of ``text`` shaped like an identifier, and the personal names the name
    heuristic finds (``names`` and ``orgs`` as in :func:`xinan.identifiers.find_identifiers`).

    Non-overlapping, sorted by start, offsets into the original ``text``. ``Found.valid`` says
    whether the span validates as its kind (label only: a caller that publishes text removes
    every span, valid or not). ``kinds`` keeps only those kinds, before overlaps are resolved
    (so a kind left out never hides one asked for).
    """
    want = _ALL_KINDS if kinds is None else frozenset(kinds)
    norm = _fold_text(text)
    found = _find(text, norm, today, names, want, orgs)
    _text_shapes(norm, today, found)
    if kinds is not None:
        found = [f for f in found if f.kind in want]
    return _covering(found)


def _covering(found: list[Found]) -> list[Found]:
    """Overlapping spans merged into one, labelled by the span :func:`resolve_overlaps` keeps.

    Scrubbing fails closed: a span that loses to a longer one it overlaps must still be removed
    (a code shape glued to a card number, 00000000000A00000R0000 0000 …, kept the code in clear
    when only the winner was scrubbed). A merged span is shape-only unless it is the winner's."""
    kept = resolve_overlaps(list(found))
    if len(kept) == len(found):
        return kept
    spans: list[list[Found]] = []
    for f in sorted(found, key=lambda f: f.start):
        if spans and f.start < max(g.end for g in spans[-1]):
            spans[-1].append(f)
        else:
            spans.append([f])
    out: list[Found] = []
    for group in spans:
        start, end = group[0].start, max(g.end for g in group)
        # the span resolve_overlaps ranks first: longest, then valid, then by kind priority
        best = min(group, key=lambda f: (f.start - f.end, not f.valid, _PRIORITY[f.kind], f.start))
        same = (best.start, best.end) == (start, end)
        out.append(best if same else Found(best.kind, start, end, valid=False))
    return out


# Staff-typed text the vault stores, prints and logs (reasons, references, commitments, the
# reason of a destruction certificate) is refused — not scrubbed, so that the person who typed
# it takes the number out — when it holds a subject's identifier, by shape as everywhere else.
# A USCC is allowed: it is an organisation's public code (GB 32100-2015), named on 双公示.
_STAFF_TEXT_REFUSED: Final = {
    IdKind.RESIDENT_ID: "resident ID",
    IdKind.MOBILE: "mobile",
    IdKind.BANK_CARD: "bank card",
    IdKind.DIGIT_RUN: "long digit run",
}


def clear_identifier_kind(text: str, *, today: date) -> str | None:
    """The kind of subject identifier ``text`` holds — a resident ID, mobile or bank card
    number, or a long digit run that may be one, valid or not — if any; never the value. The
    one rule for staff text (docs/lifecycle.md §5, docs/destruction.md §3)."""
    for f in find_shapes(text, today=today):
        label = _STAFF_TEXT_REFUSED.get(f.kind)
        if label is not None:
            return label
    return None
