"""Bosch video discovery: the broadcast request on UDP 1757 and its binary and XML answers.

Wire format (facts from public sources; code our own):

- Bosch IP cameras and encoders (VideoJet, AUTODOME, FLEXIDOME; Bosch Configuration Manager
  and IP Helper find them this way) answer a broadcast to UDP 1757; answers go to UDP 1758
  of the asker (julienblitte/UniversalScanner ``protocols.html``: request 255.255.255.255:1757,
  reply port 1758; ``UniversalScanner/Bosch.cs``).
- Request, 12 bytes big-endian: magic ``99 39 a4 27``, a transaction id (4 bytes), the request
  code ``ff 00 06 de``.
- Binary answer, 32 bytes: the same magic, the transaction id, the MAC address (6 bytes), two
  bytes, IPv4 address, netmask, gateway (4 bytes each), four bytes.
- XML answer (newer firmware): text carrying ``<friendlyName>``, ``<unitIPAddress>``,
  ``<physAddress>`` (MAC) and ``<serialNumber>``; the same source reads it by tag, so it is read
  here by tag too (bounded, no entity expansion: no XML parser is involved).
"""

from __future__ import annotations

import re
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

PORT = 1757
REPLY_PORT = 1758
MAGIC = 0x9939A427
REQUEST = 0xFF0006DE
_BINARY = 32
_MAX_XML = 8192
_TAGS = {
    "friendlyName": "bosch.friendly_name",
    "unitIPAddress": "bosch.ipv4",
    "physAddress": "bosch.mac",
    "serialNumber": "bosch.serial",
    "hardwareVersion": "bosch.hardware",
    "softwareVersion": "bosch.firmware",
}
_TAG = re.compile(r"<(\w{1,32})(?:\s[^<>]{0,128})?>([^<]{1,256})</\1>")


def build_request(transaction: int = 0x0C22_0B00) -> bytes:
    """The 12-byte discovery request."""
    return struct.pack(">III", MAGIC, transaction & 0xFFFFFFFF, REQUEST)


def _binary(data: bytes) -> Signals:
    magic, _transaction = struct.unpack_from(">II", data)
    if magic != MAGIC:
        raise MalformedReply("bad_magic", "not a Bosch discovery answer")
    signals: Signals = {}
    mac = mac_bytes(data[8:14])
    ip = ipv4_bytes(data[16:20])
    if mac:
        signals["bosch.mac"] = [mac]
        signals["mac"] = [mac]
    if ip:
        signals["bosch.ipv4"] = [ip]
    if not signals:
        raise MalformedReply("empty", "Bosch answer with neither MAC nor address")
    return signals


def parse_reply(data: bytes) -> list[Signals]:
    """``bosch.*`` signals (plus ``mac``) of a binary or XML answer; MalformedReply else."""
    if len(data) == _BINARY:
        return [_binary(data)]
    if len(data) < _BINARY:
        raise MalformedReply("truncated", f"{len(data)} bytes: a request or a cut answer")
    if len(data) > _MAX_XML:
        raise MalformedReply("oversized", f"{len(data)}-byte Bosch answer")
    text = data.decode("utf-8", "replace")
    signals: Signals = {}
    for tag, value in _TAG.findall(text):
        key = _TAGS.get(tag)
        clean = clean_text(value, 128)
        if key and clean and key not in signals:
            signals[key] = [clean]
    if not signals:
        raise MalformedReply("not_a_reply", "no Bosch discovery field in the answer")
    if "bosch.mac" in signals:
        signals["mac"] = signals["bosch.mac"]
    return [signals]


def answer(data: bytes, device: Responder) -> bytes | None:
    """A lab device's XML answer (or the binary one when its block says ``form: binary``)."""
    if len(data) != 12 or struct.unpack(">III", data)[::2] != (MAGIC, REQUEST):
        return None
    if device.fields.get("form") == "binary":
        mac = bytes.fromhex(device.mac.replace(":", ""))
        ip = bytes(int(p) for p in device.ip.split("."))
        return data[:8] + mac + b"\0\0" + ip + b"\xff\xff\xff\0" + bytes(8)
    items = {"unitIPAddress": device.ip, "physAddress": device.mac, **device.fields}
    body = "".join(f"<{k}>{v}</{k}>" for k, v in items.items() if k in _TAGS)
    return f'<?xml version="1.0"?><ScanResponse>{body}</ScanResponse>'.encode()


SPEC = ProtocolSpec(
    name="bosch",
    port=PORT,
    group=BROADCAST,
    build=lambda _to: build_request(),
    parse=parse_reply,
    source="julienblitte/UniversalScanner protocols.html and UniversalScanner/Bosch.cs",
    reply_port=REPLY_PORT,
    answer=answer,
    families=("bosch.",),
    magic=(0, struct.pack(">I", MAGIC)),
)
