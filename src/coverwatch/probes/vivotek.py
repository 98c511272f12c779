"""Vivotek discovery: the broadcast on UDP 10000 and its type-value answer.

Wire format (facts from public sources; code our own):

- Vivotek cameras (Vivotek's Shepherd / IW2 tools find them this way) answer a broadcast to
  UDP 10000 at the asker's address and port (julienblitte/UniversalScanner ``protocols.html``;
  ``UniversalScanner/Vivotek.cs``).
- Request and answer start with a one-byte session counter and the magic ``4a 5d 8f 1c``.
  The answer continues with type, length, value items: ``01`` long name, ``02`` MAC address
  (6 bytes), ``03`` IPv4 address (4 bytes), ``09`` short name (the model); type ``04`` carries
  its one-byte value in the length byte. The request is the bare 5-byte header.
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

PORT = 10000
MAGIC = 0x4A5D8F1C
_MAX_ITEMS = 64
_TEXT = {1: "vivotek.name", 9: "vivotek.model"}


def build_request(session: int = 1) -> bytes:
    """The 5-byte request: session counter and magic."""
    return struct.pack(">BI", session & 0xFF, MAGIC)


def _items(data: bytes) -> list[tuple[int, bytes]]:
    items: list[tuple[int, bytes]] = []
    at = 5
    while at < len(data) and len(items) < _MAX_ITEMS:
        if at + 2 > len(data):
            if items:
                break
            raise MalformedReply("truncated", "Vivotek item header cut short")
        kind, size = data[at], data[at + 1]
        at += 2
        if kind == 0:
            break  # NOTE: padding after the last item
        if kind == 4:
            continue  # NOTE: a one-byte value carried in the length byte
        if at + size > len(data):
            if items:
                break  # NOTE: keep the items read before a cut one
            raise MalformedReply("truncated", f"Vivotek item {kind} runs past the datagram")
        items.append((kind, data[at : at + size]))
        at += size
    return items


def parse_reply(data: bytes) -> list[Signals]:
    """``vivotek.*`` signals (plus ``mac``) of an answer; MalformedReply otherwise."""
    if len(data) < 5 or struct.unpack_from(">I", data, 1)[0] != MAGIC:
        raise MalformedReply("bad_magic", "not a Vivotek discovery datagram")
    if len(data) == 5:
        raise MalformedReply("not_a_reply", "a Vivotek request")
    signals: Signals = {}
    for kind, value in _items(data):
        if kind in _TEXT:
            text = clean_text(value.split(b"\0", 1)[0].decode("utf-8", "replace"), 128)
            if text:
                signals.setdefault(_TEXT[kind], [text])
        elif kind == 2 and mac_bytes(value):
            signals.setdefault("vivotek.mac", [mac_bytes(value)])
        elif kind == 3 and ipv4_bytes(value):
            signals.setdefault("vivotek.ipv4", [ipv4_bytes(value)])
    if not signals:
        raise MalformedReply("empty", "Vivotek answer without a known item")
    if "vivotek.mac" in signals:
        signals["mac"] = signals["vivotek.mac"]
    return [signals]


def answer(data: bytes, device: Responder) -> bytes | None:
    """A lab device's answer: long name, MAC, address and model items."""
    if len(data) != 5 or struct.unpack_from(">I", data, 1)[0] != MAGIC:
        return None
    items = [
        (1, str(device.fields.get("name", "")).encode()[:64]),
        (2, bytes.fromhex(device.mac.replace(":", ""))),
        (3, bytes(int(p) for p in device.ip.split("."))),
        (9, str(device.fields.get("model", "")).encode()[:64]),
    ]
    body = b"".join(bytes([kind, len(value)]) + value for kind, value in items)
    return data[:5] + body


SPEC = ProtocolSpec(
    name="vivotek",
    port=PORT,
    group=BROADCAST,
    build=lambda _to: build_request(),
    parse=parse_reply,
    source="julienblitte/UniversalScanner protocols.html and UniversalScanner/Vivotek.cs",
    answer=answer,
    families=("vivotek.",),
    magic=(1, struct.pack(">I", MAGIC)),
)
