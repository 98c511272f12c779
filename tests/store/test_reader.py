"""Listing the inventory without SQLAlchemy (issue #13: `devices` starts and ends in < 0.3 s)."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from coverwatch.models import Attribution, DeviceType, Observation, ObsStatus, SourceKind
from coverwatch.store import open_inventory, open_reader
from coverwatch.store.interface import HostResult
from coverwatch.store.reader import SqliteReader
from tests.conftest import Cli
from tests.store.released import old_inventory

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def _host(ip: str, mac: str, maker: str) -> HostResult:
    port = Observation(ip, "tcp.port", "554", 554, "tcp", ObsStatus.OK, SourceKind.SCAN, T0)
    attribution = Attribution(maker, model="DS-2CD2143G2-I", device_type=DeviceType.CAMERA)
    return HostResult(ip, (port,), attribution, mac=mac, serial="DS-2CD2143G2-I20230101")


def _inventory(path: Path) -> None:
    inventory = open_inventory(str(path))
    try:
        inventory.record_scan(
            "hq", ["10.0.0.0/24"], {}, T0, [_host("10.0.0.5", "c0:56:e3:00:00:01", "Hikvision")]
        )
        moved = _host("10.0.0.9", "c0:56:e3:00:00:01", "Hikvision")  # the same camera, moved
        inventory.record_scan("hq", ["10.0.0.0/24"], {}, T0 + timedelta(days=1), [moved])
        axis = _host("10.1.0.5", "ac:cc:8e:00:00:02", "Axis")
        inventory.record_scan("depot", ["10.1.0.0/24"], {}, T0, [axis])
    finally:
        inventory.close()


def test_the_reader_lists_what_the_inventory_lists(tmp_path: Path) -> None:
    path = tmp_path / "inventory.db"
    _inventory(path)
    inventory, reader = open_inventory(str(path)), open_reader(str(path))
    try:
        assert isinstance(reader, SqliteReader)
        assert reader.sites() == inventory.sites() == ["depot", "hq"]
        for site in (None, "hq", "depot"):
            listed = [d.to_json() for d in reader.devices(site)]
            assert listed == [d.to_json() for d in inventory.devices(site)]
        (camera,) = reader.devices("hq")
        assert [a.ip for a in camera.addresses] == ["10.0.0.5", "10.0.0.9"]
    finally:
        inventory.close()
        reader.close()


def test_listing_devices_imports_no_sqlalchemy(tmp_path: Path) -> None:
    path = tmp_path / "inventory.db"
    _inventory(path)
    code = (
        "import sys\n"
        f"sys.argv = ['coverwatch', '--db', {str(path)!r}, 'devices', '--site', 'hq', '--json']\n"
        "from coverwatch.cli import main\n"
        "main()\n"
        "print('sqlalchemy' in sys.modules, file=sys.stderr)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert '"10.0.0.9"' in out.stdout
    assert out.stderr.strip() == "False"


def test_an_older_inventory_is_upgraded_then_read(tmp_path: Path) -> None:
    path = tmp_path / "inventory.db"
    old_inventory(str(path), 6)  # its device's MAC spelt C0-56-E3-00-00-01
    reader = open_reader(str(path))
    try:
        assert not isinstance(reader, SqliteReader)  # the full inventory, which upgrades
        assert [d.mac for d in reader.devices()] == ["c0:56:e3:00:00:01"]
    finally:
        reader.close()
    again = open_reader(str(path))
    try:
        assert isinstance(again, SqliteReader)
    finally:
        again.close()


def test_a_file_that_is_no_inventory_is_a_one_line_error(tmp_path: Path, cli: Cli) -> None:
    junk = tmp_path / "notes.db"
    junk.write_bytes(b"these are my notes, not a database" * 100)
    result = cli("--db", str(junk), "devices", db=False)
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1 and str(junk) in result.stderr
    assert junk.read_bytes().startswith(b"these are my notes")
