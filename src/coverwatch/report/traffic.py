"""What the reports show about traffic: per-device egress verdicts joined with the inventory.

`build_traffic` joins each ``DeviceEgress`` with its inventory record and policy zone, counts
devices per verdict for the summary cards, and lists every outside destination. The JSON
converters here are the one shape for a device's egress, used by the JSON report and the API.
Nothing here formats HTML; the values are data from the network and stay unescaped until a
renderer escapes them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, assert_never

from coverwatch.models import DeviceRecord
from coverwatch.policy.model import Zone
from coverwatch.report.interface import ReportData
from coverwatch.targets import ip_key
from coverwatch.traffic.model import (
    Destination,
    DeviceEgress,
    EgressVerdict,
    EndpointCategory,
    LargeUpload,
    MatchKind,
    PortMapping,
    ZoneLink,
)

#: Most worrying first, as every table and count lists them.
VERDICTS: tuple[EgressVerdict, ...] = (
    EgressVerdict.UNKNOWN_DESTINATION,
    EgressVerdict.THIRD_PARTY,
    EgressVerdict.VENDOR_CLOUD,
    EgressVerdict.NO_EGRESS,
    EgressVerdict.NO_TRAFFIC,
)
#: Verdicts that mean the device sent data outside the organisation.
EGRESS: frozenset[EgressVerdict] = frozenset(VERDICTS[:3])

#: A destination's kind (chart series), by what it matched; colour for each.
UNKNOWN_KIND = "no known endpoint"
KIND_COLOURS: dict[str, str] = {
    UNKNOWN_KIND: "#b42318",
    "vendor cloud": "#e0a100",
    "P2P relay": "#d55e00",
    "DDNS": "#cc79a7",
    "update server": "#0072b2",
    "NTP": "#009e73",
    "DNS": "#56b4e9",
}


#: Hours of observed traffic below which "no egress observed" is not a clean bill: daily jobs
#: (NTP, DDNS updates, firmware and cloud check-ins) need a day to show up.
MIN_OBSERVED_HOURS = 24.0


def insufficient(egress: DeviceEgress) -> bool:
    """ "No egress observed" over too little observed traffic to mean anything."""
    return egress.verdict is EgressVerdict.NO_EGRESS and egress.coverage_hours < MIN_OBSERVED_HOURS


def egress_badge(egress: DeviceEgress) -> tuple[str, str]:
    """(CSS class suffix, label) of a device's verdict badge: "no egress observed" is green
    only over at least ``MIN_OBSERVED_HOURS`` of traffic, else "insufficient observation"."""
    if insufficient(egress):
        return "insufficient", f"insufficient observation ({egress.coverage_hours:.1f} h)"
    return verdict_class(egress.verdict), egress.verdict.value


def verdict_class(verdict: EgressVerdict) -> str:
    """The CSS class suffix of a verdict's badge (``eg-<suffix>``)."""
    match verdict:
        case EgressVerdict.UNKNOWN_DESTINATION:
            return "unknown"
        case EgressVerdict.THIRD_PARTY:
            return "third-party"
        case EgressVerdict.VENDOR_CLOUD:
            return "vendor"
        case EgressVerdict.NO_EGRESS:
            return "clear"
        case EgressVerdict.NO_TRAFFIC:
            return "no-data"
        case _:
            assert_never(verdict)


def _category_label(category: EndpointCategory) -> str:
    match category:
        case EndpointCategory.VENDOR_CLOUD:
            return "vendor cloud"
        case EndpointCategory.P2P_RELAY:
            return "P2P relay"
        case EndpointCategory.DDNS:
            return "DDNS"
        case EndpointCategory.UPDATE:
            return "update server"
        case EndpointCategory.NTP:
            return "NTP"
        case EndpointCategory.DNS:
            return "DNS"
        case EndpointCategory.NETWORK:
            return "operator network"
        case _:
            assert_never(category)


def destination_kind(d: Destination) -> str:
    """What a destination is known as; a match by port alone does not make it known."""
    if d.endpoint is None or d.endpoint.match is MatchKind.PORT:
        return UNKNOWN_KIND
    return _category_label(d.endpoint.category)


def format_bytes(n: int) -> str:
    """``n`` bytes in SI units: ``812 B``, ``4.2 kB``, ``1.3 GB``."""
    value = float(n)
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if value < 1000 or unit == "TB":
            return f"{n} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    raise AssertionError("unreachable")


@dataclass(frozen=True)
class TrafficRow:
    """One device's egress with what the inventory and the policy know about it."""

    egress: DeviceEgress
    """As measured."""
    device: DeviceRecord | None
    """Its inventory record (None: an address the inventory does not hold)."""
    zone: Zone | None
    """Its policy zone."""

    @property
    def bytes_out(self) -> int:
        """IP bytes sent to outside addresses."""
        return sum(d.bytes_sent for d in self.egress.destinations)

    @property
    def bytes_in(self) -> int:
        """IP bytes received from outside addresses."""
        return sum(d.bytes_received for d in self.egress.destinations)

    @property
    def brand(self) -> str | None:
        """The name on the box, when the inventory knows it."""
        return self.device.attribution.brand if self.device else None


@dataclass(frozen=True)
class TrafficOverview:
    """The traffic section: rows, counts per verdict, destinations and zone links."""

    rows: tuple[TrafficRow, ...]
    """Every device with a verdict, most worrying verdict first, then by address."""
    by_verdict: dict[EgressVerdict, int]
    """Devices per verdict, in ``VERDICTS`` order, zeros included."""
    links: tuple[ZoneLink, ...]
    """Observed traffic between zones, most bytes first."""

    @property
    def with_egress(self) -> int:
        """Devices that sent data outside (vendor cloud, third party or unknown)."""
        return sum(n for v, n in self.by_verdict.items() if v in EGRESS)

    @property
    def insufficient(self) -> int:
        """Devices with no egress observed over less than ``MIN_OBSERVED_HOURS``."""
        return sum(1 for r in self.rows if insufficient(r.egress))

    @property
    def third_party_or_unknown(self) -> int:
        """Devices with a third-party or unknown destination."""
        return (
            self.by_verdict[EgressVerdict.THIRD_PARTY]
            + self.by_verdict[EgressVerdict.UNKNOWN_DESTINATION]
        )

    @property
    def destinations(self) -> list[tuple[TrafficRow, Destination]]:
        """Every outside destination with its device, in row order, most bytes sent first."""
        return [(r, d) for r in self.rows for d in r.egress.destinations]


def build_traffic(data: ReportData) -> TrafficOverview:
    """The traffic section of ``data`` (empty rows when no traffic data was imported)."""
    records: dict[tuple[str | None, str], DeviceRecord] = {}
    for d in sorted(data.devices, key=lambda d: d.site, reverse=True):
        records[(d.site, d.ip)] = records[(None, d.ip)] = d  # no site: the first site's
    rank = {v: i for i, v in enumerate(VERDICTS)}
    rows = []
    for e in data.traffic:
        record = records.get((e.site, e.ip))
        zone = data.policy.zone_of(e.ip, record.site if record else "") if data.policy else None
        rows.append(TrafficRow(e, record, zone))
    rows.sort(key=lambda r: (rank[r.egress.verdict], ip_key(r.egress.ip)))
    counts = {v: sum(1 for r in rows if r.egress.verdict is v) for v in VERDICTS}
    links = sorted(data.links, key=lambda k: (-(k.bytes_forward + k.bytes_reverse), k.src_zone))
    return TrafficOverview(tuple(rows), counts, tuple(links))


def _time(value: datetime) -> str:
    return value.isoformat()


def destination_to_json(d: Destination) -> dict[str, Any]:
    """A destination as plain JSON (every field; datetimes ISO 8601)."""
    endpoint = d.endpoint
    return {
        "remote_ip": d.remote_ip,
        "port": d.port,
        "proto": d.proto,
        "dns_name": d.dns_name,
        "country": d.country,
        "endpoint": None
        if endpoint is None
        else {
            "id": endpoint.id,
            "category": endpoint.category.value,
            "operator": endpoint.operator,
            "match": endpoint.match.value,
            "source": endpoint.source,
        },
        "bytes_sent": d.bytes_sent,
        "bytes_received": d.bytes_received,
        "flows": d.flows,
        "first_seen": _time(d.first_seen),
        "last_seen": _time(d.last_seen),
        "initiated_by_device": d.initiated_by_device,
    }


def _upload_json(u: LargeUpload) -> dict[str, Any]:
    return {
        "remote_ip": u.remote_ip,
        "dns_name": u.dns_name,
        "bytes_sent": u.bytes_sent,
        "seconds": u.seconds,
        "mbit_per_s": u.mbit_per_s,
    }


def _mapping_json(p: PortMapping) -> dict[str, Any]:
    return {
        "device_ip": p.device_ip,
        "router_ip": p.router_ip,
        "kind": p.kind,
        "at": _time(p.at),
        "external_port": p.external_port,
        "internal_port": p.internal_port,
        "protocol": p.protocol,
    }


def egress_to_json(e: DeviceEgress) -> dict[str, Any]:
    """A device's egress as plain JSON: every ``DeviceEgress`` field, datetimes ISO 8601."""
    return {
        "ip": e.ip,
        "verdict": e.verdict.value,
        "window": None if e.window is None else [_time(e.window[0]), _time(e.window[1])],
        "coverage_hours": e.coverage_hours,
        "flows_seen": e.flows_seen,
        "destinations": [destination_to_json(d) for d in e.destinations],
        "large_uploads": [_upload_json(u) for u in e.large_uploads],
        "port_mappings": [_mapping_json(p) for p in e.port_mappings],
        "mac": e.mac,
        "maker": e.maker,
        "site": e.site,
    }


def link_to_json(link: ZoneLink) -> dict[str, Any]:
    """A zone link as plain JSON (every field; datetimes ISO 8601, pairs as 2-lists)."""
    return {
        "src_zone": link.src_zone,
        "dst_zone": link.dst_zone,
        "first_seen": _time(link.first_seen),
        "last_seen": _time(link.last_seen),
        "ports": list(link.ports),
        "bytes_forward": link.bytes_forward,
        "bytes_reverse": link.bytes_reverse,
        "flows": link.flows,
        "pairs": [list(p) for p in link.pairs],
    }
