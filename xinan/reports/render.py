"""Rendering report models into self-contained HTML (and, for the subject, PDF).

Owns the Jinja2 environment (autoescape on for every template: each string from data is
untrusted), the report texts in Chinese and English, the filters that format Beijing times,
percentages and counts, and the atomic write of the result (docs/report.md §2–§4; the choice
of Jinja2 and of the PDF engine: docs/adr/0006-reports.md).

Does not own the numbers: every model is computed by the library (:mod:`xinan.auditor`,
:mod:`xinan.provider`) and passed in as its ``to_json()`` form, so the page and the ``--json``
twin are the same dictionary. Does not fetch anything: the page carries its CSS inline, its
charts as inline SVG (:mod:`xinan.reports.charts`), and a Content-Security-Policy that forbids
scripts and every network request.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from markupsafe import Markup

from xinan.errors import UsageError
from xinan.fileio import write_bytes_atomic
from xinan.reports import charts
from xinan.reports.i18n import LANGS, texts

if TYPE_CHECKING:
    import jinja2

__all__ = [
    "BEIJING",
    "LANGS",
    "beijing_time",
    "render_audit",
    "render_html",
    "render_quality",
    "write_html",
]

# China Standard Time is UTC+8 all year (no daylight saving since 1991): a fixed offset needs
# no time-zone database on the machine that renders.
BEIJING = timezone(timedelta(hours=8), "CST")


def beijing_time(value: str | datetime, *, seconds: bool = True) -> str:
    """``2026-12-06T09:23:44.123456Z`` → ``2026-12-06 17:23:44`` (Beijing time, no fraction)."""
    t = (
        value
        if isinstance(value, datetime)
        else datetime.fromisoformat(value.replace("Z", "+00:00"))
    )
    if t.tzinfo is None:
        t = t.replace(tzinfo=UTC)
    return t.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")


def _pct(value: float | None, digits: int = 2) -> str:
    return "—" if value is None else f"{value * 100:.{digits}f}%"


def _num(value: int | None) -> str:
    return "—" if value is None else f"{value:,}"


def _lookup(data: Mapping[str, Any], path: str) -> Any:
    cur: Any = data
    for part in path.split("."):
        cur = cur[int(part)] if isinstance(cur, list) else cur[part]
    return cur


@functools.cache
def _env() -> jinja2.Environment:
    # built (and jinja2 imported) on the first page: importing it cost every command about
    # 0.1 s at start-up, and only the report commands render pages
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("xinan.reports", "templates"),
        # Every template is HTML and every value from data is untrusted: escape by default,
        # for every file name (select_autoescape would skip unknown extensions).
        autoescape=True,
        undefined=jinja2.StrictUndefined,  # a missing number is a bug, never an empty cell
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["bj"] = beijing_time
    env.filters["bjdate"] = lambda v: beijing_time(v)[:10]
    env.filters["pct"] = _pct
    env.filters["num"] = _num
    return env


def render_html(
    template: str,
    model: Mapping[str, Any],
    *,
    lang: str = "zh",
    svg: Mapping[str, Markup] | None = None,
    for_pdf: bool = False,
) -> str:
    """The page for ``model`` (a report's ``to_json()``), in ``lang`` (``zh`` or ``en``), with
    the charts ``svg`` (built by :mod:`xinan.reports.charts` from the same model)."""
    if lang not in LANGS:
        raise UsageError(f"unknown language {lang!r}", hint=f"one of: {', '.join(LANGS)}")
    t = texts(lang)

    def n(path: str, fmt: str = "num") -> Markup:
        """A number from the model, tagged with its JSON path (tests compare it to --json)."""
        value = _lookup(model, path)
        shown = _pct(value) if fmt == "pct" else _num(value)
        raw = "" if value is None else repr(value)
        return Markup('<data class="n" value="{}" data-key="{}">{}</data>').format(raw, path, shown)

    return (
        _env()
        .get_template(template)
        .render(r=model, t=t, lang=lang, n=n, svg=dict(svg or {}), for_pdf=for_pdf)
    )


def write_html(path: str | Path, html: str) -> Path:
    """Write the page atomically (a crash never leaves half a report under its name)."""
    p = Path(path)
    write_bytes_atomic(p, html.encode("utf-8"))
    return p


def render_audit(model: Mapping[str, Any], *, lang: str = "zh") -> str:
    """The auditor's report page (docs/report.md §5)."""
    t = texts(lang) if lang in LANGS else texts("zh")
    series = [x["type"] for x in model["types"]]
    days = [(d["day"], d["types"]) for d in model["by_day"]]
    actors = [(a["name"] or a["key_id"], a["entries"]) for a in model["actors"]]
    svg = {
        "activity": charts.stacked_columns(days, series=series, title=t["activity"]),
        "actors": charts.bars(actors, title=t["by_actor"]),
    }
    return render_html("audit.html.j2", model, lang=lang, svg=svg)


def render_subject(model: Mapping[str, Any], *, lang: str = "zh", for_pdf: bool = False) -> str:
    """The data subject's access report page (docs/report.md §6); ``for_pdf`` adds page rules."""
    t = texts(lang) if lang in LANGS else texts("zh")
    counts: dict[str, int] = {}
    for x in model["receipts"]:
        who = x["institution"] or t["this_platform"]
        counts[who] = counts.get(who, 0) + 1
    svg = {
        "institutions": charts.bars(
            sorted(counts.items(), key=lambda kv: -kv[1]), title=t["who_received"]
        )
    }
    return render_html("subject.html.j2", model, lang=lang, svg=svg, for_pdf=for_pdf)


def render_quality(model: Mapping[str, Any], *, lang: str = "zh") -> str:
    """The provider's quality report page (docs/report.md §7)."""
    t = texts(lang) if lang in LANGS else texts("zh")
    svg = {
        f"kpi_{k['kpi']}": charts.kpi_bar(k["value"], k["threshold"], title=t[f"kpi_{k['kpi']}"])
        for k in model["kpis"]
    }
    svg["reasons"] = charts.bars(
        [(x["reason"], x["rows"]) for x in model["reject_reasons"][:15]],
        title=t["reject_reasons"],
        color=charts.PALETTE[3],
    )
    svg["columns"] = charts.bars(
        [(x["column"], x["rows"]) for x in model["reject_columns"][:15]],
        title=t["by_column"],
        color=charts.PALETTE[1],
    )
    return render_html("quality.html.j2", model, lang=lang, svg=svg)
