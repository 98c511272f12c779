"""What a discovery protocol is: one ``ProtocolSpec`` per protocol module, registered once.

Each discovery protocol module in ``coverwatch.probes`` ends with a ``SPEC`` saying how it is
spoken (UDP port, multicast group or broadcast, where answers arrive), how a request is built,
how a reply parses (bytes in, facts out, bounded) and how a lab device answers. Active
discovery, passive capture, the lab and the lab capture all read ``coverwatch.discovery.PROTOCOLS``
instead of keeping tables of their own.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

#: Signals of one reply: dotted key -> values (several for a multi-valued key).
Signals = dict[str, list[str]]
BROADCAST = "255.255.255.255"


class MalformedReply(ValueError):
    """A datagram that is not a well-formed reply of the protocol; ``reason`` says why
    (``truncated``, ``bad_magic``, ``encoding``, ``contradictory``, ``not_a_reply``, ``empty``)."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class Responder:
    """What a lab device knows when it answers: its address, MAC and profile block."""

    ip: str
    """The device's IPv4 address."""
    mac: str
    """The device's MAC address, ``aa:bb:cc:dd:ee:ff``."""
    fields: Mapping[str, Any]
    """The profile's block for this protocol, ``${...}`` already substituted."""


@dataclass(frozen=True)
class ProtocolSpec:
    """One discovery protocol, as every part of coverwatch speaks it."""

    name: str
    """Registry key, observation ``protocol`` and the lab profile's ``discovery:`` key."""
    port: int
    """UDP port devices listen on for requests."""
    group: str
    """Where a link-wide request goes: a multicast group or ``255.255.255.255``."""
    build: Callable[[str], bytes]
    """The request for a destination (an address, or ``group``)."""
    parse: Callable[[bytes], list[Signals]]
    """Signals of one reply (several for a multi-match reply); ``ValueError`` (preferably
    ``MalformedReply`` with a reason) for anything else, the request itself included."""
    source: str
    """Public description(s) of the wire format."""
    reply_port: int | None = None
    """UDP port answers arrive on when not the asker's own (Bosch 1758, Panasonic 10669); also
    the port passive capture recognises answers by."""
    reply_to_group: bool = False
    """Devices send answers to ``group`` (on ``port``) rather than to the asker (SADP)."""
    answer: Callable[[bytes, Responder], bytes | None] | None = None
    """The lab's answer to a request (None: stay silent); None when the lab builds the answer
    from more of the profile than one block (WS-Discovery, SSDP, mDNS: ``lab.answers``)."""
    families: tuple[str, ...] = ()
    """Signal prefixes the protocol emits besides shared ones (``mac``, ``onvif.*``, ...)."""
    identity: bool = True
    """Whether a reply names the device's maker, model or serial (not just that it answered)."""
    magic: tuple[int, bytes] | None = None
    """(offset, bytes) every answer carries: passive capture also reads a datagram on other
    ports by it (an answer sent from and to ports the asker chose)."""

    @property
    def broadcast(self) -> bool:
        """True when link-wide requests are broadcast rather than multicast."""
        return self.group == BROADCAST

    def capture_ports(self) -> tuple[int, ...]:
        """The UDP ports passive capture reads this protocol's replies on."""
        return (self.port,) if self.reply_port is None else (self.port, self.reply_port)


def cstring(data: bytes, start: int, size: int) -> str:
    """The NUL-terminated text in ``data[start:start+size]`` (UTF-8, undecodable bytes replaced),
    stripped; "" when the field lies outside ``data``."""
    raw = data[start : start + size].split(b"\0", 1)[0]
    return raw.decode("utf-8", "replace").strip()


def mac_bytes(raw: bytes) -> str:
    """``aa:bb:cc:dd:ee:ff`` of six bytes; "" for all-zero or all-ones (no address)."""
    if len(raw) != 6 or raw in (b"\0" * 6, b"\xff" * 6):
        return ""
    return ":".join(f"{b:02x}" for b in raw)


def ipv4_bytes(raw: bytes) -> str:
    """Dotted IPv4 text of four bytes (network order); "" for 0.0.0.0 or a short field."""
    if len(raw) != 4 or raw == b"\0\0\0\0":
        return ""
    return ".".join(str(b) for b in raw)
