"""Passive discovery from the lab capture: MACs, DHCP, SADP, WS-Discovery and DHIP identities."""

from __future__ import annotations

from coverwatch.lab.capture import LabCapture
from coverwatch.lab.site import LabHost
from coverwatch.models import SourceKind
from coverwatch.traffic.passive import passive_observations


def test_identities(lab_capture: LabCapture, lab_site: list[LabHost]) -> None:
    found = passive_observations([lab_capture.path])
    assert set(found) >= {h.ip for h in lab_site}
    for host in lab_site:
        observations = found[host.ip]
        assert all(o.source is SourceKind.CAPTURE and o.observed_at for o in observations)
        signals = {(o.signal, o.value) for o in observations}
        truth = lab_capture.identities[host.ip]
        assert ("mac", host.mac) in signals
        assert ("dhcp.hostname", truth["dhcp.hostname"]) in signals
        assert ("dhcp.vendor_class", "udhcp 1.20.2") in signals
        keys = {o.signal for o in observations}
        for protocol in filter(None, truth["protocols"].split(",")):
            prefix = {"sadp": "sadp.", "dhip": "dhip.", "wsdiscovery": "onvif."}[protocol]
            assert any(k.startswith(prefix) for k in keys), (host.ip, protocol)
        if "sadp" in truth["protocols"]:
            assert ("sadp.serial", host.serial) in signals


def test_some_of_each_protocol(lab_capture: LabCapture) -> None:
    found = passive_observations([lab_capture.path])
    protocols = {o.protocol for obs in found.values() for o in obs}
    assert protocols >= {"arp", "dhcp", "sadp", "wsdiscovery", "dhip"}
