"""Disclosure windows, repair dates, retention and objection deadlines as pure rules, and the
checker of their policy tables (issue 7, parts 1, 2, 4 and 7; docs/disclosure.md).

Every date is explicit: nothing here reads the clock."""

from __future__ import annotations

import tomllib
from datetime import date, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from xinan.errors import (
    CalendarRangeError,
    DisclosureError,
    PolicyError,
    RetentionTooShort,
    UsageError,
)
from xinan.policy.calendar import WorkCalendar
from xinan.policy.periods import (
    AUDIT_LOG_MIN_DAYS,
    LIFECYCLE_KEYS,
    DisputeTrack,
    PenaltyFacts,
    Severity,
    add_months,
    classify_domains,
    disclosure_decision,
    dispute_deadline,
    facts_from_row,
    repair_earliest,
    retention_end,
    severity_from_label,
    validate_retention_days,
)
from xinan.policy.periods_check import check_lifecycle, load_lifecycle_text

LIFECYCLE_FILE = Path(__file__).resolve().parents[2] / "policies" / "credit-default.toml"
TEXT = LIFECYCLE_FILE.read_text(encoding="utf-8")
RULES = load_lifecycle_text(TEXT, "credit-default.toml")
CAL = WorkCalendar.default()
D = timedelta(days=1)

MINOR, GENERAL, SERIOUS = Severity.MINOR, Severity.GENERAL, Severity.SERIOUS


def _tables(text: str) -> dict[str, object]:
    data = tomllib.loads(text)
    return {k: v for k, v in data.items() if k in LIFECYCLE_KEYS}


def facts(decided: date, severity: Severity | None, **kw: object) -> PenaltyFacts:
    return PenaltyFacts(decision_date=decided, severity=severity, **kw)  # type: ignore[arg-type]


def visible(f: PenaltyFacts, on: date) -> bool:
    return disclosure_decision(f, on, RULES).visible


def assert_window(f: PenaltyFacts, end: date, rule_id: str) -> None:
    """Shown from the decision date through ``end``; not the day before or the day after."""
    dec = disclosure_decision(f, f.decision_date, RULES)
    assert dec.window_start == f.decision_date
    assert dec.window_end == end, dec
    assert dec.rule_id == rule_id, dec
    assert not visible(f, f.decision_date - D)
    assert visible(f, f.decision_date)
    assert visible(f, end - D)
    assert visible(f, end)
    assert not visible(f, end + D)


# ---------------------------------------------------------------------------- the shipped table


def test_shipped_tables_are_valid():
    _, problems = check_lifecycle(_tables(TEXT))
    assert problems == []
    assert [r.id for r in RULES.disclosure.regimes] == [
        "ndrc-2019-527",
        "ndrc-2023-58",
        "ndrc-2025-36",
    ]
    r2019, r2023, r2026 = RULES.disclosure.regimes
    assert (r2019.effective_from, r2019.effective_until) == (date(2019, 7, 1), date(2023, 4, 30))
    assert (r2023.effective_from, r2023.effective_until) == (date(2023, 5, 1), date(2026, 3, 31))
    assert (r2026.effective_from, r2026.effective_until) == (date(2026, 4, 1), None)
    assert RULES.disclosure.cap_years == 5
    assert RULES.retention.negative_years == 5
    assert RULES.retention.audit_log_days == AUDIT_LOG_MIN_DAYS
    assert (
        RULES.dispute.own_data_working_days,
        RULES.dispute.assisted_working_days,
        RULES.dispute.credit_reporting_days,
    ) == (3, 7, 20)


# ---------------------------------------------------------------------------- month arithmetic


@pytest.mark.parametrize(
    ("start", "months", "end"),
    [
        (date(2025, 1, 15), 3, date(2025, 4, 15)),
        (date(2025, 11, 30), 3, date(2026, 2, 28)),  # 民法典 第二百零二条: no 30 Feb → month end
        (date(2024, 2, 29), 12, date(2025, 2, 28)),
        (date(2024, 2, 29), 48, date(2028, 2, 29)),
        (date(2023, 1, 31), 1, date(2023, 2, 28)),
        (date(2025, 12, 31), 0, date(2025, 12, 31)),
    ],
)
def test_add_months(start, months, end):
    assert add_months(start, months) == end


# ---------------------------------------------------------------------------- 2019 regime


def test_2019_general_one_year():
    f = facts(date(2020, 3, 10), GENERAL)
    assert_window(f, date(2021, 3, 10), "ndrc-2019-527")
    dec = disclosure_decision(f, date(2020, 6, 1), RULES)
    assert (dec.min_end, dec.repair_from) == (date(2020, 6, 10), date(2020, 6, 11))
    assert repair_earliest(f, RULES) == date(2020, 6, 11)


def test_2019_serious_six_months_to_three_years():
    f = facts(date(2021, 6, 15), SERIOUS)
    assert_window(f, date(2024, 6, 15), "ndrc-2019-527")
    # 6 months under 2019; 58号令's 3 months applies to it only from 2023-05-01, by then later
    assert repair_earliest(f, RULES) == date(2021, 12, 16)


def test_2019_minor_counts_as_general():
    assert_window(facts(date(2020, 1, 20), MINOR), date(2021, 1, 20), "ndrc-2019-527")


def test_2019_serious_repair_moved_earlier_by_2023_from_its_effective_date():
    # decided 2023-03-01 (2019 rule: min 6 months → 2023-09-01); 58号令 (min 3 months) is in
    # force from 2023-05-01 and is milder: repair from 2023-06-02.
    f = facts(date(2023, 3, 1), SERIOUS)
    assert repair_earliest(f, RULES) == date(2023, 6, 2)
    # ... but never before 58号令 is in force
    g = facts(date(2023, 1, 10), SERIOUS)
    assert repair_earliest(g, RULES) == date(2023, 5, 1)


def test_regime_boundary_2023_04_30_and_05_01():
    before = disclosure_decision(facts(date(2023, 4, 30), GENERAL), date(2023, 5, 1), RULES)
    after = disclosure_decision(facts(date(2023, 5, 1), GENERAL), date(2023, 5, 1), RULES)
    assert before.regimes[0] == "ndrc-2019-527"
    assert before.window_end == date(2024, 4, 30)  # 1 year
    assert after.regimes[0] == "ndrc-2023-58"
    assert after.window_end == date(2026, 3, 31)  # 3 years, cut by the 2026 general maximum


# ---------------------------------------------------------------------------- 2023 regime


def test_2023_serious_three_years():
    f = facts(date(2024, 5, 20), SERIOUS)
    assert_window(f, date(2027, 5, 20), "ndrc-2023-58")
    assert repair_earliest(f, RULES) == date(2024, 8, 21)  # 3 months, then the next day


def test_2023_general_is_cut_on_2026_03_31_by_the_milder_2026_rule():
    # 58号令 alone: 3 years (2027-05-20). 信用修复管理办法: general at most 1 year (2025-05-20,
    # already past), so it comes down the day before the new rule is in force.
    f = facts(date(2024, 5, 20), GENERAL)
    assert_window(f, date(2026, 3, 31), "ndrc-2025-36")
    assert visible(f, date(2026, 3, 31))
    assert not visible(f, date(2026, 4, 1))
    dec = disclosure_decision(f, date(2026, 4, 1), RULES)
    assert "window ended 2026-03-31" in dec.reason
    assert dec.regimes == ("ndrc-2023-58", "ndrc-2025-36")


def test_2023_minor_goes_down_when_the_2026_rule_starts():
    f = facts(date(2026, 1, 15), MINOR)
    assert_window(f, date(2026, 3, 31), "ndrc-2025-36")
    assert repair_earliest(f, RULES) == date(2026, 4, 1)


def test_decided_on_2026_03_31_and_2026_04_01():
    last_old = facts(date(2026, 3, 31), MINOR)
    assert disclosure_decision(last_old, date(2026, 3, 31), RULES).visible  # its only day
    assert not visible(last_old, date(2026, 4, 1))
    first_new = facts(date(2026, 4, 1), MINOR)
    dec = disclosure_decision(first_new, date(2026, 4, 1), RULES)
    assert not dec.visible
    assert dec.window_end is None
    assert dec.regimes == ("ndrc-2025-36",)
    assert "not disclosed" in dec.reason


@pytest.mark.parametrize("domain", ["special_equipment", "work_safety", "fire"])
def test_2023_special_domains_raise_the_minimum_to_one_year(domain):
    plain = facts(date(2024, 2, 1), SERIOUS)
    special = facts(date(2024, 2, 1), SERIOUS, domains=frozenset({domain}))
    assert repair_earliest(plain, RULES) == date(2024, 5, 2)
    assert repair_earliest(special, RULES) == date(2025, 2, 2)
    dec = disclosure_decision(special, date(2025, 2, 1), RULES)
    assert dec.min_end == date(2025, 2, 1)
    assert dec.repair_from == date(2025, 2, 2)
    # the domain changes when a repair may start, never how long the record is shown
    assert dec.window_end == disclosure_decision(plain, date(2025, 2, 1), RULES).window_end


def test_special_domain_minimum_yields_to_the_milder_2026_rule_from_its_start():
    # fire, general, decided 2025-06-10: 58号令 → repair from 2026-06-11; 2026 rule (general,
    # 3 months, no domain rule) is milder and in force from 2026-04-01.
    f = facts(date(2025, 6, 10), GENERAL, domains=frozenset({"fire"}))
    assert repair_earliest(f, RULES) == date(2026, 4, 1)


def test_unknown_domain_is_refused():
    f = facts(date(2024, 2, 1), SERIOUS, domains=frozenset({"nuclear"}))
    with pytest.raises(DisclosureError, match="unknown disclosure domain"):
        disclosure_decision(f, date(2024, 3, 1), RULES)
    with pytest.raises(DisclosureError):
        repair_earliest(f, RULES)


# ---------------------------------------------------------------------------- 2026 regime


def test_2026_general_three_months_to_one_year():
    f = facts(date(2026, 4, 1), GENERAL)
    assert_window(f, date(2027, 4, 1), "ndrc-2025-36")
    dec = disclosure_decision(f, date(2026, 7, 1), RULES)
    assert (dec.min_end, dec.repair_from) == (date(2026, 7, 1), date(2026, 7, 2))


def test_2026_serious_one_to_three_years():
    f = facts(date(2026, 5, 31), SERIOUS)
    assert_window(f, date(2029, 5, 31), "ndrc-2025-36")
    assert repair_earliest(f, RULES) == date(2027, 6, 1)


def test_2026_minor_not_disclosed_and_repairable_at_once():
    f = facts(date(2026, 6, 1), MINOR)
    for on in (date(2026, 6, 1), date(2026, 6, 2), date(2026, 9, 1)):
        assert not visible(f, on)
    assert repair_earliest(f, RULES) == date(2026, 6, 1)


def test_2026_minor_up_to_three_months_when_configured():
    text = TEXT.replace(
        "[disclosure.regime.class.minor]\nmin_months = 0\nmax_months = 0",
        "[disclosure.regime.class.minor]\nmin_months = 0\nmax_months = 3",
    )
    rules = load_lifecycle_text(text)
    f = facts(date(2026, 6, 1), MINOR)
    assert disclosure_decision(f, date(2026, 9, 1), rules).visible
    assert not disclosure_decision(f, date(2026, 9, 2), rules).visible


def test_non_retroactive_2026_rule_leaves_earlier_records_alone():
    text = TEXT.replace(
        "effective_from = 2026-04-01\n# (unconfirmed)", "effective_from = 2026-04-01\n# X"
    ).replace(
        "Set false to keep earlier records under their own regime.\nretroactive = true",
        "Set false to keep earlier records under their own regime.\nretroactive = false",
    )
    rules = load_lifecycle_text(text)
    f = facts(date(2024, 5, 20), GENERAL)
    dec = disclosure_decision(f, date(2026, 4, 1), rules)
    assert dec.visible
    assert dec.window_end == date(2027, 5, 20)
    assert dec.regimes == ("ndrc-2023-58",)


# ---------------------------------------------------------------------------- other limits


def test_shandong_five_year_cap_from_the_end_of_the_act():
    # act ended 2020-03-01, penalty decided 2023-06-01 (3 years → 2026-06-01); the cap ends the
    # window 5 years after the act: 2025-03-01.
    f = facts(date(2023, 6, 1), SERIOUS, end_of_act=date(2020, 3, 1))
    assert_window(f, date(2025, 3, 1), "cap")
    dec = disclosure_decision(f, date(2025, 3, 2), RULES)
    assert "山东省社会信用条例" in dec.citation


def test_cap_before_the_decision_means_never_shown():
    f = facts(date(2024, 6, 1), SERIOUS, end_of_act=date(2019, 1, 1))
    dec = disclosure_decision(f, date(2024, 6, 1), RULES)
    assert not dec.visible
    assert dec.window_end is None


def test_the_records_own_end_date_limits_the_window():
    f = facts(date(2024, 5, 20), SERIOUS, declared_end=date(2025, 5, 20))
    assert_window(f, date(2025, 5, 20), "record")


def test_the_most_restrictive_rule_wins():
    # four limits at once; the earliest decides
    f = facts(
        date(2024, 5, 20),
        GENERAL,
        end_of_act=date(2021, 1, 10),  # cap: 2026-01-10
        declared_end=date(2026, 2, 1),
    )
    dec = disclosure_decision(f, date(2025, 1, 1), RULES)
    assert (dec.window_end, dec.rule_id) == (date(2026, 1, 10), "cap")
    g = facts(date(2024, 5, 20), GENERAL, declared_end=date(2026, 5, 1))
    assert disclosure_decision(g, date(2025, 1, 1), RULES).window_end == date(2026, 3, 31)


def test_unknown_severity_gets_the_shortest_window_of_any_class():
    f = facts(date(2020, 3, 10), None)  # 2019: minor/general 1 year, serious 3
    dec = disclosure_decision(f, date(2020, 4, 1), RULES)
    assert dec.window_end == date(2021, 3, 10)
    assert dec.min_end is None and dec.repair_from is None
    assert "severity unknown" in dec.reason
    # from 2026-04-01 an unclassified record could be minor: not shown
    g = facts(date(2024, 5, 20), None)
    assert disclosure_decision(g, date(2026, 3, 31), RULES).visible
    assert not disclosure_decision(g, date(2026, 4, 1), RULES).visible
    assert not disclosure_decision(facts(date(2026, 5, 1), None), date(2026, 5, 1), RULES).visible


def test_repair_needs_a_severity():
    with pytest.raises(DisclosureError, match="severity") as exc:
        repair_earliest(facts(date(2024, 5, 20), None), RULES)
    assert exc.value.hint


def test_no_regime_before_2019_07_01_means_not_shown():
    f = facts(date(2019, 6, 30), SERIOUS)
    dec = disclosure_decision(f, date(2019, 7, 1), RULES)
    assert not dec.visible
    assert dec.rule_id == "none"
    assert "no disclosure regime" in dec.reason
    with pytest.raises(DisclosureError, match="no disclosure regime"):
        repair_earliest(f, RULES)


_SEVERITIES = st.sampled_from([MINOR, GENERAL, SERIOUS, None])
_DECIDED = st.dates(min_value=date(2019, 7, 1), max_value=date(2028, 12, 31))


@given(_DECIDED, _SEVERITIES, st.integers(0, 2000), st.integers(0, 2000))
def test_once_down_a_record_never_comes_back(decided, severity, a, b):
    f = facts(decided, severity)
    first, second = sorted((decided + timedelta(days=a), decided + timedelta(days=b)))
    d1 = disclosure_decision(f, first, RULES)
    d2 = disclosure_decision(f, second, RULES)
    assert d1.window_end == d2.window_end  # the window does not depend on the as-of date
    if not d1.visible:
        assert not d2.visible
    if d1.window_end is not None:
        assert d1.window_end <= add_months(decided, 36)  # no regime shows longer than 3 years
        assert d1.visible == (first <= d1.window_end)


@given(_DECIDED, st.sampled_from([MINOR, GENERAL, SERIOUS]))
def test_repair_never_before_the_decision(decided, severity):
    f = facts(decided, severity)
    assert repair_earliest(f, RULES) >= decided


# ---------------------------------------------------------------------------- retention


def test_retention_from_the_decision_date_by_default():
    r = retention_end(facts(date(2024, 5, 20), SERIOUS), RULES)
    assert (r.keep_until, r.act_end, r.basis) == (
        date(2029, 5, 20),
        date(2024, 5, 20),
        "处罚决定日期",
    )
    assert not r.expired(date(2029, 5, 20))
    assert r.expired(date(2029, 5, 21))
    assert "征信业管理条例 第十六条" in r.citation


def test_retention_from_the_penalty_end_date():
    r = retention_end(facts(date(2024, 5, 20), SERIOUS, valid_until=date(2025, 1, 31)), RULES)
    assert (r.keep_until, r.basis) == (date(2030, 1, 31), "处罚有效期")


def test_retention_ignores_a_penalty_end_before_the_decision():
    r = retention_end(facts(date(2024, 5, 20), GENERAL, valid_until=date(2024, 1, 1)), RULES)
    assert r.keep_until == date(2029, 5, 20)


def test_retention_from_an_explicit_end_of_act_wins():
    f = facts(
        date(2024, 5, 20), GENERAL, valid_until=date(2025, 1, 31), end_of_act=date(2024, 2, 29)
    )
    r = retention_end(f, RULES)
    assert (r.keep_until, r.basis) == (date(2029, 2, 28), "end of act given")


def test_long_term_penalty_is_never_destroyed_automatically():
    f = facts(date(2024, 5, 20), SERIOUS, valid_until=date(2099, 12, 31))
    r = retention_end(f, RULES)
    assert r.keep_until is None
    assert not r.expired(date(2200, 1, 1))
    assert "review" in r.basis
    # and the 5-year cap, which needs an end of act, does not apply; the regime maximum does
    assert disclosure_decision(f, date(2024, 6, 1), RULES).window_end == date(2027, 5, 20)


@pytest.mark.parametrize("days", [0, 30, 179, 180, 181, 183])
def test_audit_log_retention_below_six_months_is_refused(days):
    with pytest.raises(RetentionTooShort) as exc:
        validate_retention_days(days)
    assert isinstance(exc.value, UsageError)
    assert "网络安全法 第二十一条" in exc.value.message
    assert exc.value.hint


@pytest.mark.parametrize("days", [184, 365, 3650])
def test_audit_log_retention_of_six_months_or_more_is_accepted(days):
    assert validate_retention_days(days) == days


@pytest.mark.parametrize("days", [True, 200.0, "200"])
def test_audit_log_retention_must_be_a_whole_number(days):
    with pytest.raises(RetentionTooShort):
        validate_retention_days(days)


def test_180_days_is_shorter_than_six_months_from_every_start():
    # why the floor is 184, not 180: six calendar months never span fewer than 181 days
    start = date(2025, 1, 1)
    for i in range(366 * 4):
        d = start + timedelta(days=i)
        assert (add_months(d, 6) - d).days > 180
        assert (add_months(d, 6) - d).days <= AUDIT_LOG_MIN_DAYS


# ---------------------------------------------------------------------------- objections


@pytest.mark.parametrize(
    ("received", "track", "deadline"),
    [
        (date(2025, 9, 30), DisputeTrack.OWN_DATA, date(2025, 10, 11)),
        (date(2025, 9, 30), DisputeTrack.ASSISTED, date(2025, 10, 16)),
        (date(2025, 9, 12), DisputeTrack.CREDIT_REPORTING, date(2025, 10, 9)),
        (date(2026, 2, 12), DisputeTrack.OWN_DATA, date(2026, 2, 24)),
        (date(2026, 2, 12), DisputeTrack.ASSISTED, date(2026, 2, 28)),
        (date(2026, 1, 27), DisputeTrack.CREDIT_REPORTING, date(2026, 2, 24)),
        (date(2025, 12, 30), DisputeTrack.OWN_DATA, date(2026, 1, 5)),
    ],
)
def test_dispute_deadlines(received, track, deadline):
    assert dispute_deadline(received, track, RULES, CAL) == deadline


def test_dispute_deadline_past_the_calendar_is_refused():
    with pytest.raises(CalendarRangeError):
        dispute_deadline(date(2026, 12, 24), DisputeTrack.ASSISTED, RULES, CAL)


# ---------------------------------------------------------------------------- from a row


def test_facts_from_a_penalty_row():
    row = {
        "处罚决定日期": "2024/05/20",
        "违法行为严重程度": "严重",
        "违法行为类型": "违反消防安全管理规定",
        "处罚依据": "《中华人民共和国消防法》第六十条",
        "处罚机关": "枣庄市消防救援支队",
        "处罚有效期": "20250131",
        "公示截止期": "",
    }
    f = facts_from_row(row, RULES.disclosure)
    assert f == PenaltyFacts(
        decision_date=date(2024, 5, 20),
        severity=SERIOUS,
        domains=frozenset({"fire"}),
        valid_until=date(2025, 1, 31),
    )


@pytest.mark.parametrize(
    ("texts", "domains"),
    [
        (["违反《中华人民共和国特种设备安全法》第八十四条"], {"special_equipment"}),
        (["", "枣庄市应急管理局"], {"work_safety"}),
        (["未按规定检验电梯", "消防通道堵塞"], {"special_equipment", "fire"}),
        (["未按规定公示价格"], set()),
        ([], set()),
    ],
)
def test_classify_domains(texts, domains):
    assert classify_domains(texts, RULES.disclosure) == frozenset(domains)


@pytest.mark.parametrize(
    ("label", "severity"),
    [("轻微", MINOR), ("一般", GENERAL), (" 严重 ", SERIOUS), ("general", GENERAL), ("", None)],
)
def test_severity_labels(label, severity):
    assert severity_from_label(label, RULES.disclosure) is severity


@pytest.mark.parametrize(
    ("row", "needle"),
    [
        ({"违法行为严重程度": "严重"}, "处罚决定日期 is empty"),
        ({"处罚决定日期": "2024-02-30"}, "处罚决定日期: not a date"),
        ({"处罚决定日期": "2024-05-20", "处罚有效期": "明年"}, "处罚有效期: not a date"),
        ({"处罚决定日期": "2024-05-20", "违法行为严重程度": "很严重"}, "违法行为严重程度"),
    ],
)
def test_bad_rows_are_refused_without_echoing_values(row, needle):
    with pytest.raises(DisclosureError) as exc:
        facts_from_row(row, RULES.disclosure)
    assert needle in exc.value.message
    for value in row.values():
        if value not in ("严重",):  # 严重 is inside the column name 违法行为严重程度
            assert value not in exc.value.message


# ---------------------------------------------------------------------------- the checker


def _errors(text: str) -> list[tuple[str, str, int | None]]:
    with pytest.raises(PolicyError) as exc:
        load_lifecycle_text(text, "l.toml")
    return [(p.path, p.message, p.line) for p in exc.value.problems if p.severity == "error"]


def _line(text: str, needle: str, after: str = "") -> int:
    start = text.index(after) if after else 0
    return text[: text.index(needle, start)].count("\n") + 1


def _one(text: str, path: str, words: str) -> int | None:
    errs = _errors(text)
    hits = [e for e in errs if e[0] == path and words in e[1]]
    assert hits, errs
    return hits[0][2]


def test_unknown_key_in_a_class_is_named_with_its_path_and_line():
    text = TEXT.replace(
        "[disclosure.regime.class.general]\nmin_months = 3\nmax_months = 12\n",
        "[disclosure.regime.class.general]\nmin_months = 3\nmax_months = 12\nmax_years = 1\n",
        1,
    )
    line = _one(text, "disclosure.regime[0](ndrc-2019-527).class.general.max_years", "unknown key")
    assert line == _line(text, "max_years = 1")


def test_overlapping_regimes():
    text = TEXT.replace("effective_from = 2023-05-01", "effective_from = 2023-04-01")
    line = _one(text, "disclosure.regime[1](ndrc-2023-58).effective_from", "overlaps")
    assert line == _line(text, "effective_from = 2023-04-01")


def test_an_open_ended_regime_before_another_overlaps():
    text = TEXT.replace("effective_until = 2026-03-31\n", "")
    _one(text, "disclosure.regime[2](ndrc-2025-36).effective_from", "overlaps regime ndrc-2023-58")


def test_a_gap_between_regimes_is_a_warning():
    text = TEXT.replace("effective_until = 2023-04-30", "effective_until = 2023-03-31")
    rules, problems = check_lifecycle(_tables(text))
    assert rules is not None
    assert [(p.severity, p.path) for p in problems] == [
        ("warning", "disclosure.regime[1](ndrc-2023-58).effective_from")
    ]
    # a record decided in the gap is not shown
    f = facts(date(2023, 4, 15), SERIOUS)
    assert not disclosure_decision(f, date(2023, 4, 15), rules).visible


def test_minimum_above_maximum():
    text = TEXT.replace(
        "[disclosure.regime.class.serious]\nmin_months = 6\nmax_months = 36",
        "[disclosure.regime.class.serious]\nmin_months = 48\nmax_months = 36",
    )
    _one(text, "disclosure.regime[0](ndrc-2019-527).class.serious.min_months", "exceeds maximum")


def test_minimum_for_an_undisclosed_class():
    text = TEXT.replace(
        "[disclosure.regime.class.minor]\nmin_months = 0\nmax_months = 0",
        "[disclosure.regime.class.minor]\nmin_months = 3\nmax_months = 0",
    )
    _one(text, "disclosure.regime[2](ndrc-2025-36).class.minor.min_months", "not disclosed")


def test_domain_minimum_above_a_class_maximum():
    text = TEXT.replace(
        "retroactive = true\n\n# The 2019 notice",
        "retroactive = true\ndomain_min_months = { fire = 24 }\n\n# The 2019 notice",
    )
    _one(text, "disclosure.regime[0](ndrc-2019-527).domain_min_months.fire", "exceeds the minor")


def test_unknown_domain_in_a_regime():
    text = TEXT.replace("fire = 12 }", "fire = 12, nuclear = 12 }")
    _one(text, "disclosure.regime[1](ndrc-2023-58).domain_min_months.nuclear", "unknown domain")


def test_missing_class():
    text = TEXT.replace("[disclosure.regime.class.serious]\nmin_months = 12\nmax_months = 36\n", "")
    _one(text, "disclosure.regime[2](ndrc-2025-36).class", "class serious is missing")


def test_unknown_class():
    text = TEXT.replace(
        "[disclosure.regime.class.minor]\nmin_months = 3\nmax_months = 12",
        "[disclosure.regime.class.petty]\nmin_months = 3\nmax_months = 12",
        1,
    )
    errs = _errors(text)
    assert ("disclosure.regime[0](ndrc-2019-527).class.petty") in [e[0] for e in errs]


def test_dates_backwards():
    text = TEXT.replace("effective_until = 2023-04-30", "effective_until = 2019-01-01")
    _one(text, "disclosure.regime[0](ndrc-2019-527).effective_until", "before it starts")


def test_a_date_time_is_not_a_day():
    text = TEXT.replace("effective_from = 2019-07-01", "effective_from = 2019-07-01T00:00:00")
    _one(text, "disclosure.regime[0](ndrc-2019-527).effective_from", "must be a date")


def test_duplicate_regime_id():
    text = TEXT.replace('id = "ndrc-2023-58"', 'id = "ndrc-2019-527"')
    _one(text, "disclosure.regime[1](ndrc-2019-527).id", "duplicate regime id")


def test_audit_log_days_below_the_floor():
    text = TEXT.replace("audit_log_days = 184", "audit_log_days = 180")
    line = _one(text, "retention.audit_log_days", "below the legal floor")
    assert line == _line(text, "audit_log_days = 180")


@pytest.mark.parametrize(
    ("old", "new", "path", "words"),
    [
        ("cap_years = 5", "cap_years = true", "disclosure.cap_years", "whole number"),
        ("cap_years = 5", "cap_years = 0", "disclosure.cap_years", "at least 1"),
        ("negative_years = 5", "negative_years = 0", "retention.negative_years", "at least 1"),
        (
            "own_data_working_days = 3",
            "own_data_working_days = 0",
            "dispute.own_data_working_days",
            "at least 1",
        ),
        ('"严重" = "serious"', '"严重" = "grave"', "disclosure.severity_labels.严重", "unknown"),
        (
            'label = "消防"\n',
            'label = "消防"\ncolour = "red"\n',
            "disclosure.domain.fire.colour",
            "unknown key",
        ),
        ('keywords = ["消防"]', "keywords = []", "disclosure.domain.fire.keywords", "at least one"),
        (
            "long_term_dates = [2099-12-31]",
            'long_term_dates = ["长期"]',
            "retention.long_term_dates[0]",
            "must be a date",
        ),
        ("[dispute]\n", "[dispute]\nreply_days = 3\n", "dispute.reply_days", "unknown key"),
    ],
)
def test_value_errors_have_paths(old, new, path, words):
    assert old in TEXT
    _one(TEXT.replace(old, new, 1), path, words)


def test_missing_and_unknown_tables():
    rules, problems = check_lifecycle({"retension": {}})
    assert rules is None
    got = {(p.path, p.message) for p in problems}
    assert (
        "retension",
        "unknown lifecycle table 'retension'; allowed: disclosure, retention, dispute",
    ) in got
    for table in LIFECYCLE_KEYS:
        assert (table, "this table is required") in got


def test_assisted_shorter_than_own_is_a_warning():
    text = TEXT.replace("assisted_working_days = 7", "assisted_working_days = 2")
    rules = load_lifecycle_text(text)
    assert rules.dispute.assisted_working_days == 2
    _, problems = check_lifecycle(_tables(text))
    assert [p.severity for p in problems] == ["warning"]


def test_prefix_and_line_of_are_passed_through():
    data = tomllib.loads(TEXT.replace("cap_years = 5", "cap_years = -1"))
    _, problems = check_lifecycle(
        {k: data[k] for k in LIFECYCLE_KEYS}, prefix=("policy",), line_of=lambda p: len(p)
    )
    (p,) = [p for p in problems if p.severity == "error"]
    assert p.path == "policy.disclosure.cap_years"
    assert p.line == 3


def test_not_toml():
    with pytest.raises(PolicyError, match="not valid TOML"):
        load_lifecycle_text("[disclosure", "x.toml")
