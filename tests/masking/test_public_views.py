"""Public views fail closed by shape (issue 11, build item 1; docs/identifiers.md "Shapes",
docs/policy.md §7).

Regressions for each finding of issue 11 ("Public views leak"), property tests over identifier
shapes planted anywhere in free text, names handled the same way in every column and in the
text of one row, organisation names kept whole, and the same check end to end through
``xinan mask --audience public`` and the platform's ``vault disclose --audience public``.
"""

from __future__ import annotations

import csv
import dataclasses
import functools
import random
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import POLICY_FILE, TODAY, FixedPseudonymKey, cli_workplace
from tests.support.reference import Validator
from xinan.cli import app
from xinan.identifiers import (
    bank_card_check_digit,
    is_valid_mobile,
    resident_id_check_char,
    uscc_check_char,
)
from xinan.identifiers.names import _AMBIGUOUS_SURNAMES, _COMPOUND_SURNAMES, _SINGLE_SURNAMES
from xinan.masking import MaskContext, View
from xinan.policy import Policy, Rule, SubjectClass, load_policy
from xinan.provider.synth import Synth
from xinan.shapes import find_shapes

# Prefixes libphonenumber's CN metadata does not list (new, unallocated or data-only blocks):
# the 65 numbers of 300 that issue 11 saw published came from these.
UNLISTED = ("140", "141", "144", "146", "148", "149", "154", "160", "161", "163", "164", "168",
            "169", "174", "179", "194")  # fmt: skip
TEXT_COLUMNS = ("违法事实", "处罚内容", "违法行为类型", "处罚依据", "处罚类别")
LEGAL = "法人及非法人组织"
BUSINESS = "个体工商户"


@functools.cache
def shipped() -> Policy:
    """The shipped policy (a plain cache, not a fixture: hypothesis prints fixture values)."""
    return load_policy(POLICY_FILE)


@functools.cache
def synth_rows() -> tuple[list[str], ...]:
    """Validated penalty rows of legal persons and individual businesses (the ones public sees)."""
    policy = shipped()
    kind = policy.kind("penalty")
    v = Validator(policy, kind, today=TODAY)
    out = []
    for vals, _ in Synth(policy, seed=5, today=TODAY).rows(kind, 200):
        r = v.check(vals)
        if r.subject_class is not SubjectClass.NATURAL:
            out.append(list(r.values))
    return tuple(out)


@pytest.fixture()
def rows() -> tuple[list[str], ...]:
    return synth_rows()


def views(policy: Policy) -> dict[str, View]:
    ctx = MaskContext(today=TODAY, default_pseudonymizer=FixedPseudonymKey())
    kind = policy.kind("penalty")
    return {a: View(policy, kind, a, ctx) for a in policy.audiences}


def public_view(policy: Policy) -> View:
    return views(policy)["public"]


def set_col(policy: Policy, row: list[str], col: str, value: str) -> list[str]:
    out = list(row)
    out[policy.kind("penalty").index(col)] = value
    return out


def legal_row(policy: Policy, rows: list[list[str]]) -> list[str]:
    idx = policy.kind("penalty").index("行政相对人类别")
    return next(r for r in rows if r[idx] == LEGAL)


def apply(view: View, row: list[str]) -> dict[str, str]:
    out = view.apply(row)
    assert out is not None
    return dict(zip(view.columns, out, strict=True))


# -- regressions: each finding of issue 11 fails on the code before the fix ------------------


def _wrong_check(rid: str) -> str:
    good = resident_id_check_char(rid[:17])
    return rid[:17] + ("0" if good != "0" else "1")


def test_wrong_check_digit_id_in_facts_is_not_published(policy, rows):
    """Issue 11: an 18-digit resident ID with one wrong check digit inside 违法事实 was
    published in clear in the public view."""
    synth = Synth(policy, seed=3, today=TODAY)
    view = public_view(policy)
    for i in range(20):
        bad = _wrong_check(synth.resident_id())
        row = legal_row(policy, rows[i:])
        facts = row[policy.kind("penalty").index("违法事实")] + f"当事人身份证号码{bad}。"
        out = apply(view, set_col(policy, row, "违法事实", facts))
        assert bad not in "\x1f".join(out.values())
        assert "〔已脱敏:疑似身份证号〕" in out["违法事实"]


def _unlisted_mobiles(n: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    out: list[str] = []
    while len(out) < n:
        m = rng.choice(UNLISTED) + f"{rng.randrange(10**8):08d}"
        if not is_valid_mobile(m):  # only numbers the validator refuses: the old leak
            out.append(m)
    return out


@pytest.mark.parametrize("cue", ["联系电话", "", "手机：", "Tel "])
def test_300_unlisted_mobiles_none_survives(policy, rows, cue):
    """Issue 11: of 300 mobile numbers in unlisted prefixes planted after 联系电话, 65 came out
    in clear. Now none may, with or without a phone cue before them."""
    view = public_view(policy)
    row = legal_row(policy, rows)
    facts0 = row[policy.kind("penalty").index("违法事实")]
    survived = []
    for m in _unlisted_mobiles(300, seed=len(cue)):
        out = apply(view, set_col(policy, row, "违法事实", f"{facts0}{cue}{m}。"))
        if m in out["违法事实"]:
            survived.append(m)
    assert survived == []


def test_names_in_text_follow_their_columns(policy, rows):
    """Issue 11: names were scrubbed in 违法事实 but printed in 法定代表人 of the same public
    row. A person of the record is now shown in the text as this view shows their column."""
    row = legal_row(policy, rows)
    row = set_col(policy, row, "法定代表人", "郑十一")
    row = set_col(policy, row, "违法事实", "法定代表人郑十一到场接受调查，郑十一承认违法事实。")
    got = {a: apply(v, row) for a, v in views(policy).items()}
    for a, out in got.items():
        shown = out.get("法定代表人")
        if shown is None:  # the column is dropped: the name goes from the text as well
            assert "郑十一" not in out["违法事实"], a
        else:
            assert out["违法事实"].count(shown) == 2, (a, out["违法事实"])
    # the shipped policy: public shows legal representatives (双公示), internal masks them
    assert got["public"]["法定代表人"] == "郑十一"
    assert got["internal"]["违法事实"] == "法定代表人郑**到场接受调查，郑**承认违法事实。"


def test_company_named_after_a_person_is_kept_whole(policy, rows):
    """Issue 11: 郑十一有限公司 became 当事人〔已脱敏:姓名〕有限公司."""
    row = legal_row(policy, rows)
    row = set_col(policy, row, "行政相对人名称", "郑十一有限公司")
    row = set_col(policy, row, "法定代表人", "郑十一")
    text = "当事人郑十一有限公司于2024年3月5日销售过期食品，法定代表人郑十一到场。"
    row = set_col(policy, row, "违法事实", text)
    for a, v in views(policy).items():
        out = apply(v, row)
        assert "当事人郑十一有限公司于" in out["违法事实"], (a, out["违法事实"])
    internal = apply(views(policy)["internal"], row)["违法事实"]
    assert internal.endswith("法定代表人郑**到场。")


def test_person_running_a_shop_is_not_a_shop():
    """The old organisation rule took 张三经营食品店 for a shop's name and left 张三 in clear."""
    for text in (
        "当事人张三经营食品店，",
        "当事人张三销售过期食品给李四超市",
        "当事人张三任某某有限公司经理",
    ):
        at = text.index("张三")
        assert any(
            f.kind.value == "person_name" and f.start <= at and at + 2 <= f.end
            for f in find_shapes(text, today=TODAY)
        ), text
    for text in (
        "当事人张三五金店于",
        "当事人华成育卓网络有限公司于",
        "当事人王五食品加工销售有限公司",
    ):
        assert find_shapes(text, today=TODAY) == [], text


def test_uscc_shapes_and_emails_are_scrubbed(policy, rows):
    body = "91370400MA3C1234"
    uscc = body + "5" + uscc_check_char(body + "5")
    row = legal_row(policy, rows)
    wrong = uscc[:-1] + ("0" if uscc[-1] != "0" else "1")
    text = f"关联企业{uscc}，另{wrong}，邮箱zhang.san@qq.com、li@x"
    out = apply(public_view(policy), set_col(policy, row, "违法事实", text))["违法事实"]
    assert "〔已脱敏:统一社会信用代码〕" in out and "〔已脱敏:疑似统一社会信用代码〕" in out
    assert "〔已脱敏:电子邮箱〕" in out and "〔已脱敏:疑似电子邮箱〕" in out
    assert "91370400" not in out and "@" not in out


def test_guard_scrubs_shapes_typed_into_other_columns(policy, rows):
    """The public guard scan works by shape in every guarded column (an unlisted mobile and a
    wrong-check ID in 处罚机关), but keeps a long decision number (文号) that does not validate."""
    bad = _wrong_check("11010519491231002X")
    row = legal_row(policy, rows)
    row = set_col(policy, row, "处罚机关", f"枣庄市市场监督管理局A14012345678BCDEFGH{bad}")
    row = set_col(policy, row, "行政处罚决定书文号", "3704021234567890")
    view = public_view(policy)
    out = apply(view, row)
    assert "14012345678" not in out["处罚机关"] and bad not in out["处罚机关"]
    assert out["行政处罚决定书文号"] == "3704021234567890"
    assert view.stats.guarded == 2


def test_names_follow_the_policy_when_a_column_is_computed_elsewhere(policy, rows):
    """The Spark stage compiles a view with its native-SQL columns dropped (python_kind); the
    text still shows the legal representative as the policy's rule for the column does."""
    kind = policy.kind("penalty")
    pk = dataclasses.replace(
        kind,
        fields=tuple(
            dataclasses.replace(f, rules={**f.rules, "public": Rule("drop")})
            if f.name == "法定代表人"
            else f
            for f in kind.fields
        ),
    )
    row = set_col(policy, legal_row(policy, rows), "法定代表人", "郑十一")
    row = set_col(policy, row, "违法事实", "法定代表人郑十一到场。")
    view = View(policy, pk, "public", MaskContext(today=TODAY))
    out = apply(view, row)
    assert "法定代表人" not in out and out["违法事实"] == "法定代表人郑十一到场。"


# -- property tests -----------------------------------------------------------------------------

DIGITS = "0123456789"
_FULL = str.maketrans(DIGITS + "Xx", "０１２３４５６７８９Ｘｘ")


@st.composite
def rid_shapes(draw: st.DrawFn) -> str:
    body = draw(st.text(DIGITS, min_size=17, max_size=17))
    good = resident_id_check_char(body)
    last = draw(st.sampled_from([good, *DIGITS, "X", "x"]))
    if draw(st.booleans()):
        return body[:15]  # a legacy 15-digit shape
    if draw(st.booleans()):  # as people group them: 6-8-4
        return f"{body[:6]} {body[6:14]} {body[14:]}{last}"
    return body + last


@st.composite
def mobile_shapes(draw: st.DrawFn) -> str:
    m = "1" + draw(st.sampled_from("3456789")) + draw(st.text(DIGITS, min_size=9, max_size=9))
    form = draw(st.sampled_from(["plain", "344", "dash", "+86", "0086"]))
    return {
        "plain": m,
        "344": f"{m[:3]} {m[3:7]} {m[7:]}",
        "dash": f"{m[:3]}-{m[3:7]}-{m[7:]}",
        "+86": f"+86 {m}",
        "0086": f"0086{m}",
    }[form]


@st.composite
def cued_numbers(draw: st.DrawFn) -> str:
    cue = draw(st.sampled_from(["联系电话", "电话", "手机", "手机号码：", "Tel:", "TEL ", "传真"]))
    return cue + draw(st.text(DIGITS, min_size=11, max_size=11))


@st.composite
def card_shapes(draw: st.DrawFn) -> str:
    n = draw(st.integers(12, 19))
    body = draw(st.text(DIGITS, min_size=n - 1, max_size=n - 1))
    v = body + (
        bank_card_check_digit(body) if draw(st.booleans()) else draw(st.sampled_from(DIGITS))
    )
    if draw(st.booleans()) and n >= 16:
        v = " ".join(v[i : i + 4] for i in range(0, n, 4))
    return v


@st.composite
def uscc_shapes(draw: st.DrawFn) -> str:
    alphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    body = draw(st.text(alphabet, min_size=17, max_size=17).filter(lambda s: not s.isdigit()))
    last = draw(st.sampled_from([uscc_check_char(body), *alphabet]))
    return body + last


@st.composite
def emails(draw: st.DrawFn) -> str:
    word = st.text("abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=8)
    return f"{draw(word)}@{draw(word)}" + draw(st.sampled_from(["", ".com", ".cn", ".gov.cn"]))


shapes = st.one_of(rid_shapes(), mobile_shapes(), cued_numbers(), card_shapes(), uscc_shapes(),
                   emails())  # fmt: skip
# What may stand next to a planted value: CJK, punctuation, space, or nothing at all
# (then not a digit: 2024 glued to a number makes a longer number, which is scrubbed anyway).
edges = st.sampled_from(["", "，", "。", " ", "的", "号", "（", "）", ":", "A", "、"])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 10**6),
    planted=st.lists(
        st.tuples(shapes, st.booleans(), st.integers(0, 10**4), edges, edges),
        min_size=1,
        max_size=4,
    ),
    column=st.sampled_from(TEXT_COLUMNS),
)
def test_identifier_shapes_never_survive_in_public(seed, planted, column):
    """Random identifier-shaped strings, valid or not, ASCII or full-width, planted anywhere in
    any free-text column, never come out of the public view."""
    policy, rows = shipped(), synth_rows()
    row = random.Random(seed).choice(rows)
    i = policy.kind("penalty").index(column)
    text = row[i]
    wrote = []
    for p, full, where, left, right in planted:
        if full:
            p = p.translate(_FULL)
        pos = where % (len(text) + 1)
        if not left and pos > 0 and text[pos - 1].isdigit():
            left = "，"
        if not right and pos < len(text) and text[pos].isdigit():
            right = "，"
        text = text[:pos] + left + p + right + text[pos:]
        wrote.append(p)
    out = public_view(policy).apply(set_col(policy, row, column, text[:1000]))
    assert out is not None
    joined = "\x1f".join(out)

    # digits as a reader would join them: across separators, never across a marker or a word
    def pieces(s: str) -> list[str]:
        return [re.sub(r"[^0-9０-９]", "", x) for x in re.split(r"[^0-9０-９ \-+()]", s)]

    text = text[:1000]
    for p in wrote:
        if p in text:
            assert p not in joined, (p, joined)
            digits = re.sub(r"[^0-9０-９]", "", p)
            # the digits may also be left over from a planted value another one was planted
            # into (电 + 联系电话… + 话0000…: no cue any more); only this value's must go
            elsewhere = any(digits in x for x in pieces(text.replace(p, "〇")))
            if len(digits) >= 7 and not elsewhere:
                assert not any(digits in x for x in pieces(joined)), (p, joined)


# Surnames that are also common words (于, 和 …) are found only with a clean right edge
# (docs/identifiers.md, known limits); the property is about the others.
_SURNAMES = sorted(_SINGLE_SURNAMES - _AMBIGUOUS_SURNAMES) + sorted(_COMPOUND_SURNAMES)
_GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂华玉萍红玲芬燕彬鹏辉"


@st.composite
def person_names(draw: st.DrawFn) -> str:
    return draw(st.sampled_from(_SURNAMES)) + draw(st.text(_GIVEN, min_size=1, max_size=2))


SUFFIXES = ("有限公司", "股份有限公司", "有限责任公司", "专业合作社", "五金店", "食品厂",
            "个体工商户", "商贸有限公司", "食品加工销售有限公司", "便利店", "理发店")  # fmt: skip


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 10**6),
    rep=person_names(),
    other=person_names(),
    business=st.booleans(),
    shop=st.sampled_from(SUFFIXES),
    own_name=st.booleans(),
)
def test_names_consistent_and_companies_whole(seed, rep, other, business, shop, own_name):
    """In every view of one row, the legal representative's name is shown the same way in
    its column and in the text (clear in both or in neither), other people named in the text
    never appear in clear, and the party's organisation name stays whole."""
    if other == rep or other in rep or rep in other:
        return
    policy, rows = shipped(), synth_rows()
    row = random.Random(seed).choice(rows)
    company = rep + shop
    party = rep if business and own_name else company
    row = set_col(policy, row, "行政相对人类别", BUSINESS if business else LEGAL)
    row = set_col(policy, row, "行政相对人名称", party)
    row = set_col(policy, row, "法定代表人", rep)
    text = (
        f"当事人{party}于2024年5月3日被查，法定代表人{rep}到场，委托代理人{other}陈述。{rep}签字。"
    )
    row = set_col(policy, row, "违法事实", text)
    for a, view in views(policy).items():
        out = view.apply(row)
        if out is None:
            continue
        got = dict(zip(view.columns, out, strict=True))
        facts = got.get("违法事实", "")
        if not facts:
            continue
        assert other not in facts, (a, facts)
        columns_clear = [c for c in ("法定代表人", "行政相对人名称") if got.get(c) == rep]
        text_clear = facts.count(rep) - facts.count(company)
        if columns_clear:
            assert text_clear >= 2, (a, got)  # 法定代表人{rep}, {rep}签字: both as the column
        else:
            assert text_clear == 0, (a, got)
        if party == company:
            assert f"当事人{company}于" in facts, (a, facts)


# -- end to end ---------------------------------------------------------------------------------


def _planted(policy: Policy, n: int) -> list[str]:
    """Valid and invalid identifier-shaped strings, one set per row."""
    synth = Synth(policy, seed=9, today=TODAY)
    out = []
    mobiles = _unlisted_mobiles(n, seed=7)
    for i in range(n):
        rid = synth.resident_id()
        card = synth.bank_card()
        out.append(
            "|".join(
                [
                    rid,
                    _wrong_check(rid),
                    rid[:6] + rid[8:17],  # 15 digits, a legacy ID shape
                    synth.mobile(),
                    mobiles[i],
                    card,
                    card[:-1] + str((int(card[-1]) + 1) % 10),  # Luhn fails
                    f"zhang{i}@example.cn",
                ]
            )
        )
    return out


def test_cli_mask_public_holds_no_planted_identifier(tmp_path, monkeypatch, fast_kdf, policy):
    runner = cli_workplace(
        tmp_path,
        monkeypatch,
        ["keygen", "--id", "amr", "--role", "provider", "--suite", "intl"],
        ["keygen", "--id", "sa", "--role", "sys-admin", "--suite", "intl"],
        ["audit", "init", "--key", "amr"],
        ["--as", "sa", "keys", "bootstrap"],
    )
    monkeypatch.setenv("XINAN_IDENTITY", "amr")
    r = runner.invoke(app, ["fake", "penalty", "-n", "80", "-o", "e.csv", "--seed", "4"])
    assert r.exit_code == 0, r.output
    with (tmp_path / "e.csv").open(encoding="utf-8-sig", newline="") as f:
        reader = csv.DictReader(f)
        header = list(reader.fieldnames or [])
        src = list(reader)
    planted = _planted(policy, len(src))
    values: list[str] = []
    for row, p in zip(src, planted, strict=True):
        ids = p.split("|")
        values += ids
        row["违法事实"] += "联系电话" + ids[4] + "，身份证号码" + "、".join(ids[:3]) + "。"
        row["处罚内容"] += "，缴款账户" + ids[5] + "或" + ids[6] + "，邮箱" + ids[7] + "，" + ids[3]
    with (tmp_path / "e.csv").open("w", encoding="utf-8-sig", newline="") as f:
        w = csv.DictWriter(f, fieldnames=header)
        w.writeheader()
        w.writerows(src)
    r = runner.invoke(app, ["mask", "e.csv", "-o", "pub.csv", "--audience", "public", "--json"])
    assert r.exit_code in (0, 3), r.output
    text = (tmp_path / "pub.csv").read_text("utf-8-sig")
    with (tmp_path / "pub.csv").open(encoding="utf-8-sig", newline="") as f:
        published = list(csv.DictReader(f))
    assert len(published) > 20  # legal persons and individual businesses are published
    assert "〔已脱敏:疑似身份证号〕" in text and "〔已脱敏:疑似手机号〕" in text
    leaked = [v for v in values if v in text]
    assert leaked == []


def test_vault_disclose_public_uses_the_same_masking(tmp_path, monkeypatch, fast_kdf, policy):
    """The platform's ``vault disclose --audience public`` masks through the same View: values
    planted in columns the provider's submission keeps clear (处罚内容) are scrubbed there."""
    from tests.support.worlds import build_world

    planted = _planted(policy, 40)
    values: list[str] = []

    def prepare(rows: list[dict[str, str]]) -> None:
        for row, p in zip(rows, planted, strict=False):
            ids = p.split("|")
            values.extend(ids)
            row["处罚内容"] += "，" + "、".join(ids)
            row["处罚决定日期"] = "2026-06-01"
            row["违法行为严重程度"] = "一般"
            row["处罚有效期"] = ""
            row["公示截止期"] = ""

    w = build_world(tmp_path, monkeypatch, people=40, kind="penalty", prepare=prepare)
    out = tmp_path / "public.csv"
    s = w.js("plat", "platform", "vault", "disclose", "--audience", "public", "-o", str(out),
             "--vault", str(w.vault))  # fmt: skip
    assert s["counts"]["written"] > 10, s
    text = out.read_text("utf-8")
    assert "〔已脱敏:疑似身份证号〕" in text
    assert [v for v in values if v in text] == []
