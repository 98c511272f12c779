"""A hand-built audit for the report tests: two sites, zones, waivers, every finding status.

hq (policy zones cctv-hq, control-room = sensitive, core-net = core) and depot (depot-cctv):

=========  ======================  =========================================================
address    device                  findings (status, action)
=========  ======================  =========================================================
10.0.0.1   LTS camera (Hikvision)  covered-vendor high open replace          (a rebrand)
10.0.0.3   Dahua camera            covered-vendor high waived replace        (active waiver)
10.0.0.4   Axis camera, <script>   known-cve critical unverified verify;
                                   exposed-telnet medium open disable-service
10.0.0.9   unknown host            unidentified low open verify
10.0.1.5   Hikvision camera        covered-vendor high open replace; covered-sensitive-site
           (sensitive zone)        critical open replace; known-cve critical open update
10.0.9.7   Dahua NVR (core zone)   covered-vendor high open replace; covered-core-link
                                   critical open isolate
10.1.0.2   Dahua DVR (depot)       covered-vendor high open replace          (waiver expired)
10.1.0.3   Axis camera (depot)     known-cve critical open update
=========  ======================  =========================================================

Unit costs: camera 350 and NVR 1200 from the policy, 200 for anything else (``unit_cost``).

Traffic (one device per verdict, over the week before ``NOW``):

=========  =====================  ==========================================================
address    verdict                what it shows
=========  =====================  ==========================================================
10.1.0.2   unknown destination    only a port match (DDNS port): not a known endpoint
10.0.1.5   unknown destination    a hostile DNS name (``HOSTILE_DNS``), a large upload, and
                                  the Hikvision cloud
10.0.9.7   third party            Dahua P2P relay and the NTP pool (not Dahua's)
10.0.0.1   vendor cloud           the Hikvision cloud only; a UPnP port mapping
10.0.0.4   no egress observed     internal traffic only
10.0.0.9   no traffic observed    no flow at all
=========  =====================  ==========================================================

Zone links: cctv-hq -> core-net, control-room -> cctv-hq.
"""

from __future__ import annotations

import ipaddress
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from coverwatch.models import Attribution, DeviceType, Evidence
from coverwatch.pipeline import summarise
from coverwatch.policy.model import (
    Action,
    Finding,
    FindingStatus,
    Policy,
    RuleConfig,
    Severity,
    Waiver,
    Zone,
)
from coverwatch.report import ReportData, ScanPoint
from coverwatch.store import DeviceRecord, ScanRecord
from coverwatch.traffic.model import (
    Destination,
    DeviceEgress,
    EgressVerdict,
    EndpointCategory,
    EndpointMatch,
    LargeUpload,
    MatchKind,
    PortMapping,
    ZoneLink,
)

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
TODAY = NOW.date()
HOSTILE = "<script>alert(1)</script>"
HOSTILE_DNS = "<img src=x onerror=alert(1)>.example"
HIKVISION = "Hangzhou Hikvision Digital Technology Company"
DAHUA = "Dahua Technology Company"

ZONES = (
    Zone("cctv-hq", (ipaddress.ip_network("10.0.0.0/24"),), site="hq"),
    Zone("control-room", (ipaddress.ip_network("10.0.1.0/24"),), sensitive=True, site="hq"),
    Zone("core-net", (ipaddress.ip_network("10.0.9.0/24"),), core=True),
    Zone("depot-cctv", (ipaddress.ip_network("10.1.0.0/24"),), site="depot"),
)
WAIVER_ACTIVE = Waiver(
    "covered-vendor", "Replacement ordered, PO 4471", "J. Smith (CISO)", TODAY + timedelta(10),
    devices=("10.0.0.3",),
)  # fmt: skip
WAIVER_EXPIRED = Waiver(
    "covered-vendor", "Depot lease ends", "A. Jones", TODAY - timedelta(5), devices=("10.1.0.2",)
)
WAIVER_LATER = Waiver(
    "exposed-telnet", "Vendor tool needs telnet", "A. Jones", TODAY + timedelta(200),
    zone="cctv-hq",
)  # fmt: skip
POLICY = Policy(
    name="UK sensitive sites <test>",
    version="2026.1+abc123",
    source="policy.yaml",
    zones=ZONES,
    rules=(RuleConfig("covered-vendor", "covered-vendor", Severity.HIGH, "Covered", "Replace"),),
    waivers=(WAIVER_ACTIVE, WAIVER_EXPIRED, WAIVER_LATER),
    unit_costs={"camera": 350.0, "nvr": 1200.0},
)


def device(
    ip: str,
    site: str,
    maker: str | None,
    brand: str | None,
    model: str | None,
    covered: str | None,
    device_type: DeviceType | None = DeviceType.CAMERA,
) -> DeviceRecord:
    """A device with one piece of evidence when its maker is known."""
    evidence = (
        (Evidence("http.title", model or "", "fp:test", "a public source", maker, brand, 0.7),)
        if maker
        else ()
    )
    attribution = Attribution(
        maker, brand, model, "V5.4.1" if maker else None, device_type, covered,
        0.9 if maker else 0.0, evidence,
    )  # fmt: skip
    return DeviceRecord(ip, None, site, attribution, [80, 554], NOW, NOW)


DEVICES = [
    device("10.0.0.1", "hq", "Hikvision", "LTS", "CMIP3C42WI-28SDL", HIKVISION),
    device("10.0.0.3", "hq", "Dahua", "Dahua", "IPC-HFW2431S", DAHUA),
    device("10.0.0.4", "hq", "Axis", "Axis", HOSTILE, None),
    device("10.0.0.9", "hq", None, None, None, None, None),
    device("10.0.1.5", "hq", "Hikvision", "Hikvision", "DS-2CD2143G0-I", HIKVISION),
    device("10.0.9.7", "hq", "Dahua", "Dahua", "NVR5216-16P-4KS2E", DAHUA, DeviceType.NVR),
    device("10.1.0.2", "depot", "Dahua", "Dahua", "XVR5108HS", DAHUA, DeviceType.DVR),
    device("10.1.0.3", "depot", "Axis", "Axis", "M3045-V", None),
]

_RULES = {
    # rule: severity, action, title, references
    "covered-vendor": (Severity.HIGH, Action.REPLACE, "Made by a covered entity", ("FCC",)),
    "covered-sensitive-site": (
        Severity.CRITICAL, Action.REPLACE, "Covered equipment at a sensitive site",
        ("Cabinet Office 2022",),
    ),
    "covered-core-link": (
        Severity.CRITICAL, Action.ISOLATE, "Covered equipment linked to a core network", (),
    ),
    "known-cve": (
        Severity.CRITICAL, Action.UPDATE, "Firmware with a known critical vulnerability",
        ("https://nvd.nist.gov/vuln/detail/CVE-2021-36260",),
    ),
    "exposed-telnet": (Severity.MEDIUM, Action.DISABLE_SERVICE, "Telnet is open", ()),
    "unidentified": (Severity.LOW, Action.VERIFY, "Host not identified", ()),
}  # fmt: skip


def finding(
    ip: str,
    rule: str,
    status: FindingStatus = FindingStatus.OPEN,
    waiver: Waiver | None = None,
    action: Action | None = None,
    severity: Severity | None = None,
) -> Finding:
    """A finding for one of ``DEVICES`` under one of ``_RULES``."""
    d = next(d for d in DEVICES if d.ip == ip)
    rule_severity, rule_action, title, references = _RULES[rule]
    zone = POLICY.zone_of(ip, d.site)
    return Finding(
        ip=ip,
        site=d.site,
        rule=rule,
        severity=severity or rule_severity,
        status=status,
        title=title,
        detail=f"{d.attribution.maker} {d.attribution.model} in zone {zone.name if zone else '-'}",
        remediation=f"Remediate {rule}",
        action=action or rule_action,
        zone=zone.name if zone else None,
        maker=d.attribution.maker,
        brand=d.attribution.brand,
        model=d.attribution.model,
        device_type=d.attribution.device_type,
        evidence=tuple(e.to_json() for e in d.attribution.evidence),
        references=references,
        waiver=waiver,
        policy_version=POLICY.version,
    )


FINDINGS = [
    finding("10.0.0.1", "covered-vendor"),
    finding("10.0.0.3", "covered-vendor", FindingStatus.WAIVED, WAIVER_ACTIVE),
    finding("10.0.0.4", "known-cve", FindingStatus.UNVERIFIED, action=Action.VERIFY),
    finding("10.0.0.4", "exposed-telnet"),
    finding("10.0.0.9", "unidentified"),
    finding("10.0.1.5", "covered-vendor"),
    finding("10.0.1.5", "covered-sensitive-site"),
    finding("10.0.1.5", "known-cve"),
    finding("10.0.9.7", "covered-vendor"),
    finding("10.0.9.7", "covered-core-link"),
    finding("10.1.0.2", "covered-vendor", FindingStatus.OPEN, WAIVER_EXPIRED),
    finding("10.1.0.3", "known-cve"),
]

HISTORY = [
    ScanPoint(1, NOW - timedelta(days=14), "hq", 7, 5, 5),
    ScanPoint(2, NOW - timedelta(days=7), "hq", 8, 6, 5),
    ScanPoint(3, NOW, "hq", 8, 7, 5),
]


WINDOW = (NOW - timedelta(days=7), NOW)
HIK_CLOUD = EndpointMatch(
    "hik-connect", EndpointCategory.VENDOR_CLOUD, "Hikvision", MatchKind.DNS_NAME,
    "https://www.hik-connect.com",
)  # fmt: skip
DAHUA_P2P = EndpointMatch(
    "dahua-p2p", EndpointCategory.P2P_RELAY, "Dahua", MatchKind.ADDRESS, "Dahua P2P docs"
)
NTP_POOL = EndpointMatch(
    "ntp-pool", EndpointCategory.NTP, "NTP Pool Project", MatchKind.DNS_NAME, "pool.ntp.org"
)
DDNS_PORT = EndpointMatch(
    "dahua-ddns", EndpointCategory.DDNS, "Dahua", MatchKind.PORT, "Dahua DDNS docs"
)


def destination(
    remote_ip: str,
    dns_name: str | None,
    endpoint: EndpointMatch | None,
    sent: int,
    hours: tuple[int, int],
    port: int = 443,
    country: str | None = "NL",
) -> Destination:
    """Outbound TCP from the device; ``hours`` = (first, last) seen, in hours after the window."""
    first, last = (WINDOW[0] + timedelta(hours=h) for h in hours)
    return Destination(
        remote_ip, port, "tcp", dns_name, country, endpoint, sent, sent // 10, 4, first, last, True
    )


TRAFFIC = [
    DeviceEgress(
        "10.1.0.2", EgressVerdict.UNKNOWN_DESTINATION, WINDOW, 160.0, 90,
        (destination("198.51.100.20", None, DDNS_PORT, 40_000, (10, 150), port=15000,
                     country=None),),
        maker="Dahua",
    ),
    DeviceEgress(
        "10.0.1.5", EgressVerdict.UNKNOWN_DESTINATION, WINDOW, 167.5, 400,
        (
            destination("203.0.113.66", HOSTILE_DNS, None, 2_400_000_000, (100, 106),
                        country="RU"),
            destination("198.51.100.7", "dev.hik-connect.com", HIK_CLOUD, 3_500_000, (0, 167)),
        ),
        (LargeUpload("203.0.113.66", HOSTILE_DNS, 2_400_000_000, 21_600.0, 0.89),),
        mac="c0:56:e3:00:00:05",
        maker="Hikvision",
    ),
    DeviceEgress(
        "10.0.9.7", EgressVerdict.THIRD_PARTY, WINDOW, 168.0, 2200,
        (
            destination("192.0.2.10", "p2p.easy4ip.com", DAHUA_P2P, 120_000_000, (0, 168)),
            destination("192.0.2.123", "0.pool.ntp.org", NTP_POOL, 9_000, (1, 160), port=123,
                        country="DE"),
        ),
        maker="Dahua",
    ),
    DeviceEgress(
        "10.0.0.1", EgressVerdict.VENDOR_CLOUD, WINDOW, 150.25, 310,
        (destination("198.51.100.7", "dev.hik-connect.com", HIK_CLOUD, 8_500_000, (2, 148)),),
        port_mappings=(
            PortMapping("10.0.0.1", "10.0.0.254", "soap-add-port-mapping",
                        WINDOW[0] + timedelta(hours=2), 8000, 80, "TCP"),
        ),
        maker="Hikvision",
    ),
    DeviceEgress("10.0.0.4", EgressVerdict.NO_EGRESS, WINDOW, 96.0, 120, maker="Axis"),
    DeviceEgress("10.0.0.9", EgressVerdict.NO_TRAFFIC, WINDOW, 0.0, 0),
]  # fmt: skip

LINKS = [
    ZoneLink(
        "cctv-hq", "core-net", WINDOW[0], NOW, ("tcp/554", "tcp/37777"), 90_000_000, 1_200_000,
        48, (("10.0.0.1", "10.0.9.7"), ("10.0.0.3", "10.0.9.7")),
    ),
    ZoneLink(
        "control-room", "cctv-hq", WINDOW[0] + timedelta(days=1), NOW, ("tcp/80",), 5_000, 90_000,
        3, (("10.0.1.5", "10.0.0.4"),),
    ),
]  # fmt: skip


def sample_data(**changes: object) -> ReportData:
    """The sample audit as ReportData; keyword arguments replace its fields."""
    scans = [
        ScanRecord(1, NOW - timedelta(days=1), NOW, "depot", ["10.1.0.0/24"], {}, 2),
        ScanRecord(2, NOW, NOW, "hq", ["10.0.0.0/16"], {}, 6),
    ]
    data = ReportData(
        generated_at=NOW,
        title="Audit <hq & depot>",
        summary=summarise(DEVICES),
        devices=DEVICES,
        scans=scans,
        findings=FINDINGS,
        policy=POLICY,
        history=HISTORY,
        unit_cost=200.0,
        traffic=TRAFFIC,
        links=LINKS,
    )
    return replace(data, **changes)  # type: ignore[arg-type]
