"""Lab discovery: what each profile answers, and the namespace guard on non-loopback binds."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from coverwatch.errors import KnowledgeError, LabError
from coverwatch.lab.answers import Answerer, check_discovery, speaks
from coverwatch.lab.discovery import check_bind_address, in_private_netns
from coverwatch.lab.profiles import load_profiles, parse_profile
from coverwatch.lab.site import LabHost
from coverwatch.probes import dhip, mdns, sadp, ssdp, wsdiscovery


def _host(profile: str) -> LabHost:
    return LabHost("127.42.0.5", load_profiles()[profile], "SERIAL12345678", "44:19:b6:01:02:03")


def test_hikvision_answers_sadp_and_its_reply_parses() -> None:
    reply = Answerer(_host("hikvision-ipc")).answer("sadp", sadp.build_inquiry("U-1"))
    assert reply is not None and b"<Uuid>U-1</Uuid>" in reply
    signals = sadp.parse_probe_match(reply)
    assert signals["sadp.serial"] == "SERIAL12345678"
    assert signals["sadp.mac"] == "44-19-b6-01-02-03"
    assert signals["sadp.ipv4"] == "127.42.0.5"


def test_dahua_answers_dhip_and_its_reply_parses() -> None:
    reply = Answerer(_host("dahua-ipc")).answer("dhip", dhip.build_search())
    assert reply is not None
    assert dhip.parse_reply(reply)["dhip.device_type"] == "IPC-HDBW4231F-AS"


def test_wsdiscovery_match_carries_the_profile_scopes() -> None:
    reply = Answerer(_host("hikvision-ipc")).answer("wsdiscovery", wsdiscovery.build_probe())
    assert reply is not None
    (match,) = wsdiscovery.parse_probe_matches(reply)
    assert match["onvif.scope.name"] == ["HIKVISION"]
    assert match["mac"] == ["44:19:b6:01:02:03"]
    assert match["onvif.xaddrs"] == ["http://127.42.0.5/onvif/device_service"]


def test_wsdiscovery_ignores_other_types() -> None:
    probe = wsdiscovery.build_probe(types="dp0:NetworkPrinter")
    assert Answerer(_host("hikvision-ipc")).answer("wsdiscovery", probe) is None


def test_ssdp_location_points_at_a_description_route() -> None:
    host = _host("axis-ipc")
    reply = Answerer(host).answer("ssdp", ssdp.build_msearch())
    assert reply is not None
    location = ssdp.parse_response(reply)["location"]
    assert location == "http://127.42.0.5:80/rootdesc1.xml"
    route = next(s for s in host.profile.services if s.port == 80).routes["/rootdesc1.xml"]
    assert "<manufacturer>AXIS</manufacturer>" in route.body


def test_mdns_answer_parses() -> None:
    reply = Answerer(_host("axis-ipc")).answer("mdns", mdns.build_query())
    assert reply is not None
    assert mdns.parse_response(reply)["mdns.name"] == ["AXIS P3228-LVE - 4419B6010203"]


@pytest.mark.parametrize("protocol", ["wsdiscovery", "sadp", "dhip", "ssdp", "mdns"])
@pytest.mark.parametrize("data", [b"", b"\xff" * 64, b"<Probe>", b"DHIP" * 100])
def test_malformed_probes_get_no_answer(protocol: str, data: bytes) -> None:
    profile = {"sadp": "hikvision-ipc", "dhip": "dahua-ipc"}.get(protocol, "axis-ipc")
    assert Answerer(_host(profile)).answer(protocol, data) is None


def test_rebrands_keep_the_makers_protocol() -> None:
    profiles = load_profiles()
    for name in ("lts-ipc", "annke-ipc", "hikvision-nvr", "hikvision-ipc-legacy"):
        assert "sadp" in profiles[name].discovery and "dhip" not in profiles[name].discovery
    for name in ("amcrest-ipc", "lorex-nvr", "dahua-nvr"):
        assert "dhip" in profiles[name].discovery and "sadp" not in profiles[name].discovery
    assert not speaks(_host("hp-printer"), "wsdiscovery")


def test_ssdp_path_must_be_a_route() -> None:
    with pytest.raises(ValueError, match="not a route"):
        check_discovery(
            {"ssdp": {"port": 80, "path": "/x.xml", "st": "s", "usn": "u", "server": "v"}}, {80: {}}
        )
    raw = {
        "name": "x",
        "truth": {"maker": "A", "brand": "A", "model": "M", "device_type": "camera"},
        "services": [{"port": 80, "protocol": "http"}],
        "discovery": {"bogus": {}},
    }
    with pytest.raises(KnowledgeError, match="discovery"):
        parse_profile("x", raw)


def test_initial_namespace_is_not_private() -> None:
    assert in_private_netns() is False
    check_bind_address("127.42.0.1")
    with pytest.raises(LabError, match=r"refusing to bind 10\.213\.9\.1"):
        check_bind_address("10.213.9.1")


def test_a_test_made_namespace_is_private() -> None:
    if os.geteuid() != 0 or shutil.which("ip") is None:
        pytest.skip("network namespaces need root and iproute2 (ip netns)")
    name = f"cwdn{os.getpid() % 100000}"
    made = subprocess.run(["ip", "netns", "add", name], capture_output=True, text=True)
    if made.returncode != 0:
        pytest.skip(f"network namespaces unavailable here: {made.stderr.strip()}")
    try:
        code = "from coverwatch.lab.discovery import in_private_netns; print(in_private_netns())"
        result = subprocess.run(
            ["ip", "netns", "exec", name, sys.executable, "-c", code],
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert result.stdout.strip() == "True", result.stderr
    finally:
        subprocess.run(["ip", "netns", "del", name], capture_output=True)


def test_network_lab_refuses_the_initial_namespace() -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "coverwatch.lab.netlab",
            "--address",
            "10.213.9.1",
            "--profile",
            "axis-ipc",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2 and "private network namespace" in result.stderr
