"""Identifier shapes in free text (xinan/shapes.py, docs/identifiers.md "Shapes"): what is a
shape and how it is labelled, what is not, and the name/organisation rules shapes share with
find_identifiers (issue 11)."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import TODAY
from xinan.identifiers import IdKind, find_identifiers, resident_id_check_char
from xinan.shapes import find_shapes, has_shape

RID = "11010519491231002X"  # GB 11643-1999's own example
RID_BAD = "110105194912310021"
CARD = "6222021234567890128"  # Luhn-valid
CARD_BAD = "6222021234567890127"


def spans(text: str, **kw) -> list[tuple[str, bool, str]]:
    return [
        (f.kind.value, f.valid, text[f.start : f.end]) for f in find_shapes(text, today=TODAY, **kw)
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"身份证号{RID}。", [("resident_id", True, RID)]),
        (f"身份证号{RID_BAD}。", [("resident_id", False, RID_BAD)]),
        (f"身份证号{RID.lower()}。", [("resident_id", True, RID.lower())]),
        ("证号110105491231002，", [("resident_id", True, "110105491231002")]),
        ("编号123456789012345，", [("resident_id", False, "123456789012345")]),
        (f"ID{RID}ABC", [("resident_id", True, RID)]),
        ("110105 19491231 002X", [("resident_id", True, "110105 19491231 002X")]),
        ("110105-1949-1231-0021", [("resident_id", False, "110105-1949-1231-0021")]),
        ("电话13812345678。", [("mobile", True, "13812345678")]),
        ("电话14012345678。", [("mobile", False, "14012345678")]),
        ("号码19412345678", [("mobile", False, "19412345678")]),
        ("+86 154 1234 5678", [("mobile", False, "+86 154 1234 5678")]),
        ("0086-16412345678", [("mobile", False, "0086-16412345678")]),
        ("订单A13912345678B", [("mobile", True, "13912345678")]),
        ("13812345678.50元", [("mobile", True, "13812345678")]),
        ("联系电话00012345678", [("fixed_phone", False, "00012345678")]),
        ("联系电话：0632-1234567", [("fixed_phone", True, "0632-1234567")]),
        (
            "电话(0632)1234567、8123456",
            [("fixed_phone", True, "(0632)1234567"), ("fixed_phone", False, "8123456")],
        ),
        ("Tel: 12012345678", [("mobile", False, "12012345678")]),
        (f"卡号{CARD}", [("bank_card", True, CARD)]),
        (f"卡号{CARD_BAD}", [("bank_card", False, CARD_BAD)]),
        ("卡号6222 0212 3456 7890 128", [("bank_card", True, "6222 0212 3456 7890 128")]),
        ("卡号6222 0212 3456 7890 127", [("bank_card", False, "6222 0212 3456 7890 127")]),
        ("账户1234567890123456789012", [("digit_run", False, "1234567890123456789012")]),
        ("邮箱zhang.san@qq.com。", [("email", True, "zhang.san@qq.com")]),
        ("邮箱zhang@qq，", [("email", False, "zhang@qq")]),
        ("代码91370400MA3C12345Y。", [("uscc", False, "91370400MA3C12345Y")]),
        ("全角１３８１２３４５６７８", [("mobile", True, "１３８１２３４５６７８")]),
    ],
)
def test_shapes_and_labels(text: str, expected: list[tuple[str, bool, str]]) -> None:
    assert spans(text) == expected


def test_valid_uscc_is_labelled() -> None:
    text = "统一社会信用代码91350100M000100Y43"
    assert spans(text) == [("uscc", True, "91350100M000100Y43")]


@pytest.mark.parametrize(
    "text",
    [
        "罚款人民币5000元，没收违法所得1200.50元",
        "于2023-05-01至2023-06-30期间，20230501-20230630",
        "2023-05-01 2023-06-30",
        "枣市监罚〔2024〕123号",
        "电话联系了当事人，手机1部，电话2次",
        "第1234567号",  # 7 digits, no cue
        "编号06321234567",  # 11 digits from 0, no cue: not a shape (a valid landline is found)
        "internationalization",
        "ABCDEFGHJKLMNPQRTU",  # letters only: a word
    ],
)
def test_not_shapes(text: str) -> None:
    got = spans(text)
    assert all(valid for _, valid, _ in got), got  # at most what validates


def test_has_shape_gate() -> None:
    assert not has_shape("当事人某某公司于2024年5月3日在某地销售过期食品。")
    for s in ("13812345678", "138 1234 5678", "(0632)1234567", "a@b", "91370400MA3C12345Y"):
        assert has_shape(s), s


@settings(max_examples=300, deadline=None)
@given(
    body=st.text("0123456789", min_size=17, max_size=17),
    last=st.sampled_from("0123456789Xx"),
    left=st.sampled_from(["", "，", "号码", "A", " "]),
    right=st.sampled_from(["", "。", "号", "b", " "]),
)
def test_every_18_character_id_shape_is_found(body: str, last: str, left: str, right: str) -> None:
    """Check character right or wrong, the span covers the whole value; validity only labels."""
    v = body + last
    text = f"当事人{left}{v}{right}经查"
    got = find_shapes(text, today=TODAY)
    at = text.index(v)
    assert any(f.start <= at and at + 18 <= f.end for f in got), (text, got)
    valid = last.upper() == resident_id_check_char(body)
    if not valid:
        assert not any(f.kind is IdKind.RESIDENT_ID and f.valid for f in got)


@settings(max_examples=300, deadline=None)
@given(
    prefix=st.sampled_from(["140", "146", "149", "154", "160", "164", "168", "174", "179", "194"]),
    tail=st.text("0123456789", min_size=8, max_size=8),
    sep=st.sampled_from(["", " ", "-"]),
)
def test_every_mobile_shape_is_found(prefix: str, tail: str, sep: str) -> None:
    v = f"{prefix}{sep}{tail[:4]}{sep}{tail[4:]}"
    text = f"联系方式{v}，"
    got = find_shapes(text, today=TODAY)
    assert [(text[f.start : f.end]) for f in got] == [v]


# -- names and organisations (shared with find_identifiers) ------------------------------------


def names(text: str, **kw) -> list[str]:
    return [
        text[f.start : f.end]
        for f in find_identifiers(text, today=TODAY, **kw)
        if f.kind is IdKind.PERSON_NAME
    ]


@pytest.mark.parametrize(
    ("text", "given", "expected"),
    [
        ("当事人郑十一有限公司法定代表人郑十一到场", ["郑十一"], ["郑十一"]),
        ("当事人张三五金店于2024年", ["张三"], []),
        ("当事人张三经营食品店，", [], ["张三"]),
        ("当事人王五食品加工销售有限公司", [], []),
        ("当事人华成育卓网络有限公司于", [], []),
        ("当事人张三系某某有限公司员工", [], ["张三"]),
        ("当事人张三店内销售", [], ["张三"]),
        ("股东张三、李四有限公司", [], ["张三"]),
        ("法定代表人张三丰收了", ["张三"], ["张三丰"]),  # the longer span: fail closed
    ],
)
def test_names_and_organisations(text: str, given: list[str], expected: list[str]) -> None:
    assert names(text, names=given) == expected


def test_record_organisations_are_protected_exactly() -> None:
    text = "当事人张三汽车销售服务有限公司，法定代表人张三"
    assert names(text, names=["张三"]) == ["张三汽", "张三"]  # heuristic: 销售 breaks the clause
    got = names(text, names=["张三"], orgs=["张三汽车销售服务有限公司"])
    assert got == ["张三"]


def test_overlapping_shapes_are_all_covered() -> None:
    """A code shape glued to a card-number shape: the longer card span used to win the overlap
    and the code stayed in clear (found by test_identifier_shapes_never_survive_in_public).
    Every character of both shapes is inside a span find_shapes returns."""
    code, card = "00000000000A00000R", "0000 0000 0000 0000 000"
    text = f"当事人于市中区，{code}{card}，刘路371号"
    spans = find_shapes(text, today=TODAY)
    covered = {i for f in spans for i in range(f.start, f.end)}
    start = text.index(code)
    assert set(range(start, start + len(code) + len(card))) <= covered
    assert all(a.end <= b.start for a, b in itertools.pairwise(spans))


# -- the vector prefilter (maybe_shaped) is a superset of the scalar scan -----------------------

_PIECES = st.sampled_from(
    ["0", "1", "9", "０", "５", "-", "－", " ", "\u3000", ")", "）", "@", "＠", "X", "a", "Ａ",
     "当事人", "法定代表人", "张三", "，", "年", "号", "13812345678", RID, CARD,
     "91350100M000100Y43"]
)  # fmt: skip


@settings(max_examples=400, deadline=None)
@given(st.lists(st.one_of(_PIECES, st.text(max_size=3)), max_size=12).map("".join))
def test_maybe_shaped_is_a_superset_of_the_scalar_scan(text: str) -> None:
    """Where the Arrow prefilter says no, the scalar scan finds nothing (fail closed): no shape
    for the guard (codes=False), and nothing but given names for scrubbing (codes, cues)."""
    import pyarrow as pa

    from xinan.shapes import maybe_shaped

    arr = pa.array([text])
    if not maybe_shaped(arr, codes=False)[0]:
        assert not has_shape(text, codes=False)
    if not maybe_shaped(arr, codes=True, cues=True)[0]:
        assert not has_shape(text)
        assert find_shapes(text, today=TODAY) == [], text


@pytest.mark.parametrize(
    "code",
    [
        "91370400MA3C8X1W2K",  # ASCII
        "91370400MA3C8X1W2\u212a",  # a Kelvin sign: the code pattern matches it (IGNORECASE)
        "9\u212a" * 9,  # 9 ASCII characters: found only because Kelvin signs count
    ],
)
def test_code_shapes_behind_the_ascii_count_gate_are_found(code: str) -> None:
    """The code scan is skipped when a text holds fewer than 18 characters the pattern can
    match; a code made of ASCII and Kelvin signs (the only other match) is still found."""
    text = f"当事人在枣庄市办理，代码{code}，经查证属实。"
    spans = [text[f.start : f.end] for f in find_shapes(text, today=TODAY)]
    assert code in spans
