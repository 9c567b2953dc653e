"""Inline SVG charts, drawn on the server in Python (docs/report.md §3).

Owns turning a few labelled numbers into an ``<svg>`` element: horizontal bars, stacked
columns over time, and a KPI bar against its threshold. No JavaScript, no fonts or images
fetched: a report opens offline and shows the same picture in every browser and in the PDF.

Every label comes from data (actor names, event types, column names from a provider's file)
and is untrusted: it is XML-escaped here (:func:`markupsafe.escape`) before it joins the
markup, and the result is handed to the templates as :class:`markupsafe.Markup` so that it is
not escaped twice. Numbers are formatted by this module, never taken as text from data.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from markupsafe import Markup, escape

__all__ = ["PALETTE", "bars", "kpi_bar", "stacked_columns"]

# Okabe-Ito (colour-blind safe) first, then darker and lighter companions: 12 distinct series.
PALETTE = (
    "#0072B2",
    "#E69F00",
    "#009E73",
    "#D55E00",
    "#CC79A7",
    "#56B4E9",
    "#F0E442",
    "#000000",
    "#7F3C8D",
    "#8C564B",
    "#A5AA99",
    "#1B9E77",
)
_FONT = "font-family:'Noto Sans CJK SC','Noto Sans SC','Source Han Sans SC',sans-serif"


def _n(x: float) -> str:
    """A coordinate: at most one decimal, no exponent (SVG attribute syntax)."""
    return f"{x:.1f}".rstrip("0").rstrip(".")


def _svg(width: int, height: int, title: str, body: list[str]) -> Markup:
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" style="{_FONT};font-size:12px">'
        f"<title>{escape(title)}</title>"
    )
    return Markup(head + "".join(body) + "</svg>")  # noqa: S704  every piece escaped above


def bars(
    items: Sequence[tuple[str, int]], *, title: str, width: int = 640, color: str = PALETTE[0]
) -> Markup:
    """Horizontal bars, one per (label, count), largest scale at the longest bar."""
    if not items:
        return _svg(width, 24, title, ['<text x="0" y="16">—</text>'])
    label_w = min(260, 14 + 13 * max(len(label) for label, _ in items))
    row = 22
    height = row * len(items) + 8
    top = max((v for _, v in items), default=0) or 1
    span = width - label_w - 70
    out: list[str] = []
    for i, (label, value) in enumerate(items):
        y = 4 + i * row
        w = span * value / top
        out.append(
            f'<text x="{label_w - 6}" y="{_n(y + 14)}" text-anchor="end">{escape(label)}</text>'
            f'<rect x="{label_w}" y="{y}" width="{_n(w)}" height="{row - 6}" fill="{color}">'
            f"<title>{escape(label)}: {value}</title></rect>"
            f'<text x="{_n(label_w + w + 4)}" y="{_n(y + 14)}">{value}</text>'
        )
    return _svg(width, height, title, out)


def stacked_columns(
    columns: Sequence[tuple[str, Mapping[str, int]]],
    *,
    series: Sequence[str],
    title: str,
    width: int = 640,
    height: int = 220,
) -> Markup:
    """One column per label (e.g. a day), stacked by series (e.g. event type), with a legend."""
    colors = {s: PALETTE[i % len(PALETTE)] for i, s in enumerate(series)}
    legend_rows = (len(series) + 3) // 4
    plot_h = height - 40
    total_h = height + 18 * legend_rows
    top = max((sum(c.values()) for _, c in columns), default=0) or 1
    n = max(len(columns), 1)
    left = 36
    slot = (width - left - 8) / n
    bar_w = max(2.0, min(40.0, slot * 0.7))
    out: list[str] = [
        f'<line x1="{left}" y1="{plot_h}" x2="{width - 4}" y2="{plot_h}" stroke="#888"/>',
        f'<text x="{left - 4}" y="16" text-anchor="end">{top}</text>',
        f'<text x="{left - 4}" y="{plot_h}" text-anchor="end">0</text>',
    ]
    every = max(1, n // 8)  # at most ~8 axis labels
    for i, (label, counts) in enumerate(columns):
        x = left + i * slot + (slot - bar_w) / 2
        y = float(plot_h)
        for s in series:
            v = counts.get(s, 0)
            if not v:
                continue
            h = (plot_h - 8) * v / top
            y -= h
            out.append(
                f'<rect x="{_n(x)}" y="{_n(y)}" width="{_n(bar_w)}" height="{_n(h)}" '
                f'fill="{colors[s]}"><title>{escape(label)} {escape(s)}: {v}</title></rect>'
            )
        if i % every == 0:
            out.append(
                f'<text x="{_n(x + bar_w / 2)}" y="{plot_h + 16}" text-anchor="middle">'
                f"{escape(label)}</text>"
            )
    for j, s in enumerate(series):
        lx = 8 + (j % 4) * ((width - 16) / 4)
        ly = height + 4 + (j // 4) * 18
        out.append(
            f'<rect x="{_n(lx)}" y="{ly - 10}" width="10" height="10" fill="{colors[s]}"/>'
            f'<text x="{_n(lx + 14)}" y="{ly}">{escape(s)}</text>'
        )
    return _svg(width, total_h, title, out)


def kpi_bar(value: float | None, threshold: float, *, title: str, width: int = 320) -> Markup:
    """A 0–100 % bar with the threshold marked: green at or above it, vermilion below."""
    h = 26
    out = [f'<rect x="0" y="4" width="{width}" height="{h - 8}" fill="#eee"/>']
    if value is not None:
        color = "#009E73" if value >= threshold else "#D55E00"
        out.append(
            f'<rect x="0" y="4" width="{_n(width * max(0.0, min(1.0, value)))}" '
            f'height="{h - 8}" fill="{color}"/>'
        )
    tx = width * threshold
    out.append(
        f'<line x1="{_n(tx)}" y1="0" x2="{_n(tx)}" y2="{h}" stroke="#000" stroke-width="2"/>'
    )
    return _svg(width, h, title, out)
