"""Exposed insecure management: clear-text Telnet, FTP and HTTP administration."""

from __future__ import annotations

from coverwatch.models import VIDEO_TYPES, DeviceRecord
from coverwatch.policy.interface import Rule, Verdict, rule_fact
from coverwatch.policy.model import Action, Zone
from coverwatch.policy.rules.options import Options, PortNames

#: Clear-text management services by port (RFC 854 Telnet, RFC 959 FTP, RFC 9110 HTTP).
DEFAULT_SERVICES = {23: "Telnet", 21: "FTP", 80: "HTTP"}


class InsecureManagementRule(Rule):
    """A video device offering a clear-text management service (HTTP only counts when the
    device offers no HTTPS alternative on 443)."""

    OPTIONS = Options(PortNames("ports"))

    def check(self, device: DeviceRecord, zone: Zone | None) -> list[Verdict]:
        if device.attribution.device_type not in VIDEO_TYPES:
            return []
        raw = self.config.options.get("ports")
        services = (
            {int(k): str(v) for k, v in raw.items()}
            if isinstance(raw, dict)
            else (DEFAULT_SERVICES)
        )
        verdicts = []
        for port in device.open_ports:
            name = services.get(port)
            if name is None or (name == "HTTP" and 443 in device.open_ports):
                continue
            fact = rule_fact("tcp.port", str(port), f"port:{port}", "scan")
            verdicts.append(
                Verdict(
                    f"{name} (clear text) open on port {port}",
                    Action.DISABLE_SERVICE,
                    facts=(fact,),
                    title=f"Clear-text {name} management exposed",
                )
            )
        return verdicts
