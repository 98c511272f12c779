"""A generated, deterministic capture of a lab site's traffic, with the ground truth planted.

``write_lab_capture`` writes a pcap (Ethernet, microsecond timestamps) of what the site's
network would carry: ARP and DHCP for every host; a search of every registered discovery
protocol but SSDP (``coverwatch.discovery``) from the NVR, answered by the hosts that
speak them (answers from ``lab.answers``, the same bytes the live lab sends); the NVR pulling
RTSP from every camera with RTP streaming back; and the planted behaviours an audit must find: a
Hikvision camera resolving and contacting its vendor cloud (``litedev.hik-connect.com``), a
Dahua-firmware rebrand using the Easy4IP P2P service (``www.easy4ipcloud.com``, UDP 8800), a
camera asking the NTP pool for time (a third party), a camera uploading video to an address no
DNS answer names (unknown destination, large upload) and asking the router for a UPnP port
mapping, and a camera reaching a core-network server. It is a file: nothing is sent. Outside
addresses are documentation ranges (RFC 5737: 192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24).
"""

from __future__ import annotations

import heapq
import ipaddress
import random
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

import dpkt

from coverwatch.discovery import PROTOCOLS, DiscoveryProtocol
from coverwatch.lab.answers import Answerer, speaks
from coverwatch.lab.site import LabHost
from coverwatch.probes import sadp, wsdiscovery

#: Monday 2026-01-05 09:00:00 UTC: every lab capture starts here.
START = datetime(2026, 1, 5, 9, 0, 0, tzinfo=UTC).timestamp()
GATEWAY_MAC = "02:00:5e:00:00:01"
CORE_SERVER = "127.32.0.10"
CORE_MAC = "02:00:5e:00:00:02"
HIK_CLOUD = ("litedev.hik-connect.com", "203.0.113.10")
DAHUA_P2P = ("www.easy4ipcloud.com", "198.51.100.20")
NTP_POOL = ("pool.ntp.org", "192.0.2.123")
UNKNOWN_SINK = "203.0.113.99"

Packet = tuple[float, bytes]


@dataclass(frozen=True)
class PlantedEgress:
    """What the capture shows one device doing outside the site."""

    verdict: str
    """The expected ``EgressVerdict`` value."""
    destinations: tuple[tuple[str, str | None, str, int, str | None], ...] = ()
    """(address, DNS name, proto, port, endpoint id) of each outside destination."""
    large_upload: bool = False
    """Whether a sustained upload above 1 Mbit/s for over a minute was planted."""
    port_mapping: bool = False
    """Whether the device asked the router for a UPnP port mapping."""


@dataclass(frozen=True)
class LabCapture:
    """The written capture and its ground truth."""

    path: str
    packets: int
    start: datetime
    end: datetime
    gateway: str
    nvr: str
    core_server: str
    internal: list[str]
    zones: list[tuple[str, list[str]]]
    egress: dict[str, PlantedEgress]
    """Every host's expected egress (hosts not planted: ``no egress observed``)."""
    core_links: list[str]
    """Hosts that reach the core server."""
    identities: dict[str, dict[str, str]] = field(default_factory=dict)
    """Per host: ``mac``, ``dhcp.hostname`` and the discovery protocols it answers."""


def _mac(text: str) -> bytes:
    return bytes(int(part, 16) for part in text.split(":"))


def _udp(sport: int, dport: int, payload: bytes) -> dpkt.udp.UDP:
    """A UDP datagram whose length field covers its payload (RFC 768).

    The checksum is left zero so that ``dpkt.ip.IP`` computes it over the pseudo-header when
    the frame is packed.
    """
    # NOTE: dpkt leaves ``ulen`` at the bare header's 8 bytes unless told, and Wireshark, tshark
    # and Zeek then read no payload at all (issue 14).
    return dpkt.udp.UDP(sport=sport, dport=dport, ulen=8 + len(payload), data=payload)


def _multicast_mac(group: str) -> bytes:
    raw = socket.inet_aton(group)
    return b"\x01\x00\x5e" + bytes([raw[1] & 0x7F, raw[2], raw[3]])


class _Net:
    """Builds Ethernet/IPv4 frames between known hosts."""

    def __init__(self, macs: dict[str, str]) -> None:
        self.macs = {ip: _mac(m) for ip, m in macs.items()}
        self.gateway_mac = _mac(GATEWAY_MAC)

    def mac(self, ip: str) -> bytes:
        if ip in self.macs:
            return self.macs[ip]
        address = ipaddress.ip_address(ip)
        if address.is_multicast:
            return _multicast_mac(ip)
        if ip == "255.255.255.255":
            return b"\xff" * 6
        return self.gateway_mac  # routed: the router's MAC on this segment

    def frame(self, src: str, dst: str, l4: dpkt.Packet, proto: int) -> bytes:
        ip = dpkt.ip.IP(src=socket.inet_aton(src), dst=socket.inet_aton(dst), p=proto, ttl=64)
        ip.data = l4
        ip.len = 20 + len(bytes(l4))
        eth = dpkt.ethernet.Ethernet(src=self.mac(src), dst=self.mac(dst), type=0x0800)
        eth.data = ip
        return bytes(eth)

    def udp(self, src: str, sport: int, dst: str, dport: int, payload: bytes) -> bytes:
        return self.frame(src, dst, _udp(sport, dport, payload), 17)


class _Tcp:
    """One TCP connection: handshake, data both ways, optional close."""

    def __init__(self, net: _Net, client: str, cport: int, server: str, sport: int) -> None:
        self.net, self.c, self.cp, self.s, self.sp = net, client, cport, server, sport
        self.seq = {True: 1000, False: 5000}

    def _seg(self, from_client: bool, flags: int, data: bytes = b"") -> bytes:
        src, sport, dst, dport = (
            (self.c, self.cp, self.s, self.sp)
            if from_client
            else (self.s, self.sp, self.c, self.cp)
        )
        tcp = dpkt.tcp.TCP(
            sport=sport,
            dport=dport,
            seq=self.seq[from_client],
            ack=self.seq[not from_client],
            flags=flags,
            win=65535,
            data=data,
        )
        self.seq[from_client] = (self.seq[from_client] + len(data) + (flags & 0x03 > 0)) % 2**32
        return self.net.frame(src, dst, tcp, 6)

    def open(self, t: float) -> Iterator[Packet]:
        yield t, self._seg(True, dpkt.tcp.TH_SYN)
        yield t + 0.001, self._seg(False, dpkt.tcp.TH_SYN | dpkt.tcp.TH_ACK)
        yield t + 0.002, self._seg(True, dpkt.tcp.TH_ACK)

    def send(self, t: float, from_client: bool, data: bytes) -> Iterator[Packet]:
        yield t, self._seg(from_client, dpkt.tcp.TH_PUSH | dpkt.tcp.TH_ACK, data)

    def ack(self, t: float, from_client: bool) -> Iterator[Packet]:
        yield t, self._seg(from_client, dpkt.tcp.TH_ACK)

    def close(self, t: float) -> Iterator[Packet]:
        yield t, self._seg(True, dpkt.tcp.TH_FIN | dpkt.tcp.TH_ACK)
        yield t + 0.001, self._seg(False, dpkt.tcp.TH_FIN | dpkt.tcp.TH_ACK)
        yield t + 0.002, self._seg(True, dpkt.tcp.TH_ACK)


def _dns(
    net: _Net, t: float, client: str, server: str, qid: int, name: str, address: str, port: int
) -> Iterator[Packet]:
    query = dpkt.dns.DNS(id=qid, op=dpkt.dns.DNS_RD, qd=[dpkt.dns.DNS.Q(name=name)])
    yield t, net.udp(client, port, server, 53, bytes(query))
    answer = dpkt.dns.DNS(
        id=qid,
        op=dpkt.dns.DNS_RD | dpkt.dns.DNS_RA | 0x8000,
        qd=[dpkt.dns.DNS.Q(name=name)],
        an=[
            dpkt.dns.DNS.RR(
                name=name, type=dpkt.dns.DNS_A, ttl=300, rdata=socket.inet_aton(address)
            )
        ],
    )
    answer.qr = dpkt.dns.DNS_R
    yield t + 0.02, net.udp(server, 53, client, port, bytes(answer))


def _chatter(
    net: _Net, hosts: list[LabHost], gateway: str, nvr: str, rng: random.Random
) -> Iterator[Packet]:
    """ARP, DHCP and discovery: hosts boot in the first minute; the NVR searches at 90 s."""
    events: list[Packet] = []
    for host in hosts:
        t = START + rng.uniform(0, 50)
        mac = _mac(host.mac)
        xid = rng.randrange(2**32)
        hostname = f"{host.profile.name}-{host.mac.replace(':', '')[-6:]}"
        opts = [
            (dpkt.dhcp.DHCP_OPT_MSGTYPE, bytes([dpkt.dhcp.DHCPREQUEST])),
            (dpkt.dhcp.DHCP_OPT_REQ_IP, socket.inet_aton(host.ip)),
            (dpkt.dhcp.DHCP_OPT_HOSTNAME, hostname.encode()),
            (dpkt.dhcp.DHCP_OPT_VENDOR_ID, b"udhcp 1.20.2"),
            (dpkt.dhcp.DHCP_OPT_PARAM_REQ, bytes([1, 3, 6, 12, 15, 28, 42])),
        ]
        request = dpkt.dhcp.DHCP(op=dpkt.dhcp.DHCP_OP_REQUEST, chaddr=mac, xid=xid, opts=opts)
        ip = dpkt.ip.IP(
            src=b"\0\0\0\0",
            dst=b"\xff\xff\xff\xff",
            p=17,
            ttl=64,
            data=_udp(68, 67, bytes(request)),
        )
        ip.len = 20 + len(bytes(ip.data))
        events.append((t, bytes(dpkt.ethernet.Ethernet(src=mac, dst=b"\xff" * 6, data=ip))))
        ack = dpkt.dhcp.DHCP(
            op=dpkt.dhcp.DHCP_OP_REPLY,
            chaddr=mac,
            xid=xid,
            yiaddr=int.from_bytes(socket.inet_aton(host.ip), "big"),
            opts=[(dpkt.dhcp.DHCP_OPT_MSGTYPE, bytes([dpkt.dhcp.DHCPACK]))],
        )
        events.append((t + 0.01, net.udp(gateway, 67, host.ip, 68, bytes(ack))))
        arp = dpkt.arp.ARP(
            sha=mac,
            spa=socket.inet_aton(host.ip),
            tha=b"\0" * 6,
            tpa=socket.inet_aton(host.ip),
            op=dpkt.arp.ARP_OP_REQUEST,
        )
        events.append(
            (
                t + 0.5,
                bytes(
                    dpkt.ethernet.Ethernet(
                        src=mac, dst=b"\xff" * 6, type=dpkt.ethernet.ETH_TYPE_ARP, data=arp
                    )
                ),
            )
        )
    t = START + 90
    for protocol, (request, port, group) in _searches().items():
        spec = PROTOCOLS[DiscoveryProtocol(protocol)]
        events.append((t, net.udp(nvr, port, group, port, request)))
        for host in hosts:
            if host.ip == nvr or not speaks(host, protocol):
                continue
            reply = Answerer(host).answer(protocol, request)
            if reply is not None:
                # NOTE: SADP replies go to the group, not the asker (probes/sadp.py); Bosch
                # and Panasonic answer to a fixed port (ProtocolSpec.reply_port).
                target = group if spec.reply_to_group else nvr
                to_port = spec.reply_port or port
                events.append(
                    (t + rng.uniform(0.01, 0.5), net.udp(host.ip, port, target, to_port, reply))
                )
        t += 2
    yield from sorted(events)


#: Protocols whose searches the NVR sends: all but SSDP, whose answer is only a pointer to a
#: description the asker fetches over HTTP (not planted).
_SEARCHED = tuple(p for p in DiscoveryProtocol if p.value != "ssdp")


def _searches() -> dict[str, tuple[bytes, int, str]]:
    """The NVR's search per protocol: (request, port, group), fixed ids where a request has one."""
    specs = {p.value: PROTOCOLS[p] for p in _SEARCHED}
    found = {name: (s.build(s.group), s.port, s.group) for name, s in specs.items()}
    inquiry = sadp.build_inquiry("4F1E7C36-2B6A-4C7B-9E0F-5B1E0A0C0D01")
    found["sadp"] = (inquiry, sadp.PORT, sadp.GROUP)
    found["wsdiscovery"] = (
        wsdiscovery.build_probe("uuid:6c4d8a30-1f2e-4b5a-9c7d-0e1f2a3b4c5d"),
        wsdiscovery.PORT,
        wsdiscovery.GROUP,
    )
    return found


def _streams(
    net: _Net, cameras: list[LabHost], nvr: str, duration: float, pps: float, rng: random.Random
) -> Iterator[Packet]:
    """The NVR pulls RTSP from each camera; RTP flows back for the whole capture."""
    gens = []
    for n, cam in enumerate(cameras):
        gens.append(_stream(net, cam.ip, nvr, 40000 + 2 * n, duration, pps, rng.uniform(60, 70)))
    yield from heapq.merge(*gens)


def _stream(
    net: _Net, cam: str, nvr: str, port: int, duration: float, pps: float, t0: float
) -> Iterator[Packet]:
    tcp = _Tcp(net, nvr, port + 10000, cam, 554)
    t = START + t0
    yield from tcp.open(t)
    for i, verb in enumerate(("DESCRIBE", "SETUP", "PLAY")):
        request = f"{verb} rtsp://{cam}/Streaming/Channels/101 RTSP/1.0\r\nCSeq: {i + 2}\r\n\r\n"
        yield from tcp.send(t + 0.01 + i * 0.02, True, request.encode())
        yield from tcp.send(
            t + 0.02 + i * 0.02, False, f"RTSP/1.0 200 OK\r\nCSeq: {i + 2}\r\n\r\n".encode()
        )
    step = 1.0 / pps
    k = 0
    t += 0.1
    while t < START + duration:
        yield t, net.udp(cam, 6970, nvr, port, bytes(12) + bytes([k % 256]) * 1188)
        k += 1
        t += step


def _tls_record(size: int) -> bytes:
    """A TLS 1.2 application-data record of ``size`` opaque bytes (RFC 5246, section 6.2)."""
    return b"\x17\x03\x03" + size.to_bytes(2, "big") + bytes(size)


def _hik_cloud(net: _Net, cam: str, gateway: str, duration: float) -> Iterator[Packet]:
    name, address = HIK_CLOUD
    yield from _dns(net, START + 100, cam, gateway, 0x1A01, name, address, 40001)
    tcp = _Tcp(net, cam, 40002, address, 443)
    yield from tcp.open(START + 100.1)
    t = START + 100.2
    while t < START + duration - 5:
        yield from tcp.send(t, True, _tls_record(198))
        yield from tcp.send(t + 0.05, False, _tls_record(58))
        t += 30


def _dahua_p2p(net: _Net, cam: str, gateway: str, duration: float) -> Iterator[Packet]:
    name, address = DAHUA_P2P
    yield from _dns(net, START + 110, cam, gateway, 0x1A02, name, address, 40003)
    t = START + 110.1
    while t < START + duration - 5:
        body = b"DHPOST /probe/p2psrv HTTP/1.1\r\nCSeq: 1\r\n\r\n"
        yield t, net.udp(cam, 40004, address, 8800, body)
        yield t + 0.08, net.udp(address, 8800, cam, 40004, b"HTTP/1.1 200 OK\r\n\r\n" + bytes(80))
        t += 20


def _ntp(net: _Net, cam: str, gateway: str, duration: float) -> Iterator[Packet]:
    name, address = NTP_POOL
    yield from _dns(net, START + 120, cam, gateway, 0x1A03, name, address, 40005)
    t = START + 120.1
    while t < START + duration - 5:
        yield t, net.udp(cam, 123, address, 123, b"\x23" + bytes(47))
        yield t + 0.03, net.udp(address, 123, cam, 123, b"\x24" + bytes(47))
        t += 64


def _upload(net: _Net, cam: str, gateway: str, seconds: float, mbit: float) -> Iterator[Packet]:
    """UPnP: search for the router's IGD, ask it for a port mapping; then a sustained upload."""
    search = (
        b'M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nMAN: "ssdp:discover"\r\nMX: 2\r\n'
        b"ST: urn:schemas-upnp-org:service:WANIPConnection:1\r\n\r\n"
    )
    yield START + 130, net.udp(cam, 40006, "239.255.255.250", 1900, search)
    soap_body = (
        '<?xml version="1.0"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/">'
        '<s:Body><u:AddPortMapping xmlns:u="urn:schemas-upnp-org:service:WANIPConnection:1">'
        "<NewRemoteHost></NewRemoteHost><NewExternalPort>8554</NewExternalPort>"
        f"<NewProtocol>TCP</NewProtocol><NewInternalPort>554</NewInternalPort>"
        f"<NewInternalClient>{cam}</NewInternalClient><NewEnabled>1</NewEnabled>"
        "<NewPortMappingDescription>camera</NewPortMappingDescription>"
        "<NewLeaseDuration>0</NewLeaseDuration></u:AddPortMapping></s:Body></s:Envelope>"
    )
    soap = (
        f"POST /ctl/IPConn HTTP/1.1\r\nHOST: {gateway}:5000\r\nCONTENT-TYPE: text/xml\r\n"
        'SOAPACTION: "urn:schemas-upnp-org:service:WANIPConnection:1#AddPortMapping"\r\n'
        f"CONTENT-LENGTH: {len(soap_body)}\r\n\r\n{soap_body}"
    ).encode()
    igd = _Tcp(net, cam, 40007, gateway, 5000)
    yield from igd.open(START + 131)
    yield from igd.send(START + 131.01, True, soap)
    yield from igd.send(START + 131.05, False, b"HTTP/1.1 200 OK\r\nCONTENT-LENGTH: 0\r\n\r\n")
    yield from igd.close(START + 131.1)
    tcp = _Tcp(net, cam, 40008, UNKNOWN_SINK, 443)
    t = START + 140
    yield from tcp.open(t)
    size = 1400
    step = size * 8 / (mbit * 1e6)
    end = t + seconds
    t += 0.01
    sent = 0
    while t < end:
        yield from tcp.send(t, True, bytes(size - 40))
        sent += 1
        if sent % 32 == 0:
            # NOTE: the receiver acknowledges within its 64 KiB window, as a real one must;
            # without it tshark flags the close as acknowledging unseen data.
            yield from tcp.ack(t + step / 2, False)
        t += step
    yield from tcp.close(end)


def _core(net: _Net, cam: str, duration: float) -> Iterator[Packet]:
    tcp = _Tcp(net, cam, 40009, CORE_SERVER, 445)
    yield from tcp.open(START + 150)
    yield from tcp.send(START + 150.01, True, b"\x00\x00\x00\x45\xfeSMB" + bytes(64))
    yield from tcp.send(START + 150.02, False, b"\x00\x00\x00\x45\xfeSMB" + bytes(64))
    yield from tcp.close(START + 150.1)


def _pick(
    hosts: list[LabHost], rng: random.Random, maker: str | None, used: set[str]
) -> LabHost | None:
    cams = [
        h
        for h in hosts
        if h.profile.truth.get("device_type") == "camera"
        and h.ip not in used
        and (maker is None or h.profile.truth.get("maker") == maker)
    ]
    if not cams:
        return None
    # prefer a white-label box (brand other than its firmware's maker) when there is one
    rebrands = [h for h in cams if maker and h.profile.truth.get("brand") not in (None, maker)]
    choice = rng.choice(sorted(rebrands or cams, key=lambda h: ipaddress.ip_address(h.ip)))
    used.add(choice.ip)
    return choice


def _gateway(hosts: list[LabHost]) -> str:
    taken = {h.ip for h in hosts}
    net = ipaddress.ip_network(f"{hosts[0].ip}/24", strict=False)
    for candidate in reversed(list(net.hosts())):
        if str(candidate) not in taken:
            return str(candidate)
    raise ValueError("no free address for the lab gateway")


def write_lab_capture(
    hosts: list[LabHost],
    path: str,
    seed: int,
    duration: float = 300.0,
    rtp_pps: float = 2.0,
    upload_seconds: float = 90.0,
    upload_mbit: float = 2.0,
) -> LabCapture:
    """Write the site's traffic to ``path`` (pcap) and return what was planted.

    Deterministic: the same hosts, seed and parameters give the same bytes.
    """
    if not hosts:
        raise ValueError("a lab capture needs at least one host")
    rng = random.Random(seed)
    gateway = _gateway(hosts)
    net = _Net({**{h.ip: h.mac for h in hosts}, gateway: GATEWAY_MAC, CORE_SERVER: CORE_MAC})
    nvrs = [h for h in hosts if h.profile.truth.get("device_type") == "nvr"]
    nvr = (nvrs or hosts)[0].ip
    cameras = [h for h in hosts if h.profile.truth.get("device_type") == "camera" and h.ip != nvr]
    used: set[str] = set()
    dahua = _pick(hosts, rng, "Dahua", used)  # the rebrand on Dahua firmware (Amcrest, ...)
    hik = _pick(hosts, rng, "Hikvision", used)
    ntp, uploader, core = (
        _pick(hosts, rng, None, used),
        _pick(hosts, rng, None, used),
        _pick(hosts, rng, None, used),
    )
    gens: list[Iterator[Packet]] = [
        _chatter(net, hosts, gateway, nvr, rng),
        _streams(net, cameras, nvr, duration, rtp_pps, rng),
    ]
    planted: dict[str, PlantedEgress] = {}
    if hik:
        gens.append(_hik_cloud(net, hik.ip, gateway, duration))
        planted[hik.ip] = PlantedEgress(
            "vendor cloud", ((HIK_CLOUD[1], HIK_CLOUD[0], "tcp", 443, "hik-connect-device"),)
        )
    if dahua:
        gens.append(_dahua_p2p(net, dahua.ip, gateway, duration))
        planted[dahua.ip] = PlantedEgress(
            "vendor cloud", ((DAHUA_P2P[1], DAHUA_P2P[0], "udp", 8800, "dahua-easy4ip-p2p"),)
        )
    if ntp:
        gens.append(_ntp(net, ntp.ip, gateway, duration))
        planted[ntp.ip] = PlantedEgress(
            "third party", ((NTP_POOL[1], NTP_POOL[0], "udp", 123, "ntp-pool"),)
        )
    if uploader:
        gens.append(_upload(net, uploader.ip, gateway, upload_seconds, upload_mbit))
        planted[uploader.ip] = PlantedEgress(
            "unknown destination",
            ((UNKNOWN_SINK, None, "tcp", 443, None),),
            large_upload=True,
            port_mapping=True,
        )
    if core:
        gens.append(_core(net, core.ip, duration))
    count, first, last = _write(path, heapq.merge(*gens))
    egress = {h.ip: planted.get(h.ip, PlantedEgress("no egress observed")) for h in hosts}
    identities = {
        h.ip: {
            "mac": h.mac,
            "dhcp.hostname": f"{h.profile.name}-{h.mac.replace(':', '')[-6:]}",
            "protocols": ",".join(p.value for p in _SEARCHED if speaks(h, p.value) and h.ip != nvr),
        }
        for h in hosts
    }
    site_net = str(ipaddress.ip_network(f"{hosts[0].ip}/16", strict=False))
    return LabCapture(
        path=path,
        packets=count,
        start=datetime.fromtimestamp(first, UTC),
        end=datetime.fromtimestamp(last, UTC),
        gateway=gateway,
        nvr=nvr,
        core_server=CORE_SERVER,
        internal=[site_net, "127.32.0.0/16"],
        zones=[("site", [site_net]), ("core", ["127.32.0.0/16"])],
        egress=egress,
        core_links=[core.ip] if core else [],
        identities=identities,
    )


def _write(path: str, packets: Iterator[Packet]) -> tuple[int, float, float]:
    count, first, last = 0, 0.0, 0.0
    with open(path, "wb") as handle:
        writer = dpkt.pcap.Writer(handle, snaplen=65535, linktype=dpkt.pcap.DLT_EN10MB)
        for ts, frame in packets:
            writer.writepkt(frame, ts=ts)
            if not count:
                first = ts
            count += 1
            last = ts
    return count, first, last
