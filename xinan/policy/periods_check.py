"""Checking the life-cycle tables of a policy: ``[disclosure]``, ``[retention]`` and
``[dispute]`` (docs/disclosure.md §1, §4, §5) → :class:`~xinan.policy.periods.LifecycleRules`.

A policy is untrusted input like any other (issue 11): every value is checked for its TOML type
before it is used, so a wrong type is a problem with its place, never a TypeError. The rules
themselves and the decisions computed from them are :mod:`xinan.policy.periods`'s.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime, timedelta
from types import MappingProxyType
from typing import Any

from xinan.errors import PolicyError, PolicyProblem

# 网络安全法 第二十一条(三): network logs are kept "不少于六个月". Six consecutive calendar months
from xinan.policy.periods import (
    AUDIT_LOG_CITATION,
    AUDIT_LOG_MIN_DAYS,
    LIFECYCLE_KEYS,
    ClassRule,
    DisclosureRules,
    DisputeRules,
    Domain,
    LifecycleRules,
    Regime,
    RetentionRules,
    Severity,
)

# -------------------------------------------------------------------------- checking tables

LineOf = Callable[[Sequence[Any]], int | None]

_DISCLOSURE_KEYS = {
    "cap_years",
    "cap_citation",
    "severity_labels",
    "domain_match_fields",
    "domain",
    "regime",
}
_REGIME_KEYS = {
    "id",
    "title",
    "citation",
    "effective_from",
    "effective_until",
    "retroactive",
    "class",
    "domain_min_months",
}
_CLASS_KEYS = {"min_months", "max_months"}
_DOMAIN_KEYS = {"label", "keywords"}
_RETENTION_KEYS = {"negative_years", "audit_log_days", "long_term_dates", "citation"}
_DISPUTE_KEYS = {
    "own_data_working_days",
    "assisted_working_days",
    "credit_reporting_days",
    "citation",
}
_ID_RE = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")
_ONE_DAY = timedelta(days=1)


class _Checker:
    def __init__(self, prefix: Sequence[Any], line_of: LineOf | None) -> None:
        self.prefix = tuple(prefix)
        self.line_of = line_of
        self.problems: list[PolicyProblem] = []
        self.names: dict[tuple[Any, ...], str] = {}

    def add(self, path: Sequence[Any], message: str, severity: str = "error") -> None:
        full = (*self.prefix, *path)
        self.problems.append(
            PolicyProblem(
                path=_fmt_path(full, self.names),
                message=message,
                line=self.line_of(full) if self.line_of else None,
                severity=severity,
            )
        )

    def warn(self, path: Sequence[Any], message: str) -> None:
        self.add(path, message, "warning")

    def unknown(self, path: Sequence[Any], raw: Mapping[str, Any], allowed: set[str]) -> None:
        for key in raw:
            if key not in allowed:
                self.add(
                    [*path, key], f"unknown key {key!r}; allowed: {', '.join(sorted(allowed))}"
                )

    def table(self, path: Sequence[Any], raw: Any, *, required: bool = True) -> dict[str, Any]:
        if raw is None:
            if required:
                self.add(path, "this table is required")
            return {}
        if not isinstance(raw, dict):
            self.add(path, "must be a table")
            return {}
        return raw

    def count(
        self, path: Sequence[Any], raw: Any, *, minimum: int, default: int | None = None
    ) -> int:
        if raw is None and default is not None:
            return default
        if isinstance(raw, bool) or not isinstance(raw, int):
            self.add(path, "must be a whole number")
            return minimum
        if raw < minimum:
            self.add(path, f"must be at least {minimum}, got {raw}")
            return minimum
        return raw

    def text(self, path: Sequence[Any], raw: Any, *, required: bool = True) -> str:
        if raw is None and not required:
            return ""
        if not isinstance(raw, str) or not raw.strip():
            self.add(path, "must be a non-empty string")
            return ""
        return raw

    def day(self, path: Sequence[Any], raw: Any, *, required: bool = True) -> date | None:
        if raw is None:
            if required:
                self.add(path, "a date (YYYY-MM-DD) is required")
            return None
        # TOML local dates parse to date; an offset or local date-time is not a day.
        if isinstance(raw, date) and not isinstance(raw, datetime):
            return raw
        if isinstance(raw, str):
            try:
                return date.fromisoformat(raw)
            except ValueError:
                pass
        self.add(path, f"must be a date (YYYY-MM-DD), got {raw!r}")
        return None

    def strings(self, path: Sequence[Any], raw: Any) -> tuple[str, ...]:
        if not isinstance(raw, list) or not all(isinstance(v, str) and v for v in raw):
            self.add(path, "must be a list of non-empty strings")
            return ()
        return tuple(raw)


def _fmt_path(path: Sequence[Any], names: Mapping[tuple[Any, ...], str]) -> str:
    """TOML path as in xinan.policy.catalogue:
    ``disclosure.regime[1](ndrc-2023-58).class.minor``."""
    out = ""
    for i, p in enumerate(path):
        if isinstance(p, int):
            label = names.get(tuple(path[: i + 1]))
            out += f"[{p}]" + (f"({label})" if label else "")
        else:
            out += ("." if out else "") + str(p)
    return out


def check_lifecycle(
    tables: Mapping[str, Any],
    *,
    line_of: LineOf | None = None,
    prefix: Sequence[Any] = (),
) -> tuple[LifecycleRules | None, list[PolicyProblem]]:
    """Check the ``disclosure``, ``retention`` and ``dispute`` tables of a parsed policy.

    ``tables`` holds exactly those keys (pass ``{k: data[k] for k in LIFECYCLE_KEYS if k in
    data}``); any other key is reported. ``line_of`` maps a TOML path (a tuple, array elements
    by index) to its line, e.g. ``xinan.policy.catalogue._Locator(text).line``. Returns the rules
    (None
    when any problem is an error) and every problem with its TOML path.
    """
    c = _Checker(prefix, line_of)
    for key in tables:
        if key not in LIFECYCLE_KEYS:
            c.add([key], f"unknown lifecycle table {key!r}; allowed: {', '.join(LIFECYCLE_KEYS)}")
    disclosure = _check_disclosure(c, c.table(["disclosure"], tables.get("disclosure")))
    retention = _check_retention(c, c.table(["retention"], tables.get("retention")))
    dispute = _check_dispute(c, c.table(["dispute"], tables.get("dispute")))
    if any(p.severity == "error" for p in c.problems) or disclosure is None:
        return None, c.problems
    return LifecycleRules(disclosure, retention, dispute), c.problems


def load_lifecycle_text(text: str, source: str = "<memory>") -> LifecycleRules:
    """Parse a TOML document holding the life-cycle tables (a whole policy file, or a file of
    just those tables); raise :class:`PolicyError` naming every problem."""
    import tomllib

    from xinan.policy.catalogue.locate import (
        _Locator,  # the policy's line finder, so lines match policy check
    )

    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(source, [PolicyProblem("(file)", f"not valid TOML: {exc}")]) from None
    if "format" in data:  # a whole policy: its other tables are xinan.policy.catalogue's to check
        data = {k: data[k] for k in LIFECYCLE_KEYS if k in data}
    rules, problems = check_lifecycle(data, line_of=_Locator(text).line)
    if rules is None:
        raise PolicyError(source, problems)
    return rules


def _check_disclosure(c: _Checker, raw: dict[str, Any]) -> DisclosureRules | None:
    base = ["disclosure"]
    c.unknown(base, raw, _DISCLOSURE_KEYS)
    cap_years = c.count([*base, "cap_years"], raw.get("cap_years"), minimum=1)
    cap_citation = c.text([*base, "cap_citation"], raw.get("cap_citation"))

    labels: dict[str, Severity] = {}
    raw_labels = c.table([*base, "severity_labels"], raw.get("severity_labels"))
    for k, v in raw_labels.items():
        try:
            labels[k] = Severity(v)
        except ValueError:
            c.add(
                [*base, "severity_labels", k],
                f"unknown class {v!r}; one of {', '.join(s.value for s in Severity)}",
            )
    for sev in Severity:
        if raw_labels and sev not in labels.values():
            c.warn([*base, "severity_labels"], f"no label maps to {sev.value}")

    domains: list[Domain] = []
    for did, rd in c.table([*base, "domain"], raw.get("domain"), required=False).items():
        dpath = [*base, "domain", did]
        if not _ID_RE.match(did):
            c.add(dpath, "a domain id is lower-case letters, digits, _ . -")
        dom = c.table(dpath, rd)
        c.unknown(dpath, dom, _DOMAIN_KEYS)
        keywords = c.strings([*dpath, "keywords"], dom.get("keywords"))
        if not keywords:
            c.add([*dpath, "keywords"], "a domain needs at least one keyword")
        domains.append(Domain(did, str(dom.get("label", did)), keywords))
    domain_ids = {d.id for d in domains}
    match_fields: tuple[str, ...] = ()
    if domains:
        match_fields = c.strings([*base, "domain_match_fields"], raw.get("domain_match_fields"))

    regimes: list[Regime] = []
    raw_regimes = raw.get("regime")
    if not isinstance(raw_regimes, list) or not raw_regimes:
        c.add([*base, "regime"], "at least one [[disclosure.regime]] is required")
        raw_regimes = []
    seen: set[str] = set()
    for i, rr in enumerate(raw_regimes):
        path: list[Any] = [*base, "regime", i]
        if isinstance(rr, dict) and isinstance(rr.get("id"), str):
            c.names[(*c.prefix, *path)] = rr["id"]
        regime = _check_regime(c, path, c.table(path, rr), domain_ids)
        if regime is None:
            continue
        if regime.id in seen:
            c.add([*path, "id"], f"duplicate regime id {regime.id!r}")
        seen.add(regime.id)
        regimes.append(regime)

    # Regimes must not overlap: a decision date in two regimes would have two base rules.
    ordered = sorted(enumerate(regimes), key=lambda ir: ir[1].effective_from)
    for (_, a), (j, b) in itertools.pairwise(ordered):
        j_path = [*base, "regime", _index_of(raw_regimes, b.id, j)]
        if a.effective_until is None or a.effective_until >= b.effective_from:
            c.add(
                [*j_path, "effective_from"],
                f"regime {b.id} ({b.effective_from}) overlaps regime {a.id} "
                f"({a.effective_from}..{a.effective_until or 'open'}); "
                "end the earlier one the day before",
            )
        elif a.effective_until + _ONE_DAY != b.effective_from:
            c.warn(
                [*j_path, "effective_from"],
                f"gap after regime {a.id} (ends {a.effective_until}): records decided in the gap "
                "are not shown",
            )
    if any(p.severity == "error" for p in c.problems):
        return None
    return DisclosureRules(
        regimes=tuple(r for _, r in ordered),
        domains=tuple(domains),
        domain_match_fields=match_fields,
        severity_labels=MappingProxyType(labels),
        cap_years=cap_years,
        cap_citation=cap_citation,
    )


def _index_of(raw_regimes: list[Any], rid: str, default: int) -> int:
    for i, rr in enumerate(raw_regimes):
        if isinstance(rr, dict) and rr.get("id") == rid:
            return i
    return default


def _check_regime(
    c: _Checker, path: list[Any], rr: dict[str, Any], domain_ids: set[str]
) -> Regime | None:
    n_before = len(c.problems)
    c.unknown(path, rr, _REGIME_KEYS)
    rid = c.text([*path, "id"], rr.get("id"))
    if rid and not _ID_RE.match(rid):
        c.add([*path, "id"], "a regime id is lower-case letters, digits, _ . -")
    citation = c.text([*path, "citation"], rr.get("citation"))
    start = c.day([*path, "effective_from"], rr.get("effective_from"))
    until = c.day([*path, "effective_until"], rr.get("effective_until"), required=False)
    if start and until and until < start:
        c.add([*path, "effective_until"], f"ends ({until}) before it starts ({start})")
    retro = rr.get("retroactive", True)
    if not isinstance(retro, bool):
        c.add([*path, "retroactive"], "must be true or false")

    classes: dict[Severity, ClassRule] = {}
    raw_classes = c.table([*path, "class"], rr.get("class"))
    for key in raw_classes:
        if key not in Severity.__members__.values():
            c.add(
                [*path, "class", key],
                f"unknown class {key!r}; one of {', '.join(s.value for s in Severity)}",
            )
    for sev in Severity:
        cpath = [*path, "class", sev.value]
        if raw_classes and sev.value not in raw_classes:
            c.add([*path, "class"], f"class {sev.value} is missing (every regime lists all three)")
            continue
        rc = c.table(cpath, raw_classes.get(sev.value), required=False)
        if not rc:
            continue
        c.unknown(cpath, rc, _CLASS_KEYS)
        lo = c.count([*cpath, "min_months"], rc.get("min_months"), minimum=0)
        hi = c.count([*cpath, "max_months"], rc.get("max_months"), minimum=0)
        if hi and lo > hi:
            c.add([*cpath, "min_months"], f"minimum {lo} months exceeds maximum {hi} months")
        if not hi and lo:
            c.add([*cpath, "min_months"], "a class that is not disclosed (max 0) has no minimum")
        classes[sev] = ClassRule(lo, hi)

    dom_min: dict[str, int] = {}
    for did, months in c.table(
        [*path, "domain_min_months"], rr.get("domain_min_months"), required=False
    ).items():
        dpath = [*path, "domain_min_months", did]
        if did not in domain_ids:
            c.add(dpath, f"unknown domain {did!r} (not in [disclosure.domain])")
            continue
        n = c.count(dpath, months, minimum=1)
        for sev, rule in classes.items():
            if rule.disclosed and n > rule.max_months:
                c.add(
                    dpath,
                    f"domain minimum {n} months exceeds the {sev.value} maximum "
                    f"({rule.max_months} months)",
                )
        dom_min[did] = n
    if start is None or any(p.severity == "error" for p in c.problems[n_before:]):
        return None
    return Regime(
        id=rid,
        title=str(rr.get("title", rid)),
        citation=citation,
        effective_from=start,
        effective_until=until,
        classes=MappingProxyType(classes),
        domain_min_months=MappingProxyType(dom_min),
        retroactive=bool(retro),
    )


def _check_retention(c: _Checker, raw: dict[str, Any]) -> RetentionRules:
    base = ["retention"]
    c.unknown(base, raw, _RETENTION_KEYS)
    years = c.count([*base, "negative_years"], raw.get("negative_years"), minimum=1)
    days = raw.get("audit_log_days")
    if isinstance(days, int) and not isinstance(days, bool) and days < AUDIT_LOG_MIN_DAYS:
        c.add(
            [*base, "audit_log_days"],
            f"{days} days is below the legal floor of six months ({AUDIT_LOG_MIN_DAYS} days; "
            f"{AUDIT_LOG_CITATION})",
        )
        days = AUDIT_LOG_MIN_DAYS
    else:
        days = c.count([*base, "audit_log_days"], days, minimum=AUDIT_LOG_MIN_DAYS)
    long_term: set[date] = set()
    raw_lt = raw.get("long_term_dates", [])
    if not isinstance(raw_lt, list):
        c.add([*base, "long_term_dates"], "must be a list of dates")
        raw_lt = []
    for i, v in enumerate(raw_lt):
        d = c.day([*base, "long_term_dates", i], v)
        if d is not None:
            long_term.add(d)
    citation = c.text([*base, "citation"], raw.get("citation"))
    return RetentionRules(years, days, frozenset(long_term), citation)


def _check_dispute(c: _Checker, raw: dict[str, Any]) -> DisputeRules:
    base = ["dispute"]
    c.unknown(base, raw, _DISPUTE_KEYS)
    own = c.count([*base, "own_data_working_days"], raw.get("own_data_working_days"), minimum=1)
    assisted = c.count(
        [*base, "assisted_working_days"], raw.get("assisted_working_days"), minimum=1
    )
    credit = c.count([*base, "credit_reporting_days"], raw.get("credit_reporting_days"), minimum=1)
    if assisted < own:
        c.warn(
            [*base, "assisted_working_days"],
            "shorter than own_data_working_days, though another body must help verify",
        )
    citation = c.text([*base, "citation"], raw.get("citation"))
    return DisputeRules(own, assisted, credit, citation)
