"""The traffic view of the reports: verdict order and badges, joins, counts, bytes, JSON."""

from __future__ import annotations

from dataclasses import replace

import pytest

from coverwatch.report import ReportData
from coverwatch.report.traffic import (
    UNKNOWN_KIND,
    VERDICTS,
    build_traffic,
    destination_kind,
    egress_to_json,
    format_bytes,
    verdict_class,
)
from coverwatch.traffic.model import EgressVerdict, EndpointCategory, beyond_maker
from tests.report.sample import DAHUA_P2P, DDNS_PORT, HIK_CLOUD, NTP_POOL, TRAFFIC, destination


def test_every_verdict_has_an_order_and_a_distinct_badge() -> None:
    assert set(VERDICTS) == set(EgressVerdict)
    assert len({verdict_class(v) for v in EgressVerdict}) == len(EgressVerdict)


@pytest.mark.parametrize(
    ("n", "text"),
    [(0, "0 B"), (999, "999 B"), (1_000, "1.0 kB"), (40_000, "40.0 kB"), (2_400_000_000, "2.4 GB"),
     (5 * 10**15, "5000.0 TB")],
)  # fmt: skip
def test_format_bytes(n: int, text: str) -> None:
    assert format_bytes(n) == text


@pytest.mark.parametrize(
    ("endpoint", "maker", "kind", "beyond"),
    [
        (None, "Dahua", UNKNOWN_KIND, True),
        (DDNS_PORT, "Dahua", UNKNOWN_KIND, True),  # a port match is not a known endpoint
        (HIK_CLOUD, "Hikvision", "vendor cloud", False),
        (HIK_CLOUD, "hikvision", "vendor cloud", False),
        (HIK_CLOUD, "Dahua", "vendor cloud", True),  # someone else's cloud
        (DAHUA_P2P, "Dahua", "P2P relay", False),
        (NTP_POOL, "Dahua", "NTP", True),
        (HIK_CLOUD, None, "vendor cloud", False),
    ],
)
def test_destination_kind_and_whether_it_is_beyond_the_maker(
    endpoint: object, maker: str | None, kind: str, beyond: bool
) -> None:
    d = destination("192.0.2.1", None, endpoint, 1, (0, 1))  # type: ignore[arg-type]
    assert destination_kind(d) == kind
    assert beyond_maker(d, maker) is beyond


def test_every_endpoint_category_has_a_kind() -> None:
    for category in EndpointCategory:
        d = destination("192.0.2.1", None, replace(HIK_CLOUD, category=category), 1, (0, 1))
        assert destination_kind(d) != UNKNOWN_KIND


def test_build_traffic_joins_devices_and_zones(data: ReportData) -> None:
    traffic = build_traffic(data)
    assert [r.egress.ip for r in traffic.rows] == [
        "10.0.1.5", "10.1.0.2", "10.0.9.7", "10.0.0.1", "10.0.0.4", "10.0.0.9",
    ]  # fmt: skip
    assert traffic.with_egress == 4 and traffic.third_party_or_unknown == 3
    assert list(traffic.by_verdict.values()) == [2, 1, 1, 1, 1]
    rows = {r.egress.ip: r for r in traffic.rows}
    assert rows["10.0.1.5"].zone and rows["10.0.1.5"].zone.name == "control-room"
    assert rows["10.1.0.2"].zone and rows["10.1.0.2"].zone.name == "depot-cctv"
    assert rows["10.0.0.1"].brand == "LTS"
    assert rows["10.0.1.5"].bytes_out == 2_403_500_000
    assert rows["10.0.1.5"].bytes_in == 240_000_000 + 350_000
    assert len(traffic.destinations) == 6
    assert [k.src_zone for k in traffic.links] == ["cctv-hq", "control-room"]


def test_traffic_without_a_policy_or_inventory_record(data: ReportData) -> None:
    stranger = replace(TRAFFIC[0], ip="172.16.0.1")
    traffic = build_traffic(replace(data, policy=None, traffic=[stranger]))
    (row,) = traffic.rows
    assert row.device is None and row.zone is None and row.brand is None
    assert build_traffic(replace(data, traffic=[], links=[])).rows == ()


def test_egress_json_has_every_field() -> None:
    document = egress_to_json(TRAFFIC[1])
    assert set(document) == {
        "ip", "verdict", "window", "coverage_hours", "flows_seen", "destinations",
        "large_uploads", "port_mappings", "mac", "maker", "site",
    }  # fmt: skip
    assert egress_to_json(replace(TRAFFIC[5], window=None))["window"] is None


@pytest.mark.parametrize(
    ("hours", "green"), [(0.1, False), (23.9, False), (24.0, True), (96.0, True)]
)
def test_no_egress_is_green_only_over_enough_observed_traffic(
    data: ReportData, hours: float, green: bool
) -> None:
    """Issue 14: "no egress observed" over 0.1 h of traffic is not a clean bill."""
    from dataclasses import replace

    from coverwatch.report import REPORTS, Format
    from coverwatch.report.traffic import egress_badge

    traffic = [
        replace(e, coverage_hours=hours) if e.verdict is EgressVerdict.NO_EGRESS else e
        for e in data.traffic
    ]
    quiet = next(e for e in traffic if e.verdict is EgressVerdict.NO_EGRESS)
    badge = egress_badge(quiet)
    assert (badge[0] == "clear") is green
    assert green or badge == ("insufficient", f"insufficient observation ({hours:.1f} h)")
    html = REPORTS[Format.HTML]().render(replace(data, traffic=traffic))
    row = html.split(f'<td class="nowrap">{quiet.ip}')[0].rsplit("<tr", 1)[1]
    assert ("eg-row-clear" in row) is green and ("eg-row-insufficient" in row) is not green
    strip = html.split('id="verdict-strip"')[1].split("</div>")[0]
    assert f"<b>{0 if green else 1}</b>insufficient observation" in strip
