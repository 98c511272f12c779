"""Evaluating a policy over devices: every rule for every device, then waivers."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from datetime import date

from coverwatch.identify.knowledge import Knowledge, load_knowledge
from coverwatch.models import DeviceRecord
from coverwatch.policy.interface import Rule, TrafficFacts, Verdict
from coverwatch.policy.model import (
    Finding,
    FindingStatus,
    Network,
    Policy,
    RuleConfig,
    Waiver,
    Zone,
)
from coverwatch.policy.rules import RULES, RuleKind

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


class _Waivers:
    """A policy's waivers, read once per evaluation: those naming single addresses are found
    by the device's address (a dict lookup), the rest (networks, zones, makers) are checked in
    turn. An estate may hold a waiver per device: comparing every finding with every waiver
    was quadratic (100 waivers over 100,000 devices: 80 s more per audit)."""

    def __init__(self, waivers: tuple[Waiver, ...]) -> None:
        self.waivers = waivers
        self._by_address: dict[Address, list[int]] = {}
        self._ranges: dict[int, list[Network] | None] = {}
        """Waivers checked against every device: their networks, or None for a waiver naming
        no devices (a zone or a maker: it covers every device)."""
        for i, waiver in enumerate(waivers):
            networks: list[Network] = []
            for text in waiver.devices:
                try:
                    network = ipaddress.ip_network(text, strict=False)
                except ValueError:
                    continue  # NOTE: not an address (an inventory written by hand): covers none
                if network.num_addresses == 1:
                    self._by_address.setdefault(network.network_address, []).append(i)
                else:
                    networks.append(network)
            if not waiver.devices:
                self._ranges[i] = None
            elif networks:
                self._ranges[i] = networks

    def covering(self, device: DeviceRecord, zone: Zone | None) -> list[Waiver]:
        """The waivers whose devices, site, zone and maker (those each names) take in
        ``device``, whatever their rule, in the policy's order."""
        if not self.waivers:
            return []
        try:
            # NOTE: a scope id (fe80::1%eth0) names the link, not another address
            address: Address | None = ipaddress.ip_address(device.ip.split("%", 1)[0])
        except ValueError:
            address = None
        named = self._by_address.get(address, ()) if address is not None else ()
        # NOTE: in the policy's order, so that a tie on expiry goes to the same waiver.
        candidates = sorted({*named, *self._ranges}) if named else self._ranges
        return [
            w
            for i in candidates
            if _covers(w := self.waivers[i], device, zone)
            and (i in named or _in_networks(address, self._ranges[i]))
        ]


def _waiver_for(covering: list[Waiver], rule: str, today: date) -> Waiver | None:
    """The waiver of ``rule`` among those covering a device: an active one if any, else an
    expired one (the latest expiry; on a tie, the first in the policy)."""
    matching = [w for w in covering if w.rule in (rule, "*")]
    active = [w for w in matching if w.active(today)]
    if active:
        return max(active, key=lambda w: w.expires)
    return max(matching, key=lambda w: w.expires) if matching else None


def _covers(waiver: Waiver, device: DeviceRecord, zone: Zone | None) -> bool:
    """Whether the waiver's site, zone and maker (those it names) are the device's."""
    if waiver.site is not None and waiver.site != device.site:
        return False
    if waiver.zone is not None and (zone is None or zone.name != waiver.zone):
        return False
    return waiver.maker is None or waiver.maker == device.attribution.maker


def _in_networks(address: Address | None, networks: list[Network] | None) -> bool:
    """None (a waiver naming no devices) takes in every device; else one of the networks must
    hold the address."""
    if networks is None:
        return True
    return address is not None and any(address in network for network in networks)


def _finding(
    policy: Policy,
    covering: list[Waiver],
    config: RuleConfig,
    device: DeviceRecord,
    zone: Zone | None,
    verdict: Verdict,
    today: date,
) -> Finding:
    a = device.attribution
    waiver = _waiver_for(covering, config.id, today)
    status = verdict.status
    if waiver is not None and waiver.active(today):
        status = FindingStatus.WAIVED
    evidence = tuple(e.to_json() for e in a.evidence) + verdict.facts
    return Finding(
        device.ip,
        device.site,
        config.id,
        config.severity,
        status,
        verdict.title or config.title,
        verdict.detail,
        config.remediation,
        verdict.action,
        zone.name if zone else None,
        a.maker,
        a.brand,
        a.model,
        a.device_type,
        evidence,
        config.references,
        waiver,
        policy.version,
    )


def evaluate(
    policy: Policy,
    devices: Iterable[DeviceRecord],
    today: date | None = None,
    knowledge: Knowledge | None = None,
    traffic: TrafficFacts | None = None,
) -> list[Finding]:
    """All findings of ``policy`` over ``devices`` (open, waived and unverified); the traffic
    rules need ``traffic`` and say nothing without it."""
    today = today or date.today()
    kb = knowledge or load_knowledge()
    rules: list[tuple[RuleConfig, Rule]] = [
        (config, RULES[RuleKind(config.kind)](config, kb, traffic)) for config in policy.rules
    ]
    waivers = _Waivers(policy.waivers)
    findings = []
    for device in devices:
        zone = policy.zone_of(device.ip, device.site)
        covering = waivers.covering(device, zone)
        for config, rule in rules:
            for verdict in rule.check(device, zone):
                findings.append(_finding(policy, covering, config, device, zone, verdict, today))
    return findings


def worst_open(findings: Iterable[Finding]) -> Finding | None:
    """The most severe finding that still needs action (open), for ``--fail-on``."""
    open_findings = [f for f in findings if f.status is FindingStatus.OPEN]
    return max(open_findings, key=lambda f: f.severity.rank, default=None)
