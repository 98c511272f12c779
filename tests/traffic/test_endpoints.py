"""The shipped endpoint knowledge validates, every entry has a source, and matching works."""

from __future__ import annotations

import pytest

from coverwatch.errors import KnowledgeError
from coverwatch.traffic.endpoints import load_endpoints, parse_book
from coverwatch.traffic.model import EndpointCategory, MatchKind


def test_shipped_file_loads_with_sources() -> None:
    book = load_endpoints()
    assert len(book.endpoints) >= 15
    assert all(e.source and e.operator for e in book.endpoints)
    assert {e.category for e in book.endpoints} == set(EndpointCategory)


@pytest.mark.parametrize(
    ("address", "name", "proto", "port", "expected", "how"),
    [
        (
            "203.0.113.1",
            "litedev.hik-connect.com",
            "tcp",
            443,
            "hik-connect-device",
            MatchKind.DNS_NAME,
        ),
        ("203.0.113.1", "x.ezvizlife.com", "tcp", 443, "ezviz-cloud", MatchKind.DNS_NAME),
        (
            "203.0.113.1",
            "iotaccess.easy4ipcloud.com",
            "tcp",
            10001,
            "dahua-iotaccess",
            MatchKind.DNS_NAME,
        ),
        (
            "203.0.113.1",
            "relay7.easy4ipcloud.com",
            "udp",
            1,
            "dahua-easy4ip-cloud",
            MatchKind.DNS_NAME,
        ),
        ("203.0.113.1", "2.debian.pool.ntp.org", "udp", 123, "ntp-pool", MatchKind.DNS_NAME),
        ("8.8.8.8", None, "udp", 53, "google-public-dns", MatchKind.ADDRESS),
        ("203.0.113.1", None, "udp", 8800, "dahua-easy4ip-p2p", MatchKind.PORT),
        ("203.0.113.1", "notik-connect.com", "tcp", 443, None, None),
    ],
)
def test_match(
    address: str,
    name: str | None,
    proto: str,
    port: int,
    expected: str | None,
    how: MatchKind | None,
) -> None:
    match = load_endpoints().match(address, name, proto, port)
    assert (match.id if match else None) == expected
    assert (match.match if match else None) == how


_HEAD = "updated: 2026-01-01\nendpoints: "


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("endpoints: []", "updated"),
        (
            _HEAD + "[{id: a, category: cloud, operator: X, names: [a.b], source: s}]",
            "category",
        ),
        (
            "updated: 2026-01-01\nendpoints: [{id: a, category: ntp, operator: X, names: [a.b]}]",
            "source",
        ),
        (
            "updated: 2026-01-01\nendpoints: [{id: a, category: ntp, operator: X, source: s}]",
            "needs names",
        ),
        (
            _HEAD + "[{id: a, category: ntp, operator: X, source: s, names: [a], ports: [i/1]}]",
            "ports",
        ),
    ],
)
def test_bad_entries_name_the_field(text: str, message: str) -> None:
    with pytest.raises(KnowledgeError, match=message):
        parse_book(text)
