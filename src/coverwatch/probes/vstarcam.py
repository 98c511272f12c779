"""Vstarcam (Eye4) camera discovery: the 4-byte request on UDP 8600 and its fixed answer.

Wire format (facts from public sources; code our own):

- Vstarcam cameras answer a broadcast to UDP 8600 at the asker's address and port
  (julienblitte/UniversalScanner ``protocols.html``; ``UniversalScanner/Vstarcam.cs``).
- Request: the 4-byte code ``44 48 01 01``. Answer (256 bytes at least): the code
  ``44 48 01 08``, NUL-padded ASCII fields of 16 bytes from offset 4 (IPv4 address, netmask,
  gateway, two DNS servers), the MAC (6 bytes) at 84, the device id (the serial, 32 bytes) at
  92, the device name (32) at 124 and the firmware version (32) at 204.
"""

from __future__ import annotations

import contextlib
import ipaddress

from coverwatch.probes.protocol import (
    BROADCAST,
    MalformedReply,
    ProtocolSpec,
    Responder,
    Signals,
    cstring,
    mac_bytes,
)

PORT = 8600
REQUEST = b"DH\x01\x01"
ANSWER = b"DH\x01\x08"
_SIZE = 256
_STRINGS = ((92, 32, "vstarcam.serial"), (124, 32, "vstarcam.name"), (204, 32, "vstarcam.firmware"))


def parse_reply(data: bytes) -> list[Signals]:
    """``vstarcam.*`` signals (plus ``mac``) of an answer; MalformedReply otherwise."""
    if data[:4] == REQUEST:
        raise MalformedReply("not_a_reply", "a Vstarcam request")
    if data[:4] != ANSWER:
        raise MalformedReply("bad_magic", "not a Vstarcam answer")
    if len(data) < _SIZE:
        raise MalformedReply("truncated", f"Vstarcam answer of {len(data)} bytes")
    signals: Signals = {}
    for offset, size, key in _STRINGS:
        text = cstring(data, offset, size)
        if text and text.isprintable():
            signals[key] = [text]
    address = cstring(data, 4, 16)
    if address:
        # NOTE: an address field that is no address is left out; the rest is kept
        with contextlib.suppress(ValueError):
            signals["vstarcam.ipv4"] = [str(ipaddress.IPv4Address(address))]
    mac = mac_bytes(data[84:90])
    if mac:
        signals["vstarcam.mac"] = [mac]
        signals["mac"] = [mac]
    if "vstarcam.serial" not in signals and "vstarcam.name" not in signals:
        raise MalformedReply("empty", "Vstarcam answer names neither id nor name")
    return [signals]


def answer(data: bytes, device: Responder) -> bytes | None:
    """A lab device's answer with the id, name and firmware of its profile block."""
    if data != REQUEST:
        return None
    reply = bytearray(_SIZE)
    reply[0:4] = ANSWER
    fields = {4: device.ip, 20: "255.255.0.0"}
    fields |= {92: device.fields.get("serial", ""), 124: device.fields.get("name", "")}
    fields[204] = device.fields.get("firmware", "")
    for offset, value in fields.items():
        raw = str(value).encode()[: 15 if offset < 84 else 31]
        reply[offset : offset + len(raw)] = raw
    reply[84:90] = bytes.fromhex(device.mac.replace(":", ""))
    return bytes(reply)


SPEC = ProtocolSpec(
    name="vstarcam",
    port=PORT,
    group=BROADCAST,
    build=lambda _to: REQUEST,
    parse=parse_reply,
    source="julienblitte/UniversalScanner protocols.html and UniversalScanner/Vstarcam.cs",
    answer=answer,
    families=("vstarcam.",),
    magic=(0, ANSWER),
)
