"""Dahua DHIP discovery: the framed ``DHDiscover.search`` request and a parser for replies.

Wire format (facts from public sources; code our own):

- UDP port 37810, multicast group 239.255.255.251 (julienblitte/UniversalScanner
  ``UniversalScanner/Dahua2.cs``; Rapid7's public Lorex research script LOREX_DISCOVER.rb).
- Every packet starts with a 32-byte little-endian header: ``uint32 header size (0x20)``,
  the magic ``DHIP`` (bytes 44 48 49 50), two reserved words, ``uint32 body length`` at offset
  16, a reserved word, the body length again at offset 24, a reserved word (Dahua2.cs
  ``Dahua2Header``). The body is JSON.
- Request body: ``{"method": "DHDiscover.search", "params": {"mac": "", "uni": 1}}``.
- Reply body: ``{"mac": ..., "method": "client.notifyDevInfo", "params": {"deviceInfo":
  {"DeviceClass", "DeviceType" (the model), "SerialNo", "MachineName", "Vendor",
  "Manufacturer", "Version", "HttpPort", "Port", "IPv4Address": {"IPAddress", ...}, ...}}}``
  (public sample replies: a "DVR DHCPDiscover UDP-MIB" amplification write-up quoting an
  IPC-HDW5421S reply; Rapid7 LOREX_DISCOVER.rb showing ``"Vendor": "Lorex"``).
"""

from __future__ import annotations

import json
import re
import struct
from typing import Any

from coverwatch.probes.http import clean_text
from coverwatch.probes.protocol import MalformedReply, ProtocolSpec, Responder, Signals

PORT = 37810
GROUP = "239.255.255.251"
MAGIC = b"DHIP"
HEADER_SIZE = 32
_MAX_BODY = 16 * 1024
_FIELD = 256

#: deviceInfo key -> signal key (``dhip.<field>``).
FIELDS = {
    "DeviceClass": "dhip.device_class",
    "DeviceType": "dhip.device_type",
    "SerialNo": "dhip.serial",
    "MachineName": "dhip.machine_name",
    "Vendor": "dhip.vendor",
    "Manufacturer": "dhip.manufacturer",
    "Version": "dhip.version",
    "HttpPort": "dhip.http_port",
    "Port": "dhip.port",
}


class MalformedDhip(MalformedReply):
    """The datagram is not a well-formed DHIP discovery reply."""

    def __init__(self, message: str, reason: str = "invalid") -> None:
        super().__init__(reason, message)


def frame(body: bytes) -> bytes:
    """``body`` behind a DHIP header."""
    return struct.pack("<I4sIIIIII", HEADER_SIZE, MAGIC, 0, 0, len(body), 0, len(body), 0) + body


def build_search() -> bytes:
    """The ``DHDiscover.search`` request, framed."""
    body = {"method": "DHDiscover.search", "params": {"mac": "", "uni": 1}}
    return frame(json.dumps(body).encode() + b"\n")


def unframe(data: bytes) -> Any:
    """The JSON body of a DHIP packet; MalformedDhip for a bad header, length or body.

    NOTE: devices pad the body with NULs or line ends, and some send a second length that
    disagrees with the first; the body is then what the datagram holds, bounded. Text that is
    not UTF-8 (a GBK machine name) is read with replacement characters, not dropped.
    """
    if len(data) < HEADER_SIZE:
        raise MalformedDhip(f"truncated DHIP header ({len(data)} bytes)", "truncated")
    size, magic, _, _, length1, _, length2, _ = struct.unpack_from("<I4sIIIIII", data)
    if magic != MAGIC or size != HEADER_SIZE:
        raise MalformedDhip("no DHIP magic", "bad_magic")
    body = data[HEADER_SIZE:]
    length = length1 if length1 == length2 else len(body)
    if length > _MAX_BODY or length > len(body):
        raise MalformedDhip(
            f"DHIP body length {length1}/{length2} does not fit the datagram", "truncated"
        )
    text = body[:length].rstrip(b"\0\r\n\t ").decode("utf-8", "replace")
    try:
        value, _end = json.JSONDecoder().raw_decode(text.lstrip())
    except (json.JSONDecodeError, RecursionError) as e:
        raise MalformedDhip(f"DHIP body is not JSON: {e.__class__.__name__}", "encoding") from e
    return value


def _text(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return ""
    return clean_text(str(value), _FIELD)


def parse_reply(data: bytes) -> dict[str, str]:
    """``dhip.*`` signals (plus ``mac``) from a ``client.notifyDevInfo`` notification or a
    search answer (any DHIP message but a search that carries ``deviceInfo``)."""
    try:
        message = unframe(data)
    except MalformedDhip as e:
        if e.reason not in ("truncated", "encoding") or data[4:8] != MAGIC:
            raise
        return _salvaged(data, e)
    if not isinstance(message, dict) or message.get("method") == "DHDiscover.search":
        raise MalformedDhip("a search, not a reply", "not_a_reply")
    params = message.get("params")
    info = params.get("deviceInfo") if isinstance(params, dict) else None
    if info is None and isinstance(params, dict) and any(k in params for k in FIELDS):
        info = params  # NOTE: a search answer may carry the fields directly under params
    if not isinstance(info, dict):
        raise MalformedDhip("reply without deviceInfo", "empty")
    signals: dict[str, str] = {}
    for name, key in FIELDS.items():
        text = _text(info.get(name))
        if text:
            signals[key] = text
    ipv4 = info.get("IPv4Address")
    if isinstance(ipv4, dict) and _text(ipv4.get("IPAddress")):
        signals["dhip.ipv4"] = _text(ipv4.get("IPAddress"))
    mac = _text(message.get("mac")) or _text(info.get("Mac"))
    if mac:
        signals["dhip.mac"] = mac
        signals["mac"] = mac
    if not signals:
        raise MalformedDhip("deviceInfo carries no known field", "empty")
    return signals


_PAIR = re.compile(r'"(\w{1,32})"\s*:\s*(?:"([^"\\]{0,256})"|(-?\d{1,10})\b)')


def _salvaged(data: bytes, error: MalformedDhip) -> dict[str, str]:
    """Fields of a notification whose JSON is cut or broken, read pair by pair.

    NOTE: a notification with many fields outgrows one Ethernet frame; a capture without IP
    reassembly holds only its first fragment, whose JSON ends mid-way. Its ``"Key" : "value"``
    pairs are still the device's words (the public Dahua2.cs reader takes them this way).
    """
    text = data[HEADER_SIZE : HEADER_SIZE + _MAX_BODY].decode("utf-8", "replace")
    if "client.notifyDevInfo" not in text and '"deviceInfo"' not in text:
        raise error
    found: dict[str, str] = {}
    for name, quoted, number in _PAIR.findall(text)[:256]:
        found.setdefault(name, clean_text(quoted or number, _FIELD))
    signals = {key: found[name] for name, key in FIELDS.items() if found.get(name)}
    if found.get("IPAddress"):
        signals["dhip.ipv4"] = found["IPAddress"]
    mac = found.get("mac") or found.get("Mac")
    if mac:
        signals["dhip.mac"] = mac
        signals["mac"] = mac
    if not signals:
        raise error
    return signals


def answer(data: bytes, device: Responder) -> bytes | None:
    """A lab device's ``client.notifyDevInfo`` for a ``DHDiscover.search``."""
    message = unframe(data)
    if not isinstance(message, dict) or message.get("method") != "DHDiscover.search":
        return None
    info: dict[str, Any] = dict(device.fields)
    info["IPv4Address"] = {"DhcpEnable": False, "IPAddress": device.ip}
    reply = {"mac": device.mac, "method": "client.notifyDevInfo", "params": {"deviceInfo": info}}
    return frame(json.dumps(reply).encode() + b"\n")


def _parse(data: bytes) -> list[Signals]:
    return [{k: [v] for k, v in parse_reply(data).items()}]


SPEC = ProtocolSpec(
    name="dhip",
    port=PORT,
    group=GROUP,
    build=lambda _to: build_search(),
    parse=_parse,
    source="julienblitte/UniversalScanner UniversalScanner/Dahua2.cs; Rapid7 LOREX_DISCOVER.rb",
    answer=answer,
    families=("dhip.",),
    magic=(4, MAGIC),
)
