"""NetFlow done right (issue #15): request and reply records become one bidirectional flow, and
nfcapd files (NetFlow v5/v9 collected by Debian's real ``nfcapd`` on loopback, or written by
``nfpcapd`` from the lab capture) import directly through ``nfdump``.

The NetFlow datagrams are built here from the public format descriptions: NetFlow v5 from
Cisco's "NetFlow Export Datagram Format" (NetFlow Collection Engine user guide, header 24 bytes,
records 48 bytes: https://www.cisco.com/c/en/us/td/docs/net_mgmt/netflow_collection_engine/3-6/
user/guide/format.html), NetFlow v9 from RFC 3954 (sections 5.1 header, 5.2 template FlowSet,
5.3 data FlowSet, 8 field types), IPFIX from RFC 7011 (sections 3.1 message header, 3.3 set
header, 3.4 template records) with information elements from RFC 7012 / IANA's IPFIX registry
(sourceIPv4Address 8, destinationIPv4Address 12, sourceTransportPort 7,
destinationTransportPort 11, protocolIdentifier 4, packetDeltaCount 2, octetDeltaCount 1,
flowStartMilliseconds 152, flowEndMilliseconds 153, sourceIPv6Address 27,
destinationIPv6Address 28).
"""

from __future__ import annotations

import os
import shutil
import socket
import struct
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import duckdb
import pytest

from coverwatch.errors import InputError
from coverwatch.lab.capture import LabCapture
from coverwatch.models import Attribution
from coverwatch.store.interface import DeviceRecord
from coverwatch.traffic import RecordSource
from coverwatch.traffic.egress import egress
from coverwatch.traffic.ingest import ingest
from coverwatch.traffic.netflow import PAIR_SLACK, FlowPairer, Record, is_nfcapd, is_reply
from tests.conftest import Cli
from tests.traffic.test_poison import NFDUMP_HEADER, T0, nfdump_line

needs_nfdump = pytest.mark.skipif(
    shutil.which("nfdump") is None or shutil.which("nfcapd") is None,
    reason="nfdump not installed (apt-get install nfdump)",
)
CAMERA, CLOUD = "10.0.0.5", "203.0.113.9"


def flows(store: Path) -> list[tuple[object, ...]]:
    """(proto, src, sport, dst, dport, bytes out, packets out, bytes in, packets in) rows."""
    with duckdb.connect(str(store / "flows.duckdb")) as con:
        return con.execute(
            "SELECT proto, src_ip, src_port, dst_ip, dst_port, bytes_out, packets_out, bytes_in,"
            " packets_in FROM flows ORDER BY ALL"
        ).fetchall()


def reply_line(**kw: str) -> str:
    """The cloud's answer to ``nfdump_line()``'s request."""
    values = {"sa": CLOUD, "da": CAMERA, "sp": "443", "dp": "50000", "ipkt": "6", "ibyt": "2000"}
    return nfdump_line(**{**values, **kw})


REQUEST = ("tcp", CAMERA, 50000, CLOUD, 443, 1000, 5, 2000, 6)


@pytest.mark.parametrize(
    ("records", "want"),
    [
        ([nfdump_line(), reply_line()], [REQUEST]),
        ([reply_line(), nfdump_line()], [REQUEST]),  # the reply exported first
        # an unpaired answer: oriented by its ports, the camera is the requester
        ([reply_line()], [("tcp", CAMERA, 50000, CLOUD, 443, 0, 0, 2000, 6)]),
        # a reply beyond the slack belongs to another connection: two rows, both oriented
        (
            [
                nfdump_line(),
                reply_line(ts="2026-01-05 09:05:00.000", te="2026-01-05 09:05:01.000"),
            ],
            [("tcp", CAMERA, 50000, CLOUD, 443, 0, 0, 2000, 6), (*REQUEST[:5], 1000, 5, 0, 0)],
        ),
        # a record carrying both directions (obyt/opkt) is kept whole, only oriented
        (
            [reply_line(opkt="5", obyt="1000")],
            [REQUEST],
        ),
        # two slices of one direction and one reply: one pair, one single
        (
            [nfdump_line(), nfdump_line(ts="2026-01-05 09:00:01.000"), reply_line()],
            [(*REQUEST[:5], 1000, 5, 0, 0), REQUEST],
        ),
    ],
)
def test_requests_and_replies_become_one_flow(
    tmp_path: Path, records: list[str], want: list[tuple[object, ...]]
) -> None:
    csv = tmp_path / "flows.csv"
    csv.write_text(NFDUMP_HEADER + "".join(records) + "Summary\nflows,bytes\n1,1\n")
    report = ingest([str(csv)], str(tmp_path / "store"))
    assert report.files[0].packets == len(records) and not report.warnings
    assert flows(tmp_path / "store") == sorted(want)


def test_no_destination_is_named_after_the_device_ephemeral_port(tmp_path: Path) -> None:
    """The reply of the camera's own HTTPS request is no inbound flow to port 50000."""
    csv = tmp_path / "flows.csv"
    csv.write_text(NFDUMP_HEADER + nfdump_line() + reply_line() + reply_line(dp="50002"))
    store = tmp_path / "store"
    ingest([str(csv)], str(store))
    device = DeviceRecord(CAMERA, None, "s", Attribution(maker="Hikvision"))
    (result,) = egress(str(store), [device], ["10.0.0.0/8"])
    assert [(d.remote_ip, d.port, d.initiated_by_device) for d in result.destinations] == [
        (CLOUD, 443, True)
    ]
    (dest,) = result.destinations
    assert (dest.bytes_sent, dest.bytes_received, dest.flows) == (1000, 4000, 2)


@pytest.mark.parametrize(
    ("sport", "dport", "reply"),
    [
        (443, 50000, True),  # HTTPS answer to an ephemeral port
        (53, 1500, True),  # well-known to registered
        (8800, 50123, True),  # Dahua P2P relay answering a Linux ephemeral port
        (50000, 443, False),  # the request itself
        (123, 123, False),  # NTP symmetric
        (80, 443, False),  # two well-known ports
        (40000, 45000, False),  # peer to peer: the exported direction stands
        (5000, 6000, False),  # two registered ports
    ],
)
def test_reply_ports(sport: int, dport: int, reply: bool) -> None:
    assert is_reply(sport, dport) is reply


def _record(first: float, src: str, sport: int, dst: str, dport: int) -> Record:
    return Record(first, first + 1.0, "udp", src, sport, dst, dport, 100, 1)


def test_pairing_memory_is_bounded() -> None:
    """Records wait only PAIR_SLACK past their end, and at most max_pending at once; the
    oldest leave first, oriented."""
    out: list[Record] = []
    pairer = FlowPairer(out.append, max_pending=3)
    for i in range(5):  # five requests from distinct ports, all within the slack
        pairer.add(_record(T0 + i, CAMERA, 50000 + i, CLOUD, 53))
    assert len(pairer.pending) == 3 and [r.src_port for r in out] == [50000, 50001]
    pairer.add(_record(T0 + 5, CLOUD, 53, CAMERA, 50004))  # pairs with a waiting one
    assert out[-1].src_port == 50004 and out[-1].bytes_back == 100 and pairer.paired == 1
    pairer.add(_record(T0 + 10 + PAIR_SLACK, CLOUD, 53, CAMERA, 50002))  # too late
    assert pairer.paired == 1 and len(pairer.pending) == 1  # the late one waits alone
    pairer.finish()
    assert not pairer.pending and len(out) == 6
    assert all(r.src == CAMERA and r.dst_port == 53 for r in out)


def test_pairing_state_stays_bounded_at_a_high_rate() -> None:
    """50,000 connections in one second, every one answered: nothing waits, and the expiry
    heap does not keep an entry per record either."""
    out: list[Record] = []
    pairer = FlowPairer(out.append, max_pending=100)
    for i in range(50_000):
        pairer.add(_record(T0 + i / 50_000, CAMERA, 1024 + i % 60_000, f"198.51.100.{i % 200}", 53))
        pairer.add(_record(T0 + i / 50_000, f"198.51.100.{i % 200}", 53, CAMERA, 1024 + i % 60_000))
        assert len(pairer.expiry) <= 2 * 100 + 1024 + 1
    pairer.finish()
    assert pairer.paired == len(out) == 50_000


@pytest.mark.parametrize(
    ("head", "nfcapd"),
    [
        (b"\x0c\xa5\x02\x00rest", True),  # layout 2 (nfdump 1.7), little endian
        (b"\x0c\xa5\x01\x00rest", True),  # layout 1 (nfdump 1.6)
        (b"\xa5\x0c\x00\x02rest", True),  # big-endian writer
        (b"\x0c\xa5\x03\x00rest", False),  # no such layout
        (b"\x0c\xa5", False),
        (b"\xd4\xc3\xb2\xa1", False),  # a pcap
    ],
)
def test_nfcapd_magic(head: bytes, nfcapd: bool) -> None:
    assert is_nfcapd(head) is nfcapd


# --- real nfcapd files ---------------------------------------------------------------------


def netflow_v5(records: list[tuple[str, str, int, int, int, int, int]], uptime: int) -> bytes:
    """A NetFlow v5 datagram exported at T0 by a router up ``uptime`` ms; each record is
    (src, dst, sport, dport, packets, bytes, first ms) lasting one second, TCP."""
    header = struct.pack("!HHIIIIBBH", 5, len(records), uptime, int(T0), 0, 1, 0, 0, 0)
    body = b"".join(
        struct.pack(
            "!4s4s4sHHIIIIHHBBBBHHBBH",
            socket.inet_aton(src),
            socket.inet_aton(dst),
            bytes(4),  # next hop
            0,
            0,  # input, output ifIndex
            packets,
            octets,
            first,
            first + 1000,
            sport,
            dport,
            0,  # pad1
            0x18,  # tcp_flags ACK|PSH
            6,
            0,  # tos
            0,
            0,  # src_as, dst_as
            0,
            0,  # masks
            0,  # pad2
        )
        for src, dst, sport, dport, packets, octets, first in records
    )
    return header + body


#: NetFlow v9 template 256 (RFC 3954 section 8): IPV4_SRC_ADDR, IPV4_DST_ADDR, L4_SRC_PORT,
#: L4_DST_PORT, PROTOCOL, IN_PKTS, IN_BYTES, FIRST_SWITCHED, LAST_SWITCHED.
V9_FIELDS = [(8, 4), (12, 4), (7, 2), (11, 2), (4, 1), (2, 4), (1, 4), (22, 4), (21, 4)]
#: The same for IPv6 (template 257): IPV6_SRC_ADDR, IPV6_DST_ADDR instead.
V9_FIELDS6 = [(27, 16), (28, 16), *V9_FIELDS[2:]]


def _flowset(flowset_id: int, body: bytes) -> bytes:
    body += bytes(-len(body) % 4)  # padded to a 32-bit boundary
    return struct.pack("!HH", flowset_id, 4 + len(body)) + body


def netflow_v9(records: list[tuple[str, str, int, int, int, int, int]], uptime: int) -> bytes:
    """A NetFlow v9 packet: both templates, then one data FlowSet per address family."""
    templates = b"".join(
        struct.pack("!HH", template, len(fields))
        + b"".join(struct.pack("!HH", t, n) for t, n in fields)
        for template, fields in ((256, V9_FIELDS), (257, V9_FIELDS6))
    )
    data: dict[int, bytes] = {256: b"", 257: b""}
    for src, dst, sport, dport, packets, octets, first in records:
        family = socket.AF_INET6 if ":" in src else socket.AF_INET
        addresses = socket.inet_pton(family, src) + socket.inet_pton(family, dst)
        rest = struct.pack("!HHBIIII", sport, dport, 6, packets, octets, first, first + 1000)
        data[257 if ":" in src else 256] += addresses + rest
    sets = _flowset(0, templates) + b"".join(_flowset(t, d) for t, d in data.items() if d)
    header = struct.pack("!HHIIII", 9, 2 + len(records), uptime, int(T0), 0, 7)
    return header + sets


def ipfix(records: list[tuple[str, str, int, int, int, int, int]], uptime: int) -> bytes:
    """An IPFIX message exported at T0: templates 256 (IPv4) and 257 (IPv6), then the data
    sets; ``first`` is read as ms before ``uptime`` like the v5/v9 builders, so times agree."""
    tail = [(7, 2), (11, 2), (4, 1), (2, 8), (1, 8), (152, 8), (153, 8)]
    templates = b"".join(
        struct.pack("!HH", template, len(fields))
        + b"".join(struct.pack("!HH", t, n) for t, n in fields)
        for template, fields in (
            (256, [(8, 4), (12, 4), *tail]),
            (257, [(27, 16), (28, 16), *tail]),
        )
    )
    data: dict[int, bytes] = {256: b"", 257: b""}
    for src, dst, sport, dport, packets, octets, first in records:
        family = socket.AF_INET6 if ":" in src else socket.AF_INET
        start_ms = int(T0) * 1000 - (uptime - first)
        data[257 if ":" in src else 256] += (
            socket.inet_pton(family, src)
            + socket.inet_pton(family, dst)
            + struct.pack("!HHBQQQQ", sport, dport, 6, packets, octets, start_ms, start_ms + 1000)
        )
    sets = [(2, templates), *((t, d) for t, d in data.items() if d)]
    body = b"".join(struct.pack("!HH", set_id, 4 + len(b)) + b for set_id, b in sets)
    return struct.pack("!HHIII", 10, 16 + len(body), int(T0), 0, 7) + body


def collect(folder: Path, datagrams: list[bytes]) -> Path:
    """Run Debian's nfcapd on a free loopback port, send it the datagrams, stop it (it then
    writes its file) and return the nfcapd file."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    folder.mkdir()
    collector = subprocess.Popen(
        ["nfcapd", "-w", str(folder), "-b", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_bound(port)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
            for datagram in datagrams:
                sender.sendto(datagram, ("127.0.0.1", port))
        time.sleep(0.2)  # let it take the datagrams off the socket
    finally:
        collector.terminate()
        collector.wait(timeout=30)
    (written,) = folder.glob("nfcapd.*")
    return written


def _wait_bound(port: int) -> None:
    """Until nfcapd holds the port (our own bind then fails)."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                return
        time.sleep(0.02)
    raise AssertionError("nfcapd did not bind")


EXPORTED = [
    (CAMERA, CLOUD, 50000, 443, 5, 1000, 590_000),
    (CLOUD, CAMERA, 443, 50000, 6, 2000, 590_050),
    ("2001:db8::5", "2001:db8:ffff::9", 50001, 8800, 3, 300, 591_000),
    ("2001:db8:ffff::9", "2001:db8::5", 8800, 50001, 4, 400, 591_020),
]


@needs_nfdump
@pytest.mark.parametrize("version", [5, 9, 10])
def test_nfcapd_file_imports_paired(tmp_path: Path, version: int) -> None:
    records = EXPORTED if version != 5 else EXPORTED[:2]  # v5 carries IPv4 only
    build = {5: netflow_v5, 9: netflow_v9, 10: ipfix}[version]
    packet = build(records, uptime=600_000)
    nfcapd = collect(tmp_path / "flows", [packet])
    report = ingest([str(nfcapd)], str(tmp_path / "store"))
    (file,) = report.files
    assert file.kind is RecordSource.NETFLOW and not file.warnings
    assert (file.packets, file.flows) == (len(records), len(records) // 2)
    want = [REQUEST]
    if version != 5:
        want.append(("tcp", "2001:db8::5", 50001, "2001:db8:ffff::9", 8800, 300, 3, 400, 4))
    assert flows(tmp_path / "store") == sorted(want)
    with duckdb.connect(str(tmp_path / "store" / "flows.duckdb")) as con:
        ((first, last),) = con.execute("SELECT min(first_ts), max(last_ts) FROM flows").fetchall()
    # uptime 600 s at T0: the request started 10 s before the export (nfdump prints seconds)
    assert first == T0 - 10 and first < last < T0


@needs_nfdump
def test_nfcapd_from_the_lab_capture_matches_the_capture(
    lab_capture: LabCapture, lab_store: Path, lab_devices: list[DeviceRecord], tmp_path: Path
) -> None:
    """nfpcapd turns the lab pcap into an nfcapd file; imported directly, it gives one row per
    capture flow and, per device, the same outside destinations, ports, directions and bytes
    as the capture itself (NetFlow carries no DNS answers, so names and verdicts may differ)."""
    folder = tmp_path / "nfcapd"
    folder.mkdir()
    subprocess.run(
        ["nfpcapd", "-r", lab_capture.path, "-w", str(folder)],
        check=True,
        capture_output=True,
        timeout=120,
    )
    store = tmp_path / "store"
    report = ingest([str(p) for p in folder.glob("nfcapd.*")], str(store))
    assert sum(f.packets for f in report.files) > report.flows  # records were paired
    assert len(flows(store)) == len(flows(lab_store))
    got, want = (
        {
            e.ip: sorted(
                (
                    d.remote_ip,
                    d.proto,
                    d.port,
                    d.initiated_by_device,
                    d.bytes_sent,
                    d.bytes_received,
                    d.flows,
                )
                for d in e.destinations
            )
            for e in egress(str(s), lab_devices, lab_capture.internal)
        }
        for s in (store, lab_store)
    )
    assert got == want
    for ip, truth in lab_capture.egress.items():
        seen = {(d[0], d[1], d[2]) for d in got[ip] if d[3]}
        assert {(p[0], p[2], p[3]) for p in truth.destinations} <= seen, ip


# --- hostile nfcapd files ------------------------------------------------------------------


def _truncated(good: bytes) -> bytes:
    return good[: len(good) - 7]


def _garbage(good: bytes) -> bytes:
    return good[:40] + bytes((i * 37) & 0xFF for i in range(4000))


def _header_only(good: bytes) -> bytes:
    return good[:4]


@needs_nfdump
@pytest.mark.parametrize("damage", [_truncated, _garbage, _header_only])
def test_damaged_nfcapd_file_is_one_line_and_stores_nothing(
    tmp_path: Path, cli: Cli, damage: Callable[[bytes], bytes]
) -> None:
    good = collect(tmp_path / "flows", [netflow_v5(EXPORTED[:2], uptime=600_000)])
    traffic = ["--traffic-dir", str(tmp_path / "t")]
    assert cli(*traffic, "traffic", "import", str(good)).returncode == 0
    bad = tmp_path / "bad.nfcapd"
    bad.write_bytes(damage(good.read_bytes()))
    result = cli(*traffic, "traffic", "import", str(bad))
    assert result.returncode == 2, result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert "bad.nfcapd" in line and "Traceback" not in line
    assert flows(tmp_path / "t") == [REQUEST]  # the earlier import is intact, nothing added
    with pytest.raises(InputError, match=r"bad\.nfcapd: nfdump cannot read it"):
        ingest([str(bad)], str(tmp_path / "t2"))


def test_nfcapd_without_nfdump_names_the_package(tmp_path: Path, cli: Cli) -> None:
    capture = tmp_path / "nfcapd.202601050900"
    capture.write_bytes(b"\x0c\xa5\x02\x00" + bytes(60))
    empty = tmp_path / "bin"
    empty.mkdir()
    env = {"PATH": str(empty)}
    result = cli("--traffic-dir", str(tmp_path / "t"), "traffic", "import", str(capture), env=env)
    assert result.returncode == 2
    (line,) = result.stderr.strip().splitlines()
    assert "nfcapd.202601050900" in line and "apt install nfdump" in line
    assert not os.path.exists(tmp_path / "t" / "flows") or not any(
        (tmp_path / "t" / "flows").glob("*.parquet")
    )
