"""DHIP framing, search request and reply parser, including hostile replies."""

from __future__ import annotations

import json
import struct

import pytest

from coverwatch.probes import dhip
from coverwatch.probes.dhip import MalformedDhip

REPLY = {
    "mac": "4c:11:bf:c2:0b:9d",
    "method": "client.notifyDevInfo",
    "params": {
        "deviceInfo": {
            "DeviceClass": "IPC",
            "DeviceType": "IPC-HDW5421S",
            "HttpPort": 80,
            "IPv4Address": {"IPAddress": "192.0.2.140", "DhcpEnable": False},
            "MachineName": "1F006E4PAX00075",
            "Manufacturer": "Private",
            "Port": 37777,
            "SerialNo": "1F006E4PAX00075",
            "Vendor": "Dahua",
            "Version": "2.400.0.8",
        }
    },
}


def test_search_is_framed() -> None:
    packet = dhip.build_search()
    size, magic, _, _, length1, _, length2, _ = struct.unpack_from("<I4sIIIIII", packet)
    assert (size, magic) == (32, b"DHIP")
    assert length1 == length2 == len(packet) - 32
    assert json.loads(packet[32:])["method"] == "DHDiscover.search"


def test_reply_signals() -> None:
    signals = dhip.parse_reply(dhip.frame(json.dumps(REPLY).encode()))
    assert signals["dhip.device_type"] == "IPC-HDW5421S"
    assert signals["dhip.serial"] == "1F006E4PAX00075"
    assert signals["dhip.vendor"] == "Dahua"
    assert signals["dhip.version"] == "2.400.0.8"
    assert signals["dhip.http_port"] == "80"
    assert signals["dhip.ipv4"] == "192.0.2.140"
    assert signals["mac"] == "4c:11:bf:c2:0b:9d"


def _bad_lengths() -> bytes:
    # NOTE: a notification whose length runs past the datagram is read pair by pair (a first
    # fragment looks like that, see below); any other message is dropped
    body = json.dumps({**REPLY, "method": "configManager.getConfig", "params": {}}).encode()
    return struct.pack("<I4sIIIIII", 32, b"DHIP", 0, 0, len(body) + 50, 0, len(body) + 50, 0) + body


@pytest.mark.parametrize(
    "data",
    [
        b"\x20\x00\x00\x00DHIP\x00\x00",  # truncated header
        b"",
        b"\x20\x00\x00\x00DHIX" + b"\x00" * 24 + b"{}",  # wrong magic
        _bad_lengths(),  # length beyond the datagram
        dhip.frame(b"\xff\xfe not utf-8"),
        dhip.frame(b"{not json"),
        dhip.frame(b"[" * 100_000),  # nesting bomb
        dhip.build_search(),  # our own request looped back
        dhip.frame(json.dumps({"method": "client.notifyDevInfo", "params": {}}).encode()),
    ],
)
def test_hostile_replies_are_malformed(data: bytes) -> None:
    with pytest.raises(MalformedDhip):
        dhip.parse_reply(data)


def test_a_notification_cut_by_fragmentation_still_names_the_device() -> None:
    body = json.dumps(
        {
            "mac": "3c:ef:8c:01:02:03",
            "method": "client.notifyDevInfo",
            "params": {
                "deviceInfo": {"DeviceType": "IPC-HDW5421S", "SerialNo": "4J0186F", "X": "y" * 3000}
            },
        }
    ).encode()
    first_fragment = dhip.frame(body)[:1472]  # what a capture without reassembly holds
    signals = dhip.parse_reply(first_fragment)
    assert signals["dhip.device_type"] == "IPC-HDW5421S"
    assert signals["dhip.serial"] == "4J0186F"
    assert signals["mac"] == "3c:ef:8c:01:02:03"


def test_a_cut_datagram_that_is_not_a_notification_stays_malformed() -> None:
    with pytest.raises(dhip.MalformedDhip):
        dhip.parse_reply(dhip.frame(b'{"method": "other", "SerialNo": "1"' + b" " * 100)[:60])
