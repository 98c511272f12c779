"""The discovery-protocol registry: every protocol coverwatch speaks, registered once.

A protocol is one module in ``coverwatch.probes`` ending in a ``SPEC``
(``coverwatch.probes.protocol.ProtocolSpec``: ports, group, request, parser, lab answer).
Active discovery (``sources.discovery``), passive capture (``traffic.passive``), the lab's
responders (``lab.discovery``, ``lab.answers``) and the lab capture (``lab.capture``) read
``PROTOCOLS``; adding a protocol is one module, one enum member and one line here.
"""

from __future__ import annotations

from enum import Enum

from coverwatch.probes import dhip, mdns, sadp, ssdp, wsdiscovery
from coverwatch.probes.protocol import ProtocolSpec


class DiscoveryProtocol(str, Enum):
    """The discovery protocols coverwatch speaks."""

    WSDISCOVERY = "wsdiscovery"
    SADP = "sadp"
    DHIP = "dhip"
    SSDP = "ssdp"
    MDNS = "mdns"


PROTOCOLS: dict[DiscoveryProtocol, ProtocolSpec] = {
    DiscoveryProtocol.WSDISCOVERY: wsdiscovery.SPEC,
    DiscoveryProtocol.SADP: sadp.SPEC,
    DiscoveryProtocol.DHIP: dhip.SPEC,
    DiscoveryProtocol.SSDP: ssdp.SPEC,
    DiscoveryProtocol.MDNS: mdns.SPEC,
}


def families() -> tuple[str, ...]:
    """Every signal prefix a registered protocol emits (for the signal vocabulary)."""
    return tuple(dict.fromkeys(f for spec in PROTOCOLS.values() for f in spec.families))
