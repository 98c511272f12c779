"""Every report states its filters in its header (issue #10 part 2): which sites it covers."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from coverwatch.report import REPORTS, Format, ReportData


def _header(fmt: Format, text: str) -> str:
    if fmt is Format.HTML:
        return text[text.index('<header class="top">') : text.index("</header>")]
    return "\n".join(text.splitlines()[:4])


@pytest.mark.parametrize(
    ("site", "stated"),
    [
        (None, "all sites"),
        ("hq", "site hq"),
        ("<b>x</b>*", None),  # a site name is text: escaped like every other value
    ],
)
@pytest.mark.parametrize("fmt", [Format.HTML, Format.MD])
def test_header_names_the_site_filter(
    data: ReportData, fmt: Format, site: str | None, stated: str | None
) -> None:
    header = _header(fmt, REPORTS[fmt]().render(replace(data, site=site)))
    if stated is not None:
        assert stated in header
    else:
        assert "<b>" not in header
        escaped = "&lt;b&gt;x&lt;/b&gt;" + ("\\*" if fmt is Format.MD else "*")
        assert f"site {escaped}" in header


@pytest.mark.parametrize("site", [None, "hq"])
def test_json_report_carries_the_filters(data: ReportData, site: str | None) -> None:
    document = json.loads(REPORTS[Format.JSON]().render(replace(data, site=site)))
    assert document["filters"] == {"site": site}
