"""The rule seam: one rule kind = one class that judges one device at a time."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field

from coverwatch.errors import CoverwatchError
from coverwatch.identify.knowledge import Knowledge
from coverwatch.models import Attribution, DeviceRecord
from coverwatch.policy.model import Action, FindingStatus, RuleConfig, Zone
from coverwatch.traffic.model import DeviceEgress, ZoneLink


class PolicyError(CoverwatchError):
    """A policy file is invalid; the message names file, line and field.

    ``problems`` holds every problem found (one line each; the message is the first, with a
    count of the rest), so ``policy check`` reports them all in one run."""

    def __init__(self, message: str, problems: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.problems = problems or (message,)


@dataclass(frozen=True)
class Verdict:
    """What a rule says about one device (turned into a Finding by the engine)."""

    detail: str
    """Why: the facts that break the rule."""
    action: Action
    """What the remediation plan should do."""
    status: FindingStatus = FindingStatus.OPEN
    """OPEN, or UNVERIFIED when the evidence cannot decide."""
    facts: tuple[dict[str, object], ...] = field(default_factory=tuple)
    """Rule-specific evidence (zone, CVE, port) added to the attribution's evidence."""
    title: str | None = None
    """Overrides the rule's title (e.g. to name the CVE)."""


def maker_verdict(
    attribution: Attribution, detail: str, action: Action, fact: dict[str, object]
) -> Verdict:
    """A verdict on who made the device: ``action`` when the device's own words name its maker;
    when only its open ports do (a plain sweep), a lead to confirm, not a finding to act on."""
    if attribution.named_by_ports_only:
        return Verdict(
            f"its open ports suggest {detail}; scan it with probes or check the label to confirm",
            Action.VERIFY,
            FindingStatus.UNVERIFIED,
            facts=(fact,),
        )
    return Verdict(detail, action, facts=(fact,))


def rule_fact(signal: str, value: str, matched: str, source: str) -> dict[str, object]:
    """A rule's own evidence item, shaped like an attribution's (signal, value, matched, source)."""
    return {"signal": signal, "value": value, "matched": matched, "source": source}


@dataclass(frozen=True)
class TrafficFacts:
    """What captures and flow logs showed, for the traffic rules (absent: no traffic data)."""

    egress: dict[tuple[str | None, str], DeviceEgress]
    """Per device (site, address): its egress verdict and destinations."""
    links: tuple[ZoneLink, ...] = ()
    """Observed traffic between the policy's zones."""
    core_zones: frozenset[str] = frozenset()
    """Names of the policy's core zones."""


class Rule(ABC):
    """A rule kind. ``OPTIONS`` lists the option keys it accepts (validated on load)."""

    OPTIONS: frozenset[str] = frozenset()

    def __init__(
        self, config: RuleConfig, knowledge: Knowledge, traffic: TrafficFacts | None = None
    ) -> None:
        self.config = config
        self.knowledge = knowledge
        self.traffic = traffic

    @abstractmethod
    def check(self, device: DeviceRecord, zone: Zone | None) -> list[Verdict]:
        """Verdicts for one device (empty: the device complies, or the rule does not apply)."""
