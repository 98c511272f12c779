"""The dashboard builds its report once and reuses it until something it is made of changes:
a run or a waiver recorded by any process, a flow file, the date."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from fastapi import FastAPI

from coverwatch.models import Attribution, DeviceType
from coverwatch.policy.loader import load_policy
from coverwatch.store import HostResult, open_inventory
from coverwatch.web.app import create_app
from coverwatch.web.dashboard import Dashboard
from tests.conftest import Cli
from tests.web.conftest import Estate
from tests.web.helpers import Client

FINDING = re.compile(r'<tr data-key="([^|"]+)\|([^|"]+)\|([^"]+)"')


@pytest.fixture
def app(estate: Estate) -> Iterator[FastAPI]:
    app = create_app(str(estate.db), str(estate.policy))
    yield app
    app.state.dashboard.inventory.close()


def _keys(client: Client, status: str) -> set[tuple[str, str, str]]:
    page = client.get("/findings", params={"status": status, "rows": "5000"}).text
    return set(FINDING.findall(page))


def test_what_another_process_records_shows_on_the_next_page(app: FastAPI, estate: Estate) -> None:
    viewer = Client(app)
    assert viewer.sign_in(estate.viewer).status_code == 303
    site, ip, rule = sorted(_keys(viewer, "open"))[0]
    assert (site, ip, rule) not in _keys(viewer, "waived")  # the report is built (and kept)

    cli = Cli(estate.db)  # the CLI writes the same inventory while the dashboard serves it
    expires = (date.today() + timedelta(days=30)).isoformat()
    added = cli.json(
        "waiver", "add", "--rule", rule, "--device", ip, "--site", site, "--reason", "test",
        "--approver", "CISO", "--expires", expires, "--policy", str(estate.policy), "--json",
    )  # fmt: skip
    assert (site, ip, rule) in _keys(viewer, "waived")
    done = cli("waiver", "revoke", str(added["id"]))  # type: ignore[index]
    assert done.returncode == 0, done.stderr
    assert (site, ip, rule) in _keys(viewer, "open")

    devices = viewer.get("/devices", params={"q": "10.99.0.1"}).text
    assert "Showing 0 matching devices" in devices
    inventory = open_inventory(str(estate.db))
    try:
        camera = Attribution("Hikvision", None, None, None, DeviceType.CAMERA, None, 0.9, ())
        host = HostResult("10.99.0.1", (), camera, None)
        inventory.record_scan("branch", ["10.99.0.1"], {}, datetime.now(UTC), [host])
    finally:
        inventory.close()
    devices = viewer.get("/devices", params={"q": "10.99.0.1"}).text
    assert "Showing 1&ndash;1 of 1 matching devices" in devices


def test_the_report_is_reused_until_the_flow_store_changes(estate: Estate, tmp_path: Path) -> None:
    store = tmp_path / "flows-store"
    store.mkdir()
    inventory = open_inventory(str(estate.db))
    try:
        board = Dashboard(inventory, load_policy(str(estate.policy)), traffic_dir=str(store))
        first, _ = board.snapshot()
        again = board.data(title="Board pack")
        assert again.devices is first.devices  # the same report, not built again
        assert again.title == "Board pack" and again.generated_at > first.generated_at
        assert board.data(site="hq").devices is not first.devices  # a site's report is its own
        (store / "names.json").write_text("{}")  # a file the traffic reader would now see
        assert board.data().devices is not first.devices
    finally:
        inventory.close()
