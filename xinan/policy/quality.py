"""The data-quality KPIs' thresholds and deadlines: the policy's ``[quality]`` table.

Owns parsing and checking ``[quality]`` (docs/policy.md §9, docs/report.md §7) into a frozen
:class:`QualityRules`. The KPIs are those a municipal credit centre scores providers on
(shared brief, "How platforms exchange and score data"): 数据有效入库率 = 有效入库记录数 /
提供记录数, 完整率 = 实际提供的数据项 / 要求提供的数据项, 准确率, full marks at ≥ 95 %; 双公示
reported within 7 working days of the decision, other credit information monthly. Values are
policy, never code: a city with other thresholds changes the file.

Does not own computing the KPIs (:mod:`xinan.provider.quality`) nor the working-day calendar
(:mod:`xinan.policy.calendar`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

__all__ = ["QUALITY_KEY", "QualityRules", "check_quality"]

QUALITY_KEY = "quality"
_RATES = ("valid_rate", "completeness", "accuracy", "timeliness")
_KEYS = {
    *_RATES,
    "dual_publicity_working_days",
    "other_days",
    "dual_publicity_kinds",
    "date_field",
    "citation",
}


@dataclass(frozen=True, slots=True)
class QualityRules:
    """Thresholds (fractions in (0, 1]) and reporting deadlines for the quality report."""

    valid_rate: float
    completeness: float
    accuracy: float
    timeliness: float
    dual_publicity_working_days: int  # 双公示: working days from the decision date
    other_days: int  # other credit information: calendar days (monthly)
    dual_publicity_kinds: frozenset[str]
    date_field: Mapping[str, str]  # kind → the column the deadline counts from
    citation: str

    def threshold(self, kpi: str) -> float:
        return float(getattr(self, kpi))


def check_quality(
    raw: Any,
    add: Callable[[Sequence[Any], str], None],
    *,
    kinds: Mapping[str, Sequence[str]],
    date_columns: Mapping[str, frozenset[str]],
) -> QualityRules | None:
    """Check the ``[quality]`` table; report each problem through ``add(path, message)``.

    ``kinds``: kind name → its columns; ``date_columns``: kind name → its date-typed columns.
    Returns None when the table is absent or wrong.
    """
    if raw is None:
        return None
    base = [QUALITY_KEY]
    if not isinstance(raw, dict):
        add(base, "must be a table")
        return None
    ok = True
    for key in raw:
        if key not in _KEYS:
            add([*base, key], f"unknown key {key!r}; allowed: {', '.join(sorted(_KEYS))}")
            ok = False
    rates: dict[str, float] = {}
    for key in _RATES:
        v = raw.get(key)
        if isinstance(v, bool) or not isinstance(v, int | float) or not 0 < v <= 1:
            add([*base, key], "must be a fraction in (0, 1], e.g. 0.95 for 95 %")
            ok = False
        else:
            rates[key] = float(v)
    days: dict[str, int] = {}
    for key in ("dual_publicity_working_days", "other_days"):
        v = raw.get(key)
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            add([*base, key], "must be a whole number of days ≥ 1")
            ok = False
        else:
            days[key] = v
    dual = raw.get("dual_publicity_kinds", [])
    if not isinstance(dual, list) or not all(isinstance(k, str) and k in kinds for k in dual):
        add(
            [*base, "dual_publicity_kinds"], f"must list record kinds of this policy: {list(kinds)}"
        )
        ok = False
    fields = raw.get("date_field", {})
    if not isinstance(fields, dict):
        add([*base, "date_field"], 'must be a table: kind = "date column"')
        fields, ok = {}, False
    for kind, col in fields.items():
        if kind not in kinds:
            add([*base, "date_field", kind], f"unknown record kind {kind!r}")
            ok = False
        elif not isinstance(col, str) or col not in date_columns.get(kind, frozenset()):
            add([*base, "date_field", kind], f"{col!r} is not a date column of kind {kind!r}")
            ok = False
    citation = raw.get("citation", "")
    if not isinstance(citation, str):
        add([*base, "citation"], "must be a string")
        ok = False
    if not ok:
        return None
    return QualityRules(
        valid_rate=rates["valid_rate"],
        completeness=rates["completeness"],
        accuracy=rates["accuracy"],
        timeliness=rates["timeliness"],
        dual_publicity_working_days=days["dual_publicity_working_days"],
        other_days=days["other_days"],
        dual_publicity_kinds=frozenset(dual),
        date_field=MappingProxyType(dict(fields)),
        citation=str(citation),
    )
