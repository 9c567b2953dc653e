"""The provider's data-quality report: the platform's KPIs, computed before submission.

Owns the model of ``xinan report quality FILE`` (docs/report.md §7). One streaming pass over
the export through the very validation ``mask`` and ``seal`` run (the batch engine's,
:func:`xinan.engine.validate.validate`, over batches of the file), so its counts are theirs:
read, rejected, valid (= ``seal``'s sealed), and the reject reasons under the same keys. On top
of that, item by item, with the same scalar checks (:mod:`xinan.engine.rules`):

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
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pyarrow as pa

from xinan import progress
from xinan.engine.batch import ROW_COLUMN, reason_key
from xinan.engine.io import read_chunks
from xinan.engine.plan import JobSpec, Plan, compile_plan, fixed_class
from xinan.engine.rules import BAD_RESIDENT_ID, ID_OTHER, RESIDENT_ID_DOC_TYPES, checker
from xinan.engine.validate import validate
from xinan.errors import CalendarError, UsageError
from xinan.identifiers import is_valid_resident_id
from xinan.policy.calendar import WorkCalendar
from xinan.policy.catalogue import FieldType, Policy, RecordKind, SubjectClass
from xinan.policy.quality import QualityRules
from xinan.records import open_records

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
        spec = JobSpec(tuple(reader.header), (), kind, today=today, file=str(src))
        plan = compile_plan(policy, spec)
        k = policy.kind(plan.kind.name)
        items = _ItemChecks(policy, k, today=today)
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
        meter = progress.start("records read", fraction=progress.reader_fraction(reader, src))
        for chunk in read_chunks(reader):
            if meter is not None:
                meter.add(len(chunk.bad) + chunk.batch.num_rows)
            for bad in chunk.bad:
                rep.read += 1
                rep.rejected += 1
                rep.unreadable += 1
                rep.reasons[reason_key(bad.column, bad.reason)] += 1
                rep.reject_columns[bad.column or "(row)"] += 1
                _keep_worst(rep.worst, 1, bad.number, [(bad.column or "(row)", bad.reason)])
            _take_batch(rep, plan, items, chunk.batch, date_i, cal, dual)
        if meter is not None:
            meter.end()
    return rep


def _take_batch(
    rep: QualityReport,
    plan: Plan,
    items: _ItemChecks,
    batch: pa.RecordBatch,
    date_i: int | None,
    cal: WorkCalendar,
    dual: bool,
) -> None:
    """The KPIs' counts for one batch of records: the engine decides which rows are rejected
    (first failure, its reason); the item checks count every problem of a row."""
    n = batch.num_rows
    if not n:
        return
    data = batch.select(list(plan.header))
    checked = validate(plan, data)
    refused = {i: (c, why) for i, c, why in checked.rejects}
    numbers = batch.column(batch.schema.get_field_index(ROW_COLUMN)).to_pylist()
    raw_cols = [c.to_pylist() for c in data.columns]
    dates = checked.columns[date_i].to_pylist() if date_i is not None else None
    source = plan.source_index
    for j in range(n):
        rep.read += 1
        values = [raw_cols[i][j] if i is not None else "" for i in source]
        problems = items.item_problems(values)
        needed, missing = items.required_items(values)
        rep.required_items += needed
        rep.required_provided += needed - len(missing)
        rep.items_provided += sum(1 for v in values if v.strip())
        rep.items_inaccurate += len(problems)
        for c, _ in problems:
            rep.inaccurate_columns[c] += 1
        for c in missing:
            rep.missing_columns[c] += 1
        listed = problems + [(c, "required but empty") for c in missing]
        hit = refused.get(j)
        if hit is not None:
            column, reason = hit
            rep.rejected += 1
            rep.reasons[reason_key(column, reason)] += 1
            rep.reject_columns[column or "(row)"] += 1
            if (column, reason) not in listed:
                listed.append((column or "(row)", reason))
            _keep_worst(rep.worst, len(listed), numbers[j], listed)
            continue
        if listed:
            _keep_worst(rep.worst, len(listed), numbers[j], listed)
        if dates is not None and dates[j]:
            _timeliness(rep, dates[j], cal, dual=dual)


class _ItemChecks:
    """Item-level checks for 完整率 and 准确率 (docs/report.md §7): every problem of a row, not
    only the first; the scalar checks are the engine's (one definition: xinan/engine/rules.py),
    so an accurate row is never rejected for format."""

    def __init__(self, policy: Policy, kind: RecordKind, *, today: date) -> None:
        self.policy = policy
        self.kind = kind
        self.today = today
        self._checks = [(f.name, i, checker(f, today)) for i, f in enumerate(kind.fields)]
        self._required = [f.name for f in kind.fields if f.required]
        self._class_index = kind.index(kind.class_field) if kind.class_field else -1
        self._class_requires = {SubjectClass(c): list(n) for c, n in kind.class_requires.items()}
        self._id_numbers = [
            (i, kind.index(f.id_type_field) if f.id_type_field else None, f.name)
            for i, f in enumerate(kind.fields)
            if f.type is FieldType.ID_NUMBER
        ]
        self._fixed_class = fixed_class(kind)

    def item_problems(self, raw: Sequence[str]) -> list[tuple[str, str]]:
        """Every provided (non-empty) item that fails its field's check — check characters,
        code tables, dates, amounts — as (column, reason), without stopping at the first."""
        values = [v.strip() for v in raw]
        out: list[tuple[str, str]] = []
        for name, i, check in self._checks:
            if values[i]:
                try:
                    values[i] = check(values[i])
                except ValueError as exc:
                    out.append((name, str(exc)))
        for i, type_i, name in self._id_numbers:
            v = values[i]
            if not v:
                continue
            doc = values[type_i] if type_i is not None else "身份证"
            if doc in RESIDENT_ID_DOC_TYPES or type_i is None:
                if not is_valid_resident_id(v.upper(), today=self.today):
                    out.append((name, BAD_RESIDENT_ID))
            elif not ID_OTHER.match(v):
                out.append((name, "not a valid document number (5–32 letters or digits)"))
        return out

    def required_items(self, raw: Sequence[str]) -> tuple[int, list[str]]:
        """(items the catalogue requires of this row, the required columns left empty): the
        fields marked required, plus those its subject class requires (完整率)."""
        values = [v.strip() for v in raw]
        names = list(self._required)
        cls = self._fixed_class
        if cls is None:
            cls = self.policy.subject_classes.get(values[self._class_index])
        if cls is not None:
            names += [n for n in self._class_requires.get(cls, ()) if n not in names]
        missing = [n for n in names if not values[self.kind.index(n)]]
        return len(names), missing


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
