"""Ubiquiti device discovery: the request on UDP 10001 and its type-length-value answer.

Wire format (facts from public sources; code our own):

- Ubiquiti devices (UniFi Protect cameras, UniFi / airMAX / EdgeMAX gear) answer on UDP 10001,
  asked by multicast to 233.89.188.1 or by broadcast (julienblitte/UniversalScanner
  ``protocols.html`` and ``UniversalScanner/Ubiquiti.cs``; Rapid7's public research on
  internet-exposed Ubiquiti discovery services, 2019, describes the same exchange).
- Request: ``01 00 00 00`` (version 1, command 0, no payload).
- Answer: a version byte, a command byte, a 2-byte big-endian payload length (the datagram's
  size minus 4), then items of a type byte, a 2-byte big-endian length and the value:
  ``01`` MAC (6 bytes), ``02`` MAC and IPv4 (10 bytes), ``03`` firmware string, ``0b``
  host name, ``0c`` short model / platform, ``14`` or ``15`` model, ``16`` firmware version.
"""

from __future__ import annotations

import struct

from coverwatch.probes.http import clean_text
from coverwatch.probes.protocol import (
    MalformedReply,
    ProtocolSpec,
    Responder,
    Signals,
    ipv4_bytes,
    mac_bytes,
)

PORT = 10001
GROUP = "233.89.188.1"
REQUEST = b"\x01\x00\x00\x00"
_MAX_ITEMS = 64
_TEXT = {
    0x03: "ubiquiti.firmware",
    0x0B: "ubiquiti.hostname",
    0x0C: "ubiquiti.platform",
    0x14: "ubiquiti.model",
    0x15: "ubiquiti.model",
    0x16: "ubiquiti.version",
}


def parse_reply(data: bytes) -> list[Signals]:
    """``ubiquiti.*`` signals (plus ``mac``) of an answer; MalformedReply otherwise."""
    if len(data) < 4 or data[0] not in (1, 2):
        raise MalformedReply("bad_magic", "not a Ubiquiti discovery datagram")
    size = struct.unpack_from(">H", data, 2)[0]
    if size == 0:
        raise MalformedReply("not_a_reply", "a Ubiquiti request")
    if size != len(data) - 4:
        raise MalformedReply("contradictory", f"length {size} for a {len(data)}-byte datagram")
    signals: Signals = {}
    at = 4
    for _ in range(_MAX_ITEMS):
        if at + 3 > len(data):
            break
        kind, length = data[at], struct.unpack_from(">H", data, at + 1)[0]
        value = data[at + 3 : at + 3 + length]
        if len(value) != length:
            raise MalformedReply("truncated", f"Ubiquiti item {kind:#04x} runs past the datagram")
        at += 3 + length
        if kind in _TEXT:
            text = clean_text(value.decode("utf-8", "replace"), 128)
            if text:
                signals.setdefault(_TEXT[kind], [text])
        elif kind in (0x01, 0x02, 0x13) and mac_bytes(value[:6]):
            signals.setdefault("ubiquiti.mac", [mac_bytes(value[:6])])
            if kind == 0x02 and ipv4_bytes(value[6:10]):
                signals.setdefault("ubiquiti.ipv4", []).append(ipv4_bytes(value[6:10]))
    if not signals:
        raise MalformedReply("empty", "Ubiquiti answer without a known item")
    if "ubiquiti.mac" in signals:
        signals["mac"] = signals["ubiquiti.mac"]
    return [signals]


def answer(data: bytes, device: Responder) -> bytes | None:
    """A lab device's answer: MAC+IPv4, MAC, firmware, host name, platform and model items."""
    if data != REQUEST:
        return None
    mac = bytes.fromhex(device.mac.replace(":", ""))
    ip = bytes(int(p) for p in device.ip.split("."))
    items = [(0x02, mac + ip), (0x01, mac)]
    for kind, key in ((0x03, "firmware"), (0x0B, "hostname"), (0x0C, "platform"), (0x15, "model")):
        if device.fields.get(key):
            items.append((kind, str(device.fields[key]).encode()[:128]))
    body = b"".join(struct.pack(">BH", k, len(v)) + v for k, v in items)
    return struct.pack(">BBH", 1, 0, len(body)) + body


SPEC = ProtocolSpec(
    name="ubiquiti",
    port=PORT,
    group=GROUP,
    build=lambda _to: REQUEST,
    parse=parse_reply,
    source="julienblitte/UniversalScanner protocols.html and UniversalScanner/Ubiquiti.cs",
    answer=answer,
    families=("ubiquiti.",),
)
