"""Evaluating a policy over devices: every rule for every device, then waivers."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from datetime import date

from coverwatch.identify.knowledge import Knowledge, load_knowledge
from coverwatch.models import DeviceRecord
from coverwatch.policy.interface import Rule, TrafficFacts, Verdict
from coverwatch.policy.model import Finding, FindingStatus, Policy, RuleConfig, Waiver, Zone
from coverwatch.policy.rules import RULES, RuleKind


def _waiver_for(
    policy: Policy, rule: str, device: DeviceRecord, zone: Zone | None, today: date
) -> Waiver | None:
    """The waiver covering this rule and device: an active one if any, else an expired one."""
    matching = [w for w in policy.waivers if (w.rule in (rule, "*")) and _covers(w, device, zone)]
    active = [w for w in matching if w.active(today)]
    if active:
        return max(active, key=lambda w: w.expires)
    return max(matching, key=lambda w: w.expires) if matching else None


def _covers(waiver: Waiver, device: DeviceRecord, zone: Zone | None) -> bool:
    if waiver.site is not None and waiver.site != device.site:
        return False
    if waiver.zone is not None and (zone is None or zone.name != waiver.zone):
        return False
    if waiver.maker is not None and waiver.maker != device.attribution.maker:
        return False
    if waiver.devices:
        address = ipaddress.ip_address(device.ip)
        return any(address in ipaddress.ip_network(d, strict=False) for d in waiver.devices)
    return True


def _finding(
    policy: Policy,
    config: RuleConfig,
    device: DeviceRecord,
    zone: Zone | None,
    verdict: Verdict,
    today: date,
) -> Finding:
    a = device.attribution
    waiver = _waiver_for(policy, config.id, device, zone, today)
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
    findings = []
    for device in devices:
        zone = policy.zone_of(device.ip, device.site)
        for config, rule in rules:
            for verdict in rule.check(device, zone):
                findings.append(_finding(policy, config, device, zone, verdict, today))
    return findings


def worst_open(findings: Iterable[Finding]) -> Finding | None:
    """The most severe finding that still needs action (open), for ``--fail-on``."""
    open_findings = [f for f in findings if f.status is FindingStatus.OPEN]
    return max(open_findings, key=lambda f: f.severity.rank, default=None)
