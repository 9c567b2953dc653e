"""Inline SVG charts, drawn on the server in Python (docs/report.md §3).

Owns turning a few labelled numbers into an ``<svg>`` element: horizontal bars, stacked
columns over time, and a KPI bar against its threshold. No JavaScript, no fonts or images
fetched: a report opens offline and shows the same picture in every browser and in the PDF.

Every label comes from data (actor names, event types, column names from a provider's file)
and is untrusted: markup is only ever built as ``Markup("literal").format(…)``, which
XML-escapes every argument, so a label never becomes markup; the result reaches the templates
as :class:`markupsafe.Markup` and is not escaped twice. Numbers are formatted here, never
taken as text from data.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from markupsafe import Markup

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


def _svg(width: int, height: int, title: str, body: list[Markup]) -> Markup:
    # Markup("…").format(…) escapes every argument: labels from data never become markup.
    head = Markup(
        '<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{}" height="{}" '
        'viewBox="0 0 {} {}" style="{}"><title>{}</title>'
    ).format(width, height, width, height, _FONT + ";font-size:12px", title)
    return head + Markup("").join(body) + Markup("</svg>")


def bars(
    items: Sequence[tuple[str, int]], *, title: str, width: int = 640, color: str = PALETTE[0]
) -> Markup:
    """Horizontal bars, one per (label, count), largest scale at the longest bar."""
    if not items:
        return _svg(width, 24, title, [Markup('<text x="0" y="16">—</text>')])
    label_w = min(260, 14 + 13 * max(len(label) for label, _ in items))
    row = 22
    height = row * len(items) + 8
    top = max((v for _, v in items), default=0) or 1
    span = width - label_w - 70
    out: list[Markup] = []
    for i, (label, value) in enumerate(items):
        y = 4 + i * row
        w = span * value / top
        out.append(
            Markup(
                '<text x="{}" y="{}" text-anchor="end">{}</text>'
                '<rect x="{}" y="{}" width="{}" height="{}" fill="{}"><title>{}: {}</title></rect>'
                '<text x="{}" y="{}">{}</text>'
            ).format(
                label_w - 6,
                _n(y + 14),
                label,
                label_w,
                y,
                _n(w),
                row - 6,
                color,
                label,
                value,
                _n(label_w + w + 4),
                _n(y + 14),
                value,
            )
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
    out: list[Markup] = [
        Markup(
            '<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="#888"/>'
            '<text x="{}" y="16" text-anchor="end">{}</text>'
            '<text x="{}" y="{}" text-anchor="end">0</text>'
        ).format(left, plot_h, width - 4, plot_h, left - 4, top, left - 4, plot_h)
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
                Markup(
                    '<rect x="{}" y="{}" width="{}" height="{}" fill="{}">'
                    "<title>{} {}: {}</title></rect>"
                ).format(_n(x), _n(y), _n(bar_w), _n(h), colors[s], label, s, v)
            )
        if i % every == 0:
            out.append(
                Markup('<text x="{}" y="{}" text-anchor="middle">{}</text>').format(
                    _n(x + bar_w / 2), plot_h + 16, label
                )
            )
    for j, s in enumerate(series):
        lx = 8 + (j % 4) * ((width - 16) / 4)
        ly = height + 4 + (j // 4) * 18
        out.append(
            Markup(
                '<rect x="{}" y="{}" width="10" height="10" fill="{}"/>'
                '<text x="{}" y="{}">{}</text>'
            ).format(_n(lx), ly - 10, colors[s], _n(lx + 14), ly, s)
        )
    return _svg(width, total_h, title, out)


def kpi_bar(value: float | None, threshold: float, *, title: str, width: int = 320) -> Markup:
    """A 0–100 % bar with the threshold marked: green at or above it, vermilion below."""
    h = 26
    out = [Markup('<rect x="0" y="4" width="{}" height="{}" fill="#eee"/>').format(width, h - 8)]
    if value is not None:
        color = "#009E73" if value >= threshold else "#D55E00"
        out.append(
            Markup('<rect x="0" y="4" width="{}" height="{}" fill="{}"/>').format(
                _n(width * max(0.0, min(1.0, value))), h - 8, color
            )
        )
    tx = _n(width * threshold)
    out.append(
        Markup('<line x1="{}" y1="0" x2="{}" y2="{}" stroke="#000" stroke-width="2"/>').format(
            tx, tx, h
        )
    )
    return _svg(width, h, title, out)
