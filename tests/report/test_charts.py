"""Inline SVG charts: labels escaped, no style attributes, honest empty states."""

from __future__ import annotations

import re

from coverwatch.report.charts import Series, bar_chart, line_chart
from tests.report.sample import HOSTILE


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
