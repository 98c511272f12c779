"""HtmlReport: self-contained, escaped, strict CSP, and every section an auditor needs."""

from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import replace
from html import unescape
from html.parser import HTMLParser

import pytest

from coverwatch.report import REPORTS, Format, ReportData
from coverwatch.traffic.model import EgressVerdict
from tests.report.sample import DAHUA, HIKVISION, HOSTILE, HOSTILE_DNS


def _render(data: ReportData) -> str:
    return REPORTS[Format.HTML]().render(data)


def _sha256(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


class _Tags(HTMLParser):
    """Every start tag and its attributes, as a browser's tokenizer sees them (text is not
    markup, so an escaped ``src=`` inside a device-supplied name is not counted)."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))


def _tags(html: str) -> list[tuple[str, list[tuple[str, str | None]]]]:
    parser = _Tags()
    parser.feed(html)
    return parser.tags


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
    tags = _tags(html)
    assert not [t for t, attrs in tags for name, _ in attrs if name == "src"]
    hrefs = [v or "" for _, attrs in tags for name, v in attrs if name == "href"]
    assert hrefs and all(h.startswith("#") for h in hrefs)
    assert "url(" not in html and "@import" not in html
    assert not {t for t, _ in tags} & {"link", "iframe", "object", "embed", "img", "base"}


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
    attributes = {name for _, attrs in _tags(html) for name, _ in attrs}
    assert "style" not in attributes and not {a for a in attributes if a.startswith("on")}


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
        "devices sending data outside": 4,
        "to their maker&rsquo;s cloud only": 1,
        "to a third party or unknown destination": 3,
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


def test_traffic_section_shows_every_verdict(data: ReportData) -> None:
    html = _render(data)
    assert '<a href="#traffic">Traffic</a>' in html
    traffic = _section(html, "traffic")
    table = traffic[traffic.index('id="traffic-table"') : traffic.index("</table>")]
    rows = re.findall(r"<tr class=\"eg-row-([\w-]+)\">\s*<td class=\"nowrap\">([\d.]+)", table)
    assert rows == [
        ("unknown", "10.0.1.5"),
        ("unknown", "10.1.0.2"),
        ("third-party", "10.0.9.7"),
        ("vendor", "10.0.0.1"),
        ("clear", "10.0.0.4"),
        ("no-data", "10.0.0.9"),
    ]
    for verdict in EgressVerdict:
        assert f">{verdict.value}</span>" in table
    strip = re.findall(r"<b>(\d+)</b>([a-z ]+)</span>", traffic)
    assert strip[:5] == [
        ("2", "unknown destination"),
        ("1", "third party"),
        ("1", "vendor cloud"),
        ("1", "no egress observed"),
        ("1", "no traffic observed"),
    ]
    assert "sold as LTS" in table and "zone-flag sensitive" in table
    assert "2.4 GB" in table and "0.9 Mbit/s over 21600 s" in table  # the large upload
    assert "soap-add-port-mapping external 8000/TCP &rarr; 80 via 10.0.0.254" in table


def test_traffic_destinations_charts_and_zone_links(data: ReportData) -> None:
    traffic = _section(_render(data), "traffic")
    destinations = traffic[traffic.index('id="destinations-table"') :]
    destinations = destinations[: destinations.index("</table>")]
    assert destinations.count("<tr>") == 6 + 1  # six destinations and the header
    assert "Hikvision <small>(vendor cloud; matched by dns name)" in destinations
    assert "matched by port, port only: not counted as known" in destinations
    assert "NTP Pool Project <small>(NTP; matched by dns name)" in destinations
    assert '<span class="badge eg-unknown">unknown</span>' in destinations
    assert "RU" in destinations and "tcp/123" in destinations
    for label in ("Bytes sent outside per device", "When devices contacted outside destinations"):
        assert f'aria-label="{label}"' in traffic
    links = traffic[traffic.index('id="zone-links"') :]
    assert "<td>cctv-hq</td><td>core-net</td><td>tcp/554, tcp/37777</td>" in links
    assert "10.0.1.5 &rarr; 10.0.0.4" in links


def test_device_supplied_dns_names_are_escaped(data: ReportData) -> None:
    html = _render(data)
    assert HOSTILE_DNS not in html
    escaped = "&lt;img src=x onerror=alert(1)&gt;.example"
    assert f"<code>{escaped}</code>" in _section(html, "traffic")  # the destinations table
    assert f"({escaped}) tcp/443" in html  # the timeline's tooltip
    assert "img" not in {tag for tag, _ in _tags(html)}


def test_no_traffic_section_without_traffic_data(data: ReportData) -> None:
    html = _render(replace(data, traffic=[], links=[]))
    assert 'id="traffic"' not in html and 'href="#traffic"' not in html
    assert "devices sending data outside" not in html
    assert "Bytes sent outside per device" not in html


def test_no_egress_anywhere_is_said_plainly(data: ReportData) -> None:
    quiet = [e for e in data.traffic if not e.destinations]
    traffic = _section(_render(replace(data, traffic=quiet, links=[])), "traffic")
    assert traffic.count("No device sent anything outside.") == 2
    assert "No traffic between zones was observed." in traffic


def test_evidence_is_shown_once_per_device_not_per_finding(data: ReportData) -> None:
    """Issue 14: each finding repeated the device's whole evidence list."""
    from coverwatch.report import REPORTS, Format

    html = REPORTS[Format.HTML]().render(data)
    device = next(d for d in data.devices if d.ip == "10.0.1.5")
    assert sum(1 for f in data.findings if f.ip == device.ip) >= 2
    (evidence,) = device.attribution.evidence
    assert f"{evidence.signal} = <code>{evidence.value}</code>" not in html  # not per finding
    assert "device&rsquo;s attribution evidence (below)" in html
    # once, in the device's attribution table
    assert html.count(f"<td>{evidence.signal}</td><td><code>{evidence.value}</code>") == 1
