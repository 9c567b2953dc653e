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

import base64
import functools
import itertools
import operator
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Protocol

from xinan.errors import KeyringError, UsageError
from xinan.identifiers import (
    Found,
    IdKind,
    find_identifiers,
    is_valid_resident_id,
    is_valid_uscc,
    split_chinese_name,
)
from xinan.policy.catalogue import FieldSpec, FieldType, Policy, RecordKind, Rule, SubjectClass
from xinan.shapes import find_shapes, has_shape

# Names repeat heavily in real exports (张伟, 王芳 …): a bounded C-level cache in front of the
# name check keeps name masking near the cost of slicing. It lives only in this process's
# memory, which holds the same values anyway.
_split_name = functools.lru_cache(maxsize=1 << 16)(split_chinese_name)

Op = Callable[[str, Sequence[str]], str]
"""An operator: (value, the whole input row) → masked value. Most ignore the row."""

PSEUDONYM_PREFIX = "ps1"


class Pseudonymizer(Protocol):
    """A keyed MAC under a named key (keys.py supplies one; never a bare or salted hash)."""

    @property
    def key_id(self) -> str: ...

    def mac(self, data: bytes) -> bytes: ...


def pseudonym(key: Pseudonymizer, namespace: str, value: str) -> str:
    """``ps1.<key id>.<base32 of 128 bits of HMAC>`` over the normalised value.

    Normalisation (strip, upper-case) makes ``x``/``X`` check characters and stray spaces join;
    the namespace separates e.g. subject identifiers from other pseudonymised columns.
    """
    norm = value.strip().upper()
    mac = key.mac(b"xinan-pseudonym/1\x00" + namespace.encode() + b"\x00" + norm.encode())
    tag = base64.b32encode(mac[:16]).decode().rstrip("=").lower()
    return f"{PSEUDONYM_PREFIX}.{key.key_id}.{tag}"


# A keyed pseudonym as it is written: ps1.<key id>.<26 base32 characters>
PSEUDONYM_RE = re.compile(r"\Aps1\.xs1[a-z2-7]{1,61}\.[a-z2-7]{26}\Z")


def subject_pseudonym(identifier: str, key: Pseudonymizer, namespace: str, *, today: date) -> str:
    """The keyed pseudonym of a data subject named by an operator (the one rule for consents,
    grants, listings, objections and the subject access report): a resident ID (GB 11643) or a
    USCC (GB 32100), checked first — a mistyped number would make a pseudonym that matches no
    one, and a consent or report that silently covers nobody — or a pseudonym ``ps1.…`` made
    with ``key``, passed through. ``today`` bounds birth dates; nothing here reads the clock.

    Raises :class:`UsageError` for anything else, without repeating the value (it may be a
    mistyped but still personal number).
    """
    value = identifier.strip()
    if PSEUDONYM_RE.match(value):
        if not value.startswith(f"{PSEUDONYM_PREFIX}.{key.key_id}."):
            raise UsageError(
                "the pseudonym was made with another pseudonym key than the one given",
                hint="pass the vault's pseudonym key (--pseudonym-key), or the clear ID",
            )
        return value
    if not value:
        raise UsageError("empty subject identifier")
    if not (is_valid_resident_id(value, today=today) or is_valid_uscc(value)):
        raise UsageError(
            "the subject identifier is neither a valid resident ID number nor a valid unified "
            "social credit code (check character, birth date; the value is not shown)",
            hint="check the digits and the check character; a pseudonym ps1.… is accepted too",
        )
    return pseudonym(key, namespace, value)


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


# --------------------------------------------------------------------------------------------
# Views


@dataclass
class MaskStats:
    """What masking did, for the job summary (no values, only counts)."""

    scrubbed: int = 0  # identifiers replaced inside free text
    guarded: int = 0  # identifiers caught by the final guard scan (in the wrong column)


@dataclass(frozen=True)
class MaskContext:
    """What a view needs from outside: keys for pseudonyms and today's date (for detection)."""

    today: date
    pseudonymizers: Mapping[str, Pseudonymizer] = field(default_factory=dict)
    default_pseudonymizer: Pseudonymizer | None = None

    def pseudonymizer(self, namespace: str) -> Pseudonymizer:
        key = self.pseudonymizers.get(namespace, self.default_pseudonymizer)
        if key is None:
            raise KeyringError(
                f"the policy asks for keyed pseudonyms (namespace {namespace!r}) but no "
                "pseudonym key was given",
                hint="create one with `xinan keygen --id subject-ps --role pseudonym --suite intl`"
                " and pass --pseudonym-key subject-ps",
            )
        return key


def compile_op(
    f: FieldSpec,
    rule: Rule,
    cls: SubjectClass,
    mask: str,
    default_namespace: str,
    ctx: MaskContext,
) -> Op:
    """The operator of one rule for one field and subject class (docs/policy.md §7); ``scrub``
    needs the record's names and is compiled by its caller (:class:`View`, the batch engine)."""
    op = rule.op
    shape = _SHAPES.get(f.type)
    if op == "clear":
        return op_clear()
    if op == "redact":
        return op_redact(mask)
    if op == "keep":
        a, b = rule.int_args()
        return op_keep(a, b, mask, shape)
    if op == "mask":
        a, b = rule.int_args()
        return op_mask_range(a, b, mask, shape)
    if op == "name":
        return op_name(rule.args[0], mask, f.type, cls)
    if op in ("year", "month"):
        return op_date_part(op, mask)
    if op == "district":
        return op_district(mask)
    if op == "band":
        return op_band(rule.args, mask)
    if op == "pseudonym":
        ns = rule.args[0] if rule.args else default_namespace
        return op_pseudonym(ctx.pseudonymizer(ns), ns)
    raise UsageError(f"operator {op!r} cannot be compiled for {f.name}")  # parse_rule guards


# Types scanned by the guard; typed identifiers, dates and amounts were validated as such.
_GUARD_SKIP = frozenset({FieldType.USCC, FieldType.DATE, FieldType.AMOUNT, FieldType.INTEGER})
_GUARD_KINDS = frozenset(
    {
        IdKind.RESIDENT_ID,
        IdKind.MOBILE,
        IdKind.FIXED_PHONE,
        IdKind.BANK_CARD,
        IdKind.EMAIL,
        IdKind.DIGIT_RUN,
    }
)


def _pick_list(indices: Sequence[int]) -> Callable[[Sequence[str]], Sequence[str]]:
    return lambda row: tuple(row[j] for j in indices)


def _runner(
    ops: tuple[Op, ...], pick: Callable[[Sequence[str]], Sequence[str]]
) -> Callable[[Sequence[str]], list[str]]:
    """One closure per (view, subject class): the hot loop with nothing looked up per record."""

    def run(values: Sequence[str]) -> list[str]:
        # ops and picked columns have the same length by construction
        return [op(v, values) for op, v in zip(ops, pick(values), strict=False)]

    return run


class View:
    """One record kind as one audience sees it, compiled from the policy.

    ``apply(values)`` takes a validated row in the kind's column order and returns the output
    row (columns as in :attr:`columns`), or ``None`` when the record is withheld from this
    audience.
    """

    def __init__(self, policy: Policy, kind: RecordKind, audience: str, ctx: MaskContext):
        if audience not in policy.audiences:
            raise UsageError(
                f"unknown audience {audience!r}", hint=f"known: {', '.join(policy.audiences)}"
            )
        self.policy = policy
        self.kind = kind
        self.audience = audience
        self.ctx = ctx
        self.stats = MaskStats()
        mask = policy.settings.mask_char
        kept = [f for f in kind.fields if f.rules[audience].op != "drop"]
        self.columns: tuple[str, ...] = tuple(f.name for f in kept)
        self._indices = [kind.index(f.name) for f in kept]
        # -1 only for natural/legal kinds, whose class is fixed (policy check guarantees it)
        self._class_index = kind.index(kind.class_field) if kind.class_field else -1
        self._name_indices = [
            kind.index(f.name) for f in kind.fields if f.type in (FieldType.PERSON_NAME,)
        ]
        self._party_indices = [
            kind.index(f.name) for f in kind.fields if f.type is FieldType.PARTY_NAME
        ]
        # Organisation columns. The scrub operator reads only these three lists of the row
        # (the batch engine hands it just those values: xinan/engine/mask.py).
        self._org_indices = [
            kind.index(f.name) for f in kind.fields if f.type is FieldType.ORG_NAME
        ]
        self._withheld_classes: frozenset[SubjectClass] = frozenset(
            SubjectClass
            if audience in kind.withhold
            else (
                {SubjectClass.NATURAL}
                if audience == "public" and not policy.settings.public_natural_persons
                else set()
            )
        )
        self._plans: dict[SubjectClass, tuple[Op, ...]] = {
            cls: tuple(self._compile(f, f.rules[audience], cls, mask) for f in kept)
            for cls in SubjectClass
        }
        # Picks the kept columns at C speed; a 1-column view still gets a tuple.
        self._pick: Callable[[Sequence[str]], Sequence[str]] = (
            operator.itemgetter(*self._indices)
            if len(self._indices) > 1
            else _pick_list(self._indices)
        )
        self._runners = {cls: _runner(ops, self._pick) for cls, ops in self._plans.items()}
        self._guard = audience in policy.settings.guard_audiences
        self._guard_positions = [
            (pos, f.type is FieldType.CODE)
            for pos, f in enumerate(kept)
            if f.type not in _GUARD_SKIP
        ]
        if kind.subject == "natural":
            self._fixed_class: SubjectClass | None = SubjectClass.NATURAL
        elif kind.subject == "legal":
            self._fixed_class = SubjectClass.LEGAL
        else:
            self._fixed_class = None

    # -- compile ----------------------------------------------------------------------------
    def _compile(self, f: FieldSpec, rule: Rule, cls: SubjectClass, mask: str) -> Op:
        if rule.op == "scrub":
            return self._scrubber(rule.args[0] if rule.args else "tag", mask, cls)
        return compile_op(f, rule, cls, mask, self.policy.settings.pseudonym_namespace, self.ctx)

    def _scrubber(self, form: str, mask: str, cls: SubjectClass) -> Op:
        """The ``scrub`` operator for one text column and subject class.

        Every identifier *shape* goes (xinan.shapes). A person of the record (法定代表人, or the
        party when it is not a legal person) is shown in the text exactly as this view shows
        that person's own column: clear where the policy shows the column clear (双公示 legal
        representatives in ``public``), 张** where it masks it, the marker where the view drops
        the column. So one row never masks a name in its text and prints it in a column, nor
        the reverse (issue 11). The party's organisation name stays whole (an authority's name,
        an ``org_name``, does not begin with a person's name, so it is not looked for).
        """
        today = self.ctx.today
        stats = self.stats
        # The policy's own rules decide how a person is shown, even when the caller compiles a
        # kind with some columns dropped because they are computed elsewhere (the Spark stage
        # runs `clear`/`keep` columns as native SQL: xinan/spark/stage.py, python_kind).
        # (The batch engine hands a policy shim without kinds: xinan/engine/mask.py.)
        kinds = getattr(self.policy, "kinds", None)
        own = kinds.get(self.kind.name, self.kind) if isinstance(kinds, Mapping) else self.kind
        fields = [own.field(f.name) if f.name in own.columns else f for f in self.kind.fields]
        people: list[tuple[int, Op | None, bool]] = []  # (index, column op or None, name check)
        orgs: list[tuple[int, bool]] = []  # (index, only when not a personal name)
        for i in self._name_indices:
            people.append((i, self._column_op(fields[i], cls, mask), False))
        for i in self._party_indices:
            if cls is SubjectClass.LEGAL:
                orgs.append((i, False))
            elif cls is SubjectClass.INDIVIDUAL_BUSINESS:
                # registered under the operator's own name (a person) or a shop name (an org)
                people.append((i, self._column_op(fields[i], cls, mask), True))
                orgs.append((i, True))
            else:
                people.append((i, self._column_op(fields[i], cls, mask), False))

        def scrub(v: str, row: Sequence[str]) -> str:
            # only the record's names that occur in this text matter (and keep the cache hot)
            names: list[str] = []
            render: dict[str, str] = {}
            for i, op, check in people:
                n = row[i]
                if len(n) < 2 or n not in v:
                    continue
                n = n.strip()
                if check and not _split_name(n):
                    continue
                names.append(n)
                if op is not None:
                    shown = op(n, row)
                    if render.get(n, n) == n:
                        render[n] = shown  # two columns, two rules: the masked one wins
            org_names: list[str] = []
            for i, check in orgs:
                o = row[i]
                if len(o) >= 2 and o in v and not (check and _split_name(o)):
                    org_names.append(o.strip())
            out, c = scrub_text(
                v, today=today, names=names, orgs=org_names, form=form, mask=mask, render=render
            )
            stats.scrubbed += c
            return out

        return scrub

    def _column_op(self, f: FieldSpec, cls: SubjectClass, mask: str) -> Op | None:
        """What the policy's rule for this audience does to column ``f`` for this subject class
        (None: dropped, or free text)."""
        rule = f.rules[self.audience]
        if rule.op in {"drop", "scrub"}:
            return None
        return self._compile(f, rule, cls, mask)

    # -- apply ------------------------------------------------------------------------------
    def subject_class(self, values: Sequence[str]) -> SubjectClass:
        if self._fixed_class is not None:
            return self._fixed_class
        return self.policy.subject_classes[values[self._class_index]]

    def apply(self, values: Sequence[str], cls: SubjectClass | None = None) -> list[str] | None:
        if cls is None:
            cls = self._fixed_class or self.policy.subject_classes[values[self._class_index]]
        if cls in self._withheld_classes:
            return None
        out = self._runners[cls](values)
        if self._guard:
            self._guard_scan(out)
        return out

    def apply_batch(
        self, rows: Sequence[Sequence[str]], classes: Sequence[SubjectClass] | None = None
    ) -> list[list[str] | None]:
        """Mask many rows at once: the same result as ``[apply(r) for r in rows]``, faster.

        Works column by column (one C-level ``map`` per output column over the batch), so the
        per-record cost is close to that of hand-written slicing. ``classes`` gives each row's
        subject class when the caller already knows it (the provider's validator does).
        """
        if not rows:
            return []
        if classes is None:
            if self._fixed_class is not None:
                classes = [self._fixed_class] * len(rows)
            else:
                ci, table = self._class_index, self.policy.subject_classes
                classes = [table[r[ci]] for r in rows]
        first = classes[0]
        if all(c is first for c in classes):  # the common case: one plan for the whole batch
            groups: dict[SubjectClass, list[int]] = {first: list(range(len(rows)))}
        else:
            groups = {}
            for i, c in enumerate(classes):
                groups.setdefault(c, []).append(i)
        out: list[list[str] | None] = [None] * len(rows)
        for cls, idxs in groups.items():
            if cls in self._withheld_classes:
                continue
            sub = rows if len(idxs) == len(rows) else [rows[i] for i in idxs]
            cols = [
                list(map(op, map(operator.itemgetter(j), sub), sub))
                for op, j in zip(self._plans[cls], self._indices, strict=True)
            ]
            for i, masked in zip(idxs, zip(*cols, strict=True), strict=True):
                row_out = list(masked)
                if self._guard:
                    self._guard_scan(row_out)
                out[i] = row_out
        return out

    def _guard_scan(self, out: list[str]) -> None:
        """Last line of defence for guard audiences (docs/policy.md §2): no resident ID, phone,
        bank card or e-mail leaves in any column, whatever column it was typed into; by shape
        (xinan.shapes), except in document numbers (文号), where only what validates is taken
        out (a 16-digit traffic decision number is not a card)."""
        if not has_shape("\x1f".join(out), codes=False):
            return
        mask = self.policy.settings.mask_char
        for pos, strict in self._guard_positions:
            v = out[pos]
            if v and has_shape(v, codes=False):
                new, n = scrub_text(
                    v, today=self.ctx.today, kinds=_GUARD_KINDS, mask=mask, shapes=not strict
                )
                if n:
                    out[pos] = new
                    self.stats.guarded += n


def compile_views(
    policy: Policy, kind: RecordKind, audiences: Sequence[str], ctx: MaskContext
) -> dict[str, View]:
    return {a: View(policy, kind, a, ctx) for a in audiences}


def audiences_needing_pseudonyms(
    policy: Policy, kind: RecordKind, audiences: Sequence[str]
) -> set[str]:
    """Namespaces of the pseudonym keys these views will need (to ask for keys up front)."""
    out: set[str] = set()
    for f in kind.fields:
        for a in audiences:
            r = f.rules[a]
            if r.op == "pseudonym":
                out.add(r.args[0] if r.args else policy.settings.pseudonym_namespace)
    return out
