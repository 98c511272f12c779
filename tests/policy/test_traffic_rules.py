"""Rules over measured traffic: egress verdicts, UPnP port mappings, links to core zones."""

from __future__ import annotations

from datetime import UTC, date, datetime

from coverwatch.models import Attribution, DeviceType
from coverwatch.policy.engine import evaluate
from coverwatch.policy.interface import TrafficFacts
from coverwatch.policy.loader import parse_policy
from coverwatch.policy.model import FindingStatus
from coverwatch.store import DeviceRecord
from coverwatch.traffic.model import (
    Destination,
    DeviceEgress,
    EgressVerdict,
    EndpointCategory,
    EndpointMatch,
    MatchKind,
    PortMapping,
    ZoneLink,
)

T0, T1 = datetime(2026, 11, 28, 10, tzinfo=UTC), datetime(2026, 11, 28, 16, tzinfo=UTC)
POLICY = parse_policy(
    "zones:\n  - {name: secure, cidrs: [10.0.1.0/24], sensitive: true}\n"
    "  - {name: office, cidrs: [10.0.3.0/24]}\n"
    "  - {name: core, cidrs: [10.0.2.0/24], core: true}\n",
    "t.yaml",
)


def cam(ip: str, maker: str = "Axis") -> DeviceRecord:
    return DeviceRecord(
        ip,
        None,
        "hq",
        Attribution(maker, maker, "M", "1", DeviceType.CAMERA, None, 0.9),
        [80],
        T0,
        T1,
    )


def egress(
    ip: str,
    verdict: EgressVerdict,
    name: str | None = None,
    endpoint: EndpointMatch | None = None,
    **extra: object,
) -> DeviceEgress:
    destinations = (
        ()
        if verdict in (EgressVerdict.NO_EGRESS, EgressVerdict.NO_TRAFFIC)
        else (
            Destination(
                "203.0.113.10",
                443,
                "tcp",
                name,
                "US",
                endpoint,
                5_000_000,
                40_000,
                12,
                T0,
                T1,
                True,
            ),
        )
    )
    return DeviceEgress(ip, verdict, (T0, T1), 6.0, 100, destinations, **extra)  # type: ignore[arg-type]


HIK_CLOUD = EndpointMatch(
    "hik-connect-device",
    EndpointCategory.VENDOR_CLOUD,
    "Hikvision",
    MatchKind.DNS_NAME,
    "KNOWLEDGE.md",
)


def findings(
    devices: list[DeviceRecord], facts: TrafficFacts | None
) -> dict[tuple[str, str], object]:
    return {(f.ip, f.rule): f for f in evaluate(POLICY, devices, date(2026, 11, 29), traffic=facts)}


def test_each_verdict_meets_its_rule() -> None:
    devices = [cam("10.0.3.1", "Hikvision"), cam("10.0.3.2"), cam("10.0.3.3"), cam("10.0.1.4")]
    facts = TrafficFacts(
        {
            ("hq", "10.0.3.1"): egress(
                "10.0.3.1", EgressVerdict.VENDOR_CLOUD, "litedev.hik-connect.com", HIK_CLOUD
            ),
            ("hq", "10.0.3.2"): egress("10.0.3.2", EgressVerdict.UNKNOWN_DESTINATION),
            ("hq", "10.0.3.3"): egress("10.0.3.3", EgressVerdict.NO_EGRESS),
            ("hq", "10.0.1.4"): egress("10.0.1.4", EgressVerdict.THIRD_PARTY, "pool.ntp.org"),
        }
    )
    found = findings(devices, facts)
    vendor = found[("10.0.3.1", "egress-vendor-cloud")]
    assert "litedev.hik-connect.com" in vendor.detail and "Hikvision" in vendor.detail  # type: ignore[attr-defined]
    assert ("10.0.3.2", "egress-third-party") in found
    assert not [k for k in found if k[0] == "10.0.3.3" and k[1].startswith("egress")]
    assert ("10.0.1.4", "egress-sensitive-site") in found  # third party from a sensitive zone
    assert ("10.0.3.1", "egress-sensitive-site") not in found


def test_a_finding_says_when_the_operator_was_known_by_network_not_name() -> None:
    """NetFlow without DNS (issue #15): the finding names the operator and that the address
    was placed by its autonomous system."""
    google = EndpointMatch(
        "google-network", EndpointCategory.NETWORK, "Google", MatchKind.ASN, "AS15169"
    )
    facts = TrafficFacts(
        {("hq", "10.0.3.1"): egress("10.0.3.1", EgressVerdict.THIRD_PARTY, None, google)}
    )
    found = findings([cam("10.0.3.1", "Hikvision")], facts)
    detail = found[("10.0.3.1", "egress-third-party")].detail  # type: ignore[attr-defined]
    assert "203.0.113.10 (Google network, by asn) tcp/443" in detail


def test_no_traffic_data_is_silence_but_a_silent_sensitive_device_is_unverified() -> None:
    devices = [cam("10.0.1.5"), cam("10.0.3.5")]
    assert not [k for k in findings(devices, None) if k[1].startswith("egress")]
    facts = TrafficFacts({("hq", "10.0.1.5"): egress("10.0.1.5", EgressVerdict.NO_TRAFFIC)})
    found = findings(devices, facts)
    assert found[("10.0.1.5", "egress-sensitive-site")].status is FindingStatus.UNVERIFIED  # type: ignore[attr-defined]
    assert ("10.0.3.5", "egress-sensitive-site") not in found


def test_upnp_port_mapping_and_core_linkage() -> None:
    mapping = PortMapping("10.0.3.9", "10.0.3.254", "soap-add-port-mapping", T0, 8080, 80, "TCP")
    facts = TrafficFacts(
        {("hq", "10.0.3.9"): egress("10.0.3.9", EgressVerdict.NO_EGRESS, port_mappings=(mapping,))},
        (
            ZoneLink(
                "office", "core", T0, T1, ("tcp/445",), 9000, 3000, 4, (("10.0.3.8", "10.0.2.20"),)
            ),
        ),
        frozenset({"core"}),
    )
    found = findings([cam("10.0.3.9"), cam("10.0.3.8"), cam("10.0.3.7")], facts)
    assert "8080" in found[("10.0.3.9", "upnp-port-mapping")].detail  # type: ignore[attr-defined]
    link = found[("10.0.3.8", "camera-core-linkage")]
    assert "10.0.2.20" in link.detail and "tcp/445" in link.detail  # type: ignore[attr-defined]
    assert ("10.0.3.7", "camera-core-linkage") not in found
