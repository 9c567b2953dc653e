"""Native Spark SQL masks give exactly what xinan.masking gives, value for value."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from xinan.masking import op_keep, op_mask_range, op_redact
from xinan.policy import FieldType
from xinan.spark.masks import NativeRule, native_rule, native_sql

SHAPE_ID = frozenset({15, 18})
RULES = [
    NativeRule("v", "keep", (1, 1), None, "*"),
    NativeRule("v", "keep", (6, 4), SHAPE_ID, "*"),
    NativeRule("v", "keep", (3, 4), frozenset({11}), "*"),
    NativeRule("v", "keep", (0, 0), None, "*"),
    NativeRule("v", "keep", (2, 0), None, "#"),
    NativeRule("v", "mask", (4, 7), frozenset({11}), "*"),
    NativeRule("v", "mask", (1, 3), None, "*"),
    NativeRule("v", "mask", (7, 14), SHAPE_ID, "×"),
    NativeRule("v", "redact", (), None, "*"),
    NativeRule("v", "clear", (), None, "*"),
]
EDGE = [
    "",
    "1",
    "12",
    "张",
    "张三",
    "11010519491231002X",
    "440524188001010014",
    "13812345678",
    "6222021234567890123",
    "a'b\\c",
    "𠀀𠀁𠀂𠀃𠀄",
    "抱歉，这是一段较长的中文文本",
    "12345678901",
]


def _python(rule: NativeRule):
    if rule.op == "keep":
        return op_keep(*rule.args, rule.mask, rule.shape)
    if rule.op == "mask":
        return op_mask_range(*rule.args, rule.mask, rule.shape)
    if rule.op == "redact":
        return op_redact(rule.mask)
    return lambda v, row: v


def _spark_apply(spark, values: list[str]) -> list[list[str]]:
    df = spark.createDataFrame([(i, v) for i, v in enumerate(values)], "i long, v string")
    cols = [f"{native_sql(r, 'v')} AS m{j}" for j, r in enumerate(RULES)]
    rows = df.selectExpr("i", *cols).orderBy("i").collect()
    return [[row[f"m{j}"] for j in range(len(RULES))] for row in rows]


def _check(spark, values: list[str]) -> None:
    got = _spark_apply(spark, values)
    for v, row in zip(values, got, strict=True):
        for rule, out in zip(RULES, row, strict=True):
            assert out == _python(rule)(v, ()), (rule, v)


def test_native_masks_edges(spark):
    _check(spark, EDGE)


@settings(max_examples=4, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(st.text(min_size=0, max_size=24), min_size=50, max_size=120))
def test_native_masks_property(spark, values):
    _check(spark, values)


def test_guard_audience_keeps_python_for_long_runs(policy):
    """In a guard audience, a rule that could leave 7 digits in a row stays in Python."""
    kind = policy.kind("penalty")
    f = kind.field("法定代表人证件号码")
    assert f.type is FieldType.ID_NUMBER
    assert native_rule(policy, f, "public") is not None  # keep(1,1): at most 1 clear digit
    # clear text of a non-skipped type in the public view: the guard must see it
    name = kind.field("行政相对人名称")
    assert native_rule(policy, name, "public") is None


@pytest.mark.parametrize("mask", ["'", "\\"])
def test_mask_char_is_quoted(spark, mask):
    rule = NativeRule("v", "keep", (1, 1), None, mask)
    got = spark.sql(f"SELECT {native_sql(rule, 'v')} AS m FROM VALUES ('abcdef') AS t(v)").first()
    assert got["m"] == op_keep(1, 1, mask)("abcdef", ())
