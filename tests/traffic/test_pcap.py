"""Hostile captures: written here, read without a crash, damage counted or one InputError."""

from __future__ import annotations

import socket
import struct
import tracemalloc
from pathlib import Path

import dpkt
import pytest

from coverwatch.errors import InputError
from coverwatch.traffic.ingest import ingest

_HEADER = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)


def _frame(src: str = "10.0.0.1", dst: str = "198.51.100.1", sport: int = 1000) -> bytes:
    udp = dpkt.udp.UDP(sport=sport, dport=53, data=b"x" * 20)
    ip = dpkt.ip.IP(src=socket.inet_aton(src), dst=socket.inet_aton(dst), p=17, data=udp)
    ip.len = 20 + len(bytes(udp))
    return bytes(dpkt.ethernet.Ethernet(src=b"\x02" * 6, dst=b"\x04" * 6, data=ip))


#: 2026-01-05 09:00 UTC: frame times must be sane (after 1990, not in the future).
T0 = 1_767_603_600


def _record(data: bytes, ts: int = 0, incl: int | None = None) -> bytes:
    return struct.pack("<IIII", T0 + ts, 0, len(data) if incl is None else incl, len(data)) + data


def _write(tmp_path: Path, body: bytes, header: bytes = _HEADER) -> str:
    path = tmp_path / "hostile.pcap"
    path.write_bytes(header + body)
    return str(path)


def test_truncated_last_packet_counted(tmp_path: Path) -> None:
    good = _record(_frame()) * 3
    path = _write(tmp_path, good + _record(_frame())[:30])
    (report,) = ingest([path], str(tmp_path / "s")).files
    assert report.packets == 3 and report.flows == 1
    assert report.warnings == {"truncated_file": 1}


def test_absurd_record_length_stops_with_warning(tmp_path: Path) -> None:
    path = _write(tmp_path, _record(_frame()) + _record(b"", incl=0xFFFFFFF0))
    (report,) = ingest([path], str(tmp_path / "s")).files
    assert report.packets == 1 and report.warnings == {"bad_record_length": 1}


def test_snaplen_zero_is_tolerated(tmp_path: Path) -> None:
    header = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 0, 1)
    path = _write(tmp_path, _record(_frame()) * 2, header)
    (report,) = ingest([path], str(tmp_path / "s")).files
    assert report.packets == 2 and report.flows == 1 and not report.warnings


@pytest.mark.parametrize(
    ("content", "message"),
    [(b"\xd4\xc3\xb2\xa1\x02\x00", "truncated pcap header"), (b"GIF89a" + bytes(40), "not a pcap")],
)
def test_wrong_or_short_magic_is_input_error(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "x.pcap"
    path.write_bytes(content)
    with pytest.raises(InputError, match=message):
        ingest([str(path)], str(tmp_path / "s"))


def test_garbage_frames_counted(tmp_path: Path) -> None:
    frames = [
        b"\x00" * 10,
        b"\x02" * 12 + b"\x08\x00" + b"\x45" + b"\x00" * 5,
        b"\x02" * 12 + b"\x08\x00" + b"\x65" + b"\x00" * 30,
        b"\x02" * 12 + b"\x88\xcc" + b"\x00" * 30,
    ]
    path = _write(tmp_path, b"".join(_record(f) for f in frames))
    (report,) = ingest([path], str(tmp_path / "s")).files
    assert report.flows == 0
    assert report.warnings == {"malformed_packet": 3, "non_ip": 1}


def test_ip_fragments(tmp_path: Path) -> None:
    ip = dpkt.ip.IP(
        src=socket.inet_aton("10.0.0.1"),
        dst=socket.inet_aton("198.51.100.1"),
        p=17,
        id=77,
        data=dpkt.udp.UDP(sport=1000, dport=9999, data=b"a" * 100),
    )
    first = bytes(ip)[: 20 + 48]
    head = bytearray(first)
    struct.pack_into("!H", head, 2, len(head))
    struct.pack_into("!H", head, 6, 0x2000)  # MF, offset 0
    tail = bytearray(bytes(ip)[:20] + b"b" * 60)
    struct.pack_into("!H", tail, 2, len(tail))
    struct.pack_into("!H", tail, 6, 6)  # offset 6 * 8 = 48 bytes
    orphan = bytearray(tail)
    struct.pack_into("!H", orphan, 4, 78)  # another datagram: first fragment never seen
    eth = b"\x04" * 6 + b"\x02" * 6 + b"\x08\x00"
    path = _write(tmp_path, b"".join(_record(eth + bytes(f)) for f in (head, tail, orphan)))
    (report,) = ingest([path], str(tmp_path / "s")).files
    assert report.flows == 1 and report.warnings == {"ip_fragment": 1}


def test_pcapng_bad_block_length(tmp_path: Path) -> None:
    shb = struct.pack("<IIIHHqI", 0x0A0D0D0A, 28, 0x1A2B3C4D, 1, 0, -1, 28)
    bad = struct.pack("<II", 6, 0x7FFFFFF0) + b"\x00" * 16
    path = tmp_path / "bad.pcapng"
    path.write_bytes(shb + bad)
    (report,) = ingest([str(path)], str(tmp_path / "s")).files
    assert report.warnings == {"bad_block": 1} and report.flows == 0


def test_many_flows_keep_memory_bounded(tmp_path: Path) -> None:
    """100,000 one-packet flows through a 1,000-flow state: evictions counted, memory flat."""
    body = b"".join(
        _record(
            _frame(f"10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}", sport=1000 + i % 50000), ts=i
        )
        for i in range(100_000)
    )
    path = _write(tmp_path, body)
    tracemalloc.start()
    (report,) = ingest([path], str(tmp_path / "s"), idle_timeout=1e9, max_flows=1_000).files
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert report.flows == 100_000
    assert report.warnings["state_eviction"] > 90_000
    assert peak < 64 * 1024 * 1024
