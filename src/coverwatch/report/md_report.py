"""MarkdownReport: a summary to paste into a ticket (GitHub/GitLab/Jira-flavoured Markdown).

The byline states the report's filters (which sites it covers). Headline counts, open findings
by severity and rule, the remediation plan per site, the waivers that have expired or expire
within 30 days, and (when traffic data was imported) the devices per egress verdict with those
that reach third-party or unknown destinations. Every value is escaped for Markdown tables and
for the HTML that ticket systems render inside Markdown.
"""

from __future__ import annotations

import re
from collections import Counter

from coverwatch import __version__
from coverwatch.models import VIDEO_TYPES
from coverwatch.policy.model import FindingStatus
from coverwatch.report.common import ACTION_LABELS, format_cost, scope_label
from coverwatch.report.interface import Report, ReportData
from coverwatch.report.overview import EXPIRY_WARNING_DAYS, Overview, build_overview
from coverwatch.report.plan import ACTION_ORDER
from coverwatch.report.traffic import TrafficOverview, build_traffic, format_bytes
from coverwatch.traffic.model import EgressVerdict, beyond_maker

#: What could start emphasis, code, a link or a new table cell inside a table cell.
_SPECIAL = re.compile(r"([\\`*_\[\]|~])")


def md(value: object) -> str:
    """``value`` as inert Markdown text: one line, specials backslash-escaped, no raw HTML."""
    text = " ".join(str(value).split())
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _SPECIAL.sub(r"\\\1", text)


def _table(header: list[str], rows: list[list[str]], right: int = 0) -> list[str]:
    """A Markdown table; the last ``right`` columns are right-aligned."""
    align = ["---"] * (len(header) - right) + ["---:"] * right
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join(align) + " |"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


class MarkdownReport(Report):
    """``report.md``: what a ticket needs, nothing a ticket cannot show."""

    extension = "md"

    def render(self, data: ReportData) -> str:
        overview = build_overview(data)
        lines = [f"# {md(data.title)}", "", _byline(data), ""]
        lines += _headline(data, overview)
        if data.policy is not None:
            lines += _findings(data)
            lines += _plan(overview, data.policy.currency)
            lines += _waivers(overview)
        if data.traffic:
            lines += _traffic(build_traffic(data))
        return "\n".join(lines).rstrip() + "\n"


def _byline(data: ReportData) -> str:
    text = f"Generated {data.generated_at:%Y-%m-%d %H:%M UTC} by coverwatch {__version__}"
    text += f" for {md(scope_label(data.site))}"
    if data.policy is not None:
        text += f" with policy {md(data.policy.name)} {md(data.policy.version)}"
    return f"_{text}._"


def _headline(data: ReportData, ov: Overview) -> list[str]:
    s = data.summary
    video = ", ".join(
        f"{n} {md(t)}" for t, n in s.by_type.items() if t in {v.value for v in VIDEO_TYPES}
    )
    lines = [
        "## Headline",
        "",
        f"- **{s.devices}** hosts found, **{s.video_devices}** cameras/NVRs/DVRs"
        + (f" ({video})" if video else ""),
        f"- **{s.covered}** made by a covered entity (FCC Covered List / NDAA 889)",
    ]
    if data.policy is None:
        return [*lines, "- No policy applied: inventory only.", ""]
    by_sev = ", ".join(f"{n} {sev.value}" for sev, n in ov.open_by_severity.items() if n)
    status = ov.by_status
    return [
        *lines,
        f"- **{ov.covered_sensitive}** covered at sensitive sites, "
        f"**{ov.covered_core}** covered linked to core networks",
        f"- **{ov.critical_cve}** open critical CVE findings",
        f"- **{ov.open_total}** open findings" + (f" ({by_sev})" if by_sev else ""),
        f"- {status[FindingStatus.WAIVED]} waived, {status[FindingStatus.UNVERIFIED]} unverified "
        "(not enough evidence to decide: not the same as compliant)",
        "",
    ]


def _findings(data: ReportData) -> list[str]:
    """Open findings counted by severity and rule."""
    open_ = [f for f in data.findings if f.status is FindingStatus.OPEN]
    if not open_:
        return ["## Open findings", "", "None.", ""]
    counts = Counter((f.severity, f.rule) for f in open_)
    titles = {(f.severity, f.rule): f.title for f in open_}
    keys = sorted(counts, key=lambda k: (-k[0].rank, -counts[k], k[1]))
    rows = [[k[0].value, md(k[1]), md(titles[k]), str(counts[k])] for k in keys]
    return ["## Open findings", "", *_table(["Severity", "Rule", "Finding", "Open"], rows, 1), ""]


def _plan(ov: Overview, currency: str | None) -> list[str]:
    """Devices per action and replacement cost, per site."""
    if not ov.plan.sites:
        return ["## Remediation plan", "", "Nothing to do: no open findings.", ""]
    header = ["Site", *(ACTION_LABELS[a] for a in ACTION_ORDER), "Est. replacement cost"]
    rows = []
    for name, totals in [(s.site, s.totals) for s in ov.plan.sites] + [
        ("**All sites**", ov.plan.totals)
    ]:
        cost = format_cost(totals.replacement_cost, currency)
        if totals.unpriced:
            cost += f" (+{totals.unpriced} without a price)"
        label = name if name.startswith("**") else md(name)
        rows.append([label, *(str(totals.actions[a]) for a in ACTION_ORDER), cost])
    note = (
        "One action per device: the strongest of its open findings "
        "(in order: replace, isolate, update, disable service, verify)."
    )
    return ["## Remediation plan", "", note, "", *_table(header, rows, 6), ""]


def _waivers(ov: Overview) -> list[str]:
    """Waivers expired or expiring within ``EXPIRY_WARNING_DAYS``."""
    title = f"## Waivers expired or expiring within {EXPIRY_WARNING_DAYS} days"
    soon = [w for w in ov.waivers if w.expiring_soon]
    if not soon:
        return [title, "", "None.", ""]
    rows = []
    for w in soon:
        state = f"expired {-w.days_left} days ago" if w.expired else f"{w.days_left} days left"
        covers = ", ".join(f"{md(f.ip)} ({f.status.value})" for f in w.findings) or "none"
        rows.append(
            [
                md(w.waiver.rule),
                md(w.scope),
                md(w.waiver.reason),
                md(w.waiver.approver),
                w.waiver.expires.isoformat(),
                state,
                covers,
            ]
        )
    header = ["Rule", "Covers", "Reason", "Approver", "Expires", "State", "Findings"]
    return [title, "", *_table(header, rows), ""]


def _traffic(traffic: TrafficOverview) -> list[str]:
    """Devices per verdict; the ones with a third-party or unknown destination, listed."""
    counts = [[md(v.value), str(n)] for v, n in traffic.by_verdict.items()]
    lines = [
        "## Traffic",
        "",
        f"**{traffic.with_egress}** of {len(traffic.rows)} devices sent data outside the "
        'organisation. "No traffic observed" means not enough evidence, not compliant.',
        "",
        *_table(["Verdict", "Devices"], counts, 1),
        "",
    ]
    flagged = [
        r
        for r in traffic.rows
        if r.egress.verdict in (EgressVerdict.UNKNOWN_DESTINATION, EgressVerdict.THIRD_PARTY)
    ]
    if not flagged:
        return lines
    rows = []
    for r in flagged:
        names = [
            md(d.dns_name or d.remote_ip) + (f" ({md(d.country)})" if d.country else "")
            for d in r.egress.destinations
            if beyond_maker(d, r.egress.maker)
        ]
        shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
        rows.append(
            [
                md(r.egress.ip),
                md(r.egress.maker or "unknown"),
                md(r.egress.verdict.value),
                shown or "\u2014",
                format_bytes(r.bytes_out),
            ]
        )
    header = ["Device", "Maker", "Verdict", "Destinations", "Bytes out"]
    return [*lines, "### Third-party or unknown destinations", "", *_table(header, rows, 1), ""]
