"""One device, one row: identity across runs, sources, sites and addresses (issue #10)."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dpkt
import pytest

from coverwatch.identity import (
    Claim,
    Identity,
    IdentityIndex,
    group_hosts,
    normal_mac,
    normal_serial,
)
from coverwatch.models import Observation, SourceKind
from coverwatch.observer import Observer
from coverwatch.pipeline import diff_scans, record_run
from coverwatch.policy.loader import load_policy
from coverwatch.store import Inventory, open_inventory
from coverwatch.store.rows import SCHEMA_VERSION
from tests.conftest import Cli
from tests.store.released import old_inventory

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def _obs(ip: str, signal: str, value: str, kind: SourceKind, at: datetime = T0) -> Observation:
    return Observation(ip, signal, value, None, signal.split(".")[0], source=kind, observed_at=at)


class _Notes(Observer):
    def __init__(self) -> None:
        self.notes: list[str] = []

    def note(self, message: str) -> None:
        self.notes.append(message)


@pytest.fixture(params=["sqlite", "postgresql"])
def inventory(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Inventory]:
    """An empty inventory on each backend (their bulk paths differ)."""
    if request.param == "sqlite":
        url = str(tmp_path / "inv.db")
    else:
        from tests.pg import fresh_database

        url = fresh_database(request.getfixturevalue("postgres_url"))
    inventory = open_inventory(url)
    yield inventory
    inventory.close()


def _run(
    inventory: Inventory,
    site: str,
    found: dict[str, list[Observation]],
    kind: SourceKind = SourceKind.SCAN,
    at: datetime = T0,
    observer: Observer | None = None,
) -> int:
    scan_id, _ = record_run(inventory, site, found, kind, list(found), {}, at, observer or _Notes())
    return scan_id


# --- the rules, on their own ---


def test_identifiers_are_compared_in_one_spelling_and_placeholders_identify_nothing() -> None:
    assert normal_mac("00-11-22-AA-BB-CC") == normal_mac("0011.22aa.bbcc") == "00:11:22:aa:bb:cc"
    assert normal_mac("ff:ff:ff:ff:ff:ff") is None and normal_mac("01:00:5e:00:00:fb") is None
    assert normal_serial(" ds-2cd2142 0120170101 ") == "DS-2CD21420120170101"
    for placeholder in ("unknown", "000000000", "N/A", "abc", ""):
        assert normal_serial(placeholder) is None


def test_a_router_mac_behind_many_addresses_joins_none_of_them() -> None:
    found = {
        f"10.1.0.{n}": [_obs(f"10.1.0.{n}", "mac", "00:1a:2b:3c:4d:5e", SourceKind.CAPTURE)]
        for n in range(1, 9)
    }
    assert sorted(len(g) for g in group_hosts(found)) == [1] * 8


def test_a_device_that_moved_during_a_run_is_one_group_latest_address_last() -> None:
    mac = "44:19:b6:00:00:07"
    found = {
        "10.1.0.77": [_obs("10.1.0.77", "mac", mac, SourceKind.CAPTURE, T0 + timedelta(hours=1))],
        "10.1.0.50": [_obs("10.1.0.50", "mac", mac, SourceKind.CAPTURE, T0)],
        "10.1.0.60": [_obs("10.1.0.60", "isapi.serial", "DS-1", SourceKind.SCAN)],
    }
    groups = sorted(group_hosts(found), key=len)
    assert groups == [["10.1.0.60"], ["10.1.0.50", "10.1.0.77"]]


def test_contradictions_are_reported_not_merged() -> None:
    known = [
        Identity(1, "hq", "10.0.0.5", "00:11:22:33:44:55", "SERIAL-A", "Hikvision", T0),
        Identity(2, "branch", "10.9.0.5", None, "SERIAL-B", "Dahua", T0),
    ]
    ids, conflicts = IdentityIndex(known).match(
        "hq",
        [
            Claim("10.0.0.5", serial="SERIAL-C"),  # another serial at device 1's address
            Claim("10.0.0.9", serial="SERIAL-B"),  # device 2's serial, on another site
        ],
    )
    assert ids == [None, None]
    assert any("SERIAL-C" in c and "SERIAL-A" in c for c in conflicts)
    assert any("SERIAL-B" in c and "branch" in c for c in conflicts)


def test_a_serial_with_another_maker_is_another_device() -> None:
    known = [Identity(1, "hq", "10.0.0.5", None, "12345678", "Axis", T0)]
    index = IdentityIndex(known)
    ids, conflicts = index.match("hq", [Claim("10.0.0.8", serial="12345678", maker="Dahua")])
    assert ids == [None] and conflicts
    assert index.match("hq", [Claim("10.0.0.8", serial="12345678", maker="Axis")])[0] == [1]


def test_the_latest_seen_device_holds_an_address_whatever_order_it_is_indexed_in() -> None:
    # Two records at one address (the older one left it, a DHCP lease went to another
    # camera): whichever is indexed first, the address is the one seen later.
    later = T0 + timedelta(days=1)
    older = Identity(1, "hq", "10.0.0.5", "00:11:22:33:44:55", None, "Hikvision", T0)
    newer = Identity(2, "hq", "10.0.0.5", "00:11:22:33:44:66", None, "Hikvision", later)
    for known in ([older, newer], [newer, older]):
        index = IdentityIndex(known)
        assert index.match("hq", [Claim("10.0.0.5")])[0] == [2]
        assert index.match("hq", [Claim("10.0.0.9", mac="00:11:22:33:44:55")])[0] == [1]


# --- through the pipeline and the store ---


def test_a_camera_that_moves_address_stays_one_device_with_its_history(
    inventory: Inventory,
) -> None:
    mac = "c0:56:e3:00:00:01"  # Hikvision's IEEE assignment
    first = _run(
        inventory,
        "hq",
        {"10.0.0.5": [_obs("10.0.0.5", "isapi.serial", "DS-2CD2142FWD-I2017", SourceKind.SCAN)]},
    )
    # Next week it answers from another address: serial again, and its MAC.
    later = T0 + timedelta(days=7)
    second = _run(
        inventory,
        "hq",
        {
            "10.0.0.23": [
                _obs("10.0.0.23", "isapi.serial", "DS-2CD2142FWD-I2017", SourceKind.SCAN),
                _obs("10.0.0.23", "mac", mac, SourceKind.SCAN),
            ]
        },
        at=later,
    )
    # Then an import knows it by MAC only, at a third address.
    _run(
        inventory,
        "hq",
        {"10.0.0.41": [_obs("10.0.0.41", "mac", mac.upper(), SourceKind.IMPORT)]},
        SourceKind.IMPORT,
        at=later + timedelta(days=1),
    )
    (device,) = inventory.devices("hq")
    assert device.ip == "10.0.0.41" and device.serial == "DS-2CD2142FWD-I2017"
    assert [a.ip for a in device.addresses] == ["10.0.0.5", "10.0.0.23", "10.0.0.41"]
    assert set(device.sources) == {"scan", "import"}
    exported = device.to_json()
    assert exported["serial"] == device.serial and len(exported["addresses"]) == 3  # type: ignore[arg-type]
    # The diff between the two scans shows a moved device, not one removed and one added.
    changes = diff_scans(inventory, first, second, load_policy(None)).devices
    assert [(c.change, c.fields["ip"]) for c in changes] == [("changed", ("10.0.0.5", "10.0.0.23"))]
    # Read by run or by address (what scan, show and waivers ask), the store answers with the
    # device as it is now, its whole address history included.
    assert inventory.devices("hq", run=first) == inventory.devices(ip="10.0.0.41") == [device]
    assert inventory.devices(ip="10.0.0.23") == [] and inventory.devices("branch", run=first) == []


def test_an_address_given_to_another_device_makes_a_new_row(inventory: Inventory) -> None:
    ip = "10.0.0.5"
    _run(inventory, "hq", {ip: [_obs(ip, "mac", "c0:56:e3:00:00:01", SourceKind.SCAN)]})
    _run(
        inventory,
        "hq",
        {ip: [_obs(ip, "mac", "3c:ef:8c:00:00:02", SourceKind.SCAN)]},
        at=T0 + timedelta(days=1),
    )
    devices = inventory.devices("hq")
    assert sorted(d.mac or "" for d in devices) == ["3c:ef:8c:00:00:02", "c0:56:e3:00:00:01"]
    # Asked about the address, the store answers with the device there now.
    assert inventory.observations(ip, "hq")[-1].value == "3c:ef:8c:00:00:02"


def test_identity_contradictions_reach_the_user_and_the_run(inventory: Inventory) -> None:
    ip = "10.0.0.5"
    _run(inventory, "hq", {ip: [_obs(ip, "onvif.serial", "AAAA1111", SourceKind.SCAN)]})
    notes = _Notes()
    scan_id = _run(
        inventory,
        "hq",
        {ip: [_obs(ip, "onvif.serial", "BBBB2222", SourceKind.SCAN)]},
        at=T0 + timedelta(days=1),
        observer=notes,
    )
    assert any("BBBB2222" in n and "AAAA1111" in n for n in notes.notes)
    (run,) = [s for s in inventory.scans() if s.id == scan_id]
    assert run.options["identity_conflicts"]
    assert len(inventory.devices("hq")) == 2


def test_a_version_4_inventory_keeps_its_devices_and_allows_moves(tmp_path: Path) -> None:
    path = tmp_path / "v4.db"
    old_inventory(str(path), 4)  # one device per address, as version 4 kept them
    inventory = open_inventory(str(path))
    try:
        (device,) = inventory.devices("hq")
        assert [a.ip for a in device.addresses] == ["10.0.0.5"] and device.sources == ("scan",)
        assert inventory.observations("10.0.0.5", "hq")[0].value == "Hikvision RTSP"
        # Two devices may now have held one address.
        _run(
            inventory,
            "hq",
            {"10.0.0.5": [_obs("10.0.0.5", "mac", "3c:ef:8c:00:00:02", SourceKind.SCAN)]},
        )
        _run(
            inventory,
            "hq",
            {"10.0.0.5": [_obs("10.0.0.5", "mac", "c0:56:e3:00:00:01", SourceKind.SCAN)]},
        )
        assert len(inventory.devices("hq")) == 2
    finally:
        inventory.close()
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT value FROM coverwatch_meta").fetchone()[0] == str(
            SCHEMA_VERSION
        )
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []


def test_a_mac_stored_in_another_spelling_still_identifies_its_device(tmp_path: Path) -> None:
    # Earlier versions kept a MAC as the source spelt it; version 7 spells them all one way,
    # so a camera that moved is still found by its MAC.
    path = tmp_path / "v6.db"
    old_inventory(str(path), 6)  # its device's MAC spelt C0-56-E3-00-00-01
    inventory = open_inventory(str(path))
    try:
        moved = {"10.0.0.9": [_obs("10.0.0.9", "mac", "c0:56:e3:00:00:01", SourceKind.SCAN)]}
        _run(inventory, "hq", moved, at=T0 + timedelta(days=1))
        (device,) = inventory.devices("hq")
        assert device.mac == "c0:56:e3:00:00:01"
        assert [a.ip for a in device.addresses] == ["10.0.0.5", "10.0.0.9"]
    finally:
        inventory.close()


# --- a DHCP renewal inside a capture (the real-world split this issue measured) ---

_CAMERA_MAC = "c0:56:e3:12:34:56"  # Hikvision's IEEE assignment
_GATEWAY_MAC = "00:0c:29:aa:bb:cc"
_CLOUD = "47.91.0.10"  # an outside address the camera calls home to (a file only: nothing sent)


def _arp_reply(ip: str) -> bytes:
    arp = dpkt.arp.ARP(
        op=dpkt.arp.ARP_OP_REPLY,
        sha=bytes.fromhex(_CAMERA_MAC.replace(":", "")),
        spa=bytes(int(p) for p in ip.split(".")),
        tha=bytes.fromhex(_GATEWAY_MAC.replace(":", "")),
        tpa=bytes([10, 1, 0, 1]),
    )
    return bytes(_ether(arp, dpkt.ethernet.ETH_TYPE_ARP))


def _ether(payload: dpkt.Packet, kind: int) -> dpkt.ethernet.Ethernet:
    return dpkt.ethernet.Ethernet(
        src=bytes.fromhex(_CAMERA_MAC.replace(":", "")),
        dst=bytes.fromhex(_GATEWAY_MAC.replace(":", "")),
        type=kind,
        data=payload,
    )


def _udp_to_cloud(ip: str, sport: int) -> bytes:
    udp = dpkt.udp.UDP(sport=sport, dport=6800, data=b"\x00" * 64)
    udp.ulen = len(udp)
    packet = dpkt.ip.IP(
        src=bytes(int(p) for p in ip.split(".")),
        dst=bytes(int(p) for p in _CLOUD.split(".")),
        p=dpkt.ip.IP_PROTO_UDP,
        data=udp,
    )
    packet.len = len(packet)
    return bytes(_ether(packet, dpkt.ethernet.ETH_TYPE_IP))


def _dhcp_split_capture(path: Path) -> None:
    start = datetime(2026, 11, 30, 8, 0, tzinfo=UTC).timestamp()
    with path.open("wb") as handle:
        writer = dpkt.pcap.Writer(handle)
        for offset, ip in ((0, "10.1.0.50"), (1800, "10.1.0.77")):  # renewed half an hour in
            writer.writepkt(_arp_reply(ip), start + offset)
            for n in range(5):
                writer.writepkt(_udp_to_cloud(ip, 40000 + n), start + offset + 60 * (n + 1))


def test_a_dhcp_renewal_in_a_capture_is_one_device_with_one_egress_verdict(
    cli: Cli, tmp_path: Path
) -> None:
    capture = tmp_path / "renewal.pcap"
    _dhcp_split_capture(capture)
    imported = cli("traffic", "import", str(capture), "--site", "depot")
    assert imported.returncode == 0, imported.stderr
    listed = cli("devices", "--json")
    devices = [d for d in json.loads(listed.stdout) if d["mac"] == _CAMERA_MAC]
    assert len(devices) == 1, listed.stdout
    (camera,) = devices
    assert camera["ip"] == "10.1.0.77"
    assert [a["ip"] for a in camera["addresses"]] == ["10.1.0.50", "10.1.0.77"]
    assert camera["sources"] == ["capture"] and camera["maker"] == "Hikvision"
    rows = list(csv.DictReader(io.StringIO(cli("devices", "--csv").stdout)))
    (row,) = [r for r in rows if r["mac"] == _CAMERA_MAC]
    assert (row["addresses"], row["sources"]) == ("10.1.0.50 10.1.0.77", "capture")
    egress = json.loads(cli("traffic", "egress", "--json").stdout)
    verdicts = [e for e in egress if e["ip"] in ("10.1.0.50", "10.1.0.77")]
    assert len(verdicts) == 1
    (verdict,) = verdicts
    # Both halves of the capture count: the flows from the old address are the device's too.
    assert verdict["flows_seen"] == 10 and verdict["verdict"] != "no traffic observed"
    assert {d["remote_ip"] for d in verdict["destinations"]} == {_CLOUD}
