"""The provider's data-quality report: the platform's KPIs, computed before submission.

Owns the model of ``xinan report quality FILE`` (docs/report.md §7). One streaming pass over
the export with the very validator ``mask`` and ``seal`` use (:class:`~xinan.provider.jobs.
Validator`), so its counts are theirs: read, rejected, valid (= ``seal``'s sealed), and the
reject reasons under the same keys. On top of that, item by item:

* 数据有效入库率 = valid rows / rows read;
* 完整率 = required items provided / required items (the catalogue's required fields, plus
  those the row's subject class requires);
* 准确率 = provided items that pass their field's check (check characters of resident IDs,
  USCCs and bank cards; code tables; dates; amounts) / items provided;
* 及时率 = valid rows reported in time / valid rows with a date in the kind's date field:
  双公示 kinds within N working days of the decision (the State Council's holiday calendar,
  :mod:`xinan.policy.calendar`), other kinds within M calendar days (monthly).

Thresholds and deadlines are the policy's ``[quality]`` table (:mod:`xinan.policy.quality`).
Values never leave this module: the worst rows are named by row number, column and reason.

Reading the provider's file is recorded like ``scan`` (a ``collect`` entry with purpose
``quality-report`` and the counts, never a value).
"""

from __future__ import annotations

import heapq
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from xinan.errors import CalendarError, UsageError
from xinan.policy.calendar import WorkCalendar
from xinan.policy.catalogue import Policy
from xinan.policy.quality import QualityRules
from xinan.provider.jobs import Rejected, Validator, _reason_key, match_header
from xinan.records import BadRow, open_records

__all__ = ["FORMAT", "KPIS", "QualityReport", "build_quality_report", "report_event"]

FORMAT = "xinan-quality-report/1"
KPIS = ("valid_rate", "completeness", "accuracy", "timeliness")
WORST_ROWS = 20


# Without the calendar of a year, a row is still certainly late when more than 2N + 30 calendar
# days passed: over D < 365 days at most 2·ceil(D/7) weekend days and 13 statutory holiday days
# (国务院 全国年节及纪念日放假办法, 2025) are not worked, and D − 2·ceil(D/7) − 13 > N for
# D > 2N + 30; make-up working days only add working days.
def _surely_late(decision: date, as_of: date, n: int) -> bool:
    return (as_of - decision).days > 2 * n + 30


@dataclass
class QualityReport:
    """The numbers of the quality report; ``to_json()`` feeds the page and ``--json``."""

    file: str
    kind: str
    encoding: str | None
    as_of: date
    policy: str
    rules: QualityRules
    read: int = 0
    rejected: int = 0
    unreadable: int = 0
    required_items: int = 0
    required_provided: int = 0
    items_provided: int = 0
    items_inaccurate: int = 0
    timely_checked: int = 0
    on_time: int = 0
    late: int = 0
    undetermined: int = 0
    deadline: dict[str, Any] | None = None
    reasons: Counter[str] = field(default_factory=Counter)
    reject_columns: Counter[str] = field(default_factory=Counter)
    inaccurate_columns: Counter[str] = field(default_factory=Counter)
    missing_columns: Counter[str] = field(default_factory=Counter)
    worst: list[tuple[int, int, list[tuple[str, str]]]] = field(default_factory=list)

    @property
    def valid(self) -> int:
        return self.read - self.rejected

    def kpis(self) -> dict[str, float | None]:
        def rate(num: int, den: int) -> float | None:
            return num / den if den else None

        return {
            "valid_rate": rate(self.valid, self.read),
            "completeness": rate(self.required_provided, self.required_items),
            "accuracy": rate(self.items_provided - self.items_inaccurate, self.items_provided),
            "timeliness": rate(self.on_time, self.timely_checked),
        }

    def to_json(self) -> dict[str, Any]:
        kpis = self.kpis()
        return {
            "format": FORMAT,
            "file": self.file,
            "kind": self.kind,
            "encoding": self.encoding,
            "as_of": self.as_of.isoformat(),
            "policy": self.policy,
            "citation": self.rules.citation,
            "kpis": [
                {
                    "kpi": k,
                    "value": kpis[k],
                    "threshold": self.rules.threshold(k),
                    "pass": kpis[k] is not None and kpis[k] >= self.rules.threshold(k),  # type: ignore[operator]
                }
                for k in KPIS
            ],
            "counts": {
                "read": self.read,
                "valid": self.valid,
                "rejected": self.rejected,
                "unreadable": self.unreadable,
                "required_items": self.required_items,
                "required_provided": self.required_provided,
                "items_provided": self.items_provided,
                "items_accurate": self.items_provided - self.items_inaccurate,
                "timely_checked": self.timely_checked,
                "on_time": self.on_time,
                "late": self.late,
                "undetermined": self.undetermined,
            },
            "deadline": self.deadline,
            "reject_reasons": [{"reason": r, "rows": n} for r, n in self.reasons.most_common()],
            "reject_columns": [
                {"column": c, "rows": n} for c, n in self.reject_columns.most_common()
            ],
            "inaccurate_columns": [
                {"column": c, "items": n} for c, n in self.inaccurate_columns.most_common()
            ],
            "missing_columns": [
                {"column": c, "items": n} for c, n in self.missing_columns.most_common()
            ],
            "worst_rows": [
                {
                    "row": -neg_row,
                    "problems": count,
                    "items": [{"column": c, "reason": r} for c, r in items],
                }
                for count, neg_row, items in sorted(self.worst, key=lambda w: (-w[0], -w[1]))
            ],
        }


def build_quality_report(
    src: str | Path,
    *,
    policy: Policy,
    today: date,
    calendar: WorkCalendar | None = None,
    kind: str | None = None,
    encoding: str | None = None,
) -> QualityReport:
    """The KPIs of ``src`` as of ``today`` (the planned submission day)."""
    rules = policy.quality
    if rules is None:
        raise UsageError(
            f"the policy {policy.label} has no [quality] table: no thresholds to score against",
            hint="add [quality] (docs/policy.md §9), or use the built-in credit-default policy",
        )
    cal = calendar or WorkCalendar.default()
    with open_records(src, encoding=encoding) as reader:
        layout = match_header(policy, reader.header, kind=kind, file=str(src))
        k = layout.kind
        validator = Validator(policy, k, today=today)
        rep = QualityReport(
            file=str(src),
            kind=k.name,
            encoding=reader.encoding,
            as_of=today,
            policy=policy.label,
            rules=rules,
        )
        date_col = rules.date_field.get(k.name)
        date_i = k.index(date_col) if date_col else None
        dual = k.name in rules.dual_publicity_kinds
        n = rules.dual_publicity_working_days
        if date_col is not None:
            rep.deadline = {
                "field": date_col,
                "days": n if dual else rules.other_days,
                "working_days": dual,
            }
        for item in reader:
            rep.read += 1
            if isinstance(item, BadRow):
                rep.rejected += 1
                rep.unreadable += 1
                rep.reasons[_reason_key(item.column, item.reason)] += 1
                rep.reject_columns[item.column or "(row)"] += 1
                _keep_worst(rep.worst, 1, item.number, [(item.column or "(row)", item.reason)])
                continue
            values = layout.to_kind_order(item.values)
            problems = validator.item_problems(values)
            needed, missing = validator.required_items(values)
            rep.required_items += needed
            rep.required_provided += needed - len(missing)
            rep.items_provided += sum(1 for v in values if v.strip())
            rep.items_inaccurate += len(problems)
            for c, _ in problems:
                rep.inaccurate_columns[c] += 1
            for c in missing:
                rep.missing_columns[c] += 1
            listed = problems + [(c, "required but empty") for c in missing]
            try:
                for i, cat in layout.prohibited:
                    if item.values[i].strip():
                        raise Rejected(reader.header[i], f"prohibited:{cat.id}")
                valid = validator.check(values)
            except Rejected as r:
                rep.rejected += 1
                rep.reasons[_reason_key(r.column, r.reason)] += 1
                rep.reject_columns[r.column or "(row)"] += 1
                if (r.column, r.reason) not in listed:
                    listed.append((r.column or "(row)", r.reason))
                _keep_worst(rep.worst, len(listed), item.number, listed)
                continue
            if listed:
                _keep_worst(rep.worst, len(listed), item.number, listed)
            if date_i is not None and valid.values[date_i]:
                _timeliness(rep, valid.values[date_i], cal, dual=dual)
    return rep


def _timeliness(rep: QualityReport, value: str, cal: WorkCalendar, *, dual: bool) -> None:
    try:  # a valid row's date is already canonical (YYYY-MM-DD): the validator made it so
        decided = date.fromisoformat(value)
    except ValueError:
        return
    rep.timely_checked += 1
    if decided >= rep.as_of:
        rep.on_time += 1
        return
    if not dual:
        if (rep.as_of - decided).days <= rep.rules.other_days:
            rep.on_time += 1
        else:
            rep.late += 1
        return
    n = rep.rules.dual_publicity_working_days
    try:
        due = cal.add_working_days(decided, n)
    except CalendarError:
        if _surely_late(decided, rep.as_of, n):
            rep.late += 1
        else:  # a year the calendar does not hold: neither late nor on time (fail closed)
            rep.undetermined += 1
        return
    if rep.as_of <= due:
        rep.on_time += 1
    else:
        rep.late += 1


def _keep_worst(
    heap: list[tuple[int, int, list[tuple[str, str]]]],
    count: int,
    row: int,
    items: list[tuple[str, str]],
) -> None:
    """The WORST_ROWS rows with most problems (earlier rows first on ties), in bounded memory."""
    entry = (count, -row, items)
    if len(heap) < WORST_ROWS:
        heapq.heappush(heap, entry)
    elif entry[:2] > heap[0][:2]:
        heapq.heapreplace(heap, entry)


def report_event(rep: QualityReport) -> dict[str, Any]:
    """``Session.record`` keyword arguments for reading the file (like ``scan``: counts only,
    never a value)."""
    return {
        "type_": "collect",
        "objects": {
            "ref": f"quality:{Path(rep.file).name}",
            "policy": rep.policy,
            "counts": {"rows": rep.read, "rejected": rep.rejected, "valid": rep.valid},
        },
        "why": {"purpose": "quality-report"},
    }
