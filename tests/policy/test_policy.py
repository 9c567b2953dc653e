"""The catalogue policy: the shipped default is valid, and every class of mistake is named
with its line and place (issue 3, part 3)."""

from __future__ import annotations

import re

import pytest

from tests.conftest import POLICY_FILE
from xinan.errors import PolicyError
from xinan.policy.catalogue import (
    FieldType,
    check_policy_text,
    default_policy_path,
    load_policy,
    load_policy_text,
    parse_rule,
)

TEXT = POLICY_FILE.read_text(encoding="utf-8")


def _edit_field(text: str, kind: str, name: str, old: str, new: str) -> str:
    """Replace ``old`` with ``new`` inside one field block of one kind."""
    head = f'[[kind.{kind}.field]]\nname = "{name}"\n'
    start = text.index(head)
    end = text.find("[[kind.", start + len(head))
    block = text[start:end]
    assert old in block, (old, block)
    return text[:start] + block.replace(old, new, 1) + text[end:]


def _problems(text: str) -> list[str]:
    _, problems = check_policy_text(text, "p.toml")
    return [p.render("p.toml") for p in problems if p.severity == "error"]


def _line_of(text: str, needle: str, after: str) -> int:
    start = text.index(after)
    return text[: text.index(needle, start)].count("\n") + 1


def test_shipped_policy_is_valid(policy):
    assert policy.id == "credit-default"
    assert set(policy.kinds) == {"penalty", "license", "person", "company"}
    assert not policy.settings.public_natural_persons  # 山东省社会信用条例 第二十条
    _, problems = check_policy_text(TEXT, "x")
    assert [p for p in problems if p.severity == "error"] == []


def test_package_data_is_the_shipped_policy():
    assert default_policy_path().read_bytes() == POLICY_FILE.read_bytes()
    assert load_policy(None).label == load_policy(POLICY_FILE).label


def test_penalty_layout_has_the_double_publicity_columns(policy):
    cols = policy.kind("penalty").columns
    for c in (
        "行政相对人名称",
        "行政相对人类别",
        "统一社会信用代码",
        "法定代表人",
        "证件类型",
        "证件号码",
        "违法事实",
        "处罚内容",
        "罚款金额",
        "处罚决定日期",
        "处罚机关",
    ):
        assert c in cols


def test_every_field_is_classified_and_has_every_audience(policy):
    for kind in policy.kinds.values():
        for f in kind.fields:
            assert f.category in policy.categories and f.grade in policy.grades
            assert set(f.rules) == set(policy.audiences)
            if f.sensitive:
                assert f.personal and f.sealed and f.grade >= 3


def test_unclassified_field_is_named_with_its_line():
    bad = _edit_field(TEXT, "penalty", "罚款金额", 'category = "case.amount"\n', "")
    errors = _problems(bad)
    line = _line_of(bad, '[[kind.penalty.field]]\nname = "罚款金额"', "[kind.penalty]")
    assert any(
        e.startswith(f"p.toml:{line}: error: kind.penalty.field[")
        and "(罚款金额)" in e
        and "unclassified field: no category" in e
        for e in errors
    ), errors


def test_unknown_type_is_named():
    bad = _edit_field(TEXT, "penalty", "罚款金额", 'type = "amount"', 'type = "money"')
    errors = _problems(bad)
    line = _line_of(bad, 'type = "money"', "[kind.penalty]")
    assert any(f"p.toml:{line}:" in e and ".type: unknown type 'money'" in e for e in errors), (
        errors
    )


def test_sensitive_field_in_clear_in_public_is_refused():
    bad = _edit_field(TEXT, "penalty", "证件号码", 'public = "drop"', 'public = "clear"')
    errors = _problems(bad)
    line = _line_of(bad, 'public = "clear"', 'name = "证件号码"')
    assert any(
        f"p.toml:{line}:" in e and "证件号码).public: would leave a sensitive field in clear" in e
        for e in errors
    ), errors


def test_free_text_in_clear_in_public_is_refused():
    bad = _edit_field(TEXT, "penalty", "违法事实", 'public = "scrub"', 'public = "clear"')
    assert any("违法事实).public: free text in clear in public" in e for e in _problems(bad))


def test_missing_audience_is_named():
    bad = _edit_field(TEXT, "company", "住所", 'querent = "clear"\n', "")
    assert any("住所): missing rule for audience 'querent'" in e for e in _problems(bad))
    bad = TEXT.replace(
        'audiences = ["public", "gov_share", "querent", "internal", "submission"]',
        'audiences = ["public", "gov_share", "querent", "internal"]',
    )
    assert any("required audience 'submission' is missing" in e for e in _problems(bad))


def test_prohibited_field_in_catalogue_is_refused():
    bad = _edit_field(TEXT, "person", "学历", 'name = "学历"', 'name = "血型"')
    assert any("血型 is prohibited data" in e for e in _problems(bad))


def test_sensitive_field_must_be_sealed():
    bad = _edit_field(TEXT, "person", "手机号码", "sealed = true\n", "")
    assert any(
        "手机号码).sealed: sensitive personal information must be sealed" in e
        for e in _problems(bad)
    )


def test_operator_must_fit_the_type():
    bad = _edit_field(TEXT, "penalty", "罚款金额", 'internal = "clear"', 'internal = "district"')
    assert any("district does not apply to a amount field" in e for e in _problems(bad))


def test_all_problems_are_reported_at_once():
    bad = _edit_field(TEXT, "penalty", "罚款金额", 'type = "amount"', 'type = "money"')
    bad = _edit_field(bad, "penalty", "证件号码", 'public = "drop"', 'public = "clear"')
    bad = _edit_field(bad, "company", "住所", 'querent = "clear"\n', "")
    assert len(_problems(bad)) == 3


def test_unknown_top_level_key_and_wrong_format():
    bad = "settingz = 1\n" + TEXT.replace('format = "xinan-policy/2"', 'format = "xinan-policy/9"')
    errors = _problems(bad)
    assert any("format must be 'xinan-policy/2'" in e for e in errors)
    assert any("unknown top-level key 'settingz'" in e for e in errors)


def test_invalid_toml_names_the_line():
    _, problems = check_policy_text('format = "xinan-policy/1"\nid = \n', "p.toml")
    assert problems and problems[0].line == 2


def test_load_raises_policy_error_listing_problems():
    bad = _edit_field(TEXT, "penalty", "罚款金额", 'type = "amount"', 'type = "money"')
    with pytest.raises(PolicyError) as exc:
        load_policy_text(bad, "p.toml")
    assert "unknown type 'money'" in exc.value.message and exc.value.hint


@pytest.mark.parametrize(
    ("text", "op", "args"),
    [
        ("clear", "clear", ()),
        ("keep(6,4)", "keep", ("6", "4")),
        (" keep( 1 , 1 ) ", "keep", ("1", "1")),
        ("name(mou)", "name", ("mou",)),
        ("band(1,10,100)", "band", ("1", "10", "100")),
        ("pseudonym(subject)", "pseudonym", ("subject",)),
        ("scrub(mask)", "scrub", ("mask",)),
    ],
)
def test_parse_rule(text, op, args):
    r = parse_rule(text)
    assert (r.op, r.args) == (op, args)


@pytest.mark.parametrize(
    "text",
    [
        "keep(6)",
        "keep(a,b)",
        "mask(3,1)",
        "mask(0,2)",
        "name(x)",
        "band(10,1)",
        "nope",
        "keep(1,2",
        "scrub(x)",
    ],
)
def test_parse_rule_rejects(text):
    with pytest.raises(ValueError):
        parse_rule(text)


def test_field_lookup_by_name_or_key(policy):
    k = policy.kind("penalty")
    assert k.field("fine_amount").name == "罚款金额"
    assert k.field("罚款金额").type is FieldType.AMOUNT
    assert re.fullmatch(r"[a-z_]+", k.field("证件号码").key)


def test_format_1_without_lifecycle_tables_still_reads():
    """A /1 policy (no life-cycle tables) is read; /2 requires them."""
    start = TEXT.index("[disclosure]")
    end = TEXT.index("# " + "-" * 94 + "\n# 行政处罚")
    v1 = TEXT[:start].replace('format = "xinan-policy/2"', 'format = "xinan-policy/1"') + TEXT[end:]
    pol = load_policy_text(v1, "v1.toml")
    assert pol.lifecycle is None and set(pol.kinds) == {"penalty", "license", "person", "company"}
    v2_without = v1.replace('format = "xinan-policy/1"', 'format = "xinan-policy/2"')
    assert any("disclosure" in e for e in _problems(v2_without))


def test_lifecycle_problems_are_named_with_their_line():
    bad = TEXT.replace("audit_log_days = 184", "audit_log_days = 90")
    errors = _problems(bad)
    line = bad[: bad.index("audit_log_days = 90")].count("\n") + 1
    assert any(
        e.startswith(f"p.toml:{line}:") and "retention.audit_log_days" in e for e in errors
    ), errors
