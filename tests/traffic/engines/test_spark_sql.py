"""Spark and DuckDB give the same egress statements, document for document (issue #15).

Both engines run the same shared code around their aggregations, so any difference here is
a difference in the SQL: the lab capture, and a generated estate of several sites written
through the store's own writer, are compared whole (every destination, byte, upload and port
mapping), over all the data and over a window.
"""

from __future__ import annotations

import math
import random
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from coverwatch.errors import InputError
from coverwatch.lab.capture import LabCapture
from coverwatch.models import Address, Attribution
from coverwatch.store.interface import DeviceRecord
from coverwatch.traffic import DeviceEgress, EgressVerdict
from coverwatch.traffic.egress import EgressOptions, egress, last_record
from coverwatch.traffic.engines import DuckDbEngine, SparkEngine
from coverwatch.traffic.table import Staging

pytestmark = pytest.mark.slow  # a JVM and a few seconds of Spark jobs per test

T0 = 1_767_600_000.0  # 2026-01-05
INTERNAL = ["10.0.0.0/8"]
MAKERS = ["Hikvision", "Dahua", "Axis", None]
#: (remote, DNS name in the flow, name learned from DNS answers, proto, port)
CLOUDS = [
    ("47.88.10.1", "litedev.hik-connect.com", None, "udp", 9989),
    ("52.28.5.5", None, "www.easy4ipcloud.com", "udp", 8800),
    ("34.240.1.9", None, "prod.adm.connect.axis.com", "tcp", 443),
    ("162.159.200.1", "pool.ntp.org", None, "udp", 123),
    ("198.51.100.7", None, None, "tcp", 443),
    ("203.0.113.80", None, None, "tcp", 8000),
]


def documents(found: list[DeviceEgress]) -> list[dict[str, Any]]:
    return [asdict(e) for e in found]


def write_estate(store: Path) -> list[DeviceRecord]:
    """Three sites of twelve devices: internal video, vendor clouds (named in the flow, by the
    device's own DNS answers, by anyone's), NTP, unknown hosts, return flows, uploads over the
    threshold, UPnP mappings, a device seen under an old address, a silent device per site,
    and a damaged row; one Parquet file per site and table."""
    rng = random.Random(15)
    staging = Staging(str(store))
    devices = []
    for site in (1, 2, 3):
        flows = staging.writer("flows", f"site{site}-flows")
        dns = staging.writer("dns", f"site{site}-dns")
        portmaps = staging.writer("portmaps", f"site{site}-portmaps")
        nvr = f"10.{site}.0.5"
        for n in range(12):
            ip = f"10.{site}.1.{10 + n}"
            old = f"10.{site}.9.{10 + n}" if n == 3 else None
            devices.append(
                DeviceRecord(
                    ip,
                    f"02:00:00:00:{site:02x}:{n:02x}",
                    f"site{site}",
                    Attribution(maker=MAKERS[n % 4]),
                    addresses=(Address(old, None, None),) if old else (),
                )
            )
            if n == 11:
                continue  # silent: no traffic at all
            for k in range(rng.randint(20, 60)):  # the video to the site's NVR
                start = T0 + rng.uniform(0, 7200)
                src = old if old and k % 2 else ip
                flows.add(_flow(start, 30, "tcp", src, nvr, 554, rng.randint(10**5, 10**7)))
            if n % 5 == 4:
                continue  # internal only: no egress
            if n % 3 == 0:  # its own maker's cloud only (Hikvision, Dahua, Axis: in order)
                chosen = [CLOUDS[n // 3 % 3]]
            else:
                chosen = rng.sample(CLOUDS[:4] if n % 3 == 1 else CLOUDS, 2)
            for remote, in_flow, answered, proto, port in chosen:
                for _ in range(rng.randint(1, 8)):
                    start = T0 + rng.uniform(0, 7000)
                    flows.add(_flow(start, 5, proto, ip, remote, port, 2000, in_flow))
                # the same bytes to the same host on another port: a tie in the ordering
                flows.add(_flow(T0 + 100, 5, proto, ip, remote, port + 1, 2000, in_flow))
                if answered:
                    dns.add((T0 + rng.uniform(0, 60), ip, answered, remote, "estate"))
            if n == 2:  # a return flow: the remote opened the conversation
                flows.add(_flow(T0 + 300, 2, "tcp", "198.51.100.99", ip, 8000, 640))
            if n in (1, 5):  # a sustained upload, 8 Mbit/s for two minutes
                flows.add(_flow(T0 + 3600, 120, "tcp", ip, "52.28.9.9", 443, 120 * 10**6))
            if n == 1:
                portmaps.add((T0 + 50, ip, f"10.{site}.0.1", "upnp-add", 8000, 80, "TCP", "e"))
        # two names for one address at one instant: the choice must not depend on the engine
        dns.add((T0 + 10, "10.9.9.9", "a.example.net", "203.0.113.80", "estate"))
        dns.add((T0 + 10, "10.9.9.9", "b.example.net", "203.0.113.80", "estate"))
        flows.add(_flow(math.nan, 5, "tcp", f"10.{site}.1.10", "198.51.100.7", 443, 1))
        for writer in (flows, dns, portmaps):
            writer.close()
    staging.commit()
    return devices


def _flow(
    start: float,
    seconds: float,
    proto: str,
    src: str,
    dst: str,
    port: int,
    sent: int,
    name: str | None = None,
) -> tuple[Any, ...]:
    return (start, start + seconds, proto, src, 40000, dst, port, sent, sent // 1000 + 1,
            sent // 10, sent // 2000 + 1, name, "zeek", "estate")  # fmt: skip


@pytest.fixture(scope="module")
def estate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[DeviceRecord]]:
    store = tmp_path_factory.mktemp("estate")
    return store, write_estate(store)


def test_lab_capture_same_documents(
    spark_engine: SparkEngine,
    lab_store: Path,
    lab_capture: LabCapture,
    lab_devices: list[DeviceRecord],
) -> None:
    duck = egress(str(lab_store), lab_devices, lab_capture.internal, engine=DuckDbEngine())
    spark = egress(str(lab_store), lab_devices, lab_capture.internal, engine=spark_engine)
    assert documents(spark) == documents(duck)
    planted = {ip: t.verdict for ip, t in lab_capture.egress.items()}
    assert {e.ip: e.verdict.value for e in spark if e.ip in planted} == planted


def test_estate_same_documents(
    spark_engine: SparkEngine, estate: tuple[Path, list[DeviceRecord]]
) -> None:
    store, devices = estate
    duck = egress(str(store), devices, INTERNAL, engine=DuckDbEngine())
    spark = egress(str(store), devices, INTERNAL, engine=spark_engine)
    assert documents(spark) == documents(duck)
    # the data set exercises every verdict, uploads, mappings, return flows and old addresses
    assert {e.verdict for e in spark} == set(EgressVerdict)
    assert sum(bool(e.large_uploads) for e in spark) == 6
    assert sum(bool(e.port_mappings) for e in spark) == 3
    assert any(not d.initiated_by_device for e in spark for d in e.destinations)
    moved = next(e for e in spark if e.ip == "10.2.1.13")
    assert moved.flows_seen > 0


def test_estate_window_and_thresholds(
    spark_engine: SparkEngine, estate: tuple[Path, list[DeviceRecord]]
) -> None:
    store, devices = estate
    start = datetime.fromtimestamp(T0, UTC) + timedelta(minutes=50)
    window = (start, start + timedelta(minutes=20))
    options = EgressOptions(upload_bps=4e6, upload_min_seconds=30, coverage_gap=10)
    url = f"file://{store}"  # as Spark reads any Hadoop file system: the manifest, then files
    runs = [
        egress(str(store), devices, INTERNAL, window, options, engine=DuckDbEngine()),
        egress(url, devices, INTERNAL, window, options, engine=spark_engine),
    ]
    assert documents(runs[1]) == documents(runs[0])
    assert any(e.large_uploads for e in runs[1])
    assert last_record(url, spark_engine) == last_record(str(store))


def test_unreadable_store_is_one_line(spark_engine: SparkEngine, tmp_path: Path) -> None:
    (tmp_path / "manifest.json").write_text('{"tables": {"flows": {"x": "gone.parquet"}}}')
    with pytest.raises(InputError) as caught:
        egress(f"file://{tmp_path}", [], INTERNAL, engine=spark_engine)
    assert str(tmp_path) in str(caught.value) and "\n" not in str(caught.value)
