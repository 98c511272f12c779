"""Inline SVG charts for the HTML report, drawn in Python: no script, no fetch, prints as is.

Every label is escaped here (they are maker names, zone names and sites: partly device-supplied)
and the result is ``Markup`` so the template inserts it unchanged. Colours are SVG presentation
attributes, never ``style=`` attributes, so the report's strict CSP has nothing to block.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from markupsafe import Markup, escape

WIDTH = 560
"""Drawing width in SVG units (the chart scales to its box)."""
_LABEL_W = 170
_ROW_H = 26
_BAR_H = 16
_CHAR_W = 6.6  # average advance of a 12px system sans-serif, for legend layout

#: Qualitative palette (Okabe-Ito based, readable in print and for colour-blind readers).
PALETTE: tuple[str, ...] = (
    "#0072b2",
    "#e69f00",
    "#009e73",
    "#cc79a7",
    "#56b4e9",
    "#d55e00",
    "#8c6d31",
    "#6f6f6f",
    "#f0c808",
    "#1b4f72",
)


@dataclass(frozen=True)
class Series:
    """One coloured series of a chart."""

    name: str
    """Legend text."""
    colour: str
    """Fill or stroke colour (``#rrggbb``)."""


def _short(text: str, limit: int = 26) -> str:
    """``text`` cut to ``limit`` characters with an ellipsis."""
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def _legend(series: Sequence[Series], y: float) -> tuple[list[str], float]:
    """Legend swatches wrapped over lines from ``y``; returns the SVG parts and the next y."""
    parts: list[str] = []
    x = 0.0
    for s in series:
        width = 18 + len(_short(s.name, 22)) * _CHAR_W + 14
        if x and x + width > WIDTH:
            x, y = 0.0, y + 18
        parts.append(
            f'<rect x="{x:.0f}" y="{y:.0f}" width="11" height="11" rx="2" fill="{s.colour}"/>'
            f'<text x="{x + 16:.0f}" y="{y + 10:.0f}" class="legend">'
            f"<title>{escape(s.name)}</title>{escape(_short(s.name, 22))}</text>"
        )
        x += width
    return parts, y + 26


def _svg(height: float, label: str, body: Sequence[str]) -> Markup:
    """Wrap ``body`` in an accessible, scalable ``<svg>``."""
    return Markup(
        f'<svg class="chart-svg" viewBox="0 0 {WIDTH} {height:.0f}" role="img" '
        f'aria-label="{escape(label)}" xmlns="http://www.w3.org/2000/svg">'
        f"<title>{escape(label)}</title>{''.join(body)}</svg>"
    )


def _empty(message: str) -> Markup:
    return Markup('<p class="empty">{}</p>').format(message)


def bar_chart(
    rows: Sequence[str],
    series: Sequence[Series],
    values: Mapping[tuple[str, str], int],
    label: str,
    notes: Mapping[str, str] | None = None,
    fmt: Callable[[int], str] = str,
) -> Markup:
    """Horizontal bars, one per row, stacked by series; ``values[(row, series name)]``.

    ``notes`` adds a small tag after a row's label (e.g. "sensitive, core" for a zone);
    ``fmt`` writes a value (e.g. as bytes).
    """
    totals = {r: sum(values.get((r, s.name), 0) for s in series) for r in rows}
    if not rows or not any(totals.values()):
        return _empty("Nothing to chart.")
    parts, y = _legend(series, 0) if len(series) > 1 else ([], 4.0)
    # Room right of the longest bar for its value label ("3", or "2.4 GB" with a ``fmt``).
    room = max(44.0, max(len(fmt(t)) for t in totals.values()) * _CHAR_W * 1.1 + 10)
    scale = (WIDTH - _LABEL_W - room) / max(totals.values())
    for row in rows:
        note = (notes or {}).get(row)
        parts.append(
            f'<text x="{_LABEL_W - 8}" y="{y + 12.5:.0f}" text-anchor="end" class="label">'
            f"<title>{escape(row)}</title>{escape(_short(row))}</text>"
        )
        if note:
            parts.append(
                f'<text x="{_LABEL_W - 8}" y="{y + 23:.0f}" text-anchor="end" class="note">'
                f"{escape(note)}</text>"
            )
        x = float(_LABEL_W)
        for s in series:
            n = values.get((row, s.name), 0)
            if n:
                parts.append(
                    f'<rect x="{x:.1f}" y="{y:.0f}" width="{n * scale:.1f}" height="{_BAR_H}" '
                    f'fill="{s.colour}"><title>{escape(row)} \u2013 {escape(s.name)}: '
                    f"{escape(fmt(n))}</title></rect>"
                )
                x += n * scale
        parts.append(
            f'<text x="{x + 6:.1f}" y="{y + 12.5:.0f}" class="value">{fmt(totals[row])}</text>'
        )
        y += _ROW_H + (8 if note else 0)
    return _svg(y + 2, label, parts)


def _nice_step(value: float) -> int:
    """The smallest 1/2/5 x 10^k at or above ``value`` (at least 1)."""
    if value <= 1:
        return 1
    power = int(10 ** math.floor(math.log10(value)))
    return next(m * power for m in (1, 2, 5, 10) if m * power >= value)


def line_chart(
    labels: Sequence[str], series: Sequence[tuple[Series, Sequence[int]]], label: str
) -> Markup:
    """Lines over ``labels`` (x axis, in order), one per series, with a legend and a y grid."""
    if len(labels) < 2:
        return _empty("A trend needs two scans or more.")
    parts, top = _legend([s for s, _ in series], 0)
    left, right, bottom, height = 44.0, WIDTH - 28.0, top + 170.0, top + 200.0
    step = _nice_step(max((max(v) for _, v in series if v), default=1) / 4)
    ticks = math.ceil(max((max(v) for _, v in series if v), default=1) / step) or 1
    peak = step * ticks
    step_x = (right - left) / (len(labels) - 1)

    def y_of(v: int) -> float:
        return bottom - (bottom - top) * v / peak

    for i in range(ticks + 1):
        y = y_of(i * step)
        parts.append(f'<line x1="{left}" x2="{right}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>')
        parts.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{i * step}</text>')
    every = max(1, math.ceil(len(labels) / 8))  # at most ~8 x labels
    for i, text in enumerate(labels):
        if i % every == 0 or i == len(labels) - 1:
            parts.append(
                f'<text x="{left + i * step_x:.1f}" y="{bottom + 18:.0f}" text-anchor="middle">'
                f"{escape(text)}</text>"
            )
    for s, values in series:
        points = " ".join(f"{left + i * step_x:.1f},{y_of(v):.1f}" for i, v in enumerate(values))
        parts.append(f'<polyline points="{points}" fill="none" stroke="{s.colour}" class="line"/>')
        for i, v in enumerate(values):
            parts.append(
                f'<circle cx="{left + i * step_x:.1f}" cy="{y_of(v):.1f}" r="3.5" '
                f'fill="{s.colour}"><title>{escape(s.name)}, {escape(labels[i])}: {v}</title>'
                "</circle>"
            )
    return _svg(height, label, parts)


@dataclass(frozen=True)
class Span:
    """One bar of a timeline: something seen from ``start`` to ``end`` on one row."""

    row: str
    """The row (y) it belongs to."""
    start: datetime
    end: datetime
    series: Series
    """Its colour and legend entry."""
    title: str
    """Tooltip text."""


def _time_ticks(start: datetime, end: datetime, count: int = 3) -> list[datetime]:
    """``count + 1`` evenly spaced instants from ``start`` to ``end``."""
    step = (end - start) / count
    return [start + step * i for i in range(count + 1)]


def span_chart(rows: Sequence[str], spans: Sequence[Span], label: str) -> Markup:
    """A timeline: per row, one bar per span from its first to its last moment.

    It shows *when* something was seen, not how much: a span is drawn as one solid bar even if
    the traffic inside it came in bursts (the data holds first and last moments only).
    """
    if not rows or not spans:
        return _empty("Nothing to chart.")
    legend: dict[str, Series] = {s.series.name: s.series for s in spans}
    parts, y = _legend(list(legend.values()), 0)
    lo = min(s.start for s in spans)
    hi = max(s.end for s in spans)
    total = (hi - lo).total_seconds() or 1.0
    left, right = float(_LABEL_W), WIDTH - 16.0

    def x_of(t: datetime) -> float:
        return left + (right - left) * (t - lo).total_seconds() / total

    top = y
    y_of = {row: top + i * _ROW_H for i, row in enumerate(rows)}
    bottom = top + len(rows) * _ROW_H
    for t in _time_ticks(lo, hi) if hi > lo else [lo]:
        x = x_of(t)
        parts.append(
            f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{top:.0f}" y2="{bottom:.0f}" class="grid"/>'
        )
        anchor = "end" if x > right - 40 else "start" if x < left + 40 else "middle"
        parts.append(
            f'<text x="{x:.1f}" y="{bottom + 16:.0f}" text-anchor="{anchor}" class="note">'
            f"{escape(t.strftime('%d %b %H:%M'))}</text>"
        )
    for row in rows:
        parts.append(
            f'<text x="{_LABEL_W - 8}" y="{y_of[row] + 12.5:.0f}" text-anchor="end" class="label">'
            f"<title>{escape(row)}</title>{escape(_short(row))}</text>"
        )
    for s in spans:
        if s.row not in y_of:
            continue
        x = x_of(s.start)
        width = max(x_of(s.end) - x, 3.0)  # an instant still gets a visible mark
        parts.append(
            f'<rect x="{x:.1f}" y="{y_of[s.row] + 2:.0f}" width="{width:.1f}" '
            f'height="{_BAR_H - 4}" rx="2" fill="{s.series.colour}" fill-opacity="0.75">'
            f"<title>{escape(s.title)}</title></rect>"
        )
    return _svg(bottom + 24, label, parts)
