"""Working-day calendar: holidays, make-up working days, deadlines, and the refusal of years the
data does not cover (issue 7, part 2; docs/disclosure.md §5)."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from xinan.errors import CalendarError, CalendarRangeError, XinanError
from xinan.policy.calendar import WorkCalendar

CAL = WorkCalendar.default()
DATA = Path(__file__).resolve().parents[2] / "xinan" / "data" / "cn-holidays-2025-2026.json"
SHARED = Path("/work/shared/vectors/cn-holidays-2025-2026.json")


def test_default_calendar_covers_2025_and_2026():
    assert CAL.covered_years == (2025, 2026)
    assert CAL.source.endswith("cn-holidays-2025-2026.json")


def test_package_data_keeps_provenance():
    raw = json.loads(DATA.read_text(encoding="utf-8"))
    assert raw["format"] == "xinan-workcalendar/1"
    assert "国办发明电〔2024〕12号" in raw["source"]
    assert "2026年部分节假日安排" in raw["source"]


@pytest.mark.skipif(not SHARED.exists(), reason="shared vectors not mounted")
def test_package_data_is_the_shared_vector():
    ours = json.loads(DATA.read_text(encoding="utf-8"))
    theirs = json.loads(SHARED.read_text(encoding="utf-8"))
    for key in ("source", "notes", "years"):
        assert ours[key] == theirs[key]


# --------------------------------------------------------------------------- day by day


@pytest.mark.parametrize(
    ("d", "working"),
    [
        (date(2025, 9, 26), True),  # Friday
        (date(2025, 9, 27), False),  # Saturday
        (date(2025, 9, 28), True),  # Sunday, make-up day for 国庆
        (date(2025, 10, 1), False),  # 国庆节
        (date(2025, 10, 6), False),  # 中秋节 inside the merged block
        (date(2025, 10, 8), False),  # last day of the block (a Wednesday)
        (date(2025, 10, 9), True),
        (date(2025, 10, 11), True),  # Saturday, make-up day
        (date(2025, 10, 12), False),  # Sunday
        (date(2026, 1, 4), True),  # Sunday, make-up day for 元旦
        (date(2026, 2, 14), True),  # Saturday, make-up day for 春节
        (date(2026, 2, 16), False),  # 春节 (a Monday)
        (date(2026, 2, 23), False),  # last day of 春节 (a Monday)
        (date(2026, 2, 28), True),  # Saturday, make-up day
        (date(2026, 9, 25), False),  # 中秋节 2026 (a Friday)
    ],
)
def test_is_working_day(d, working):
    assert CAL.is_working_day(d) is working


def test_holidays_include_weekend_days_of_a_block():
    assert CAL.is_holiday(date(2025, 10, 4))  # Saturday inside 国庆
    assert not CAL.is_holiday(date(2025, 10, 12))  # an ordinary Sunday
    assert not CAL.is_holiday(date(2025, 9, 28))  # a make-up working day


# --------------------------------------------------------------------------- deadlines


@pytest.mark.parametrize(
    ("start", "n", "deadline"),
    [
        # 国庆节/中秋节 2025 (10-01..10-08, make-up 09-28 and 10-11)
        (date(2025, 9, 30), 3, date(2025, 10, 11)),  # 10-09, 10-10, Saturday 10-11
        (date(2025, 9, 30), 7, date(2025, 10, 16)),
        (date(2025, 9, 26), 1, date(2025, 9, 28)),  # Sunday make-up day counts
        (date(2025, 9, 26), 3, date(2025, 9, 30)),  # 09-28, 09-29, 09-30
        (date(2025, 9, 26), 7, date(2025, 10, 13)),  # ... 10-09, 10-10, 10-11, Monday 10-13
        (date(2025, 10, 10), 1, date(2025, 10, 11)),  # Friday → make-up Saturday
        # 春节 2026 (02-15..02-23, make-up 02-14 and 02-28)
        (date(2026, 2, 12), 3, date(2026, 2, 24)),  # 02-13, Saturday 02-14, Tuesday 02-24
        (date(2026, 2, 12), 7, date(2026, 2, 28)),  # ends on the make-up Saturday
        (date(2026, 2, 13), 1, date(2026, 2, 14)),
        # year boundary 2025 → 2026 (元旦 01-01..01-03, make-up Sunday 01-04)
        (date(2025, 12, 30), 3, date(2026, 1, 5)),  # 12-31, 01-04, 01-05
        (date(2025, 12, 31), 1, date(2026, 1, 4)),
        # day 0 is returned as is
        (date(2025, 10, 3), 0, date(2025, 10, 3)),
    ],
)
def test_add_working_days(start, n, deadline):
    assert CAL.add_working_days(start, n) == deadline
    assert CAL.working_days_between(start, deadline) == n


@pytest.mark.parametrize(
    ("start", "deadline"),
    [
        (date(2025, 10, 1), date(2025, 10, 11)),  # received on 国庆节
        (date(2025, 10, 3), date(2025, 10, 11)),  # received on a holiday Friday
        (date(2025, 10, 4), date(2025, 10, 11)),  # received on a Saturday inside the block
        (date(2026, 2, 17), date(2026, 2, 26)),  # received during 春节 2026
    ],
)
def test_start_on_a_holiday_counts_from_the_next_working_day(start, deadline):
    # 民法典 第二百零一条: the start day is not counted, whatever kind of day it is.
    assert CAL.add_working_days(start, 3) == deadline


@pytest.mark.parametrize(
    ("start", "deadline"),
    [
        (date(2025, 9, 20), date(2025, 10, 10)),  # lands on a working Friday
        (date(2025, 9, 12), date(2025, 10, 9)),  # lands on 10-02 (国庆) → first working day
        (date(2025, 9, 8), date(2025, 9, 28)),  # lands on a make-up Sunday: a working day
        (date(2026, 1, 27), date(2026, 2, 24)),  # lands on 02-16 (春节) → 02-24
        (date(2025, 12, 15), date(2026, 1, 4)),  # crosses the year, lands on make-up Sunday
        (date(2025, 6, 1), date(2025, 6, 23)),  # lands on Saturday 06-21 → Monday
    ],
)
def test_twenty_calendar_days_credit_reporting(start, deadline):
    # 征信业管理条例 第二十五条: 自收到异议之日起20日内;
    # 民法典 第二百零三条 moves a last day that is not a working day to the next working day.
    assert CAL.add_calendar_days(start, 20) == deadline


def test_calendar_days_without_rolling_are_plain_arithmetic():
    assert CAL.add_calendar_days(date(2025, 9, 12), 20, roll_forward=False) == date(2025, 10, 2)
    # no calendar needed: works in an uncovered year
    assert CAL.add_calendar_days(date(2027, 3, 1), 20, roll_forward=False) == date(2027, 3, 21)


def test_working_days_between_is_signed():
    assert CAL.working_days_between(date(2025, 10, 11), date(2025, 9, 30)) == -3
    assert CAL.working_days_between(date(2025, 10, 1), date(2025, 10, 8)) == 0
    assert CAL.working_days_between(date(2025, 9, 30), date(2025, 9, 30)) == 0


def test_next_working_day():
    assert CAL.next_working_day(date(2025, 9, 30)) == date(2025, 10, 9)
    assert CAL.next_working_day(date(2026, 2, 13)) == date(2026, 2, 14)


def test_negative_counts_are_refused():
    with pytest.raises(ValueError):
        CAL.add_working_days(date(2025, 1, 6), -1)
    with pytest.raises(ValueError):
        CAL.add_calendar_days(date(2025, 1, 6), -1)


# --------------------------------------------------------------------------- fail closed


def test_a_count_into_an_uncovered_year_is_refused():
    # 12-30 and 12-31 count; 2027-01-01 is unknown (元旦 2027 not in the data) → refuse.
    with pytest.raises(CalendarRangeError) as exc:
        CAL.add_working_days(date(2026, 12, 29), 3)
    err = exc.value
    assert isinstance(err, XinanError)
    assert err.year == 2027
    assert err.covered == (2025, 2026)
    assert "2027" in err.message
    assert "2027年部分节假日安排" in (err.hint or "")
    assert "update the calendar data" in (err.hint or "")


@pytest.mark.parametrize(
    ("call", "year"),
    [
        (lambda: CAL.is_working_day(date(2024, 12, 31)), 2024),
        (lambda: CAL.is_working_day(date(2027, 1, 6)), 2027),  # an ordinary Wednesday
        (lambda: CAL.is_holiday(date(2027, 1, 1)), 2027),
        (lambda: CAL.next_working_day(date(2026, 12, 31)), 2027),
        (lambda: CAL.add_calendar_days(date(2026, 12, 20), 20), 2027),  # 2027-01-09 is checked
        (lambda: CAL.working_days_between(date(2024, 12, 30), date(2025, 1, 3)), 2024),
    ],
)
def test_uncovered_years_are_refused(call, year):
    with pytest.raises(CalendarRangeError) as exc:
        call()
    assert exc.value.year == year


def test_a_start_outside_the_data_is_fine_when_only_covered_days_are_counted():
    # the start day is day 0 and never looked up
    assert CAL.add_working_days(date(2024, 12, 31), 1) == date(2025, 1, 2)


# --------------------------------------------------------------------------- loading


def _doc(**years: dict[str, list[str]]) -> dict[str, object]:
    return {"format": "xinan-workcalendar/1", "source": "test", "years": years}


def test_a_calendar_of_your_own():
    cal = WorkCalendar.from_json(
        json.dumps(_doc(**{"2027": {"holidays": ["2027-01-01"], "workdays": ["2027-01-02"]}}))
    )
    assert cal.covered_years == (2027,)
    assert not cal.is_working_day(date(2027, 1, 1))  # Friday, holiday
    assert cal.is_working_day(date(2027, 1, 2))  # Saturday, make-up day


@pytest.mark.parametrize(
    ("doc", "needle"),
    [
        ({"years": {}}, "format"),
        ({**_doc(), "source": ""}, "source"),
        (_doc(), "at least one year"),
        (_doc(**{"25": {"holidays": []}}), "four digits"),
        (_doc(**{"2025": {"holidays": ["2025-13-01"]}}), "not a YYYY-MM-DD"),
        (_doc(**{"2025": {"holidays": ["2026-01-01"]}}), "not in 2025"),
        (_doc(**{"2025": {"holidays": ["2025-01-01", "2025-01-01"]}}), "listed twice"),
        (_doc(**{"2025": {"workdays": ["2025-09-29"]}}), "is a weekday"),
        (
            _doc(**{"2025": {"holidays": ["2025-09-28"], "workdays": ["2025-09-28"]}}),
            "both a holiday and a make-up",
        ),
        (_doc(**{"2025": {"holidays": [], "extra": []}}), "only holidays and workdays"),
    ],
)
def test_bad_calendar_data_is_refused(doc, needle):
    with pytest.raises(CalendarError) as exc:
        WorkCalendar.from_mapping(doc, "bad.json")
    assert needle in exc.value.message
    assert "bad.json" in exc.value.message


def test_not_json_is_refused():
    with pytest.raises(CalendarError, match="not valid JSON"):
        WorkCalendar.from_json("{", "x.json")


# --------------------------------------------------------------------------- properties

_DAYS = st.dates(min_value=date(2025, 1, 1), max_value=date(2026, 11, 30))


@given(_DAYS, st.integers(min_value=1, max_value=20))
def test_add_working_days_lands_on_a_working_day_and_inverts(d, n):
    end = CAL.add_working_days(d, n)
    assert CAL.is_working_day(end)
    assert end > d
    assert CAL.working_days_between(d, end) == n
    # the deadline is the first day on which n working days have passed
    assert CAL.working_days_between(d, end - timedelta(days=1)) == n - 1


@given(
    st.dates(min_value=date(2025, 1, 1), max_value=date(2026, 10, 31)),
    st.integers(min_value=0, max_value=15),
    st.integers(min_value=0, max_value=15),
)
def test_working_days_compose(d, a, b):
    assert CAL.add_working_days(CAL.add_working_days(d, a), b) == CAL.add_working_days(d, a + b)


@given(_DAYS, st.integers(min_value=0, max_value=30))
def test_calendar_deadline_is_a_working_day_no_earlier_than_the_plain_date(d, n):
    end = CAL.add_calendar_days(d, n)
    assert CAL.is_working_day(end)
    assert end >= d + timedelta(days=n)
