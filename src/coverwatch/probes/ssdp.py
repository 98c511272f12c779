"""SSDP / UPnP: the M-SEARCH, its HTTP-over-UDP replies, and the device description XML.

Wire format (UPnP Device Architecture 1.1, sections 1.3.2 and 2.3; code our own):

- ``M-SEARCH * HTTP/1.1`` to ``239.255.255.250:1900`` (or unicast to a device's port 1900)
  with ``HOST``, ``MAN: "ssdp:discover"``, ``MX`` (seconds a device may wait, multicast only)
  and ``ST`` (search target: ``ssdp:all``, ``upnp:rootdevice``, a device or service type).
- Replies are ``HTTP/1.1 200 OK`` datagrams with ``LOCATION`` (URL of the device
  description), ``SERVER``, ``ST`` and ``USN`` headers.
- The description is XML (namespace ``urn:schemas-upnp-org:device-1-0``); ``root/device``
  carries ``friendlyName``, ``manufacturer``, ``modelName``, ``modelNumber``, ``serialNumber``
  and ``UDN``. Axis cameras' description is quoted in public test fixtures (node-ssdp-style
  fixtures for ``AXIS M1014`` and ``AXIS P3301``, code search).
"""

from __future__ import annotations

from urllib.parse import urlsplit
from xml.etree.ElementTree import Element

from coverwatch.probes import xml as safe_xml
from coverwatch.probes.http import clean_text
from coverwatch.probes.protocol import ProtocolSpec, Signals

PORT = 1900
GROUP = "239.255.255.250"
_FIELD = 256
_MAX_HEADERS = 32

#: Announcement header -> signal key (replies, NOTIFY announcements, a search's USER-AGENT).
ANNOUNCEMENT_SIGNALS = {
    "server": "upnp.server",
    "user-agent": "upnp.server",
    "location": "upnp.location",
    "st": "upnp.st",
    "nt": "upnp.st",
    "usn": "upnp.usn",
}
#: Description element (under root/device) -> signal key.
DESCRIPTION_SIGNALS = {
    "manufacturer": "upnp.manufacturer",
    "modelName": "upnp.model_name",
    "modelNumber": "upnp.model_number",
    "serialNumber": "upnp.serial",
    "friendlyName": "upnp.friendly_name",
    "modelDescription": "upnp.model_description",
}


class MalformedSsdp(ValueError):
    """A datagram or description that is not well-formed (and safe) SSDP / UPnP."""


def build_msearch(host: str = f"{GROUP}:{PORT}", st: str = "ssdp:all", mx: int = 2) -> bytes:
    """An M-SEARCH request for ``st``; ``host`` is the group or the unicast target."""
    lines = [
        "M-SEARCH * HTTP/1.1",
        f"HOST: {host}",
        'MAN: "ssdp:discover"',
        f"MX: {mx}",
        f"ST: {st}",
        "USER-AGENT: coverwatch/0.1 UPnP/1.1 inventory-audit",
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("ascii")


def parse_response(data: bytes) -> dict[str, str]:
    """Lower-cased headers of an M-SEARCH reply (``HTTP/1.1 200 OK``); MalformedSsdp else."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise MalformedSsdp("SSDP reply is not UTF-8") from e
    lines = text.split("\r\n")
    if not lines[0].upper().startswith("HTTP/1.1 200"):
        raise MalformedSsdp(f"not an M-SEARCH reply: {clean_text(lines[0], 40)!r}")
    headers: dict[str, str] = {}
    for line in lines[1 : 1 + _MAX_HEADERS]:
        name, sep, value = line.partition(":")
        if sep and name.strip():
            headers.setdefault(name.strip().lower(), clean_text(value, 1024))
    if "location" not in headers:
        raise MalformedSsdp("M-SEARCH reply without LOCATION")
    return headers


def location_target(location: str, replier: str) -> tuple[str, int, str] | None:
    """``(host, port, path)`` of an http LOCATION on the replying host itself, else None.

    NOTE: a reply may name any URL; following it to another host would let a device aim our
    HTTP client anywhere, so only the replier's own address is fetched.
    """
    try:
        url = urlsplit(location)
        port = url.port or 80
    except ValueError:
        return None
    if url.scheme != "http" or url.hostname != replier:
        return None
    path = url.path or "/"
    return replier, port, path + (f"?{url.query}" if url.query else "")


def parse_xml(data: bytes | str) -> Element:
    """Parse description XML with defusedxml (no DTD, no entity expansion)."""
    try:
        root = safe_xml.parse_xml(data)
    except safe_xml.MalformedXml as e:
        raise MalformedSsdp(f"unsafe or malformed XML: {e.__class__.__name__}") from e
    if not isinstance(root, Element):
        raise MalformedSsdp("no XML root element")
    return root


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def parse_description(data: bytes | str) -> dict[str, str]:
    """``upnp.*`` signals from the root device of a UPnP device description."""
    root = parse_xml(data)
    device = next((e for e in root if _local(e.tag) == "device"), None)
    if _local(root.tag) != "root" or device is None:
        raise MalformedSsdp("not a UPnP device description (no root/device)")
    signals: dict[str, str] = {}
    for child in device:
        key = DESCRIPTION_SIGNALS.get(_local(child.tag))
        text = clean_text(child.text or "", _FIELD)
        if key and text:
            signals[key] = text
    if not signals:
        raise MalformedSsdp("device description names nothing")
    return signals


def parse_announcement(data: bytes) -> list[Signals]:
    """``upnp.*`` signals of an M-SEARCH reply or a NOTIFY announcement; of an M-SEARCH only
    the searcher's own SERVER / USER-AGENT. MalformedSsdp for anything else or nothing."""
    text = data[:4096].decode("utf-8", "replace")
    first, _, rest = text.partition("\r\n")
    start = first.upper()
    search = start.startswith("M-SEARCH ")
    if not (start.startswith("HTTP/1.1 200") or start.startswith("NOTIFY ") or search):
        raise MalformedSsdp(f"not an SSDP reply, announcement or search: {clean_text(first, 40)!r}")
    signals: Signals = {}
    for line in rest.split("\r\n")[:_MAX_HEADERS]:
        name, sep, value = line.partition(":")
        key = ANNOUNCEMENT_SIGNALS.get(name.strip().lower())
        if search and key != "upnp.server":
            continue  # NOTE: a search's ST names what it looks for, not what the sender is
        if sep and key and value.strip() and key not in signals:
            signals[key] = [clean_text(value, 512)]
    if not signals:
        raise MalformedSsdp("SSDP message without SERVER, LOCATION, ST or USN")
    return [signals]


SPEC = ProtocolSpec(
    name="ssdp",
    port=PORT,
    group=GROUP,
    build=lambda to: build_msearch(f"{to}:{PORT}"),
    parse=parse_announcement,
    source="UPnP Device Architecture 1.1, sections 1.3.2 and 2.3",
)
