"""Working days in mainland China: public holidays and make-up working days kept as data.

This module owns the working-day calendar and the arithmetic of periods counted on it
(objection deadlines, docs/disclosure.md §5). It does not know what a deadline is *for*: the
lengths (3 or 7 working days, 20 days) are policy values read by :mod:`xinan.policy.periods`.

The calendar is data, never a rule: the State Council publishes each year's schedule in
November (国务院办公厅关于XXXX年部分节假日安排的通知), with holidays that move weekends around
(调休) and weekend days that become working days (make-up days, 调休上班). A year that is not
in the data is refused (:class:`CalendarRangeError`): treating an unknown year's holidays as
working days would make a deadline fall early, silently.

Counting rule (docs/disclosure.md §5.1): the day a period starts from (receipt of an objection)
is day 0 and is not counted; the deadline of ``n`` working days is the n-th working day after
it. 民法典 第二百零一条: 按照年、月、日计算期间的，开始的当日不计入，自下一日开始计算;
民事诉讼法 (期间): 期间开始的时和日，不计算在期间内. A period in calendar days whose last day
is not a working day ends on the next working day (民法典 第二百零三条).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from importlib import resources
from types import MappingProxyType
from typing import Any

from xinan.errors import (  # re-exported: the classes live in xinan.errors
    CalendarError,
    CalendarRangeError,
)

FORMAT = "xinan-workcalendar/1"
DEFAULT_CALENDAR_NAME = "cn-holidays-2025-2026.json"
_ONE_DAY = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class YearSchedule:
    """One year's official schedule: days off (weekend days inside a block included) and
    weekend days that are working days (调休上班)."""

    holidays: frozenset[date]
    workdays: frozenset[date]


@dataclass(frozen=True, slots=True)
class WorkCalendar:
    """A working-day calendar for the years it covers; every method refuses other years."""

    years: Mapping[int, YearSchedule]
    source: str = "<memory>"

    # ---------------------------------------------------------------------------- loading

    @classmethod
    def default(cls) -> WorkCalendar:
        """The shipped calendar (package data ``xinan/data/cn-holidays-2025-2026.json``)."""
        return _default_calendar()

    @classmethod
    def from_json(cls, text: str | bytes, source: str = "<memory>") -> WorkCalendar:
        """Parse a ``xinan-workcalendar/1`` JSON document (see the shipped file)."""
        try:
            data = json.loads(text)
        except (ValueError, UnicodeDecodeError) as exc:
            raise CalendarError(f"{source}: not valid JSON: {exc}") from None
        return cls.from_mapping(data, source)

    @classmethod
    def from_mapping(cls, data: Any, source: str = "<memory>") -> WorkCalendar:
        """Build a calendar from parsed JSON; every problem found is named in one error."""
        problems: list[str] = []
        if not isinstance(data, dict):
            raise CalendarError(f"{source}: a calendar is a JSON object")
        if data.get("format") != FORMAT:
            problems.append(f"format must be {FORMAT!r}, got {data.get('format')!r}")
        if not isinstance(data.get("source"), str) or not data["source"].strip():
            problems.append("source (provenance: which notice, read from where) is required")
        raw_years = data.get("years")
        years: dict[int, YearSchedule] = {}
        if not isinstance(raw_years, dict) or not raw_years:
            problems.append("years must be an object with at least one year")
            raw_years = {}
        for key, raw in raw_years.items():
            if not (isinstance(key, str) and key.isdigit() and len(key) == 4):
                problems.append(f"years.{key}: a year key is four digits")
                continue
            year = int(key)
            if not isinstance(raw, dict) or set(raw) - {"holidays", "workdays"}:
                problems.append(f"years.{key}: only holidays and workdays are allowed")
                continue
            holidays = _dates(problems, f"years.{key}.holidays", raw.get("holidays"), year)
            workdays = _dates(problems, f"years.{key}.workdays", raw.get("workdays"), year)
            for d in sorted(holidays & workdays):
                problems.append(f"years.{key}: {d} is both a holiday and a make-up working day")
            for d in sorted(workdays):
                # A make-up working day (调休上班) is always a Saturday or Sunday; a weekday in
                # the list is a typo that would otherwise go unnoticed.
                if d.weekday() < 5:
                    problems.append(f"years.{key}.workdays: {d} is a weekday, not a make-up day")
            years[year] = YearSchedule(frozenset(holidays), frozenset(workdays))
        if problems:
            raise CalendarError(
                f"{source}: calendar invalid: " + "; ".join(problems),
                hint="fix the calendar file; each year lists holidays and workdays as YYYY-MM-DD",
            )
        return cls(MappingProxyType(dict(sorted(years.items()))), source)

    # ---------------------------------------------------------------------------- queries

    @property
    def covered_years(self) -> tuple[int, ...]:
        return tuple(self.years)

    def covers(self, d: date) -> bool:
        return d.year in self.years

    def _year(self, d: date) -> YearSchedule:
        try:
            return self.years[d.year]
        except KeyError:
            raise CalendarRangeError(d.year, self.covered_years, self.source) from None

    def is_holiday(self, d: date) -> bool:
        """Whether ``d`` is an official day off of a holiday block (weekend days inside it too)."""
        return d in self._year(d).holidays

    def is_working_day(self, d: date) -> bool:
        """Monday–Friday unless a holiday; Saturday/Sunday only when a make-up working day."""
        sched = self._year(d)
        if d in sched.workdays:
            return True
        return d.weekday() < 5 and d not in sched.holidays

    def next_working_day(self, d: date) -> date:
        """The first working day strictly after ``d``."""
        d += _ONE_DAY
        while not self.is_working_day(d):
            d += _ONE_DAY
        return d

    def add_working_days(self, start: date, n: int) -> date:
        """The n-th working day after ``start`` (``start`` itself is day 0 and never counted).

        ``start`` may be any day, a holiday included: counting begins on the next day (民法典
        第二百零一条). ``n == 0`` returns ``start``. Only the days counted over are looked up,
        so a start on 31 December of the last covered year raises as soon as the count needs
        the next year.
        """
        if n < 0:
            raise ValueError("n must be >= 0")
        d = start
        for _ in range(n):
            d = self.next_working_day(d)
        return d

    def working_days_between(self, start: date, end: date) -> int:
        """The number of working days in ``(start, end]``; negative when ``end < start``.

        The inverse of :meth:`add_working_days`:
        ``working_days_between(d, add_working_days(d, n)) == n`` for every n ≥ 0. A deadline
        has been missed on day ``t`` when ``working_days_between(deadline, t) > 0``.
        """
        if end < start:
            return -self.working_days_between(end, start)
        count = 0
        d = start + _ONE_DAY
        while d <= end:
            if self.is_working_day(d):
                count += 1
            d += _ONE_DAY
        return count

    def add_calendar_days(self, start: date, n: int, *, roll_forward: bool = True) -> date:
        """``start`` + ``n`` calendar days (``start`` is day 0), e.g. 征信业管理条例 第二十五条's
        "自收到异议之日起20日内".

        With ``roll_forward`` (the default), a last day that is not a working day moves to the
        next working day (民法典 第二百零三条: 期间的最后一日是法定休假日的，以法定休假日结束的次日
        为期间的最后一日); only then is the calendar consulted. Without it this is plain date
        arithmetic and works for any year.
        """
        if n < 0:
            raise ValueError("n must be >= 0")
        d = start + timedelta(days=n)
        if roll_forward and not self.is_working_day(d):
            d = self.next_working_day(d)
        return d


def _dates(problems: list[str], where: str, raw: Any, year: int) -> set[date]:
    if raw is None:
        raw = []
    if not isinstance(raw, list):
        problems.append(f"{where}: must be a list of YYYY-MM-DD dates")
        return set()
    out: set[date] = set()
    for i, item in enumerate(raw):
        try:
            if not isinstance(item, str) or len(item) != 10:
                raise ValueError
            d = date.fromisoformat(item)
        except ValueError:
            problems.append(f"{where}[{i}]: {item!r} is not a YYYY-MM-DD date")
            continue
        if d.year != year:
            problems.append(f"{where}[{i}]: {item} is not in {year}")
        elif d in out:
            problems.append(f"{where}[{i}]: {item} is listed twice")
        out.add(d)
    return out


@functools.cache
def _default_calendar() -> WorkCalendar:
    ref = resources.files("xinan") / "data" / DEFAULT_CALENDAR_NAME
    return WorkCalendar.from_json(ref.read_bytes(), f"xinan/data/{DEFAULT_CALENDAR_NAME}")
