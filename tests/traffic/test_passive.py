"""Passive identities from captures: the lab's planted ones, and a hand-built capture of a
D-Link camera's setup (DHCP, DNS, TLS, HTTP) with malformed packets mixed in."""

from __future__ import annotations

import socket
import ssl
from pathlib import Path

import dpkt
import pytest

from coverwatch.lab.capture import LabCapture
from coverwatch.lab.site import LabHost
from coverwatch.models import Observation, SourceKind
from coverwatch.traffic.passive import (
    client_hello_sni,
    passive_observations,
    query_names,
)

CAM_MAC = bytes.fromhex("b0c554000001")
CAM_IP, CAM_IP2 = "192.168.0.20", "192.168.0.21"
ROUTER_MAC = bytes.fromhex("020000000001")
ROUTER = "192.168.0.1"
PC = "192.168.0.50"
OUTSIDE = "93.184.216.34"


def test_identities(lab_capture: LabCapture, lab_site: list[LabHost]) -> None:
    found = passive_observations([lab_capture.path])
    assert set(found) >= {h.ip for h in lab_site}
    for host in lab_site:
        observations = found[host.ip]
        assert all(o.source is SourceKind.CAPTURE and o.observed_at for o in observations)
        signals = {(o.signal, o.value) for o in observations}
        truth = lab_capture.identities[host.ip]
        assert ("mac", host.mac) in signals
        assert ("dhcp.hostname", truth["dhcp.hostname"]) in signals
        assert ("dhcp.vendor_class", "udhcp 1.20.2") in signals
        for protocol in filter(None, truth["protocols"].split(",")):
            assert any(o.protocol == protocol for o in observations), (host.ip, protocol)
        if "sadp" in truth["protocols"]:
            assert ("sadp.serial", host.serial) in signals


def test_some_of_each_protocol(lab_capture: LabCapture) -> None:
    found = passive_observations([lab_capture.path])
    protocols = {o.protocol for obs in found.values() for o in obs}
    assert protocols >= {"arp", "dhcp", "sadp", "wsdiscovery", "dhip", "mdns", "dns"}


def test_lab_cloud_lookups_belong_to_the_camera_not_the_resolver(lab_capture: LabCapture) -> None:
    found = passive_observations([lab_capture.path])
    lookups = {o.value: ip for ip, obs in found.items() for o in obs if o.signal == "dns.query"}
    assert "litedev.hik-connect.com" in lookups
    assert lookups["litedev.hik-connect.com"] != lab_capture.gateway


# --- a hand-built capture ---------------------------------------------------------------------


def _mac(ip: str) -> bytes:
    return {CAM_IP: CAM_MAC, CAM_IP2: CAM_MAC, ROUTER: ROUTER_MAC}.get(ip, bytes.fromhex("02" * 6))


def _eth(src: str, dst: str, l4: dpkt.Packet, proto: int) -> bytes:
    ip = dpkt.ip.IP(src=socket.inet_aton(src), dst=socket.inet_aton(dst), p=proto, ttl=64)
    ip.data = l4
    ip.len = 20 + len(bytes(l4))
    return bytes(dpkt.ethernet.Ethernet(src=_mac(src), dst=_mac(dst), type=0x0800, data=ip))


def _udp(src: str, sport: int, dst: str, dport: int, payload: bytes) -> bytes:
    return _eth(src, dst, dpkt.udp.UDP(sport=sport, dport=dport, data=payload), 17)


def _tcp(src: str, sport: int, dst: str, dport: int, payload: bytes) -> bytes:
    segment = dpkt.tcp.TCP(sport=sport, dport=dport, flags=dpkt.tcp.TH_ACK, data=payload)
    return _eth(src, dst, segment, 6)


def _dhcp(kind: int, ip: str, reply: bool = False) -> bytes:
    opts = [(dpkt.dhcp.DHCP_OPT_MSGTYPE, bytes([kind]))]
    if not reply:
        opts += [
            (dpkt.dhcp.DHCP_OPT_REQ_IP, socket.inet_aton(ip)),
            (dpkt.dhcp.DHCP_OPT_HOSTNAME, b"DCS-930L"),
            (dpkt.dhcp.DHCP_OPT_VENDOR_ID, b"udhcp 0.9.9-pre"),
            (dpkt.dhcp.DHCP_OPT_PARAM_REQ, bytes([1, 3, 6, 12, 15, 28])),
        ]
    message = dpkt.dhcp.DHCP(
        op=dpkt.dhcp.DHCP_OP_REPLY if reply else dpkt.dhcp.DHCP_OP_REQUEST,
        chaddr=CAM_MAC,
        xid=7,
        yiaddr=int.from_bytes(socket.inet_aton(ip), "big") if reply else 0,
        opts=opts,
    )
    if reply:
        return _udp(ROUTER, 67, ip, 68, bytes(message))
    return _udp("0.0.0.0", 68, "255.255.255.255", 67, bytes(message))


def _query(name: str, qid: int = 1, response: bool = False) -> bytes:
    message = dpkt.dns.DNS(id=qid, op=dpkt.dns.DNS_RD, qd=[dpkt.dns.DNS.Q(name=name)])
    if response:
        message.qr = dpkt.dns.DNS_R
    return bytes(message)


def real_client_hello(server_name: str) -> bytes:
    """The ClientHello the local OpenSSL sends (memory BIOs: nothing leaves the process)."""
    outgoing = ssl.MemoryBIO()
    tls = ssl.create_default_context().wrap_bio(
        ssl.MemoryBIO(), outgoing, server_hostname=server_name
    )
    with pytest.raises(ssl.SSLWantReadError):
        tls.do_handshake()
    return outgoing.read()


def _write(path: Path, frames: list[bytes]) -> str:
    with path.open("wb") as handle:
        writer = dpkt.pcap.Writer(handle)
        for i, frame in enumerate(frames):
            writer.writepkt(frame, ts=1_767_600_000 + i)
    return str(path)


def _setup_capture(path: Path) -> str:
    hello = real_client_hello("mp-eu-dcdda.auto.mydlink.com")
    request = (
        b"GET /common/info.cgi HTTP/1.1\r\nHost: www.mydlink.com\r\n"
        b"User-Agent: dlink-camera/1.0\r\n\r\n"
    )
    frames = [
        _dhcp(dpkt.dhcp.DHCPREQUEST, CAM_IP),
        _dhcp(dpkt.dhcp.DHCPACK, CAM_IP, reply=True),
        _udp(CAM_IP, 40001, ROUTER, 53, _query("www.mydlink.com", 1)),
        _udp(CAM_IP, 40001, ROUTER, 53, _query("WWW.MyDlink.com", 2)),  # same name, other case
        _udp(ROUTER, 53, CAM_IP, 40001, _query("www.mydlink.com", 1, response=True)),
        # the router forwards the lookup upstream: its lookups are its clients' names
        _udp(ROUTER, 5300, "8.8.8.8", 53, _query("www.mydlink.com", 9)),
        # an mDNS question is not a DNS lookup
        _udp(CAM_IP, 5353, "224.0.0.251", 5353, _query("printer.local", 0)),
        _udp(CAM_IP, 40002, ROUTER, 53, _query("20.0.168.192.in-addr.arpa", 3)),
        _tcp(CAM_IP, 40003, "203.0.113.5", 443, hello),
        _tcp(CAM_IP, 40004, "203.0.113.5", 80, request),
        _tcp(CAM_IP, 80, PC, 50000, b"HTTP/1.0 200 OK\r\nServer: alphapd\r\n\r\n<html>"),
        _tcp(CAM_IP, 554, PC, 50001, b"RTSP/1.0 200 OK\r\nCSeq: 1\r\nServer: Dcs Rtsp\r\n\r\n"),
        # an internet server answering is not a device of the site
        _tcp(OUTSIDE, 80, CAM_IP, 40005, b"HTTP/1.1 200 OK\r\nServer: ECS (dcb/7F83)\r\n\r\n"),
        # a PC's SSDP search names the PC, not what it searches for
        _udp(
            PC,
            50002,
            "239.255.255.250",
            1900,
            b'M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nMAN: "ssdp:discover"\r\n'
            b"ST: urn:schemas-upnp-org:device:MediaServer:1\r\nUSER-AGENT: Android/14 UPnP/1.1 "
            b"TestApp/2\r\n\r\n",
        ),
        # a DHCP renewal on a new address: the same MAC and DHCP identity under both
        _dhcp(dpkt.dhcp.DHCPREQUEST, CAM_IP2),
        _dhcp(dpkt.dhcp.DHCPACK, CAM_IP2, reply=True),
    ]
    return _write(path, frames)


def _signals(found: dict[str, list[Observation]], ip: str) -> set[tuple[str, str]]:
    return {(o.signal, o.value) for o in found.get(ip, [])}


def test_setup_capture_signals_of_the_sender(tmp_path: Path) -> None:
    found = passive_observations([_setup_capture(tmp_path / "setup.pcap")])
    camera = _signals(found, CAM_IP)
    assert {
        ("mac", "b0:c5:54:00:00:01"),
        ("dhcp.hostname", "DCS-930L"),
        ("dhcp.vendor_class", "udhcp 0.9.9-pre"),
        ("dns.query", "www.mydlink.com"),
        ("tls.sni", "mp-eu-dcdda.auto.mydlink.com"),
        ("http.user_agent", "dlink-camera/1.0"),
        ("http.server", "alphapd"),
        ("rtsp.server", "Dcs Rtsp"),
    } <= camera
    assert [v for s, v in camera if s == "dns.query"] == ["www.mydlink.com"]
    assert not any(s.startswith("dns") for s, _ in _signals(found, ROUTER))
    assert OUTSIDE not in found
    pc = _signals(found, PC)
    assert ("upnp.server", "Android/14 UPnP/1.1 TestApp/2") in pc
    assert not any(s == "upnp.st" for s, _ in pc)
    renewed = _signals(found, CAM_IP2)
    assert {("mac", "b0:c5:54:00:00:01"), ("dhcp.hostname", "DCS-930L")} <= renewed
    ports = {o.signal: (o.port, o.protocol) for o in found[CAM_IP]}
    assert ports["http.server"] == (80, "http")
    assert ports["tls.sni"] == (None, "tls")


def test_malformed_packets_are_skipped(tmp_path: Path) -> None:
    hello = real_client_hello("camera.example.com")
    bad_label = b"\x00\x01\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x40" + b"a" * 10
    frames = [
        _tcp(CAM_IP, 40000, OUTSIDE, 443, hello[:60]),  # cut before the extensions
        _tcp(CAM_IP, 40000, OUTSIDE, 443, hello[:5] + b"\x01\x00\xff\xff" + bytes(40)),
        _tcp(CAM_IP, 40001, OUTSIDE, 80, b"GET / HTTP/1.1\r\nUser-Agent"),
        _tcp(CAM_IP, 40002, OUTSIDE, 80, b"GETTING / HTTP/1.1\r\nUser-Agent: x\r\n\r\n"),
        _udp(CAM_IP, 40003, ROUTER, 53, bad_label),
        _udp(CAM_IP, 40003, ROUTER, 53, b"\x00\x01"),
        _udp(CAM_IP, 40003, ROUTER, 53, _query("bad name!.example.com")),
        _tcp(CAM_IP, 40004, OUTSIDE, 443, b"\x16\x03"),
        _eth(CAM_IP, OUTSIDE, dpkt.tcp.TCP(sport=1, dport=2), 6)[:40],  # TCP header cut short
        b"\x00" * 10,
        _tcp(CAM_IP, 40005, OUTSIDE, 443, real_client_hello("ok.example.com")),
    ]
    found = passive_observations([_write(tmp_path / "bad.pcap", frames)])
    assert _signals(found, CAM_IP) == {("tls.sni", "ok.example.com")}


def test_per_host_bounds(tmp_path: Path) -> None:
    frames = [
        _udp(CAM_IP, 40000 + i, ROUTER, 53, _query(f"host{i}.example.com", i)) for i in range(300)
    ]
    frames += [
        _tcp(CAM_IP, 40000, OUTSIDE, 80, f"GET / HTTP/1.1\r\nUser-Agent: a{i}\r\n\r\n".encode())
        for i in range(100)
    ]
    found = passive_observations([_write(tmp_path / "many.pcap", frames)])
    signals = [o.signal for o in found[CAM_IP]]
    assert signals.count("dns.query") == 64
    assert signals.count("http.user_agent") == 16


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        (_query("A.Example.COM."), ["a.example.com"]),
        (_query("x.local"), []),
        (_query("a.example.com", response=True), []),
        (b"\x00\x01\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\xc0\x0c\x00\x01\x00\x01", []),
        (b"", []),
    ],
)
def test_query_names(payload: bytes, expected: list[str]) -> None:
    assert query_names(payload) == expected


def test_sni_of_a_real_client_hello() -> None:
    assert client_hello_sni(real_client_hello("Dev.Hik-Connect.com")) == "dev.hik-connect.com"
    assert client_hello_sni(b"\x17\x03\x03" + bytes(200)) is None


def test_ack_alone_ties_the_mac_to_its_address(tmp_path: Path) -> None:
    """A capture taken beside the DHCP server may hold only the ACK: the MAC still gets its IP."""
    path = _write(tmp_path / "ack.pcap", [_dhcp(dpkt.dhcp.DHCPACK, CAM_IP2, reply=True)])
    found = passive_observations([path])
    assert _signals(found, CAM_IP2) == {("mac", "b0:c5:54:00:00:01")}


def test_traffic_import_reads_each_capture_once_for_flows_and_devices(
    lab_capture: LabCapture, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue #10 part 6: one pass per capture gives the flows and the same passive devices."""
    from click.testing import CliRunner

    from coverwatch.cli import cli
    from coverwatch.store import open_inventory
    from coverwatch.traffic import flows, passive, pcap

    passes: list[str] = []
    real = pcap.read_frames

    def counted(path: str, *args: object, **kwargs: object) -> object:
        passes.append(path)
        return real(path, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(flows, "read_frames", counted)
    monkeypatch.setattr(passive, "read_frames", counted)
    db = tmp_path / "inv.db"
    done = CliRunner().invoke(
        cli, ["--db", str(db), "traffic", "import", lab_capture.path, "--site", "lab"]
    )
    assert done.exit_code == 0, done.output
    assert passes == [lab_capture.path]
    monkeypatch.undo()
    alone = {ip for ip, obs in passive_observations([lab_capture.path]).items() if obs}
    inventory = open_inventory(str(db))
    try:
        recorded = {a.ip for d in inventory.devices("lab") for a in d.addresses}
    finally:
        inventory.close()
    assert alone and alone <= recorded


def test_a_ws_discovery_hello_in_a_capture_names_its_sender(tmp_path: Path) -> None:
    # a camera joining the segment multicasts Hello (WS-Discovery 2005, section 4.1); the PC's
    # Probe and its own Hello (a Windows computer, not an ONVIF device) name nothing
    hello = (
        '<?xml version="1.0" encoding="UTF-8"?><env:Envelope '
        'xmlns:env="http://www.w3.org/2003/05/soap-envelope" '
        'xmlns:wsa="http://schemas.xmlsoap.org/ws/2004/08/addressing" '
        'xmlns:d="http://schemas.xmlsoap.org/ws/2005/04/discovery"><env:Body><d:Hello>'
        "<wsa:EndpointReference><wsa:Address>urn:uuid:aa85c000-6324-11b3-819e-4419b6000001"
        "</wsa:Address></wsa:EndpointReference><d:Types>dn:NetworkVideoTransmitter</d:Types>"
        "<d:Scopes>onvif://www.onvif.org/hardware/DS-2CD2385G1-I</d:Scopes>"
        f"<d:XAddrs>http://{CAM_IP}/onvif/device_service</d:XAddrs>"
        "<d:MetadataVersion>1</d:MetadataVersion></d:Hello></env:Body></env:Envelope>"
    ).encode()
    probe = (
        b'<?xml version="1.0"?><env:Envelope xmlns:env="http://www.w3.org/2003/05/soap-envelope" '
        b'xmlns:d="http://schemas.xmlsoap.org/ws/2005/04/discovery"><env:Body><d:Probe>'
        b"<d:Types>dn:NetworkVideoTransmitter</d:Types></d:Probe></env:Body></env:Envelope>"
    )
    computer = (
        b'<?xml version="1.0"?><soap:Envelope xmlns:soap="http://www.w3.org/2003/05/soap-envelope"'
        b' xmlns:wsa="http://schemas.xmlsoap.org/ws/2004/08/addressing"'
        b' xmlns:wsd="http://schemas.xmlsoap.org/ws/2005/04/discovery"><soap:Body><wsd:Hello>'
        b"<wsa:EndpointReference><wsa:Address>urn:uuid:6b3c2a10-1234-4f5e-9a7b-001122334455"
        b"</wsa:Address></wsa:EndpointReference><wsd:Types>wsdp:Device pub:Computer</wsd:Types>"
        b"<wsd:XAddrs>http://192.168.0.50:5357/6b3c2a10-1234-4f5e-9a7b-001122334455/</wsd:XAddrs>"
        b"</wsd:Hello></soap:Body></soap:Envelope>"
    )
    frames = [
        _udp(CAM_IP, 3702, "239.255.255.250", 3702, hello),
        _udp(PC, 50010, "239.255.255.250", 3702, probe),
        _udp(PC, 3702, "239.255.255.250", 3702, computer),
    ]
    found = passive_observations([_write(tmp_path / "hello.pcap", frames)])
    camera = _signals(found, CAM_IP)
    assert {
        ("onvif.endpoint", "urn:uuid:aa85c000-6324-11b3-819e-4419b6000001"),
        ("onvif.scope.hardware", "DS-2CD2385G1-I"),
        ("mac", "b0:c5:54:00:00:01"),
    } <= camera
    assert PC not in found
