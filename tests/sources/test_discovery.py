"""Discovery source: unicast against the session lab, multicast inside test-made namespaces."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import pytest

from coverwatch.discovery import PROTOCOLS
from coverwatch.identify import identify_host
from coverwatch.lab.answers import speaks
from coverwatch.lab.profiles import load_profiles
from coverwatch.lab.runner import READY, LabProcess
from coverwatch.models import Observation, SourceKind
from coverwatch.probes import dhip
from coverwatch.sources import SOURCES, SourceError, SourceName
from coverwatch.sources.discovery import (
    DiscoveryOptions,
    DiscoveryProtocol,
    DiscoveryReport,
    DiscoverySource,
    discover,
)
from tests.conftest import Cli

#: Discovery signals that name the device's maker or brand (the rest only prove a responder).
IDENTITY_PROTOCOLS = tuple(p.value for p, spec in PROTOCOLS.items() if spec.identity)


def _announces_identity(profile_name: str) -> bool:
    profile = load_profiles()[profile_name]
    scopes = (profile.onvif or {}).get("scopes") or []
    named = any("/name/" in s for s in scopes)
    return named or any(p in profile.discovery for p in IDENTITY_PROTOCOLS)


@pytest.fixture(scope="module")
def lab_report(lab: LabProcess) -> DiscoveryReport:
    return discover(list(lab.truth), None, timeout=1.5)


def test_registered() -> None:
    assert SOURCES[SourceName.DISCOVERY] is DiscoverySource


def test_needs_targets_or_interface() -> None:
    with pytest.raises(SourceError):
        DiscoverySource(DiscoveryOptions())


def test_unknown_interface_is_a_source_error() -> None:
    with pytest.raises(SourceError, match="no network interface"):
        discover(None, "cw-no-such-if0", timeout=0.1)


def test_unicast_finds_every_speaking_profile(lab: LabProcess, lab_report: DiscoveryReport) -> None:
    assert lab_report.warnings == {}
    profiles = load_profiles()
    for ip, truth in lab.truth.items():
        profile = profiles[truth["profile"]]
        host = type("H", (), {"profile": profile})()
        spoken = [p for p in DiscoveryProtocol if speaks(host, p.value)]  # type: ignore[arg-type]
        observations = lab_report.observations.get(ip, [])
        if not spoken:
            assert not observations, truth["profile"]
            continue
        assert {o.protocol for o in observations} == {p.value for p in spoken}, truth["profile"]
        assert all(o.source is SourceKind.DISCOVERY and o.ip == ip for o in observations)
        attribution = identify_host(observations)
        if _announces_identity(truth["profile"]):
            assert attribution.maker == truth["maker"], (truth["profile"], attribution)
        else:
            assert attribution.maker in (None, truth["maker"]), truth["profile"]


def test_unicast_records_the_device_own_words(lab: LabProcess, lab_report: DiscoveryReport) -> None:
    by_profile = {t["profile"]: (ip, t) for ip, t in lab.truth.items()}
    ip, truth = by_profile["hikvision-ipc"]
    signals = {(o.signal, o.value) for o in lab_report.observations[ip]}
    assert ("sadp.serial", truth["serial"]) in signals
    assert ("sadp.device_description", "DS-2CD2143G2-I") in signals
    assert ("mac", truth["mac"]) in signals
    assert ("onvif.scope.name", "HIKVISION") in signals
    assert ("onvif.scope.location", "city/hangzhou") in signals
    ip, truth = by_profile["lorex-nvr"]
    signals = {(o.signal, o.value) for o in lab_report.observations[ip]}
    assert ("dhip.vendor", "Lorex") in signals and ("dhip.serial", truth["serial"]) in signals
    ip, truth = by_profile["axis-ipc"]
    signals = {(o.signal, o.value) for o in lab_report.observations[ip]}
    plain = truth["mac"].replace(":", "").upper()
    assert ("upnp.manufacturer", "AXIS") in signals and ("upnp.serial", plain) in signals
    assert ("mdns.name", f"AXIS P3228-LVE - {plain}") in signals


def test_replies_from_unasked_addresses_are_dropped(lab: LabProcess) -> None:
    ip = next(ip for ip, t in lab.truth.items() if t["profile"] == "hikvision-ipc")
    source = DiscoverySource(DiscoveryOptions((ip,), None, 0.5, (DiscoveryProtocol.SADP,)))
    source.collect(_Notes())
    assert set(source.report.observations) == {ip}


class _Notes:
    def __init__(self) -> None:
        self.notes: list[str] = []

    def stage(self, name: str, total: int | None = None) -> None: ...
    def advance(self, steps: int = 1) -> None: ...
    def done(self) -> None: ...
    def note(self, message: str) -> None:
        self.notes.append(message)


# --- multicast inside network namespaces this test creates -------------------------------


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, timeout=20)


@pytest.fixture
def netns_pair() -> Iterator[tuple[str, str]]:
    """Two namespaces joined by a veth pair: ``(client_ns, lab_ns)``; always removed."""
    if os.geteuid() != 0 or shutil.which("ip") is None:
        pytest.skip("network namespaces need root and iproute2 (ip netns)")
    tag = f"{os.getpid() % 100000}"
    client, lab = f"cwdc{tag}", f"cwdl{tag}"
    try:
        _ip("netns", "add", client)
    except subprocess.CalledProcessError as e:
        pytest.skip(f"network namespaces unavailable here: {e.stderr.decode().strip()}")
    try:
        _ip("netns", "add", lab)
        _ip("link", "add", f"cwva{tag}", "netns", client, "type", "veth", "peer",
            "name", f"cwvb{tag}", "netns", lab)  # fmt: skip
        _ip("-n", client, "addr", "add", "10.213.7.1/24", "dev", f"cwva{tag}")
        for address in [f"10.213.7.{n}/24" for n in range(2, 16)]:
            _ip("-n", lab, "addr", "add", address, "dev", f"cwvb{tag}")
        for ns, dev in ((client, f"cwva{tag}"), (lab, f"cwvb{tag}")):
            _ip("-n", ns, "link", "set", "lo", "up")
            _ip("-n", ns, "link", "set", dev, "up")
        yield client, lab
    finally:
        for ns in (client, lab):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True, timeout=20)


_CLIENT = """
import json, sys
from coverwatch.sources.discovery import discover
report = discover(None, sys.argv[1], timeout=2.0)
found = {ip: [[o.signal, o.value, o.protocol] for o in obs]
         for ip, obs in report.observations.items()}
print(json.dumps({"warnings": report.warnings, "observations": found}))
"""


def _link_discovery(
    netns_pair: tuple[str, str], profiles: list[str]
) -> tuple[dict[str, dict[str, str]], dict[str, list[list[str]]], dict[str, int]]:
    """Lab devices of ``profiles`` on 10.213.7.2... in the lab namespace; discovery on the
    client's veth. Returns the lab's truth, the observations and the drop counts."""
    client, lab_ns = netns_pair
    tag = client.removeprefix("cwdc")
    command = ["ip", "netns", "exec", lab_ns, sys.executable, "-m", "coverwatch.lab.netlab"]
    for n, profile in enumerate(profiles, start=2):
        command += ["--address", f"10.213.7.{n}", "--profile", profile]
    command += ["--interface", f"cwvb{tag}", "--duration", "60"]
    server = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        first = server.stdout.readline().strip()
        assert first == READY, server.stderr.read() if server.stderr else first
        truth = json.loads(server.stdout.readline())
        time.sleep(0.2)
        result = subprocess.run(
            ["ip", "netns", "exec", client, sys.executable, "-c", _CLIENT, f"cwva{tag}"],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 0, result.stderr
        found = json.loads(result.stdout)
    finally:
        server.terminate()
        server.wait(20)
        for stream in (server.stdout, server.stderr):
            if stream:
                stream.close()
    return truth, found["observations"], found["warnings"]


def test_multicast_discovery_in_namespaces(netns_pair: tuple[str, str]) -> None:
    truth, observations, _ = _link_discovery(netns_pair, ["hikvision-ipc", "dahua-ipc", "axis-ipc"])
    assert set(observations) == set(truth)
    protocols = {ip: {p for _s, _v, p in obs} for ip, obs in observations.items()}
    assert protocols["10.213.7.2"] == {"wsdiscovery", "sadp", "mdns"}
    assert protocols["10.213.7.3"] == {"wsdiscovery", "dhip"}
    assert protocols["10.213.7.4"] == {"wsdiscovery", "ssdp", "mdns"}
    assert ["sadp.serial", truth["10.213.7.2"]["serial"], "sadp"] in observations["10.213.7.2"]
    assert ["dhip.serial", truth["10.213.7.3"]["serial"], "dhip"] in observations["10.213.7.3"]
    assert ["upnp.manufacturer", "AXIS", "ssdp"] in observations["10.213.7.4"]


#: Vendor protocols on the link: broadcast answered to the asker (Sony, Vivotek, GigE Vision,
#: Vstarcam, 360 Vision, Dahua 5050, Foscam: Vivotek and Foscam share UDP 10000), broadcast
#: answered to a fixed port (Bosch, Hanwha, Panasonic, NiceVision, Xiongmai) and multicast to
#: 233.89.188.1 (Ubiquiti).
VENDOR_PROFILES = {
    "bosch-ipc": "bosch",
    "hanwha-ipc": "hanwha",
    "sony-ipc": "sony",
    "panasonic-ipc": "panasonic",
    "ubiquiti-unifi-camera": "ubiquiti",
    "basler-gige": "gigevision",
    "nicevision-encoder": "nicevision",
    "dahua-nvr": "dahua_legacy",
    "xiongmai-dvr": "xiongmai",
    "vivotek-ipc": "vivotek",
    "vstarcam-ipc": "vstarcam",
    "vision360-ptz": "vision360",
    "foscam-ipc": "foscam",
}
#: Answers that name no MAC (probes/vision360.py).
NO_MAC = {"vision360"}


def test_vendor_protocols_on_the_link_in_namespaces(netns_pair: tuple[str, str]) -> None:
    truth, observations, warnings = _link_discovery(netns_pair, list(VENDOR_PROFILES))
    assert set(observations) == set(truth)
    assert not {k: v for k, v in warnings.items() if "malformed" in k}, warnings
    for ip, device in truth.items():
        protocol = VENDOR_PROFILES[device["profile"]]
        mine = [o for o in observations[ip] if o[2] == protocol]
        assert mine, (device["profile"], protocol)
        if protocol not in NO_MAC:
            assert ["mac", device["mac"], protocol] in mine, (device["profile"], mine)
        found = [Observation(ip, s, v, None, p) for s, v, p in mine]
        assert identify_host(found).maker == device["maker"], (device["profile"], mine)


class _Hostile(asyncio.DatagramProtocol):
    """A 'device' on 127.41.0.9:37810 answering each probe with garbage, a huge datagram and
    a flood of copies of a valid reply."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        send = self.transport.sendto  # type: ignore[attr-defined]
        send(b"\x20\x00\x00\x00DHIP\x00", addr)  # truncated header
        send(dhip.frame(b"{broken"), addr)
        send(b"x" * 60_000, addr)
        valid = dhip.frame(
            json.dumps(
                {"method": "client.notifyDevInfo", "params": {"deviceInfo": {"Vendor": "Dahua"}}}
            ).encode()
        )
        for _ in range(300):
            send(valid, addr)


@pytest.fixture
def hostile_dhip() -> Iterator[str]:
    """The hostile DHIP 'device' on 127.41.0.10, answering from a thread of its own (for
    tests that run the command line in a subprocess)."""
    ip = "127.41.0.10"
    loop = asyncio.new_event_loop()
    transport, _ = loop.run_until_complete(
        loop.create_datagram_endpoint(_Hostile, local_addr=(ip, dhip.PORT))
    )
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        yield ip
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        transport.close()
        loop.close()


def test_discover_says_once_what_it_dropped_and_why(cli: Cli, hostile_dhip: str) -> None:
    result = cli("discover", hostile_dhip, "--timeout", "0.5")
    assert result.returncode == 0, result.stderr
    drops = [line for line in result.stderr.splitlines() if "dropped" in line]
    assert drops == [
        "note: discovery: dropped 2 reply(ies) (dhip.malformed: 1 encoding, 1 truncated)",
        "note: discovery: dropped 1 reply(ies) (dhip.oversized)",
    ], result.stderr
    quiet = cli("--quiet", "discover", hostile_dhip, "--timeout", "0.5")
    assert quiet.returncode == 0 and quiet.stderr == ""
    runs = cli.json("runs", "--json")
    assert isinstance(runs, list)
    assert [r["options"]["warnings"] for r in runs] == [
        {"dhip.malformed": 2, "dhip.oversized": 1}
    ] * 2


def test_hostile_replies_are_dropped_and_counted() -> None:
    async def run() -> DiscoveryReport:
        loop = asyncio.get_running_loop()
        transport, _ = await loop.create_datagram_endpoint(
            _Hostile, local_addr=("127.41.0.9", dhip.PORT)
        )
        try:
            source = DiscoverySource(
                DiscoveryOptions(("127.41.0.9",), None, 0.5, (DiscoveryProtocol.DHIP,))
            )
            return await source.discover()
        finally:
            transport.close()

    report = asyncio.run(run())
    assert report.warnings["dhip.malformed"] == 2
    assert report.malformed == {"dhip.truncated": 1, "dhip.encoding": 1}
    assert report.warnings["dhip.oversized"] == 1
    assert [(o.signal, o.value) for o in report.observations["127.41.0.9"]] == [
        ("dhip.vendor", "Dahua")
    ]
