"""mDNS / DNS-SD: PTR queries for the service types cameras announce, and the answers.

Wire format (RFC 6762 multicast DNS, RFC 6763 DNS-SD; messages built and parsed with
dnspython, code our own):

- Queries go to ``224.0.0.251:5353`` (or unicast to a device's port 5353). Sent from a port
  other than 5353 they are "one-shot" queries that responders answer with a unicast reply to
  the sender (RFC 6762, sections 5.1 and 6.7), so no privileged listener is needed.
- A browse is a PTR question for ``<service>.local``; answers (and additional records) give
  PTR -> instance name, SRV (target, port), TXT (``key=value`` strings, RFC 6763 6.3) and A.
- Service types cameras announce: ``_axis-video._tcp`` (Axis, and DoorBird door stations;
  instance ``AXIS <model> - <MAC>``, TXT ``macaddress=<MAC>``: home-assistant/netdisco
  ``discoverables/axis.py``; Home Assistant ``homeassistant/generated/zeroconf.py``),
  ``_psia._tcp`` / ``_CGI._tcp`` / ``_http._tcp`` (Hikvision; instance ``HIKVISION <model> -
  <last digits of the serial>``: https://github.com/128keaton/hikvision-mdns README, netdisco
  ``discoverables/hikvision.py``), ``_rtsp._tcp``, ``_onvif._tcp``, ``_arec._tcp`` (Arecont
  Vision; instance ``<model> - <serial>``: julienblitte/UniversalScanner ``Arecont.cs``) and
  ``_hap._tcp`` (HomeKit accessories, consumer cameras and video doorbells among them: TXT
  ``md`` model, ``ci`` accessory category, ``id`` pairing identifier, ``c#``/``s#``/``sf``/``ff``
  /``pv``/``sh`` pairing state: homebridge/HAP-NodeJS ``src/lib/Advertiser.ts``; a Netatmo
  Welcome camera's ``md=Welcome ci=17``: https://github.com/jlusiardi/homekit_python/issues/131)
  and ``_miio._udp`` (Xiaomi Mi Home devices; instance ``<model with dashes>_miio<device id>``,
  e.g. ``chuangmi-camera-ipc009_miio263372670``: https://github.com/rytilahti/python-miio/issues/522).
- TXT keys naming the device's identity become the signals other protocols use: ``mac``
  (``macaddress``, ``mac``: only a well-formed MAC), ``mdns.model`` (``md``, ``model``),
  ``mdns.serial`` (``serial``, ``serialnumber``, ``sn``), ``mdns.firmware`` (``firmware``,
  ``fw``, ``fwversion``) and, for ``_hap`` records, ``mdns.hap_category`` (``ci``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from coverwatch.identity import normal_mac
from coverwatch.probes.http import clean_text
from coverwatch.probes.protocol import ProtocolSpec

if TYPE_CHECKING:
    import dns.name

# NOTE: dnspython is imported by the functions that build and read messages, not with the
# discovery registry: a port scan that never speaks mDNS does not pay its import.

PORT = 5353
GROUP = "224.0.0.251"
_FIELD = 256
_MAX_RECORDS = 64
_MAX_STRINGS = 32
#: Values kept per signal: a reply of thousands of TXT strings still yields a bounded set.
_MAX_VALUES = 64

#: Service types browsed by default (one query of ~200 bytes, RFC 6762 17: well under 1500).
SERVICE_TYPES = (
    "_axis-video._tcp.local.",
    "_psia._tcp.local.",
    "_CGI._tcp.local.",
    "_http._tcp.local.",
    "_rtsp._tcp.local.",
    "_onvif._tcp.local.",
    "_arec._tcp.local.",
    "_hap._tcp.local.",
    "_miio._udp.local.",
)

#: TXT keys (lower case) that name the device's identity, and the signal each becomes.
_IDENTITY_KEYS = {
    "macaddress": "mac",
    "mac": "mac",
    "md": "mdns.model",
    "model": "mdns.model",
    "serial": "mdns.serial",
    "serialnumber": "mdns.serial",
    "sn": "mdns.serial",
    "firmware": "mdns.firmware",
    "fw": "mdns.firmware",
    "fwversion": "mdns.firmware",
}
#: Services whose TXT keys mean something else: Apple's ``_device-info._tcp`` ``model=`` is the
#: icon a Mac shows (a Synology NAS says ``model=Xserve``: home-assistant/core issue 27371).
_NOT_IDENTITY = frozenset({b"_device-info"})


class MalformedMdns(ValueError):
    """The datagram is not a parsable DNS message with answers."""


def build_query(service_types: tuple[str, ...] = SERVICE_TYPES) -> bytes:
    """One DNS query with a PTR question per service type (message id 0, RFC 6762 18.1)."""
    import dns.message
    import dns.name
    import dns.rdataclass
    import dns.rdatatype
    import dns.rrset

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


def _txt_signals(owner: dns.name.Name, text: str) -> tuple[str, str] | None:
    """The identity signal one ``key=value`` TXT string of ``owner``'s record carries."""
    key, _, value = text.partition("=")
    key, value = key.strip().lower(), value.strip()
    service = owner.labels[1].lower() if len(owner.labels) > 2 else b""
    if not value or service in _NOT_IDENTITY:
        return None
    if key == "ci" and service == b"_hap":
        # NOTE: HAP accessory category (17 IP camera, 18 video doorbell): HAP-NodeJS
        # src/lib/Accessory.ts Categories; only a _hap record's "ci" is one.
        return ("mdns.hap_category", value) if value.isdigit() else None
    signal = _IDENTITY_KEYS.get(key)
    if signal == "mac":
        mac = normal_mac(value)
        return ("mac", value) if mac else None
    return (signal, value) if signal else None


def parse_response(data: bytes) -> dict[str, list[str]]:
    """``mdns.name`` (instance names), ``mdns.service``, ``mdns.txt`` and what identity TXT keys
    say (``mac``, ``mdns.model``, ``mdns.serial``, ``mdns.firmware``, ``mdns.hap_category``)
    from one response; MalformedMdns for anything unparsable or empty."""
    import dns.exception
    import dns.flags
    import dns.message
    import dns.rdatatype

    try:
        message = dns.message.from_wire(data, ignore_trailing=True)
    except (dns.exception.DNSException, ValueError, UnicodeError) as e:
        raise MalformedMdns(f"not a DNS message: {e.__class__.__name__}") from e
    if not message.flags & dns.flags.QR:
        raise MalformedMdns("a query, not a response")
    signals: dict[str, list[str]] = {}

    def add(key: str, value: str) -> None:
        values = signals.setdefault(key, [])
        if value and value not in values and len(values) < _MAX_VALUES:
            values.append(value)

    records = [*message.answer, *message.additional][:_MAX_RECORDS]
    for rrset in records:
        for rdata in list(rrset)[:_MAX_RECORDS]:
            if rdata.rdtype == dns.rdatatype.PTR:
                add("mdns.name", _instance_label(rdata.target))
                add("mdns.service", clean_text(rrset.name.to_text(), _FIELD))
            elif rdata.rdtype == dns.rdatatype.TXT:
                for raw in rdata.strings[:_MAX_STRINGS]:
                    text = clean_text(raw.decode("utf-8", "replace"), _FIELD)
                    add("mdns.txt", text)
                    found = _txt_signals(rrset.name, text)
                    if found:
                        add(*found)
            elif rdata.rdtype == dns.rdatatype.SRV:
                add("mdns.name", _instance_label(rrset.name))
    signals = {k: v for k, v in signals.items() if v}
    if not signals:
        raise MalformedMdns("response carries no PTR, SRV or TXT record")
    return signals


SPEC = ProtocolSpec(
    name="mdns",
    port=PORT,
    group=GROUP,
    build=lambda _to: build_query(),
    parse=lambda data: [parse_response(data)],
    source="RFC 6762 (multicast DNS), RFC 6763 (DNS-SD); Apple HomeKit Accessory Protocol TXT "
    "keys as published by homebridge/HAP-NodeJS src/lib/Advertiser.ts",
)
