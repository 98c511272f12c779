"""Benchmark: merging a new scan into a large inventory, on SQLite and PostgreSQL.

Run: .venv/bin/python bench/merge_scale/run.py [DEVICES] [OBSERVATIONS] [SCANNED]
Defaults: an inventory of 100,000 devices and 2,000,000 observations (seeded straight into the
tables), then one scan of 10,000 devices merged through ``pipeline.record_run`` (identity
resolution, fusion with earlier evidence, attribution, one transaction): 8,000 known devices at
their address, 1,000 that moved (same MAC, new address) and 1,000 new ones. The baseline is what
a plain append of the same scan costs on the same database (the run, its observations and one
row per host, with no identity or attribution): the ratio is what one-device-one-row costs.
PostgreSQL runs as a throwaway cluster on loopback (Debian's postgresql package); without it,
only SQLite is measured. Target (issue #10): merge under 10 s on both.
"""

from __future__ import annotations

import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repository's tests package

from coverwatch.models import Observation, SourceKind
from coverwatch.pipeline import record_run
from coverwatch.store import open_inventory
from coverwatch.store.recorder import bulk_insert
from coverwatch.store.schema import addresses, devices, observations, scans

T0 = datetime(2026, 11, 1, tzinfo=UTC)
_SIGNALS = (
    ("http.server", "App-webs/"),
    ("http.title", "index"),
    ("rtsp.server", "Hikvision-Webs"),
    ("tcp.port", "80"),
    ("tcp.port", "554"),
)


def _ip(n: int) -> str:
    return f"10.{n // 65536 % 256}.{n // 256 % 256}.{n % 256}"


def _mac(n: int) -> str:
    return "c0:56:e3:" + ":".join(f"{b:02x}" for b in n.to_bytes(3, "big"))


def seed(url: str, count: int, total: int) -> None:
    """``count`` devices with ``total`` observations over them, written straight to the tables."""
    inventory = open_inventory(url)
    inventory.close()
    engine = sa.create_engine(url if "://" in url else f"sqlite:///{url}")
    per = max(1, total // count)
    with engine.begin() as conn:
        conn.execute(
            scans.insert().values(
                id=1,
                started_at=T0,
                finished_at=T0,
                site="hq",
                targets='["10.0.0.0/8"]',
                options='{"source": "scan"}',
                hosts_found=count,
            )
        )
        for start in range(0, count, 20_000):
            chunk = range(start + 1, min(count, start + 20_000) + 1)
            bulk_insert(
                conn,
                devices,
                [
                    {
                        "id": n,
                        "site": "hq",
                        "ip": _ip(n),
                        "mac": _mac(n),
                        "maker": "Hikvision",
                        "device_type": "camera",
                        "confidence": 0.9,
                        "evidence": "[]",
                        "open_ports": "[80, 554]",
                        "first_seen": T0,
                        "last_seen": T0,
                        "last_scan_id": 1,
                        "sources": '["scan"]',
                    }
                    for n in chunk
                ],
            )
            bulk_insert(
                conn,
                addresses,
                [{"device_id": n, "ip": _ip(n), "first_seen": T0, "last_seen": T0} for n in chunk],
            )
            bulk_insert(
                conn,
                observations,
                [
                    {
                        "scan_id": 1,
                        "device_id": n,
                        "ip": _ip(n),
                        "port": 80,
                        "protocol": "http",
                        "signal": _SIGNALS[k % len(_SIGNALS)][0],
                        "value": _SIGNALS[k % len(_SIGNALS)][1],
                        "status": "ok",
                        "source": "scan",
                        "observed_at": T0,
                    }
                    for n in chunk
                    for k in range(per)
                ],
            )
        if conn.dialect.name == "postgresql":  # explicit ids: move the sequences past them
            for table in ("scans", "devices"):
                conn.execute(
                    sa.text(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                        f"(SELECT max(id) FROM {table}))"
                    )
                )
    with engine.connect() as conn:  # as autovacuum would have by now on a live inventory
        conn.execute(sa.text("ANALYZE"))
        conn.commit()
    engine.dispose()


def new_scan(count: int, scanned: int) -> dict[str, list[Observation]]:
    """A scan of ``scanned`` devices: 80% known where they were, 10% moved, 10% new."""
    at = T0 + timedelta(days=7)
    found: dict[str, list[Observation]] = {}
    for i in range(scanned):
        if i < scanned * 8 // 10:
            n, ip = i + 1, _ip(i + 1)
        elif i < scanned * 9 // 10:
            n, ip = i + 1, _ip(count + 1 + i)  # moved: its MAC at a new address
        else:
            n, ip = count + 1 + i, _ip(count + 1 + i)  # a new device
        found[ip] = [
            Observation(ip, "mac", _mac(n), None, "arp", source=SourceKind.SCAN, observed_at=at),
            *(
                Observation(ip, s, v, 80, "http", source=SourceKind.SCAN, observed_at=at)
                for s, v in _SIGNALS
            ),
        ]
    return found


def plain_append(url: str, found: dict[str, list[Observation]]) -> float:
    """The same scan appended with no identity or attribution: a row per host and its
    observations, by the fastest bulk path of the database (what a tool that keys devices by
    address alone writes)."""
    engine = sa.create_engine(url if "://" in url else f"sqlite:///{url}")
    start = time.perf_counter()
    with engine.begin() as conn:
        base = 5_000_000
        bulk_insert(
            conn,
            devices,
            [
                {
                    "id": base + k,
                    "site": "plain",
                    "ip": ip,
                    "confidence": 0.0,
                    "evidence": "[]",
                    "open_ports": "[]",
                    "first_seen": T0,
                    "last_seen": T0,
                    "sources": "[]",
                }
                for k, ip in enumerate(found)
            ],
        )
        bulk_insert(
            conn,
            observations,
            [
                {
                    "scan_id": 1,
                    "device_id": base + k,
                    "ip": ip,
                    "port": o.port,
                    "protocol": o.protocol,
                    "signal": o.signal,
                    "value": o.value,
                    "status": "ok",
                    "source": "scan",
                    "observed_at": o.observed_at,
                }
                for k, (ip, obs) in enumerate(found.items())
                for o in obs
            ],
        )
    elapsed = time.perf_counter() - start
    engine.dispose()
    return elapsed


def measure(label: str, url: str, count: int, total: int, scanned: int) -> None:
    start = time.perf_counter()
    seed(url, count, total)
    print(
        f"{label}: seeded {count:,} devices, {total:,} observations in "
        f"{time.perf_counter() - start:.1f} s",
        flush=True,
    )
    found = new_scan(count, scanned)
    inventory = open_inventory(url)
    try:
        start = time.perf_counter()
        _, hosts = record_run(
            inventory, "hq", found, SourceKind.SCAN, ["10.0.0.0/8"], {}, T0 + timedelta(days=7)
        )
        merge = time.perf_counter() - start
        rows = len(inventory.devices("hq"))
    finally:
        inventory.close()
    expected = count + scanned // 10
    plain = plain_append(url, found)
    print(
        f"{label}: merged a scan of {len(hosts):,} devices in {merge:.2f} s "
        f"(target < 10 s); inventory now {rows:,} devices (expected {expected:,}: moved "
        f"devices kept their row); plain append {plain:.2f} s; ratio {merge / plain:.1f}x",
        flush=True,
    )
    if rows != expected:
        raise SystemExit(f"{label}: wrong device count {rows:,}, expected {expected:,}")


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    total = int(sys.argv[2]) if len(sys.argv) > 2 else 2_000_000
    scanned = int(sys.argv[3]) if len(sys.argv) > 3 else 10_000
    with tempfile.TemporaryDirectory() as tmp:
        measure("sqlite", str(Path(tmp) / "inventory.db"), count, total, scanned)
    from tests.pg import PostgresMissing, throwaway_postgres

    try:
        with throwaway_postgres() as url:
            measure("postgresql", url, count, total, scanned)
    except PostgresMissing as e:
        print(f"postgresql: skipped: {e}")


if __name__ == "__main__":
    main()
