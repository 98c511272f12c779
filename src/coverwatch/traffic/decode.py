"""Fast header decoding for the capture hot path: link layer -> IPv4/IPv6 -> TCP/UDP ports.

Headers are read with ``struct`` at fixed offsets (RFC 791 IPv4, RFC 8200 IPv6, RFC 793 TCP,
RFC 768 UDP, IEEE 802.1Q tags); full protocol objects (DNS, DHCP, ARP) are left to dpkt and
built only for the few packets that need them. Every bound is checked: a short or inconsistent
header yields a warning code, never an exception.
"""

from __future__ import annotations

import struct

from coverwatch.traffic.model import IngestWarning

ETH_IPV4 = 0x0800
ETH_IPV6 = 0x86DD
ETH_ARP = 0x0806
_VLAN = (0x8100, 0x88A8, 0x9100)
#: IPv6 extension headers walked to find the transport header (RFC 8200 section 4).
_IPV6_EXT = (0, 43, 60)
_IPV6_FRAG = 44

_ETH = struct.Struct("!6s6sH")
_IPV4 = struct.Struct("!BBHHHBBH4s4s")
_IPV6 = struct.Struct("!IHBB16s16s")
_PORTS = struct.Struct("!HH")
_FAMILY_LE = struct.Struct("<I")

#: (proto, src, dst, sport, dport, ip_length, payload_offset, fragment_id)
#: ``sport``/``dport`` are -1 for a non-first fragment or a protocol without ports;
#: ``fragment_id`` is -1 when the packet is not a fragment.
Packet = tuple[int, bytes, bytes, int, int, int, int, int]


def link_payload(linktype: int, data: bytes) -> tuple[int, int, bytes, bytes]:
    """``(ethertype, offset of the network header, src mac, dst mac)``; ethertype -1 when the
    link type is unsupported, 0 when the frame is too short. MACs are empty without Ethernet."""
    if linktype == 1:  # DLT_EN10MB
        if len(data) < 14:
            return 0, 0, b"", b""
        dst, src, ethertype = _ETH.unpack_from(data)
        offset = 14
        for _ in range(2):
            if ethertype not in _VLAN:
                break
            if len(data) < offset + 4:
                return 0, 0, b"", b""
            ethertype = int.from_bytes(data[offset + 2 : offset + 4], "big")
            offset += 4
        return ethertype, offset, src, dst
    if linktype in (101, 12, 14, 228, 229):  # raw IP
        if not data:
            return 0, 0, b"", b""
        return (ETH_IPV6 if data[0] >> 4 == 6 else ETH_IPV4), 0, b"", b""
    if linktype == 113:  # Linux cooked capture v1: protocol at offset 14
        if len(data) < 16:
            return 0, 0, b"", b""
        return int.from_bytes(data[14:16], "big"), 16, b"", b""
    if linktype == 276:  # Linux cooked capture v2: protocol at offset 0
        if len(data) < 20:
            return 0, 0, b"", b""
        return int.from_bytes(data[0:2], "big"), 20, b"", b""
    if linktype == 0:  # BSD loopback: address family in host byte order
        if len(data) < 4:
            return 0, 0, b"", b""
        family = _FAMILY_LE.unpack_from(data)[0]
        if family > 0xFFFF:
            family = int.from_bytes(data[:4], "big")
        return (
            (ETH_IPV4 if family == 2 else ETH_IPV6 if family in (10, 24, 28, 30) else 0),
            4,
            b"",
            b"",
        )
    return -1, 0, b"", b""


def decode(linktype: int, data: bytes) -> Packet | IngestWarning:
    """The flow-relevant fields of one frame, or the reason it has none."""
    ethertype, off, _, _ = link_payload(linktype, data)
    if ethertype == ETH_IPV4:
        if len(data) < off + 20:
            return IngestWarning.MALFORMED_PACKET
        ver_ihl, _, total, ident, frag, _, proto, _, src, dst = _IPV4.unpack_from(data, off)
        ihl = (ver_ihl & 0x0F) * 4
        if ver_ihl >> 4 != 4 or ihl < 20 or total < ihl:
            return IngestWarning.MALFORMED_PACKET
        l4 = off + ihl
        offset = frag & 0x1FFF
        fragment = ident if (frag & 0x2000 or offset) else -1
        if offset:
            return proto, src, dst, -1, -1, total, -1, fragment
        return _ports(proto, src, dst, total, data, l4, fragment)
    if ethertype == ETH_IPV6:
        if len(data) < off + 40:
            return IngestWarning.MALFORMED_PACKET
        vtf, plen, proto, _, src, dst = _IPV6.unpack_from(data, off)
        if vtf >> 28 != 6:
            return IngestWarning.MALFORMED_PACKET
        l4 = off + 40
        fragment = -1
        for _ in range(8):
            if proto in _IPV6_EXT and len(data) >= l4 + 2:
                proto, l4 = data[l4], l4 + 8 + data[l4 + 1] * 8
            elif proto == _IPV6_FRAG and len(data) >= l4 + 8:
                offset = int.from_bytes(data[l4 + 2 : l4 + 4], "big") >> 3
                fragment = int.from_bytes(data[l4 + 4 : l4 + 8], "big")
                proto, l4 = data[l4], l4 + 8
                if offset:
                    return proto, src, dst, -1, -1, plen + 40, -1, fragment
            else:
                break
        return _ports(proto, src, dst, plen + 40, data, l4, fragment)
    if ethertype == -1:
        return IngestWarning.UNSUPPORTED_LINKTYPE
    if ethertype == 0:
        return IngestWarning.MALFORMED_PACKET
    return IngestWarning.NON_IP


def _ports(
    proto: int, src: bytes, dst: bytes, total: int, data: bytes, l4: int, fragment: int
) -> Packet:
    if proto in (6, 17) and len(data) >= l4 + 4:
        sport, dport = _PORTS.unpack_from(data, l4)
        if proto == 6:
            payload = l4 + (data[l4 + 12] >> 4) * 4 if len(data) > l4 + 12 else len(data)
        else:
            payload = l4 + 8
        return proto, src, dst, sport, dport, total, min(payload, len(data)), fragment
    return proto, src, dst, -1, -1, total, l4, fragment
