"""Small helpers every report format shares: address ordering, CVE detection, number formats,
the statement of a report's filters."""

from __future__ import annotations

import re
from dataclasses import replace
from typing import TYPE_CHECKING

from coverwatch.policy.model import Action, Finding
from coverwatch.targets import ip_key

if TYPE_CHECKING:
    from coverwatch.pipeline import ScanDiff

#: How every report names the plan's actions.
ACTION_LABELS: dict[Action, str] = {
    Action.REPLACE: "Replace",
    Action.ISOLATE: "Isolate",
    Action.UPDATE: "Update",
    Action.DISABLE_SERVICE: "Disable service",
    Action.VERIFY: "Verify",
}

_CVE = re.compile(r"\bCVE-\d{4}-\d{4,}\b", re.IGNORECASE)


def ip_sort_string(ip: str) -> str:
    """``ip_key`` as one string that sorts the same way as text (for the HTML table's JS)."""
    version, number, text = ip_key(ip)
    return f"{version}{number:032x}{text}"


def is_cve_finding(finding: Finding) -> bool:
    """Whether a finding is about a known vulnerability (a CVE id in its rule, text or sources)."""
    # NOTE: rules are data (policy YAML), so the CVE rule is recognised by what it cites rather
    # than by a hard-coded rule id.
    if "cve" in finding.rule.lower():
        return True
    texts = (finding.title, finding.detail, *finding.references)
    return any(_CVE.search(t) for t in texts)


def format_cost(value: float | None, currency: str | None = None) -> str:
    """``GBP 12,600`` or ``12,600.50`` (no currency stated); an em dash when unknown."""
    if value is None:
        return "\u2014"
    amount = f"{value:,.0f}" if value == int(value) else f"{value:,.2f}"
    return f"{currency} {amount}" if currency else amount


def currency_of(policy: object) -> str | None:
    """The policy's currency (None without a policy or a stated currency)."""
    return getattr(policy, "currency", None)


def scope_label(site: str | None) -> str:
    """The report's filters as its header states them: ``site hq`` or ``all sites``."""
    return f"site {site}" if site is not None else "all sites"


def numeric_diff(result: ScanDiff) -> ScanDiff:
    """A diff with devices and findings in numeric address order (10.0.0.9 before 10.0.0.10),
    as ``diff`` and ``/api/v1/diff`` show it."""
    return replace(
        result,
        devices=sorted(result.devices, key=lambda c: (c.site, ip_key(c.ip))),
        new_findings=sorted(result.new_findings, key=lambda f: (f.site, ip_key(f.ip), f.rule)),
        resolved_findings=sorted(
            result.resolved_findings, key=lambda f: (f.site, ip_key(f.ip), f.rule)
        ),
    )
