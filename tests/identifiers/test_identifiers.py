"""Tests for xinan.identifiers: vectors, check characters, properties, phone cross-checks against
phonenumbers, the documented differences from python-stdnum, and free-text detection.

Only synthetic identities (generated here with correct check characters) and the public examples
of tests/vectors/identifiers.json are used.
"""

from __future__ import annotations

import itertools
import json
import random
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import phonenumbers
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from stdnum.cn import ric as stdnum_ric
from stdnum.cn import uscc as stdnum_uscc

from xinan.identifiers import (
    Found,
    IdKind,
    ResidentId,
    bank_card_check_digit,
    classify_value,
    find_identifiers,
    is_plausible_chinese_name,
    is_valid_bank_card,
    is_valid_email,
    is_valid_fixed_phone,
    is_valid_mobile,
    is_valid_phone,
    is_valid_resident_id,
    is_valid_uscc,
    parse_resident_id,
    resident_id_check_char,
    split_chinese_name,
    uscc_check_char,
)

TODAY = date(2025, 6, 1)
VECTORS: dict[str, Any] = json.loads(
    (Path(__file__).resolve().parents[1] / "vectors" / "identifiers.json").read_text(
        encoding="utf-8"
    )
)

# GB/T 2260 province-level codes, written out independently of the module's table.
PROVINCES = [11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37]
PROVINCES += [41, 42, 43, 44, 45, 46, 50, 51, 52, 53, 54, 61, 62, 63, 64, 65, 71]
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
FULLWIDTH = str.maketrans("0123456789X", "０１２３４５６７８９Ｘ")


def rid(first17: str) -> str:
    return first17 + resident_id_check_char(first17)


def uscc(first17: str) -> str:
    return first17 + uscc_check_char(first17)


def card(body: str) -> str:
    return body + bank_card_check_digit(body)


def spans(text: str, **kw: Any) -> list[tuple[IdKind, str]]:
    kw.setdefault("today", TODAY)
    return [(f.kind, text[f.start : f.end]) for f in find_identifiers(text, **kw)]


# --------------------------------------------------------------------------------------------
# Strategies
# --------------------------------------------------------------------------------------------


@st.composite
def resident_ids(draw: st.DrawFn) -> str:
    prov = draw(st.sampled_from(PROVINCES))
    rest = draw(st.integers(0, 9999))
    birth = draw(st.dates(min_value=date(1900, 1, 1), max_value=TODAY))
    seq = draw(st.integers(0, 999))
    return rid(f"{prov:02d}{rest:04d}{birth:%Y%m%d}{seq:03d}")


@st.composite
def usccs(draw: st.DrawFn) -> str:
    first = draw(st.sampled_from("123456789ANY"))
    second = draw(st.sampled_from(USCC_ALPHABET[1:]))
    region = draw(st.integers(110000, 659999))
    org = draw(st.text(alphabet=USCC_ALPHABET, min_size=9, max_size=9))
    return uscc(f"{first}{second}{region}{org}")


@st.composite
def bank_cards(draw: st.DrawFn) -> str:
    length = draw(st.integers(12, 19))
    first = draw(st.sampled_from("345689"))
    body = draw(st.text(alphabet="0123456789", min_size=length - 2, max_size=length - 2))
    return card(first + body)


def _changed(original: str, replacement: str) -> bool:
    """A change that survives folding and case-insensitivity (x -> X is not a change; nor is
    Ｘ -> X: the validators fold every full-width ASCII character, letters as well as digits)."""
    fold = {0xFF01 + i: 0x21 + i for i in range(0x5E)}
    return replacement.translate(fold).upper() != original.upper()


REPLACEMENTS = st.sampled_from(
    list("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz -.#中０５Ｘ")
)


# --------------------------------------------------------------------------------------------
# Vectors
# --------------------------------------------------------------------------------------------


def test_vectors_have_provenance() -> None:
    for key, section in VECTORS.items():
        if key.endswith("_extra"):
            for entry in section["valid"] + section["invalid"]:
                assert entry["source"] and entry["why"], entry


@pytest.mark.parametrize("value", VECTORS["resident_id"]["valid"])
def test_vector_resident_id_valid(value: str) -> None:
    assert resident_id_check_char(value[:17]) == value[17]
    assert is_valid_resident_id(value, today=TODAY)


def test_birth_years_before_1800_are_refused() -> None:
    with pytest.raises(ValueError, match="before 1800"):
        parse_resident_id(rid("44052417991231001"), today=TODAY)


@pytest.mark.parametrize("entry", VECTORS["resident_id"]["invalid"], ids=lambda e: e["why"])
def test_vector_resident_id_invalid(entry: dict[str, str]) -> None:
    assert not is_valid_resident_id(entry["value"], today=TODAY)


@pytest.mark.parametrize("entry", VECTORS["uscc"]["valid"], ids=lambda e: e["value"])
def test_vector_uscc_valid(entry: dict[str, str]) -> None:
    assert is_valid_uscc(entry["value"])
    assert uscc_check_char(entry["value"][:17]) == entry["value"][17]
    assert classify_value(entry["value"]) is IdKind.USCC


@pytest.mark.parametrize("entry", VECTORS["uscc"]["invalid"], ids=lambda e: e["why"])
def test_vector_uscc_invalid(entry: dict[str, str]) -> None:
    assert not is_valid_uscc(entry["value"])


EXTRA_VALIDATORS = {
    "resident_id_extra": lambda v: is_valid_resident_id(v, today=TODAY),
    "uscc_extra": is_valid_uscc,
    "bank_card_extra": is_valid_bank_card,
    "mobile_extra": is_valid_mobile,
    "fixed_phone_extra": is_valid_fixed_phone,
    "email_extra": is_valid_email,
    "person_name_extra": is_plausible_chinese_name,
}
EXTRA_CASES = [
    (key, entry["value"], verdict)
    for key in EXTRA_VALIDATORS
    for verdict in ("valid", "invalid")
    for entry in VECTORS[key][verdict]
]


@pytest.mark.parametrize(("key", "value", "verdict"), EXTRA_CASES)
def test_vector_extra(key: str, value: str, verdict: str) -> None:
    assert EXTRA_VALIDATORS[key](value) is (verdict == "valid")


def test_vector_extra_resident_id_fields() -> None:
    for entry in VECTORS["resident_id_extra"]["valid"]:
        parsed = parse_resident_id(entry["value"], today=TODAY)
        assert parsed.permit == entry.get("permit")
        assert parsed.legacy15 is entry.get("legacy15", False)


# --------------------------------------------------------------------------------------------
# Resident ID
# --------------------------------------------------------------------------------------------


def test_resident_id_check_char_standard_examples() -> None:
    assert resident_id_check_char("11010519491231002") == "X"
    assert resident_id_check_char("44052418800101001") == "4"


@pytest.mark.parametrize(
    "bad", ["1101051949123100", "1101051949123100X", "１１０１０５１９４９１２３１００２"]
)
def test_resident_id_check_char_rejects_bad_body(bad: str) -> None:
    with pytest.raises(ValueError):
        resident_id_check_char(bad)


def test_parse_resident_id_fields() -> None:
    p = parse_resident_id("11010519491231002X", today=TODAY)
    assert p == ResidentId(
        value="11010519491231002X",
        region="110105",
        birth=date(1949, 12, 31),
        sex="F",
        legacy15=False,
        permit=None,
    )
    assert parse_resident_id(rid("37040319900101123"), today=TODAY).sex == "M"


def test_lower_case_x_accepted_and_canonicalised() -> None:
    assert is_valid_resident_id("11010519491231002x", today=TODAY)
    assert parse_resident_id(" 11010519491231002x ", today=TODAY).value == "11010519491231002X"


def test_full_width_resident_id() -> None:
    fw = "11010519491231002X".translate(FULLWIDTH)
    assert is_valid_resident_id(fw, today=TODAY)
    assert parse_resident_id(fw, today=TODAY).value == "11010519491231002X"
    assert classify_value(fw, today=TODAY) is IdKind.RESIDENT_ID


def test_future_birth_date_rejected() -> None:
    born = rid("370403" + "20250601" + "123")
    assert is_valid_resident_id(born, today=date(2025, 6, 1))
    assert not is_valid_resident_id(born, today=date(2025, 5, 31))
    with pytest.raises(ValueError, match="future"):
        parse_resident_id(born, today=date(2025, 5, 31))


def test_today_defaults_to_system_date() -> None:
    tomorrow = date.today() + timedelta(days=1)
    assert not is_valid_resident_id(rid(f"370403{tomorrow:%Y%m%d}123"))
    assert is_valid_resident_id(rid(f"370403{date.today():%Y%m%d}123"))


@pytest.mark.parametrize(
    ("birth", "ok"),
    [("20000229", True), ("20240229", True), ("19000229", False), ("20230229", False)],
)
def test_feb_29(birth: str, ok: bool) -> None:
    assert is_valid_resident_id(rid(f"370403{birth}123"), today=TODAY) is ok


@pytest.mark.parametrize(("yymmdd", "ok"), [("960229", True), ("000229", False), ("850230", False)])
def test_feb_29_legacy15(yymmdd: str, ok: bool) -> None:
    assert is_valid_resident_id(f"370403{yymmdd}001", today=TODAY) is ok


def test_legacy15() -> None:
    p = parse_resident_id("370403850615002", today=TODAY)
    assert (p.legacy15, p.birth, p.sex, p.region) == (True, date(1985, 6, 15), "F", "370403")
    assert not is_valid_resident_id("990403850615002", today=TODAY)  # province 99
    assert not is_valid_resident_id("37040385061500X", today=TODAY)


@pytest.mark.parametrize(
    ("prefix", "permit"), [("810000", "HK"), ("820000", "MO"), ("830000", "TW")]
)
def test_residence_permits(prefix: str, permit: str) -> None:
    value = rid(prefix + "19900101" + "123")
    assert parse_resident_id(value, today=TODAY).permit == permit
    wrong_region = rid(prefix[:2] + "0100" + "19900101" + "123")
    assert not is_valid_resident_id(wrong_region, today=TODAY)


def test_taiwan_province_code_71_is_not_a_permit() -> None:
    assert parse_resident_id(rid("71000019900101123"), today=TODAY).permit is None


@pytest.mark.parametrize(
    "value",
    [
        "",
        "11010519491231002X1",
        "1101051949123100XX",
        "11010519491231002Y",
        "11010518991231002X",  # 1899 (check char wrong as well, caught either way)
        "٣٧٠٤٠٣١٩٩٠٠١٠١١٢٣٤",  # Arabic-Indic digits are not ASCII digits
    ],
)
def test_resident_id_malformed(value: str) -> None:
    assert not is_valid_resident_id(value, today=TODAY)


def test_errors_and_repr_never_echo_the_value() -> None:
    for value in ["110105194912310020", "1101051949123100", "99010519491231002X"]:
        with pytest.raises(ValueError) as exc:
            parse_resident_id(value, today=TODAY)
        assert value not in str(exc.value)
        assert value[:6] not in str(exc.value)
    p = parse_resident_id("11010519491231002X", today=TODAY)
    assert "11010519491231002X" not in repr(p)
    assert "1949" not in repr(p)


@given(resident_ids())
def test_generated_resident_ids_validate(value: str) -> None:
    assert is_valid_resident_id(value, today=TODAY)
    p = parse_resident_id(value, today=TODAY)
    assert p.value == value
    assert p.birth == date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    assert p.sex == ("M" if int(value[16]) % 2 else "F")
    assert classify_value(value, today=TODAY) is IdKind.RESIDENT_ID


@given(resident_ids(), st.integers(0, 17), REPLACEMENTS)
def test_any_single_change_of_resident_id_is_caught(value: str, pos: int, ch: str) -> None:
    assume(_changed(value[pos], ch))
    changed = value[:pos] + ch + value[pos + 1 :]
    assert not is_valid_resident_id(changed, today=TODAY)


@given(resident_ids())
def test_resident_id_check_char_agrees_with_stdnum(value: str) -> None:
    assert stdnum_ric.calc_check_digit(value) == value[17]


# --------------------------------------------------------------------------------------------
# USCC
# --------------------------------------------------------------------------------------------


def test_uscc_check_char_standard_example() -> None:
    assert uscc_check_char("91350100M000100Y4") == "3"
    assert uscc_check_char("91350100m000100y4") == "3"
    with pytest.raises(ValueError):
        uscc_check_char("91350100M000100I4")


def test_uscc_case_and_whitespace() -> None:
    assert is_valid_uscc(" 91350100m000100y43 ")
    assert not is_valid_uscc("91350100M000100Y4 3")


@given(usccs())
def test_generated_usccs_validate(value: str) -> None:
    assert is_valid_uscc(value)


@given(usccs(), st.integers(0, 17), REPLACEMENTS)
def test_any_single_change_of_uscc_is_caught(value: str, pos: int, ch: str) -> None:
    assume(_changed(value[pos], ch))
    assert not is_valid_uscc(value[:pos] + ch + value[pos + 1 :])


@given(usccs())
def test_uscc_check_char_agrees_with_stdnum(value: str) -> None:
    assert stdnum_uscc.calc_check_digit(value[:17]) == value[17]


# --------------------------------------------------------------------------------------------
# Where python-stdnum disagrees, and why xinan differs (BRIEF.md "Identifiers")
# --------------------------------------------------------------------------------------------


def test_stdnum_raises_keyerror_for_region_620201() -> None:
    # Province 62 (Gansu) exists; stdnum's county table has no entry it can use for 620201 and
    # is_valid() leaks a KeyError instead of returning False. xinan checks the province only.
    value = rid("62020119900101123")
    with pytest.raises(KeyError):
        stdnum_ric.is_valid(value)
    assert is_valid_resident_id(value, today=TODAY)


def test_stdnum_rejects_county_codes_not_assigned_in_birth_year() -> None:
    # 110118 (Miyun district) dates from 2015; someone born in 1990 there may hold it after a
    # re-coding, and synthetic data mixes codes and years freely. stdnum says invalid, we say valid.
    value = rid("11011819900101123")
    assert not stdnum_ric.is_valid(value)
    assert is_valid_resident_id(value, today=TODAY)


def test_stdnum_rejects_the_standards_own_1880_example() -> None:
    # stdnum: county 440524 was not assigned in 1880. xinan: the check character, the date and
    # the province are right, and GB 11643-1999 prints it as an example, so it is valid.
    assert not stdnum_ric.is_valid("440524188001010014")
    assert is_valid_resident_id("440524188001010014", today=TODAY)


@pytest.mark.parametrize("first17", ["N2370400MA3C4D5E6", "A1100000MA0123456", "Y1370400MA1B2C3D4"])
def test_stdnum_rejects_usccs_starting_with_a_letter(first17: str) -> None:
    # GB 32100-2015 §4.1 allows registration authorities A, N and Y; stdnum 2.2 wants 8 digits.
    value = uscc(first17)
    assert not stdnum_uscc.is_valid(value)
    assert is_valid_uscc(value)


# --------------------------------------------------------------------------------------------
# Phones
# --------------------------------------------------------------------------------------------


def _pn_mobile(national: str) -> bool:
    try:
        num = phonenumbers.parse(national, "CN")
    except phonenumbers.NumberParseException:  # e.g. 1xx…00 reads as an international prefix
        return False
    return (
        phonenumbers.is_valid_number(num)
        and phonenumbers.number_type(num) is phonenumbers.PhoneNumberType.MOBILE
    )


def test_mobile_blocks_match_phonenumbers_for_every_5_digit_prefix() -> None:
    rng = random.Random(11643)  # nosec B311: synthetic test data
    mismatches = []
    for prefix in range(10000, 20000):
        for _ in range(2):
            number = f"{prefix}{rng.randrange(10**6):06d}"
            if is_valid_mobile(number) != _pn_mobile(number):
                mismatches.append(number[:5])
    assert not mismatches, sorted(set(mismatches))[:20]


@settings(max_examples=500)
@given(st.text(alphabet="0123456789", min_size=10, max_size=10))
def test_mobile_agrees_with_phonenumbers(tail: str) -> None:
    number = "1" + tail
    assert is_valid_mobile(number) == _pn_mobile(number)


@pytest.mark.parametrize(
    "form",
    [
        "13812345678",
        "138 1234 5678",
        "138-1234-5678",
        "+8613812345678",
        "+86 138 1234 5678",
        "+86-138-1234-5678",
        "8613812345678",
        "008613812345678",
        " 13812345678 ",
        "１３８１２３４５６７８",
    ],
)
def test_mobile_forms(form: str) -> None:
    assert is_valid_mobile(form)
    assert is_valid_phone(form)
    assert not is_valid_fixed_phone(form)


@pytest.mark.parametrize(
    "form", ["1381234567", "138123456789", "+87 138 1234 5678", "138  1234 5678", "138.1234.5678"]
)
def test_mobile_rejects(form: str) -> None:
    assert not is_valid_mobile(form)


AREA_CODES = ["10", "20", "21", "22", "23", "24", "25", "27", "28", "29", "311", "351", "371"]
AREA_CODES += ["431", "451", "531", "532", "571", "591", "632", "755", "851", "871", "898"]


@settings(max_examples=300)
@given(st.sampled_from(AREA_CODES), st.text(alphabet="0123456789", min_size=7, max_size=8))
def test_fixed_phone_agrees_with_phonenumbers(area: str, subscriber: str) -> None:
    num = phonenumbers.parse(f"0{area}{subscriber}", "CN")
    expected = phonenumbers.is_valid_number(num) and phonenumbers.number_type(num) in (
        phonenumbers.PhoneNumberType.FIXED_LINE,
        phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
    )
    for form in (f"0{area}-{subscriber}", f"(0{area}){subscriber}", f"+86 {area} {subscriber}"):
        assert is_valid_fixed_phone(form) is expected, form


@pytest.mark.parametrize(
    "form",
    [
        "010-12345678",
        "01012345678",
        "010 1234 5678",
        "0632-1234567",
        "(0632)1234567",
        "(0632) 123-4567",
        "+86 632 1234567",
        "+86 10 12345678",
        "0086-632-1234567",
        "0632-1234567-801",
        "0632-1234567转801",
        "0632-1234567 ext. 801",
        "（０６３２）１２３４５６７",
    ],
)
def test_fixed_phone_forms(form: str) -> None:
    assert is_valid_fixed_phone(form)
    assert is_valid_phone(form)
    assert not is_valid_mobile(form)


@pytest.mark.parametrize(
    "form", ["12345678", "1234567", "0632-123456", "400-123-4567", "95588", "0632-1234567转"]
)
def test_fixed_phone_rejects(form: str) -> None:
    assert not is_valid_fixed_phone(form)


# --------------------------------------------------------------------------------------------
# Bank cards and e-mail
# --------------------------------------------------------------------------------------------


@given(bank_cards())
def test_generated_bank_cards_validate(value: str) -> None:
    assert is_valid_bank_card(value)
    grouped = " ".join(value[i : i + 4] for i in range(0, len(value), 4))
    assert is_valid_bank_card(grouped)


@given(bank_cards(), st.data())
def test_any_single_digit_change_of_bank_card_is_caught(value: str, data: st.DataObject) -> None:
    pos = data.draw(st.integers(0, len(value) - 1))
    digit = data.draw(st.sampled_from("0123456789"))
    assume(digit != value[pos])
    assert not is_valid_bank_card(value[:pos] + digit + value[pos + 1 :])


@pytest.mark.parametrize(
    "value", ["4111111111111111", "4111-1111-1111-1111", "4111 1111 1111 1111", card("62220212345")]
)
def test_bank_card_forms(value: str) -> None:
    assert is_valid_bank_card(value)


@pytest.mark.parametrize(
    "value", ["4111111111111112", "4111  1111 1111 1111", card("7222021234567890"), "41111111111"]
)
def test_bank_card_rejects(value: str) -> None:
    assert not is_valid_bank_card(value)


def test_bank_card_check_digit() -> None:
    assert bank_card_check_digit("411111111111111") == "1"
    with pytest.raises(ValueError):
        bank_card_check_digit("4111 1111")


def test_email_length_limits() -> None:
    assert is_valid_email("a" * 64 + "@example.com")
    assert not is_valid_email("a" * 65 + "@example.com")
    assert is_valid_email("a@" + ("b" * 60 + ".") * 4 + "com")  # 249 characters
    assert not is_valid_email("a@" + ("b" * 60 + ".") * 5 + "com")  # over 254 in all
    assert not is_valid_email(".a@example.com")
    assert not is_valid_email("a.@example.com")


# --------------------------------------------------------------------------------------------
# Names
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "parts"),
    [
        ("张三", ("张", "三")),
        ("李明华", ("李", "明华")),
        ("欧阳娜娜", ("欧阳", "娜娜")),
        ("司马光", ("司马", "光")),
        ("诸葛亮", ("诸葛", "亮")),
        ("上官婉儿", ("上官", "婉儿")),
        ("皇甫嵩", ("皇甫", "嵩")),
        ("欧阳", ("欧", "阳")),  # too short for a compound surname plus a given name
        ("艾力·买买提", ("买买提", "艾力")),
        ("阿依古丽·吐尔逊", ("吐尔逊", "阿依古丽")),
        ("穆罕默德・阿卜杜拉・伊敏", ("伊敏", "穆罕默德・阿卜杜拉")),
        (" 王五 ", ("王", "五")),
    ],
)
def test_split_chinese_name(value: str, parts: tuple[str, str]) -> None:
    assert split_chinese_name(value) == parts
    assert is_plausible_chinese_name(value)


@pytest.mark.parametrize(
    "value",
    [
        "",
        "张",
        "有限公司",
        "北京市",
        "张三丰丰",
        "Zhang San",
        "张3",
        "·张三",
        "张三·",
        "张··三",
        "公司",
    ],
)
def test_not_a_chinese_name(value: str) -> None:
    assert split_chinese_name(value) is None


def test_surname_table_is_large() -> None:
    from xinan.identifiers import names as identifiers

    assert len(identifiers._SINGLE_SURNAMES) >= 300
    assert len(identifiers._COMPOUND_SURNAMES) >= 40
    assert all(len(s) == 2 for s in identifiers._COMPOUND_SURNAMES)


# --------------------------------------------------------------------------------------------
# classify_value
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        ("11010519491231002X", IdKind.RESIDENT_ID),
        ("370403850615002", IdKind.RESIDENT_ID),
        ("91350100M000100Y43", IdKind.USCC),
        ("13812345678", IdKind.MOBILE),
        ("+86 138 1234 5678", IdKind.MOBILE),
        ("010-12345678", IdKind.FIXED_PHONE),
        ("(0632)1234567", IdKind.FIXED_PHONE),
        ("+86 632 1234567", IdKind.FIXED_PHONE),
        ("4111 1111 1111 1111", IdKind.BANK_CARD),
        ("zhang.san@example.com", IdKind.EMAIL),
        ("12345@example.com", IdKind.EMAIL),
        ("欧阳娜娜", IdKind.PERSON_NAME),
        ("", None),
        ("   ", None),
        ("罚款", None),
        ("2024-03-05", None),
        ("5000", None),
        ("枣市监罚〔2024〕123号", None),
    ],
)
def test_classify_value(value: str, kind: IdKind | None) -> None:
    assert classify_value(value, today=TODAY) is kind


def test_classify_resident_id_wins_over_bank_card() -> None:
    rng = random.Random(7064)  # nosec B311: synthetic test data
    seen = 0
    while seen < 5:
        value = rid(f"3704{rng.randrange(100):02d}19900101{rng.randrange(1000):03d}")
        if value.isdigit() and is_valid_bank_card(value):
            seen += 1
            assert classify_value(value, today=TODAY) is IdKind.RESIDENT_ID
            assert spans(f"号码{value}。") == [(IdKind.RESIDENT_ID, value)]


def test_classify_wrong_check_id_shape_is_nothing() -> None:
    # 18 digits with an ID's region and birth date but a wrong check character: neither an ID,
    # nor the USCC or bank card it might pass for by chance.
    rng = random.Random(32100)  # nosec B311: synthetic test data
    for _ in range(300):
        good = rid(
            f"370403{1950 + rng.randrange(60)}0{rng.randrange(1, 10)}15{rng.randrange(1000):03d}"
        )
        for c in "0123456789":
            if c != good[17]:
                assert classify_value(good[:17] + c, today=TODAY) is None


# --------------------------------------------------------------------------------------------
# Free text
# --------------------------------------------------------------------------------------------

ID = rid("37040319850615123")
SENTENCE = (
    f"经查，当事人张三（身份证号码：{ID}，联系电话：13812345678）于2024年3月5日在其经营场所"
    "销售过期食品，违法所得1200.50元。统一社会信用代码91350100M000100Y43，"
    "办公电话(0632)1234567转801，邮箱zhang.san@example.com，收款账户6222 0212 3456 7890 128。"
)


def test_find_all_kinds_with_offsets() -> None:
    found = find_identifiers(SENTENCE, today=TODAY)
    got = [(f.kind, SENTENCE[f.start : f.end]) for f in found]
    assert got == [
        (IdKind.PERSON_NAME, "张三"),
        (IdKind.RESIDENT_ID, ID),
        (IdKind.MOBILE, "13812345678"),
        (IdKind.USCC, "91350100M000100Y43"),
        (IdKind.FIXED_PHONE, "(0632)1234567转801"),
        (IdKind.EMAIL, "zhang.san@example.com"),
        (IdKind.BANK_CARD, "6222 0212 3456 7890 128"),
    ]
    assert found[1] == Found(IdKind.RESIDENT_ID, SENTENCE.index(ID), SENTENCE.index(ID) + 18)
    assert all(a.end <= b.start for a, b in itertools.pairwise(found))


def test_find_full_width_keeps_original_offsets() -> None:
    fw_id = ID.translate(FULLWIDTH)
    fw_mobile = "１３８ １２３４ ５６７８"
    text = f"身份证号{fw_id}，手机{fw_mobile}，电话（０６３２）１２３４５６７。"
    assert spans(text) == [
        (IdKind.RESIDENT_ID, fw_id),
        (IdKind.MOBILE, fw_mobile),
        (IdKind.FIXED_PHONE, "（０６３２）１２３４５６７"),
    ]


def test_find_kinds_filter() -> None:
    assert spans(SENTENCE, kinds={IdKind.MOBILE}) == [(IdKind.MOBILE, "13812345678")]
    assert spans(SENTENCE, kinds=()) == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("手机号+86 138 1234 5678。", "+86 138 1234 5678"),
        ("手机:86-13812345678,", "86-13812345678"),
        ("电话010-12345678", "010-12345678"),
        ("电话：0632 1234567。", "0632 1234567"),
        ("lower x: 11010519491231002x。", "11010519491231002x"),
        ("旧证号370403850615002。", "370403850615002"),
        ("卡号4111111111111111。", "4111111111111111"),
        ("邮箱 li_si+credit@mail.example.cn。", "li_si+credit@mail.example.cn"),
        ("QQ邮箱13812345678@qq.example，", "13812345678@qq.example"),
    ],
)
def test_find_single(text: str, expected: str) -> None:
    assert [s for _, s in spans(text)] == [expected]


@pytest.mark.parametrize(
    "text",
    [
        "枣市监罚〔2024〕123号",
        "鲁枣市监罚字〔2024〕第0123号行政处罚决定书",
        "京朝公(刑)决字[2024]000123号",
        "（2024）鲁0402执123号",
        "于2024年3月5日、2024-03-05、20240305、2024.03.05、2024/03/05 14:30:00作出",
        "罚款人民币50000元，没收违法所得1,234,567.89元，合计13800元",
        "没收13812345678.50元",  # a decimal amount, not a phone number
        "订单号A13812345678B、编号X11010519491231002X、流水号6222021234567890128001",
        "第三十四条第（十）项，依据《食品安全法》第一百二十四条第一款",
        "当事人的行为违反了规定，当事人未按规定公示，当事人于其经营场所销售",
        "当事人向社会公众销售，当事人陈述申辩，当事人应当改正，法定代表人对此负责",
    ],
)
def test_no_false_positives(text: str) -> None:
    assert spans(text) == []


@given(resident_ids(), st.sampled_from("0123456789X"))
def test_no_false_positive_on_18_digits_with_wrong_check_char(value: str, c: str) -> None:
    assume(c != value[17])
    wrong = value[:17] + c
    assert spans(f"身份证号码{wrong}，") == []
    assert spans(f"号码 {wrong} 已登记") == []


@given(resident_ids())
def test_generated_ids_found_in_text(value: str) -> None:
    text = f"当事人（证件号{value}）"
    assert spans(text) == [(IdKind.RESIDENT_ID, value)]


@given(bank_cards().filter(lambda v: len(v) >= 16))
def test_generated_cards_found_in_text(value: str) -> None:
    text = f"银行卡号：{value}。"
    got = spans(text)
    assert len(got) == 1 and got[0][1] == value
    assert got[0][0] in (IdKind.BANK_CARD, IdKind.RESIDENT_ID, IdKind.USCC)


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("当事人张三于2024年3月5日", ["张三"]),
        ("法定代表人：欧阳娜娜，男", ["欧阳娜娜"]),
        ("法定代表人:李明华经营的超市", ["李明华"]),
        ("负责人为刘某某。", ["刘某某"]),
        ("股东王五、赵六、钱七共同出资", ["王五", "赵六", "钱七"]),
        ("驾驶人孙小美驾驶鲁D12345号车", ["孙小美"]),
        ("被处罚人：诸葛明，", ["诸葛明"]),
        ("个体户陈红未办理登记", ["陈红"]),
        ("当事人于某某，", ["于某某"]),
        ("经营者张三丰与业主李娜签订租赁合同", ["张三丰", "李娜"]),
        ("负责人员当场承认，员工宿舍，股东会决议", []),
        ("经营者：艾力·买买提，", ["艾力·买买提"]),
        ("负责人阿依古丽・吐尔逊于", ["阿依古丽・吐尔逊"]),
    ],
)
def test_cued_names(text: str, names: list[str]) -> None:
    assert [s for k, s in spans(text) if k is IdKind.PERSON_NAME] == names


def test_given_names_found_everywhere() -> None:
    text = "艾力·买买提经营的店铺，艾力·买买提称不知情。公司名称：枣庄某某商贸有限公司"
    got = spans(text, names=["艾力·买买提", "枣庄某某商贸有限公司", "", "张"])
    assert got == [
        (IdKind.PERSON_NAME, "艾力·买买提"),
        (IdKind.PERSON_NAME, "艾力·买买提"),
        (IdKind.PERSON_NAME, "枣庄某某商贸有限公司"),
    ]


def test_email_inside_text_wins_over_mobile_inside_it() -> None:
    assert spans("联系13812345678@qq.example。") == [(IdKind.EMAIL, "13812345678@qq.example")]


def test_cued_name_and_given_name_do_not_overlap() -> None:
    assert spans("当事人张三丰于", names=["张三"]) == [(IdKind.PERSON_NAME, "张三丰")]


TEXT_PIECES = list(
    "0123456789 -+()@.X、，：当事人张三欧阳法定代表人于年月日元号〔〕０１２３４５６７８９"
)
TEXT_PIECES += [ID, "13812345678", "0632-1234567", "91350100M000100Y43", "4111111111111111"]
TEXT_PIECES += ["a@b.cn"]
TEXT_ALPHABET = st.sampled_from(TEXT_PIECES)


@settings(max_examples=300)
@given(st.lists(TEXT_ALPHABET, max_size=40).map("".join))
def test_find_identifiers_invariants(text: str) -> None:
    found = find_identifiers(text, today=TODAY)
    assert found == sorted(found, key=lambda f: f.start)
    assert all(a.end <= b.start for a, b in itertools.pairwise(found))
    checks = {
        IdKind.RESIDENT_ID: lambda v: is_valid_resident_id(v, today=TODAY),
        IdKind.USCC: is_valid_uscc,
        IdKind.MOBILE: is_valid_mobile,
        IdKind.FIXED_PHONE: is_valid_fixed_phone,
        IdKind.BANK_CARD: is_valid_bank_card,
        IdKind.EMAIL: is_valid_email,
    }
    for f in found:
        assert 0 <= f.start < f.end <= len(text)
        if f.kind in checks:
            assert checks[f.kind](text[f.start : f.end]), (f, text)
