"""Pure positional masks as native Spark SQL expressions (docs/spark.md §4).

Owns: deciding which (field, audience) rules run inside the JVM as Spark SQL, and building
those expressions with the same fail-closed branches as :mod:`xinan.masking` (a value too
short for its rule, or not of its type's shape, is masked whole and never passed through).

Does not own: what the rules mean (:mod:`xinan.masking` is the reference; the tests compare
the two value by value), validation (values reaching these expressions were validated and
normalised by the engine stage), anything keyed (pseudonyms, sealing) or free-text scrubbing,
which stay in the engine stage.

Why native: a Spark SQL substring runs in generated JVM code at millions of rows a second,
with no round trip through Python; only what needs Python pays for it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from xinan.masking.operators import _SHAPES
from xinan.policy import FieldSpec, FieldType, Policy, Rule

if TYPE_CHECKING:
    from pyspark.sql import Column

__all__ = [
    "GUARD_SKIP",
    "NativeRule",
    "compile_native",
    "native_plan",
    "native_rule",
    "native_sql",
]

NATIVE_OPS = frozenset({"clear", "redact", "keep", "mask"})
# Types the guard scan of xinan.masking skips (validated as such): their clear values may be
# computed natively even in a guard audience.
GUARD_SKIP = frozenset({FieldType.USCC, FieldType.DATE, FieldType.AMOUNT, FieldType.INTEGER})
# xinan.masking's guard (View._guard_scan over xinan.shapes) acts on a value of a guard
# audience that holds an identifier *shape*: 11+ digits (with or without separators), a phone cue
# and 7+ digits, 18 characters of the USCC alphabet, or anything ``x@y``. A native mask is safe
# when no kept run of characters can hold one: every kept run shorter than 7 characters between
# masked ones (no digit, cue or USCC shape fits), and, unless the type cannot hold an ``@`` once
# validated, shorter than 3 (``a@b`` is the shortest e-mail shape). The mask character itself
# must not be part of a shape (a letter or digit mask could build a USCC or digit run).
_NAME_TYPES = frozenset({FieldType.PERSON_NAME, FieldType.PARTY_NAME})
_GUARD_RUN = 7
_EMAIL_RUN = 3
_NO_AT = frozenset(
    {
        FieldType.RESIDENT_ID,
        FieldType.ID_NUMBER,
        FieldType.USCC,
        FieldType.MOBILE,
        FieldType.PHONE,
        FieldType.BANK_CARD,
    }
)
_UNSAFE_MASK = frozenset("@-() ._%+\t")


def _safe_mask(mask: str) -> bool:
    return len(mask) == 1 and not mask.isalnum() and mask not in _UNSAFE_MASK


@dataclass(frozen=True)
class NativeRule:
    """One (field, audience) rule that runs as Spark SQL."""

    field: str
    op: str
    args: tuple[int, ...]
    shape: frozenset[int] | None
    mask: str


def _max_kept_run(rule: Rule, shape: frozenset[int] | None) -> int | None:
    """The longest run of clear characters the rule can leave, or None if unbounded."""
    if rule.op == "redact":
        return 0
    if rule.op == "keep":
        a, b = rule.int_args()
        return max(a, b)
    if rule.op == "mask":
        start, end = rule.int_args()
        if shape is None:
            return None  # the suffix after `end` grows with the value
        return max(start - 1, max(shape) - end)
    return None  # clear: the whole value


def native_rule(policy: Policy, f: FieldSpec, audience: str) -> NativeRule | None:
    """The native form of ``f``'s rule for ``audience``, or None if it must run in Python.

    Native: clear, redact, keep and mask — except where the guard audiences' last-line scan
    (xinan.masking ``View._guard_scan``) could act on the output, since that scan is Python.
    """
    rule = f.rules[audience]
    if rule.op not in NATIVE_OPS:
        return None
    if f.type in _NAME_TYPES:
        # a scrubbed text shows the record's people as this view shows their own columns
        # (xinan.masking View._scrubber): the Python view needs those columns' rules
        return None
    mask = policy.settings.mask_char
    if not _safe_mask(mask):
        return None
    shape = _SHAPES.get(f.type)
    if audience in policy.settings.guard_audiences and f.type not in GUARD_SKIP:
        run = _max_kept_run(rule, shape)
        if run is None or run >= _GUARD_RUN:
            return None
        if run >= _EMAIL_RUN and f.type not in _NO_AT:
            return None
    args = rule.int_args() if rule.op in ("keep", "mask") else ()
    return NativeRule(f.name, rule.op, args, shape, mask)


def _ident(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


def _str_lit(s: str) -> str:
    return "'" + s.replace("\\", "\\\\").replace("'", "\\'") + "'"


def native_sql(rule: NativeRule, column: str) -> str:
    """The Spark SQL text of ``rule`` over ``column`` (a non-null string column).

    Mirrors xinan.masking ``op_keep``/``op_mask_range``/``op_redact`` branch for branch.
    Spark's ``length`` and ``substring`` count code points, as Python's ``len`` and slices do.
    Plain SQL (no DataFrame-only functions) so that it runs on Spark 3.3 and can be pasted into
    a SQL-first team's own queries (``xinan spark sql`` prints it).
    """
    c = _ident(column)
    n = f"length({c})"
    m = _str_lit(rule.mask)
    whole = f"repeat({m}, {n})"
    if rule.op == "clear":
        return c
    if rule.op == "redact":
        return whole
    shape = (
        f" OR {n} NOT IN ({', '.join(str(x) for x in sorted(rule.shape))})"
        if rule.shape is not None
        else ""
    )
    if rule.op == "keep":
        first, last = rule.args
        hidden = f"({n} - {first} - {last})"
        return (
            f"CASE WHEN {hidden} * 3 < {n}{shape} THEN {whole} "
            f"ELSE concat(substring({c}, 1, {first}), repeat({m}, {hidden}), "
            f"substring({c}, {n} - {last} + 1, {last})) END"
        )
    if rule.op == "mask":
        start, end = rule.args
        lo = start - 1
        hi = f"least({end}, {n})"
        hidden = f"({hi} - {lo})"
        return (
            f"CASE WHEN {hidden} * 3 < {n} OR {hidden} <= 0{shape} THEN {whole} "
            f"ELSE concat(substring({c}, 1, {lo}), repeat({m}, {hidden}), "
            f"substring({c}, {hi} + 1)) END"
        )
    raise ValueError(f"not a native operator: {rule.op}")  # native_rule guards


def compile_native(rule: NativeRule, column: str) -> Column:
    """:func:`native_sql` as a Spark Column."""
    from pyspark.sql import functions as F

    return F.expr(native_sql(rule, column))


def native_plan(
    policy: Policy, fields: Sequence[FieldSpec], audience: str
) -> dict[str, NativeRule]:
    """field name → native rule, for the fields of ``audience``'s view that run natively."""
    out: dict[str, NativeRule] = {}
    for f in fields:
        if f.rules[audience].op == "drop":
            continue
        r = native_rule(policy, f, audience)
        if r is not None:
            out[f.name] = r
    return out
