"""Policy and finding records: zones, rule settings, waivers, and the findings an audit makes."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from datetime import date
from enum import Enum

from coverwatch.models import DeviceType

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class Severity(str, Enum):
    """How bad a finding is; ``--fail-on`` compares by ``rank``."""

    INFO = "info"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        """0 (info) to 4 (critical)."""
        return _SEVERITY_RANK[self]


_SEVERITY_RANK = {s: n for n, s in enumerate(Severity)}


class FindingStatus(str, Enum):
    """Whether a finding needs action."""

    OPEN = "open"
    """The rule is broken and no valid waiver covers it."""
    WAIVED = "waived"
    """A waiver that has not expired covers it."""
    UNVERIFIED = "unverified"
    """Not enough evidence to decide (e.g. firmware version unknown): not the same as compliant."""


class Action(str, Enum):
    """What the remediation plan proposes."""

    REPLACE = "replace"
    ISOLATE = "isolate"
    UPDATE = "update"
    DISABLE_SERVICE = "disable-service"
    VERIFY = "verify"


@dataclass(frozen=True)
class Zone:
    """A named part of the network (by CIDR), possibly sensitive or core."""

    name: str
    """Zone name, unique in the policy."""
    networks: tuple[Network, ...]
    """Address ranges that make up the zone; zones never overlap."""
    sensitive: bool = False
    """A sensitive site in the sense of the UK 2022 direction."""
    core: bool = False
    """Part of a core network."""
    site: str | None = None
    """Only devices of this inventory site belong to it (None: any site)."""

    def contains(self, ip: str, site: str) -> bool:
        """Whether a device at ``ip`` on ``site`` is in this zone."""
        if self.site is not None and self.site != site:
            return False
        try:
            address = ipaddress.ip_address(ip)
        except ValueError:
            return False
        return any(address in network for network in self.networks)


@dataclass(frozen=True)
class RuleConfig:
    """One rule as the policy enables it."""

    id: str
    """Rule id, used by waivers and findings (e.g. ``covered-vendor``)."""
    kind: str
    """Which rule implementation evaluates it (a key of ``policy.RULES``)."""
    severity: Severity
    """Severity of its findings."""
    title: str
    """One-line statement of the rule."""
    remediation: str
    """What to do about a finding."""
    references: tuple[str, ...] = ()
    """Public sources of the rule (law, directive, advisory)."""
    options: dict[str, object] = field(default_factory=dict)
    """Kind-specific settings (validated by the rule)."""


@dataclass(frozen=True)
class Waiver:
    """An accepted exception: one rule, for matching devices, until an expiry date."""

    rule: str
    """Rule id it waives (``*`` for every rule)."""
    reason: str
    """Why the exception is accepted."""
    approver: str
    """Who accepted it."""
    expires: date
    """Last day it is valid."""
    devices: tuple[str, ...] = ()
    """Addresses or CIDRs it covers."""
    zone: str | None = None
    """Or: every device of this zone."""
    maker: str | None = None
    """Or: every device of this maker."""
    site: str | None = None
    """Only devices of this inventory site (None: any site)."""

    def active(self, today: date) -> bool:
        """True until (and on) its expiry day."""
        return today <= self.expires


@dataclass(frozen=True)
class Policy:
    """A validated policy file."""

    name: str
    """Human name of the policy."""
    version: str
    """Declared version plus a content hash: findings record which policy made them."""
    source: str
    """File it came from (``<default>`` for the shipped policy)."""
    zones: tuple[Zone, ...]
    rules: tuple[RuleConfig, ...]
    waivers: tuple[Waiver, ...]
    unit_costs: dict[str, float] = field(default_factory=dict)
    """Replacement cost per device type (for the remediation plan), e.g. {camera: 350}."""
    currency: str | None = None
    """ISO 4217 code of those costs (``GBP``), shown with every amount; None: not stated."""
    internal: tuple[Network, ...] = ()
    """The organisation's own address ranges: traffic to anything else is egress."""
    watch: dict[str, object] = field(default_factory=dict)
    """The monitoring schedule (``coverwatch watch`` defaults): targets, site, every, digest,
    webhook, syslog, email, smtp, from."""

    def zone_of(self, ip: str, site: str) -> Zone | None:
        """The zone a device is in, if any."""
        return next((z for z in self.zones if z.contains(ip, site)), None)


@dataclass(frozen=True)
class Finding:
    """One rule broken (or not decidable) for one device, with the evidence for it."""

    ip: str
    """Device address."""
    site: str
    """Inventory site of the device."""
    rule: str
    """Rule id."""
    severity: Severity
    """Severity from the policy."""
    status: FindingStatus
    """open, waived or unverified."""
    title: str
    """One line: what is wrong."""
    detail: str
    """Why coverwatch believes it (maker, zone, version, CVE ...)."""
    remediation: str
    """What to do."""
    action: Action
    """Category for the remediation plan."""
    zone: str | None = None
    """Zone the device is in."""
    maker: str | None = None
    brand: str | None = None
    model: str | None = None
    device_type: DeviceType | None = None
    evidence: tuple[dict[str, object], ...] = ()
    """The evidence items behind the attribution and the rule (signal, value, matched, source)."""
    references: tuple[str, ...] = ()
    """Public sources of the rule."""
    waiver: Waiver | None = None
    """The waiver that applies (active or expired), if any."""
    policy_version: str = ""
    """Version of the policy that made the finding."""

    @property
    def key(self) -> tuple[str, str, str]:
        """Identity of a finding across audits: site, address, rule."""
        return (self.site, self.ip, self.rule)


def finding_to_json(finding: Finding) -> dict[str, object]:
    """A finding as in the JSON report and ``audit --json``."""
    waiver = finding.waiver
    return {
        "ip": finding.ip,
        "site": finding.site,
        "rule": finding.rule,
        "severity": finding.severity.value,
        "status": finding.status.value,
        "title": finding.title,
        "detail": finding.detail,
        "remediation": finding.remediation,
        "action": finding.action.value,
        "zone": finding.zone,
        "maker": finding.maker,
        "brand": finding.brand,
        "model": finding.model,
        "device_type": finding.device_type.value if finding.device_type else None,
        "evidence": list(finding.evidence),
        "references": list(finding.references),
        "waiver": None
        if waiver is None
        else {
            "rule": waiver.rule,
            "reason": waiver.reason,
            "approver": waiver.approver,
            "expires": waiver.expires.isoformat(),
        },
        "policy_version": finding.policy_version,
    }


def policy_document(policy: Policy) -> dict[str, object]:
    """The effective policy as plain data: what `coverwatch policy show` prints and the
    dashboard shows; it loads back as the same policy (less ``source``)."""
    return {
        "name": policy.name,
        "version": policy.version,
        "source": policy.source,
        "internal": [str(n) for n in policy.internal],
        "zones": [
            {
                "name": z.name,
                "cidrs": [str(n) for n in z.networks],
                "sensitive": z.sensitive,
                "core": z.core,
                **({"site": z.site} if z.site else {}),
            }
            for z in policy.zones
        ],
        "rules": [
            {
                "id": r.id,
                "kind": r.kind,
                "severity": r.severity.value,
                "title": r.title,
                "remediation": r.remediation,
                "references": list(r.references),
                **({"options": r.options} if r.options else {}),
            }
            for r in policy.rules
        ],
        "waivers": [
            {
                "rule": w.rule,
                **({"devices": list(w.devices)} if w.devices else {}),
                **({"zone": w.zone} if w.zone else {}),
                **({"maker": w.maker} if w.maker else {}),
                "reason": w.reason,
                "approver": w.approver,
                "expires": w.expires.isoformat(),
            }
            for w in policy.waivers
        ],
        "unit_costs": policy.unit_costs,
        **({"currency": policy.currency} if policy.currency else {}),
    }
