"""NiceVision (NICE Systems video) discovery: the ``NICE`` request on UDP 2007 and its answer.

Wire format (facts from public sources; code our own):

- NiceVision encoders and cameras answer a broadcast to UDP 2007, by broadcast to the port the
  request names (julienblitte/UniversalScanner ``protocols.html``;
  ``UniversalScanner/NiceVision.cs``).
- Request, big-endian: the magic ``NICE`` (4e 49 43 45), a 2-byte transaction id, the word
  ``01 08 00 00`` and the 2-byte port to answer to. coverwatch names 2007 itself, so answers
  arrive where passive capture also looks for them.
- Answer (90 bytes at least): ``NICE``, the transaction id, four bytes, the MAC (6 bytes) at
  offset 10, IPv4 address at 16, netmask at 20, gateway at 24, a four-part version (2-byte
  numbers) at 30 and the device name (16 bytes, NUL-padded) at 74.
"""

from __future__ import annotations

import struct

from coverwatch.probes.protocol import (
    BROADCAST,
    MalformedReply,
    ProtocolSpec,
    Responder,
    Signals,
    cstring,
    ipv4_bytes,
    mac_bytes,
)

PORT = 2007
MAGIC = b"NICE"
_ANSWER = 90
_REQUEST = 12


def build_request(transaction: int = 1, answer_port: int = PORT) -> bytes:
    """The request asking for answers on ``answer_port``."""
    return MAGIC + struct.pack(">HIH", transaction & 0xFFFF, 0x01080000, answer_port)


def parse_reply(data: bytes) -> list[Signals]:
    """``nicevision.*`` signals (plus ``mac``) of an answer; MalformedReply otherwise."""
    if not data.startswith(MAGIC):
        raise MalformedReply("bad_magic", "not a NiceVision datagram")
    if len(data) <= _REQUEST:
        raise MalformedReply("not_a_reply", "a NiceVision request")
    if len(data) < _ANSWER:
        raise MalformedReply("truncated", f"NiceVision answer of {len(data)} bytes")
    signals: Signals = {}
    name = cstring(data, 74, 16)
    if name and name.isprintable():
        signals["nicevision.name"] = [name]
    version = ".".join(str(n) for n in struct.unpack_from(">HHHH", data, 30))
    if version != "0.0.0.0":
        signals["nicevision.version"] = [version]
    if ipv4_bytes(data[16:20]):
        signals["nicevision.ipv4"] = [ipv4_bytes(data[16:20])]
    mac = mac_bytes(data[10:16])
    if mac:
        signals["nicevision.mac"] = [mac]
        signals["mac"] = [mac]
    if not signals:
        raise MalformedReply("empty", "NiceVision answer names nothing")
    return [signals]


def answer(data: bytes, device: Responder) -> bytes | None:
    """A lab device's 90-byte answer with the name and version of its profile block."""
    if len(data) != _REQUEST or not data.startswith(MAGIC):
        return None
    reply = bytearray(_ANSWER)
    reply[0:6] = data[0:6]
    reply[10:16] = bytes.fromhex(device.mac.replace(":", ""))
    reply[16:20] = bytes(int(p) for p in device.ip.split("."))
    reply[20:24] = b"\xff\xff\0\0"
    parts = [int(p) for p in str(device.fields.get("version", "0.0.0.0")).split(".")[:4]]
    reply[30:38] = struct.pack(">HHHH", *[*parts, 0, 0, 0, 0][:4])
    name = str(device.fields.get("name", "")).encode()[:15]
    reply[74 : 74 + len(name)] = name
    return bytes(reply)


SPEC = ProtocolSpec(
    name="nicevision",
    port=PORT,
    group=BROADCAST,
    build=lambda _to: build_request(),
    parse=parse_reply,
    source="julienblitte/UniversalScanner protocols.html and UniversalScanner/NiceVision.cs",
    reply_port=PORT,
    answer=answer,
    families=("nicevision.",),
    magic=(0, MAGIC),
)
