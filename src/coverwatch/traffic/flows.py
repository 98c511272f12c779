"""Captures to flow rows: 5-tuple flow assembly with bounded state, DNS labels, UPnP requests.

A flow is keyed by (protocol, initiator address and port, responder address and port); the
first packet's sender is the initiator. State is bounded: flows idle for ``idle_timeout``
seconds of capture time are exported on a periodic sweep, and when ``max_flows`` are live the
least recently active are exported early (counted as ``state_eviction``). A flow that is split
this way shows as several rows with the same 5-tuple; analyses sum over rows.
"""

from __future__ import annotations

import re
import socket
from collections import OrderedDict
from collections.abc import Callable
from struct import error as struct_error
from typing import BinaryIO

import dpkt

from coverwatch.traffic.decode import Packet, decode
from coverwatch.traffic.model import IngestWarning, RecordSource
from coverwatch.traffic.pcap import read_frames
from coverwatch.traffic.table import RowWriter

#: What else reads each frame of a capture in the flows' pass (passive discovery): the frame's
#: time, link type and bytes, and its headers as ``decode`` read them (read once for both).
FrameHook = Callable[[float, int, bytes, Packet | IngestWarning], None]

PROTO_NAMES = {6: "tcp", 17: "udp", 1: "icmp", 58: "ipv6-icmp", 47: "gre", 50: "esp", 132: "sctp"}
_SWEEP_EVERY = 65_536
_MAX_FRAGMENTS = 4_096
_MAX_NAMES = 262_144
#: SSDP search targets that look for a router's port-mapping service (UPnP IGD v1/v2).
_IGD = re.compile(
    rb"^ST:\s*urn:schemas-upnp-org:(device:InternetGatewayDevice|service:WAN(IP|PPP)Connection):",
    re.I | re.M,
)
_SOAP_FIELD = re.compile(rb"<(NewExternalPort|NewInternalPort|NewProtocol)>\s*([^<\s]{1,16})\s*<")


def ip_text(raw: bytes) -> str:
    """Dotted or colon text of a 4- or 16-byte address."""
    return socket.inet_ntoa(raw) if len(raw) == 4 else socket.inet_ntop(socket.AF_INET6, raw)


class NameMap:
    """Address -> the DNS name that last resolved to it, bounded (oldest entries dropped)."""

    def __init__(self, limit: int = _MAX_NAMES) -> None:
        self.names: OrderedDict[str, str] = OrderedDict()
        self.limit = limit

    def learn(self, address: str, name: str) -> None:
        """Remember that ``name`` resolved to ``address``."""
        self.names[address] = name
        self.names.move_to_end(address)
        if len(self.names) > self.limit:
            self.names.popitem(last=False)

    def label(self, dst: str, src: str) -> str | None:
        """The name of the flow's remote end: the responder's, else the initiator's."""
        return self.names.get(dst) or self.names.get(src)


class CaptureIngest:
    """Reads one capture into the flow, DNS and port-mapping tables of a store."""

    def __init__(
        self,
        path: str,
        flows: RowWriter,
        dns: RowWriter,
        portmaps: RowWriter,
        idle_timeout: float = 300.0,
        max_flows: int = 200_000,
    ) -> None:
        self.path = path
        self.flows_out = flows
        self.dns_out = dns
        self.portmaps_out = portmaps
        self.idle_timeout = idle_timeout
        self.max_flows = max_flows
        self.live: dict[tuple[int, bytes, int, bytes, int], list[float]] = {}
        self.fragments: OrderedDict[
            tuple[bytes, bytes, int, int], tuple[int, bytes, int, bytes, int]
        ] = OrderedDict()
        self.names = NameMap()
        self.warnings: dict[str, int] = {}
        self.packets = 0
        self.kind = RecordSource.PCAP
        self.source = ""
        self.on_frame: FrameHook | None = None
        """Also given every frame (passive discovery reading the same pass)."""

    def warn(self, reason: IngestWarning, n: int = 1) -> None:
        """Count a skipped or cut-short item."""
        self.warnings[reason.value] = self.warnings.get(reason.value, 0) + n

    def run(self, handle: BinaryIO) -> None:
        """Read every frame, then export every flow still live."""
        self.kind, frames = read_frames(self.path, handle, self.warnings)
        self.source = self.kind.value
        live = self.live
        next_sweep = _SWEEP_EVERY
        last_ts = 0.0
        on_frame = self.on_frame
        for ts, linktype, data in frames:
            self.packets += 1
            last_ts = ts
            packet = decode(linktype, data)
            if on_frame is not None:
                on_frame(ts, linktype, data, packet)
            if isinstance(packet, IngestWarning):
                self.warn(packet)
                continue
            proto, src, dst, sport, dport, length, payload, fragment = packet
            if fragment >= 0:
                resolved = self._fragment(proto, src, dst, sport, dport, fragment)
                if resolved is None:
                    continue
                sport, dport = resolved
            key = (proto, src, sport, dst, dport)
            # NOTE: frames can be out of time order (captures merged from several queues or
            # interfaces); a flow spans its earliest to its latest frame.
            state = live.get(key)
            forward = state is not None
            if state is None:
                state = live.get((proto, dst, dport, src, sport))
            if state is None:
                live[key] = [ts, ts, length, 1, 0, 0]
                if len(live) > self.max_flows:
                    self._sweep(ts)
            else:
                if ts > state[1]:
                    state[1] = ts
                elif ts < state[0]:
                    state[0] = ts
                if forward:
                    state[2] += length
                    state[3] += 1
                else:
                    state[4] += length
                    state[5] += 1
            if proto == 17 and (sport == 53 or dport == 1900):
                self._udp_payload(ts, src, dst, sport, dport, data[payload:])
            elif proto == 6 and payload >= 0 and data[payload : payload + 4] == b"POST":
                self._soap(ts, src, dst, data[payload:])
            if self.packets >= next_sweep:
                next_sweep = self.packets + _SWEEP_EVERY
                self._sweep(ts)
        self._sweep(last_ts, everything=True)

    def _fragment(
        self, proto: int, src: bytes, dst: bytes, sport: int, dport: int, ident: int
    ) -> tuple[int, int] | None:
        """Ports for a fragment: the first fragment's ports, remembered (bounded) by IP id."""
        key = (src, dst, proto, ident)
        if sport >= 0:
            self.fragments[key] = (proto, src, sport, dst, dport)
            if len(self.fragments) > _MAX_FRAGMENTS:
                self.fragments.popitem(last=False)
            return sport, dport
        first = self.fragments.get(key)
        if first is None:
            self.warn(IngestWarning.IP_FRAGMENT)
            return None
        return first[2], first[4]

    def _sweep(self, now: float, everything: bool = False) -> None:
        live = self.live
        cutoff = now - self.idle_timeout
        done = [k for k, s in live.items() if everything or s[1] < cutoff]
        if not everything and len(live) - len(done) > self.max_flows:
            # NOTE: the bound holds even when every flow is active (a scan or a flood):
            # export the least recently active ones early, down to 3/4 of the bound so the
            # next sweep is not one packet away.
            keep = sorted((k for k in live if live[k][1] >= cutoff), key=lambda k: live[k][1])
            evicted = keep[: len(keep) - self.max_flows * 3 // 4]
            self.warn(IngestWarning.STATE_EVICTION, len(evicted))
            done += evicted
        for key in sorted(done, key=lambda k: live[k][0]):
            self._export(key, live.pop(key))

    def _export(self, key: tuple[int, bytes, int, bytes, int], state: list[float]) -> None:
        proto, src, sport, dst, dport = key
        src_ip, dst_ip = ip_text(src), ip_text(dst)
        self.flows_out.add(
            (
                state[0],
                state[1],
                PROTO_NAMES.get(proto, str(proto)),
                src_ip,
                max(sport, 0),
                dst_ip,
                max(dport, 0),
                int(state[2]),
                int(state[3]),
                int(state[4]),
                int(state[5]),
                self.names.label(dst_ip, src_ip),
                self.source,
                self.path,
            )
        )

    def _udp_payload(
        self, ts: float, src: bytes, dst: bytes, sport: int, dport: int, payload: bytes
    ) -> None:
        if sport == 53:
            self._dns(ts, dst, payload)
        elif dport == 1900 and payload.startswith(b"M-SEARCH") and _IGD.search(payload[:2048]):
            self.portmaps_out.add(
                (ts, ip_text(src), ip_text(dst), "ssdp-igd-search", None, None, None, self.path)
            )

    def _dns(self, ts: float, client: bytes, payload: bytes) -> None:
        try:
            message = dpkt.dns.DNS(payload)
        except (dpkt.UnpackError, IndexError, ValueError, struct_error):
            self.warn(IngestWarning.DNS_UNPARSED)
            return
        if message.qr != dpkt.dns.DNS_R or not message.qd:
            return
        asked = message.qd[0].name.lower().rstrip(".")[:253]
        for answer in message.an[:64]:
            if answer.type == dpkt.dns.DNS_A and len(answer.rdata) == 4:
                address = socket.inet_ntoa(answer.rdata)
            elif answer.type == dpkt.dns.DNS_AAAA and len(answer.rdata) == 16:
                address = socket.inet_ntop(socket.AF_INET6, answer.rdata)
            else:
                continue
            self.names.learn(address, asked)
            self.dns_out.add((ts, ip_text(client), asked, address, self.path))

    def _soap(self, ts: float, src: bytes, dst: bytes, payload: bytes) -> None:
        head = payload[:8192]
        if b"AddPortMapping" not in head:
            return
        fields = {
            m.group(1).decode(): m.group(2).decode("ascii", "replace")
            for m in _SOAP_FIELD.finditer(head)
        }
        self.portmaps_out.add(
            (
                ts,
                ip_text(src),
                ip_text(dst),
                "soap-add-port-mapping",
                _port(fields.get("NewExternalPort")),
                _port(fields.get("NewInternalPort")),
                (fields.get("NewProtocol") or "").upper()[:8] or None,
                self.path,
            )
        )


def _port(text: str | None) -> int | None:
    return int(text) if text and text.isdigit() and int(text) < 65536 else None
