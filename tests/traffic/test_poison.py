"""Issue #11: poisoned captures and logs never reach the store, and imports are all-or-nothing.

Every file is written here; the store is real (Parquet + DuckDB in tmp_path); the crash test
kills a real ``coverwatch traffic import`` process with SIGKILL.
"""

from __future__ import annotations

import json
import math
import os
import signal
import struct
import subprocess
import sys
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from coverwatch.errors import InputError
from coverwatch.models import Attribution
from coverwatch.store.interface import DeviceRecord
from coverwatch.traffic.egress import egress
from coverwatch.traffic.ingest import ingest
from coverwatch.traffic.table import FLOW_SCHEMA, connect, file_id

#: 2026-01-05 09:00 UTC, a sane time for every good record.
T0 = 1_767_603_600.0
#: The largest byte or packet count ingest accepts (coverwatch.traffic.model.MAX_COUNT).
MAX_COUNT = 1 << 48
NFDUMP_HEADER = "ts,te,td,sa,da,sp,dp,pr,ipkt,ibyt,opkt,obyt\n"


def conn_json(**fields: object) -> dict[str, object]:
    """A Zeek conn.log record from the camera 10.0.0.5 to 203.0.113.9:443."""
    record: dict[str, object] = {
        "ts": T0,
        "uid": "C1",
        "id.orig_h": "10.0.0.5",
        "id.orig_p": 50000,
        "id.resp_h": "203.0.113.9",
        "id.resp_p": 443,
        "proto": "tcp",
        "duration": 1.5,
        "orig_ip_bytes": 1000,
        "resp_ip_bytes": 2000,
        "orig_pkts": 5,
        "resp_pkts": 6,
    }
    record.update(fields)
    return record


def nfdump_line(
    ts: str = "2026-01-05 09:00:00.000", te: str = "2026-01-05 09:00:01.500", **kw: str
) -> str:
    """One ``nfdump -o csv -N`` record line with ``kw`` overriding columns."""
    values = {
        "ts": ts,
        "te": te,
        "td": "1.500",
        "sa": "10.0.0.5",
        "da": "203.0.113.9",
        "sp": "50000",
        "dp": "443",
        "pr": "TCP",
        "ipkt": "5",
        "ibyt": "1000",
        "opkt": "0",
        "obyt": "0",
    }
    values.update(kw)
    return ",".join(values[k] for k in NFDUMP_HEADER.strip().split(",")) + "\n"


def rows(store: Path) -> list[tuple[object, ...]]:
    """Every flow row the store's readers (egress, linkage, audit) see."""
    con = connect(str(store))
    try:
        return con.execute("SELECT * EXCLUDE (file) FROM flows ORDER BY ALL").fetchall()
    finally:
        con.close()


def pcapng(frames: list[tuple[int, bytes]], tsresol: int | None) -> bytes:
    """A little-endian pcapng: one Ethernet interface with ``if_tsresol`` (when given) and
    one Enhanced Packet Block per (timestamp units, frame)."""
    shb = struct.pack("<IIIHHqI", 0x0A0D0D0A, 28, 0x1A2B3C4D, 1, 0, -1, 28)
    options = b""
    if tsresol is not None:
        options = struct.pack("<HHB3x", 9, 1, tsresol) + struct.pack("<HH", 0, 0)
    body = struct.pack("<HHI", 1, 0, 65535) + options
    idb = struct.pack("<II", 1, 12 + len(body)) + body + struct.pack("<I", 12 + len(body))
    blocks = [shb, idb]
    for units, frame in frames:
        padded = frame + b"\x00" * (-len(frame) % 4)
        epb_body = struct.pack("<IIIII", 0, units >> 32, units & 0xFFFFFFFF, len(frame), len(frame))
        total = 12 + len(epb_body) + len(padded)
        blocks.append(struct.pack("<II", 6, total) + epb_body + padded + struct.pack("<I", total))
    return b"".join(blocks)


def udp_frame(src: str = "10.0.0.5", dst: str = "203.0.113.9") -> bytes:
    """An Ethernet/IPv4/UDP frame to port 9999."""
    import socket

    import dpkt

    udp = dpkt.udp.UDP(sport=40000, dport=9999, data=b"x" * 20)
    ip = dpkt.ip.IP(src=socket.inet_aton(src), dst=socket.inet_aton(dst), p=17, data=udp)
    ip.len = 20 + len(bytes(udp))
    return bytes(dpkt.ethernet.Ethernet(src=b"\x02" * 6, dst=b"\x04" * 6, data=ip))


@pytest.mark.parametrize(
    ("poison", "reason"),
    [
        ({"ts": math.nan}, "bad_timestamp"),
        ({"ts": math.inf}, "bad_timestamp"),
        ({"ts": 1e300}, "bad_timestamp"),
        ({"ts": -1e300}, "bad_timestamp"),
        ({"ts": "nan"}, "bad_timestamp"),
        ({"ts": 0}, "bad_timestamp"),
        ({"ts": 631_151_999.0}, "bad_timestamp"),  # one second before 1990
        ({"ts": "2026-13-45T25:00:00Z"}, "bad_timestamp"),  # ISO-shaped, no such time
        ({"ts": "1989-12-31T23:59:59Z"}, "bad_timestamp"),
        ({"ts": "9999-12-31T23:59:59Z"}, "bad_timestamp"),
        ({"ts": "0001-01-01T00:00:00+14:00"}, "bad_timestamp"),  # before year 1 in UTC
        ({"ts": time.time() + 3 * 86_400}, "bad_timestamp"),
        ({"ts": "9999-12-31T23:59:59Z"}, "bad_timestamp"),
        ({"duration": 1e300}, "impossible_value"),
        ({"duration": -5.0}, "impossible_value"),
        ({"duration": math.nan}, "impossible_value"),
        ({"orig_ip_bytes": -1}, "impossible_value"),
        ({"orig_ip_bytes": 1e300}, "impossible_value"),
        ({"resp_pkts": 1 << 62}, "impossible_value"),
        ({"id.resp_p": 70000}, "impossible_value"),
        ({"id.orig_h": "not-an-address"}, "bad_address"),
        ({"id.resp_h": 12345}, "bad_address"),
        ({"id.orig_p": 10**5000}, "malformed_line"),  # beyond int()'s 4300-digit limit
        ({"ts": {"x": 1}}, "malformed_line"),
    ],
)
def test_poisoned_zeek_json_record_is_counted_not_stored(
    tmp_path: Path, poison: dict[str, object], reason: str
) -> None:
    log = tmp_path / "conn.log"
    good = json.dumps(conn_json())
    bad = (
        json.dumps(conn_json(**poison))
        if "id.orig_p" not in poison
        else (good.replace('"id.orig_p": 50000', '"id.orig_p": ' + "9" * 5000))
    )
    log.write_text(good + "\n" + bad + "\n" + good.replace("C1", "C2") + "\n")
    (report,) = ingest([str(log)], str(tmp_path / "s")).files
    assert report.flows == 2
    assert report.warnings == {reason: 1}
    stored = rows(tmp_path / "s")
    assert all(T0 <= r[0] <= r[1] < T0 + 10 for r in stored)


def test_one_bad_json_line_keeps_the_rest(tmp_path: Path) -> None:
    log = tmp_path / "conn.log"
    lines = [
        json.dumps(conn_json()),
        '{"ts": 1767603600, "id.orig_h": ',  # cut off
        "[1, 2, 3]",
        "{" * 100_000,
        '{"ts": ' + "1" * 5000 + "}",  # a number int() refuses: plain ValueError
        "\xff\xfe garbage",
        json.dumps(conn_json(uid="C9")),
    ]
    log.write_text("\n".join(lines) + "\n")
    (report,) = ingest([str(log)], str(tmp_path / "s")).files
    assert report.flows == 2 and report.warnings == {"malformed_line": 5}


def test_zeek_iso8601_timestamps_are_read(tmp_path: Path) -> None:
    """LogAscii::json_timestamps = JSON::TS_ISO8601 writes ts as an ISO 8601 string."""
    log = tmp_path / "conn.log"
    records = [
        conn_json(ts="2026-01-05T09:00:00.123456Z"),
        conn_json(ts="2026-01-05T10:00:00.5+01:00"),  # the same instant + 0.377 s, with a zone
        conn_json(ts="2026-01-05T09:00:01"),  # no zone: UTC
    ]
    log.write_text("".join(json.dumps(r) + "\n" for r in records))
    (report,) = ingest([str(log)], str(tmp_path / "s")).files
    assert report.flows == 3 and not report.warnings
    starts = sorted(r[0] for r in rows(tmp_path / "s"))
    assert starts == pytest.approx([T0 + 0.123456, T0 + 0.5, T0 + 1.0])


def test_zeek_tsv_iso8601_times_are_read_and_nonsense_rejected(tmp_path: Path) -> None:
    log = tmp_path / "conn.log"
    fields = "ts\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tduration\torig_ip_bytes"
    rest = "10.0.0.5\t1000\t203.0.113.9\t443\ttcp\t0.5\t80"
    times = ["2026-01-05T09:00:02.25Z", "2026-01-05T09:00:03", "2026-02-30T09:00:00Z"]
    log.write_text(
        "#separator \\x09\n#path\tconn\n#fields\t"
        + fields
        + "\n"
        + "".join(f"{t}\t{rest}\n" for t in times)
    )
    (report,) = ingest([str(log)], str(tmp_path / "s")).files
    assert report.flows == 2 and report.warnings == {"bad_timestamp": 1}
    starts = sorted(r[0] for r in rows(tmp_path / "s"))
    assert starts == pytest.approx([T0 + 2.25, T0 + 3.0])


def test_zeek_tsv_poison_and_bad_separator(tmp_path: Path) -> None:
    log = tmp_path / "conn.log"
    fields = "ts\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tduration\torig_ip_bytes"
    good = f"{T0}\t10.0.0.5\t1000\t203.0.113.9\t443\ttcp\t0.5\t80"
    log.write_text(
        "#separator \\x\n"  # an escape unicode_escape refuses: counted, tab assumed
        f"#path\tconn\n#fields\t{fields}\n{good}\n"
        + good.replace(str(T0), "nan")
        + "\n"
        + good.replace(str(T0), "1e300")
        + "\n"
        + good.replace("0.5", "inf")
        + "\n"
    )
    (report,) = ingest([str(log)], str(tmp_path / "s")).files
    assert report.flows == 1
    assert report.warnings == {"malformed_line": 1, "bad_timestamp": 2, "impossible_value": 1}


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (nfdump_line(te="2026-01-05 08:59:00.000"), "impossible_value"),  # ends before it starts
        (nfdump_line(ibyt="-5"), "impossible_value"),
        (nfdump_line(ibyt="nan"), "impossible_value"),
        (nfdump_line(ibyt="1e300"), "impossible_value"),
        (nfdump_line(ipkt="9999999 T"), "impossible_value"),
        (nfdump_line(dp="70000"), "impossible_value"),
        (nfdump_line(ts="1970-01-01 00:00:00", te="1970-01-01 00:00:01"), "bad_timestamp"),
        (nfdump_line(te="9999-12-31 23:59:59"), "bad_timestamp"),
        (nfdump_line(sa="10.0.0.256"), "bad_address"),
        (nfdump_line(da="example.com"), "bad_address"),
        (nfdump_line(ts="yesterday"), "malformed_line"),
    ],
)
def test_impossible_netflow_rows_are_counted_not_stored(
    tmp_path: Path, line: str, reason: str
) -> None:
    csv = tmp_path / "flows.csv"
    csv.write_text(NFDUMP_HEADER + nfdump_line() + line + nfdump_line(sp="50001"))
    (report,) = ingest([str(csv)], str(tmp_path / "s")).files
    assert report.flows == 2 and report.warnings == {reason: 1}


@pytest.mark.parametrize(
    ("tsresol", "units", "stored"),
    [
        (6, int(T0 * 1e6), True),  # microseconds, the default, given explicitly
        (9, int(T0 * 1e9), True),  # nanoseconds
        (0x80 | 20, int(T0) << 20, True),  # 2**-20 s
        (0, 1 << 62, False),  # whole seconds: 4.6e18 s, beyond any datetime
        (0, 12, False),  # 1970
        (100, int(T0 * 1e6), False),  # 10**-100 s: not a clock
        (0x80 | 100, int(T0 * 1e6), False),  # 2**-100 s
    ],
)
def test_pcapng_timestamp_resolution_and_range(
    tmp_path: Path, tsresol: int, units: int, stored: bool
) -> None:
    path = tmp_path / "cap.pcapng"
    path.write_bytes(pcapng([(units, udp_frame())] * 3, tsresol))
    (report,) = ingest([str(path)], str(tmp_path / "s")).files
    if stored:
        assert report.flows == 1 and not report.warnings
        ((first, *_),) = rows(tmp_path / "s")
        assert abs(first - T0) < 1
    else:
        assert report.flows == 0 and report.warnings == {"bad_timestamp": 3}


def test_pcap_frames_outside_the_sane_range_are_dropped(tmp_path: Path) -> None:
    header = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)
    frame = udp_frame()

    def record(ts: int) -> bytes:
        return struct.pack("<IIII", ts, 0, len(frame), len(frame)) + frame

    path = tmp_path / "cap.pcap"
    path.write_bytes(header + record(int(T0)) + record(5) + record(0xFFFFFFFF) + record(int(T0)))
    (report,) = ingest([str(path)], str(tmp_path / "s")).files
    assert report.packets == 2 and report.flows == 1
    assert report.warnings == {"bad_timestamp": 2}


def test_rejected_file_leaves_the_store_as_it_was(tmp_path: Path) -> None:
    """Two files in one import, the second refused mid-read: nothing of the first is stored,
    and what an earlier import stored is intact."""
    store = tmp_path / "s"
    earlier = tmp_path / "earlier.log"
    earlier.write_text(json.dumps(conn_json(uid="E", **{"id.orig_p": 1})) + "\n")
    ingest([str(earlier)], str(store))
    before = rows(store)
    assert len(before) == 1
    good = tmp_path / "good.log"
    good.write_text(json.dumps(conn_json()) + "\n")
    bad = tmp_path / "bad.csv"
    bad.write_text("ts,te,something,else\n" + nfdump_line())  # sniffed as nfdump, no columns
    with pytest.raises(InputError, match=r"bad\.csv"):
        ingest([str(good), str(earlier), str(bad)], str(store))
    assert rows(store) == before
    assert not [p for p in store.rglob("*.tmp")]


def test_store_written_before_the_checks_stays_usable(tmp_path: Path) -> None:
    """A store an earlier version wrote, with nan and 1e300 times in it (no manifest):
    egress reads around them instead of failing."""
    store = tmp_path / "s"
    (store / "flows").mkdir(parents=True)
    good = (
        T0,
        T0 + 1,
        "tcp",
        "10.0.0.5",
        5000,
        "203.0.113.9",
        443,
        10,
        1,
        20,
        1,
        None,
        "zeek",
        "f",
    )
    poisoned = [
        good,
        (math.nan, math.nan, *good[2:]),
        (1e300, 1e300, *good[2:]),
        (T0, math.inf, *good[2:]),
        (T0, T0 + 1, *good[2:7], -5, 1, 20, 1, None, "zeek", "f"),
    ]
    columns = list(zip(*poisoned, strict=True))
    table = pa.table(
        [pa.array(c, type=f.type) for c, f in zip(columns, FLOW_SCHEMA, strict=True)],
        schema=FLOW_SCHEMA,
    )
    pq.write_table(table, str(store / "flows" / f"{file_id('old.log')}.parquet"))
    device = DeviceRecord("10.0.0.5", None, "s", Attribution())
    (result,) = egress(str(store), [device], ["10.0.0.0/8"])
    assert result.flows_seen == 1
    assert [d.remote_ip for d in result.destinations] == ["203.0.113.9"]
    # the next import adopts the old files into the manifest and keeps them
    log = tmp_path / "new.log"
    log.write_text(json.dumps(conn_json(**{"id.resp_h": "198.51.100.7"})) + "\n")
    ingest([str(log)], str(store))
    (result,) = egress(str(store), [device], ["10.0.0.0/8"])
    assert {d.remote_ip for d in result.destinations} == {"203.0.113.9", "198.51.100.7"}


def test_egress_sums_beyond_64_bits_do_not_fail(tmp_path: Path) -> None:
    """40,000 records of the largest accepted count to one destination: 1.1e19 bytes in all,
    more than a BIGINT holds."""
    csv = tmp_path / "flows.csv"
    line = nfdump_line(ibyt=str(MAX_COUNT), ipkt=str(MAX_COUNT))
    with csv.open("w") as handle:
        handle.write(NFDUMP_HEADER)
        for port in range(40_000):
            handle.write(line.replace(",50000,", f",{10000 + port},"))
    (report,) = ingest([str(csv)], str(tmp_path / "s")).files
    assert report.flows == 40_000
    device = DeviceRecord("10.0.0.5", None, "s", Attribution())
    (result,) = egress(str(tmp_path / "s"), [device], ["10.0.0.0/8"])
    assert result.destinations[0].bytes_sent == 40_000 * MAX_COUNT


def test_killed_import_leaves_the_store_as_it_was(tmp_path: Path) -> None:
    """SIGKILL in the middle of a two-file import: neither file is in the store, the earlier
    import is intact, and the next import works and clears the leftovers."""
    store = tmp_path / "s"
    earlier = tmp_path / "earlier.log"
    earlier.write_text(json.dumps(conn_json(uid="E", **{"id.orig_p": 1})) + "\n")
    ingest([str(earlier)], str(store))
    before = rows(store)
    first = tmp_path / "first.log"
    first.write_text(json.dumps(conn_json()) + "\n")
    big = tmp_path / "big.csv"
    line = nfdump_line()
    with big.open("w") as handle:
        handle.write(NFDUMP_HEADER)
        for i in range(600_000):
            handle.write(line.replace(",50000,", f",{1024 + i % 60000},"))
    command = [sys.executable, "-m", "coverwatch", "--db", str(tmp_path / "inv.db")]
    command += ["--traffic-dir", str(store), "traffic", "import", str(first), str(big)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    staged = f".{file_id(str(big))}"
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline and process.poll() is None:
            if any(p.name.startswith(staged) for p in (store / "flows").iterdir()):
                break
            time.sleep(0.005)
        assert process.poll() is None, "the import finished before it could be killed"
        os.kill(process.pid, signal.SIGKILL)
    finally:
        process.wait(timeout=30)
    assert rows(store) == before
    device = DeviceRecord("10.0.0.5", None, "s", Attribution())
    (result,) = egress(str(store), [device], ["10.0.0.0/8"])
    assert result.flows_seen == 1
    ingest([str(first)], str(store))
    assert len(rows(store)) == 2
    assert not [p for p in store.rglob("*.tmp")]


def test_out_of_order_frames_never_end_a_flow_before_it_starts(tmp_path: Path) -> None:
    header = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)
    frame = udp_frame()
    path = tmp_path / "merged.pcap"
    path.write_bytes(
        header
        + b"".join(
            struct.pack("<IIII", int(T0) + offset, 0, len(frame), len(frame)) + frame
            for offset in (10, 30, 5)
        )
    )
    ingest([str(path)], str(tmp_path / "s"))
    ((first, last, *_),) = rows(tmp_path / "s")
    assert (first, last) == (T0 + 5, T0 + 30)
