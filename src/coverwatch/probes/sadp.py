"""Hikvision SADP (Search Active Devices Protocol): the inquiry and a parser for ProbeMatch.

Wire format (facts from public sources; code our own):

- UDP port 37020, multicast group 239.255.255.250; the inquiry is a small XML document
  ``<Probe><Uuid>UUID</Uuid><Types>inquiry</Types></Probe>`` (julienblitte/UniversalScanner
  ``UniversalScanner/Hikvision.cs``).
- A device answers with ``<ProbeMatch>`` holding ``Uuid``, ``Types``, ``DeviceType`` (a
  number), ``DeviceDescription`` (the model), ``DeviceSN``, ``CommandPort``, ``HttpPort``,
  ``MAC`` (dash-separated), ``IPv4Address`` ..., ``SoftwareVersion`` (``V5.6.2build 190701``),
  ``DSPVersion``, ``BootTime``, ``Activated`` (UniversalScanner ``Hikvision.selftest``; public
  SADP captures quoted in open-source SADP clients found by code search).
- NOTE: devices send the reply to the multicast group on port 37020 rather than to the
  sender, so a multicast inquiry also listens on the group (``transport.udp_exchange``).
"""

from __future__ import annotations

import re
import uuid
from html import escape
from xml.etree.ElementTree import Element

from coverwatch.probes import xml as safe_xml
from coverwatch.probes.http import clean_text
from coverwatch.probes.protocol import MalformedReply, ProtocolSpec, Responder, Signals

PORT = 37020
GROUP = "239.255.255.250"
_FIELD = 256

#: ProbeMatch element -> signal key (``sadp.<field>``).
FIELDS = {
    "DeviceType": "sadp.device_type",
    "DeviceDescription": "sadp.device_description",
    "DeviceSN": "sadp.serial",
    "MAC": "sadp.mac",
    "SoftwareVersion": "sadp.firmware",
    "DSPVersion": "sadp.dsp_version",
    "Activated": "sadp.activated",
    "IPv4Address": "sadp.ipv4",
    "HttpPort": "sadp.http_port",
    "CommandPort": "sadp.command_port",
    "BootTime": "sadp.boot_time",
}


_FIELDS_FOLDED = {name.lower(): key for name, key in FIELDS.items()}


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1].lower()


class MalformedSadp(MalformedReply):
    """The datagram is not a well-formed, safe SADP ProbeMatch."""

    def __init__(self, message: str, reason: str = "invalid") -> None:
        super().__init__(reason, message)


def build_inquiry(probe_uuid: str | None = None) -> bytes:
    """The SADP inquiry (a fresh upper-case UUID, as Hikvision's SADP tool sends)."""
    probe_uuid = probe_uuid or str(uuid.uuid4()).upper()
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        f"<Probe><Uuid>{probe_uuid}</Uuid><Types>inquiry</Types></Probe>"
    ).encode()


def parse_xml(data: bytes) -> Element:
    """Parse a SADP document with defusedxml (no DTD, no entity expansion)."""
    try:
        root = safe_xml.parse_xml(data)
    except safe_xml.MalformedXml as e:
        raise MalformedSadp(f"unsafe or malformed XML: {e.__class__.__name__}", "encoding") from e
    if not isinstance(root, Element):
        raise MalformedSadp("no XML root element")
    return root


_ELEMENT = re.compile(r"<(\w{1,32})>([^<]{1,256})</\1>")


def _finish(signals: dict[str, str]) -> dict[str, str]:
    if "sadp.device_description" not in signals and "sadp.serial" not in signals:
        raise MalformedSadp("ProbeMatch names neither a model nor a serial number", "empty")
    if "sadp.mac" in signals:
        signals["mac"] = signals["sadp.mac"]
    return signals


def _salvaged(data: bytes) -> dict[str, str]:
    """Fields of a ProbeMatch whose XML is cut (a first IP fragment in a capture without
    reassembly), read element by element; entities are left as written, never expanded."""
    signals: dict[str, str] = {}
    for name, text in _ELEMENT.findall(data[:16384].decode("utf-8", "replace"))[:64]:
        key = _FIELDS_FOLDED.get(name.lower())
        clean = clean_text(text, _FIELD)
        if key and clean and key not in signals:
            signals[key] = clean
    return _finish(signals)


def parse_probe_match(data: bytes) -> dict[str, str]:
    """``sadp.*`` signals (plus ``mac``) from a ProbeMatch; MalformedSadp otherwise.

    Our own inquiry, looped back by the multicast group, is not a ProbeMatch and is refused too.
    """
    try:
        root = parse_xml(data)
    except MalformedSadp:
        head = data[:512].lower()
        if b"<probematch" not in head or b"<!" in data:  # NOTE: never read past a DTD
            raise
        return _salvaged(data)
    if _local(root.tag) != "probematch":
        raise MalformedSadp(f"not a ProbeMatch: <{clean_text(root.tag, 40)}>", "not_a_reply")
    signals: dict[str, str] = {}
    for child in root:
        # NOTE: element names are matched without namespace and case (firmware differs in both)
        key = _FIELDS_FOLDED.get(_local(child.tag))
        text = clean_text(child.text or "", _FIELD)
        if key and text and key not in signals:
            signals[key] = text
    return _finish(signals)


def answer(data: bytes, device: Responder) -> bytes | None:
    """A lab device's ProbeMatch for an inquiry (the profile's fields in its order, as devices
    send them; Uuid echoed, IPv4Address defaulting to the device's address)."""
    root = parse_xml(data)
    texts = {child.tag: (child.text or "").strip() for child in root}
    if root.tag != "Probe" or texts.get("Types", "").lower() != "inquiry":
        return None
    fields = {"Uuid": texts.get("Uuid", ""), "Types": "inquiry", **device.fields}
    fields.setdefault("IPv4Address", device.ip)
    body = "".join(f"<{k}>{escape(str(v), quote=False)}</{k}>\n" for k, v in fields.items())
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<ProbeMatch>\n{body}</ProbeMatch>\n'.encode()


def _parse(data: bytes) -> list[Signals]:
    return [{k: [v] for k, v in parse_probe_match(data).items()}]


SPEC = ProtocolSpec(
    name="sadp",
    port=PORT,
    group=GROUP,
    build=lambda _to: build_inquiry(),
    parse=_parse,
    source="julienblitte/UniversalScanner UniversalScanner/Hikvision.cs (port, group, inquiry)",
    reply_to_group=True,
    answer=answer,
    families=("sadp.",),
)
