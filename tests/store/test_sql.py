"""The SQLite inventory: scans round-trip, history grows, foreign files are never touched."""

from __future__ import annotations

import hashlib
import os
import random
import sqlite3
import stat
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from coverwatch.errors import CoverwatchError, StoreError
from coverwatch.models import (
    Attribution,
    DeviceType,
    Evidence,
    Observation,
    ObsStatus,
    SourceKind,
    device_text,
)
from coverwatch.store import Inventory, open_inventory
from coverwatch.store.interface import HostResult
from coverwatch.store.rows import SCHEMA_VERSION
from coverwatch.store.sql import SqlInventory, database_url

T0 = datetime(2024, 3, 1, 9, 0, 0, tzinfo=UTC)
CAMERA = "127.31.0.10"
NVR = "127.31.0.9"

HIKVISION = Attribution(
    maker="Hikvision",
    brand="Hikvision",
    model="DS-2CD2143G2-I",
    firmware="V5.7.3",
    device_type=DeviceType.CAMERA,
    covered="Hangzhou Hikvision Digital Technology Company",
    confidence=0.93,
    evidence=(
        Evidence(
            "http.server",
            "App-webs/",
            "fp:hikvision-http-server-app-webs",
            "WhatWeb PR 425",
            maker="Hikvision",
            weight=0.7,
        ),
        Evidence(
            "onvif.manufacturer",
            "HIKVISION",
            "fp:hikvision-onvif-manufacturer",
            "ONVIF GetDeviceInformation",
            maker="Hikvision",
            brand="Hikvision",
            weight=0.9,
        ),
        Evidence(
            "tcp.port",
            "37777",
            "fp:dahua-port-37777",
            "Dahua SDK port",
            maker="Dahua",
            weight=0.2,
            conflicts=True,
        ),
    ),
)


def obs(
    ip: str,
    signal: str,
    value: str,
    port: int | None,
    protocol: str,
    status: ObsStatus = ObsStatus.OK,
    at: datetime = T0,
    source: SourceKind = SourceKind.SCAN,
) -> Observation:
    return Observation(ip, signal, value, port, protocol, status, source, at)


def camera_scan(
    at: datetime = T0, attribution: Attribution = HIKVISION, mac: str | None = "44:19:b6:01:02:03"
) -> HostResult:
    return HostResult(
        ip=CAMERA,
        observations=(
            obs(CAMERA, "tcp.port", "443", 443, "tcp", at=at),
            obs(CAMERA, "tcp.port", "80", 80, "tcp", at=at),
            obs(CAMERA, "tcp.port", "80", 80, "tcp", at=at),  # seen twice: listed once
            obs(CAMERA, "http.server", "App-webs/", 80, "http", at=at),
            obs(
                CAMERA,
                "rtsp.error",
                "no reply within 3s",
                554,
                "rtsp",
                status=ObsStatus.TIMEOUT,
                at=at,
            ),
            obs(
                CAMERA, "dhcp.hostname", "cam-lobby", None, "dhcp", at=at, source=SourceKind.CAPTURE
            ),
        ),
        attribution=attribution,
        mac=mac,
    )


def nvr_scan(at: datetime = T0) -> HostResult:
    return HostResult(
        ip=NVR,
        observations=(obs(NVR, "tcp.port", "554", 554, "tcp", at=at),),
        attribution=Attribution(device_type=DeviceType.NVR, confidence=0.0),
    )


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "inventory.db"


@pytest.fixture
def inventory(db: Path) -> Iterator[Inventory]:
    inv = open_inventory(str(db))
    yield inv
    inv.close()


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def open_error(path: Path | str) -> str:
    with pytest.raises(StoreError) as info:
        SqlInventory(str(path)).close()
    message = str(info.value)
    assert "\n" not in message, "store errors are one line"
    assert isinstance(info.value, CoverwatchError)
    return message


# --- opening and URLs --------------------------------------------------------------------------


def test_open_inventory_gives_a_sql_inventory_and_creates_folders(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "er" / "inventory.db"
    inv = open_inventory(str(path))
    try:
        assert isinstance(inv, SqlInventory)
        assert path.is_file()
        assert inv.devices() == []
        assert inv.scans() == []
    finally:
        inv.close()


@pytest.mark.parametrize(
    ("db", "url"),
    [
        ("/var/lib/coverwatch/inventory.db", "sqlite:////var/lib/coverwatch/inventory.db"),
        ("postgresql+psycopg://u@127.0.0.1/cw", "postgresql+psycopg://u@127.0.0.1/cw"),
        ("sqlite:///x.db", "sqlite:///x.db"),
    ],
)
def test_database_url(db: str, url: str) -> None:
    assert database_url(db) == url


def test_database_url_expands_home() -> None:
    assert database_url("~/inv.db") == f"sqlite:///{Path.home() / 'inv.db'}"


# --- round trips --------------------------------------------------------------------------------


def test_scan_round_trip(inventory: Inventory) -> None:
    options = {"ports": [80, 443, 554], "timeout": 3.0, "rate": None}
    scan_id = inventory.record_scan(
        "hq", ["127.31.0.0/24", "@cams.txt"], options, T0, [camera_scan(), nvr_scan()]
    )
    (scan,) = inventory.scans()
    assert scan.id == scan_id
    assert scan.site == "hq"
    assert scan.targets == ["127.31.0.0/24", "@cams.txt"]
    assert scan.options == options
    assert scan.hosts_found == 2
    assert scan.started_at == T0
    assert scan.finished_at is not None
    assert scan.finished_at.tzinfo is not None
    assert scan.finished_at >= T0


def test_devices_round_trip_with_evidence_and_open_ports(inventory: Inventory) -> None:
    inventory.record_scan("hq", ["127.31.0.0/24"], {}, T0, [camera_scan(), nvr_scan()])
    nvr, camera = inventory.devices()  # ordered by address: .9 before .10
    assert (nvr.ip, camera.ip) == (NVR, CAMERA)
    assert camera.attribution == HIKVISION
    assert camera.attribution.evidence[2].conflicts is True
    assert camera.open_ports == [80, 443]
    assert camera.mac == "44:19:b6:01:02:03"
    assert camera.site == "hq"
    assert nvr.attribution == Attribution(device_type=DeviceType.NVR)
    assert nvr.open_ports == [554]
    assert nvr.mac is None
    for device in (nvr, camera):
        assert device.first_seen is not None and device.first_seen.tzinfo is not None
        assert device.first_seen == device.last_seen


def test_device_json_keeps_attribution_and_inventory_fields(inventory: Inventory) -> None:
    inventory.record_scan("hq", [CAMERA], {}, T0, [camera_scan()])
    data = inventory.devices()[0].to_json()
    assert data["ip"] == CAMERA
    assert data["maker"] == "Hikvision"
    assert data["covered"] == "Hangzhou Hikvision Digital Technology Company"
    assert data["device_type"] == "camera"
    assert data["open_ports"] == [80, 443]
    assert [e["matched"] for e in data["evidence"]] == [  # type: ignore[union-attr]
        "fp:hikvision-http-server-app-webs",
        "fp:hikvision-onvif-manufacturer",
        "fp:dahua-port-37777",
    ]


def test_observations_round_trip_failures_included(inventory: Inventory) -> None:
    host = camera_scan()
    inventory.record_scan("hq", [CAMERA], {}, T0, [host])
    assert inventory.observations(CAMERA) == list(host.observations)
    timeout = inventory.observations(CAMERA)[4]
    assert (timeout.status, timeout.value) == (ObsStatus.TIMEOUT, "no reply within 3s")


def test_observation_without_protocol_is_filed_under_its_signal_family(
    inventory: Inventory,
) -> None:
    host = HostResult(CAMERA, (Observation(CAMERA, "snmp.sysdescr", "Linux"),), Attribution())
    inventory.record_scan("hq", [CAMERA], {}, T0, [host])
    (stored,) = inventory.observations(CAMERA)
    assert stored.protocol == "snmp"
    assert stored.observed_at is None
    assert stored.port is None


def test_second_scan_moves_last_seen_and_keeps_first_seen(inventory: Inventory) -> None:
    inventory.record_scan("hq", [CAMERA], {}, T0, [camera_scan()])
    (before,) = inventory.devices()
    updated = Attribution(
        maker="Hikvision",
        model="DS-2CD2143G2-I",
        firmware="V5.8.0",
        device_type=DeviceType.CAMERA,
        confidence=0.8,
    )
    later = T0 + timedelta(days=1)
    inventory.record_scan("hq", [CAMERA], {}, later, [camera_scan(later, updated, mac=None)])
    (after,) = inventory.devices()
    assert after.first_seen == before.first_seen
    assert before.last_seen is not None and after.last_seen is not None
    assert after.last_seen > before.last_seen
    assert after.attribution == updated  # the latest attribution wins
    assert after.mac == "44:19:b6:01:02:03"  # a scan that did not see the MAC keeps it
    assert [s.started_at for s in inventory.scans()] == [T0, later]


def test_observation_history_grows_oldest_first(inventory: Inventory) -> None:
    first, second = camera_scan(T0), camera_scan(T0 + timedelta(hours=1))
    inventory.record_scan("hq", [CAMERA], {}, T0, [first])
    inventory.record_scan("hq", [CAMERA], {}, T0 + timedelta(hours=1), [second])
    history = inventory.observations(CAMERA)
    assert history == [*first.observations, *second.observations]
    assert len(inventory.devices()) == 1


def test_closed_ports_disappear_on_rescan(inventory: Inventory) -> None:
    inventory.record_scan("hq", [CAMERA], {}, T0, [camera_scan()])
    only_rtsp = HostResult(CAMERA, (obs(CAMERA, "tcp.port", "554", 554, "tcp"),), HIKVISION)
    inventory.record_scan("hq", [CAMERA], {}, T0, [only_rtsp])
    assert inventory.devices()[0].open_ports == [554]


def test_two_sites_keep_separate_devices(inventory: Inventory) -> None:
    hq = camera_scan()
    branch = HostResult(
        CAMERA,
        (obs(CAMERA, "tcp.port", "8080", 8080, "tcp"),),
        Attribution(maker="Axis", confidence=0.6),
    )
    inventory.record_scan("hq", [CAMERA], {}, T0, [hq])
    inventory.record_scan("branch", [CAMERA], {}, T0, [branch])
    assert [(d.site, d.ip) for d in inventory.devices()] == [("branch", CAMERA), ("hq", CAMERA)]
    (only_hq,) = inventory.devices("hq")
    (only_branch,) = inventory.devices("branch")
    assert only_hq.attribution.maker == "Hikvision"
    assert only_branch.attribution.maker == "Axis"
    assert only_branch.open_ports == [8080]
    assert inventory.devices("nowhere") == []
    assert inventory.observations(CAMERA, "branch") == list(branch.observations)
    assert inventory.observations(CAMERA, "hq") == list(hq.observations)
    assert len(inventory.observations(CAMERA)) == len(hq.observations) + 1


def test_devices_are_ordered_by_site_then_numeric_address(inventory: Inventory) -> None:
    ips = ["127.31.0.10", "::1", "127.31.0.9", "127.31.0.100", "127.31.0.2"]
    hosts = [HostResult(ip, (), Attribution()) for ip in ips]
    inventory.record_scan("b", ips, {}, T0, hosts)
    inventory.record_scan(
        "a", ["127.31.0.50"], {}, T0, [HostResult("127.31.0.50", (), Attribution())]
    )
    assert [(d.site, d.ip) for d in inventory.devices()] == [
        ("a", "127.31.0.50"),
        ("b", "127.31.0.2"),
        ("b", "127.31.0.9"),
        ("b", "127.31.0.10"),
        ("b", "127.31.0.100"),
        ("b", "::1"),
    ]


def test_scan_with_no_hosts_is_still_recorded(inventory: Inventory) -> None:
    first = inventory.record_scan("hq", ["127.31.0.0/30"], {}, T0, [])
    second = inventory.record_scan("hq", ["127.31.0.0/30"], {}, T0, [])
    assert second > first
    assert [s.hosts_found for s in inventory.scans()] == [0, 0]
    assert inventory.devices() == []


def test_data_survives_reopening(db: Path) -> None:
    inv = open_inventory(str(db))
    inv.record_scan("hq", [CAMERA], {}, T0, [camera_scan()])
    inv.close()
    again = open_inventory(str(db))
    try:
        assert again.devices()[0].attribution == HIKVISION
        assert len(again.scans()) == 1
    finally:
        again.close()


def test_hostile_text_is_stored_as_data(inventory: Inventory) -> None:
    nasty = "x'); DROP TABLE devices; --\x00\u202e"
    host = HostResult(
        CAMERA,
        (obs(CAMERA, "http.title", nasty, 80, "http"),),
        Attribution(model=nasty, confidence=0.1),
    )
    inventory.record_scan(nasty, [nasty], {"note": nasty}, T0, [host])
    assert inventory.devices()[0].attribution.model == nasty
    # device text is normalised once, as it becomes an observation: the NUL (which PostgreSQL
    # refuses) is replaced, the injection attempt is kept as the data it is
    stored = inventory.observations(CAMERA)[0].value
    assert stored == device_text(nasty) == "x'); DROP TABLE devices; --\ufffd\u202e"
    assert inventory.scans()[0].site == nasty


# --- files that are not ours --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("random.db", random.Random(1).randbytes(8192)),
        ("short.bin", random.Random(2).randbytes(50)),
        ("hosts.csv", b"ip,mac\n127.31.0.1,44:19:b6:01:02:03\n"),
        ("report.json", b'{"schema_version": 1, "devices": []}\n'),
    ],
)
def test_file_that_is_not_a_database_is_refused_untouched(
    tmp_path: Path, name: str, content: bytes
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    message = open_error(path)
    assert str(path) in message
    assert "not a database" in message
    assert path.read_bytes() == content
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]  # no journal left behind


def _foreign_database(path: Path) -> str:
    conn = sqlite3.connect(path)
    conn.executescript(
        "CREATE TABLE moz_places (id INTEGER PRIMARY KEY, url TEXT);"
        "INSERT INTO moz_places (url) VALUES ('https://example.org/');"
        "CREATE TABLE devices (id INTEGER PRIMARY KEY, owner TEXT);"
    )
    conn.commit()
    conn.close()
    return digest(path)


def test_database_of_another_application_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "places.sqlite"
    before = _foreign_database(path)
    message = open_error(path)
    assert str(path) in message
    assert "not a coverwatch inventory" in message
    assert digest(path) == before
    conn = sqlite3.connect(path)
    try:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    finally:
        conn.close()
    assert tables == {"moz_places", "devices"}


def test_directory_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "inventory.db"
    folder.mkdir()
    message = open_error(folder)
    assert str(folder) in message
    assert "directory" in message
    assert list(folder.iterdir()) == []


def _set_schema_version(db: Path, value: str | None) -> None:
    open_inventory(str(db)).close()
    conn = sqlite3.connect(db)
    if value is None:
        conn.execute("DELETE FROM coverwatch_meta WHERE key = 'schema_version'")
    else:
        conn.execute("UPDATE coverwatch_meta SET value = ? WHERE key = 'schema_version'", (value,))
    conn.commit()
    conn.close()


def test_newer_schema_is_refused_untouched(db: Path) -> None:
    _set_schema_version(db, str(SCHEMA_VERSION + 1))
    before = digest(db)
    message = open_error(db)
    assert str(db) in message
    assert "newer" in message
    assert "upgrade coverwatch" in message
    assert digest(db) == before


def test_missing_schema_version_is_refused_untouched(db: Path) -> None:
    _set_schema_version(db, None)
    before = digest(db)
    assert str(db) in open_error(db)
    assert digest(db) == before


def test_current_schema_opens(db: Path) -> None:
    _set_schema_version(db, str(SCHEMA_VERSION))
    open_inventory(str(db)).close()


def test_unreadable_schema_version_is_a_store_error(db: Path) -> None:
    _set_schema_version(db, "1.0-beta")
    assert str(db) in open_error(db)


# --- failed writes ------------------------------------------------------------------------------


def _assert_first_scan_intact(inventory: Inventory, host: HostResult) -> None:
    (scan,) = inventory.scans()
    assert scan.site == "hq"
    (device,) = inventory.devices()
    assert device.attribution == HIKVISION
    assert device.open_ports == [80, 443]
    assert device.first_seen == device.last_seen
    assert inventory.observations(CAMERA) == list(host.observations)


def test_write_failing_midway_leaves_earlier_scans_intact(db: Path) -> None:
    inv = open_inventory(str(db))
    first = camera_scan()
    inv.record_scan("hq", [CAMERA], {}, T0, [first])
    # the disk "fills up" after the scan row and the device update, on the first observation
    conn = sqlite3.connect(db)
    conn.execute(
        "CREATE TRIGGER disk_full BEFORE INSERT ON observations "
        "BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END"
    )
    conn.commit()
    conn.close()
    try:
        changed = Attribution(maker="Dahua", confidence=0.5)
        with pytest.raises(StoreError) as info:
            inv.record_scan(
                "hq",
                [CAMERA],
                {},
                T0 + timedelta(days=1),
                [camera_scan(T0 + timedelta(days=1), changed)],
            )
        message = str(info.value)
        assert str(db) in message
        assert "nothing was written" in message
        assert "disk is full" in message
        assert "\n" not in message
        _assert_first_scan_intact(inv, first)
    finally:
        inv.close()


@pytest.mark.skipif(
    hasattr(os, "geteuid") and os.geteuid() == 0,
    reason="running as root: chmod cannot make the database read-only "
    "(test_write_failing_midway_leaves_earlier_scans_intact covers the rollback)",
)
def test_read_only_database_refuses_the_write_and_keeps_data(tmp_path: Path) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    db = folder / "inventory.db"
    inv = open_inventory(str(db))
    first = camera_scan()
    inv.record_scan("hq", [CAMERA], {}, T0, [first])
    inv.close()
    before = digest(db)
    db.chmod(stat.S_IRUSR)
    folder.chmod(stat.S_IRUSR | stat.S_IXUSR)
    try:
        inv = open_inventory(str(db))
        try:
            with pytest.raises(StoreError) as info:
                inv.record_scan("hq", [CAMERA], {}, T0, [camera_scan()])
            assert str(db) in str(info.value)
            assert "\n" not in str(info.value)
            _assert_first_scan_intact(inv, first)
        finally:
            inv.close()
        assert digest(db) == before
    finally:
        folder.chmod(stat.S_IRWXU)
        db.chmod(stat.S_IRUSR | stat.S_IWUSR)
