"""Verdicts without DNS (issue #15): a flow whose remote address no DNS answer named falls back
to the endpoint knowledge by address range and by the autonomous system (networks.yaml) the
address lies in, and says so, instead of reading as an unknown destination."""

from __future__ import annotations

import ipaddress

import pytest

from coverwatch.errors import KnowledgeError
from coverwatch.models import Attribution
from coverwatch.store.interface import DeviceRecord
from coverwatch.traffic.egress import egress
from coverwatch.traffic.endpoints import load_endpoints, parse_book
from coverwatch.traffic.ingest import ingest
from coverwatch.traffic.model import EgressVerdict, EndpointCategory, MatchKind
from coverwatch.traffic.networks import PrefixIndex, load_networks, parse_networks
from tests.traffic.test_poison import NFDUMP_HEADER, nfdump_line

#: (device, maker, remote, port) seen by NetFlow only: no DNS answer anywhere in the data.
FLOWS = [
    ("10.0.0.11", "Cisco Meraki", "209.206.48.7", 7351),  # Meraki's published cloud range
    ("10.0.0.12", "Google", "142.250.74.46", 443),  # AS15169, the maker's own network
    ("10.0.0.13", "Hikvision", "142.250.74.46", 443),  # the same network, someone else's
    ("10.0.0.14", "Hikvision", "216.239.35.4", 123),  # Google's NTP address: third party
    ("10.0.0.15", "Hikvision", "198.51.100.20", 443),  # nothing known: stays unknown
    ("10.0.0.16", "Dahua", "104.16.0.9", 443),  # behind Cloudflare (AS13335)
    ("10.0.0.17", None, "142.250.74.46", 443),  # make unknown: Google's network is not its own
]


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    folder = tmp_path_factory.mktemp("nodns")
    csv = folder / "flows.csv"
    lines = [
        line
        for device, _, remote, port in FLOWS
        for line in (
            nfdump_line(sa=device, da=remote, sp="50000", dp=str(port)),
            nfdump_line(sa=remote, da=device, sp=str(port), dp="50000", ibyt="300"),
        )
    ]
    csv.write_text(NFDUMP_HEADER + "".join(lines))
    ingest([str(csv)], str(folder / "store"))
    devices = [DeviceRecord(d, None, "s", Attribution(maker=m)) for d, m, _, _ in FLOWS]
    return {e.ip: e for e in egress(str(folder / "store"), devices, ["10.0.0.0/8"])}


@pytest.mark.parametrize(
    ("device", "verdict", "operator", "how", "country"),
    [
        ("10.0.0.11", EgressVerdict.VENDOR_CLOUD, "Cisco Meraki", MatchKind.ADDRESS, "US"),
        ("10.0.0.12", EgressVerdict.VENDOR_CLOUD, "Google", MatchKind.ASN, "US"),
        ("10.0.0.13", EgressVerdict.THIRD_PARTY, "Google", MatchKind.ASN, "US"),
        ("10.0.0.14", EgressVerdict.THIRD_PARTY, "Google", MatchKind.ADDRESS, "US"),
        ("10.0.0.15", EgressVerdict.UNKNOWN_DESTINATION, None, None, None),
        ("10.0.0.16", EgressVerdict.THIRD_PARTY, "Cloudflare", MatchKind.ASN, None),
        ("10.0.0.17", EgressVerdict.THIRD_PARTY, "Google", MatchKind.ASN, "US"),
    ],
)
def test_verdicts_without_dns(
    results: dict[str, object],
    device: str,
    verdict: EgressVerdict,
    operator: str | None,
    how: MatchKind | None,
    country: str | None,
) -> None:
    result = results[device]
    (dest,) = result.destinations  # type: ignore[attr-defined]
    assert dest.dns_name is None and dest.initiated_by_device
    assert result.verdict is verdict  # type: ignore[attr-defined]
    assert (dest.endpoint and dest.endpoint.operator) == operator
    assert (dest.endpoint and dest.endpoint.match) == how
    if country is not None:
        assert dest.country == country
    if how is MatchKind.ASN:
        assert dest.endpoint.category is EndpointCategory.NETWORK
        assert "AS" in dest.endpoint.source and "http" in dest.endpoint.source


def test_a_dns_name_still_wins_over_the_network() -> None:
    match = load_endpoints().match("142.250.74.46", "time.google.com", "udp", 123)
    assert match is not None and (match.id, match.match) == ("google-time", MatchKind.DNS_NAME)


def test_shipped_networks_are_cited_and_claimed() -> None:
    networks = load_networks()
    claimed = {n for e in load_endpoints().endpoints for n in e.asns}
    assert claimed == set(networks)  # every AS in the table serves an endpoint entry
    for system in networks.values():
        assert system.holder and "http" in system.source
        # a hosting cloud's customer ranges would name the cloud, not the customer
        assert not any(p.prefixlen < 8 for p in system.prefixes)


def test_prefix_index_is_longest_match() -> None:
    index = PrefixIndex(
        [
            (ipaddress.ip_network("10.0.0.0/8"), "wide"),
            (ipaddress.ip_network("10.1.0.0/16"), "narrow"),
            (ipaddress.ip_network("2001:db8::/32"), "six"),
        ]
    )
    assert [index.get(a) for a in ("10.1.2.3", "10.2.0.1", "11.0.0.1")] == [
        "narrow",
        "wide",
        None,
    ]
    assert index.get("2001:db8::1") == "six" and index.get("not an address") is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("networks: []", "updated"),
        ("updated: 1\nnetworks: [{asn: 0, holder: H, prefixes: [10.0.0.0/8], source: s}]", "asn"),
        ("updated: 1\nnetworks: [{asn: 1, holder: H, prefixes: [10.0.0.1/8], source: s}]", "AS1"),
        ("updated: 1\nnetworks: [{asn: 1, holder: H, prefixes: [], source: s}]", "prefixes"),
        ("updated: 1\nnetworks: [{asn: 1, holder: H, prefixes: [1.0.0.0/8]}]", "source"),
        (
            "updated: 1\nnetworks: [{asn: 1, holder: H, prefixes: [1.0.0.0/8], source: s},"
            " {asn: 1, holder: H, prefixes: [2.0.0.0/8], source: s}]",
            "duplicate",
        ),
    ],
)
def test_bad_networks_name_the_field(text: str, message: str) -> None:
    with pytest.raises(KnowledgeError, match=message):
        parse_networks(text)


@pytest.mark.parametrize(
    ("endpoints", "message"),
    [
        ("[{id: a, category: network, operator: X, source: s, asns: [64496]}]", "not in networks"),
        ("[{id: a, category: network, operator: X, source: s, asns: [x]}]", "asns"),
        (
            "[{id: a, category: network, operator: X, source: s, asns: [1]},"
            " {id: b, category: network, operator: Y, source: s, asns: [1]}]",
            "already in 'a'",
        ),
    ],
)
def test_bad_asns_name_the_field(endpoints: str, message: str) -> None:
    networks = parse_networks(
        "updated: 1\nnetworks: [{asn: 1, holder: H, prefixes: [1.0.0.0/8], source: s}]"
    )
    with pytest.raises(KnowledgeError, match=message):
        parse_book(f"updated: 1\nendpoints: {endpoints}", networks)
