"""mDNS / DNS-SD: PTR queries for the service types cameras announce, and the answers.

Wire format (RFC 6762 multicast DNS, RFC 6763 DNS-SD; messages built and parsed with
dnspython, code our own):

- Queries go to ``224.0.0.251:5353`` (or unicast to a device's port 5353). Sent from a port
  other than 5353 they are "one-shot" queries that responders answer with a unicast reply to
  the sender (RFC 6762, sections 5.1 and 6.7), so no privileged listener is needed.
- A browse is a PTR question for ``<service>.local``; answers (and additional records) give
  PTR -> instance name, SRV (target, port), TXT (``key=value`` strings) and A records.
- Service types cameras announce: ``_axis-video._tcp`` (Axis; instance ``AXIS <model> -
  <MAC>``, TXT ``macaddress=<MAC>``: home-assistant/netdisco ``discoverables/axis.py``,
  public avahi-browse scripts), ``_psia._tcp`` / ``_CGI._tcp`` / ``_http._tcp`` (Hikvision;
  instance ``HIKVISION <model> - <serial>``: public camera-discovery
  tools that browse these types by default), ``_rtsp._tcp``, ``_onvif._tcp`` and ``_arec._tcp``
  (Arecont Vision; instance ``<model> - <serial>``, TXT ``MAC=...``: julienblitte/UniversalScanner
  ``UniversalScanner/Arecont.cs`` and ``protocols.html``).
"""

from __future__ import annotations

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.rdataclass
import dns.rdatatype
import dns.rrset

from coverwatch.probes.http import clean_text
from coverwatch.probes.protocol import ProtocolSpec

PORT = 5353
GROUP = "224.0.0.251"
_FIELD = 256
_MAX_RECORDS = 64

#: Service types browsed by default.
SERVICE_TYPES = (
    "_axis-video._tcp.local.",
    "_psia._tcp.local.",
    "_CGI._tcp.local.",
    "_http._tcp.local.",
    "_rtsp._tcp.local.",
    "_onvif._tcp.local.",
    "_arec._tcp.local.",
)


class MalformedMdns(ValueError):
    """The datagram is not a parsable DNS message with answers."""


def build_query(service_types: tuple[str, ...] = SERVICE_TYPES) -> bytes:
    """One DNS query with a PTR question per service type (message id 0, RFC 6762 18.1)."""
    query = dns.message.make_query(service_types[0], dns.rdatatype.PTR)
    for service in service_types[1:]:
        query.question.append(
            dns.rrset.RRset(dns.name.from_text(service), dns.rdataclass.IN, dns.rdatatype.PTR)
        )
    query.id = 0
    query.flags = 0
    return query.to_wire()


def _instance_label(name: dns.name.Name) -> str:
    # NOTE: an instance name is its first label, which may contain dots and spaces
    # (RFC 6763, 4.3): "AXIS P3228-LVE - ACCC8E012345._axis-video._tcp.local."
    return clean_text(name.labels[0].decode("utf-8", "replace"), _FIELD) if name.labels else ""


def parse_response(data: bytes) -> dict[str, list[str]]:
    """``mdns.name`` (instance names), ``mdns.service``, ``mdns.txt`` and ``mac`` (from a TXT
    ``macaddress=``) from one response; MalformedMdns for anything unparsable or empty."""
    try:
        message = dns.message.from_wire(data, ignore_trailing=True)
    except (dns.exception.DNSException, ValueError, UnicodeError) as e:
        raise MalformedMdns(f"not a DNS message: {e.__class__.__name__}") from e
    if not message.flags & dns.flags.QR:
        raise MalformedMdns("a query, not a response")
    signals: dict[str, list[str]] = {}

    def add(key: str, value: str) -> None:
        if value and value not in signals.setdefault(key, []):
            signals[key].append(value)

    records = [*message.answer, *message.additional][:_MAX_RECORDS]
    for rrset in records:
        for rdata in list(rrset)[:_MAX_RECORDS]:
            if rdata.rdtype == dns.rdatatype.PTR:
                add("mdns.name", _instance_label(rdata.target))
                add("mdns.service", clean_text(rrset.name.to_text(), _FIELD))
            elif rdata.rdtype == dns.rdatatype.TXT:
                for raw in rdata.strings[:32]:
                    text = clean_text(raw.decode("utf-8", "replace"), _FIELD)
                    add("mdns.txt", text)
                    key, _, value = text.partition("=")
                    if key.lower() == "macaddress" and value:
                        add("mac", value)
            elif rdata.rdtype == dns.rdatatype.SRV:
                add("mdns.name", _instance_label(rrset.name))
    if not signals:
        raise MalformedMdns("response carries no PTR, SRV or TXT record")
    return {k: v for k, v in signals.items() if v}


SPEC = ProtocolSpec(
    name="mdns",
    port=PORT,
    group=GROUP,
    build=lambda _to: build_query(),
    parse=lambda data: [parse_response(data)],
    source="RFC 6762 (multicast DNS), RFC 6763 (DNS-SD)",
)
