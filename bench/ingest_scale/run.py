"""Benchmark: many site sensors ingesting into one PostgreSQL-backed central server.

Run: .venv/bin/python bench/ingest_scale/run.py [--sensors 200] [--devices 250] [--servers 2]

Starts a throwaway PostgreSQL cluster on loopback (Debian's postgresql package), creates one
sensor token per site, starts ``--servers`` ``coverwatch serve`` processes on the same database
(the "several workers behind a reverse proxy" deployment) and has ``--sensors`` simulated
sensors, ``--concurrency`` at a time, post one scan each of ``--devices`` cameras (a dozen
observations a device, as a scan of a Hikvision/Dahua/Axis mix says them) through
``POST /api/v1/ingest``, split into batches exactly as ``coverwatch sensor`` splits them.

Prints observations per second held over the whole delivery, the p50/p95 latency of one
batch, and checks that nothing was lost (every device and observation is in the database)
and that a second delivery of every batch (a retry after lost answers) records nothing.
Target (issue #15): at least 5,000 observations a second with zero loss.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import httpx
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repository's tests package

from coverwatch.models import Observation, SourceKind
from coverwatch.pipeline import CollectedRun
from coverwatch.sensor import batches_of
from coverwatch.store import open_inventory

#: What a scan says of each of three makers' cameras (the lab's public tell-tales).
_MAKERS = (
    (
        "c0:56:e3",
        (
            ("http.server", "App-webs/", 80),
            ("http.title", "index", 80),
            ("rtsp.server", "Hikvision-Webs", 554),
            ("onvif.manufacturer", "HIKVISION", 80),
            ("onvif.model", "DS-2CD2143G2-I", 80),
            ("onvif.firmware", "V5.7.3 build 220112", 80),
        ),
    ),
    (
        "3c:ef:8c",
        (
            ("http.server", "", 80),
            ("http.title", "WEB SERVICE", 80),
            ("rtsp.server", "Rtsp Server/3.0", 554),
            ("onvif.manufacturer", "Dahua", 80),
            ("onvif.model", "IPC-HDW2431T-AS-S2", 80),
            ("onvif.firmware", "2.800.0000000.27.R", 80),
        ),
    ),
    (
        "ac:cc:8e",
        (
            ("http.server", "", 80),
            ("http.title", "AXIS", 80),
            ("rtsp.server", "GStreamer RTSP server", 554),
            ("onvif.manufacturer", "AXIS", 80),
            ("onvif.model", "P3245-LVE", 80),
            ("onvif.firmware", "10.12.114", 80),
        ),
    ),
)


def site_scan(sensor: int, devices: int) -> CollectedRun:
    """One site's scan of ``devices`` cameras (addresses overlap between sites, MACs do not)."""
    at = datetime.now(UTC)
    found: dict[str, list[Observation]] = {}
    for n in range(devices):
        ip = f"10.20.{n // 250}.{n % 250 + 1}"
        oui, says = _MAKERS[n % len(_MAKERS)]
        mac = f"{oui}:{sensor // 256:02x}:{sensor % 256:02x}:{n % 256:02x}"
        obs = [Observation(ip, "mac", mac, None, "arp", observed_at=at)]
        obs += [Observation(ip, "tcp.port", str(p), p, "tcp", observed_at=at) for p in (80, 554)]
        obs += [Observation(ip, s, v, p, "http", observed_at=at) for s, v, p in says]
        obs.append(Observation(ip, "onvif.serial", f"SN{sensor:04d}{n:06d}", 80, "onvif"))
        found[ip] = obs
    return CollectedRun(SourceKind.SCAN, found, ["10.20.0.0/22"], {"ports": "80,554"}, at)


def start_servers(url: str, count: int, env: dict[str, str]) -> tuple[list[str], list[object]]:
    """``count`` ``coverwatch serve`` processes on one database; their base URLs."""
    from tests.conftest import free_port

    processes, bases = [], []
    for _ in range(count):
        port = free_port()
        command = [sys.executable, "-m", "coverwatch", "--db", url, "serve", "--port", str(port)]
        processes.append(
            subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
        )
        bases.append(f"http://127.0.0.1:{port}")
    for base, process in zip(bases, processes, strict=True):
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise SystemExit(f"coverwatch serve exited: {process.stderr.read().decode()}")
            if time.monotonic() > deadline:
                raise SystemExit("coverwatch serve did not start within 60 s")
            try:
                if httpx.get(f"{base}/api/v1/openapi.json", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
    return bases, processes


def deliver(
    bases: list[str], jobs: list[tuple[str, bytes]], concurrency: int
) -> tuple[float, list[float], dict[int, int]]:
    """Post every (token, body), round-robin over the servers; wall time, latencies, codes."""
    clients = [httpx.Client(base_url=b, timeout=300) for b in bases]
    latencies: list[float] = []
    codes: dict[int, int] = {}

    def post(index: int) -> None:
        token, body = jobs[index]
        client = clients[index % len(clients)]
        began = time.perf_counter()
        answer = client.post(
            "/api/v1/ingest",
            content=body,
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        )
        latencies.append(time.perf_counter() - began)
        codes[answer.status_code] = codes.get(answer.status_code, 0) + 1
        if answer.status_code not in (200, 201):
            print(f"batch {index}: {answer.status_code} {answer.text[:200]}", file=sys.stderr)

    began = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(post, range(len(jobs))))
    elapsed = time.perf_counter() - began
    for client in clients:
        client.close()
    return elapsed, latencies, codes


def counts(url: str) -> tuple[int, int, int]:
    """Devices, observations and runs in the database."""
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        found = tuple(
            int(conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one())
            for table in ("devices", "observations", "scans")
        )
    engine.dispose()
    return found[0], found[1], found[2]


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1] if len(values) > 1 else values[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sensors", type=int, default=200, help="sites, one sensor each")
    parser.add_argument("--devices", type=int, default=250, help="cameras per site")
    parser.add_argument("--servers", type=int, default=2, help="coverwatch serve processes")
    parser.add_argument("--concurrency", type=int, default=16, help="batches in flight")
    args = parser.parse_args()

    from tests.pg import PostgresMissing, throwaway_postgres

    try:
        cluster = throwaway_postgres()
        url = cluster.__enter__()
    except PostgresMissing as e:
        raise SystemExit(f"skipped: {e}") from e
    processes: list[object] = []
    try:
        inventory = open_inventory(url)
        try:
            tokens = [
                inventory.create_token(f"sensor-{n}", "sensor", (f"site-{n}",))
                for n in range(args.sensors)
            ]
        finally:
            inventory.close()
        jobs: list[tuple[str, bytes]] = []
        observations = 0
        for n, token in enumerate(tokens):
            run = site_scan(n, args.devices)
            observations += sum(len(o) for o in run.found.values())
            jobs += [(token, json.dumps(b).encode()) for b in batches_of(run, f"site-{n}")]
        with tempfile.TemporaryDirectory() as home:
            # the servers' own caches and settings stay out of the user's home
            env = {**os.environ, "HOME": home, "XDG_CACHE_HOME": home}
            bases, processes = start_servers(url, args.servers, env)
            elapsed, latencies, codes = deliver(bases, jobs, args.concurrency)
            devices, stored, runs = counts(url)
            again, _, again_codes = deliver(bases, jobs, args.concurrency)
            after = counts(url)
        expected = args.sensors * args.devices
        print(
            f"ingest: {args.sensors} sensors x {args.devices} devices = {expected:,} devices, "
            f"{observations:,} observations in {len(jobs)} batches, {args.servers} serve "
            f"processes on one PostgreSQL, {args.concurrency} batches in flight"
        )
        print(
            f"ingest: {elapsed:.1f} s = {observations / elapsed:,.0f} observations/s "
            f"(target >= 5,000); batch latency p50 {statistics.median(latencies):.2f} s, "
            f"p95 {p95(latencies):.2f} s; answers {dict(sorted(codes.items()))}"
        )
        lost = observations - stored
        print(
            f"stored: {devices:,} devices (expected {expected:,}), {stored:,} observations "
            f"(lost {lost:,}), {runs} runs; a second delivery of every batch: "
            f"{dict(sorted(again_codes.items()))} in {again:.1f} s, database then "
            f"{after[0]:,} devices / {after[1]:,} observations / {after[2]} runs"
        )
        if devices != expected or lost or after != (devices, stored, runs):
            raise SystemExit("FAILED: something was lost or recorded twice")
    finally:
        for process in processes:
            process.terminate()  # type: ignore[attr-defined]
            process.wait(timeout=30)  # type: ignore[attr-defined]
        cluster.__exit__(None, None, None)


if __name__ == "__main__":
    main()
