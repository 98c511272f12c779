"""The discovery-protocol registry: every protocol coverwatch speaks, registered once.

A protocol is one module in ``coverwatch.probes`` ending in a ``SPEC``
(``coverwatch.probes.protocol.ProtocolSpec``: ports, group, request, parser, lab answer).
Active discovery (``sources.discovery``), passive capture (``traffic.passive``), the lab's
responders (``lab.discovery``, ``lab.answers``) and the lab capture (``lab.capture``) read
``PROTOCOLS``; adding a protocol is one module, one enum member and one line here.
"""

from __future__ import annotations

from enum import Enum

from coverwatch.probes import (
    bosch,
    dahua_legacy,
    dhip,
    foscam,
    gigevision,
    hanwha,
    mdns,
    nicevision,
    panasonic,
    sadp,
    sony,
    ssdp,
    ubiquiti,
    vision360,
    vivotek,
    vstarcam,
    wsdiscovery,
    xiongmai,
)
from coverwatch.probes.protocol import ProtocolSpec


class DiscoveryProtocol(str, Enum):
    """The discovery protocols coverwatch speaks."""

    WSDISCOVERY = "wsdiscovery"
    SADP = "sadp"
    DHIP = "dhip"
    SSDP = "ssdp"
    MDNS = "mdns"
    DAHUA_LEGACY = "dahua_legacy"
    BOSCH = "bosch"
    HANWHA = "hanwha"
    VIVOTEK = "vivotek"
    SONY = "sony"
    PANASONIC = "panasonic"
    UBIQUITI = "ubiquiti"
    VISION360 = "vision360"
    NICEVISION = "nicevision"
    GIGEVISION = "gigevision"
    VSTARCAM = "vstarcam"
    XIONGMAI = "xiongmai"
    FOSCAM = "foscam"


PROTOCOLS: dict[DiscoveryProtocol, ProtocolSpec] = {
    DiscoveryProtocol.WSDISCOVERY: wsdiscovery.SPEC,
    DiscoveryProtocol.SADP: sadp.SPEC,
    DiscoveryProtocol.DHIP: dhip.SPEC,
    DiscoveryProtocol.SSDP: ssdp.SPEC,
    DiscoveryProtocol.MDNS: mdns.SPEC,
    DiscoveryProtocol.DAHUA_LEGACY: dahua_legacy.SPEC,
    DiscoveryProtocol.BOSCH: bosch.SPEC,
    DiscoveryProtocol.HANWHA: hanwha.SPEC,
    DiscoveryProtocol.VIVOTEK: vivotek.SPEC,
    DiscoveryProtocol.SONY: sony.SPEC,
    DiscoveryProtocol.PANASONIC: panasonic.SPEC,
    DiscoveryProtocol.UBIQUITI: ubiquiti.SPEC,
    DiscoveryProtocol.VISION360: vision360.SPEC,
    DiscoveryProtocol.NICEVISION: nicevision.SPEC,
    DiscoveryProtocol.GIGEVISION: gigevision.SPEC,
    DiscoveryProtocol.VSTARCAM: vstarcam.SPEC,
    DiscoveryProtocol.XIONGMAI: xiongmai.SPEC,
    DiscoveryProtocol.FOSCAM: foscam.SPEC,
}


def families() -> tuple[str, ...]:
    """Every signal prefix a registered protocol emits (for the signal vocabulary)."""
    return tuple(dict.fromkeys(f for spec in PROTOCOLS.values() for f in spec.families))
