"""Benchmark: ``coverwatch identify`` throughput with the whole knowledge base, on one core.

Run: .venv/bin/python bench/identify_throughput/run.py [HOSTS]

Generates HOSTS JSONL lines (default 40,000) of the kind an estate produces: each host a few
signals (server header, realm with its own serial, title, RTSP server, ONVIF manufacturer and
model, a MAC from a real maker's registry block, an open port), drawn from the strings real
cameras, recorders, printers and routers publicly send, with per-host parts (serials, MACs,
model suffixes) so that most values are unique. Then times the whole command
``coverwatch identify FILE > /dev/null`` (start-up and knowledge loading included) and the
engine alone in-process, and prints observations per second for both (target: >= 50,000/s).
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# Strings of the kinds devices send; {s} is replaced per host (serial, realm tag, model suffix).
SERVERS = [
    "App-webs/",
    "Webs",
    "DNVRS-Webs",
    "Hikvision-Webs",
    "lighttpd/1.4.35",
    "nginx",
    "Boa/0.94.14rc21",
    "GoAhead-Webs",
    "uc-httpd 1.0.0",
    "Microsoft-IIS/10.0",
    "Apache/2.4.57 (Debian)",
    "HP HTTP Server; HP LaserJet M402dn - C5F94A; Serial Number: {s};",
]
REALMS = [
    'Digest realm="IP Camera({s})", nonce="{s}", stale="FALSE"',
    'Digest realm="Login to {s}", qop="auth", nonce="{s}"',
    'Basic realm="DCS-930L"',
    'Digest realm="iPOLiS", nonce="{s}"',
    'Basic realm="index.html"',
    'Digest realm="AXIS_{s}", nonce="{s}", algorithm=MD5, qop="auth"',
]
TITLES = ["", "WEB", "Network Video Recorder", "Login", "IPCam Client", "AXIS", "RouterOS router"]
RTSP = ["", "Rtsp Server/3.0", "HiIpcam/V100R003 VodServer/1.0.0", "GStreamer RTSP server"]
MAKERS = [
    ("HIKVISION", "DS-2CD2{s}G2-I"),
    ("Dahua", "IPC-HDW{s}"),
    ("AXIS", "P32{s}-LVE"),
    ("", ""),
]
OUIS = ["44:19:b6", "3c:ef:8c", "00:40:8c", "a4:14:37", "f4:b5:49", "00:11:32", "b8:27:eb"]


def host(rng: random.Random, index: int) -> dict[str, object]:
    tag = f"{rng.randrange(16**6):06X}"
    record: dict[str, object] = {"ip": f"10.{index >> 16 & 255}.{index >> 8 & 255}.{index & 255}"}
    record["mac"] = rng.choice(OUIS) + "".join(f":{rng.randrange(256):02x}" for _ in range(3))
    record["http.server"] = rng.choice(SERVERS).replace("{s}", tag)
    record["http.www_authenticate"] = rng.choice(REALMS).replace("{s}", tag)
    if title := rng.choice(TITLES):
        record["http.title"] = title
    if rtsp := rng.choice(RTSP):
        record["rtsp.server"] = rtsp
    maker, model = rng.choice(MAKERS)
    if maker:
        record["onvif.manufacturer"] = maker
        record["onvif.model"] = model.replace("{s}", str(rng.randrange(10, 99)))
    record["tcp.port"] = [80, rng.choice([554, 8000, 37777, 443])]
    return record


def observations(record: dict[str, object]) -> int:
    return sum(len(v) if isinstance(v, list) else 1 for k, v in record.items() if k != "ip")


def main() -> None:
    hosts = int(sys.argv[1]) if len(sys.argv) > 1 else 40_000
    rng = random.Random(7)
    records = [host(rng, i) for i in range(hosts)]
    total = sum(observations(r) for r in records)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "hosts.jsonl"
        path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
        coverwatch = Path(sys.executable).with_name("coverwatch")
        env = {**os.environ, "OMP_NUM_THREADS": "1"}
        started = time.perf_counter()
        with open(os.devnull, "w") as sink:
            subprocess.run(
                [str(coverwatch), "identify", str(path)], stdout=sink, check=True, env=env
            )
        command = time.perf_counter() - started

    from coverwatch.identify import attribute, load_knowledge
    from coverwatch.sources.jsonl import parse_line

    kb = load_knowledge()
    pairs = []
    for number, record in enumerate(records, 1):
        parsed = parse_line(number, json.dumps(record))
        assert parsed is not None
        pairs.append(parsed.signals)
    started = time.perf_counter()
    for signals in pairs:
        attribute(signals, kb)
    engine = time.perf_counter() - started

    print(f"{hosts:,} hosts, {total:,} observations, {len(kb.fingerprints):,} fingerprints")
    print(f"coverwatch identify (whole command): {command:.2f} s = {total / command:,.0f} obs/s")
    print(f"attribution engine alone:            {engine:.2f} s = {total / engine:,.0f} obs/s")
    print("target: >= 50,000 observations/s")


if __name__ == "__main__":
    main()
