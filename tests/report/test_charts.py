"""Inline SVG charts: labels escaped, no style attributes, honest empty states."""

from __future__ import annotations

import re
from datetime import timedelta

from coverwatch.report.charts import Series, Span, bar_chart, line_chart, span_chart
from tests.report.sample import HOSTILE, HOSTILE_DNS, NOW


def test_bar_chart_escapes_labels_and_uses_no_style_attributes() -> None:
    svg = bar_chart(
        [HOSTILE, "Axis"],
        [Series("hq", "#000000"), Series('si"te', "#111111")],
        {(HOSTILE, "hq"): 2, ("Axis", 'si"te'): 1},
        "makers <by> site",
        {HOSTILE: "covered <entity>"},
    )
    assert "<script>" not in svg and "&lt;script&gt;" in svg
    assert "covered &lt;entity&gt;" in svg and "si&#34;te" in svg
    assert 'aria-label="makers &lt;by&gt; site"' in svg
    assert not re.search(r"\sstyle=", svg)
    assert svg.count("<rect") == 2 + 2  # two legend swatches, two bars


def test_empty_charts_say_so() -> None:
    assert "Nothing to chart" in bar_chart([], [Series("a", "#000")], {}, "x")
    assert "two scans or more" in line_chart(["1 Nov"], [(Series("a", "#000"), [1])], "x")


def test_line_chart_has_one_point_per_scan_and_integer_ticks() -> None:
    svg = line_chart(
        ["1 Nov", "8 Nov", "15 Nov"],
        [(Series("hosts", "#000"), [7, 8, 8]), (Series("covered", "#f00"), [5, 5, 3])],
        "trend",
    )
    assert svg.count("<circle") == 6 and svg.count("<polyline") == 2
    ticks = re.findall(r'text-anchor="end">(\d+)</text>', svg)
    assert ticks == ["0", "2", "4", "6", "8"]


def test_bar_chart_formats_values() -> None:
    svg = bar_chart(["a"], [Series("s", "#000")], {("a", "s"): 2_500}, "x", fmt=lambda n: f"{n}B")
    assert 'class="value">2500B</text>' in svg and ": 2500B</title>" in svg


def test_span_chart_places_spans_on_a_time_axis_and_escapes() -> None:
    red, blue = Series("unknown", "#ff0000"), Series("vendor <cloud>", "#0000ff")
    spans = [
        Span("cam-1", NOW, NOW + timedelta(hours=10), red, f"to {HOSTILE_DNS}"),
        Span("cam-1", NOW + timedelta(hours=5), NOW + timedelta(hours=5), blue, "an instant"),
        Span(HOSTILE, NOW + timedelta(hours=2), NOW + timedelta(hours=4), blue, "b"),
        Span("not a row", NOW, NOW, blue, "dropped"),
    ]
    svg = span_chart(["cam-1", HOSTILE], spans, "timeline")
    assert "<img" not in svg and "<script>" not in svg and "&lt;img src=x" in svg
    assert "vendor &lt;cloud&gt;" in svg and "dropped" not in svg
    bars = re.findall(r'<rect x="([\d.]+)" y="\d+" width="([\d.]+)" height="12"', svg)
    assert len(bars) == 3
    (x0, w0), (x1, w1), _ = ((float(x), float(w)) for x, w in bars)
    assert x0 == 170.0 and x0 + w0 == 544.0  # the first span covers the whole axis
    assert w1 == 3.0 and abs(x1 - (170 + 374 / 2)) < 0.1  # an instant is a thin mark midway
    assert "29 Nov 12:00" in svg and "29 Nov 22:00" in svg
    assert not re.search(r"\sstyle=", svg)
    assert "Nothing to chart" in span_chart([], [], "x")
