"""Panasonic / i-PRO camera discovery: the broadcast on UDP 10670 and its answer on 10669.

Wire format (facts from public sources; code our own):

- Panasonic (now i-PRO) network cameras answer a broadcast to UDP 10670 by broadcast to UDP
  10669 (julienblitte/UniversalScanner ``UniversalScanner/Panasonic.cs``: request port 10670,
  answer port 10669; ``protocols.html`` lists the pair).
- The request is 52 bytes: ``00 01 00 00``, ``00 0d 00 00``, four zero bytes, the asker's MAC
  (6 bytes, ``ff`` here), its IPv4 address, then fixed words.
- The answer carries the camera's MAC at offset 6 and, from offset 53, items of a 2-byte key,
  a 2-byte length (big-endian) and the value: ``0020`` IPv4 address, ``0021`` netmask,
  ``0022`` gateway, ``0040`` IPv6 address, ``00a7`` full model name, ``00a8`` short name.
"""

from __future__ import annotations

import struct

from coverwatch.probes.http import clean_text
from coverwatch.probes.protocol import (
    BROADCAST,
    MalformedReply,
    ProtocolSpec,
    Responder,
    Signals,
    ipv4_bytes,
    mac_bytes,
)

PORT = 10670
REPLY_PORT = 10669
_REQUEST_SIZE = 52
_ITEMS_AT = 53
_MAX_ITEMS = 128
_TEXT = {0xA7: "panasonic.model", 0xA8: "panasonic.short_name"}


def build_request(ip: str = "0.0.0.0") -> bytes:
    """The 52-byte request (asker MAC ``ff``x6, ``ip`` as the asker's address)."""
    parts = [int(p) for p in ip.split(".")] if ip.count(".") == 3 else [0, 0, 0, 0]
    address = bytes(p & 0xFF for p in parts)
    head = struct.pack(">III", 0x00010000, 0x000D0000, 0) + b"\xff" * 6 + address
    tail = struct.pack(">IIIIIII", 0x00012011, 0x1E11231F, 0x1E191300, 0x00020000, 0, 0, 0xFFFF)
    return head + tail + b"\0\0"


def _items(data: bytes) -> list[tuple[int, bytes]]:
    # NOTE: the last 4 bytes are a trailer, not an item (Panasonic.cs reads items up to there)
    items: list[tuple[int, bytes]] = []
    at = _ITEMS_AT
    while at + 4 < len(data) - 4 and len(items) < _MAX_ITEMS:
        key, size = struct.unpack_from(">HH", data, at)
        at += 4
        if at + size > len(data):
            if items:
                break  # NOTE: keep the items read before a cut one
            raise MalformedReply("truncated", f"Panasonic item {key:#06x} runs past the datagram")
        items.append((key, data[at : at + size]))
        at += size
    return items


def parse_reply(data: bytes) -> list[Signals]:
    """``panasonic.*`` signals (plus ``mac``) of an answer; MalformedReply otherwise."""
    if len(data) <= _REQUEST_SIZE:
        raise MalformedReply("not_a_reply", f"{len(data)} bytes: a request or a cut answer")
    signals: Signals = {}
    for key, value in _items(data):
        if key in _TEXT:
            text = clean_text(value.split(b"\0", 1)[0].decode("utf-8", "replace"), 128)
            if text:
                signals.setdefault(_TEXT[key], [text])
        elif key == 0x20 and ipv4_bytes(value):
            signals.setdefault("panasonic.ipv4", [ipv4_bytes(value)])
    if not signals:
        raise MalformedReply("empty", "Panasonic answer without a known item")
    mac = mac_bytes(data[6:12])
    if mac:
        signals["panasonic.mac"] = [mac]
        signals["mac"] = [mac]
    return [signals]


def answer(data: bytes, device: Responder) -> bytes | None:
    """A lab device's answer: MAC at 6, then address and model items."""
    if len(data) != _REQUEST_SIZE or data[:4] != b"\0\x01\0\0":
        return None
    head = bytearray(_ITEMS_AT)
    head[0:4] = b"\0\x02\0\0"
    head[6:12] = bytes.fromhex(device.mac.replace(":", ""))
    items = [
        (0x20, bytes(int(p) for p in device.ip.split("."))),
        (0xA7, str(device.fields.get("model", "")).encode()[:64]),
        (0xA8, str(device.fields.get("short_name", "")).encode()[:32]),
    ]
    body = b"".join(struct.pack(">HH", k, len(v)) + v for k, v in items)
    return bytes(head) + body + b"\0\0\0\0"


SPEC = ProtocolSpec(
    name="panasonic",
    port=PORT,
    group=BROADCAST,
    build=build_request,
    parse=parse_reply,
    source="julienblitte/UniversalScanner UniversalScanner/Panasonic.cs and protocols.html",
    reply_port=REPLY_PORT,
    answer=answer,
    families=("panasonic.",),
)
