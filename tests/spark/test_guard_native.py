"""A rule compiled to native SQL in a guard audience leaves nothing for the guard to do.

xinan.masking's guard scan (Python, over xinan.shapes) is skipped for natively masked columns;
that is exact only if the guard never changes what such a rule outputs. Checked here over rules
and field types drawn at random (hypothesis), on values of an alphabet rich in the characters
of identifier shapes: whenever ``native_rule`` says "native", the guard must be a no-op."""

from __future__ import annotations

import dataclasses

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import TODAY
from xinan.masking import op_keep, op_mask_range, op_redact, scrub_text
from xinan.masking.views import _GUARD_KINDS
from xinan.policy import FieldType, Rule
from xinan.shapes import has_shape
from xinan.spark.masks import _NO_AT, GUARD_SKIP, native_rule

# values are built from pieces of identifier shapes, so that short kept runs meet them often
PIECES = [
    "x@y",
    "a@b.c",
    "@",
    "a",
    "b.c",
    "13812345678",
    "电话1234567",
    "1",
    "8",
    "13",
    "138",
    "1234",
    "56789",
    "-",
    " ",
    "(",
    ")",
    "+86",
    "电话",
    "tel:",
    "X",
    "A9",
    "3704",
    "张",
    "某",
    "*",
    "_",
    ".",
]
SCANNED = sorted(t for t in FieldType if t not in GUARD_SKIP)


def _python_op(r):
    if r.op == "keep":
        return op_keep(*r.args, r.mask, r.shape)
    if r.op == "mask":
        return op_mask_range(*r.args, r.mask, r.shape)
    if r.op == "redact":
        return op_redact(r.mask)
    return lambda v, row: v


rules = st.one_of(
    st.tuples(st.just("keep"), st.integers(0, 14), st.integers(0, 14)),
    st.tuples(st.just("mask"), st.integers(1, 12), st.integers(1, 24)).filter(
        lambda t: t[2] >= t[1]
    ),
    st.just(("redact",)),
    st.just(("clear",)),
)


@settings(max_examples=600, deadline=None)
@given(ftype=st.sampled_from(SCANNED), rule=rules, data=st.data())
def test_guard_is_a_no_op_on_native_outputs(policy, ftype, rule, data):
    base = policy.kind("penalty").fields[0]
    f = dataclasses.replace(
        base, type=ftype, rules={**base.rules, "public": Rule(rule[0], tuple(map(str, rule[1:])))}
    )
    r = native_rule(policy, f, "public")
    if r is None:
        return  # stays in Python, guard included
    pieces = [p for p in PIECES if "@" not in p] if ftype in _NO_AT else PIECES
    # kept characters sit at the ends: put a piece of a shape at each end
    piece = st.sampled_from(pieces)
    middle = st.lists(piece, min_size=1, max_size=12)
    v = data.draw(piece) + "".join(data.draw(middle)) + data.draw(piece)
    out = _python_op(r)(v, ())
    if has_shape(out):
        new, n = scrub_text(out, today=TODAY, kinds=_GUARD_KINDS, mask=r.mask)
        assert n == 0 and new == out, (ftype, r, v, out)


def test_some_guard_rules_are_native(policy):
    f = policy.kind("penalty").field("法定代表人证件号码")
    assert native_rule(policy, f, "public") is not None  # keep(1,1) on a validated ID


SHAPES = [
    "x@y",
    "a@b.cn",
    "13812345678",
    "+86 138-1234-5678",
    "电话1234567",
    "tel:88881234",
    "370403199001011234",
    "6222021234567890",
    "91370403MA3C1234X5",
    "1234-5678-9012",
]


def test_guard_is_a_no_op_on_native_outputs_grid(policy):
    """The same, exhaustively: every keep/mask rule up to 14 characters, every scanned type,
    a shape at the front and at the back of values of many lengths."""
    base = policy.kind("penalty").fields[0]
    rules = [("keep", a, b) for a in range(15) for b in range(15)]
    rules += [("mask", s, e) for s in range(1, 13) for e in range(s, 25)]
    checked = 0
    for ftype in SCANNED:
        shapes = [x for x in SHAPES if "@" not in x] if ftype in _NO_AT else SHAPES
        values = [a + "中" * k + b for a in shapes for b in shapes[:3] for k in (1, 8, 20)]
        for rule in rules:
            f = dataclasses.replace(
                base,
                type=ftype,
                rules={**base.rules, "public": Rule(rule[0], tuple(map(str, rule[1:])))},
            )
            r = native_rule(policy, f, "public")
            if r is None:
                continue
            op = _python_op(r)
            for v in values:
                out = op(v, ())
                if has_shape(out):
                    new, n = scrub_text(out, today=TODAY, kinds=_GUARD_KINDS, mask=r.mask)
                    assert n == 0 and new == out, (ftype, r, v, out)
                checked += 1
    assert checked > 1000
