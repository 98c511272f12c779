"""HtmlReport: one self-contained HTML file (no external fetches), autoescaped throughout.

The page carries its stylesheet, its SVG charts and one small script (sort and filter for the
device table) inline. Its Content-Security-Policy allows exactly that stylesheet and that script
by their SHA-256 hashes and nothing else: no network fetch, no other script, no ``style=``.
"""

from __future__ import annotations

import base64
import hashlib
from collections import Counter
from dataclasses import dataclass
from functools import cache, partial
from importlib import resources

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from coverwatch import __version__
from coverwatch.models import VIDEO_TYPES, Attribution
from coverwatch.policy.model import Finding, FindingStatus, Severity
from coverwatch.report.charts import PALETTE, Series, Span, bar_chart, line_chart, span_chart
from coverwatch.report.common import (
    ACTION_LABELS,
    currency_of,
    format_cost,
    ip_sort_string,
    scope_label,
)
from coverwatch.report.interface import Report, ReportData
from coverwatch.report.overview import SEVERITIES, Overview, build_overview
from coverwatch.report.plan import ACTION_ORDER
from coverwatch.report.traffic import (
    KIND_COLOURS,
    MIN_OBSERVED_HOURS,
    TrafficOverview,
    build_traffic,
    destination_kind,
    egress_badge,
    format_bytes,
    verdict_class,
)
from coverwatch.traffic.model import EgressVerdict

_ENV = Environment(
    loader=PackageLoader("coverwatch.report", "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)

#: Device table columns: header and sort kind (the JS sorts ``num`` numerically).
COLUMNS: tuple[tuple[str, str], ...] = (
    ("Address", "text"),
    ("Site", "text"),
    ("Zone", "text"),
    ("Type", "text"),
    ("Maker", "text"),
    ("Model", "text"),
    ("Firmware", "text"),
    ("Covered entity", "text"),
    ("Confidence", "num"),
    ("Open findings", "num"),
    ("Action", "num"),
)

_STATUS_COLOURS = {
    FindingStatus.OPEN: "#b42318",
    FindingStatus.UNVERIFIED: "#e0a100",
    FindingStatus.WAIVED: "#8c959f",
}


@cache
def report_asset(name: str) -> str:
    """A file shipped next to the template (stylesheet, script)."""
    return (resources.files("coverwatch.report") / "templates" / name).read_text("utf-8")


def csp_hash(text: str) -> str:
    """The CSP source expression allowing exactly this inline ``text``."""
    digest = base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii")
    return f"'sha256-{digest}'"


def content_security_policy(script: str, css: str) -> str:
    """Nothing may load; only the report's own inline script and stylesheet may run."""
    return (
        f"default-src 'none'; script-src {csp_hash(script)}; style-src {csp_hash(css)}; "
        "base-uri 'none'; form-action 'none'"
    )


@dataclass(frozen=True)
class RuleRow:
    """Open findings of one rule, for the findings table."""

    severity: Severity
    rule: str
    title: str
    remediation: str
    count: int
    sites: list[str]


class HtmlReport(Report):
    """``report.html``: summary, charts, findings, plan, waivers, makers and the device table."""

    extension = "html"

    def render(self, data: ReportData) -> str:
        overview = build_overview(data)
        traffic = build_traffic(data)
        script, css = report_asset("report.js"), report_asset("report.css")
        return _ENV.get_template("report.html.j2").render(
            data=data,
            ov=overview,
            traffic=traffic,
            charts=report_charts(data, overview) | traffic_charts(traffic),
            egress=EgressVerdict,
            verdict_class=verdict_class,
            egress_badge=egress_badge,
            extra_evidence=extra_evidence,
            min_hours=MIN_OBSERVED_HOURS,
            destination_kind=destination_kind,
            format_bytes=format_bytes,
            rule_rows=rule_rows(data),
            version=__version__,
            scope=scope_label(data.site),
            video_type_names={t.value for t in VIDEO_TYPES},
            statuses=FindingStatus,
            actions=ACTION_ORDER,
            action_labels=ACTION_LABELS,
            action_rank={a: i for i, a in enumerate(ACTION_ORDER)},
            columns=COLUMNS,
            format_cost=partial(format_cost, currency=currency_of(data.policy)),
            cost_basis=_cost_basis(data),
            ip_sort=ip_sort_string,
            # The script and stylesheet are ours (package files), hashed into the CSP as is.
            script=Markup(script),
            css=Markup(css),
            csp=content_security_policy(script, css),
        )


def _cost_basis(data: ReportData) -> str:
    """Where unit costs come from, in words."""
    parts = []
    currency = currency_of(data.policy)
    if data.policy and data.policy.unit_costs:
        priced = ", ".join(
            f"{t} {format_cost(c, currency)}" for t, c in sorted(data.policy.unit_costs.items())
        )
        parts.append(f"policy: {priced}")
    if data.unit_cost is not None:
        parts.append(f"otherwise {format_cost(data.unit_cost, currency)} per device")
    if parts and not currency:
        parts.append("currency not stated in the policy (currency: GBP, EUR, ...)")
    return "; ".join(parts) or "no unit cost given, so no estimate"


def extra_evidence(finding: Finding, attribution: Attribution) -> list[dict[str, object]]:
    """The finding's evidence that is not the device's attribution evidence: each device shows
    its attribution evidence once, and its findings only what they add (issue 14: every
    finding repeated the whole list, and the printed report ran to 79 pages)."""
    shown = {(e.signal, e.value) for e in attribution.evidence}
    return [e for e in finding.evidence if (e.get("signal"), e.get("value")) not in shown]


def rule_rows(data: ReportData) -> list[RuleRow]:
    """Open findings grouped by rule, most severe first."""
    groups: dict[tuple[Severity, str], list[tuple[str, str, str]]] = {}
    titles: dict[tuple[Severity, str], tuple[str, str]] = {}
    for f in data.findings:
        if f.status is FindingStatus.OPEN:
            groups.setdefault((f.severity, f.rule), []).append((f.site, f.ip, f.rule))
            titles.setdefault((f.severity, f.rule), (f.title, f.remediation))
    rows = [
        RuleRow(sev, rule, *titles[(sev, rule)], len(keys), sorted({k[0] for k in keys}))
        for (sev, rule), keys in groups.items()
    ]
    return sorted(rows, key=lambda r: (-r.severity.rank, -r.count, r.rule))


def report_charts(data: ReportData, overview: Overview) -> dict[str, Markup | None]:
    """The SVG charts: makers by site, covered devices by zone, findings by severity, trend."""
    video = [d for d in data.devices if d.attribution.device_type in VIDEO_TYPES]
    makers = Counter(d.attribution.maker or "unknown" for d in video)
    sites = sorted({d.site for d in video})
    covered_makers = {d.attribution.maker for d in video if d.attribution.covered}
    site_series = [Series(s, PALETTE[i % len(PALETTE)]) for i, s in enumerate(sites)]
    charts: dict[str, Markup | None] = {
        "makers": bar_chart(
            [m for m, _ in makers.most_common()],
            site_series,
            Counter((d.attribution.maker or "unknown", d.site) for d in video),
            "Video devices by real maker and site",
            {m: "covered entity" for m in covered_makers if m},
        )
    }
    zones = Counter(
        (v.zone.name if v.zone else "no zone", "covered")
        for v in overview.devices
        if v.device.attribution.covered
    )
    zone_flags = {
        z.name: ", ".join(n for n, on in (("sensitive", z.sensitive), ("core", z.core)) if on)
        for z in (data.policy.zones if data.policy else ())
    }
    charts["zones"] = bar_chart(
        sorted({z for z, _ in zones}, key=lambda z: (-zones[(z, "covered")], z)),
        [Series("covered", "#b42318")],
        zones,
        "Covered devices by zone",
        {z: flags for z, flags in zone_flags.items() if flags},
    )
    statuses = Counter((f.severity.value.capitalize(), f.status.value) for f in data.findings)
    charts["severity"] = bar_chart(
        [s.value.capitalize() for s in SEVERITIES],
        [Series(s.value, colour) for s, colour in _STATUS_COLOURS.items()],
        statuses,
        "Findings by severity and status",
    )
    history = data.history
    charts["trend"] = (
        line_chart(
            [p.started_at.strftime("%d %b") for p in history],
            [
                (Series("hosts", PALETTE[0]), [p.devices for p in history]),
                (Series("video devices", PALETTE[2]), [p.video_devices for p in history]),
                (Series("covered", "#b42318"), [p.covered for p in history]),
            ],
            "Trend across scans",
        )
        if len(history) >= 2
        else None
    )
    return charts


#: Devices drawn in a traffic chart at most (the tables list every one).
TRAFFIC_CHART_ROWS = 25


def traffic_charts(traffic: TrafficOverview) -> dict[str, Markup | None]:
    """Bytes sent outside per device by kind of destination, and when each was contacted.

    The flow data keeps first and last moments per destination, not volume over time, so the
    timeline shows contact spans and the bytes go in a separate bar chart (nothing is spread
    over time that was not measured that way).
    """
    rows = sorted(
        (r for r in traffic.rows if r.egress.destinations),
        key=lambda r: (-r.bytes_out, r.egress.ip),
    )[:TRAFFIC_CHART_ROWS]
    if not rows:
        return {"egress_bytes": None, "egress_spans": None}
    labels = [f"{r.egress.ip} {r.egress.maker or ''}".strip() for r in rows]
    kinds = {destination_kind(d) for r in rows for d in r.egress.destinations}
    series = [Series(k, c) for k, c in KIND_COLOURS.items() if k in kinds]
    values: dict[tuple[str, str], int] = {}
    spans: list[Span] = []
    for label, r in zip(labels, rows, strict=True):
        for d in r.egress.destinations:
            kind = destination_kind(d)
            values[(label, kind)] = values.get((label, kind), 0) + d.bytes_sent
            name = f" ({d.dns_name})" if d.dns_name else ""
            spans.append(
                Span(
                    label,
                    d.first_seen,
                    d.last_seen,
                    Series(kind, KIND_COLOURS[kind]),
                    f"{r.egress.ip} \u2192 {d.remote_ip}{name} {d.proto}/{d.port}: "
                    f"{format_bytes(d.bytes_sent)} sent, {d.first_seen:%d %b %H:%M} to "
                    f"{d.last_seen:%d %b %H:%M} UTC",
                )
            )
    return {
        "egress_bytes": bar_chart(
            labels, series, values, "Bytes sent outside per device", fmt=format_bytes
        ),
        "egress_spans": span_chart(labels, spans, "When devices contacted outside destinations"),
    }
