"""Egress analysis on the lab capture: every planted behaviour found, nobody falsely accused."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from coverwatch.lab.capture import LabCapture
from coverwatch.store.interface import DeviceRecord
from coverwatch.traffic import EgressVerdict, MatchKind
from coverwatch.traffic.egress import EgressOptions, egress
from coverwatch.traffic.linkage import linkage


@pytest.fixture(scope="module")
def results(lab_store: Path, lab_capture: LabCapture, lab_devices: list[DeviceRecord]) -> dict:
    found = egress(str(lab_store), lab_devices, lab_capture.internal, None)
    return {e.ip: e for e in found}


def test_every_device_gets_a_statement(results: dict, lab_devices: list[DeviceRecord]) -> None:
    assert sorted(results) == sorted(d.ip for d in lab_devices)


def test_planted_behaviours_found(results: dict, lab_capture: LabCapture) -> None:
    planted = {ip: p for ip, p in lab_capture.egress.items() if p.destinations}
    assert len(planted) == 4
    for ip, truth in planted.items():
        result = results[ip]
        assert result.verdict.value == truth.verdict, ip
        seen = {(d.remote_ip, d.dns_name, d.proto, d.port) for d in result.destinations}
        for address, name, proto, port, endpoint in truth.destinations:
            assert (address, name, proto, port) in seen, (ip, seen)
            dest = next(d for d in result.destinations if d.remote_ip == address)
            assert (dest.endpoint.id if dest.endpoint else None) == endpoint
            assert dest.initiated_by_device and dest.bytes_sent > 0
        assert bool(result.large_uploads) == truth.large_upload, ip
        assert bool(result.port_mappings) == truth.port_mapping, ip


def test_nobody_without_egress_is_accused(results: dict, lab_capture: LabCapture) -> None:
    for ip, truth in lab_capture.egress.items():
        if truth.destinations:
            continue
        result = results[ip]
        assert result.verdict is EgressVerdict.NO_EGRESS, (ip, result.destinations)
        assert result.destinations == () and result.large_uploads == ()
        assert result.coverage_hours > 0 and result.window is not None


def test_vendor_cloud_matched_by_dns_name(results: dict, lab_capture: LabCapture) -> None:
    hik = next(
        ip
        for ip, p in lab_capture.egress.items()
        if p.destinations and p.destinations[0][1] == "litedev.hik-connect.com"
    )
    dest = results[hik].destinations[0]
    assert dest.endpoint is not None and dest.endpoint.match is MatchKind.DNS_NAME
    assert dest.endpoint.operator == "Hikvision" and dest.endpoint.source


def test_rebrand_uses_dahua_p2p(results: dict, lab_capture: LabCapture, lab_site: list) -> None:
    ip = next(
        ip
        for ip, p in lab_capture.egress.items()
        if p.destinations and p.destinations[0][4] == "dahua-easy4ip-p2p"
    )
    host = next(h for h in lab_site if h.ip == ip)
    assert host.profile.truth["maker"] == "Dahua" and host.profile.truth["brand"] != "Dahua"
    assert results[ip].verdict is EgressVerdict.VENDOR_CLOUD


def test_upload_thresholds_are_parameters(
    lab_store: Path, lab_capture: LabCapture, lab_devices: list[DeviceRecord]
) -> None:
    strict = EgressOptions(upload_bps=5e6)
    found = egress(str(lab_store), lab_devices, lab_capture.internal, None, strict)
    assert not any(e.large_uploads for e in found)


def test_window_outside_the_data_is_no_traffic(
    lab_store: Path, lab_capture: LabCapture, lab_devices: list[DeviceRecord]
) -> None:
    later = lab_capture.end + timedelta(days=1)
    found = egress(
        str(lab_store), lab_devices, lab_capture.internal, (later, later + timedelta(hours=1))
    )
    assert {e.verdict for e in found} == {EgressVerdict.NO_TRAFFIC}
    assert all(e.coverage_hours == 0 for e in found)


def test_maker_decides_third_party(
    lab_store: Path, lab_capture: LabCapture, lab_devices: list[DeviceRecord]
) -> None:
    """A vendor cloud of another maker is a third party for this device."""
    from dataclasses import replace

    from coverwatch.models import Attribution

    hik = next(
        ip
        for ip, p in lab_capture.egress.items()
        if p.destinations and p.destinations[0][4] == "hik-connect-device"
    )
    devices = [
        replace(d, attribution=Attribution(maker="Axis")) if d.ip == hik else d for d in lab_devices
    ]
    found = {e.ip: e for e in egress(str(lab_store), devices, lab_capture.internal)}
    assert found[hik].verdict is EgressVerdict.THIRD_PARTY


def test_linkage_shows_core_network(lab_store: Path, lab_capture: LabCapture) -> None:
    links = linkage(str(lab_store), lab_capture.zones)
    assert [(link.src_zone, link.dst_zone) for link in links] == [("site", "core")]
    link = links[0]
    assert link.ports == ("tcp/445",)
    assert link.pairs == ((lab_capture.core_links[0], lab_capture.core_server),)
    assert link.bytes_forward > 0 and link.bytes_reverse > 0
    assert lab_capture.start <= link.first_seen <= link.last_seen <= lab_capture.end
