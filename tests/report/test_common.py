"""Shared report helpers: address order, CVE detection, cost format."""

from __future__ import annotations

from dataclasses import replace

import pytest

from coverwatch.report.common import format_cost, ip_sort_string, is_cve_finding
from coverwatch.targets import ip_key
from tests.report.sample import FINDINGS


def test_addresses_sort_numerically() -> None:
    ips = ["10.0.0.10", "fe80::1", "10.0.0.9", "not-an-ip", "9.255.255.255"]
    expected = ["9.255.255.255", "10.0.0.9", "10.0.0.10", "fe80::1", "not-an-ip"]
    assert sorted(ips, key=ip_key) == expected
    assert sorted(ips, key=ip_sort_string) == expected


def test_address_order_reads_every_spelling_an_inventory_may_hold() -> None:
    ips = [
        "fe80::1%eth0",  # a link-local address with its scope (zone) id
        "::ffff:10.0.0.1",  # IPv4-mapped: an IPv6 address
        "10.0.0.010",  # leading zeros are not an address (they once meant octal)
        "2001:DB8::1",
        "10.0.0.2",
        "2001:db8:0:0:0:0:0:0",
        "10.0.0.2 ",
        "",
    ]
    assert sorted(ips, key=ip_key) == [
        "10.0.0.2",
        "::ffff:10.0.0.1",
        "2001:db8:0:0:0:0:0:0",
        "2001:DB8::1",
        "fe80::1%eth0",
        "",
        "10.0.0.010",
        "10.0.0.2 ",
    ]


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"rule": "known-cve", "references": ()}, True),
        (
            {"rule": "firmware", "references": ("https://nvd.nist.gov/vuln/detail/CVE-2017-7921",)},
            True,
        ),
        ({"rule": "firmware", "references": (), "title": "Affected by cve-2021-33044"}, True),
        ({"rule": "covered-vendor", "references": ("FCC Covered List",)}, False),
    ],
)
def test_cve_findings(changes: dict[str, object], expected: bool) -> None:
    assert is_cve_finding(replace(FINDINGS[0], **changes)) is expected  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("value", "text"), [(None, "—"), (0.0, "0"), (2100.0, "2,100"), (1234.5, "1,234.50")]
)
def test_format_cost(value: float | None, text: str) -> None:
    assert format_cost(value) == text
