"""``traffic.passive_observations``: what hosts announce about themselves in a capture.

ARP (RFC 826: sender IP <-> MAC), DHCP client messages (RFC 2131/2132: option 60 vendor class,
12 host name, 55 parameter request list, 50 requested address), and the discovery replies the
``coverwatch.probes`` parsers already read (mDNS, SSDP, WS-Discovery, SADP, DHIP) become
``Observation``s with ``SourceKind.CAPTURE``. Nothing is sent; only files are read. Every
payload is hostile: parsers are the hardened ones in ``probes``, and per-host output is bounded.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import dpkt

from coverwatch.errors import InputError
from coverwatch.models import Observation, SourceKind
from coverwatch.probes import dhip, mdns, sadp, ssdp, wsdiscovery
from coverwatch.probes.http import clean_text
from coverwatch.traffic.decode import ETH_ARP, ETH_IPV4, ETH_IPV6, decode, link_payload
from coverwatch.traffic.flows import ip_text
from coverwatch.traffic.model import IngestWarning
from coverwatch.traffic.pcap import read_frames

logger = logging.getLogger(__name__)

_MAX_PER_HOST = 256
_MAX_HOSTS = 65_536
_SSDP_KEYS = {
    "server": "upnp.server",
    "location": "upnp.location",
    "st": "upnp.st",
    "nt": "upnp.st",
    "usn": "upnp.usn",
}


def mac_text(raw: bytes | str) -> str:
    """``aa:bb:cc:dd:ee:ff`` from 6 raw bytes or from dash/colon text."""
    if isinstance(raw, bytes):
        return ":".join(f"{b:02x}" for b in raw)
    return raw.strip().lower().replace("-", ":")


class _Collector:
    def __init__(self) -> None:
        self.found: dict[str, dict[tuple[str, str], Observation]] = {}
        self.dhcp_by_mac: dict[str, list[tuple[str, str, float]]] = {}
        self.ip_by_mac: dict[str, str] = {}

    def add(
        self, ip: str, signal: str, value: str, port: int | None, protocol: str, ts: float
    ) -> None:
        if not value or ip in ("0.0.0.0", "::"):
            return
        host = self.found.get(ip)
        if host is None:
            if len(self.found) >= _MAX_HOSTS:
                return
            host = self.found[ip] = {}
        if (signal, value) in host or len(host) >= _MAX_PER_HOST:
            return
        host[(signal, value)] = Observation(
            ip=ip,
            signal=signal,
            value=clean_text(value, 1024),
            port=port,
            protocol=protocol,
            source=SourceKind.CAPTURE,
            observed_at=datetime.fromtimestamp(ts, UTC),
        )

    def signals(
        self, ip: str, signals: dict[str, Any], port: int, protocol: str, ts: float
    ) -> None:
        for key, values in signals.items():
            for value in values if isinstance(values, list) else [values]:
                text = str(value)
                self.add(ip, key, mac_text(text) if key == "mac" else text, port, protocol, ts)


def passive_observations(paths: list[str]) -> dict[str, list[Observation]]:
    """Observations per IP address from every capture in ``paths`` (pcap or pcapng)."""
    collector = _Collector()
    for path in paths:
        warnings: dict[str, int] = {}
        try:
            with open(path, "rb") as handle:
                _, frames = read_frames(path, handle, warnings)
                for ts, linktype, data in frames:
                    _frame(collector, ts, linktype, data)
        except OSError as e:
            raise InputError(f"{path}: cannot read: {e.strerror or e}") from e
        if warnings:
            logger.info("%s: passive discovery skipped %s", path, warnings)
    for mac, items in collector.dhcp_by_mac.items():
        ip = collector.ip_by_mac.get(mac)
        if ip is None:
            continue
        collector.add(ip, "mac", mac, 68, "dhcp", items[0][2])
        for signal, value, ts in items:
            collector.add(ip, signal, value, 68, "dhcp", ts)
    return {ip: list(obs.values()) for ip, obs in sorted(collector.found.items())}


def _frame(collector: _Collector, ts: float, linktype: int, data: bytes) -> None:
    ethertype, offset, src_mac, _ = link_payload(linktype, data)
    if ethertype == ETH_ARP:
        _arp(collector, ts, data[offset:])
        return
    if ethertype not in (ETH_IPV4, ETH_IPV6):
        return
    packet = decode(linktype, data)
    if isinstance(packet, IngestWarning):
        return
    proto, src, _dst, sport, dport, _, payload_at, _ = packet
    if proto != 17 or payload_at < 0:
        return
    payload = data[payload_at:]
    src_ip = ip_text(src)
    if (sport == 68 and dport == 67) or (sport == 67 and dport == 68):
        _dhcp(collector, ts, payload)
        return
    handler = _HANDLERS.get(sport) or _HANDLERS.get(dport)
    if handler is None:
        return
    protocol, parse = handler
    try:
        results = parse(payload)
    except (ValueError, UnicodeError):
        return  # a request, our own probe looped back, or a malformed reply: nothing to learn
    for signals in results:
        collector.signals(src_ip, signals, sport, protocol, ts)
        if src_mac:
            collector.add(src_ip, "mac", mac_text(src_mac), sport, protocol, ts)


def _arp(collector: _Collector, ts: float, payload: bytes) -> None:
    try:
        arp = dpkt.arp.ARP(payload)
    except (dpkt.UnpackError, ValueError):
        return
    if arp.hrd != 1 or arp.pro != 0x0800 or len(arp.sha) != 6 or len(arp.spa) != 4:
        return
    ip, mac = socket.inet_ntoa(arp.spa), mac_text(arp.sha)
    if ip != "0.0.0.0":
        collector.ip_by_mac.setdefault(mac, ip)
        collector.add(ip, "mac", mac, None, "arp", ts)


def _dhcp(collector: _Collector, ts: float, payload: bytes) -> None:
    try:
        message = dpkt.dhcp.DHCP(payload)
    except (dpkt.UnpackError, ValueError, IndexError):
        return
    mac = mac_text(message.chaddr[:6])
    options = {code: value for code, value in message.opts[:64]}
    if message.op == dpkt.dhcp.DHCP_OP_REPLY:
        if message.yiaddr:
            collector.ip_by_mac[mac] = socket.inet_ntoa(message.yiaddr.to_bytes(4, "big"))
        return
    if message.ciaddr:
        collector.ip_by_mac.setdefault(mac, socket.inet_ntoa(message.ciaddr.to_bytes(4, "big")))
    elif len(options.get(50, b"")) == 4:
        collector.ip_by_mac.setdefault(mac, socket.inet_ntoa(options[50]))
    items = collector.dhcp_by_mac.setdefault(mac, [])
    if 60 in options:
        items.append(("dhcp.vendor_class", options[60].decode("latin-1"), ts))
    if 12 in options:
        items.append(("dhcp.hostname", options[12].decode("latin-1"), ts))
    if 55 in options:
        items.append(("dhcp.params", ",".join(str(b) for b in options[55]), ts))
    del items[64:]


def _ssdp(payload: bytes) -> list[dict[str, Any]]:
    text = payload[:4096].decode("utf-8", "replace")
    first, _, rest = text.partition("\r\n")
    if not (first.upper().startswith("HTTP/1.1 200") or first.upper().startswith("NOTIFY ")):
        raise ValueError("not an SSDP reply or announcement")
    signals: dict[str, Any] = {}
    for line in rest.split("\r\n")[:32]:
        name, sep, value = line.partition(":")
        key = _SSDP_KEYS.get(name.strip().lower())
        if sep and key and value.strip():
            signals.setdefault(key, clean_text(value, 512))
    return [signals] if signals else []


def _one(parse: Callable[[bytes], dict[str, Any]]) -> Callable[[bytes], list[dict[str, Any]]]:
    return lambda payload: [parse(payload)]


_HANDLERS: dict[int, tuple[str, Callable[[bytes], list[dict[str, Any]]]]] = {
    mdns.PORT: ("mdns", _one(mdns.parse_response)),
    ssdp.PORT: ("ssdp", _ssdp),
    wsdiscovery.PORT: ("wsdiscovery", wsdiscovery.parse_probe_matches),
    sadp.PORT: ("sadp", _one(sadp.parse_probe_match)),
    dhip.PORT: ("dhip", _one(dhip.parse_reply)),
}
