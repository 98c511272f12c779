"""Hanwha Vision (Samsung Techwin) discovery: the broadcast on UDP 7701 and its fixed answer.

Wire format (facts from public sources; code our own):

- Hanwha / Samsung (Wisenet) cameras and recorders answer a broadcast to UDP 7701; answers go
  to UDP 7711 (julienblitte/UniversalScanner ``protocols.html``: request
  255.255.255.255:7701, reply port 7711; ``UniversalScanner/Hanwha.cs``, whose comment quotes
  a request and an answer byte by byte).
- The first byte is the packet type: ``01`` request, ``0b`` answer. In an answer, NUL-padded
  ASCII fields sit at fixed offsets: MAC text (18 bytes) at 19, IPv4 address (16) at 37,
  netmask (16) at 53, gateway (16) at 69, the model (10, e.g. ``SND-6083``) at 109 and the web
  URL (39) at 133.
"""

from __future__ import annotations

import ipaddress
import re

from coverwatch.probes.protocol import (
    BROADCAST,
    MalformedReply,
    ProtocolSpec,
    Responder,
    Signals,
    cstring,
)

PORT = 7701
REPLY_PORT = 7711
REQUEST_TYPE = 0x01
ANSWER_TYPE = 0x0B
#: (offset, size, signal) of the answer's text fields.
_FIELDS = (
    (19, 18, "hanwha.mac"),
    (37, 16, "hanwha.ipv4"),
    (109, 10, "hanwha.model"),
    (133, 39, "hanwha.url"),
)
_SIZE = 172
_MAC = re.compile(r"^[0-9A-Fa-f]{2}(?::[0-9A-Fa-f]{2}){5}$")


def build_request() -> bytes:
    """A request: type ``01`` followed by zeros to the answer's size."""
    return bytes([REQUEST_TYPE]) + bytes(_SIZE - 1)


def parse_reply(data: bytes) -> list[Signals]:
    """``hanwha.*`` signals (plus ``mac``) of an answer; MalformedReply otherwise."""
    if not data or data[0] != ANSWER_TYPE:
        raise MalformedReply("not_a_reply", "not a Hanwha discovery answer (type byte)")
    if len(data) < _SIZE:
        raise MalformedReply("truncated", f"Hanwha answer of {len(data)} bytes")
    signals: Signals = {}
    for offset, size, key in _FIELDS:
        text = cstring(data, offset, size)
        if text and text.isprintable():
            signals[key] = [text]
    # NOTE: a field that is not what its offset says (no MAC, no address) is left out, the
    # rest of the answer kept: the public layout is reverse-engineered, firmware may differ
    mac = signals.get("hanwha.mac", [""])[0]
    if mac and not _MAC.match(mac):
        del signals["hanwha.mac"]
        mac = ""
    try:
        ipaddress.IPv4Address(signals.get("hanwha.ipv4", ["0.0.0.0"])[0])
    except ValueError:
        del signals["hanwha.ipv4"]
    if "hanwha.model" not in signals and not mac:
        raise MalformedReply("empty", "Hanwha answer names neither model nor MAC")
    if mac:
        signals["mac"] = [mac]
    return [signals]


def answer(data: bytes, device: Responder) -> bytes | None:
    """A lab device's answer, with the model from its profile block."""
    if not data or data[0] != REQUEST_TYPE:
        return None
    reply = bytearray(_SIZE + 88)
    reply[0] = ANSWER_TYPE
    reply[1:19] = data[1:19].ljust(18, b"\0")
    values = {
        19: device.mac.upper(),
        37: device.ip,
        53: "255.255.0.0",
        109: str(device.fields.get("model", "")),
        133: f"http://{device.ip}/index.htm",
    }
    sizes = {19: 18, 37: 16, 53: 16, 109: 10, 133: 39}
    for offset, text in values.items():
        # NOTE: a field may fill its bytes without a NUL (a 10-character model fills 10)
        raw = text.encode()[: sizes[offset]]
        reply[offset : offset + len(raw)] = raw
    return bytes(reply)


SPEC = ProtocolSpec(
    name="hanwha",
    port=PORT,
    group=BROADCAST,
    build=lambda _to: build_request(),
    parse=parse_reply,
    source="julienblitte/UniversalScanner protocols.html and UniversalScanner/Hanwha.cs",
    reply_port=REPLY_PORT,
    answer=answer,
    families=("hanwha.",),
)
