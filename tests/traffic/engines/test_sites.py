"""Sites reuse private addresses: the flows a site's sensor sent count for that site's devices
only, on either engine (issue #15). Imported flows (no site of their own) count for any."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from coverwatch.models import Attribution
from coverwatch.store.interface import DeviceRecord
from coverwatch.traffic import EgressVerdict
from coverwatch.traffic.aggregate import Aggregates, store
from coverwatch.traffic.egress import egress
from coverwatch.traffic.engines import DuckDbEngine
from coverwatch.traffic.engines.interface import FlowEngine

T0 = 1_767_600_000.0
CAMERA = "10.9.0.7"  # the same address at both sites


def _flow(remote: str, name: str | None, port: int) -> dict[str, object]:
    return {
        "first_ts": T0,
        "last_ts": T0 + 120,
        "proto": "tcp",
        "src_ip": CAMERA,
        "dst_ip": remote,
        "dst_port": port,
        "bytes_out": 50_000,
        "packets_out": 80,
        "bytes_in": 9_000,
        "packets_in": 40,
        "dns_name": name,
    }


def _mapping(router: str) -> dict[str, object]:
    return {
        "ts": T0 + 5,
        "device_ip": CAMERA,
        "router_ip": router,
        "kind": "upnp-add-port-mapping",
        "external_port": 8000,
        "internal_port": 80,
        "protocol": "TCP",
    }


def _camera(site: str) -> DeviceRecord:
    return DeviceRecord(CAMERA, None, site, Attribution(maker="Hikvision"))


@pytest.fixture(params=["duckdb", "spark"])
def engine(request: pytest.FixtureRequest) -> FlowEngine:
    if request.param == "spark":
        request.applymarker(pytest.mark.slow)
        return request.getfixturevalue("spark_engine")  # type: ignore[no-any-return]
    return DuckDbEngine()


def test_a_sites_sensor_flows_are_its_own_devices_egress_only(
    tmp_path: Path, engine: FlowEngine
) -> None:
    flows = str(tmp_path / "flows")
    depot = Aggregates([_flow("47.88.10.1", "litedev.hik-connect.com", 9989)], [], [])
    annex = Aggregates([_flow("198.51.100.7", None, 443)], [], [_mapping("10.9.0.1")])
    store(flows, "batch-depot-0001", "depot", depot)
    store(flows, "batch-annex-0001", "annex", annex)

    (at_depot,) = egress(flows, [_camera("depot")], ["10.0.0.0/8"], engine=engine)
    (at_annex,) = egress(flows, [_camera("annex")], ["10.0.0.0/8"], engine=engine)
    (elsewhere,) = egress(flows, [_camera("hq")], ["10.0.0.0/8"], engine=engine)

    assert at_depot.verdict is EgressVerdict.VENDOR_CLOUD
    assert [d.remote_ip for d in at_depot.destinations] == ["47.88.10.1"]
    assert not at_depot.port_mappings
    assert at_annex.verdict is EgressVerdict.UNKNOWN_DESTINATION
    assert [d.remote_ip for d in at_annex.destinations] == ["198.51.100.7"]
    assert [(m.device_ip, m.router_ip) for m in at_annex.port_mappings] == [(CAMERA, "10.9.0.1")]
    assert elsewhere.verdict is EgressVerdict.NO_TRAFFIC
    assert at_depot.destinations[0].first_seen == datetime.fromtimestamp(T0, UTC)
    # The whole estate at once (an audit of every site): still each camera its own site's.
    both = egress(flows, [_camera("depot"), _camera("annex")], ["10.0.0.0/8"], engine=engine)
    assert [(e.site, e.verdict, e.destinations) for e in both] == [
        ("depot", at_depot.verdict, at_depot.destinations),
        ("annex", at_annex.verdict, at_annex.destinations),
    ]
    assert [len(e.port_mappings) for e in both] == [0, 1]


def test_an_audit_of_every_site_finds_each_cameras_own_egress(tmp_path: Path) -> None:
    """The traffic rules look a device's egress up by site and address, not address alone."""
    from coverwatch.pipeline import traffic_facts
    from coverwatch.policy.engine import evaluate
    from coverwatch.policy.loader import load_policy

    flows = str(tmp_path / "flows")
    annex = Aggregates([_flow("198.51.100.7", None, 443)], [], [])
    store(flows, "batch-annex-0001", "annex", annex)
    devices = [_camera("depot"), _camera("annex")]
    policy = load_policy(None)
    facts = traffic_facts(policy, devices, flows)
    assert facts is not None
    found = {(f.site, f.rule) for f in evaluate(policy, devices, traffic=facts)}
    assert ("annex", "egress-third-party") in found
    assert ("depot", "egress-third-party") not in found
