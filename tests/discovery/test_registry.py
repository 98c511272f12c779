"""Every registered discovery protocol, the same checks: recorded replies parse to the expected
facts (and the maker, where the reply names one), a request is not mistaken for a reply, the
lab's answer parses back, passive capture reads its ports, and its signals are in the vocabulary.

Recorded replies live in ``tests/assets/discovery/<protocol>/<case>.hex`` (hex, ``#`` comments:
synthetic bytes in the published wire format the protocol module cites) with ``<case>.json``
holding ``facts`` (signal -> one value it must carry) and optionally ``maker``.
"""

from __future__ import annotations

import json
import socket
from datetime import UTC, datetime
from pathlib import Path

import dpkt
import pytest

from coverwatch import signals as vocabulary
from coverwatch.discovery import PROTOCOLS, DiscoveryProtocol
from coverwatch.identify import identify_host
from coverwatch.lab.answers import Answerer, speaks
from coverwatch.lab.profiles import load_profiles
from coverwatch.lab.site import LabHost
from coverwatch.models import Observation, ObsStatus, SourceKind
from coverwatch.traffic.passive import _HANDLERS, passive_observations

ASSETS = Path(__file__).parent.parent / "assets" / "discovery"


def _cases() -> list[tuple[str, Path]]:
    return [
        (d.name, hex_file) for d in sorted(ASSETS.iterdir()) for hex_file in sorted(d.glob("*.hex"))
    ]


def read_hex(path: Path) -> bytes:
    """The bytes of a ``.hex`` asset (``#`` lines are comments)."""
    lines = [ln for ln in path.read_text().splitlines() if not ln.startswith("#")]
    return bytes.fromhex(" ".join(lines))


def _observations(protocol: str, data: bytes) -> list[Observation]:
    at = datetime(2026, 1, 5, tzinfo=UTC)
    spec = PROTOCOLS[DiscoveryProtocol(protocol)]
    return [
        Observation(
            "192.0.2.7", key, value, spec.port, protocol, ObsStatus.OK, SourceKind.CAPTURE, at
        )
        for signals in spec.parse(data)
        for key, values in signals.items()
        for value in values
    ]


def test_every_protocol_has_recorded_replies() -> None:
    assert {d.name for d in ASSETS.iterdir()} == {p.value for p in DiscoveryProtocol}


@pytest.mark.parametrize(("protocol", "path"), _cases(), ids=lambda v: getattr(v, "stem", v))
def test_recorded_reply_gives_the_expected_facts(protocol: str, path: Path) -> None:
    expected = json.loads(path.with_suffix(".json").read_text())
    observations = _observations(protocol, read_hex(path))
    found = {(o.signal, o.value) for o in observations}
    for signal, value in expected["facts"].items():
        assert (signal, value) in found, (signal, value, sorted(found))
    if "maker" in expected:
        assert identify_host(observations).maker == expected["maker"]


@pytest.mark.parametrize("protocol", list(DiscoveryProtocol), ids=lambda p: p.value)
def test_the_request_is_not_a_reply(protocol: DiscoveryProtocol) -> None:
    spec = PROTOCOLS[protocol]
    try:
        parsed = spec.parse(spec.build(spec.group))
    except ValueError:
        return
    # NOTE: an SSDP search tells only what the searcher runs (its USER-AGENT), nothing else
    assert all(set(signals) <= {"upnp.server"} for signals in parsed), parsed


@pytest.mark.parametrize("protocol", list(DiscoveryProtocol), ids=lambda p: p.value)
def test_a_lab_profile_answers_and_the_answer_parses_back(protocol: DiscoveryProtocol) -> None:
    spec = PROTOCOLS[protocol]
    hosts = [
        LabHost("127.42.0.5", profile, "SERIAL12345678", "44:19:b6:01:02:03")
        for profile in load_profiles().values()
    ]
    speakers = [h for h in hosts if speaks(h, protocol.value)]
    assert speakers, f"no lab profile speaks {protocol.value}"
    for host in speakers:
        reply = Answerer(host).answer(protocol.value, spec.build("127.42.0.5"))
        assert reply is not None, host.profile.name
        assert any(spec.parse(reply)), host.profile.name


@pytest.mark.parametrize("protocol", list(DiscoveryProtocol), ids=lambda p: p.value)
def test_passive_capture_reads_the_protocol(protocol: DiscoveryProtocol) -> None:
    spec = PROTOCOLS[protocol]
    for port in spec.capture_ports():
        assert protocol.value in [name for name, _ in _HANDLERS[port]]


@pytest.mark.parametrize("protocol", list(DiscoveryProtocol), ids=lambda p: p.value)
def test_emitted_signals_are_in_the_vocabulary(protocol: DiscoveryProtocol) -> None:
    for path in (ASSETS / protocol.value).glob("*.hex"):
        for observation in _observations(protocol.value, read_hex(path)):
            assert vocabulary.is_known(observation.signal), observation.signal


def test_spec_names_match_the_registry_keys() -> None:
    assert all(spec.name == key.value for key, spec in PROTOCOLS.items())
    assert all(spec.source for spec in PROTOCOLS.values())


def _frame(src: str, sport: int, dst: str, dport: int, payload: bytes) -> bytes:
    udp = dpkt.udp.UDP(sport=sport, dport=dport, data=payload)
    udp.ulen = 8 + len(payload)
    ip = dpkt.ip.IP(src=socket.inet_aton(src), dst=socket.inet_aton(dst), p=17, ttl=64, data=udp)
    ip.len = 20 + len(bytes(udp))
    eth = dpkt.ethernet.Ethernet(src=b"\x02" * 6, dst=b"\xff" * 6, type=0x0800, data=ip)
    return bytes(eth)


def _capture(path: Path, replies: list[tuple[str, int, int, bytes]]) -> None:
    with path.open("wb") as handle:
        writer = dpkt.pcap.Writer(handle, linktype=dpkt.pcap.DLT_EN10MB)
        for n, (src, sport, dport, payload) in enumerate(replies):
            writer.writepkt(_frame(src, sport, "255.255.255.255", dport, payload), ts=1.7e9 + n)


@pytest.mark.parametrize(("protocol", "path"), _cases(), ids=lambda v: getattr(v, "stem", v))
def test_a_recorded_reply_in_a_capture_is_a_device_with_its_maker(
    protocol: str, path: Path, tmp_path: Path
) -> None:
    spec = PROTOCOLS[DiscoveryProtocol(protocol)]
    expected = json.loads(path.with_suffix(".json").read_text())
    # from the protocol's port to an asker's ephemeral port, as devices answer
    _capture(tmp_path / "c.pcap", [("10.9.8.7", spec.capture_ports()[-1], 49152, read_hex(path))])
    observations = passive_observations([str(tmp_path / "c.pcap")])["10.9.8.7"]
    found = {(o.signal, o.value) for o in observations}
    for key, value in expected["facts"].items():
        value = value.lower().replace("-", ":") if key == "mac" else value  # MACs normalised
        assert (key, value) in found, (key, value, sorted(found))
    if "maker" in expected:
        assert identify_host(observations).maker == expected["maker"]


@pytest.mark.parametrize(
    "protocol", [p for p in DiscoveryProtocol if PROTOCOLS[p].magic], ids=lambda p: p.value
)
def test_an_answer_between_chosen_ports_is_read_by_its_magic(
    protocol: DiscoveryProtocol, tmp_path: Path
) -> None:
    spec = PROTOCOLS[protocol]
    assert spec.magic is not None
    at, magic = spec.magic
    replies = [read_hex(p) for p in sorted((ASSETS / protocol.value).glob("*.hex"))]
    replies = [r for r in replies if r[at : at + len(magic)] == magic]
    assert replies, "no recorded answer carries the magic"
    _capture(tmp_path / "c.pcap", [("10.9.8.7", 50001, 50002, r) for r in replies])
    found = passive_observations([str(tmp_path / "c.pcap")])
    assert {o.protocol for o in found["10.9.8.7"]} == {protocol.value}


def test_ethernet_padding_after_a_short_answer_is_not_read_as_the_answer(tmp_path: Path) -> None:
    # 12 bytes of Sony answer, padded by the link to the 46-byte minimum Ethernet payload
    sony = PROTOCOLS[DiscoveryProtocol.SONY]
    answer = b"\x02model:X\xff\x03"
    frame = _frame("10.9.8.7", sony.port, "255.255.255.255", 49152, answer) + bytes(18)
    with (tmp_path / "c.pcap").open("wb") as handle:
        dpkt.pcap.Writer(handle, linktype=dpkt.pcap.DLT_EN10MB).writepkt(frame, ts=1.7e9)
    found = passive_observations([str(tmp_path / "c.pcap")])["10.9.8.7"]
    assert ("sony.model", "X") in {(o.signal, o.value) for o in found}
