"""GigE Vision device discovery (GVCP): DISCOVERY_CMD on UDP 3956 and DISCOVERY_ACK.

Wire format (facts from public sources; code our own):

- GigE Vision (AIA standard for industrial cameras; GVCP, the control protocol, on UDP 3956):
  a DISCOVERY_CMD is an 8-byte header, big-endian: key byte ``42``, flags (``11``: acknowledge
  required, broadcast acknowledge allowed), command ``0002``, payload length 0, request id.
  Devices answer the asker with DISCOVERY_ACK: status (2 bytes), answer ``0003``, payload
  length ``00f8`` (248), the request id, then the device's bootstrap registers: version
  (major, minor), device mode, the MAC address at offset 18 (6 bytes), IP configuration,
  the current IPv4 address at 44, netmask at 60, gateway at 76, and NUL-padded strings:
  manufacturer (32 bytes) at 80, model (32) at 112, device version (32) at 144,
  manufacturer-specific information (48) at 176, serial number (16) at 224 and the
  user-defined name (16) at 240 (julienblitte/UniversalScanner
  ``UniversalScanner/GigEVision.cs``; the GVCP discovery description of the Wireshark wiki
  page "GigE Vision Control Protocol" and the Aravis project's documentation).
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

PORT = 3956
_KEY = 0x42
_DISCOVERY_CMD = 0x0002
_DISCOVERY_ACK = 0x0003
_PAYLOAD = 0xF8
_SIZE = 8 + _PAYLOAD
#: (offset, size, signal) of the acknowledge's strings.
_STRINGS = (
    (80, 32, "gige.manufacturer"),
    (112, 32, "gige.model"),
    (144, 32, "gige.version"),
    (176, 48, "gige.info"),
    (224, 16, "gige.serial"),
    (240, 16, "gige.user_name"),
)


def build_request(request_id: int = 1) -> bytes:
    """DISCOVERY_CMD with acknowledge required and broadcast acknowledge allowed."""
    return struct.pack(">BBHHH", _KEY, 0x11, _DISCOVERY_CMD, 0, request_id & 0xFFFF)


def parse_reply(data: bytes) -> list[Signals]:
    """``gige.*`` signals (plus ``mac``) of a DISCOVERY_ACK; MalformedReply otherwise."""
    if len(data) < 8:
        raise MalformedReply("truncated", f"{len(data)}-byte GVCP datagram")
    status, kind, length, _request = struct.unpack_from(">HHHH", data)
    if data[0] == _KEY or kind != _DISCOVERY_ACK:
        raise MalformedReply("not_a_reply", "not a GVCP DISCOVERY_ACK")
    if status != 0:
        raise MalformedReply("not_a_reply", f"GVCP status {status:#06x}")
    if length != _PAYLOAD or len(data) < _SIZE:
        raise MalformedReply("truncated", f"DISCOVERY_ACK payload {length}, {len(data)} bytes")
    signals: Signals = {}
    for offset, size, key in _STRINGS:
        text = cstring(data, offset, size)
        if text and text.isprintable():
            signals[key] = [text]
    if ipv4_bytes(data[44:48]):
        signals["gige.ipv4"] = [ipv4_bytes(data[44:48])]
    mac = mac_bytes(data[18:24])
    if mac:
        signals["gige.mac"] = [mac]
        signals["mac"] = [mac]
    if "gige.manufacturer" not in signals and "gige.model" not in signals:
        raise MalformedReply("empty", "DISCOVERY_ACK names neither manufacturer nor model")
    return [signals]


def answer(data: bytes, device: Responder) -> bytes | None:
    """A lab device's DISCOVERY_ACK with the strings of its profile block."""
    if len(data) != 8 or data[0] != _KEY or struct.unpack_from(">H", data, 2)[0] != 2:
        return None
    reply = bytearray(_SIZE)
    reply[0:8] = struct.pack(">HHH", 0, _DISCOVERY_ACK, _PAYLOAD) + data[6:8]
    reply[8:12] = struct.pack(">HH", 2, 0)
    reply[18:24] = bytes.fromhex(device.mac.replace(":", ""))
    reply[44:48] = bytes(int(p) for p in device.ip.split("."))
    names = {80: "manufacturer", 112: "model", 144: "version", 224: "serial", 240: "user_name"}
    for offset, key in names.items():
        text = str(device.fields.get(key, "")).encode()[: 15 if offset >= 224 else 31]
        reply[offset : offset + len(text)] = text
    return bytes(reply)


SPEC = ProtocolSpec(
    name="gigevision",
    port=PORT,
    group=BROADCAST,
    build=lambda _to: build_request(),
    parse=parse_reply,
    source="GigE Vision GVCP discovery (AIA); julienblitte/UniversalScanner GigEVision.cs",
    answer=answer,
    families=("gige.",),
    magic=(2, struct.pack(">HH", _DISCOVERY_ACK, _PAYLOAD)),
)
