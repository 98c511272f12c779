"""Xiongmai (XMEye / NetSurveillance) discovery: the NetCommon search on UDP 34569.

Wire format (facts from public sources; code our own):

- Xiongmai firmware (sold under many brands through the XMEye app) answers a broadcast to
  UDP 34569 by broadcast to UDP 34569; a searcher binds that port to hear the answers
  (sol-vin/xet ``src/app/broadcaster.cr``, an open-source client of the protocol, and its
  ``XET::DEFAULT_DISCOVERY_PORT``).
- Every message has a 20-byte little-endian header: ``ff`` (head flag), a version byte, two
  reserved bytes, the session id (4 bytes), a sequence number (4), the total and current
  packet numbers (1 byte each), the message id (2 bytes) and the body length (4), then the
  body, JSON text ending in a NUL (xet ``src/xet/message.cr``).
- The search is message id ``0x05fa`` with no body; the answer is ``0x05fb`` whose body is
  ``{"NetWork.NetCommon": {...}, "Ret": 100, "SessionID": ...}`` with ``DeviceType``,
  ``HostName``, ``MAC``, ``SN`` (serial), ``BuildDate``, ``TCPPort``, ``HttpPort`` and
  ``HostIP`` / ``Submask`` / ``GateWay`` as hex of the little-endian address (``0x5801A8C0``
  is 192.168.1.88) (xet ``src/xet/commands/network.cr`` and ``spec/network_common_reply.cr``).
"""

from __future__ import annotations

import json
import struct
from typing import Any

from coverwatch.probes.http import clean_text
from coverwatch.probes.protocol import (
    BROADCAST,
    MalformedReply,
    ProtocolSpec,
    Responder,
    Signals,
)

PORT = 34569
SEARCH = 0x05FA
ANSWER = 0x05FB
_HEADER = "<BBBBIIBBHI"
_HEADER_SIZE = 20
_MAX_BODY = 16 * 1024
_FIELDS = {
    "SN": "xiongmai.serial",
    "MAC": "xiongmai.mac",
    "HostName": "xiongmai.hostname",
    "DeviceType": "xiongmai.device_type",
    "BuildDate": "xiongmai.build_date",
    "TCPPort": "xiongmai.tcp_port",
    "HttpPort": "xiongmai.http_port",
}


def frame(message_id: int, body: bytes = b"", session: int = 0) -> bytes:
    """A message: the 20-byte header and ``body``."""
    return struct.pack(_HEADER, 0xFF, 0, 0, 0, session, 0, 0, 0, message_id, len(body)) + body


def _address(value: Any) -> str:
    # NOTE: addresses are hex of the little-endian word: "0x5801A8C0" is 192.168.1.88
    if not isinstance(value, str) or not value.lower().startswith("0x") or len(value) != 10:
        return ""
    try:
        raw = int(value, 16).to_bytes(4, "little")
    except ValueError:
        return ""
    return ".".join(str(b) for b in raw) if raw != b"\0\0\0\0" else ""


def parse_reply(data: bytes) -> list[Signals]:
    """``xiongmai.*`` signals (plus ``mac``) of a NetCommon answer; MalformedReply otherwise."""
    if len(data) < _HEADER_SIZE or data[0] != 0xFF:
        raise MalformedReply("bad_magic", "not a NetSurveillance message")
    *_, message_id, length = struct.unpack_from(_HEADER, data)
    if message_id != ANSWER:
        raise MalformedReply("not_a_reply", f"NetSurveillance message {message_id:#06x}")
    body = data[_HEADER_SIZE:]
    if length > _MAX_BODY or length > len(body):
        raise MalformedReply("truncated", f"body length {length} for {len(body)} bytes")
    text = body[:length].rstrip(b"\0\r\n\t ").decode("utf-8", "replace")
    try:
        message, _end = json.JSONDecoder().raw_decode(text.lstrip())
    except (json.JSONDecodeError, RecursionError) as e:
        raise MalformedReply("encoding", f"body is not JSON: {e.__class__.__name__}") from e
    common = message.get("NetWork.NetCommon") if isinstance(message, dict) else None
    if not isinstance(common, dict):
        raise MalformedReply("empty", "answer without NetWork.NetCommon")
    signals: Signals = {}
    for name, key in _FIELDS.items():
        value = common.get(name)
        if isinstance(value, bool) or not isinstance(value, str | int):
            continue
        text = clean_text(str(value), 128)
        if text:
            signals[key] = [text]
    address = _address(common.get("HostIP"))
    if address:
        signals["xiongmai.ipv4"] = [address]
    if not signals:
        raise MalformedReply("empty", "NetCommon names nothing")
    if "xiongmai.mac" in signals:
        signals["mac"] = signals["xiongmai.mac"]
    return [signals]


def answer(data: bytes, device: Responder) -> bytes | None:
    """A lab device's NetCommon answer with the fields of its profile block."""
    if len(data) < _HEADER_SIZE or data[0] != 0xFF:
        return None
    if struct.unpack_from(_HEADER, data)[-2] != SEARCH:
        return None
    host_ip = "0x" + bytes(int(p) for p in device.ip.split("."))[::-1].hex().upper()
    common = {**device.fields, "HostIP": host_ip, "MAC": device.mac}
    body = json.dumps({"NetWork.NetCommon": common, "Ret": 100, "SessionID": "0x00000000"})
    return frame(ANSWER, body.encode() + b"\n\0")


SPEC = ProtocolSpec(
    name="xiongmai",
    port=PORT,
    group=BROADCAST,
    build=lambda _to: frame(SEARCH),
    parse=parse_reply,
    source="sol-vin/xet (src/xet/message.cr, src/xet/commands/network.cr, src/app/broadcaster.cr)",
    reply_port=PORT,
    answer=answer,
    families=("xiongmai.",),
)
