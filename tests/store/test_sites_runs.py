"""The inventory knows its sites and the kind of every run (issue #10 parts 2 and 5)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from coverwatch.models import Attribution, Observation, ObsStatus, SourceKind
from coverwatch.store import Inventory, ScanRecord, open_inventory
from coverwatch.store.interface import HostResult

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def _host(ip: str) -> HostResult:
    port = Observation(ip, "tcp.port", "80", 80, "tcp", ObsStatus.OK, SourceKind.SCAN, T0)
    return HostResult(ip, (port,), Attribution(maker="Axis", confidence=0.6))


@pytest.fixture
def inventory(tmp_path: Path) -> Iterator[Inventory]:
    inv = open_inventory(str(tmp_path / "inventory.db"))
    yield inv
    inv.close()


def test_sites_are_those_of_devices_and_of_runs(inventory: Inventory) -> None:
    assert inventory.sites() == []
    inventory.record_scan("hq", ["10.0.0.0/24"], {"source": "scan"}, T0, [_host("10.0.0.5")])
    inventory.record_scan("depot", ["10.0.0.5"], {"source": "scan"}, T0, [_host("10.0.0.5")])
    inventory.record_scan("north", ["a.xml"], {"source": "import"}, T0, [])  # an empty run
    assert inventory.sites() == ["depot", "hq", "north"]
    where = inventory.sites_of(["10.0.0.5", "10.0.0.9"])
    assert where == {"10.0.0.5": ["depot", "hq"]}  # unknown addresses are absent


def test_sites_of_reads_long_lists_in_bounded_batches(inventory: Inventory) -> None:
    hosts = [_host(f"10.{i // 250}.{i % 250}.1") for i in range(1200)]
    inventory.record_scan("hq", ["10.0.0.0/8"], {}, T0, hosts)
    where = inventory.sites_of([h.ip for h in hosts] + ["192.0.2.1"])
    assert len(where) == 1200 and set(map(tuple, where.values())) == {("hq",)}


def _run(options: dict[str, object], targets: list[str] | None = None) -> ScanRecord:
    return ScanRecord(1, T0, T0, "hq", targets or ["10.0.0.0/24"], options, 0)


@pytest.mark.parametrize(
    ("options", "kind"),
    [
        ({"source": "discovery", "interface": None}, "discovery"),
        ({"source": "register", "file": "r.csv"}, "register"),
        ({"source": "capture"}, "capture"),
        # Runs recorded before the kind was kept: told by their options.
        ({"ports": [80], "timeout": 3.0}, "scan"),
        ({"file": "lan.xml", "rows": 3, "bad_rows": 0}, "import"),
        ({"interface": "eth0", "timeout": 3.0}, "discovery"),
        ({"source": ""}, "scan"),
    ],
)
def test_run_kind(options: dict[str, object], kind: str) -> None:
    assert _run(options).kind == kind


def test_run_scope_is_kind_site_and_targets_in_any_order() -> None:
    a = _run({"source": "scan"}, ["10.0.0.2", "10.0.0.1"])
    b = _run({"source": "scan", "ports": [80]}, ["10.0.0.1", "10.0.0.2"])
    assert a.scope == b.scope == ("scan", "hq", ("10.0.0.1", "10.0.0.2"))
    assert a.scope != _run({"source": "discovery"}, ["10.0.0.1", "10.0.0.2"]).scope


def test_recorded_runs_keep_their_kind(tmp_path: Path) -> None:
    db = tmp_path / "inventory.db"
    inventory = open_inventory(str(db))
    try:
        inventory.record_scan("hq", ["x"], {"source": "discovery"}, T0, [])
        inventory.record_scan("hq", ["x"], {"ports": [80]}, T0, [])
    finally:
        inventory.close()
    # An inventory written before the kind was kept has options without "source".
    with sqlite3.connect(db) as conn:
        stored = [json.loads(r[0]) for r in conn.execute("SELECT options FROM scans ORDER BY id")]
    assert stored == [{"source": "discovery"}, {"ports": [80]}]
    reopened = open_inventory(str(db))
    try:
        assert [r.kind for r in reopened.scans()] == ["discovery", "scan"]
    finally:
        reopened.close()
