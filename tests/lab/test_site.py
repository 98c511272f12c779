"""Placing devices: deterministic by seed, every profile present, never outside loopback."""

from __future__ import annotations

import ipaddress

import pytest

from coverwatch.errors import LabError
from coverwatch.lab.profiles import load_profiles
from coverwatch.lab.site import build_site, lab_addresses


def test_same_seed_same_site_and_every_profile_present() -> None:
    first = build_site(300, seed=7)
    again = build_site(300, seed=7)
    other = build_site(300, seed=8)
    assert [(h.ip, h.profile.name, h.serial, h.mac) for h in first] == [
        (h.ip, h.profile.name, h.serial, h.mac) for h in again
    ]
    assert [h.profile.name for h in first] != [h.profile.name for h in other]
    assert {h.profile.name for h in first} == set(load_profiles())
    assert len({h.ip for h in first}) == 300


def test_addresses_skip_network_and_broadcast_and_stay_in_loopback() -> None:
    addresses = lab_addresses(600)
    assert all(ipaddress.ip_address(a) in ipaddress.ip_network("127.0.0.0/8") for a in addresses)
    assert not any(a.endswith((".0", ".255")) for a in addresses)
    with pytest.raises(LabError, match=r"127\.0\.0\.0/8"):
        lab_addresses(10, base="127.255.255.250")
    with pytest.raises(LabError):
        build_site(3, seed=1, base="10.0.0.0")


def test_per_host_identity_uses_the_profile_oui_and_truth() -> None:
    for host in build_site(60, seed=3):
        oui = host.profile.identity.get("mac_oui")
        if oui:
            assert host.mac.startswith(oui.lower())
        truth = host.truth()
        assert truth["profile"] == host.profile.name
        assert set(truth) >= {"profile", "maker", "brand", "model", "device_type", "ports"}


def test_unknown_profile_is_refused() -> None:
    with pytest.raises(LabError, match="no-such"):
        build_site(2, seed=1, only=["no-such"])
