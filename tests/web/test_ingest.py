"""POST /api/v1/ingest on a real uvicorn server (127.0.0.1) over a real SQLite inventory:
sensor tokens write only their sites, a retried batch is recorded once, bad batches are
refused in one line, and the endpoint is in the OpenAPI document."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from coverwatch.store import open_inventory
from coverwatch.web.app import create_app
from coverwatch.web.ingest import MAX_HOSTS
from coverwatch.web.server import trusted_hosts
from tests.web.helpers import serving

RATE = 30


@contextmanager
def running_app(db: str, rate: int = RATE) -> Iterator[str]:
    """``coverwatch serve``'s app over ``db`` on uvicorn in a thread; yields its URL."""
    app = create_app(db, None, trusted=trusted_hosts("127.0.0.1"), ingest_rate=rate)
    with serving(app) as base:
        yield base


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """The app over a SQLite inventory; yields its URL and the inventory's path."""
    db = tmp_path / "central.db"
    with running_app(str(db)) as base:
        yield base, db


def _token(db: Path | str, role: str, *sites: str) -> str:
    inventory = open_inventory(str(db))
    try:
        return inventory.create_token(f"{role}-{'-'.join(sites)}", role, sites)
    finally:
        inventory.close()


def _batch(site: str, hosts: int = 2, key: str | None = None) -> dict[str, Any]:
    return {
        "batch_key": key or str(uuid.uuid4()),
        "site": site,
        "kind": "scan",
        "targets": ["10.9.0.0/24"],
        "options": {"ports": [80]},
        "started_at": "2026-12-01T10:00:00+00:00",
        "hosts": [
            {
                "ip": f"10.9.{i // 250}.{i % 250 + 1}",
                "observations": [
                    {"signal": "tcp.port", "value": "80", "port": 80, "protocol": "tcp"},
                    {
                        "signal": "http.server",
                        "value": "App-webs/",
                        "port": 80,
                        "protocol": "http",
                        "observed_at": "2026-12-01T10:00:01+00:00",
                    },
                ],
            }
            for i in range(hosts)
        ],
    }


def _post(base: str, token: str, body: Any) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"}
    return httpx.post(f"{base}/api/v1/ingest", json=body, headers=headers, timeout=60)


def test_a_batch_is_recorded_as_a_run_and_a_retry_records_nothing_twice(
    server: tuple[str, Path],
) -> None:
    base, db = server
    token = _token(db, "sensor", "depot")
    batch = _batch("depot")
    first = _post(base, token, batch)
    assert first.status_code == 201, first.text
    again = _post(base, token, batch)
    assert again.status_code == 200 and again.json()["duplicate"] is True
    assert again.json()["run_id"] == first.json()["run_id"]
    inventory = open_inventory(str(db))
    try:
        (scan,) = inventory.scans()
        devices = inventory.devices("depot")
        (kept,) = inventory.ingests()
    finally:
        inventory.close()
    assert scan.id == first.json()["run_id"] and scan.site == "depot" and scan.hosts_found == 2
    # The same attribution as a local run: the HTTP server header names the maker.
    assert [d.attribution.maker for d in devices] == ["Hikvision", "Hikvision"]
    assert [d.open_ports for d in devices] == [[80], [80]]
    assert kept["batch_key"] == batch["batch_key"] and kept["sensor"] == "sensor-depot"


def test_a_sensor_token_writes_only_its_sites_and_reads_nothing(server: tuple[str, Path]) -> None:
    base, db = server
    token = _token(db, "sensor", "depot", "annex")
    assert _post(base, token, _batch("annex")).status_code == 201
    refused = _post(base, token, _batch("hq"))
    assert refused.status_code == 403 and "hq" in refused.json()["detail"]
    viewer = _token(db, "viewer")
    assert _post(base, viewer, _batch("depot")).status_code == 403
    assert _post(base, "cw_not-a-token", _batch("depot")).status_code == 401
    read = httpx.get(f"{base}/api/v1/devices", headers={"Authorization": f"Bearer {token}"})
    assert read.status_code == 403
    inventory = open_inventory(str(db))
    try:
        assert inventory.sites() == ["annex"]
    finally:
        inventory.close()


def test_a_key_reused_for_another_site_is_refused(server: tuple[str, Path]) -> None:
    base, db = server
    token = _token(db, "sensor", "depot", "annex")
    key = str(uuid.uuid4())
    assert _post(base, token, _batch("depot", key=key)).status_code == 201
    assert _post(base, token, _batch("annex", key=key)).status_code == 409


@pytest.mark.parametrize(
    ("change", "where"),
    [
        ({"site": ""}, "body.site"),
        ({"batch_key": "short"}, "body.batch_key"),
        ({"kind": "telepathy"}, "body.kind"),
        ({"started_at": "2026-12-01T10:00:00"}, "body.started_at"),  # no time zone
        ({"started_at": "2099-01-01T00:00:00+00:00"}, "body.started_at"),  # sensor clock
        ({"hosts": [{"ip": "10.9.0.300", "observations": []}]}, "body.hosts.0.ip"),
        ({"hosts": [{"ip": "10.9.0.3", "observations": [{"signal": "a b", "value": ""}]}]}, ""),
    ],
)
def test_a_malformed_batch_is_refused_in_one_line(
    server: tuple[str, Path], change: dict[str, Any], where: str
) -> None:
    base, db = server
    token = _token(db, "sensor", "depot")
    answer = _post(base, token, {**_batch("depot"), **change})
    assert answer.status_code == 422
    detail = answer.json()["detail"]
    assert isinstance(detail, str) and "\n" not in detail and detail.startswith(where)
    inventory = open_inventory(str(db))
    try:
        assert inventory.scans() == []
    finally:
        inventory.close()


def test_an_oversized_batch_is_refused_unrecorded(server: tuple[str, Path]) -> None:
    base, db = server
    token = _token(db, "sensor", "depot")
    batch = _batch("depot", hosts=1)
    one = batch["hosts"][0]
    batch["hosts"] = [
        {"ip": f"10.{i // 65536}.{i // 256 % 256}.{i % 256}", "observations": one["observations"]}
        for i in range(MAX_HOSTS + 1)
    ]
    answer = _post(base, token, batch)
    assert answer.status_code == 413 and f"at most {MAX_HOSTS} hosts" in answer.json()["detail"]
    inventory = open_inventory(str(db))
    try:
        assert inventory.scans() == [] and inventory.ingests() == []
    finally:
        inventory.close()


def test_a_token_sending_too_fast_is_asked_to_wait(tmp_path: Path) -> None:
    db = str(tmp_path / "central.db")
    token, other = _token(db, "sensor", "depot"), _token(db, "sensor", "depot")
    # Two batches a minute: the third within half a minute of the first is refused.
    with running_app(db, rate=2) as base:
        answers = [_post(base, token, _batch("depot", hosts=0)).status_code for _ in range(3)]
        assert _post(base, other, _batch("depot", hosts=0)).status_code == 201  # per token
    assert answers == [201, 201, 429]


def test_the_ingest_endpoint_is_documented(server: tuple[str, Path]) -> None:
    base, _db = server
    document = httpx.get(f"{base}/api/v1/openapi.json").json()
    operation = document["paths"]["/api/v1/ingest"]["post"]
    assert {"200", "201", "403", "413", "422", "429"} <= set(operation["responses"])
    assert "IngestIn" in document["components"]["schemas"]


def test_copies_of_one_batch_racing_into_postgres_are_recorded_once(postgres_url: str) -> None:
    from tests.pg import fresh_database

    db = fresh_database(postgres_url)
    token = _token(db, "sensor", "depot")
    batch = _batch("depot", hosts=300)  # long enough to record that the copies overlap
    with running_app(db) as base, ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(lambda _: _post(base, token, batch), range(4)))
    codes = sorted(a.status_code for a in answers)
    assert codes == [200, 200, 200, 201], [a.text for a in answers]
    assert len({a.json()["run_id"] for a in answers}) == 1
    inventory = open_inventory(db)
    try:
        assert len(inventory.scans()) == 1 and len(inventory.ingests()) == 1
        assert len(inventory.devices("depot")) == 300
    finally:
        inventory.close()


def test_each_sensor_s_last_contact_and_lag_are_shown(server: tuple[str, Path]) -> None:
    from tests.web.helpers import hidden

    base, db = server
    depot, annex = _token(db, "sensor", "depot"), _token(db, "sensor", "annex")
    for token, site in ((depot, "depot"), (depot, "depot"), (annex, "annex")):
        assert _post(base, token, _batch(site)).status_code == 201
    viewer = _token(db, "viewer")
    listed = httpx.get(f"{base}/api/v1/sensors", headers={"Authorization": f"Bearer {viewer}"})
    assert listed.status_code == 200
    rows = {(r["sensor"], r["site"]): r for r in listed.json()}
    assert set(rows) == {("sensor-depot", "depot"), ("sensor-annex", "annex")}
    assert rows["sensor-depot", "depot"]["batches"] == 2
    # The batches say their runs began on 1 December: they arrived that much later.
    assert all(r["lag_seconds"] > 3600 for r in rows.values())
    with httpx.Client(base_url=base) as browser:
        nonce = hidden(browser.get("/signin").text, "nonce")
        browser.post("/signin", data={"token": viewer, "nonce": nonce, "next": "/"})
        page = browser.get("/scans").text
    assert 'id="sensors"' in page and "sensor-annex" in page
    with httpx.Client(base_url=base) as browser:  # a sensor token cannot sign in
        nonce = hidden(browser.get("/signin").text, "nonce")
        refused = browser.post("/signin", data={"token": depot, "nonce": nonce, "next": "/"})
    assert refused.status_code == 403


def _flows(site: str, key: str | None = None, **changed: Any) -> dict[str, Any]:
    """A batch of a capture's flow aggregates alone: a camera's upload to a remote address."""
    flow = {
        "first_ts": 1_764_583_200.0,
        "last_ts": 1_764_583_290.0,
        "proto": "tcp",
        "src_ip": "10.9.0.7",
        "dst_ip": "203.0.113.9",
        "dst_port": 443,
        "bytes_out": 4_000_000,
        "packets_out": 3000,
        "bytes_in": 90_000,
        "packets_in": 1500,
        "dns_name": "upload.example.net",
        **changed,
    }
    dns = {"ts": 1_764_583_199.0, "client": "10.9.0.7", "name": "upload.example.net"}
    return {
        **_batch(site, hosts=0, key=key),
        "kind": "capture",
        "flows": [flow],
        "dns": [{**dns, "address": "203.0.113.9"}],
    }


def test_flow_aggregates_reach_the_flow_store_once_and_record_no_run(tmp_path: Path) -> None:
    pytest.importorskip("duckdb", reason="the pcap extra is not installed")
    from coverwatch.traffic.table import connect

    db, store = tmp_path / "central.db", tmp_path / "flows"
    token = _token(db, "sensor", "depot")
    app = create_app(str(db), None, trusted=trusted_hosts("127.0.0.1"), traffic_dir=str(store))
    body = _flows("depot")
    with serving(app) as base:
        first = _post(base, token, body)
        again = _post(base, token, body)
    assert first.status_code == 201, first.text
    assert first.json()["run_id"] is None and not first.json()["duplicate"]
    assert again.status_code == 200 and again.json()["duplicate"]
    con = connect(str(store), read_only=True)
    try:
        flows = con.execute("SELECT src_ip, dst_ip, bytes_out, source FROM flows").fetchall()
        names = con.execute("SELECT name, address FROM dns").fetchall()
    finally:
        con.close()
    assert flows == [("10.9.0.7", "203.0.113.9", 4_000_000, "sensor")]
    assert names == [("upload.example.net", "203.0.113.9")]
    inventory = open_inventory(str(db))
    try:
        assert inventory.scans() == []
    finally:
        inventory.close()


@pytest.mark.parametrize(
    ("changed", "status", "where"),
    [
        ({"dst_ip": "203.0.113.999"}, 422, "body.flows.0.dst_ip"),
        ({"bytes_out": -5}, 422, "body.flows.0.bytes_out"),
        ({"first_ts": float("1e300")}, 422, "body.flows.0.first_ts"),
        ({"last_ts": 1_764_583_000.0}, 422, "body.flows.0"),
        ({"first_ts": 9e9, "last_ts": 9e9}, 422, "body.flows.0: more than a day"),
        ({"proto": "tcp; DROP"}, 422, "body.flows.0.proto"),
    ],
)
def test_damaged_flow_aggregates_are_refused_and_nothing_is_stored(
    tmp_path: Path, changed: dict[str, Any], status: int, where: str
) -> None:
    pytest.importorskip("duckdb", reason="the pcap extra is not installed")
    db, store = tmp_path / "central.db", tmp_path / "flows"
    token = _token(db, "sensor", "depot")
    app = create_app(str(db), None, trusted=trusted_hosts("127.0.0.1"), traffic_dir=str(store))
    with serving(app) as base:
        answer = _post(base, token, _flows("depot", **changed))
    assert answer.status_code == status
    detail = answer.json()["detail"]
    assert detail.startswith(where) and "\n" not in detail, detail
    assert not (store / "manifest.json").exists()


def test_flows_to_a_server_without_a_flow_store_are_refused(server: tuple[str, Path]) -> None:
    base, db = server
    answer = _post(base, _token(db, "sensor", "depot"), _flows("depot"))
    assert answer.status_code == 501 and "flow store" in answer.json()["detail"]


def _parts_of(site: str, hosts: int) -> list[dict[str, Any]]:
    """A scan of ``hosts`` hosts split as ``coverwatch sensor`` splits a large run."""
    from datetime import UTC, datetime

    from coverwatch.models import Observation, SourceKind
    from coverwatch.pipeline import CollectedRun
    from coverwatch.sensor import BATCH_HOSTS, batches_of

    found = {
        f"10.9.{i // 250}.{i % 250 + 1}": [
            Observation(f"10.9.{i // 250}.{i % 250 + 1}", "http.server", "App-webs/", 80, "http")
        ]
        for i in range(hosts)
    }
    run = CollectedRun(SourceKind.SCAN, found, ["10.9.0.0/20"], {}, datetime.now(UTC))
    batches = batches_of(run, site)
    assert len(batches) == -(-hosts // BATCH_HOSTS)  # the sensor did split it
    return batches


def test_a_run_sent_in_parts_is_recorded_whole_once_the_last_part_is_in(
    server: tuple[str, Path],
) -> None:
    base, db = server
    token = _token(db, "sensor", "depot")
    first, second, last = _parts_of("depot", 1200)
    assert first["run_key"] == last["run_key"] and (first["part"], last["parts"]) == (1, 3)

    def recorded() -> tuple[int, int]:
        inventory = open_inventory(str(db))
        try:
            return len(inventory.scans()), len(inventory.devices("depot"))
        finally:
            inventory.close()

    assert [_post(base, token, b).status_code for b in (second, first, second)] == [202] * 3
    assert recorded() == (0, 0)  # half a run is never a run
    done = _post(base, token, last)
    assert done.status_code == 201 and done.json()["hosts"] == 1200, done.text
    assert recorded() == (1, 1200)
    again = _post(base, token, first)  # a part resent after its answer was lost
    assert again.status_code == 200 and again.json()["run_id"] == done.json()["run_id"]
    assert recorded() == (1, 1200)


@pytest.mark.parametrize(
    ("changed", "problem"),
    [({"part": 4}, "part is beyond parts"), ({"run_key": None}, "needs a run_key")],
)
def test_inconsistent_parts_are_refused(
    server: tuple[str, Path], changed: dict[str, Any], problem: str
) -> None:
    base, db = server
    part = {**_parts_of("depot", 600)[0], **changed}
    answer = _post(base, _token(db, "sensor", "depot"), part)
    assert answer.status_code == 422 and problem in answer.json()["detail"]


def test_last_parts_racing_into_postgres_record_the_run_once(postgres_url: str) -> None:
    from tests.pg import fresh_database

    db = fresh_database(postgres_url)
    token = _token(db, "sensor", "depot")
    first, *rest = _parts_of("depot", 1500)
    with running_app(db) as base, ThreadPoolExecutor(4) as pool:
        assert _post(base, token, first).status_code == 202
        answers = list(pool.map(lambda b: _post(base, token, b), rest + rest))
    assert all(a.status_code in (200, 201, 202) for a in answers), [a.text for a in answers]
    assert len({a.json()["run_id"] for a in answers if a.json()["run_id"]}) == 1
    inventory = open_inventory(db)
    try:
        assert len(inventory.scans()) == 1 and len(inventory.devices("depot")) == 1500
    finally:
        inventory.close()
