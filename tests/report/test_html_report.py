"""HtmlReport: self-contained, escaped, strict CSP, and every section an auditor needs."""

from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import replace
from html import unescape

import pytest

from coverwatch.report import REPORTS, Format, ReportData
from tests.report.sample import DAHUA, HIKVISION, HOSTILE


def _render(data: ReportData) -> str:
    return REPORTS[Format.HTML]().render(data)


def _sha256(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def _section(html: str, anchor: str) -> str:
    start = html.index(f'id="{anchor}"')
    end = html.find("<h2", start)
    return html[start:end]


def test_device_strings_are_escaped(data: ReportData) -> None:
    html = _render(data)
    assert HOSTILE not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "Audit &lt;hq &amp; depot&gt;" in html
    assert "UK sensitive sites &lt;test&gt;" in html
    assert HIKVISION in html


def test_nothing_is_fetched(data: ReportData) -> None:
    html = _render(data)
    assert not re.search(r"""\bsrc\s*=""", html, re.IGNORECASE)
    hrefs = re.findall(r"""\bhref\s*=\s*["']?([^"'\s>]*)""", html, re.IGNORECASE)
    assert hrefs and all(h.startswith("#") for h in hrefs)
    assert "url(" not in html and "@import" not in html
    assert not re.search(r"<(link|iframe|object|embed|img|base)\b", html, re.IGNORECASE)


def test_csp_allows_exactly_the_inline_script_and_stylesheet(data: ReportData) -> None:
    html = _render(data)
    (csp,) = re.findall(r'http-equiv="Content-Security-Policy" content="([^"]+)"', html)
    csp = unescape(csp)
    scripts = re.findall(r"<script>(.*?)</script>", html, re.DOTALL)
    styles = re.findall(r"<style>(.*?)</style>", html, re.DOTALL)
    assert len(scripts) == 1 and len(styles) == 1
    assert html.lower().count("<script") == 1
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
    assert directives["default-src"] == "'none'"
    assert directives["script-src"] == _sha256(scripts[0])
    assert directives["style-src"] == _sha256(styles[0])
    assert "unsafe" not in csp
    assert not re.search(r"\s(style|on[a-z]+)\s*=", html.replace(scripts[0], ""))


def test_executive_summary(data: ReportData) -> None:
    summary = _section(_render(data), "summary")
    cards = dict(
        (what, int(n))
        for n, what in re.findall(r'class="n">(\d+)</span><span class="what">([^<]+)<', summary)
    )
    assert cards == {
        "hosts found": 8,
        "cameras, NVRs, DVRs": 7,
        "made by a covered entity": 5,
        "covered, at sensitive sites": 1,
        "covered, linked to core networks": 1,
        "critical CVE findings (open)": 2,
        "open findings": 10,
    }
    strip = re.findall(r"<b>(\d+)</b>(\w+)</span>", summary)
    assert strip == [("4", "critical"), ("4", "high"), ("1", "medium"), ("1", "low"), ("0", "info")]


def test_charts_are_inline_svg(data: ReportData) -> None:
    charts = _section(_render(data), "charts")
    for label in (
        "Video devices by real maker and site",
        "Covered devices by zone",
        "Findings by severity and status",
        "Trend across scans",
    ):
        assert '<svg class="chart-svg" viewBox="0 0 560' in charts
        assert f'aria-label="{label}"' in charts
    no_trend = _section(_render(replace(data, history=data.history[:1])), "charts")
    assert "Trend across scans" not in no_trend


def test_plan_table(data: ReportData) -> None:
    plan = _section(_render(data), "plan")
    table = plan[: plan.index("</table>")]
    rows = re.findall(r"<tr><td>(\w[\w ]*)</td>(.*?)</tr>", table, re.DOTALL)
    cells = {site: re.findall(r'class="num[^"]*">([^<]+)<', rest) for site, rest in rows}
    assert cells["depot"] == ["1", "0", "1", "0", "0", "200"]
    assert cells["hq"] == ["3", "0", "0", "1", "1", "1,900"]
    assert cells["All sites"] == ["4", "0", "1", "1", "1", "2,100"]
    assert "camera 350, nvr 1,200; otherwise 200 per device" in plan


def test_waivers_show_expiry_and_what_they_cover(data: ReportData) -> None:
    waivers = _section(_render(data), "waivers")
    assert "Expired 5 days ago" in waivers and "Expires in 10 days" in waivers
    assert "Active, 200 days left" in waivers
    assert "waiver expired" in waivers  # the open-again finding of the expired waiver
    assert "10.1.0.2" in waivers and "10.0.0.3" in waivers


def test_device_table_and_evidence(data: ReportData) -> None:
    devices = _section(_render(data), "device-list")
    assert devices.count('<tbody class="device"') == len(data.devices)
    assert 'data-open="3"' in devices  # 10.0.1.5: three open findings
    assert "sold as LTS" in devices  # the rebrand
    assert "Evidence: 1 signal, 3 findings" in devices
    assert "Firmware with a known critical vulnerability" in devices
    assert "zone-flag sensitive" in devices and "zone-flag core" in devices
    assert DAHUA in devices


@pytest.mark.parametrize("policy", [True, False])
def test_inventory_only_report_has_no_policy_sections(data: ReportData, policy: bool) -> None:
    html = _render(data if policy else replace(data, policy=None, findings=[]))
    assert ('id="plan"' in html) is policy and ('id="waivers"' in html) is policy
    assert ("No policy was applied" in html) is not policy
