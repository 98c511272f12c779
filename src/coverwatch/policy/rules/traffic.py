"""Rules over observed traffic: egress to vendor clouds and third parties, UPnP port
mappings, and video devices talking to a core network (the UK 2022 direction shown by flows,
not only by the address plan). Without traffic data these rules say nothing."""

from __future__ import annotations

from coverwatch.models import VIDEO_TYPES, DeviceRecord
from coverwatch.policy.interface import Rule, Verdict, rule_fact
from coverwatch.policy.model import Action, FindingStatus, Zone
from coverwatch.policy.rules.options import Choices, Flag, Options
from coverwatch.traffic.model import DeviceEgress, EgressVerdict, MatchKind

_OUTSIDE = {
    EgressVerdict.VENDOR_CLOUD,
    EgressVerdict.THIRD_PARTY,
    EgressVerdict.UNKNOWN_DESTINATION,
}


def _mb(count: int) -> str:
    return f"{count / 1e6:.1f} MB"


def _where(egress: DeviceEgress) -> str:
    shown = []
    for d in egress.destinations[:3]:
        name = d.dns_name or d.remote_ip
        known = ""
        if d.endpoint is not None:
            # a name is the usual evidence; say so when it was an address range or a network
            how = "" if d.endpoint.match is MatchKind.DNS_NAME else f", by {d.endpoint.match.value}"
            known = f" ({d.endpoint.operator} {d.endpoint.category.value}{how})"
        shown.append(f"{name}{known} {d.proto}/{d.port}, {_mb(d.bytes_sent)} sent")
    more = len(egress.destinations) - len(shown)
    return "; ".join(shown) + (f"; and {more} more" if more > 0 else "")


class EgressRule(Rule):
    """A device whose traffic leaves the internal ranges with one of the listed verdicts
    (optionally only in sensitive zones)."""

    OPTIONS = Options(
        Choices("verdicts", tuple(v.value for v in EgressVerdict)), Flag("sensitive_only")
    )

    def check(self, device: DeviceRecord, zone: Zone | None) -> list[Verdict]:
        if self.traffic is None:
            return []
        if self.config.options.get("sensitive_only") and not (zone and zone.sensitive):
            return []
        egress = self.traffic.egress.get((device.site, device.ip))
        listed = self.config.options.get("verdicts", [v.value for v in _OUTSIDE])
        wanted = {EgressVerdict(v) for v in listed} if isinstance(listed, list) else _OUTSIDE
        if egress is None or egress.verdict is EgressVerdict.NO_TRAFFIC:
            if zone and zone.sensitive and device.attribution.device_type in VIDEO_TYPES:
                return [
                    Verdict(
                        "no traffic of this device in the imported captures: its "
                        "egress cannot be verified",
                        Action.VERIFY,
                        FindingStatus.UNVERIFIED,
                        title="Egress not verified",
                    )
                ]
            return []
        if egress.verdict not in wanted:
            return []
        facts = tuple(
            rule_fact(
                "egress",
                d.dns_name or d.remote_ip,
                d.endpoint.id if d.endpoint else "unknown",
                "traffic",
            )
            for d in egress.destinations[:5]
        )
        uploads = (
            f"; sustained upload of {_mb(egress.large_uploads[0].bytes_sent)} to "
            f"{egress.large_uploads[0].dns_name or egress.large_uploads[0].remote_ip}"
            if egress.large_uploads
            else ""
        )
        return [
            Verdict(
                f"{egress.verdict.value}: {_where(egress)}{uploads} "
                f"(over {egress.coverage_hours:.1f} h of observed traffic)",
                Action.ISOLATE,
                facts=facts,
                title=f"{self.config.title} ({egress.verdict.value})",
            )
        ]


class UpnpPortMappingRule(Rule):
    """A device asking the router to open an inbound port (UPnP IGD AddPortMapping)."""

    OPTIONS = Options()

    def check(self, device: DeviceRecord, zone: Zone | None) -> list[Verdict]:
        egress = self.traffic.egress.get((device.site, device.ip)) if self.traffic else None
        if egress is None or not egress.port_mappings:
            return []
        ports = ", ".join(str(m.external_port) for m in egress.port_mappings if m.external_port)
        return [
            Verdict(
                f"{len(egress.port_mappings)} UPnP port-mapping request(s) to the router"
                + (f" (external ports {ports})" if ports else ""),
                Action.DISABLE_SERVICE,
            )
        ]


class CoreLinkageRule(Rule):
    """A video device outside the core zones whose traffic reaches a core zone."""

    OPTIONS = Options()

    def check(self, device: DeviceRecord, zone: Zone | None) -> list[Verdict]:
        if self.traffic is None or device.attribution.device_type not in VIDEO_TYPES:
            return []
        if zone is not None and zone.core:
            return []  # in the core already: the core-network rule speaks for it
        for link in self.traffic.links:
            pairs = [p for p in link.pairs if device.ip in p]
            cores = self.traffic.core_zones
            if (
                pairs
                and link.dst_zone != link.src_zone
                and (link.dst_zone in cores or link.src_zone in cores)
            ):
                core = link.dst_zone if link.dst_zone in cores else link.src_zone
                peer = next(b if a == device.ip else a for a, b in pairs)
                return [
                    Verdict(
                        f"traffic with {peer} in core zone {core!r} on "
                        f"{', '.join(link.ports[:4])}, "
                        f"{link.first_seen:%Y-%m-%d %H:%M} to {link.last_seen:%Y-%m-%d %H:%M} UTC",
                        Action.ISOLATE,
                        facts=(
                            rule_fact(
                                "linkage", f"{device.ip} <-> {peer}", f"zone:{core}", "traffic"
                            ),
                        ),
                    )
                ]
        return []
