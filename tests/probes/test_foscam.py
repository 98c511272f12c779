"""Foscam's search protocol: the request as published, answers read by the SDK's layout, and
every bent or hostile datagram dropped with its reason -- also over a real socket, beside
Vivotek on the same UDP port."""

from __future__ import annotations

import asyncio
import struct
from pathlib import Path

import pytest

from coverwatch.discovery import DiscoveryProtocol
from coverwatch.probes import foscam, vivotek
from coverwatch.probes.protocol import MalformedReply
from coverwatch.sources.discovery import DiscoveryOptions, DiscoveryReport, DiscoverySource

ASSETS = Path(__file__).parent.parent / "assets" / "discovery"


def _hex(name: str) -> bytes:
    lines = (ASSETS / name).read_text().splitlines()
    return bytes.fromhex(" ".join(ln for ln in lines if not ln.startswith("#")))


ANSWER = _hex("foscam/answer.hex")


def _with(data: bytes, at: int, raw: bytes) -> bytes:
    return data[:at] + raw + data[at + len(raw) :]


HUGE = _with(ANSWER, 15, struct.pack("<I", 4000)) + bytes(3935)


def test_the_request_is_the_published_search_req() -> None:
    # The Search_Req bytes captured in paulgfrey/WebCamFinder (src/com/pf/webcam/WebCamFinder.java).
    published = bytes.fromhex("4d4f5f49 0000 00 0000000000000000 04000000 00000000 00000001")
    assert foscam.build_request() == published


def test_the_recorded_answer_reads_in_the_sdk_layout() -> None:
    (signals,) = foscam.parse_reply(ANSWER)
    assert signals == {
        "foscam.id": ["00626E4A3CD0"],
        "foscam.name": ["LivingRoom"],
        "foscam.ipv4": ["192.168.1.166"],
        "foscam.firmware": ["11.37.2.49"],
        "foscam.app_version": ["2.0.10.4"],
        "foscam.http_port": ["80"],
        "mac": ["00:62:6e:4a:3c:d0"],  # the camera id is the MAC (probes/foscam.py)
    }


def test_a_camera_id_that_is_no_mac_is_kept_as_the_id_only() -> None:
    (signals,) = foscam.parse_reply(_with(ANSWER, 23, b"CAM-0001\0\0\0\0\0"))
    assert signals["foscam.id"] == ["CAM-0001"] and "mac" not in signals


def test_an_answer_of_firmware_before_x_x_2_2_without_the_dhcp_byte_is_read() -> None:
    old = _with(ANSWER[:87], 15, struct.pack("<I", 64))
    assert foscam.parse_reply(old)[0]["foscam.http_port"] == ["80"]


def test_bytes_after_the_declared_text_are_not_read() -> None:
    assert foscam.parse_reply(ANSWER + b"\xff" * 18) == foscam.parse_reply(ANSWER)


#: (name, datagram, reason it is dropped for)
HOSTILE = [
    ("wrong magic", b"MO_O" + ANSWER[4:], "bad_magic"),
    ("a Vivotek answer on the shared port", _hex("vivotek/answer.hex"), "bad_magic"),
    ("header cut short", ANSWER[:20], "truncated"),
    ("answer cut short", ANSWER[:70], "truncated"),
    ("text longer than the datagram", _with(ANSWER, 15, struct.pack("<I", 200)), "truncated"),
    ("text too short for the fields", _with(ANSWER, 15, struct.pack("<I", 12)), "contradictory"),
    ("huge declared text", _with(ANSWER, 15, struct.pack("<I", 2**32 - 1)), "oversized"),
    ("huge datagram", HUGE, "oversized"),
    ("the search request itself", foscam.build_request(), "not_a_reply"),
    ("an Init_Resp (operation 3)", _with(ANSWER, 4, b"\x03\x00"), "not_a_reply"),
    ("no id and no name", _with(ANSWER, 23, bytes(34)), "empty"),
]


@pytest.mark.parametrize(
    ("datagram", "reason"), [h[1:] for h in HOSTILE], ids=[h[0] for h in HOSTILE]
)
def test_a_bad_datagram_is_dropped_with_its_reason(datagram: bytes, reason: str) -> None:
    with pytest.raises(MalformedReply) as caught:
        foscam.parse_reply(datagram)
    assert caught.value.reason == reason


def test_terminal_control_bytes_in_the_id_never_reach_the_facts() -> None:
    (signals,) = foscam.parse_reply(_with(ANSWER, 23, b"\x1b[31m\x07\0"))
    assert all(v.isprintable() for values in signals.values() for v in values)
    assert signals["foscam.name"] == ["LivingRoom"]


def test_vivotek_refuses_a_foscam_answer_on_the_shared_port() -> None:
    with pytest.raises(MalformedReply) as caught:
        vivotek.parse_reply(ANSWER)
    assert caught.value.reason == "bad_magic"


class _Device(asyncio.DatagramProtocol):
    """A 'camera' on 127.41.0.10:10000 answering Foscam's search with a cut answer, a huge one,
    an Init_Resp and a valid answer, and ignoring everything else (Vivotek's request)."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        if data[:4] != foscam.MAGIC:
            return
        send = self.transport.sendto  # type: ignore[attr-defined]
        for reply in (ANSWER[:60], HUGE, _with(ANSWER, 4, b"\x03\x00"), ANSWER):
            send(reply, addr)


def test_discovery_keeps_the_answer_and_counts_the_rest_by_reason() -> None:
    async def run() -> DiscoveryReport:
        loop = asyncio.get_running_loop()
        transport, _ = await loop.create_datagram_endpoint(
            _Device, local_addr=("127.41.0.10", foscam.PORT)
        )
        try:
            wanted = (DiscoveryProtocol.FOSCAM, DiscoveryProtocol.VIVOTEK)
            source = DiscoverySource(DiscoveryOptions(("127.41.0.10",), None, 0.5, wanted))
            return await source.discover()
        finally:
            transport.close()

    report = asyncio.run(run())
    assert report.malformed == {
        "foscam.truncated": 1,
        "foscam.oversized": 1,
        "foscam.not_a_reply": 1,
    }
    found = {(o.signal, o.value, o.protocol) for o in report.observations["127.41.0.10"]}
    assert ("foscam.firmware", "11.37.2.49", "foscam") in found
    assert {p for _s, _v, p in found} == {"foscam"}  # Vivotek's request got no answer
