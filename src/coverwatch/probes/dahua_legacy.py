"""Dahua's older binary discovery on UDP 5050: the 32-byte request and the fixed answer.

Wire format (facts from public sources; code our own):

- Dahua firmware (and its rebrands) that predates DHIP answers a broadcast to UDP 5050 at the
  asker's address and port (julienblitte/UniversalScanner ``protocols.html``: "Dahua (version
  1)", fixed binary structure; ``UniversalScanner/Dahua1.cs``).
- Request, 32 bytes: ``a3 01 00 01``, zeros, ``02`` at offset 16, zeros.
- Answer: first byte ``b3``; byte 2 is the length of a trailing text section; the device type
  (16 bytes, NUL-padded) at offset 40 and the IPv4 address, netmask, gateway and DNS server
  (4 bytes each, network order) from offset 56; after the fixed part the text section holds
  the MAC address as ``aa:bb:cc:dd:ee:ff`` text, then optionally a longer device type.
"""

from __future__ import annotations

import re

from coverwatch.probes.http import clean_text
from coverwatch.probes.protocol import (
    BROADCAST,
    MalformedReply,
    ProtocolSpec,
    Responder,
    Signals,
    cstring,
    ipv4_bytes,
)

PORT = 5050
REQUEST = b"\xa3\x01\x00\x01" + bytes(12) + b"\x02" + bytes(15)
_ANSWER = 0xB3
_FIXED = 120
_MAC = re.compile(rb"[0-9A-Fa-f]{2}(?::[0-9A-Fa-f]{2}){5}")


def parse_reply(data: bytes) -> list[Signals]:
    """``dahua_legacy.*`` signals (plus ``mac``) of an answer; MalformedReply otherwise."""
    if not data or data[0] == REQUEST[0]:
        raise MalformedReply("not_a_reply", "a Dahua 5050 search")
    if len(data) < 72:
        raise MalformedReply("truncated", f"Dahua 5050 answer of {len(data)} bytes")
    # NOTE: the source names b3 as the answer's first byte but does not check it; another
    # first byte is accepted when the answer carries its MAC text where the layout puts it
    if data[0] != _ANSWER and not _MAC.search(data[112 : _FIXED + 8 + data[2]]):
        raise MalformedReply("not_a_reply", "not a Dahua 5050 answer (first byte)")
    signals: Signals = {}
    model = cstring(data, 40, 16)
    if model and model.isprintable():
        signals["dahua_legacy.device_type"] = [model]
    if ipv4_bytes(data[56:60]):
        signals["dahua_legacy.ipv4"] = [ipv4_bytes(data[56:60])]
    # NOTE: the fixed part is 117 or 120 bytes by the source's two readings; the text section
    # is found by its MAC text instead of by offset, and bounded by its length byte.
    tail = data[112 : _FIXED + 8 + data[2]]
    found = _MAC.search(tail)
    if found:
        mac = found.group().decode().lower()
        signals["dahua_legacy.mac"] = [mac]
        signals["mac"] = [mac]
        rest = tail[found.end() :].split(b"\0", 1)[0].decode("utf-8", "replace")
        longer = clean_text(rest, 64)
        if longer and longer.isprintable():
            signals["dahua_legacy.device_type"] = [longer]
    if not signals:
        raise MalformedReply("empty", "Dahua 5050 answer names nothing")
    return [signals]


def answer(data: bytes, device: Responder) -> bytes | None:
    """A lab device's answer: device type and address, then the MAC text section."""
    if data != REQUEST:
        return None
    section = device.mac.encode()
    reply = bytearray(_FIXED)
    reply[0:4] = bytes([_ANSWER, 0, len(section), 0])
    reply[4] = 0x58
    reply[16] = 2
    model = str(device.fields.get("device_type", "")).encode()[:15]
    reply[40 : 40 + len(model)] = model
    reply[56:60] = bytes(int(p) for p in device.ip.split("."))
    reply[60:64] = b"\xff\xff\0\0"
    return bytes(reply) + section


SPEC = ProtocolSpec(
    name="dahua_legacy",
    port=PORT,
    group=BROADCAST,
    build=lambda _to: REQUEST,
    parse=parse_reply,
    source="julienblitte/UniversalScanner protocols.html and UniversalScanner/Dahua1.cs",
    answer=answer,
    families=("dahua_legacy.",),
)
