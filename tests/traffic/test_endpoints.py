"""The shipped endpoint knowledge validates, every entry has a public source, and matching works:
by destination (egress) and by a DNS name a device looked up (identify)."""

from __future__ import annotations

import subprocess
import sys
from importlib import resources

import pytest
import yaml

from coverwatch.errors import KnowledgeError
from coverwatch.traffic.endpoints import (
    MAKER_CATEGORIES,
    endpoint_for_name,
    load_endpoints,
    maker_endpoint_for_name,
    parse_book,
)
from coverwatch.traffic.model import EndpointCategory, MatchKind


def test_shipped_file_loads_with_sources() -> None:
    book = load_endpoints()
    assert len(book.endpoints) >= 35
    assert all(e.source and e.operator for e in book.endpoints)
    assert {e.category for e in book.endpoints} == set(EndpointCategory)
    for entry in book.endpoints:
        assert "http" in entry.source, entry.id  # a public page, not a private note
        assert "KNOWLEDGE.md" not in entry.source, entry.id


def test_vendor_operators_are_known_makers() -> None:
    text = resources.files("coverwatch").joinpath("knowledge", "makers.yaml").read_text("utf-8")
    makers = {m["name"] for m in yaml.safe_load(text)["makers"]}
    vendor = MAKER_CATEGORIES | {EndpointCategory.UPDATE}
    unknown = {e.operator for e in load_endpoints().endpoints if e.category in vendor} - makers
    assert not unknown


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
        ("209.206.50.1", None, "udp", 7351, "meraki-cloud", MatchKind.ADDRESS),
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


@pytest.mark.parametrize(
    ("name", "expected", "operator"),
    [
        ("mp-eu-sas.auto.mydlink.com", "dlink-mydlink", "D-Link"),
        ("access-dss.secu100.net", "xiongmai-cloud", "Xiongmai"),
        ("logsvr.xmcsrv.net", "xiongmai-cloud", "Xiongmai"),
        ("p2p.reolink.com", "reolink-p2p", "Reolink"),
        ("pushx.reolink.com", "reolink-cloud", "Reolink"),
        ("p2p.amcrestview.com", "amcrest-p2p", "Dahua"),
        ("mqtt.prod.wra1.wisenetcloud.com", "hanwha-wisenet-cloud", "Hanwha Vision"),
        ("n-devs.tplinkcloud.com", "tplink-cloud", "TP-Link"),
        ("rest-prod.immedia-semi.com", "blink-cloud", "Blink"),
        ("time.control.verkada.com", "verkada-command", "Verkada"),
        ("Devcl.YS7.com.", "ezviz-cloud", "Hikvision"),  # case and trailing dot folded
        ("en.ezcloud.uniview.com", "uniview-ezcloud", "Uniview"),
        ("security-device-access.ivyiot.io", "foscam-ivyiot", "Foscam"),
    ],
)
def test_lookup_by_dns_name(name: str, expected: str, operator: str) -> None:
    entry = endpoint_for_name(name)
    assert entry is not None and (entry.id, entry.operator) == (expected, operator)
    assert maker_endpoint_for_name(name) is entry


@pytest.mark.parametrize(
    "name", ["time.google.com", "www.hikvision.com", "0.pool.ntp.org", "example.com", "", "."]
)
def test_lookups_that_are_not_maker_evidence(name: str) -> None:
    assert maker_endpoint_for_name(name) is None


def test_exact_name_beats_suffix() -> None:
    assert endpoint_for_name("www.easy4ipcloud.com").id == "dahua-easy4ip-p2p"  # type: ignore[union-attr]
    assert endpoint_for_name("api.easy4ipcloud.com").id == "dahua-easy4ip-cloud"  # type: ignore[union-attr]


def test_import_is_light() -> None:
    """identify may call the look-up per observation: no DuckDB, pyarrow or identify import."""
    code = (
        "import sys, coverwatch.traffic.endpoints as e; e.load_endpoints();"
        "print(sorted(m for m in ('duckdb','pyarrow','dpkt','coverwatch.identify')"
        " if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


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
        (
            _HEAD + "[{id: a, category: ntp, operator: X, source: s, suffixes: [a.b]},"
            " {id: b, category: ntp, operator: Y, source: s, suffixes: [A.B.]}]",
            "already in 'a'",
        ),
        (
            _HEAD + "[{id: a, category: ntp, operator: X, source: s, names: [a], ports: [udp/1]},"
            " {id: b, category: ntp, operator: Y, source: s, names: [b], ports: [udp/1]}]",
            "already in 'a'",
        ),
    ],
)
def test_bad_entries_name_the_field(text: str, message: str) -> None:
    with pytest.raises(KnowledgeError, match=message):
        parse_book(text)
