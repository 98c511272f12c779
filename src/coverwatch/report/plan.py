"""The remediation plan: per site, one action per device and the estimated replacement cost.

OPEN findings count with their action; UNVERIFIED ones count as ``verify`` whatever their rule's
action (the evidence comes first); waived ones are accepted risk and do not count. A device with
several findings gets one action: the strongest, in the order replace > isolate > update >
disable-service > verify. The HTML, JSON and Markdown reports all show this same plan.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from functools import cached_property

from coverwatch.models import DeviceRecord, DeviceType
from coverwatch.policy.model import Action, Finding, FindingStatus, Policy
from coverwatch.targets import ip_key

#: Strongest first: a device that must be replaced needs no firmware update as well.
ACTION_ORDER: tuple[Action, ...] = (
    Action.REPLACE,
    Action.ISOLATE,
    Action.UPDATE,
    Action.DISABLE_SERVICE,
    Action.VERIFY,
)


def strongest(actions: Iterable[Action]) -> Action | None:
    """The strongest of ``actions`` (None for none)."""
    present = set(actions)
    return next((a for a in ACTION_ORDER if a in present), None)


@dataclass(frozen=True)
class PlannedDevice:
    """One device's single action in the plan."""

    site: str
    """Inventory site."""
    ip: str
    """Device address."""
    action: Action
    """The strongest action of its open findings."""
    device_type: DeviceType | None
    """Its type, which picks the unit cost."""
    unit_cost: float | None
    """Replacement cost of this device (only for ``replace``; None when no price is known)."""
    rules: tuple[str, ...]
    """Rules of the open findings behind the action, sorted."""


@dataclass(frozen=True)
class PlanTotals:
    """Counts and cost over a set of planned devices."""

    actions: dict[Action, int]
    """Devices per action; every action present, zeros included, in ``ACTION_ORDER``."""
    replacement_cost: float | None
    """Sum of the known prices of devices to replace; None when none of them has a price."""
    unpriced: int
    """Devices to replace that have no price (not in ``replacement_cost``)."""

    @classmethod
    def of(cls, devices: Sequence[PlannedDevice]) -> PlanTotals:
        """Totals over ``devices``."""
        actions = {a: sum(1 for d in devices if d.action is a) for a in ACTION_ORDER}
        replaced = [d for d in devices if d.action is Action.REPLACE]
        prices = [d.unit_cost for d in replaced if d.unit_cost is not None]
        return cls(actions, sum(prices) if prices else None, len(replaced) - len(prices))

    def to_json(self) -> dict[str, object]:
        """Plain JSON (action values as keys)."""
        return {
            "actions": {a.value: n for a, n in self.actions.items()},
            "replacement_cost": self.replacement_cost,
            "unpriced": self.unpriced,
        }


@dataclass(frozen=True)
class SitePlan:
    """The plan of one site."""

    site: str
    """Inventory site."""
    devices: tuple[PlannedDevice, ...]
    """Devices with an action, strongest action first, then by address."""
    totals: PlanTotals
    """Counts and cost of this site."""


@dataclass(frozen=True)
class RemediationPlan:
    """Per-site plans plus totals over the estate."""

    sites: tuple[SitePlan, ...]
    """One entry per site that has something to do, by site name."""
    totals: PlanTotals
    """Over every site."""

    def action_of(self, site: str, ip: str) -> Action | None:
        """The planned action of one device, if any."""
        return self._actions.get((site, ip))

    @cached_property
    def _actions(self) -> dict[tuple[str, str], Action]:
        # NOTE: reports ask this for every device: a scan of the plan each time was quadratic
        # (100,000 devices: five minutes).
        return {(d.site, d.ip): d.action for s in self.sites for d in s.devices}

    def to_json(self) -> dict[str, object]:
        """The ``plan`` object of the JSON report."""
        return {
            "sites": [
                {
                    "site": s.site,
                    **s.totals.to_json(),
                    "devices": [
                        {
                            "ip": d.ip,
                            "action": d.action.value,
                            "device_type": d.device_type.value if d.device_type else None,
                            "unit_cost": d.unit_cost,
                            "rules": list(d.rules),
                        }
                        for d in s.devices
                    ],
                }
                for s in self.sites
            ],
            "totals": self.totals.to_json(),
        }


def unit_cost_of(
    device_type: DeviceType | None, policy: Policy | None, default: float | None
) -> float | None:
    """Price of one device: the policy's price for its type, else ``default``, else unknown."""
    if policy is not None and device_type is not None and device_type.value in policy.unit_costs:
        return policy.unit_costs[device_type.value]
    return default


def build_plan(
    findings: Iterable[Finding],
    policy: Policy | None,
    unit_cost: float | None,
    devices: Iterable[DeviceRecord] = (),
) -> RemediationPlan:
    """The plan for open and unverified ``findings``; ``devices`` supply types findings lack."""
    types = {(d.site, d.ip): d.attribution.device_type for d in devices}
    open_by_device: dict[tuple[str, str], list[Finding]] = {}
    for f in findings:
        if f.status is FindingStatus.UNVERIFIED:
            f = replace(f, action=Action.VERIFY)
        if f.status is not FindingStatus.WAIVED:
            open_by_device.setdefault((f.site, f.ip), []).append(f)
    by_site: dict[str, list[PlannedDevice]] = {}
    for (site, ip), found in open_by_device.items():
        action = strongest(f.action for f in found)
        assert action is not None  # found is never empty
        device_type = next((f.device_type for f in found if f.device_type), types.get((site, ip)))
        cost = unit_cost_of(device_type, policy, unit_cost) if action is Action.REPLACE else None
        rules = tuple(sorted({f.rule for f in found if f.action is action}))
        by_site.setdefault(site, []).append(
            PlannedDevice(site, ip, action, device_type, cost, rules)
        )
    sites = []
    for site in sorted(by_site):
        planned = sorted(by_site[site], key=lambda d: (ACTION_ORDER.index(d.action), ip_key(d.ip)))
        sites.append(SitePlan(site, tuple(planned), PlanTotals.of(planned)))
    everything = [d for s in sites for d in s.devices]
    return RemediationPlan(tuple(sites), PlanTotals.of(everything))
