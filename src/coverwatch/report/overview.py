"""What the human-readable reports show, computed once from ReportData.

`build_overview` joins devices with their zone and findings, counts the executive-summary
numbers (covered at sensitive sites, covered linked to core networks, critical CVE findings,
open findings by severity), attaches to each waiver the findings it covers, and builds the
remediation plan. HTML and Markdown render it; nothing here formats text.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date

from coverwatch.models import DeviceRecord
from coverwatch.policy.model import Action, Finding, FindingStatus, Severity, Waiver, Zone
from coverwatch.report.common import is_cve_finding
from coverwatch.report.interface import ReportData
from coverwatch.report.plan import RemediationPlan, build_plan
from coverwatch.targets import ip_key

#: Most severe first, as every table lists them.
SEVERITIES: tuple[Severity, ...] = tuple(sorted(Severity, key=lambda s: -s.rank))

#: Waivers that expire within this many days are called out.
EXPIRY_WARNING_DAYS = 30


@dataclass(frozen=True)
class DeviceView:
    """One device with its zone, findings and planned action."""

    device: DeviceRecord
    """The inventory record."""
    zone: Zone | None
    """The policy zone it is in (None: no zone or no policy)."""
    findings: tuple[Finding, ...]
    """Its findings, most severe first."""
    action: Action | None
    """Its action in the remediation plan."""

    @property
    def open_findings(self) -> tuple[Finding, ...]:
        """The findings that need action."""
        return tuple(f for f in self.findings if f.status is FindingStatus.OPEN)

    @property
    def worst(self) -> Severity | None:
        """Severity of its worst open finding."""
        return self.open_findings[0].severity if self.open_findings else None


@dataclass(frozen=True)
class WaiverView:
    """A waiver of the policy, whether it still holds, and what it covers."""

    waiver: Waiver
    """As in the policy."""
    expired: bool
    """Past its expiry day on the report date."""
    days_left: int
    """Days from the report date to its expiry day (negative once expired)."""
    findings: tuple[Finding, ...]
    """Findings that name it (waived ones, and open ones whose waiver expired)."""

    @property
    def expiring_soon(self) -> bool:
        """Expired, or expiring within ``EXPIRY_WARNING_DAYS``."""
        return self.days_left <= EXPIRY_WARNING_DAYS

    @property
    def scope(self) -> str:
        """Which devices it covers, in words."""
        parts = []
        if self.waiver.devices:
            parts.append(", ".join(self.waiver.devices))
        if self.waiver.zone:
            parts.append(f"zone {self.waiver.zone}")
        if self.waiver.maker:
            parts.append(f"maker {self.waiver.maker}")
        return "; ".join(parts) or "every device"


@dataclass(frozen=True)
class Overview:
    """The executive summary numbers and the joined views behind every section."""

    covered_sensitive: int
    """Devices of a covered entity in a sensitive zone."""
    covered_core: int
    """Devices of a covered entity in a core-network zone."""
    critical_cve: int
    """Open critical findings about a known vulnerability (CVE)."""
    open_by_severity: dict[Severity, int]
    """Open findings per severity, most severe first, zeros included."""
    by_status: dict[FindingStatus, int]
    """Findings per status, zeros included."""
    devices: tuple[DeviceView, ...]
    """Every device, by site and address."""
    waivers: tuple[WaiverView, ...]
    """Every waiver of the policy, soonest expiry first."""
    plan: RemediationPlan
    """The remediation plan."""
    today: date
    """The report date that expiry is judged against."""

    @property
    def open_total(self) -> int:
        """Open findings."""
        return self.by_status[FindingStatus.OPEN]


def sort_findings(findings: list[Finding]) -> list[Finding]:
    """Most severe first, then by site, address and rule."""
    return sorted(findings, key=lambda f: (-f.severity.rank, f.site, ip_key(f.ip), f.rule))


def build_overview(data: ReportData) -> Overview:
    """Everything the HTML and Markdown reports show beyond ``data`` itself."""
    today = data.today or data.generated_at.date()
    plan = build_plan(data.findings, data.policy, data.unit_cost, data.devices)
    ordered = sort_findings(data.findings)
    by_device: dict[tuple[str, str], list[Finding]] = {}
    for f in ordered:
        by_device.setdefault((f.site, f.ip), []).append(f)
    views = tuple(
        DeviceView(
            d,
            data.policy.zone_of(d.ip, d.site) if data.policy else None,
            tuple(by_device.get((d.site, d.ip), ())),
            plan.action_of(d.site, d.ip),
        )
        for d in sorted(data.devices, key=lambda d: (d.site, ip_key(d.ip)))
    )
    covered_zones = [v.zone for v in views if v.device.attribution.covered and v.zone]
    open_findings = [f for f in data.findings if f.status is FindingStatus.OPEN]
    severities = Counter(f.severity for f in open_findings)
    statuses = Counter(f.status for f in data.findings)
    return Overview(
        covered_sensitive=sum(1 for z in covered_zones if z.sensitive),
        covered_core=sum(1 for z in covered_zones if z.core),
        critical_cve=sum(
            1 for f in open_findings if f.severity is Severity.CRITICAL and is_cve_finding(f)
        ),
        open_by_severity={s: severities[s] for s in SEVERITIES},
        by_status={s: statuses[s] for s in FindingStatus},
        devices=views,
        waivers=_waiver_views(data, ordered, today),
        plan=plan,
        today=today,
    )


def _waiver_views(data: ReportData, ordered: list[Finding], today: date) -> tuple[WaiverView, ...]:
    """The policy's waivers with their state on ``today`` and the findings naming them
    (``ordered``: the findings as ``sort_findings`` orders them)."""
    if data.policy is None:
        return ()
    # NOTE: grouped once: an estate may hold a waiver per device (findings x waivers would be
    # quadratic).
    by_waiver: dict[Waiver, list[Finding]] = {}
    for f in ordered:
        if f.waiver is not None:
            by_waiver.setdefault(f.waiver, []).append(f)
    views = [
        WaiverView(w, not w.active(today), (w.expires - today).days, tuple(by_waiver.get(w, ())))
        for w in data.policy.waivers
    ]
    return tuple(sorted(views, key=lambda v: (v.waiver.expires, v.waiver.rule)))
