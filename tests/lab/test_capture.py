"""The lab capture reads back in tshark: valid UDP/TCP/IP headers, DNS names, DHCP options, SADP.

The oracle is Wireshark's own dissectors (tshark), not our parsers: a user cross-checks
coverwatch's claims with the tools they already run (issue 14).
"""

from __future__ import annotations

import shutil
import subprocess

import pytest

from coverwatch.lab.capture import LabCapture, write_lab_capture
from coverwatch.lab.site import LabHost, build_site

TSHARK = shutil.which("tshark")
pytestmark = pytest.mark.skipif(TSHARK is None, reason="tshark not installed")


@pytest.fixture(scope="module")
def site() -> list[LabHost]:
    return build_site(40, seed=7)


@pytest.fixture(scope="module")
def capture(site: list[LabHost], tmp_path_factory: pytest.TempPathFactory) -> LabCapture:
    path = tmp_path_factory.mktemp("capture") / "lab.pcap"
    return write_lab_capture(site, str(path), seed=7)


def _tshark(path: str, *args: str) -> list[list[str]]:
    assert TSHARK is not None
    done = subprocess.run(
        [TSHARK, "-r", path, *args], capture_output=True, text=True, check=True, timeout=120
    )
    return [line.split("\t") for line in done.stdout.splitlines() if line]


def _fields(path: str, display_filter: str, *fields: str) -> list[list[str]]:
    extra = [arg for field in fields for arg in ("-e", field)]
    return _tshark(path, "-Y", display_filter, "-T", "fields", *extra)


def test_no_malformed_header_or_bad_checksum(capture: LabCapture) -> None:
    warnings = _tshark(
        capture.path,
        "-o",
        "udp.check_checksum:TRUE",
        "-o",
        "tcp.check_checksum:TRUE",
        "-o",
        "ip.check_checksum:TRUE",
        "-Y",
        "_ws.expert.severity >= warning || _ws.malformed",
    )
    assert warnings == []
    udp = _fields(capture.path, "udp", "udp.length", "ip.len")
    assert udp and all(int(ulen) == int(iplen) - 20 for ulen, iplen in udp)


def test_dns_names_and_answers_read_back(capture: LabCapture) -> None:
    planted = {
        (name, address)
        for egress in capture.egress.values()
        for address, name, *_ in egress.destinations
        if name
    }
    assert planted
    answers = _fields(capture.path, "dns.flags.response == 1 && !mdns", "dns.qry.name", "dns.a")
    assert {(name, address) for name, address in answers} == planted


def test_dhcp_options_read_back(capture: LabCapture) -> None:
    rows = _fields(
        capture.path,
        "dhcp.option.dhcp == 3",
        "dhcp.option.requested_ip_address",
        "dhcp.hw.mac_addr",
        "dhcp.option.hostname",
    )
    seen = {ip: (mac, hostname) for ip, mac, hostname in rows}
    expected = {
        ip: (identity["mac"], identity["dhcp.hostname"])
        for ip, identity in capture.identities.items()
    }
    assert seen == expected


def test_sadp_replies_carry_their_device_payload(capture: LabCapture, site: list[LabHost]) -> None:
    rows = _fields(capture.path, "udp.srcport == 37020", "ip.src", "data.data")
    payloads = {src: bytes.fromhex(data) for src, data in rows if src != capture.nvr}
    answering = {ip for ip, i in capture.identities.items() if "sadp" in i["protocols"]}
    assert answering and set(payloads) == answering
    serials = {h.ip: h.serial for h in site}
    for ip, payload in payloads.items():
        assert b"<ProbeMatch>" in payload
        assert serials[ip].encode() in payload, ip
