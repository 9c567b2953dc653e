"""Lifecycle rules as pure arithmetic: disclosure windows, repair dates, retention, objection
deadlines (docs/disclosure.md).

This module owns the rule tables (the ``[disclosure]``, ``[retention]`` and ``[dispute]``
tables of a policy, checked by :func:`xinan.policy.periods_check.check_lifecycle`) and the decisions
computed from them for
one record's plain facts (:class:`PenaltyFacts`): whether it may be shown on a date, when its
minimum disclosure period ends, when it must be deleted, when an objection must be answered.

It does not read records, keep state, or read the clock: the vault, the ``disclose``,
``repair``, ``dispute`` and ``destroy`` commands pass dates in and act on the answers. Working
days come from :mod:`xinan.policy.calendar`.

Periods follow 民法典 第二百零一条/第二百零二条: the start day is not counted, and a period of
months or years ends on the corresponding day of the last month (the last day of that month
when there is none). Every window below is inclusive: ``window_end`` is the last day shown.
"""

from __future__ import annotations

import calendar as _gregorian
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum

from xinan.errors import (  # re-exported: the classes live in xinan.errors
    DisclosureError,
    RetentionTooShort,
)
from xinan.policy.calendar import WorkCalendar

# 网络安全法 第二十一条(三): network logs are kept "不少于六个月". Six consecutive calendar months
# span 181 to 184 days (Jul–Dec and Aug–Jan are 184), so only 184 days is six months whatever
# the start date: 180 days falls short of six months from every start date.
AUDIT_LOG_MIN_DAYS = 184
AUDIT_LOG_CITATION = "网络安全法 第二十一条（网络日志留存不少于六个月）"

# The policy's top-level tables this module owns (the lead merges them into the policy format).
LIFECYCLE_KEYS = ("disclosure", "retention", "dispute")

# The 双公示 penalty layout's columns (policies/credit-default.toml, kind.penalty).
COL_DECISION_DATE = "处罚决定日期"
COL_SEVERITY = "违法行为严重程度"
COL_VALID_UNTIL = "处罚有效期"
COL_DECLARED_END = "公示截止期"

_ONE_DAY = timedelta(days=1)


class Severity(StrEnum):
    """How serious the dishonest act is (违法行为严重程度; 信用修复管理办法 2025 classes)."""

    MINOR = "minor"  # 轻微
    GENERAL = "general"  # 一般
    SERIOUS = "serious"  # 严重


class DisputeTrack(StrEnum):
    """Which objection deadline applies."""

    OWN_DATA = "own_data"  # the platform can check its own data (Shandong: 3 working days)
    ASSISTED = "assisted"  # the provider must help verify (Shandong: 7 working days)
    CREDIT_REPORTING = "credit_reporting"  # 征信业管理条例 第二十五条: 20 days


# ------------------------------------------------------------------------------------ models


@dataclass(frozen=True, slots=True)
class ClassRule:
    """Minimum and maximum disclosure period of one severity class, in months.

    ``max_months == 0`` means the class is not disclosed at all (信用修复管理办法 2025: minor
    dishonesty is in principle not disclosed).
    """

    min_months: int
    max_months: int

    @property
    def disclosed(self) -> bool:
        return self.max_months > 0


@dataclass(frozen=True, slots=True)
class Regime:
    """One set of disclosure periods, in force for decisions from ``effective_from`` to
    ``effective_until`` (inclusive; ``None``: still in force).

    ``retroactive``: the regime also applies to records decided before it came into force,
    from its ``effective_from`` on, wherever it shows the record for less time (a milder newer
    rule wins, as in 行政处罚法 第三十七条's 从旧兼从轻; docs/disclosure.md §3).
    """

    id: str
    title: str
    citation: str
    effective_from: date
    effective_until: date | None
    classes: Mapping[Severity, ClassRule]
    domain_min_months: Mapping[str, int] = field(default_factory=dict)
    retroactive: bool = True

    def in_force(self, d: date) -> bool:
        return self.effective_from <= d and (
            self.effective_until is None or d <= self.effective_until
        )

    def rule(self, severity: Severity, domains: frozenset[str]) -> ClassRule:
        """The class's periods, the minimum raised by any special domain of the record."""
        base = self.classes[severity]
        if not base.disclosed:
            return base
        mins = [base.min_months]
        mins += [m for d, m in self.domain_min_months.items() if d in domains]
        return ClassRule(max(mins), base.max_months)


@dataclass(frozen=True, slots=True)
class Domain:
    """A field of law with its own minimum period (e.g. 消防), and the keywords that place a
    record in it."""

    id: str
    label: str
    keywords: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class DisclosureRules:
    regimes: tuple[Regime, ...]  # sorted by effective_from
    domains: tuple[Domain, ...]
    domain_match_fields: tuple[str, ...]
    severity_labels: Mapping[str, Severity]
    cap_years: int
    cap_citation: str


@dataclass(frozen=True, slots=True)
class RetentionRules:
    negative_years: int
    audit_log_days: int
    long_term_dates: frozenset[date]  # 处罚有效期 values that mean 长期 (no end)
    citation: str


@dataclass(frozen=True, slots=True)
class DisputeRules:
    own_data_working_days: int
    assisted_working_days: int
    credit_reporting_days: int
    citation: str


@dataclass(frozen=True, slots=True)
class LifecycleRules:
    disclosure: DisclosureRules
    retention: RetentionRules
    dispute: DisputeRules


@dataclass(frozen=True, slots=True)
class PenaltyFacts:
    """The plain facts of one penalty record that the rules need.

    ``severity`` None: not classified. ``end_of_act``: when the dishonest act or event ended
    (失信行为或者事件终止之日), e.g. the day the penalty was fully performed, when known.
    ``valid_until``: the record's 处罚有效期. ``declared_end``: its 公示截止期, the provider's
    own end of disclosure.
    """

    decision_date: date
    severity: Severity | None
    domains: frozenset[str] = frozenset()
    end_of_act: date | None = None
    valid_until: date | None = None
    declared_end: date | None = None


@dataclass(frozen=True, slots=True)
class DisclosureDecision:
    """Whether a record may be shown on ``as_of``, and its window.

    ``window_end`` is the last day it may be shown (None: never shown); ``rule_id`` and
    ``citation`` name the rule that set it. ``min_end`` is the last day of the minimum period
    and ``repair_from`` the first day a repair may take it down (None when the record's
    severity is unknown and the rules need it).
    """

    visible: bool
    as_of: date
    window_start: date
    window_end: date | None
    min_end: date | None
    repair_from: date | None
    rule_id: str
    citation: str
    reason: str
    regimes: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class RetentionDecision:
    """When a negative record must be deleted: kept through ``keep_until``, deleted after.

    ``keep_until`` None: no end can be computed (a long-term penalty without an end-of-act
    date); such a record is never destroyed automatically and needs a person's review.
    """

    keep_until: date | None
    act_end: date | None
    basis: str
    citation: str

    def expired(self, as_of: date) -> bool:
        return self.keep_until is not None and as_of > self.keep_until


# ------------------------------------------------------------------------------ arithmetic


def add_months(d: date, months: int) -> date:
    """The last day of a period of ``months`` months counted from ``d``.

    民法典 第二百零二条: 按照年、月计算期间的，到期月的对应日为期间的最后一日；没有对应日的，
    月末日为期间的最后一日. So 2025-11-30 + 3 months = 2026-02-28.
    """
    if months < 0:
        raise ValueError("months must be >= 0")
    y, m = divmod(d.month - 1 + months, 12)
    year, month = d.year + y, m + 1
    return date(year, month, min(d.day, _gregorian.monthrange(year, month)[1]))


def _candidates(facts: PenaltyFacts, rules: DisclosureRules) -> tuple[Regime | None, list[Regime]]:
    """The regime in force on the decision date and every later retroactive one."""
    base = next((r for r in rules.regimes if r.in_force(facts.decision_date)), None)
    if base is None:
        return None, []
    later = [r for r in rules.regimes if r.effective_from > facts.decision_date and r.retroactive]
    return base, [base, *later]


def _check_domains(facts: PenaltyFacts, rules: DisclosureRules) -> None:
    known = {d.id for d in rules.domains}
    unknown = sorted(facts.domains - known)
    if unknown:
        raise DisclosureError(
            f"unknown disclosure domain(s) {', '.join(unknown)}",
            hint=f"known domains: {', '.join(sorted(known)) or 'none'} ([disclosure.domain])",
        )


def _regime_end(r: Regime, base: Regime, rule: ClassRule, decision: date) -> date:
    """Last day shown under ``r``. A later regime can end a window no earlier than the day
    before it came into force: it cannot take down a record in the past."""
    end = add_months(decision, rule.max_months) if rule.disclosed else decision - _ONE_DAY
    if r is not base:
        end = max(end, r.effective_from - _ONE_DAY)
    return end


def _regime_repair(r: Regime, base: Regime, rule: ClassRule, decision: date) -> date:
    """First day a repair may end disclosure under ``r``: the day after the minimum period
    (最短公示期届满后), or the decision date when there is none; never before ``r`` is in force."""
    start = add_months(decision, rule.min_months) + _ONE_DAY if rule.min_months else decision
    if r is not base:
        start = max(start, r.effective_from)
    return start


def disclosure_decision(
    facts: PenaltyFacts, as_of: date, lifecycle: LifecycleRules
) -> DisclosureDecision:
    """Whether the record may be shown publicly on ``as_of``, and why.

    The window opens on the decision date (公示期限自行政处罚决定作出之日起计算). It closes on
    the earliest of (the most restrictive wins — the rule that shows the record for the
    shortest time, docs/disclosure.md §3):

    * the maximum period of the regime in force on the decision date;
    * the maximum period of every later retroactive regime (no earlier than the day before it
      came into force);
    * the cap of ``cap_years`` from the end of the act (山东省社会信用条例);
    * the record's own 公示截止期.

    A record without a severity is judged under every class and gets the shortest window (so
    an unclassified minor record is never shown longer than the law allows). A decision date
    no regime covers gives ``visible=False``: nothing is shown without a rule that allows it.
    """
    rules = lifecycle.disclosure
    _check_domains(facts, rules)
    decision = facts.decision_date
    base, regimes = _candidates(facts, rules)
    if base is None:
        return DisclosureDecision(
            visible=False,
            as_of=as_of,
            window_start=decision,
            window_end=None,
            min_end=None,
            repair_from=None,
            rule_id="none",
            citation="",
            reason=f"no disclosure regime covers the decision date {decision}; not shown",
            regimes=(),
        )
    classes = (facts.severity,) if facts.severity is not None else tuple(Severity)

    # (end, rule id, citation, why) for every rule that limits the window
    ends: list[tuple[date, str, str, str]] = []
    for r in regimes:
        for sev in classes:
            rule = r.rule(sev, facts.domains)
            end = _regime_end(r, base, rule, decision)
            why = (
                f"{sev.value}: at most {rule.max_months} months"
                if rule.disclosed
                else f"{sev.value}: not disclosed"
            )
            if r is not base:
                why += f" (applies from {r.effective_from} to earlier decisions)"
            ends.append((end, r.id, r.citation, why))
    act_end, _ = resolve_act_end(facts, lifecycle.retention)
    if act_end is not None:
        cap = add_months(act_end, 12 * rules.cap_years)
        ends.append(
            (cap, "cap", rules.cap_citation, f"{rules.cap_years} years from the end of the act")
        )
    if facts.declared_end is not None:
        ends.append((facts.declared_end, "record", COL_DECLARED_END, "the record's own end date"))
    # min() keeps the first of equal dates: the regime, then the cap, then the record's date
    end, rule_id, citation, why = min(ends, key=lambda e: e[0])
    window_end = end if end >= decision else None

    min_end: date | None = None
    repair_from: date | None = None
    if facts.severity is not None:
        min_end, repair_from = _min_period(facts, facts.severity, base, regimes)

    if as_of < decision:
        visible, reason = False, f"not yet decided on {as_of} (decision date {decision})"
    elif window_end is None:
        visible, reason = False, f"not disclosed ({rule_id}: {why})"
    elif as_of > window_end:
        visible, reason = False, f"window ended {window_end} ({rule_id}: {why})"
    else:
        visible, reason = True, f"inside the window {decision}..{window_end} ({rule_id}: {why})"
    if facts.severity is None and visible:
        reason += " (severity unknown: the shortest window of any class)"
    return DisclosureDecision(
        visible=visible,
        as_of=as_of,
        window_start=decision,
        window_end=window_end,
        min_end=min_end,
        repair_from=repair_from,
        rule_id=rule_id,
        citation=citation,
        reason=reason,
        regimes=tuple(r.id for r in regimes),
    )


def _min_period(
    facts: PenaltyFacts, severity: Severity, base: Regime, regimes: Sequence[Regime]
) -> tuple[date, date]:
    """(last day of the minimum period, first repair day), the earliest over ``regimes``.

    With no minimum period the last day is the decision date and repair may start on it.
    """

    def one(r: Regime) -> tuple[date, date]:
        rule = r.rule(severity, facts.domains)
        repair = _regime_repair(r, base, rule, facts.decision_date)
        return max(repair - _ONE_DAY, facts.decision_date), repair

    # regimes always starts with base (see _candidates)
    return min((one(r) for r in regimes), key=lambda mr: mr[1])


def repair_earliest(facts: PenaltyFacts, lifecycle: LifecycleRules) -> date:
    """The first day a credit repair may end the record's disclosure: the day after its
    minimum period (decision date + minimum period), the shortest minimum over the regimes
    that apply (docs/disclosure.md §4).

    Refuses (:class:`DisclosureError`) a record without a severity or a covering regime: a
    repair approved too early cannot be undone, so the rule must be known.
    """
    rules = lifecycle.disclosure
    _check_domains(facts, rules)
    if facts.severity is None:
        raise DisclosureError(
            f"the record has no severity ({COL_SEVERITY}); its minimum period is unknown",
            hint="have the provider classify the record (轻微/一般/严重) before a repair",
        )
    base, regimes = _candidates(facts, rules)
    if base is None:
        raise DisclosureError(
            f"no disclosure regime covers the decision date {facts.decision_date}",
            hint="add the regime in force then to [[disclosure.regime]]",
        )
    return _min_period(facts, facts.severity, base, regimes)[1]


def resolve_act_end(facts: PenaltyFacts, retention: RetentionRules) -> tuple[date | None, str]:
    """When the act or event ended (失信行为或者事件终止之日), and on what basis.

    In order: an explicit ``end_of_act`` (e.g. the day the penalty was fully performed); else
    the 处罚有效期 when it is a real date on or after the decision (a suspension ends then); else
    the decision date. A 处罚有效期 that means 长期 (``long_term_dates``) gives None: the event
    has no end the data can show (docs/disclosure.md §6).
    """
    if facts.end_of_act is not None:
        return facts.end_of_act, "end of act given"
    if facts.valid_until is not None:
        if facts.valid_until in retention.long_term_dates:
            return None, f"{COL_VALID_UNTIL} is long-term ({facts.valid_until})"
        if facts.valid_until >= facts.decision_date:
            return facts.valid_until, COL_VALID_UNTIL
    return facts.decision_date, COL_DECISION_DATE


def retention_end(facts: PenaltyFacts, lifecycle: LifecycleRules) -> RetentionDecision:
    """Through which day a negative record is kept: the end of the act + ``negative_years``
    (征信业管理条例 第十六条; 山东省社会信用条例), then deleted and its keys destroyed."""
    retention = lifecycle.retention
    act_end, basis = resolve_act_end(facts, retention)
    if act_end is None:
        return RetentionDecision(None, None, basis + "; review by hand", retention.citation)
    return RetentionDecision(
        keep_until=add_months(act_end, 12 * retention.negative_years),
        act_end=act_end,
        basis=basis,
        citation=retention.citation,
    )


def validate_retention_days(days: int) -> int:
    """Return ``days`` if it is a lawful audit-log retention, else raise RetentionTooShort.

    The floor is six months (网络安全法 第二十一条), taken as 184 days so that it holds from any
    start date (see :data:`AUDIT_LOG_MIN_DAYS`).
    """
    if isinstance(days, bool) or not isinstance(days, int):
        raise RetentionTooShort("audit-log retention must be a whole number of days")
    if days < AUDIT_LOG_MIN_DAYS:
        raise RetentionTooShort(
            f"audit-log retention of {days} days is below the legal floor of six months "
            f"({AUDIT_LOG_MIN_DAYS} days; {AUDIT_LOG_CITATION})",
            hint=f"keep audit logs at least {AUDIT_LOG_MIN_DAYS} days",
        )
    return days


def dispute_deadline(
    received: date, track: DisputeTrack, lifecycle: LifecycleRules, cal: WorkCalendar
) -> date:
    """The last day to answer an objection received on ``received`` (which is day 0).

    Working-day tracks count working days after the day of receipt; the credit-reporting
    track counts calendar days and moves a last day off work to the next working day
    (民法典 第二百零三条). Raises :class:`xinan.policy.calendar.CalendarRangeError` when the count
    reaches a year the calendar does not cover.
    """
    rules = lifecycle.dispute
    if track is DisputeTrack.OWN_DATA:
        return cal.add_working_days(received, rules.own_data_working_days)
    if track is DisputeTrack.ASSISTED:
        return cal.add_working_days(received, rules.assisted_working_days)
    return cal.add_calendar_days(received, rules.credit_reporting_days, roll_forward=True)


# ----------------------------------------------------------------------- from a record's row


def classify_domains(texts: Iterable[str], rules: DisclosureRules) -> frozenset[str]:
    """The domains whose keywords occur in any of ``texts`` (plain substring match)."""
    found: set[str] = set()
    blobs = [t for t in texts if t]
    for dom in rules.domains:
        if any(k in t for t in blobs for k in dom.keywords):
            found.add(dom.id)
    return frozenset(found)


def severity_from_label(value: str | None, rules: DisclosureRules) -> Severity | None:
    """Map a 违法行为严重程度 value (轻微/一般/严重, or minor/general/serious) to a class."""
    if value is None or not value.strip():
        return None
    v = value.strip()
    if v in rules.severity_labels:
        return rules.severity_labels[v]
    try:
        return Severity(v)
    except ValueError:
        raise DisclosureError(
            f"unknown {COL_SEVERITY} value (one of {', '.join(rules.severity_labels)} expected)",
            hint="map it in [disclosure.severity_labels]",
        ) from None


_DATE_RE = re.compile(r"^(\d{4})[-/]?(\d{2})[-/]?(\d{2})$")


def _parse_date(value: str | None, column: str) -> date | None:
    if value is None or not value.strip():
        return None
    m = _DATE_RE.match(value.strip())
    try:
        if not m:
            raise ValueError
        return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError:
        raise DisclosureError(
            f"{column}: not a date (YYYY-MM-DD, YYYY/MM/DD or YYYYMMDD expected)"
        ) from None


def facts_from_row(
    row: Mapping[str, str], rules: DisclosureRules, *, end_of_act: date | None = None
) -> PenaltyFacts:
    """The facts of one 双公示 penalty row (column name → validated value)."""
    decision = _parse_date(row.get(COL_DECISION_DATE), COL_DECISION_DATE)
    if decision is None:
        raise DisclosureError(f"{COL_DECISION_DATE} is empty; a disclosure window needs it")
    return PenaltyFacts(
        decision_date=decision,
        severity=severity_from_label(row.get(COL_SEVERITY), rules),
        domains=classify_domains((row.get(f, "") for f in rules.domain_match_fields), rules),
        end_of_act=end_of_act,
        valid_until=_parse_date(row.get(COL_VALID_UNTIL), COL_VALID_UNTIL),
        declared_end=_parse_date(row.get(COL_DECLARED_END), COL_DECLARED_END),
    )
