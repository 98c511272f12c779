"""MarkdownReport: headline counts, open findings by rule, plan per site, expiring waivers."""

from __future__ import annotations

from dataclasses import replace

from coverwatch.report import REPORTS, Format, ReportData
from coverwatch.report.md_report import md
from tests.report.sample import HOSTILE, HOSTILE_DNS


def _render(data: ReportData) -> str:
    return REPORTS[Format.MD]().render(data)


def test_headline_counts(data: ReportData) -> None:
    text = _render(data)
    assert text.startswith("# Audit &lt;hq &amp; depot&gt;\n")
    assert "**8** hosts found, **7** cameras/NVRs/DVRs (5 camera, 1 nvr, 1 dvr)" in text
    assert "**5** made by a covered entity" in text
    assert "**1** covered at sensitive sites, **1** covered linked to core networks" in text
    assert "**2** open critical CVE findings" in text
    assert "**10** open findings (4 critical, 4 high, 1 medium, 1 low)" in text
    assert "1 waived, 1 unverified" in text


def test_open_findings_by_severity_and_rule(data: ReportData) -> None:
    text = _render(data)
    assert "| critical | known\\-cve |" not in text  # hyphens are not escaped
    assert "| critical | known-cve | Firmware with a known critical vulnerability | 2 |" in text
    assert "| high | covered-vendor | Made by a covered entity | 4 |" in text
    assert "unverified" not in text.split("## Open findings")[1].split("##")[0]


def test_plan_per_site(data: ReportData) -> None:
    text = _render(data)
    assert "| depot | 1 | 0 | 1 | 0 | 0 | 200 |" in text
    assert "| hq | 3 | 0 | 0 | 1 | 1 | 1,900 |" in text
    assert "| **All sites** | 4 | 0 | 1 | 1 | 1 | 2,100 |" in text
    unpriced = _render(replace(data, unit_cost=None))
    assert "| depot | 1 | 0 | 1 | 0 | 0 | — (+1 without a price) |" in unpriced


def test_waivers_expiring_within_30_days(data: ReportData) -> None:
    section = _render(data).split("## Waivers expired or expiring within 30 days")[1]
    assert "| covered-vendor | 10.1.0.2 | Depot lease ends | A. Jones | 2026-11-24 |" in section
    assert "expired 5 days ago | 10.1.0.2 (open) |" in section
    assert "| 2026-12-09 | 10 days left | 10.0.0.3 (waived) |" in section
    assert "Vendor tool needs telnet" not in section  # 200 days left


def test_device_strings_are_inert() -> None:
    assert md(HOSTILE) == "&lt;script&gt;alert(1)&lt;/script&gt;"
    assert md("a|b\n*c* [x](y) `z`") == "a\\|b \\*c\\* \\[x\\](y) \\`z\\`"


def test_inventory_only(data: ReportData) -> None:
    text = _render(replace(data, findings=[], policy=None))
    assert "No policy applied: inventory only." in text
    assert "Remediation plan" not in text


def test_traffic_summary(data: ReportData) -> None:
    section = _render(data).split("## Traffic")[1]
    assert "**4** of 6 devices sent data outside the organisation." in section
    for verdict, n in [
        ("unknown destination", 2),
        ("third party", 1),
        ("vendor cloud", 1),
        ("no egress observed", 1),
        ("no traffic observed", 1),
    ]:
        assert f"| {verdict} | {n} |" in section
    listed = section.split("### Third-party or unknown destinations")[1]
    assert "| 10.0.1.5 | Hikvision | unknown destination |" in listed
    assert "| 10.1.0.2 | Dahua | unknown destination | 198.51.100.20 | 40.0 kB |" in listed
    assert "| 10.0.9.7 | Dahua | third party | 0.pool.ntp.org (DE) | 120.0 MB |" in listed
    assert "10.0.0.1" not in listed and "dev.hik-connect.com" not in listed  # the maker's own
    assert HOSTILE_DNS not in section
    assert "&lt;img src=x onerror=alert(1)&gt;.example (RU)" in listed


def test_no_traffic_summary_without_data(data: ReportData) -> None:
    assert "## Traffic" not in _render(replace(data, traffic=[], links=[]))
