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


def test_the_market_beyond_the_first_lab_is_emulated() -> None:
    # Issue 9 part 6: the makers that matter most beyond the first lab, each with its real kind.
    truths = [p.truth for p in load_profiles().values()]
    kinds = {(t["maker"], t["device_type"]) for t in truths}
    for required in [
        ("Xiongmai", "dvr"),
        (None, "dvr"),  # a HiSilicon-based OEM DVR that names no firmware maker
        ("Vivotek", "camera"),
        ("Ubiquiti", "camera"),
        ("D-Link", "camera"),
        ("ZTE", "router"),
        ("Huawei", "camera"),
    ]:
        assert required in kinds, required
    assert kinds & {("Huawei", "switch"), ("Huawei", "router")}


def test_new_profiles_keep_a_small_weight_so_the_demo_mix_holds() -> None:
    profiles = load_profiles()
    for name in (
        "xiongmai-dvr",
        "hisilicon-oem-dvr",
        "vivotek-ipc",
        "ubiquiti-unifi-camera",
        "dlink-dcs",
        "zte-router",
        "huawei-switch",
    ):
        assert profiles[name].weight == 1, name


def test_every_profile_names_public_sources() -> None:
    for name, profile in load_profiles().items():
        assert profile.sources, name
        for entry in profile.sources:
            assert entry.get("tell") and entry.get("source"), name


#: FCC Covered List / NDAA s.889 makers: their routers, switches and radios are covered too.
COVERED_MAKERS = {"Hikvision", "Dahua", "Huawei", "ZTE", "Hytera"}


def test_truth_makers_and_brands_are_known_to_the_knowledge_base() -> None:
    # The knowledge base must be able to name every maker the lab emulates (but it learns
    # them from public sources, not from the lab: see the identify tests).
    kb = load_knowledge()
    known = {f.maker for f in kb.fingerprints} | {o.maker for o in kb.oui}
    for name, profile in load_profiles().items():
        if profile.truth["maker"]:
            assert profile.truth["maker"] in known, name


def test_non_video_devices_are_covered_exactly_when_their_maker_is() -> None:
    # A printer or server is never a covered-vendor finding; a ZTE router or a Huawei switch
    # is (issue 9 part 2: NDAA 889 reports stay complete for covered makers' network gear).
    kb = load_knowledge()
    for name, profile in load_profiles().items():
        truth = profile.truth
        if DeviceType(truth["device_type"]) in VIDEO_TYPES:
            continue
        covered = kb.covered_entity(truth["maker"], truth["brand"]) is not None
        assert covered == (truth["maker"] in COVERED_MAKERS), name


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
