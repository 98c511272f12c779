"""The lab's device profiles: enough of them, of the required kinds, each tell-tale sourced."""

from __future__ import annotations

import pytest
import yaml

from coverwatch.errors import KnowledgeError
from coverwatch.identify import load_knowledge
from coverwatch.lab.profiles import load_profiles, parse_profile
from coverwatch.models import VIDEO_TYPES, DeviceType


def test_at_least_fourteen_profiles_covering_the_required_kinds() -> None:
    profiles = load_profiles()
    assert len(profiles) >= 14
    truths = [p.truth for p in profiles.values()]
    kinds = {(t["maker"], t["device_type"]) for t in truths}
    for required in [
        ("Hikvision", "camera"),
        ("Hikvision", "nvr"),
        ("Dahua", "camera"),
        ("Dahua", "nvr"),
    ]:
        assert required in kinds
    for maker in ("Hikvision", "Dahua"):
        rebrands = {t["brand"] for t in truths if t["maker"] == maker and t["brand"] != maker}
        assert len(rebrands) >= 2, maker
    makers = {t["maker"] for t in truths}
    assert makers >= {"Axis", "Hanwha Vision", "Bosch", "Uniview"}
    assert makers & {"Huawei", "ZTE"}
    assert makers & {"Reolink", "TP-Link"}
    types = {t["device_type"] for t in truths}
    assert {"printer", "server"} <= types


def test_every_profile_names_public_sources() -> None:
    for name, profile in load_profiles().items():
        assert profile.sources, name
        for entry in profile.sources:
            assert entry.get("tell") and entry.get("source"), name


def test_truth_makers_and_brands_are_known_to_the_knowledge_base() -> None:
    # The knowledge base must be able to name every maker the lab emulates (but it learns
    # them from public sources, not from the lab: see the identify tests).
    kb = load_knowledge()
    known = {f.maker for f in kb.fingerprints} | {o.maker for o in kb.oui}
    for name, profile in load_profiles().items():
        if profile.truth["maker"]:
            assert profile.truth["maker"] in known, name
        if DeviceType(profile.truth["device_type"]) not in VIDEO_TYPES:
            assert not kb.covered_entity(profile.truth["maker"], profile.truth["brand"]), name


def test_profiles_only_listen_on_the_camera_port_set_or_service_ports() -> None:
    allowed = {
        21,
        22,
        23,
        80,
        443,
        554,
        2020,
        8000,
        8080,
        8443,
        8554,
        8899,
        34567,
        37777,
        9100,
        631,
        445,
        3389,
    }
    for name, profile in load_profiles().items():
        assert set(profile.ports) <= allowed, name


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ("name: other\n", "must equal the file stem"),
        ("name: x\ntruth: {maker: A}\n", "needs maker, brand, model and device_type"),
        (
            "name: x\ntruth: {maker: A, brand: A, model: M, device_type: toaster}\n",
            "unknown type 'toaster'",
        ),
        (
            "name: x\ntruth: {maker: A, brand: A, model: M, device_type: camera}\n",
            "at least one service",
        ),
        (
            "name: x\ntruth: {maker: A, brand: A, model: M, device_type: camera}\n"
            "services: [{port: 80, protocol: gopher}]\n",
            "services[0].protocol",
        ),
        (
            "name: x\ntruth: {maker: A, brand: A, model: M, device_type: camera}\n"
            "services: [{port: 22, protocol: banner}]\n",
            "services[0].banner",
        ),
        (
            "name: x\ntruth: {maker: A, brand: A, model: M, device_type: camera}\n"
            "services: [{port: 443, protocol: https, routes_from: 80}]\n",
            "routes_from",
        ),
        (
            "name: x\ntruth: {maker: A, brand: A, model: M, device_type: camera}\n"
            "services: [{port: 80, protocol: http, routes: [{path: /, status: ok}]}]\n",
            "integer 'status'",
        ),
    ],
)
def test_invalid_profiles_name_the_field(document: str, message: str) -> None:
    with pytest.raises(KnowledgeError) as error:
        parse_profile("x", yaml.safe_load(document))
    assert "x.yaml" in str(error.value) and message in str(error.value)
