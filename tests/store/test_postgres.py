"""The same inventory on a real PostgreSQL server (a throwaway cluster on loopback)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest

from coverwatch.errors import StoreError
from coverwatch.lab.runner import LabProcess
from coverwatch.models import Observation, SourceKind
from coverwatch.pipeline import RunWriter, record_run
from coverwatch.store import open_inventory
from coverwatch.targets import DEFAULT_PORTS
from tests.conftest import Cli, free_port
from tests.pg import fresh_database


def test_scan_into_postgres_and_read_back(cli: Cli, lab: LabProcess, postgres_url: str) -> None:
    hosts = list(lab.truth)[:8]
    first = cli("--db", postgres_url, "scan", *hosts, "--site", "pg", db=False)
    assert first.returncode == 0, first.stderr
    second = cli("--db", postgres_url, "scan", *hosts[:3], "--site", "pg", db=False)
    assert second.returncode == 0, second.stderr
    inventory = open_inventory(postgres_url)
    try:
        devices = {d.ip: d for d in inventory.devices("pg")}
        assert set(devices) == set(hosts)
        for ip, device in devices.items():
            assert device.attribution.maker in (None, lab.truth[ip]["maker"])
            assert device.first_seen is not None and device.first_seen.tzinfo is not None
            assert device.open_ports == sorted(set(lab.truth[ip]["ports"]) & set(DEFAULT_PORTS))
        assert [s.site for s in inventory.scans()][-2:] == ["pg", "pg"]
        assert (
            len(inventory.observations(hosts[0], "pg"))
            > len([o for o in inventory.observations(hosts[-1], "pg")]) // 2
        )
    finally:
        inventory.close()


def test_unreachable_postgres_is_a_one_line_error(cli: Cli) -> None:
    url = f"postgresql+psycopg://nobody@127.0.0.1:{free_port()}/none"
    result = cli("--db", url, "devices", db=False)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "cannot open it as a database" in lines[0]
    with pytest.raises(StoreError):
        open_inventory(url)


def test_sites_and_runs_on_postgres(cli: Cli, postgres_url: str, tmp_path: Path) -> None:
    nmap = Path(__file__).parent.parent / "assets" / "nmap" / "lan_scan.xml"
    db = ("--db", postgres_url)
    first = cli(*db, "import", "nmap", str(nmap), "--site", "pg-sites", db=False)
    assert first.returncode == 0, first.stderr
    again = cli(*db, "import", "nmap", str(nmap), db=False)  # no --site: the devices' own site
    assert again.returncode == 0, again.stderr
    inventory = open_inventory(postgres_url)
    try:
        assert "pg-sites" in inventory.sites()
        assert inventory.sites_of(["192.0.2.10"])["192.0.2.10"] == ["pg-sites"]
        runs = [r for r in inventory.scans() if r.site == "pg-sites"]
        assert [r.kind for r in runs] == ["import", "import"]
    finally:
        inventory.close()
    unknown = cli(*db, "devices", "--site", "pg-nosuch", db=False)
    assert unknown.returncode == 2 and "'pg-sites'" in unknown.stderr


def test_two_runs_of_one_site_at_once_record_a_new_device_once(postgres_url: str) -> None:
    # Two sensors (or serve workers) recording the same site at the same moment: the second
    # must meet the device the first is adding, not add it again.
    url = fresh_database(postgres_url)
    first, second = open_inventory(url), open_inventory(url)
    at = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
    mac = Observation("10.9.0.5", "mac", "c0:56:e3:00:00:09", None, "arp", observed_at=at)
    found = {"10.9.0.5": [mac]}
    started, finished = threading.Event(), threading.Event()

    def later() -> None:
        started.wait(30)
        record_run(second, "hq", found, SourceKind.SCAN, ["10.9.0.5"], {}, at)
        finished.set()

    other = threading.Thread(target=later)
    other.start()
    try:
        with first.recording() as recorder:
            run = RunWriter(recorder, "hq", SourceKind.SCAN, ["10.9.0.5"], {}, at)
            run.add(found)
            started.set()
            assert not finished.wait(1.0), "the second run did not wait for the first"
            run.finish()
        other.join(30)
        assert finished.is_set()
        assert len(first.devices("hq")) == 1
    finally:
        other.join(30)
        first.close()
        second.close()


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_the_inventory_counts_move_with_every_run_and_waiver(
    backend: str, postgres_url: str, tmp_path: Path
) -> None:
    # what the dashboard reads to know its report still stands (web.dashboard)
    url = fresh_database(postgres_url) if backend == "postgres" else str(tmp_path / "inv.db")
    inventory, other = open_inventory(url), open_inventory(url)  # another writer, as a CLI
    try:
        seen = [inventory.changes()]
        at = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
        tcp = Observation("10.9.0.5", "tcp.port", "554", 554, "tcp", observed_at=at)
        record_run(other, "hq", {"10.9.0.5": [tcp]}, SourceKind.SCAN, ["10.9.0.5"], {}, at)
        seen.append(inventory.changes())
        waiver = other.add_waiver("covered-vendor", "10.9.0.5", "hq", "why", "CISO", at.date())
        seen.append(inventory.changes())
        assert other.revoke_waiver(waiver, "alice")
        seen.append(inventory.changes())
        assert len(set(seen)) == 4 and inventory.changes() == seen[-1]
    finally:
        inventory.close()
        other.close()
