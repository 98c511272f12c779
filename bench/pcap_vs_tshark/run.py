"""Benchmark: coverwatch pcap ingest vs tshark field export on the same ~1,000,000-packet file.

Run: .venv/bin/python bench/pcap_vs_tshark/run.py [PACKETS]   (needs tshark on PATH)
Writes a synthetic capture (UDP/TCP between 2,000 internal hosts and 500 outside addresses in
203.0.113.0/24 and 198.51.100.0/24), times ``traffic.ingest`` and the tshark command, prints both
and the ratio. Nothing is sent: both only read the file.
"""

from __future__ import annotations

import random
import shutil
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from coverwatch.traffic.ingest import ingest


def write_capture(path: Path, packets: int, seed: int = 1) -> None:
    rng = random.Random(seed)
    eth = b"\x04\x00\x00\x00\x00\x01\x02\x00\x00\x00\x00\x02\x08\x00"
    flows = []
    for _ in range(max(1, packets // 100)):
        src = bytes([10, 1, rng.randrange(8), rng.randrange(1, 250)])
        dst = (
            bytes([203, 0, 113, rng.randrange(1, 250)])
            if rng.random() < 0.5
            else bytes([198, 51, 100, rng.randrange(1, 250)])
        )
        flows.append(
            (
                rng.choice((6, 17)),
                src,
                dst,
                rng.randrange(1024, 65535),
                rng.choice((443, 8800, 123, 554)),
            )
        )
    ts = 1_767_600_000.0
    with open(path, "wb") as out:
        out.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for i in range(packets):
            proto, src, dst, sport, dport = flows[rng.randrange(len(flows))]
            forward = i % 3 != 0
            a, b, ap, bp = (src, dst, sport, dport) if forward else (dst, src, dport, sport)
            size = 60 + (i * 37) % 1300
            if proto == 6:
                l4 = struct.pack("!HHIIBBHHH", ap, bp, i, 0, 0x50, 0x18, 65535, 0, 0)
            else:
                l4 = struct.pack("!HHHH", ap, bp, size - 20, 0)
            ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, size, i & 0xFFFF, 0, 64, proto, 0, a, b)
            frame = eth + ip + l4 + bytes(size - 20 - len(l4))
            ts += 0.0005
            sec = int(ts)
            out.write(struct.pack("<IIII", sec, int((ts - sec) * 1e6), len(frame), len(frame)))
            out.write(frame)


def main() -> None:
    packets = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    if shutil.which("tshark") is None:
        sys.exit("tshark is not installed (apt-get install tshark)")
    with tempfile.TemporaryDirectory() as tmp:
        capture = Path(tmp) / "bench.pcap"
        write_capture(capture, packets)
        size = capture.stat().st_size / 1e6
        print(f"capture: {packets:,} packets, {size:.0f} MB")
        start = time.perf_counter()
        report = ingest([str(capture)], str(Path(tmp) / "store"))
        ours = time.perf_counter() - start
        print(
            f"coverwatch ingest: {ours:.2f} s ({packets / ours:,.0f} packets/s, "
            f"{report.flows:,} flows, warnings {report.warnings})"
        )
        command = [
            "tshark",
            "-r",
            str(capture),
            "-T",
            "fields",
            "-e",
            "frame.time_epoch",
            "-e",
            "ip.src",
            "-e",
            "ip.dst",
            "-e",
            "tcp.srcport",
            "-e",
            "tcp.dstport",
            "-e",
            "udp.srcport",
            "-e",
            "udp.dstport",
            "-e",
            "frame.len",
        ]
        start = time.perf_counter()
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        theirs = time.perf_counter() - start
        print(f"tshark fields:     {theirs:.2f} s ({packets / theirs:,.0f} packets/s)")
        print(
            f"ratio tshark/coverwatch: {theirs / ours:.2f}x "
            f"({'faster' if ours < theirs else 'slower'} than tshark)"
        )


if __name__ == "__main__":
    main()
