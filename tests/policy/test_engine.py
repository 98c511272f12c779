"""Evaluating rules over devices: each rule's findings, waivers, and unverified verdicts."""

from __future__ import annotations

import ipaddress
from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from coverwatch.identify import load_knowledge
from coverwatch.identify.knowledge import Cve, Knowledge
from coverwatch.models import Attribution, DeviceType, Evidence
from coverwatch.policy.engine import evaluate, worst_open
from coverwatch.policy.loader import parse_policy
from coverwatch.policy.model import Action, FindingStatus, Severity, Waiver
from coverwatch.store import DeviceRecord

TODAY = date(2026, 11, 29)
HIK = "Hangzhou Hikvision Digital Technology Company"
POLICY = """
zones:
  - {name: secure, cidrs: [10.0.1.0/24], sensitive: true}
  - {name: core, cidrs: [10.0.2.0/24], core: true}
  - {name: yard, cidrs: [10.0.3.0/24]}
waivers:
  - {rule: covered-vendor, devices: [10.0.3.5], reason: replacing, approver: CISO,
     expires: 2027-01-31}
  - {rule: covered-vendor, devices: [10.0.3.6], reason: old waiver, approver: CISO,
     expires: 2026-06-30}
  - {rule: insecure-management, zone: yard, reason: isolated VLAN, approver: CISO,
     expires: 2027-01-31}
"""


def device(
    ip: str,
    maker: str | None,
    covered: str | None = None,
    *,
    device_type: DeviceType | None = DeviceType.CAMERA,
    model: str | None = None,
    firmware: str | None = None,
    brand: str | None = None,
    ports: tuple[int, ...] = (80, 443, 554),
) -> DeviceRecord:
    evidence = (Evidence("http.server", "App-webs/", "fp:test", "src", maker, None, 0.7),)
    now = datetime(2026, 11, 29, tzinfo=UTC)
    return DeviceRecord(
        ip,
        None,
        "hq",
        Attribution(
            maker,
            brand,
            model,
            firmware,
            device_type,
            covered,
            0.9 if maker else 0.0,
            evidence if maker else (),
        ),
        list(ports),
        now,
        now,
    )


def findings_for(*devices: DeviceRecord, kb: Knowledge | None = None) -> dict[tuple[str, str], Any]:
    policy = parse_policy(POLICY, "test.yaml")
    return {(f.ip, f.rule): f for f in evaluate(policy, devices, TODAY, kb)}


def test_covered_vendor_in_each_kind_of_zone() -> None:
    found = findings_for(
        device("10.0.1.5", "Hikvision", HIK),
        device("10.0.2.5", "Hikvision", HIK),
        device("10.0.9.9", "Axis"),
    )
    assert found[("10.0.1.5", "covered-vendor")].action is Action.REPLACE
    assert found[("10.0.1.5", "uk-sensitive-site")].zone == "secure"
    assert found[("10.0.2.5", "uk-core-network")].action is Action.ISOLATE
    assert ("10.0.1.5", "uk-core-network") not in found
    assert not [k for k in found if k[0] == "10.0.9.9"]


def test_prc_maker_not_on_the_covered_list_still_breaks_the_uk_rules() -> None:
    kb = load_knowledge()
    info = kb.maker_info("Uniview")
    assert info is not None and info.prc_national_intelligence_law
    found = findings_for(device("10.0.1.7", "Uniview"))
    assert ("10.0.1.7", "uk-sensitive-site") in found
    assert ("10.0.1.7", "covered-vendor") not in found


def test_a_maker_only_open_ports_suggest_is_to_verify_not_to_replace() -> None:
    # a plain sweep saw Dahua's SDK port on a streaming host: a lead, not a finding to act on
    from coverwatch.identify import attribute

    ports = [("tcp.port", p) for p in ("80", "554", "37777")]
    swept = replace(device("10.0.1.9", None), attribution=attribute(ports))
    probed = replace(
        device("10.0.1.10", None),
        attribution=attribute([*ports, ("rtsp.server", "Dahua Rtsp Server")]),
    )
    assert swept.attribution.covered and swept.attribution.named_by_ports_only
    found = findings_for(swept, probed)
    for rule in ("covered-vendor", "uk-sensitive-site"):
        lead = found[("10.0.1.9", rule)]
        assert (lead.status, lead.action) == (FindingStatus.UNVERIFIED, Action.VERIFY)
        assert "open ports suggest" in lead.detail
        confirmed = found[("10.0.1.10", rule)]
        assert (confirmed.status, confirmed.action) == (FindingStatus.OPEN, Action.REPLACE)


def test_unknown_maker_is_unverified_not_compliant() -> None:
    found = findings_for(device("10.0.1.8", None), device("10.0.9.8", None))
    assert found[("10.0.1.8", "uk-sensitive-site")].status is FindingStatus.UNVERIFIED
    assert found[("10.0.9.8", "unidentified-video")].status is FindingStatus.UNVERIFIED


def test_waivers_suppress_only_what_they_name_and_only_until_expiry() -> None:
    found = findings_for(
        device("10.0.3.5", "Hikvision", HIK, ports=(23, 80)),
        device("10.0.3.6", "Hikvision", HIK),
        device("10.0.3.7", "Hikvision", HIK),
    )
    waived = found[("10.0.3.5", "covered-vendor")]
    assert waived.status is FindingStatus.WAIVED and waived.waiver.reason == "replacing"
    expired = found[("10.0.3.6", "covered-vendor")]
    assert expired.status is FindingStatus.OPEN and expired.waiver.reason == "old waiver"
    assert found[("10.0.3.7", "covered-vendor")].status is FindingStatus.OPEN
    # The zone waiver covers insecure-management in the yard, not covered-vendor.
    assert found[("10.0.3.5", "insecure-management")].status is FindingStatus.WAIVED


def _reference_waiver(waivers: Any, rule: str, d: DeviceRecord, zone: str | None) -> Any:
    """What a waiver covers, read straight from its definition (README, "Waivers"): every
    waiver in turn; an active one before an expired one, the latest expiry, the first on a tie."""

    def covers(w: Waiver) -> bool:
        if (w.site is not None and w.site != d.site) or (w.zone is not None and w.zone != zone):
            return False
        if w.maker is not None and w.maker != d.attribution.maker:
            return False
        address = ipaddress.ip_address(d.ip)
        return not w.devices or any(
            address in ipaddress.ip_network(n, strict=False) for n in w.devices
        )

    matching = [w for w in waivers if w.rule in (rule, "*") and covers(w)]
    active = [w for w in matching if w.active(TODAY)]
    return max(active or matching, key=lambda w: w.expires, default=None)


_ADDRESSES = ["10.0.3.5", "10.0.3.6", "10.0.1.5", "10.0.9.9", "2001:db8::5"]
_WAIVER = st.builds(
    lambda rule, devices, zone, maker, site, expires: (rule, devices, zone, maker, site, expires),
    st.sampled_from(["covered-vendor", "insecure-management", "*"]),
    st.lists(
        st.sampled_from([*_ADDRESSES, "10.0.3.0/29", "10.0.0.0/16", "10.0.3.5/32", "::/0"]),
        max_size=3,
    ),
    st.sampled_from([None, "yard", "secure"]),
    st.sampled_from([None, "Hikvision", "Axis"]),
    st.sampled_from([None, "hq", "depot"]),
    st.sampled_from([date(2026, 6, 30), date(2027, 1, 31), date(2027, 3, 31)]),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_WAIVER, max_size=12))
def test_each_finding_gets_the_waiver_its_definition_picks(specs: list[Any]) -> None:
    base = parse_policy(POLICY, "test.yaml")
    waivers = tuple(
        Waiver(rule, f"waiver {i}", "CISO", expires, tuple(devices), zone, maker, site)
        for i, (rule, devices, zone, maker, site, expires) in enumerate(specs)
    )
    policy = replace(base, waivers=waivers)
    devices = [
        replace(device(ip, maker, HIK if maker == "Hikvision" else None, ports=(23, 80)), site=site)
        for ip in _ADDRESSES
        for maker in ("Hikvision", "Axis")
        for site in ("hq", "depot")
    ]
    found = evaluate(policy, devices, TODAY)
    assert found
    for f in found:
        d = next(
            x for x in devices if (x.ip, x.site, x.attribution.maker) == (f.ip, f.site, f.maker)
        )
        expected = _reference_waiver(waivers, f.rule, d, f.zone)
        assert f.waiver is expected, (f.ip, f.site, f.rule)
        if expected is not None and expected.active(TODAY):
            assert f.status is FindingStatus.WAIVED


def test_insecure_management() -> None:
    found = findings_for(
        device("10.0.9.1", "Axis", ports=(23, 80, 554)),
        device("10.0.9.2", "Axis", ports=(80, 443)),
        device("10.0.9.3", None, device_type=DeviceType.SERVER, ports=(23,)),
    )
    titles = [f.title for k, f in found.items() if k[0] == "10.0.9.1"]
    assert len([k for k in found if k == ("10.0.9.1", "insecure-management")]) == 1
    assert ("10.0.9.2", "insecure-management") not in found  # HTTPS offered: HTTP alone is fine
    assert ("10.0.9.3", "insecure-management") not in found  # not a video device
    assert titles


CVE = Cve(
    "CVE-2021-36260",
    "Hikvision",
    "critical",
    9.8,
    True,
    "command injection",
    frozenset({DeviceType.CAMERA}),
    None,
    date(2021, 6, 28),
    None,
    "V5.5.800 build 210628",
    "advisory",
)


@pytest.mark.parametrize(
    ("firmware", "status"),
    [
        ("V5.4.0 build 160811", FindingStatus.OPEN),
        ("V5.5.800 build 210628", None),
        ("V5.7.3 build 220112", None),
        (None, FindingStatus.UNVERIFIED),
        ("custom-build", FindingStatus.UNVERIFIED),
    ],
)
def test_vulnerable_firmware_from_the_reported_version(
    firmware: str | None, status: FindingStatus | None
) -> None:
    base = load_knowledge()
    kb = Knowledge.build(
        base.fingerprints, base.oui, base.oem, base.covered, [CVE], base.firmware_dates, base.makers
    )
    found = findings_for(device("10.0.9.4", "Hikvision", HIK, firmware=firmware), kb=kb)
    finding = found.get(("10.0.9.4", "vulnerable-firmware"))
    assert (finding.status if finding else None) is status
    if status is FindingStatus.OPEN:
        assert finding is not None
        assert "CVE-2021-36260" in finding.title
        assert finding.action is Action.UPDATE


def test_worst_open_ignores_waived_and_unverified() -> None:
    policy = parse_policy(POLICY, "test.yaml")
    waived_only = evaluate(policy, [device("10.0.3.5", "Hikvision", HIK)], TODAY)
    assert worst_open(waived_only) is None
    sensitive = evaluate(policy, [device("10.0.1.5", "Hikvision", HIK)], TODAY)
    worst = worst_open(sensitive)
    assert worst is not None and worst.severity is Severity.CRITICAL


def test_a_covered_device_of_unknown_maker_never_reads_made_by_none() -> None:
    found = findings_for(device("10.0.1.9", None, HIK, brand="Hikvision"))
    for rule in ("covered-vendor", "uk-sensitive-site"):
        assert "None" not in found[("10.0.1.9", rule)].detail, rule
    assert found[("10.0.1.9", "covered-vendor")].detail.startswith("sold as Hikvision: ")


def test_default_rules_cite_public_references_only() -> None:
    from coverwatch.policy.loader import load_policy

    for rule in load_policy(None).rules:
        for reference in rule.references:
            assert reference.startswith("https://") or " " in reference, reference
            assert not reference.lower().split()[0].endswith((".yaml", ".md")), reference


def test_a_waiver_naming_no_real_address_covers_nothing_and_the_audit_goes_on() -> None:
    """An inventory edited by hand may hold a waiver whose device is not an address."""
    base = parse_policy(POLICY, "test.yaml")
    broken = Waiver("*", "typo", "CISO", date(2027, 1, 31), ("10.0.3.5x",))
    policy = replace(base, waivers=(broken,))
    found = evaluate(policy, [device("10.0.3.5", "Hikvision", HIK)], TODAY)
    assert found and all(f.waiver is None and f.status is not FindingStatus.WAIVED for f in found)
