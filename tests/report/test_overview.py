"""build_overview: executive-summary numbers, device views and waiver states."""

from __future__ import annotations

from dataclasses import replace

from coverwatch.policy.model import Action, FindingStatus, Severity
from coverwatch.report import ReportData
from coverwatch.report.overview import build_overview


def test_headline_numbers(data: ReportData) -> None:
    ov = build_overview(data)
    assert (ov.covered_sensitive, ov.covered_core, ov.critical_cve) == (1, 1, 2)
    assert ov.open_by_severity == {
        Severity.CRITICAL: 4,
        Severity.HIGH: 4,
        Severity.MEDIUM: 1,
        Severity.LOW: 1,
        Severity.INFO: 0,
    }
    assert ov.by_status == {
        FindingStatus.OPEN: 10,
        FindingStatus.WAIVED: 1,
        FindingStatus.UNVERIFIED: 1,
    }


def test_device_views(data: ReportData) -> None:
    views = {v.device.ip: v for v in build_overview(data).devices}
    assert [v.device.site for v in views.values()] == ["depot"] * 2 + ["hq"] * 6
    sensitive = views["10.0.1.5"]
    assert sensitive.zone is not None and sensitive.zone.sensitive
    assert sensitive.worst is Severity.CRITICAL and len(sensitive.open_findings) == 3
    assert sensitive.action is Action.REPLACE
    assert views["10.0.0.3"].worst is None and views["10.0.0.3"].action is None
    assert views["10.0.0.4"].action is Action.DISABLE_SERVICE  # its CVE finding is unverified


def test_zone_respects_the_zone_site(data: ReportData) -> None:
    moved = [replace(d, site="depot") if d.ip == "10.0.1.5" else d for d in data.devices]
    views = {v.device.ip: v for v in build_overview(replace(data, devices=moved)).devices}
    assert views["10.0.1.5"].zone is None  # control-room belongs to site hq only
    assert build_overview(replace(data, devices=moved)).covered_sensitive == 0


def test_waiver_views(data: ReportData) -> None:
    views = build_overview(data).waivers
    assert [(w.waiver.reason, w.expired, w.days_left, w.expiring_soon) for w in views] == [
        ("Depot lease ends", True, -5, True),
        ("Replacement ordered, PO 4471", False, 10, True),
        ("Vendor tool needs telnet", False, 200, False),
    ]
    assert [f.ip for f in views[0].findings] == ["10.1.0.2"]
    assert views[2].scope == "zone cctv-hq"


def test_no_policy_means_no_zones_or_waivers(data: ReportData) -> None:
    ov = build_overview(replace(data, policy=None))
    assert ov.waivers == () and all(v.zone is None for v in ov.devices)
    assert ov.covered_sensitive == ov.covered_core == 0
