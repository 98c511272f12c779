"""The active scan against the real lab: every profile identified, no false claims, bounded."""

from __future__ import annotations

import asyncio
import json
import shutil
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from typing import Any, cast

import pytest

from coverwatch.credentials import Credential, CredentialStore
from coverwatch.identify import identify_host, load_knowledge
from coverwatch.lab.profiles import load_profiles
from coverwatch.lab.runner import LabProcess
from coverwatch.models import VIDEO_TYPES, ObsStatus
from coverwatch.observer import NULL_OBSERVER
from coverwatch.sources import SOURCES, SourceName
from coverwatch.sources.active import PORT_PROBES, ActiveScanSource, ScanOptions
from coverwatch.targets import DEFAULT_PORTS

COVERED_MAKERS = {entity.maker for entity in load_knowledge().covered}


@pytest.fixture(scope="module")
def authenticated(lab: LabProcess, lab_credentials: CredentialStore) -> dict[str, list]:
    options = ScanOptions(credentials=lab_credentials)
    return ActiveScanSource(list(lab.truth), options).collect(NULL_OBSERVER)


@pytest.fixture(scope="module")
def anonymous(lab: LabProcess) -> dict[str, list]:
    return ActiveScanSource(list(lab.truth), ScanOptions()).collect(NULL_OBSERVER)


def test_every_lab_profile_is_identified_with_credentials(
    lab: LabProcess, authenticated: dict[str, list]
) -> None:
    seen_profiles = set()
    for ip, truth in lab.truth.items():
        attribution = identify_host(authenticated[ip])
        got = (
            attribution.maker,
            attribution.brand if truth["brand"] else None,
            attribution.device_type.value if attribution.device_type else None,
        )
        hidden = load_profiles()[truth["profile"]].unobservable
        expected = tuple(
            None if field in hidden else truth[field] for field in ("maker", "brand", "device_type")
        )
        assert got == expected, f"{ip} ({truth['profile']})"
        # Devices with an ONVIF service report their model; others may not say it at all.
        if load_profiles()[truth["profile"]].onvif:
            assert attribution.model == truth["model"], f"{ip} ({truth['profile']})"
        else:
            assert attribution.model in (None, truth["model"]), f"{ip} ({truth['profile']})"
        seen_profiles.add(truth["profile"])
    assert len(seen_profiles) >= 14


def test_without_credentials_no_wrong_maker_and_no_false_camera(
    lab: LabProcess, anonymous: dict[str, list]
) -> None:
    identified = 0
    for ip, truth in lab.truth.items():
        attribution = identify_host(anonymous[ip])
        assert attribution.maker in (None, truth["maker"]), f"{ip} ({truth['profile']})"
        identified += attribution.maker is not None
        if truth["device_type"] not in {t.value for t in VIDEO_TYPES}:
            assert attribution.device_type not in VIDEO_TYPES, f"{ip} ({truth['profile']})"
        if truth["maker"] not in COVERED_MAKERS:  # a covered entity's router is covered too
            assert attribution.covered is None, f"{ip} ({truth['profile']})"
    for ip, truth in lab.truth.items():
        # Banners alone name the maker of every Hikvision- and Dahua-firmware device.
        if truth["maker"] in ("Hikvision", "Dahua"):
            assert identify_host(anonymous[ip]).covered is not None, ip
    assert identified >= len(lab.truth) // 2


def test_a_camera_whose_rtsp_realm_is_its_mac_is_named_without_credentials(
    lab: LabProcess, anonymous: dict[str, list]
) -> None:
    # The Uniview profile's HTTP side says nothing about its maker; its RTSP challenge's realm
    # is the camera's own MAC, and the registry names the maker of that address.
    hosts = [ip for ip, truth in lab.truth.items() if truth["profile"] == "uniview-ipc"]
    assert hosts
    for ip in hosts:
        attribution = identify_host(anonymous[ip])
        assert attribution.maker == "Uniview", ip
        realm = [e for e in attribution.evidence if e.signal == "rtsp.www_authenticate" and e.maker]
        assert [e.maker for e in realm] == ["Uniview"], ip
        assert lab.truth[ip]["mac"].replace(":", "") in realm[0].value, ip


def test_scan_finds_the_open_ports_of_every_host(
    lab: LabProcess, anonymous: dict[str, list]
) -> None:
    for ip, truth in lab.truth.items():
        found = sorted(o.port for o in anonymous[ip] if o.signal == "tcp.port")
        assert found == sorted(set(truth["ports"]) & set(DEFAULT_PORTS)), ip


def test_a_sweep_without_probes_keeps_only_each_hosts_open_ports_in_order(
    lab: LabProcess,
) -> None:
    hosts = [*lab.truth, "127.40.255.254"]  # no lab host there: nothing answers
    swept = ActiveScanSource(hosts, ScanOptions(probes=False)).collect(NULL_OBSERVER)
    assert set(swept) == set(lab.truth)
    for ip, truth in lab.truth.items():
        assert [(o.signal, o.status) for o in swept[ip]] == [("tcp.port", ObsStatus.OK)] * len(
            swept[ip]
        )
        assert [o.port for o in swept[ip]] == sorted(set(truth["ports"]) & set(DEFAULT_PORTS)), ip


def test_wrong_credentials_are_a_per_host_note_not_a_failure(lab: LabProcess) -> None:
    wrong = CredentialStore(default=Credential("admin", "not-the-password"))
    hosts = list(lab.truth)
    result = ActiveScanSource(hosts, ScanOptions(credentials=wrong)).collect(NULL_OBSERVER)
    assert set(result) == set(hosts)
    refused = [
        o
        for obs in result.values()
        for o in obs
        if o.signal == "onvif.error" and "NotAuthorized" in o.value
    ]
    onvif_hosts = {
        ip for ip, obs in result.items() if any(o.signal == "onvif.service" for o in obs)
    }
    assert {o.ip for o in refused} == onvif_hosts and onvif_hosts
    assert not any(o.signal == "onvif.manufacturer" for obs in result.values() for o in obs)


def test_credentials_never_appear_in_observations(
    lab: LabProcess, authenticated: dict[str, list]
) -> None:
    text = repr(authenticated)
    assert "coverwatch-lab" not in text


@pytest.fixture
def tarpit() -> Iterator[tuple[str, int]]:
    """A host that accepts connections and never says anything."""
    server = socket.socket()
    server.bind(("127.0.0.77", 8080))
    server.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.1)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server.getsockname()
    stop.set()
    thread.join()
    for conn in held:
        conn.close()
    server.close()


def test_a_host_that_accepts_and_never_answers_times_out(tarpit: tuple[str, int]) -> None:
    ip, port = tarpit
    # Port 8080 gets the HTTP probe: the port is open, the probe times out, the scan completes.
    options = ScanOptions(ports=(port,), timeout=0.5)
    result = asyncio.run(asyncio.wait_for(ActiveScanSource([ip], options).scan(NULL_OBSERVER), 10))
    observations = result[ip]
    assert [o.port for o in observations if o.signal == "tcp.port"] == [port]
    errors = [o for o in observations if o.signal == "http.error"]
    assert errors and errors[0].status is ObsStatus.TIMEOUT


def test_source_registry_is_exhaustive() -> None:
    assert set(SOURCES) == set(SourceName)
    assert all(isinstance(port, int) for port in PORT_PROBES)


_PROBES_DURING_SWEEP = """
import json, socket, subprocess, sys, threading, time
from coverwatch.models import ObsStatus
from coverwatch.observer import Observer
from coverwatch.sources.active import ActiveScanSource, ScanOptions

subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
# 127.0.0.3 drops every SYN, and so does 127.0.0.2's port 9: they stay unanswered until the
# scan's timeout.
rules = '''table inet filtered {
  chain input {
    type filter hook input priority 0; policy accept;
    ip daddr 127.0.0.3 tcp flags & (syn | ack) == syn drop
    ip daddr 127.0.0.2 tcp dport 9 tcp flags & (syn | ack) == syn drop
  }
}
'''
subprocess.run([sys.argv[1], "-f", "-"], input=rules, text=True, check=True)


class Steps(Observer):
    def __init__(self):
        self.advanced = 0

    def advance(self, steps=1):
        self.advanced += steps


steps = Steps()
seen = []
after = []  # seconds from the scan's start to each request
web = socket.create_server(("127.0.0.2", 8080))


def serve():
    while True:  # the sweep's own connection comes first, reset at once: skip it
        conn, _ = web.accept()
        try:
            request = conn.recv(4096)
        except OSError:
            request = b""
        if request:
            seen.append(steps.advanced)  # hosts finished when the probe arrived
            after.append(time.monotonic() - started)
            reply = b"HTTP/1.1 200 OK\\r\\nServer: probe-order\\r\\nContent-Length: 0\\r\\n\\r\\n"
            conn.sendall(reply)
        conn.close()


threading.Thread(target=serve, daemon=True).start()
ports, hosts = json.loads(sys.argv[2])
options = ScanOptions(ports=tuple(ports), timeout=TIMEOUT, concurrency=8)
started = time.monotonic()
found = ActiveScanSource(hosts, options).collect(steps)
server = [o.value for o in found["127.0.0.2"] if o.signal == "http.server"]
print(json.dumps({"seen": seen, "after": after, "server": server, "hosts": sorted(found)}))
"""
#: The sweep's timeout in the namespace scenarios: a filtered port is settled no sooner.
TIMEOUT = 3.0


def _in_namespace(ports: list[int], hosts: list[str]) -> dict[str, Any]:
    """Scan ``hosts`` x ``ports`` in a network namespace of its own, with nftables dropping
    the SYNs to 127.0.0.3 and to 127.0.0.2:9 and an HTTP server on 127.0.0.2:8080."""
    nft = shutil.which("nft") or shutil.which("nft", path="/usr/sbin:/sbin")
    script = _PROBES_DURING_SWEEP.replace("TIMEOUT", repr(TIMEOUT))
    done = subprocess.run(
        ["unshare", "-rn", sys.executable, "-c", script, str(nft), json.dumps([ports, hosts])],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if done.returncode != 0 and "unshare" in done.stderr:
        pytest.skip(f"no private network namespace here: {done.stderr.strip()[:200]}")
    assert done.returncode == 0, done.stderr
    return cast(dict[str, Any], json.loads(done.stdout))


@pytest.mark.slow
@pytest.mark.skipif(
    not (shutil.which("nft") or shutil.which("nft", path="/usr/sbin:/sbin")),
    reason="needs nftables (Debian: apt-get install nftables)",
)
def test_a_host_is_probed_while_a_filtered_host_still_holds_the_sweep() -> None:
    """The filtered host (listed first) is done only when the timeout runs out, yet the HTTP
    probe of the answering host reached it before that."""
    result = _in_namespace([8080], ["127.0.0.3", "127.0.0.2"])
    # every request (HTTP, then ONVIF) came while neither host was finished: the filtered one
    # was still being swept
    assert result["seen"] and set(result["seen"]) == {0}
    assert result["server"] == ["probe-order"]
    assert result["hosts"] == ["127.0.0.2"]


@pytest.mark.slow
@pytest.mark.skipif(
    not (shutil.which("nft") or shutil.which("nft", path="/usr/sbin:/sbin")),
    reason="needs nftables (Debian: apt-get install nftables)",
)
def test_an_open_port_is_probed_while_a_filtered_port_of_its_host_is_still_swept() -> None:
    """A host with a filtered port settles only when the timeout runs out; its open web port
    is asked at once, not after that (the sweep's answer starts the probe)."""
    result = _in_namespace([9, 8080], ["127.0.0.2"])
    assert result["server"] == ["probe-order"] and result["hosts"] == ["127.0.0.2"]
    # the HTTP probe, then ONVIF once the host had settled: the first came long before the
    # filtered port could have timed out
    assert result["after"][0] < TIMEOUT / 2 <= TIMEOUT <= result["after"][-1]
