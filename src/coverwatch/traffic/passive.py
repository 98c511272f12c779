"""``traffic.passive_observations``: what hosts announce about themselves in a capture.

ARP (RFC 826: sender IP <-> MAC), DHCP client messages (RFC 2131/2132: option 60 vendor class,
12 host name, 55 parameter request list, 50 requested address), and the discovery replies of
every registered protocol (``coverwatch.discovery.PROTOCOLS``, read on its ports by its own
parser) become ``Observation``s with ``SourceKind.CAPTURE``. What a host's own traffic shows
joins them: the DNS names it looks up (``dns.query``), the server name of its TLS ClientHellos
(``tls.sni``), the User-Agent of its plain-HTTP requests (``http.user_agent``), the SSDP
SERVER/USER-AGENT it announces or searches with (``upnp.server``) and the Server header its own
HTTP/RTSP service answers with (``http.server``, ``rtsp.server``).

Nothing is sent; only files are read. Every payload is hostile: discovery parsers are the
hardened ones in ``probes``, TCP payloads are read one packet at a time (no reassembly) from
their first ``_MAX_PAYLOAD`` bytes with every offset checked, and per-host, per-signal output is
bounded. A MAC that used several addresses during the capture (a DHCP renewal) gets its MAC and
DHCP observations under each address, so identity resolution can merge them.
"""

from __future__ import annotations

import ipaddress
import logging
import re
import socket
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import dpkt

from coverwatch.discovery import PROTOCOLS
from coverwatch.errors import InputError
from coverwatch.models import Observation, SourceKind
from coverwatch.probes.http import clean_text
from coverwatch.probes.protocol import Signals
from coverwatch.traffic.decode import ETH_ARP, ETH_IPV4, ETH_IPV6, Packet, decode, link_payload
from coverwatch.traffic.flows import ip_text
from coverwatch.traffic.model import IngestWarning
from coverwatch.traffic.pcap import read_frames

logger = logging.getLogger(__name__)

_MAX_PER_HOST = 256
_MAX_HOSTS = 65_536
_MAX_IPS_PER_MAC = 16
#: Bytes of one payload looked at: enough for a ClientHello's SNI or a request's headers.
_MAX_PAYLOAD = 4096
#: Distinct values kept per host and signal, so one chatty host cannot crowd out the rest.
_PER_SIGNAL = {
    "dns.query": 64,
    "tls.sni": 64,
    "http.user_agent": 16,
    "upnp.server": 16,
    "http.server": 8,
    "rtsp.server": 8,
}
_HOST_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-_.")
_REQUEST = re.compile(
    rb"(?:GET|POST|HEAD|PUT|DELETE|OPTIONS|PATCH) [!-~]{1,2048} HTTP/1\.[01]\r?\n"
)
_RESPONSE = re.compile(rb"(HTTP/1\.[01]|RTSP/1\.0) [1-5][0-9][0-9][ \r\n]")
_HTTP_METHODS = (b"GET ", b"POST", b"HEAD", b"PUT ", b"DELE", b"OPTI", b"PATC")

#: (signal, value, port, protocol, ts) seen in a host's own traffic, kept until the end.
Pending = tuple[str, str, int | None, str, float]


def mac_text(raw: bytes | str) -> str:
    """``aa:bb:cc:dd:ee:ff`` from 6 raw bytes or from dash/colon text."""
    if isinstance(raw, bytes):
        return ":".join(f"{b:02x}" for b in raw)
    return raw.strip().lower().replace("-", ":")


class _Collector:
    def __init__(self) -> None:
        self.found: dict[str, dict[tuple[str, str], Observation]] = {}
        self.counts: dict[str, dict[str, int]] = {}
        self.dhcp_by_mac: dict[str, list[tuple[str, str, float]]] = {}
        #: Addresses a MAC is known to have used (ARP sender, DHCP ACK, DHCP ciaddr), with when.
        self.ips_by_mac: dict[str, dict[str, float]] = {}
        #: An address a MAC asked for or was offered: used only when nothing better is known.
        self.hinted_ip: dict[str, str] = {}
        self.traffic: dict[str, list[Pending]] = {}
        self.traffic_seen: set[tuple[str, str, str]] = set()
        #: Hosts that answered DNS queries: resolvers, whose lookups are their clients' names.
        self.resolvers: set[str] = set()

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
            self.counts[ip] = {}
        counts = self.counts[ip]
        if (signal, value) in host or len(host) >= _MAX_PER_HOST:
            return
        if counts.get(signal, 0) >= _PER_SIGNAL.get(signal, _MAX_PER_HOST):
            return
        counts[signal] = counts.get(signal, 0) + 1
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

    def used(self, mac: str, ip: str, ts: float) -> None:
        """Record that ``mac`` used ``ip`` (bounded, first seen first)."""
        ips = self.ips_by_mac.setdefault(mac, {})
        if ip not in ips and len(ips) < _MAX_IPS_PER_MAC:
            ips[ip] = ts

    def seen(
        self, ip: str, signal: str, value: str, port: int | None, protocol: str, ts: float
    ) -> None:
        """Keep what a host's own traffic showed; ``finish`` decides whether to report it."""
        if not value or (ip, signal, value) in self.traffic_seen:
            return
        items = self.traffic.get(ip)
        if items is None:
            if len(self.traffic) >= _MAX_HOSTS:
                return
            items = self.traffic[ip] = []
        if sum(1 for item in items if item[0] == signal) >= _PER_SIGNAL.get(signal, 16):
            return
        self.traffic_seen.add((ip, signal, value))
        items.append((signal, value, port, protocol, ts))

    def finish(self) -> dict[str, list[Observation]]:
        """Attach the MAC and its DHCP facts to every address the MAC used (the same ``mac``
        observation under each, so identity resolution can merge them), then the traffic
        signals of hosts that belong to the site."""
        for mac in [*self.ips_by_mac, *(m for m in self.dhcp_by_mac if m not in self.ips_by_mac)]:
            items = self.dhcp_by_mac.get(mac, [])
            ips = self.ips_by_mac.get(mac) or (
                {self.hinted_ip[mac]: items[0][2]} if mac in self.hinted_ip and items else {}
            )
            for ip, first in ips.items():
                self.add(ip, "mac", mac, 68, "dhcp", first)
                for signal, value, ts in items:
                    self.add(ip, signal, value, 68, "dhcp", ts)
        local = set(self.found)
        for ip, pending in self.traffic.items():
            if ip not in local and _is_global(ip):
                continue  # NOTE: an internet server or scanner, not a device of the site
            for signal, value, port, protocol, ts in pending:
                if signal == "dns.query" and ip in self.resolvers:
                    continue
                self.add(ip, signal, value, port, protocol, ts)
        return {ip: list(obs.values()) for ip, obs in sorted(self.found.items())}


class PassiveCollector:
    """What hosts announce about themselves, frame by frame: feed it the frames a flow ingest
    reads (``traffic.ingest(..., on_frame=collector.frame)``) so a capture is read once."""

    def __init__(self) -> None:
        self._collector = _Collector()

    def frame(
        self,
        ts: float,
        linktype: int,
        data: bytes,
        packet: Packet | IngestWarning | None = None,
    ) -> None:
        """Read one captured frame (``packet``: its headers as ``decode`` read them, when the
        caller has read them already)."""
        _frame(self._collector, ts, linktype, data, packet)

    def finish(self) -> dict[str, list[Observation]]:
        """Observations per IP address, from every frame read."""
        return self._collector.finish()


def passive_observations(paths: list[str]) -> dict[str, list[Observation]]:
    """Observations per IP address from every capture in ``paths`` (pcap or pcapng), read on
    their own (``traffic import`` reads them with the flows instead: ``PassiveCollector``)."""
    collector = PassiveCollector()
    for path in paths:
        warnings: dict[str, int] = {}
        try:
            with open(path, "rb") as handle:
                _, frames = read_frames(path, handle, warnings)
                for ts, linktype, data in frames:
                    collector.frame(ts, linktype, data)
        except OSError as e:
            raise InputError(f"{path}: cannot read: {e.strerror or e}") from e
        if warnings:
            logger.info("%s: passive discovery skipped %s", path, warnings)
    return collector.finish()


def _is_global(ip: str) -> bool:
    try:
        return ipaddress.ip_address(ip).is_global
    except ValueError:
        return True


def _frame(
    collector: _Collector,
    ts: float,
    linktype: int,
    data: bytes,
    packet: Packet | IngestWarning | None,
) -> None:
    ethertype, offset, src_mac, _ = link_payload(linktype, data)
    if ethertype == ETH_ARP:
        _arp(collector, ts, data[offset:])
        return
    if ethertype not in (ETH_IPV4, ETH_IPV6):
        return
    if packet is None:
        packet = decode(linktype, data)
    if isinstance(packet, IngestWarning):
        return
    proto, src, _dst, sport, dport, ip_length, payload_at, _ = packet
    if payload_at < 0 or sport < 0:
        return
    if proto == 6:
        # NOTE: frames may carry Ethernet padding past the IP packet; a TSO capture may show
        # an IP length of 0, in which case the frame's end is the best bound there is.
        end = offset + ip_length if offset + ip_length >= payload_at else len(data)
        payload = data[payload_at : min(end, payload_at + _MAX_PAYLOAD)]
        if payload:
            _tcp(collector, ts, ip_text(src), sport, payload)
        return
    if proto != 17:
        return
    # NOTE: a short datagram's frame carries Ethernet padding (IEEE 802.3: 46-byte minimum
    # payload); the UDP length (RFC 768) says where the datagram ends.
    # A length of 8 with bytes after it is a writer that left the field unset: read them all.
    udp_length = int.from_bytes(data[payload_at - 4 : payload_at - 2], "big")
    end = payload_at + udp_length - 8
    payload = data[payload_at:end] if udp_length > 8 and end <= len(data) else data[payload_at:]
    src_ip = ip_text(src)
    if (sport == 68 and dport == 67) or (sport == 67 and dport == 68):
        _dhcp(collector, ts, payload)
        return
    if dport == 53 or sport == 53:
        _dns(collector, ts, src_ip, sport, dport, payload[:_MAX_PAYLOAD])
        return
    handlers = _HANDLERS.get(sport, []) + _HANDLERS.get(dport, [])
    if not handlers:
        handlers = [h for at, n, table in _MAGIC for h in table.get(payload[at : at + n], ())]
    for protocol, parse in handlers:
        try:
            results = parse(payload)
        except (ValueError, UnicodeError):
            continue  # a request, our own probe looped back, or a malformed reply
        for signals in results:
            collector.signals(src_ip, signals, sport, protocol, ts)
            if src_mac:
                collector.add(src_ip, "mac", mac_text(src_mac), sport, protocol, ts)
        return


def _arp(collector: _Collector, ts: float, payload: bytes) -> None:
    try:
        arp = dpkt.arp.ARP(payload)
    except (dpkt.UnpackError, ValueError):
        return
    if arp.hrd != 1 or arp.pro != 0x0800 or len(arp.sha) != 6 or len(arp.spa) != 4:
        return
    ip, mac = socket.inet_ntoa(arp.spa), mac_text(arp.sha)
    if ip != "0.0.0.0":
        collector.used(mac, ip, ts)
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
            address = socket.inet_ntoa(message.yiaddr.to_bytes(4, "big"))
            if options.get(53) == bytes([dpkt.dhcp.DHCPACK]):
                collector.used(mac, address, ts)
            else:  # an offer, or a reply without a message type: only a hint
                collector.hinted_ip.setdefault(mac, address)
        return
    if message.ciaddr:
        collector.used(mac, socket.inet_ntoa(message.ciaddr.to_bytes(4, "big")), ts)
    elif len(options.get(50, b"")) == 4:
        collector.hinted_ip.setdefault(mac, socket.inet_ntoa(options[50]))
    items = collector.dhcp_by_mac.setdefault(mac, [])
    if 60 in options:
        items.append(("dhcp.vendor_class", options[60].decode("latin-1"), ts))
    if 12 in options:
        items.append(("dhcp.hostname", options[12].decode("latin-1"), ts))
    if 55 in options:
        items.append(("dhcp.params", ",".join(str(b) for b in options[55]), ts))
    del items[64:]


def host_name(raw: bytes) -> str | None:
    """A DNS host name in lower case, or None when ``raw`` is not one (RFC 1035 2.3.4)."""
    try:
        name = raw.decode("ascii").lower().rstrip(".")
    except UnicodeDecodeError:
        return None
    if not 0 < len(name) <= 253 or not _HOST_CHARS.issuperset(name):
        return None
    if any(not 0 < len(label) <= 63 for label in name.split(".")):
        return None
    return name


def query_names(payload: bytes) -> list[str]:
    """The names a standard DNS query (RFC 1035 4.1) asks for; [] for anything else.

    Questions are read label by label with every length checked; a compression pointer in a
    question (which a client has no reason to send) ends the parse.
    """
    if len(payload) < 12 or payload[2] & 0xF8:  # QR set (a response) or an opcode other than 0
        return []
    count = min(int.from_bytes(payload[4:6], "big"), 4)
    names: list[str] = []
    at = 12
    for _ in range(count):
        labels: list[bytes] = []
        while at < len(payload) and payload[at] != 0:
            size = payload[at]
            if size > 63 or at + 1 + size > len(payload) or len(labels) >= 127:
                return names
            labels.append(payload[at + 1 : at + 1 + size])
            at += 1 + size
        if at >= len(payload):
            return names
        at += 5  # the root label, QTYPE, QCLASS
        name = host_name(b".".join(labels))
        if name and not name.endswith((".arpa", ".local")) and name not in names:
            names.append(name)
    return names


def _dns(
    collector: _Collector, ts: float, src: str, sport: int, dport: int, payload: bytes
) -> None:
    if sport == 53:
        if len(payload) >= 12 and payload[2] & 0x80:
            collector.resolvers.add(src)
        return
    # NOTE: mDNS queries (UDP 5353, RFC 6762) ask the link, not a resolver: not lookups.
    for name in query_names(payload):
        collector.seen(src, "dns.query", name, None, "dns", ts)


def client_hello_sni(payload: bytes) -> str | None:
    """The host_name of the server_name extension (RFC 6066 section 3) of a TLS ClientHello
    (RFC 8446 section 4.1.2) starting ``payload``, read only from the bytes at hand."""
    if len(payload) < 43 or payload[0] != 0x16 or payload[1] != 3 or payload[5] != 1:
        return None
    end = min(len(payload), 5 + int.from_bytes(payload[3:5], "big"))
    at = 5 + 4 + 2 + 32  # record header, handshake header, legacy_version, random
    if at >= end:
        return None
    at += 1 + payload[at]  # legacy_session_id
    if at + 2 > end:
        return None
    at += 2 + int.from_bytes(payload[at : at + 2], "big")  # cipher_suites
    if at + 1 > end:
        return None
    at += 1 + payload[at]  # legacy_compression_methods
    if at + 2 > end:
        return None
    extensions_end = min(end, at + 2 + int.from_bytes(payload[at : at + 2], "big"))
    at += 2
    for _ in range(64):
        if at + 4 > extensions_end:
            return None
        kind, size = (
            int.from_bytes(payload[at : at + 2], "big"),
            int.from_bytes(payload[at + 2 : at + 4], "big"),
        )
        at += 4
        if kind == 0:
            body = payload[at : min(at + size, extensions_end)]
            if len(body) < 5 or body[2] != 0:  # server_name_list length, name_type host_name
                return None
            size = int.from_bytes(body[3:5], "big")
            return host_name(body[5 : 5 + size]) if len(body) >= 5 + size else None
        at += size
    return None


def _headers(payload: bytes) -> dict[str, str]:
    text = payload.decode("latin-1")
    headers: dict[str, str] = {}
    for line in text.split("\n")[1:64]:
        line = line.rstrip("\r")
        if not line:
            break
        name, sep, value = line.partition(":")
        if sep and value.strip():
            headers.setdefault(name.strip().lower(), clean_text(value, 512))
    return headers


def _tcp(collector: _Collector, ts: float, src: str, sport: int, payload: bytes) -> None:
    first = payload[0]
    if first == 0x16:
        name = client_hello_sni(payload)
        if name:
            collector.seen(src, "tls.sni", name, None, "tls", ts)
    elif payload[:4] in _HTTP_METHODS:
        if _REQUEST.match(payload):
            agent = _headers(payload).get("user-agent")
            if agent:
                collector.seen(src, "http.user_agent", agent, None, "http", ts)
    elif first in b"HR":
        response = _RESPONSE.match(payload)
        if response:
            server = _headers(payload).get("server")
            if server:
                http = response.group(1).startswith(b"HTTP")
                signal, protocol = ("http.server", "http") if http else ("rtsp.server", "rtsp")
                collector.seen(src, signal, server, sport, protocol, ts)


#: A registered protocol's name and reply parser.
_Handler = tuple[str, Callable[[bytes], list[Signals]]]


def _handlers() -> dict[int, list[_Handler]]:
    """UDP port -> the registered protocols whose replies arrive there (several may share one:
    Vivotek and Foscam both use 10000)."""
    found: dict[int, list[_Handler]] = {}
    for spec in PROTOCOLS.values():
        for port in spec.capture_ports():
            found.setdefault(port, []).append((spec.name, spec.parse))
    return found


_HANDLERS = _handlers()


def _magic() -> list[tuple[int, int, dict[bytes, list[_Handler]]]]:
    """Protocols recognisable by content on any port: (offset, length, magic -> handlers), one
    table per place a magic sits (every UDP datagram on another port is looked up in each)."""
    tables: dict[tuple[int, int], dict[bytes, list[_Handler]]] = {}
    for spec in PROTOCOLS.values():
        if spec.magic is not None:
            at, magic = spec.magic
            tables.setdefault((at, len(magic)), {}).setdefault(magic, []).append(
                (spec.name, spec.parse)
            )
    return [(at, n, table) for (at, n), table in tables.items()]


_MAGIC = _magic()
